-- Fewer B-tree writes a send (issue 15), as SQLite's migration 0011:
-- channel_messages_by_age served only the retention sweep and the app
-- instance cascade, which channel_messages_by_time serves as well (it
-- leads with app_instance_id; retention walks each channel's range of
-- messages before the cutoff).
DROP INDEX channel_messages_by_age;
