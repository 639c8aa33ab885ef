-- Scoped API credentials: access key pairs bound to one AppInstanceUser.
-- Times are BIGINT Unix milliseconds, UTC. The secret is stored as given:
-- SigV4 verification needs it to recompute HMACs.
CREATE TABLE credentials (
    access_key_id     TEXT    NOT NULL PRIMARY KEY CHECK (access_key_id <> ''),
    secret_access_key TEXT    NOT NULL CHECK (secret_access_key <> ''),
    user_arn          TEXT    NOT NULL CHECK (user_arn <> ''),
    description       TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL,
    expires_at        BIGINT 
);

-- ListCredentials by user, in creation order; DeleteCredentialsByUser.
CREATE INDEX credentials_by_user ON credentials (user_arn, created_at, access_key_id);
