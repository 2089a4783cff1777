-- The NATS relay's checkpoint: the global position of the last event JetStream acknowledged,
-- one row per relay (named after its JetStream stream).
CREATE TABLE IF NOT EXISTS relay_checkpoints (
    relay      TEXT PRIMARY KEY,
    position   INTEGER NOT NULL CHECK (position >= 0),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
