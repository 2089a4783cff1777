-- The event log. `global_position` is the rowid: SQLite admits one writer at a time, so
-- positions are assigned in commit order and a follower of read_all can never skip one.
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL UNIQUE,      -- permanent de-duplication
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    tenant_id       BLOB    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    recorded_at     INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    correlation_id  BLOB    NOT NULL,
    causation_id    BLOB,
    payload         BLOB    NOT NULL,             -- MessagePack
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_by_tenant ON events (tenant_id, global_position);

-- Each stream's current version: the expected-version check reads one row.
CREATE TABLE streams (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL
) WITHOUT ROWID;

-- Latest snapshot per stream.
CREATE TABLE snapshots (
    stream_id        TEXT    PRIMARY KEY,
    stream_version   INTEGER NOT NULL,
    snapshot_version INTEGER NOT NULL,
    payload          BLOB    NOT NULL,
    taken_at         INTEGER NOT NULL
) WITHOUT ROWID;
