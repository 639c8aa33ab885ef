-- Fewer B-tree writes a send (issue 15): channel_messages_by_age served
-- only the retention sweep and the app instance cascade, and every send
-- inserted into it. channel_messages_by_time, which every send writes
-- anyway, serves both: it leads with app_instance_id (the cascade's
-- foreign key), and retention walks the app instance's channels and, in
-- each, the channel's range of messages before the cutoff.
DROP INDEX channel_messages_by_age;
