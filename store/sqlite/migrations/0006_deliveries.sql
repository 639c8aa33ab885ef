-- Streaming configurations and the delivery queue of push notifications
-- and streaming records. Times are INTEGER Unix milliseconds, UTC.

-- PutMessagingStreamingConfigurations: one row per data type.
CREATE TABLE streaming_configurations (
    app_instance_id TEXT    NOT NULL REFERENCES app_instances (id) ON DELETE CASCADE,
    data_type       TEXT    NOT NULL CHECK (data_type IN ('Channel', 'ChannelMessage')),
    resource_arn    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (app_instance_id, data_type)
) STRICT;

-- A push notification to one device or one streaming record, written in
-- the transaction of the change that caused it (an outbox). Deliveries do
-- not reference their app instance or channel: what was committed is
-- delivered even if the channel is deleted meanwhile (its DELETE_CHANNEL
-- record among them), and app instance ids are never reused. The id is
-- the queue order.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('PUSH', 'STREAM')),
    app_instance_id TEXT    NOT NULL,
    channel_arn     TEXT    NOT NULL,
    -- Of the pending deliveries sharing a non-empty order_key, only the
    -- oldest is due: a channel's records are never reordered by retries.
    order_key       TEXT    NOT NULL DEFAULT '',
    target          TEXT    NOT NULL DEFAULT '',
    partition_key   TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED', 'UNSENT')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

-- The worker: pending deliveries by due time.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'PENDING';
-- The order check: the oldest pending delivery of an order key.
CREATE INDEX deliveries_pending_by_order ON deliveries (order_key, id) WHERE state = 'PENDING' AND order_key <> '';
-- Inspection, newest first, and pruning. Inspection by channel or app
-- instance filters this index's walk: the table holds the pending
-- deliveries and a bounded number of settled ones, and an index per
-- filter would slow every send that queues deliveries.
CREATE INDEX deliveries_by_kind ON deliveries (kind, id);
