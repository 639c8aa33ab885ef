-- The Messaging API: channels, their memberships, moderators, bans and
-- messages. Times are INTEGER Unix milliseconds, UTC; seq orders lists in
-- creation order (keyset pagination).
--
-- Every table references its app instance and its channel ON DELETE
-- CASCADE, so deleting either leaves nothing behind. A member, moderator
-- or banned member is a user or a bot, as in app_instance_admins: exactly
-- one of user_id and bot_id is set, each referencing its table ON DELETE
-- CASCADE, so deleting the user or bot removes its memberships and roles.
-- Who created, invited or sent something is recorded as kind, id and name
-- at the time, without a reference: a channel or message outlives its
-- author.
--
-- Each foreign key has a child-side index led by its columns, so that a
-- cascading delete looks up its rows instead of scanning the table.

CREATE TABLE channels (
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
    CHECK ((elastic_max_sub_channels IS NULL) = (elastic_target_memberships IS NULL)
       AND (elastic_max_sub_channels IS NULL) = (elastic_min_membership_pct IS NULL)),
    CHECK ((expiration_criterion IS NULL) = (expires_at IS NULL))
) STRICT;

CREATE INDEX channels_by_seq ON channels (app_instance_id, seq);
CREATE INDEX channels_by_privacy ON channels (app_instance_id, privacy, seq);
-- CountElasticChannels.
CREATE INDEX channels_elastic ON channels (app_instance_id) WHERE elastic_max_sub_channels IS NOT NULL;
-- The expiry sweeper.
CREATE INDEX channels_by_expiry ON channels (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE channel_memberships (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id      TEXT    NOT NULL,
    user_id         TEXT,
    bot_id          TEXT,
    type            TEXT    NOT NULL CHECK (type IN ('DEFAULT', 'HIDDEN')),
    invited_by_kind TEXT    NOT NULL CHECK (invited_by_kind IN ('user', 'bot')),
    invited_by_id   TEXT    NOT NULL,
    invited_by_name TEXT    NOT NULL DEFAULT '',
    read_marker_at  INTEGER,
    preferences     TEXT    NOT NULL DEFAULT '',
    sub_channel_id  TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (bot_id IS NULL)),
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE
) STRICT;

