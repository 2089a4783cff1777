-- Leases of reactors (code that follows the log and acts): one row per reactor. Whoever holds
-- the row's unexpired lease runs the reactor; `token` grows by one each time the lease changes
-- hands, and a reactor records its progress only in a transaction that finds its token still
-- there (fencing), so a paused holder whose lease moved can no longer commit.
CREATE TABLE reactor_leases (
    reactor    TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    token      INTEGER NOT NULL,
    -- Microseconds since the Unix epoch, by the database's clock.
    expires_at INTEGER NOT NULL
);
