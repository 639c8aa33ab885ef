-- The send path (issue 15): idempotency folded into the message row, and
-- the authorization generations that let a node answer a send's
-- authorization from memory and check it inside the send's transaction.
-- The same schema as SQLite's 0008; see there for the reasoning.

ALTER TABLE channel_messages ADD COLUMN client_token TEXT;
ALTER TABLE channel_messages ADD COLUMN request_fingerprint TEXT;
CREATE UNIQUE INDEX channel_messages_by_token ON channel_messages (app_instance_id, channel_id, sender_kind, sender_id, client_token)
    WHERE client_token IS NOT NULL;

ALTER TABLE channels ADD COLUMN auth_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_instances ADD COLUMN auth_gen BIGINT NOT NULL DEFAULT 0;

-- A change to a row of a channel's authorization bumps the channel.
CREATE FUNCTION auth_gen_channel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = OLD.app_instance_id AND channel_id = OLD.channel_id;
    ELSE
        UPDATE channels SET auth_gen = auth_gen + 1 WHERE app_instance_id = NEW.app_instance_id AND channel_id = NEW.channel_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_gen_membership_delete AFTER DELETE ON channel_memberships
    FOR EACH ROW EXECUTE FUNCTION auth_gen_channel();
CREATE TRIGGER auth_gen_membership_update AFTER UPDATE OF type, sub_channel_id ON channel_memberships
    FOR EACH ROW WHEN (OLD.type IS DISTINCT FROM NEW.type OR OLD.sub_channel_id IS DISTINCT FROM NEW.sub_channel_id)
    EXECUTE FUNCTION auth_gen_channel();
CREATE TRIGGER auth_gen_grant_insert AFTER INSERT ON channel_grants
    FOR EACH ROW EXECUTE FUNCTION auth_gen_channel();
CREATE TRIGGER auth_gen_grant_delete AFTER DELETE ON channel_grants
    FOR EACH ROW EXECUTE FUNCTION auth_gen_channel();

-- A channel's own settings bump it in the same row (BEFORE UPDATE); the
-- touch changes none of the watched columns, so the WHEN skips the
-- function on the hot path.
CREATE FUNCTION auth_gen_channel_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.auth_gen := OLD.auth_gen + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER auth_gen_channel_update BEFORE UPDATE ON channels
    FOR EACH ROW WHEN (OLD.auth_gen = NEW.auth_gen AND (
        OLD.name, OLD.mode, OLD.privacy, OLD.metadata, OLD.flow_id,
        OLD.elastic_max_sub_channels, OLD.elastic_target_memberships, OLD.elastic_min_membership_pct,
        OLD.expiration_criterion, OLD.expiration_days, OLD.created_at
    ) IS DISTINCT FROM (
        NEW.name, NEW.mode, NEW.privacy, NEW.metadata, NEW.flow_id,
        NEW.elastic_max_sub_channels, NEW.elastic_target_memberships, NEW.elastic_min_membership_pct,
        NEW.expiration_criterion, NEW.expiration_days, NEW.created_at))
    EXECUTE FUNCTION auth_gen_channel_self();

-- App instance level: admins, users, bots, streaming configurations.
CREATE FUNCTION auth_gen_app_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = OLD.app_instance_id;
    ELSE
        UPDATE app_instances SET auth_gen = auth_gen + 1 WHERE id = NEW.app_instance_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_gen_admin_change AFTER INSERT OR DELETE ON app_instance_admins
    FOR EACH ROW EXECUTE FUNCTION auth_gen_app_instance();
CREATE TRIGGER auth_gen_user_change AFTER UPDATE OR DELETE ON app_instance_users
    FOR EACH ROW EXECUTE FUNCTION auth_gen_app_instance();
CREATE TRIGGER auth_gen_bot_change AFTER UPDATE OR DELETE ON app_instance_bots
    FOR EACH ROW EXECUTE FUNCTION auth_gen_app_instance();
CREATE TRIGGER auth_gen_streaming_change AFTER INSERT OR UPDATE OR DELETE ON streaming_configurations
    FOR EACH ROW EXECUTE FUNCTION auth_gen_app_instance();
