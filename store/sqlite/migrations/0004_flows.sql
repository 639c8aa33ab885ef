-- Channel flows, the channels' reference to their flow, and the flow jobs
-- (messages waiting for a flow's processor). Times are INTEGER Unix
-- milliseconds, UTC; seq orders lists in creation order.
--
-- As in 0003, every table references its app instance (and, below it, its
-- channel) ON DELETE CASCADE, and each foreign key has a child-side index
-- led by its columns.
--
-- migrate runs this file in its transaction with foreign keys OFF, and
-- commits only if PRAGMA foreign_key_check then finds no violation: that is
-- the procedure SQLite documents for changing a table's definition
-- (https://sqlite.org/lang_altertable.html#otheralter), which the channels
-- table needs here. With foreign keys on, the DROP TABLE channels below
-- would first delete every channel, cascading to every membership, grant,
-- message and idempotency record.

CREATE TABLE channel_flows (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    flow_id         TEXT    NOT NULL CHECK (flow_id <> ''),
    name            TEXT    NOT NULL,
    -- The JSON of the model's Processors list.
    processors      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (app_instance_id, flow_id)
) STRICT;

CREATE INDEX channel_flows_by_seq ON channel_flows (app_instance_id, seq);

-- channels.flow_id gains a foreign key to its flow, which SQLite can only
-- add by rebuilding the table: create the new table, copy, drop the old
-- one, rename. The key is (app_instance_id, flow_id), so a channel names a
-- flow of its own app instance; a NULL flow_id (no flow) is not checked.
--
-- The key has no ON DELETE action: deleting a flow that a channel names
-- fails with a foreign key error, which DeleteChannelFlow reports as a
-- conflict. Such a key (NO ACTION) is checked at the end of the statement,
-- not row by row as RESTRICT is, so deleting an app instance, which
-- cascades to its flows and to its channels in one statement, succeeds
-- whichever of the two the cascade reaches first.
CREATE TABLE channels_new (
    seq                         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id             TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id                  TEXT    NOT NULL CHECK (channel_id <> ''),
    name                        TEXT    NOT NULL,
    mode                        TEXT    NOT NULL,
    privacy                     TEXT    NOT NULL,
    metadata                    TEXT    NOT NULL DEFAULT '',
    created_by_kind             TEXT    NOT NULL CHECK (created_by_kind IN ('user', 'bot')),
    created_by_id               TEXT    NOT NULL,
    created_by_name             TEXT    NOT NULL DEFAULT '',
    flow_id                     TEXT,
    -- ElasticChannelConfiguration: all three set, or none for a standard
    -- channel.
    elastic_max_sub_channels    INTEGER,
    elastic_target_memberships  INTEGER,
    elastic_min_membership_pct  INTEGER,
    expiration_criterion        TEXT,
    expiration_days             INTEGER,
    expires_at                  INTEGER,
    last_message_at             INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    UNIQUE (app_instance_id, channel_id),
    FOREIGN KEY (app_instance_id, flow_id) REFERENCES channel_flows (app_instance_id, flow_id),
    CHECK ((elastic_max_sub_channels IS NULL) = (elastic_target_memberships IS NULL)
       AND (elastic_max_sub_channels IS NULL) = (elastic_min_membership_pct IS NULL)),
    CHECK ((expiration_criterion IS NULL) = (expires_at IS NULL))
) STRICT;

-- Every column but flow_id, copied as it is: up to version 3 no flow
-- existed and Belfry stored no flow id (the column was reserved), so none
-- can name a flow; should a row have one anyway, it is cleared rather than
-- failing the migration.
INSERT INTO channels_new
    (seq, app_instance_id, channel_id, name, mode, privacy, metadata, created_by_kind, created_by_id, created_by_name, flow_id,
     elastic_max_sub_channels, elastic_target_memberships, elastic_min_membership_pct,
     expiration_criterion, expiration_days, expires_at, last_message_at, created_at, updated_at)
    SELECT seq, app_instance_id, channel_id, name, mode, privacy, metadata, created_by_kind, created_by_id, created_by_name, NULL,
     elastic_max_sub_channels, elastic_target_memberships, elastic_min_membership_pct,
     expiration_criterion, expiration_days, expires_at, last_message_at, created_at, updated_at
    FROM channels;

-- Keep the AUTOINCREMENT counter, which is past the copied seqs if the
-- newest channels were deleted: a seq is never reused. DROP TABLE deletes
-- the old table's sqlite_sequence row and RENAME renames the new one's, so
-- the old row moves to the new table's name first.
DELETE FROM sqlite_sequence WHERE name = 'channels_new';
UPDATE sqlite_sequence SET name = 'channels_new' WHERE name = 'channels';

-- With foreign keys off, neither statement touches another table: the
-- children (memberships, grants, messages, idempotency records) keep their
-- rows, and their REFERENCES channels clauses name the new table once it
-- has the name.
DROP TABLE channels;
ALTER TABLE channels_new RENAME TO channels;

-- The indexes went with the old table.
CREATE INDEX channels_by_seq ON channels (app_instance_id, seq);
CREATE INDEX channels_by_privacy ON channels (app_instance_id, privacy, seq);
CREATE INDEX channels_elastic ON channels (app_instance_id) WHERE elastic_max_sub_channels IS NOT NULL;
CREATE INDEX channels_by_expiry ON channels (expires_at) WHERE expires_at IS NOT NULL;
-- ListChannelsWithFlow, and the flow key's child side.
CREATE INDEX channels_by_flow ON channels (app_instance_id, flow_id, seq) WHERE flow_id IS NOT NULL;

-- Idempotency records gain a flow owner (the token of CreateChannelFlow),
-- rebuilt as in 0003.
CREATE TABLE idempotency_records_new (
    scope           TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    result          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    user_id         TEXT,
    bot_id          TEXT,
    endpoint_id     TEXT REFERENCES app_instance_user_endpoints (endpoint_id) ON DELETE CASCADE,
    channel_id      TEXT,
    flow_id         TEXT,
    PRIMARY KEY (scope, token),
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, flow_id) REFERENCES channel_flows (app_instance_id, flow_id) ON DELETE CASCADE
) STRICT;

INSERT INTO idempotency_records_new
    (scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id, channel_id)
    SELECT scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id, channel_id
    FROM idempotency_records;

DROP TABLE idempotency_records;
ALTER TABLE idempotency_records_new RENAME TO idempotency_records;

CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);
CREATE INDEX idempotency_records_by_app_instance ON idempotency_records (app_instance_id);
CREATE INDEX idempotency_records_by_user ON idempotency_records (app_instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idempotency_records_by_bot ON idempotency_records (app_instance_id, bot_id) WHERE bot_id IS NOT NULL;
CREATE INDEX idempotency_records_by_endpoint ON idempotency_records (endpoint_id) WHERE endpoint_id IS NOT NULL;
CREATE INDEX idempotency_records_by_channel ON idempotency_records (app_instance_id, channel_id) WHERE channel_id IS NOT NULL;
CREATE INDEX idempotency_records_by_flow ON idempotency_records (app_instance_id, flow_id) WHERE flow_id IS NOT NULL;

-- A message waiting for a flow's processor. The job belongs to its channel
-- (and goes with it) but does not reference its flow: the flow may be
-- disassociated, even deleted, while the job runs, and the job keeps the
-- processor it was given. The message is referenced by id only, as a
-- NON_PERSISTENT one has no row in channel_messages.
CREATE TABLE flow_jobs (
    callback_id     TEXT    NOT NULL PRIMARY KEY CHECK (callback_id <> ''),
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id      TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    is_update       INTEGER NOT NULL CHECK (is_update IN (0, 1)),
    -- The JSON of the message as it will be delivered.
    message         TEXT    NOT NULL,
    flow_id         TEXT    NOT NULL,
    processor_arn   TEXT    NOT NULL,
    fallback        TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('INVOKING', 'WAITING', 'DONE')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    deadline        INTEGER NOT NULL,
    outcome         TEXT    NOT NULL DEFAULT '',
    fingerprint     TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE
) STRICT;

-- GetOpenFlowJobForMessage, and the channel and app instance cascades. A
-- message has a job per send or edit, few of them, so the lookup filters
-- out the done ones itself; a partial index of the open jobs could not
-- serve the cascades.
CREATE INDEX flow_jobs_by_message ON flow_jobs (app_instance_id, channel_id, message_id);
-- The invoker: jobs due for an invocation.
CREATE INDEX flow_jobs_due ON flow_jobs (next_attempt_at) WHERE state = 'INVOKING';
-- The sweeper of jobs whose callback window has closed.
CREATE INDEX flow_jobs_by_deadline ON flow_jobs (deadline);
