-- The send's channel touch (issue 15) sets last_message_at and expires_at
-- only. auth_gen_channel_update of 0008 fired on every UPDATE of channels,
-- so every send ran its WHEN clause over a dozen columns; declared on the
-- columns it watches, the touch does not fire it at all. The WHEN clause
-- and the body are 0008's.
DROP TRIGGER auth_gen_channel_update;

CREATE TRIGGER auth_gen_channel_update AFTER UPDATE OF
        name, mode, privacy, metadata, flow_id,
        elastic_max_sub_channels, elastic_target_memberships, elastic_min_membership_pct,
        expiration_criterion, expiration_days, created_at
    ON channels
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
