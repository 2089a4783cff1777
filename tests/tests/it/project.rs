//! `keel project --from-nats`: projections folded from the relay's JetStream stream by a
//! process of their own, on both backends against the real NATS server. The rows equal a
//! rebuild from the database; a consumer killed mid-stream and restarted counts every event
//! once; messages republished by a relay are absorbed; a gap stops it with a clear error; a
//! second writer of the same projection applies nothing twice; a server told to leave a
//! projection to it runs no worker for it.

use crate::nats::{wait_for_position, wait_until_published};
use crate::projections::support::{append_samples, scalar, tenant};
use chrono::Utc;
use clap::Parser;
use keel_api::cli::{run_until, Cli, CliError};
use keel_api::config::Settings;
use keel_domain::usage::UsageRecorded;
use keel_domain::Actor;
use keel_projections::{RebuildMode, Workers};
use keel_reactors::relay::{Relay, RelayStatus};
use keel_store::{EventMetadata, EventStore};
use keel_tests::app::spawn_app_with;
use keel_tests::nats::TestStream;
use keel_tests::record_usage as record;
use keel_tests::AsLog;
use keel_tests::{Backend, TestDatabase};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

both_backends!(
    a_server_leaves_external_projections_to_keel_project_which_folds_identical_rows,
    a_killed_consumer_process_counts_every_event_exactly_once,
    republished_messages_are_absorbed_also_across_a_restart,
    a_gap_in_the_stream_stops_the_consumer_at_the_event_before_it,
    a_database_worker_and_a_nats_consumer_on_one_projection_apply_each_event_once,
    without_from_nats_keel_project_folds_the_log_itself,
);

/// A configuration file pointing `keel` at the test's stream.
struct Config {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Config {
    fn new(stream: &TestStream, extra: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            format!(
                "nats_url = \"{}\"\nnats_stream = \"{}\"\nnats_subject_prefix = \"{}\"\naudit_signing_key_file = \"{}\"\n{extra}",
                stream.url, stream.name, stream.prefix,
                keel_tests::audit_key::test_audit_key_file().display()
            ),
        )
        .unwrap();
        Config { _dir: dir, path }
    }
}

/// Runs `keel --config <config> --database-url <url> project <args>` in this process until
/// `until` resolves; the output and the result.
async fn keel_project(
    url: &str,
    config: &Path,
    args: &[&str],
    until: impl Future<Output = ()>,
) -> (String, Result<(), CliError>) {
    let config = config.display().to_string();
    let mut argv = vec![
        "keel",
        "--config",
        &config,
        "--database-url",
        url,
        "project",
    ];
    argv.extend_from_slice(args);
    let mut out = Vec::new();
    let result = run_until(Cli::try_parse_from(argv).unwrap(), &mut out, until).await;
    (String::from_utf8(out).unwrap(), result)
}

