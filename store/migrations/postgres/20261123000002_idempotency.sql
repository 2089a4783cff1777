-- Responses to commands sent with an Idempotency-Key, so a retry gets the first answer.
CREATE TABLE idempotency_records (
    scope        text        NOT NULL,   -- who sent it (a hash of the caller's key)
    key          text        NOT NULL,   -- the Idempotency-Key header
    request_hash bytea       NOT NULL,   -- what was sent (method, path, body)
    status       integer,                -- NULL while the first request is being handled
    headers      text,                   -- JSON array of [name, value]
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
