-- When each API key last authenticated a request, to the API's flush interval. Kept outside
-- the log: a use is not a fact worth an event, and one row per key stays small.
CREATE TABLE api_key_last_used (
    key_id       TEXT    PRIMARY KEY,
    -- Microseconds since the Unix epoch.
    last_used_at BIGINT  NOT NULL
);