/// Resolves once every projection in `names` has folded the whole log (bounded: panics
/// after 60 s). Usage threshold events appended meanwhile move the head; so does nothing else.
async fn caught_up(store: Arc<dyn EventStore>, names: &'static [&'static str]) {
    let mut last = Vec::new();
    for _ in 0..1200 {
        let head = store.head_position().await.unwrap();
        last = keel_projections::status(&store.log()).await.unwrap();
        if last
            .iter()
            .filter(|s| names.contains(&s.name))
            .all(|s| s.position == head)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the projections did not catch up: {last:?}");
}

/// Runs `keel project <args>` until both read models folded the whole log; it must stop
/// cleanly.
async fn project_to_the_end(url: &str, config: &Path, args: &[&str], store: &Arc<dyn EventStore>) {
    let (_, result) = keel_project(
        url,
        config,
        args,
        caught_up(store.clone(), &["audit", "usage"]),
    )
    .await;
    result.expect("keel project stops cleanly");
}

/// The active checkpoint of projection `name`.
async fn position(store: &Arc<dyn EventStore>, name: &str) -> u64 {
    let status = keel_projections::status(&store.log()).await.unwrap();
    status.iter().find(|s| s.name == name).unwrap().position
}

/// Starts a relay for `stream` in this process.
async fn relay(
    stream: &TestStream,
    store: &Arc<dyn EventStore>,
) -> (Arc<RelayStatus>, tokio::task::JoinHandle<()>) {
    let relay = Relay::start(stream.relay_config(), store.clone())
        .await
        .expect("the relay starts");
    let status = relay.status();
    (status, keel_tests::nats::run_relay(relay, store).await)
}

/// Records `batches` batches of `per_batch` compute_seconds samples of tenant 0, quantity
/// 1 or 2; returns the total quantity. Tests stay below 80% of the free plan's 3600 seconds:
/// the quota alert row records the total at the end of the batch that crossed, so it would
/// depend on where batches end, and no longer equal a rebuild's (a trait of the usage
/// projection, not of the source of its events).
async fn record_usage(
    store: &Arc<dyn EventStore>,
    tag: &str,
    batches: usize,
    per_batch: usize,
) -> i64 {
    let mut total = 0;
    let when = Utc::now() - chrono::Duration::minutes(1);
    for b in 0..batches {
        let samples = (0..per_batch)
            .map(|i| {
                let quantity = (i % 2 + 1) as u64;
                total += quantity as i64;
                let key = format!("{tag}-{b}-{i}");
                UsageRecorded::new(
                    "compute_seconds",
                    quantity,
                    when,
                    &key,
                    BTreeMap::new(),
                    Utc::now(),
                )
                .unwrap()
            })
            .collect();
        let metadata = EventMetadata::new(tenant(0), Actor::System("test".into()));
        record(store, tenant(0), metadata, samples).await.unwrap();
    }
    total
}

/// Checks the usage totals sum to exactly `quantity` over `samples` samples, that the audit
/// trail holds no event twice, and that both read models equal a rebuild from the database
/// (which also shows none was skipped).
async fn assert_exact(store: &Arc<dyn EventStore>, quantity: i64, samples: i64) {
    let totals = "SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM usage_totals WHERE meter = 'compute_seconds' AND granularity = 'month'";
    assert_eq!(
        scalar(store, totals).await,
        quantity,
        "usage summed exactly"
    );
    let counted = "SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM usage_totals WHERE meter = 'compute_seconds' AND granularity = 'month'";
    assert_eq!(
        scalar(store, counted).await,
        samples,
        "each sample counted once"
    );
    assert_eq!(
        scalar(store, "SELECT COUNT(DISTINCT position) FROM audit_records").await,
        scalar(store, "SELECT COUNT(*) FROM audit_records").await,
        "no event applied twice"
    );
    assert_same_as_rebuild(store).await;
}

/// Both read models' checksums equal those of a blue/green rebuild from the database's log.
async fn assert_same_as_rebuild(store: &Arc<dyn EventStore>) {
    for name in ["audit", "usage"] {
        let check = keel_projections::check(&store.log(), name).await.unwrap();
        assert_eq!(check.first_difference, None, "{name}: {check:?}");
        let folded = keel_projections::checksum(&store.log(), name)
            .await
            .unwrap();
        keel_projections::rebuild(&store.log(), name, RebuildMode::BlueGreen, |_| {})
            .await
            .unwrap();
        assert_eq!(
            keel_projections::checksum(&store.log(), name)
                .await
                .unwrap(),
            folded,
            "{name} from JetStream equals {name} rebuilt from the database"
        );
    }
}

async fn a_server_leaves_external_projections_to_keel_project_which_folds_identical_rows(
    backend: Backend,
) {
    let stream = TestStream::new();
    let app = spawn_app_with(backend, |s| {
        stream.configure(s);
        s.external_projections = "audit, usage".into();
        s.read_wait_ms = 300;
        // No api_calls flush in the middle of the test.
        s.usage_flush_ms = 3_600_000;
    })
    .await;
    let mut tenants = Vec::new();
    for i in 0..2 {
        let id = app.create_tenant(&format!("proj-{i}")).await;
        let reply = app
            .post(
                &format!("/v1/tenants/{id}/rename"),
                json!({ "name": "Renamed" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        tenants.push(id);
    }
    let when = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let mut head = 0;
    for batch in 0..3 {
        let events: Vec<_> = (0..10)
            .map(|i| {
                json!({"meter": "compute_seconds", "quantity": i + 1, "timestamp": when,
                       "idempotency_key": format!("k-{batch}-{i}")})
            })
            .collect();
        let reply = app
            .post(
                &format!("/v1/tenants/{}/usage", tenants[0]),
                json!({ "events": events }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
        head = reply.body["global_position"].as_u64().unwrap();
    }
    wait_until_published(&app).await;
    let usage_path = format!(
        "/v1/tenants/{}/usage?meter=compute_seconds&granularity=month&after_position={head}",
        tenants[0]
    );
    let reply = app.get(&usage_path).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the server does not fold usage itself: {:?}",
        reply.body
    );
    let store = app.db.open().await;
    assert_eq!(position(&store, "usage").await, 0);
    assert_eq!(position(&store, "audit").await, 0);

    let config = Config::new(&stream, "");
    let (out, result) = keel_project(
        &app.db.url,
        &config.path,
        &["--from-nats", "audit", "usage"],
        caught_up(store.clone(), &["audit", "usage"]),
    )
    .await;
    result.expect("keel project stops cleanly");
    let head = store.head_position().await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("audit: following jetstream:{} from position 0", stream.name),
            format!("usage: following jetstream:{} from position 0", stream.name),
            format!("audit: stopped at position {head} (from 0)"),
            format!("usage: stopped at position {head} (from 0)"),
        ]
    );
    let reply = app.get(&usage_path).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let points = reply.body["points"].as_array().unwrap();
    let total: i64 = points.iter().map(|p| p["value"].as_i64().unwrap()).sum();
    assert_eq!(total, 3 * 55, "every sample of the three batches, once");
    let audit = app
        .get(&format!(
            "/v1/tenants/{}/audit?after_position={head}",
            tenants[1]
        ))
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
    assert_same_as_rebuild(&store).await;
}

async fn a_killed_consumer_process_counts_every_event_exactly_once(backend: Backend) {
    let stream = TestStream::new();
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let quantity = record_usage(&store, "a", 60, 25).await;
    let head = append_samples(&store, 1500, 30).await;
    let (relay, relay_task) = relay(&stream, &store).await;
    wait_for_position(&relay, head).await;
    keel_projections::setup(&store.log()).await.unwrap();

    let config = Config::new(&stream, "");
    let mut killed_at = 0;
    for _ in 0..3 {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_keel_cli"))
            .arg("--config")
            .arg(&config.path)
            .args([
                "--database-url",
                db.url.as_str(),
                "project",
                "--from-nats",
                "--batch",
                "7",
                "usage",
                "audit",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start keel project");
        // Let it fold a few batches beyond where the previous one was killed, then kill -9.
        let target = killed_at + 100;
        let mut reached = 0;
        for _ in 0..600 {
            reached = position(&store, "audit").await;
            if reached >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(reached >= target, "the consumer makes progress ({reached})");
        child.start_kill().expect("kill -9 keel project");
        child.wait().await.expect("the process is gone");
        killed_at = position(&store, "audit").await;
    }
    assert!(
        killed_at < head,
        "killed mid-stream ({killed_at} of {head})"
    );

    project_to_the_end(
        &db.url,
        &config.path,
        &["--from-nats", "usage", "audit"],
        &store,
    )
    .await;
    relay_task.abort();
    assert_exact(&store, quantity, 60 * 25).await;
}

async fn republished_messages_are_absorbed_also_across_a_restart(backend: Backend) {
    let stream = TestStream::new();
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let mut quantity = record_usage(&store, "a", 20, 3).await;
    let head = append_samples(&store, 60, 4).await;
    let (relay, relay_task) = relay(&stream, &store).await;
    wait_for_position(&relay, head).await;

    // A relay restarted from an older checkpoint after the duplicate window stores events
    // again, from there on: here, positions 10 to the head once more, with fresh message ids.
    let js = stream.jetstream().await;
    let copies = head - 9;
    for (i, message) in stream.read(None, head as usize).await[9..]
        .iter()
        .enumerate()
    {
        let mut headers = message.headers.clone().unwrap();
        let id = headers.get("Nats-Msg-Id").unwrap().as_str().to_owned();
        headers.insert("Nats-Msg-Id", format!("{id}-again"));
        // As the relay sends it (it is idle: the stream ends with what it published).
        headers.insert("Nats-Expected-Last-Sequence", (head + i as u64).to_string());
        js.publish_with_headers(message.subject.clone(), headers, message.payload.clone())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    quantity += record_usage(&store, "b", 10, 3).await;
    let head = append_samples(&store, 30, 4).await;
    wait_for_position(&relay, head).await;
    assert_eq!(
        stream.message_count().await,
        head + copies,
        "the copies are stored"
    );

    // Stopped part-way and started again, the consumer finds its place among the copies.
    let config = Config::new(&stream, "");
    let part_way = {
        let store = store.clone();
        async move {
            // Early and often: under a loaded machine the consumer must not reach the head
            // before the stop is noticed.
            while position(&store, "audit").await < 10 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    let (_, result) = keel_project(
        &db.url,
        &config.path,
        &["--from-nats", "--batch", "4"],
        part_way,
    )
    .await;
    result.unwrap();
    assert!(position(&store, "audit").await < head, "stopped part-way");
    project_to_the_end(
        &db.url,
        &config.path,
        &["--from-nats", "--batch", "4"],
        &store,
    )
    .await;
    relay_task.abort();
    assert_exact(&store, quantity, 30 * 3).await;
}

async fn a_gap_in_the_stream_stops_the_consumer_at_the_event_before_it(backend: Backend) {
    let stream = TestStream::new();
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let head = append_samples(&store, 40, 3).await;
    let (relay, relay_task) = relay(&stream, &store).await;
    wait_for_position(&relay, head).await;
    relay_task.abort();
    // A fresh stream: sequence n holds position n. Losing 21 leaves a gap after 20.
    let js = stream.jetstream().await;
    let messages = js.get_stream(&stream.name).await.unwrap();
    assert!(messages.delete_message(21).await.unwrap());

    let config = Config::new(&stream, "");
    let never = || async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        panic!("keel project did not stop on the gap");
    };
    for _ in 0..2 {
        let (_, result) =
            keel_project(&db.url, &config.path, &["--from-nats", "audit"], never()).await;
        let error = result.unwrap_err();
        assert_eq!(error.exit_code(), 1);
        let text = error.to_string();
        assert!(
            text.contains(&format!(
                "the JetStream stream `{}` has no event between position 20 and position 22",
                stream.name
            )),
            "{text}"
        );
        assert_eq!(
            position(&store, "audit").await,
            20,
            "everything before the gap is folded"
        );
    }
}

async fn a_database_worker_and_a_nats_consumer_on_one_projection_apply_each_event_once(
    backend: Backend,
) {
    let stream = TestStream::new();
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let (_relay, relay_task) = relay(&stream, &store).await;
    let workers = Workers::start(store.clone(), keel_projections::registry())
        .await
        .unwrap();
    let config = Config::new(&stream, "");
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut quantity = 0;
            for round in 0..10 {
                quantity += record_usage(&store, &format!("r{round}"), 5, 4).await;
                append_samples(&store, 40, 6).await;
            }
            quantity
        })
    };
    let quantity = Arc::new(AtomicI64::new(0));
    let until = {
        let (store, quantity) = (store.clone(), quantity.clone());
        async move {
            quantity.store(writer.await.unwrap(), Ordering::SeqCst);
            caught_up(store, &["audit", "usage"]).await;
        }
    };
    let (_, result) = keel_project(
        &db.url,
        &config.path,
        &["--from-nats", "--batch", "5"],
        until,
    )
    .await;
    result.unwrap();
    workers.stop().await;
    relay_task.abort();
    assert_exact(&store, quantity.load(Ordering::SeqCst), 10 * 5 * 4).await;
}

async fn without_from_nats_keel_project_folds_the_log_itself(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let quantity = record_usage(&store, "a", 10, 5).await;
    let head = append_samples(&store, 120, 4).await;
    // No NATS settings: only the audit signing key every run needs on PostgreSQL.
    let config = keel_tests::audit_key::test_config_file();
    let (out, result) = keel_project(
        &db.url,
        config,
        &["--batch", "9", "usage", "audit", "usage"],
        caught_up(store.clone(), &["audit", "usage"]),
    )
    .await;
    result.unwrap();
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "usage: following database from position 0".to_owned(),
            "audit: following database from position 0".to_owned(),
            format!("usage: stopped at position {head} (from 0)"),
            format!("audit: stopped at position {head} (from 0)"),
        ],
        "each projection once, in the order named"
    );
    assert_exact(&store, quantity, 10 * 5).await;
}

#[tokio::test]
async fn keel_project_explains_what_it_cannot_do() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    db.open().await;
    let no_nats = tempfile::tempdir().unwrap();
    let empty = no_nats.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let (_, result) = keel_project(&db.url, &empty, &["--from-nats"], std::future::pending()).await;
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("nats_url is not set"), "{error}");

    let stream = TestStream::new();
    let json = Config::new(&stream, "nats_body_format = \"json\"\n");
    let (_, result) = keel_project(
        &db.url,
        &json.path,
        &["--from-nats"],
        std::future::pending(),
    )
    .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("nats_body_format is json"), "{error}");

    let config = Config::new(&stream, "");
    let (_, result) = keel_project(
        &db.url,
        &config.path,
        &["--from-nats"],
        std::future::pending(),
    )
    .await;
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains(&format!(
            "cannot open the JetStream stream `{}`",
            stream.name
        )),
        "{error}"
    );

    let (_, result) = keel_project(&db.url, &config.path, &["nope"], std::future::pending()).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "no projection is named `nope`"
    );

    let settings = Settings {
        external_projections: "usage,invoices".into(),
        ..Settings::default()
    };
    let error = settings.validate().unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid setting `external_projections`: no projection is named `invoices`"
    );
}