-- Member first: besides finding one membership, these list a member's
-- channels, covering, for SearchChannels.
CREATE UNIQUE INDEX channel_memberships_user ON channel_memberships (app_instance_id, user_id, channel_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX channel_memberships_bot ON channel_memberships (app_instance_id, bot_id, channel_id) WHERE bot_id IS NOT NULL;
-- A channel's memberships, all or of one type (which also counts the
-- DEFAULT members for SearchChannels).
CREATE INDEX channel_memberships_by_channel ON channel_memberships (app_instance_id, channel_id, seq);
CREATE INDEX channel_memberships_by_type ON channel_memberships (app_instance_id, channel_id, type, seq);
-- A member's memberships.
CREATE INDEX channel_memberships_by_user ON channel_memberships (app_instance_id, user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX channel_memberships_by_bot ON channel_memberships (app_instance_id, bot_id, seq) WHERE bot_id IS NOT NULL;

-- Moderators and bans have the same shape and lifecycle, so they share a
-- table; kind says which a row is.
CREATE TABLE channel_grants (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id      TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('moderator', 'ban')),
    user_id         TEXT,
    bot_id          TEXT,
    created_by_kind TEXT    NOT NULL CHECK (created_by_kind IN ('user', 'bot')),
    created_by_id   TEXT    NOT NULL,
    created_by_name TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (bot_id IS NULL)),
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX channel_grants_user ON channel_grants (app_instance_id, channel_id, kind, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX channel_grants_bot ON channel_grants (app_instance_id, channel_id, kind, bot_id) WHERE bot_id IS NOT NULL;
CREATE INDEX channel_grants_by_channel ON channel_grants (app_instance_id, channel_id, kind, seq);
-- The channels a member moderates.
CREATE INDEX channel_grants_by_user ON channel_grants (app_instance_id, user_id, kind, seq) WHERE user_id IS NOT NULL;
CREATE INDEX channel_grants_by_bot ON channel_grants (app_instance_id, bot_id, kind, seq) WHERE bot_id IS NOT NULL;

-- A message's sender and target are not references: a message stays when
-- its sender is deleted. sub_channel_id is NULL outside elastic channels,
-- which keeps their messages out of the sub-channel index.
CREATE TABLE channel_messages (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id        TEXT    NOT NULL UNIQUE CHECK (message_id <> ''),
    app_instance_id   TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id        TEXT    NOT NULL,
    content           TEXT    NOT NULL DEFAULT '',
    metadata          TEXT    NOT NULL DEFAULT '',
    content_type      TEXT    NOT NULL DEFAULT '',
    type              TEXT    NOT NULL,
    sender_kind       TEXT    NOT NULL CHECK (sender_kind IN ('user', 'bot')),
    sender_id         TEXT    NOT NULL,
    sender_name       TEXT    NOT NULL DEFAULT '',
    redacted          INTEGER NOT NULL DEFAULT 0 CHECK (redacted IN (0, 1)),
    status            TEXT    NOT NULL,
    status_detail     TEXT    NOT NULL DEFAULT '',
    attributes        TEXT    NOT NULL DEFAULT '',
    push_notification TEXT    NOT NULL DEFAULT '',
    target_kind       TEXT    CHECK (target_kind IN ('user', 'bot')),
    target_id         TEXT,
    sub_channel_id    TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    edited_at         INTEGER,
    CHECK ((target_kind IS NULL) = (target_id IS NULL)),
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE
) STRICT;

-- History pages, either direction, and the channel cascade.
CREATE INDEX channel_messages_by_time ON channel_messages (app_instance_id, channel_id, created_at, seq);
CREATE INDEX channel_messages_by_sub_channel ON channel_messages (app_instance_id, channel_id, sub_channel_id, created_at, seq)
    WHERE sub_channel_id IS NOT NULL;
-- Retention deletes, and the app instance cascade.
CREATE INDEX channel_messages_by_age ON channel_messages (app_instance_id, created_at);

-- The retention sweeper.
CREATE INDEX app_instance_retention_settings_due ON app_instance_retention_settings (initiate_deletion_at)
    WHERE channel_retention_days IS NOT NULL AND initiate_deletion_at IS NOT NULL;

-- Idempotency records gain a channel owner. SQLite cannot add a foreign key
-- to a table, so the table is rebuilt the way its documentation prescribes
-- (https://sqlite.org/lang_altertable.html#otheralter): create the new
-- table, copy, drop the old one, rename. This runs inside the migration's
-- transaction with foreign keys on, which is safe here: no table references
-- idempotency_records, so neither the DROP's implicit delete nor the rename
-- touches another table, and the copy checks each row's owners, which
-- exist in a database that always ran with foreign keys on.
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
    PRIMARY KEY (scope, token),
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE
) STRICT;

INSERT INTO idempotency_records_new
    (scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id)
    SELECT scope, token, fingerprint, result, created_at, app_instance_id, user_id, bot_id, endpoint_id
    FROM idempotency_records;

DROP TABLE idempotency_records;
ALTER TABLE idempotency_records_new RENAME TO idempotency_records;

-- The indexes went with the old table.
CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);
CREATE INDEX idempotency_records_by_app_instance ON idempotency_records (app_instance_id);
CREATE INDEX idempotency_records_by_user ON idempotency_records (app_instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idempotency_records_by_bot ON idempotency_records (app_instance_id, bot_id) WHERE bot_id IS NOT NULL;
CREATE INDEX idempotency_records_by_endpoint ON idempotency_records (endpoint_id) WHERE endpoint_id IS NOT NULL;
CREATE INDEX idempotency_records_by_channel ON idempotency_records (app_instance_id, channel_id) WHERE channel_id IS NOT NULL;
