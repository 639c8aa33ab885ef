-- Fewer B-tree writes a send (issue 15): channel_messages_by_age served
-- only the retention sweep and the app instance cascade, and every send
-- inserted into it. channel_messages_by_time, which every send writes
-- anyway, serves both: it leads with app_instance_id (the cascade's
-- foreign key), and retention walks the app instance's channels and, in
-- each, the channel's range of messages before the cutoff.
DROP INDEX channel_messages_by_age;

-- The ClientRequestToken index keyed by the channel's seq instead of its
-- app instance and channel ids (100 bytes of a key of about 180): twice
-- the entries a page, so each send's random leaf (tokens are random) is
-- more often in the cache and splits half as often. The seq names the
-- channel exactly: (app_instance_id, channel_id) is unique in channels,
-- and a channel's messages are deleted with it, so no message keeps the
-- seq of a channel that is gone. Set, by the insert itself, on the
-- messages that hold a token (the index is partial).
ALTER TABLE channel_messages ADD COLUMN token_channel INTEGER;
UPDATE channel_messages SET token_channel = (
        SELECT c.seq FROM channels c
        WHERE c.app_instance_id = channel_messages.app_instance_id AND c.channel_id = channel_messages.channel_id)
    WHERE client_token IS NOT NULL;
DROP INDEX channel_messages_by_token;
CREATE UNIQUE INDEX channel_messages_by_token ON channel_messages (token_channel, sender_kind, sender_id, client_token)
    WHERE client_token IS NOT NULL;
