-- The event log. Positions come from the single-row counter `event_log_head`, taken as the
-- last step before commit: the row lock serialises only "take positions, insert, commit", so
-- positions are handed out in commit order and a follower of read_all never skips one, while
-- everything else of concurrent appends (version checks, idempotency look-ups) runs in parallel.
CREATE TABLE events (
    global_position bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,   -- permanent de-duplication
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    tenant_id       uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    actor_kind      text        NOT NULL,
    actor_id        text        NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    payload         bytea       NOT NULL,          -- MessagePack
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_by_tenant ON events (tenant_id, global_position);

-- Each stream's current version. Appends lock the rows of their streams (in stream id order,
-- so concurrent writers cannot deadlock) before checking expected versions.
CREATE TABLE streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL
);

CREATE TABLE event_log_head (
    id       integer PRIMARY KEY CHECK (id = 1),
    position bigint  NOT NULL
);
INSERT INTO event_log_head (id, position) VALUES (1, 0);

-- Latest snapshot per stream.
CREATE TABLE snapshots (
    stream_id        text        PRIMARY KEY,
    stream_version   bigint      NOT NULL,
    snapshot_version integer     NOT NULL,
    payload          bytea       NOT NULL,
    taken_at         timestamptz NOT NULL DEFAULT now()
);
