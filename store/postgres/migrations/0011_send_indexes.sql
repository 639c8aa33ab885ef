-- Fewer B-tree writes a send (issue 15), as SQLite's migration 0011:
-- channel_messages_by_age served only the retention sweep and the app
-- instance cascade, which channel_messages_by_time serves as well (it
-- leads with app_instance_id; retention walks each channel's range of
-- messages before the cutoff).
DROP INDEX channel_messages_by_age;

-- The ClientRequestToken index keyed by the channel's seq instead of its
-- app instance and channel ids, as SQLite's migration 0011: a narrower
-- key, the same uniqueness ((app_instance_id, channel_id) is unique in
-- channels, and a channel's messages are deleted with it).
ALTER TABLE channel_messages ADD COLUMN token_channel BIGINT;
UPDATE channel_messages m SET token_channel = c.seq
    FROM channels c
    WHERE m.client_token IS NOT NULL AND c.app_instance_id = m.app_instance_id AND c.channel_id = m.channel_id;
DROP INDEX channel_messages_by_token;
CREATE UNIQUE INDEX channel_messages_by_token ON channel_messages (token_channel, sender_kind, sender_id, client_token)
    WHERE client_token IS NOT NULL;
