-- Durable timers: what must happen at a time (a scheduled decommission, a key's expiry, later a
-- workflow step's timeout), kept until the timers reactor has acted on it. A timer's id is
-- derived from what scheduled it, so scheduling the same thing again moves the timer instead of
-- adding one; `kind` says what to do when it is due and `payload` (JSON) with what.
CREATE TABLE timers (
    id        TEXT    PRIMARY KEY,
    tenant_id TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    -- Microseconds since the Unix epoch.
    due_at    INTEGER NOT NULL,
    payload   TEXT    NOT NULL
);
CREATE INDEX timers_due ON timers (kind, due_at);

-- How far a reactor that follows the log has read it: the global position of the last event it
-- took into account, one row per reactor (named as its lease), written only under its lease.
CREATE TABLE reactor_checkpoints (
    reactor  TEXT    PRIMARY KEY,
    position INTEGER NOT NULL CHECK (position >= 0)
);
