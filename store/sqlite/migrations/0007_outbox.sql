-- The transactional outbox: every event of a committed change, written in
-- its transaction, until the relay has published it on the bus. seq is
-- commit order (one writer) and the event's ID; AUTOINCREMENT so a seq is
-- never reused after the newest rows are trimmed.
CREATE TABLE outbox (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB    NOT NULL
) STRICT;
