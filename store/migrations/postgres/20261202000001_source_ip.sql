-- The client address a command came from (the audit trail's "source IP"); NULL for events
-- Keel causes itself and for events stored before it was recorded. `keel_append_expecting`
-- (see 20261201000001) takes it as one more array; a function's arguments cannot change in
-- place, so the old one is dropped and the new one created in the same migration transaction.
ALTER TABLE events ADD COLUMN source_ip text;

DROP FUNCTION keel_append_expecting(text[], bigint[], bigint[], uuid[], text[], bigint[], uuid[],
    text[], integer[], timestamptz[], text[], text[], uuid[], uuid[], bytea[]);

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
    payloads        bytea[],
    source_ips      text[]
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
                        actor_id, correlation_id, causation_id, payload, source_ip)
    SELECT base + u.n, u.a, u.b, u.c, u.d, u.e, u.f, u.g, now(), u.h, u.i, u.j, u.k, u.l, u.m
      FROM unnest(event_ids, event_streams, event_versions, tenant_ids, event_types,
                  schema_versions, occurred, actor_kinds, actor_ids, correlation_ids,
                  causation_ids, payloads, source_ips)
           WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, i, j, k, l, m, n);
    RETURN base;
END
$$;
