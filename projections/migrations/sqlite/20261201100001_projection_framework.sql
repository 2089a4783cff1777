-- The projection framework's own tables. Read-model tables are not created here: each
-- projection declares them and the framework creates one set per generation (`<table>_g<n>`)
-- behind a view named `<table>`, so a rebuild can fill new tables while the old ones serve.

-- Which generation of each projection serves queries, and which one a blue/green rebuild is
-- filling (NULL when none), so an interrupted rebuild resumes instead of starting over.
CREATE TABLE projection_state (
    name                text    PRIMARY KEY,
    active_generation   INTEGER NOT NULL,
    building_generation INTEGER
);

-- One checkpoint per projection generation, written in the same transaction as the rows the
-- batch produced: after a crash the worker resumes exactly after the last applied event.
-- status is 'running' or 'failed'; a failed projection names the event and the error.
CREATE TABLE projection_checkpoints (
    name            text    NOT NULL,
    generation      INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    status          text    NOT NULL,
    failed_position INTEGER,
    failed_error    text,
    updated_at      INTEGER NOT NULL,   -- microseconds since the Unix epoch
    PRIMARY KEY (name, generation)
);

-- Events an operator parked (reason 'parked: <error>') and the later events of the same
-- stream that wait behind them (reason 'waiting behind <position>'), so per-stream order holds.
CREATE TABLE projection_dead_letters (
    name       text    NOT NULL,
    position   INTEGER NOT NULL,
    stream_id  text    NOT NULL,
    event_type text    NOT NULL,
    reason     text    NOT NULL,
    parked_at  INTEGER NOT NULL,
    PRIMARY KEY (name, position)
);
CREATE INDEX projection_dead_letters_by_stream ON projection_dead_letters (name, stream_id, position);
