-- The send path (issue 15): idempotency folded into the message row, and
-- the authorization generations that let a node answer a send's
-- authorization from memory and check it inside the send's transaction.

-- A persistent send's ClientRequestToken and the digest of its other
-- parameters live on the message it stored: a retry finds the message
-- through the unique index (one INSERT ... ON CONFLICT DO NOTHING), not a
-- separate idempotency record. Scope is the sender in the channel, as for
-- the records (scope SendChannelMessage, channel, bearer).
ALTER TABLE channel_messages ADD COLUMN client_token TEXT;
ALTER TABLE channel_messages ADD COLUMN request_fingerprint TEXT;
CREATE UNIQUE INDEX channel_messages_by_token ON channel_messages (app_instance_id, channel_id, sender_kind, sender_id, client_token)
    WHERE client_token IS NOT NULL;

-- auth_gen grows with every committed change that can withdraw a send's
-- authorization or change what a send stores or queues; the send's
-- channel touch returns both generations (UPDATE ... RETURNING), so a
-- node's cached answer is checked at no extra statement. New rights (a
-- membership created, an admin or moderator added) cannot turn a cached
-- allow into a deny and denials are never cached, so they need no bump;
-- this keeps joins to a busy channel from conflicting with its sends.
ALTER TABLE channels ADD COLUMN auth_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE app_instances ADD COLUMN auth_gen INTEGER NOT NULL DEFAULT 0;

-- Channel level: a membership removed, demoted to HIDDEN (or moved
-- between sub-channels), a ban or moderator granted or removed, the
-- channel's settings changed. The touch (last_message_at, expires_at)
-- changes none of the watched columns.
CREATE TRIGGER auth_gen_membership_delete AFTER DELETE ON channel_memberships
BEGIN
    UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = OLD.app_instance_id AND channel_id = OLD.channel_id;
END;

CREATE TRIGGER auth_gen_membership_update AFTER UPDATE OF type, sub_channel_id ON channel_memberships
    WHEN OLD.type IS NOT NEW.type OR OLD.sub_channel_id IS NOT NEW.sub_channel_id
BEGIN
    UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = NEW.app_instance_id AND channel_id = NEW.channel_id;
END;

CREATE TRIGGER auth_gen_grant_insert AFTER INSERT ON channel_grants
BEGIN
    UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = NEW.app_instance_id AND channel_id = NEW.channel_id;
END;

CREATE TRIGGER auth_gen_grant_delete AFTER DELETE ON channel_grants
BEGIN
    UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = OLD.app_instance_id AND channel_id = OLD.channel_id;
END;

CREATE TRIGGER auth_gen_channel_update AFTER UPDATE ON channels
    WHEN OLD.auth_gen = NEW.auth_gen AND (
        OLD.name IS NOT NEW.name OR OLD.mode IS NOT NEW.mode OR OLD.privacy IS NOT NEW.privacy
        OR OLD.metadata IS NOT NEW.metadata OR OLD.flow_id IS NOT NEW.flow_id
        OR OLD.elastic_max_sub_channels IS NOT NEW.elastic_max_sub_channels
        OR OLD.elastic_target_memberships IS NOT NEW.elastic_target_memberships
        OR OLD.elastic_min_membership_pct IS NOT NEW.elastic_min_membership_pct
        OR OLD.expiration_criterion IS NOT NEW.expiration_criterion
        OR OLD.expiration_days IS NOT NEW.expiration_days
        OR OLD.created_at IS NOT NEW.created_at)
BEGIN
    UPDATE channels SET auth_gen = auth_gen + 1 WHERE seq = NEW.seq;
END;

-- App instance level: an admin removed or added, a user or bot changed
-- (its name is stored on each message it sends) or deleted, the
-- streaming configuration changed (a send queues its records). Rare
-- changes, so one generation serves the app instance's channels.
CREATE TRIGGER auth_gen_admin_insert AFTER INSERT ON app_instance_admins
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
END;

CREATE TRIGGER auth_gen_admin_delete AFTER DELETE ON app_instance_admins
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = OLD.app_instance_id;
END;

CREATE TRIGGER auth_gen_user_update AFTER UPDATE ON app_instance_users
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
END;

CREATE TRIGGER auth_gen_user_delete AFTER DELETE ON app_instance_users
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = OLD.app_instance_id;
END;

CREATE TRIGGER auth_gen_bot_update AFTER UPDATE ON app_instance_bots
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
END;

CREATE TRIGGER auth_gen_bot_delete AFTER DELETE ON app_instance_bots
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = OLD.app_instance_id;
END;

CREATE TRIGGER auth_gen_streaming_insert AFTER INSERT ON streaming_configurations
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
END;

CREATE TRIGGER auth_gen_streaming_update AFTER UPDATE ON streaming_configurations
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
END;

CREATE TRIGGER auth_gen_streaming_delete AFTER DELETE ON streaming_configurations
BEGIN
    UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = OLD.app_instance_id;
END;
