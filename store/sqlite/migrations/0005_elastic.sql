-- Elastic channels: sub-channels and the memberships in them.
--
-- A sub-channel belongs to its channel (ON DELETE CASCADE). Its
-- membership_count is kept equal to the number of channel_memberships rows
-- naming it by the triggers below, so allocation reads one row per
-- sub-channel instead of counting memberships, and no code path can let the
-- two drift apart.

CREATE TABLE sub_channels (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_id  TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    channel_id       TEXT    NOT NULL,
    sub_channel_id   TEXT    NOT NULL CHECK (sub_channel_id <> ''),
    membership_count INTEGER NOT NULL DEFAULT 0 CHECK (membership_count >= 0),
    created_at       INTEGER NOT NULL,
    UNIQUE (app_instance_id, channel_id, sub_channel_id),
    FOREIGN KEY (app_instance_id, channel_id) REFERENCES channels (app_instance_id, channel_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX sub_channels_by_seq ON sub_channels (app_instance_id, channel_id, seq);

-- A sub-channel's memberships (lists, audiences, transfers).
CREATE INDEX channel_memberships_by_sub_channel ON channel_memberships (app_instance_id, channel_id, sub_channel_id, seq)
    WHERE sub_channel_id IS NOT NULL;

-- A moderator of an elastic channel may hold one membership per
-- sub-channel: uniqueness now includes the sub-channel. IFNULL makes the
-- standard channels' NULL compare equal, so they keep one membership per
-- member. The leading columns are unchanged, so lookups by member and
-- channel use these indexes as before.
DROP INDEX channel_memberships_user;
DROP INDEX channel_memberships_bot;
CREATE UNIQUE INDEX channel_memberships_user ON channel_memberships (app_instance_id, user_id, channel_id, IFNULL(sub_channel_id, ''))
    WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX channel_memberships_bot ON channel_memberships (app_instance_id, bot_id, channel_id, IFNULL(sub_channel_id, ''))
    WHERE bot_id IS NOT NULL;

CREATE TRIGGER sub_channel_count_insert AFTER INSERT ON channel_memberships
    WHEN NEW.sub_channel_id IS NOT NULL
BEGIN
    UPDATE sub_channels SET membership_count = membership_count + 1
    WHERE app_instance_id = NEW.app_instance_id AND channel_id = NEW.channel_id AND sub_channel_id = NEW.sub_channel_id;
END;

CREATE TRIGGER sub_channel_count_delete AFTER DELETE ON channel_memberships
    WHEN OLD.sub_channel_id IS NOT NULL
BEGIN
    UPDATE sub_channels SET membership_count = membership_count - 1
    WHERE app_instance_id = OLD.app_instance_id AND channel_id = OLD.channel_id AND sub_channel_id = OLD.sub_channel_id;
END;

CREATE TRIGGER sub_channel_count_move AFTER UPDATE OF sub_channel_id ON channel_memberships
    WHEN OLD.sub_channel_id IS NOT NEW.sub_channel_id
BEGIN
    UPDATE sub_channels SET membership_count = membership_count - 1
    WHERE OLD.sub_channel_id IS NOT NULL
      AND app_instance_id = OLD.app_instance_id AND channel_id = OLD.channel_id AND sub_channel_id = OLD.sub_channel_id;
    UPDATE sub_channels SET membership_count = membership_count + 1
    WHERE NEW.sub_channel_id IS NOT NULL
      AND app_instance_id = NEW.app_instance_id AND channel_id = NEW.channel_id AND sub_channel_id = NEW.sub_channel_id;
END;
