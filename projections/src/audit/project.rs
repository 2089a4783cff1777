//! The audit projection: folds every event (except internal claims and usage samples) into
//! one chained audit record, and stores a signed checkpoint every [`CHECKPOINT_EVERY`] records.
//!
//! Each record's salt is drawn once per event and kept in `audit_salts` (outside the
//! generations), so a rebuild reuses it and writes the same rows and hashes; with the same
//! signing key it also writes the same signatures.

use super::chain::{commitment, Hashed, AFTER, BEFORE, GENESIS, SOURCE_IP};
use super::sign::AuditSigner;
use crate::db::{fetch_in, insert_rows, micros, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::{ColumnType as C, Projection, TableSpec, Tables};
use async_trait::async_trait;
use keel_domain::redact::redact_secrets;
use keel_domain::usage::UsageEvent;
use keel_log::RecordedEvent;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A checkpoint of a tenant's chain head is stored every this many records.
pub const CHECKPOINT_EVERY: i64 = 1000;

const RECORD_COLUMNS: &[&str] = &[
    "tenant_id",
    "seq",
    "position",
    "event_id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "action",
    "entity_type",
    "entity_id",
    "before_json",
    "after_json",
    "correlation_id",
    "causation_id",
    "source_ip",
    "salt",
    "before_digest",
    "after_digest",
    "source_ip_digest",
    "prev_hash",
    "hash",
];

const CHECKPOINT_COLUMNS: &[&str] = &[
    "tenant_id",
    "seq",
    "hash",
    "position",
    "key_id",
    "signature",
];

static TABLES: &[TableSpec] = &[
    TableSpec {
        base: "audit_records",
        columns: &[
            ("tenant_id", C::Text),
            ("seq", C::Int),
            ("position", C::Int),
            ("event_id", C::Text),
            ("occurred_at", C::Int),
            ("actor_kind", C::Text),
            ("actor_id", C::Text),
            ("action", C::Text),
            ("entity_type", C::Text),
            ("entity_id", C::Text),
            ("before_json", C::OptText),
            ("after_json", C::OptText),
            ("correlation_id", C::Text),
            ("causation_id", C::OptText),
            ("source_ip", C::OptText),
            ("salt", C::OptText),
            ("before_digest", C::OptText),
            ("after_digest", C::OptText),
            ("source_ip_digest", C::OptText),
            ("prev_hash", C::Text),
            ("hash", C::Text),
        ],
        key: &["tenant_id", "seq"],
        indexes: &[
            &["tenant_id", "occurred_at"],
            &["tenant_id", "actor_id"],
            &["tenant_id", "entity_type", "entity_id"],
            &["tenant_id", "action"],
        ],
        updated_in_place: false,
    },
    TableSpec {
        base: "audit_heads",
        columns: &[("tenant_id", C::Text), ("seq", C::Int), ("hash", C::Text)],
        key: &["tenant_id"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "audit_chain_checkpoints",
        columns: &[
            ("tenant_id", C::Text),
            ("seq", C::Int),
            ("hash", C::Text),
            ("position", C::Int),
            ("key_id", C::OptText),
            ("signature", C::OptText),
        ],
        key: &["tenant_id", "seq"],
        indexes: &[],
        updated_in_place: false,
    },
    TableSpec {
        base: "audit_entities",
        columns: &[("entity_key", C::Text), ("state_json", C::Text)],
        key: &["entity_key"],
        indexes: &[],
        updated_in_place: false,
    },
];

/// The audit trail projection (`audit`).
#[derive(Debug, Default)]
pub struct AuditProjection {
    /// Signs the checkpoints; `None` when signing is off (checkpoints stay unsigned).
    pub signer: Option<Arc<AuditSigner>>,
}

#[async_trait]
impl Projection for AuditProjection {
    fn name(&self) -> &'static str {
        "audit"
    }

    /// 2: the record encoding of docs/AUDIT.md (commitments to personal values, signed
    /// checkpoints). Version 1 chains are rebuilt on upgrade.
    fn version(&self) -> i64 {
        2
    }

    fn handles(&self, event_type: &str) -> bool {
        // Claims are bookkeeping of unique values, and usage samples are measurements: neither
        // is an action on an entity.
        !event_type.starts_with("claim.") && event_type != UsageEvent::RECORDED
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut prepared = Vec::with_capacity(events.len());
        for event in events {
            let mut data = keel_domain::event::payload_to_json(&event.payload)
                .map_err(|e| ProjectionError::handler(event.global_position, e))?;
            redact_secrets(&mut data);
            let (entity_type, entity_id) = entity_of(event, &data);
            let tenant = event.metadata.tenant_id.to_string();
            let entity_key = format!("{tenant}/{entity_type}:{entity_id}");
            prepared.push((event, tenant, data, entity_type, entity_id, entity_key));
        }
        let salts = load_salts(tx, &prepared).await?;
        let mut heads = load_heads(tx, tables, events).await?;
        let keys: Vec<String> = prepared.iter().map(|p| p.5.clone()).collect();
        let mut entities = load_entities(tx, tables, keys).await?;
        let mut records = Vec::with_capacity(events.len());
        let mut checkpoints = Vec::new();
        let mut touched_entities = Vec::new();
        for (event, tenant, data, entity_type, entity_id, entity_key) in prepared {
            let after = match data {
                Value::Object(map) => map,
                other => Map::from_iter([("value".to_owned(), other)]),
            };
            let state = entities.entry(entity_key.clone()).or_default();
            let before = state.as_ref().map(|state| {
                after
                    .keys()
                    .map(|k| (k.clone(), state.get(k).cloned().unwrap_or(Value::Null)))
                    .collect::<Map<_, _>>()
            });
            let merged = state.get_or_insert_with(Map::new);
            for (k, v) in &after {
                merged.insert(k.clone(), v.clone());
            }
            touched_entities.push(entity_key);

            let (prev_seq, prev_hash) = heads
                .get(&tenant)
                .cloned()
                .unwrap_or((0, GENESIS.to_owned()));
            let seq = prev_seq + 1;
            let before_text = before.map(|b| Value::Object(b).to_string());
            let after_text = Value::Object(after).to_string();
            let event_id = event.event_id.to_string();
            let correlation = event.metadata.correlation_id.to_string();
            let causation = event.metadata.causation_id.map(|c| c.to_string());
            let source_ip = event.metadata.source_ip.map(|ip| ip.to_string());
            let salt = salts.get(&event_id).cloned().ok_or_else(|| {
                ProjectionError::handler(event.global_position, "the event has no audit salt")
            })?;
            let before_digest = commitment(BEFORE, &salt, before_text.as_deref());
            let after_digest = commitment(AFTER, &salt, Some(&after_text));
            let source_ip_digest = commitment(SOURCE_IP, &salt, source_ip.as_deref());
            let hashed = Hashed {
                prev_hash: &prev_hash,
                tenant_id: &tenant,
                seq,
                position: event.global_position as i64,
                event_id: &event_id,
                occurred_at: micros(event.metadata.occurred_at),
                actor_kind: event.metadata.actor.kind(),
                actor_id: event.metadata.actor.id(),
                action: &event.event_type,
                entity_type: &entity_type,
                entity_id: &entity_id,
                before_digest: before_digest.as_deref(),
                after_digest: after_digest.as_deref(),
                correlation_id: &correlation,
                causation_id: causation.as_deref(),
                source_ip_digest: source_ip_digest.as_deref(),
            };
            let hash = hashed.hash();
            if seq % CHECKPOINT_EVERY == 0 {
                let position = event.global_position as i64;
                let (key_id, signature) = self
                    .signer
                    .as_ref()
                    .map(|s| s.sign(&tenant, seq, position, &hash))
                    .unzip();
                checkpoints.push(vec![
                    Param::Text(tenant.clone()),
                    Param::Int(seq),
                    Param::Text(hash.clone()),
                    Param::Int(position),
                    Param::OptText(key_id),
                    Param::OptText(signature),
                ]);
            }
            records.push(vec![
                Param::Text(tenant.clone()),
                Param::Int(seq),
                Param::Int(event.global_position as i64),
                Param::Text(event_id.clone()),
                Param::Int(hashed.occurred_at),
                Param::Text(event.metadata.actor.kind().to_owned()),
                Param::Text(event.metadata.actor.id().to_owned()),
                Param::Text(event.event_type.clone()),
                Param::Text(entity_type),
                Param::Text(entity_id),
                Param::OptText(before_text),
                Param::OptText(Some(after_text)),
                Param::Text(correlation),
                Param::OptText(causation),
                Param::OptText(source_ip),
                Param::OptText(Some(salt)),
                Param::OptText(before_digest),
                Param::OptText(after_digest),
                Param::OptText(source_ip_digest),
                Param::Text(prev_hash),
                Param::Text(hash.clone()),
            ]);
            heads.insert(tenant, (seq, hash));
        }

        insert_rows(
            tx,
            &tables.name("audit_records"),
            RECORD_COLUMNS,
            &records,
            "",
        )
        .await?;
        let head_rows: Vec<Vec<Param>> = heads
            .into_iter()
            .map(|(tenant, (seq, hash))| {
                vec![Param::Text(tenant), Param::Int(seq), Param::Text(hash)]
            })
            .collect();
        insert_rows(
            tx,
            &tables.name("audit_heads"),
            &["tenant_id", "seq", "hash"],
            &head_rows,
            "ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .await?;
        insert_rows(
            tx,
            &tables.name("audit_chain_checkpoints"),
            CHECKPOINT_COLUMNS,
            &checkpoints,
            "",
        )
        .await?;
        touched_entities.sort();
        touched_entities.dedup();
        let entity_rows: Vec<Vec<Param>> = touched_entities
            .into_iter()
            .filter_map(|key| {
                let state = entities.remove(&key)??;
                Some(vec![
                    Param::Text(key),
                    Param::Text(Value::Object(state).to_string()),
                ])
            })
            .collect();
        insert_rows(
            tx,
            &tables.name("audit_entities"),
            &["entity_key", "state_json"],
            &entity_rows,
            "ON CONFLICT (entity_key) DO UPDATE SET state_json = excluded.state_json",
        )
        .await
    }
}

/// What an event acts on: a member, key or domain of a tenant when the payload names one,
/// otherwise the aggregate of its stream (`policy-<id>` is policy `<id>`).
fn entity_of(event: &RecordedEvent, data: &Value) -> (String, String) {
    let field = |name: &str| data.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(id) = field("member_id") {
        return ("member".into(), id);
    }
    if let Some(id) = field("key_id") {
        return ("api_key".into(), id);
    }
    if event.event_type.starts_with("tenant.domain_") {
        if let Some(domain) = field("domain") {
            return ("domain".into(), domain);
        }
    }
    match event.stream_id.split_once('-') {
        Some((kind, id)) => (kind.to_owned(), id.to_owned()),
        None => (event.stream_id.clone(), String::new()),
    }
}

/// The salt of each event of the batch (by event id): the stored one, or a new random one
/// stored now. A concurrent fold of the same event (a rebuild beside the live worker) keeps
/// whichever was stored first; both then read that one.
async fn load_salts<T>(
    tx: &mut Tx,
    prepared: &[(&RecordedEvent, String, T, String, String, String)],
) -> Result<HashMap<String, String>, ProjectionError> {
    let fresh: Vec<Vec<Param>> = prepared
        .iter()
        .map(|(event, tenant, ..)| {
            vec![
                Param::Text(event.event_id.to_string()),
                Param::Text(tenant.clone()),
                Param::Text(hex::encode(rand::random::<[u8; 16]>())),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "audit_salts",
        &["event_id", "tenant_id", "salt"],
        &fresh,
        "ON CONFLICT (event_id) DO NOTHING",
    )
    .await?;
    let ids: Vec<String> = prepared
        .iter()
        .map(|(event, ..)| event.event_id.to_string())
        .collect();
    let rows: Vec<(String, String)> = fetch_in(
        tx,
        "SELECT event_id, salt FROM audit_salts WHERE event_id IN ",
        &ids,
    )
    .await?;
    Ok(rows.into_iter().collect())
}

/// Chain heads of the batch's tenants: tenant -> (seq, hash).
async fn load_heads(
    tx: &mut Tx,
    tables: Tables,
    events: &[RecordedEvent],
) -> Result<HashMap<String, (i64, String)>, ProjectionError> {
    let mut tenants: Vec<String> = events
        .iter()
        .map(|e| e.metadata.tenant_id.to_string())
        .collect();
    tenants.sort();
    tenants.dedup();
    let sql = format!(
        "SELECT tenant_id, seq, hash FROM {} WHERE tenant_id IN ",
        tables.name("audit_heads")
    );
    let rows: Vec<(String, i64, String)> = fetch_in(tx, &sql, &tenants).await?;
    Ok(rows
        .into_iter()
        .map(|(t, seq, hash)| (t, (seq, hash)))
        .collect())
}

/// Known state of the batch's entities: key -> Some(fields) (None = never seen).
async fn load_entities(
    tx: &mut Tx,
    tables: Tables,
    mut keys: Vec<String>,
) -> Result<HashMap<String, Option<Map<String, Value>>>, ProjectionError> {
    keys.sort();
    keys.dedup();
    let sql = format!(
        "SELECT entity_key, state_json FROM {} WHERE entity_key IN ",
        tables.name("audit_entities")
    );
    let rows: Vec<(String, String)> = fetch_in(tx, &sql, &keys).await?;
    let mut known: HashMap<String, Option<Map<String, Value>>> = rows
        .into_iter()
        .map(|(key, state)| {
            let map = serde_json::from_str::<Map<String, Value>>(&state).unwrap_or_default();
            (key, Some(map))
        })
        .collect();
    for key in keys {
        known.entry(key).or_insert(None);
    }
    Ok(known)
}
