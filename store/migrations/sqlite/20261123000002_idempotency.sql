-- Responses to commands sent with an Idempotency-Key, so a retry gets the first answer.
CREATE TABLE idempotency_records (
    scope        TEXT    NOT NULL,   -- who sent it (a hash of the caller's key)
    key          TEXT    NOT NULL,   -- the Idempotency-Key header
    request_hash BLOB    NOT NULL,   -- what was sent (method, path, body)
    status       INTEGER,            -- NULL while the first request is being handled
    headers      TEXT,               -- JSON array of [name, value]
    body         BLOB,
    created_at   INTEGER NOT NULL,   -- microseconds since the Unix epoch
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
