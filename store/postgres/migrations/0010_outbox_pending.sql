-- Events wait here, unnumbered, from their transaction's commit until the
-- sequencer (DB.SequenceOutbox) moves them into outbox with a seq. Drawing
-- the seq inside the writing transaction needed a cluster-wide lock held
-- until commit to keep seqs in commit order, which made every
-- event-writing transaction of every node commit one at a time. id orders
-- the events of one transaction, and of transactions one of which
-- committed before the other began.
CREATE TABLE outbox_pending (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    data BYTEA  NOT NULL
);

-- The last seq given, so that a seq is never reused even once the outbox
-- is trimmed empty; it starts after every seq the identity column drew.
CREATE TABLE outbox_sequence (
    one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    last BIGINT  NOT NULL
);
INSERT INTO outbox_sequence (last)
SELECT GREATEST(
    COALESCE((SELECT MAX(seq) FROM outbox), 0),
    COALESCE(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'seq')::regclass), 0));
