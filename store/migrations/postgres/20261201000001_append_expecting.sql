-- A whole group append in one statement, for the common case where the writer already knows the
-- version every stream must be at (the command handler always does: `Exact(v)`, `NoStream`).
-- Called in autocommit, the append is one round trip, and the `event_log_head` row lock, which
-- serialises "take positions, insert, commit" exactly as before, is held only for the insert and
-- the commit itself, not across network round trips.
--
-- It is a compare-and-set, not a decision: the caller has planned the group assuming each
-- stream is at `old_versions` (0 = no stream) and no event id is stored. If a stream is
-- elsewhere, it raises SQLSTATE KL409; a stored event id (or stream version) raises the usual
-- unique violation. Either way nothing is written and the caller decides the group again on
-- locked rows.
CREATE FUNCTION keel_append_expecting(
    stream_ids      text[],
    old_versions    bigint[],
    new_versions    bigint[],
    event_ids       uuid[],
    event_streams   text[],
    event_versions  bigint[],
    tenant_ids      uuid[],
    event_types     text[],
    schema_versions integer[],
    occurred        timestamptz[],
    actor_kinds     text[],
    actor_ids       text[],
    correlation_ids uuid[],
    causation_ids   uuid[],
    payloads        bytea[]
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    updated  bigint;
    created  bigint;
    n_events bigint := cardinality(event_ids);
    base     bigint;
BEGIN
    -- Stream rows are locked in stream id order, as every writer does, so writers cannot
    -- deadlock; then each existing stream moves only from the version the caller planned on.
    PERFORM 1 FROM streams WHERE stream_id = ANY(stream_ids) ORDER BY stream_id FOR UPDATE;
    UPDATE streams s SET version = u.new_version
      FROM unnest(stream_ids, old_versions, new_versions) AS u(stream_id, old_version, new_version)
     WHERE u.old_version > 0 AND s.stream_id = u.stream_id AND s.version = u.old_version;
    GET DIAGNOSTICS updated = ROW_COUNT;
    INSERT INTO streams (stream_id, version)
    SELECT u.stream_id, u.new_version
      FROM unnest(stream_ids, old_versions, new_versions) AS u(stream_id, old_version, new_version)
     WHERE u.old_version = 0
    ON CONFLICT (stream_id) DO NOTHING;
    GET DIAGNOSTICS created = ROW_COUNT;
    IF updated + created <> cardinality(stream_ids) THEN
        RAISE EXCEPTION 'a stream is not at the version the append expects'
              USING ERRCODE = 'KL409';
    END IF;

    -- The critical section: the head row stays locked until this statement's commit.
    UPDATE event_log_head SET position = position + n_events WHERE id = 1
    RETURNING position - n_events INTO base;
    INSERT INTO events (global_position, event_id, stream_id, stream_version, tenant_id,
                        event_type, schema_version, occurred_at, recorded_at, actor_kind,
                        actor_id, correlation_id, causation_id, payload)
    SELECT base + u.n, u.a, u.b, u.c, u.d, u.e, u.f, u.g, now(), u.h, u.i, u.j, u.k, u.l
      FROM unnest(event_ids, event_streams, event_versions, tenant_ids, event_types,
                  schema_versions, occurred, actor_kinds, actor_ids, correlation_ids,
                  causation_ids, payloads)
           WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, i, j, k, l, n);
    RETURN base;
END
$$;
