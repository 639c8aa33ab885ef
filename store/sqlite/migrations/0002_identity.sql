-- The Identity API: app instances and everything that belongs to them.
-- Times are INTEGER Unix milliseconds, UTC. Every table that belongs to an
-- app instance references it ON DELETE CASCADE (and, below it, the user or
-- bot it belongs to), so deleting an app instance or a user leaves nothing
-- behind; later migrations (channels, messages, flows) follow the rule.
-- seq columns order lists in creation order (keyset pagination).

-- Random keys all nodes share (e.g. the NextToken sealing key).
CREATE TABLE server_secrets (
    name       TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE app_instances (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE CHECK (id <> ''),
    name       TEXT    NOT NULL,
    metadata   TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE app_instance_users (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id      TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    user_id              TEXT    NOT NULL CHECK (user_id <> ''),
    name                 TEXT    NOT NULL,
    metadata             TEXT    NOT NULL DEFAULT '',
    expiration_criterion TEXT,
    expiration_days      INTEGER,
    expires_at           INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (app_instance_id, user_id)
) STRICT;

-- The expiry sweeper.
CREATE INDEX app_instance_users_by_expiry ON app_instance_users (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE app_instance_bots (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    bot_id          TEXT    NOT NULL CHECK (bot_id <> ''),
    name            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL DEFAULT '',
    configuration   BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (app_instance_id, bot_id)
) STRICT;

-- An admin is a user or a bot: exactly one of user_id and bot_id is set,
-- each referencing its table so that deleting the user or bot demotes it.
CREATE TABLE app_instance_admins (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    user_id         TEXT,
    bot_id          TEXT,
    created_at      INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (bot_id IS NULL)),
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX app_instance_admins_user ON app_instance_admins (app_instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX app_instance_admins_bot ON app_instance_admins (app_instance_id, bot_id) WHERE bot_id IS NOT NULL;

CREATE TABLE app_instance_user_endpoints (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id       TEXT    NOT NULL UNIQUE CHECK (endpoint_id <> ''),
    app_instance_id   TEXT    NOT NULL,
    user_id           TEXT    NOT NULL,
    name              TEXT    NOT NULL DEFAULT '',
    type              TEXT    NOT NULL,
    resource_arn      TEXT    NOT NULL,
    device_token      TEXT    NOT NULL,
    voip_device_token TEXT    NOT NULL DEFAULT '',
    allow_messages    TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- One registration of a device per app instance and push type.
    UNIQUE (app_instance_id, type, device_token),
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX app_instance_user_endpoints_by_user ON app_instance_user_endpoints (app_instance_id, user_id, seq);

CREATE TABLE app_instance_retention_settings (
    app_instance_id        TEXT    NOT NULL PRIMARY KEY REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_retention_days INTEGER,
    initiate_deletion_at   INTEGER,
    updated_at             INTEGER NOT NULL
) STRICT;

-- Tags of any resource, keyed by its ARN; app_instance_id owns the resource.
CREATE TABLE tags (
    resource_arn    TEXT NOT NULL,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    app_instance_id TEXT NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    PRIMARY KEY (resource_arn, key)
) STRICT;

CREATE INDEX tags_by_app_instance ON tags (app_instance_id);

-- ClientRequestToken results; each row belongs to the resource it created.
CREATE TABLE idempotency_records (
    scope           TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    result          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    user_id         TEXT,
    bot_id          TEXT,
    endpoint_id     TEXT REFERENCES app_instance_user_endpoints (endpoint_id) ON DELETE CASCADE,
    PRIMARY KEY (scope, token),
    FOREIGN KEY (app_instance_id, user_id) REFERENCES app_instance_users (app_instance_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (app_instance_id, bot_id) REFERENCES app_instance_bots (app_instance_id, bot_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);
-- Child-side indexes, so cascading deletes do not scan.
CREATE INDEX idempotency_records_by_user ON idempotency_records (app_instance_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idempotency_records_by_bot ON idempotency_records (app_instance_id, bot_id) WHERE bot_id IS NOT NULL;
CREATE INDEX idempotency_records_by_endpoint ON idempotency_records (endpoint_id) WHERE endpoint_id IS NOT NULL;
-- Lists in creation order.
CREATE INDEX app_instance_users_by_seq ON app_instance_users (app_instance_id, seq);
CREATE INDEX app_instance_bots_by_seq ON app_instance_bots (app_instance_id, seq);
CREATE INDEX app_instance_admins_by_seq ON app_instance_admins (app_instance_id, seq);
