//! Reactors and the server's background tasks: leases (one process runs each reactor, and a
//! paused holder whose lease moved cannot record progress), supervision (a failing task is
//! reported on `/readyz` and `/metrics` and started again), and a SIGTERM under load (no
//! acknowledged command lost, a prompt exit).

use keel_projections::db::Tx;
use keel_projections::framework::checkpoint::generations;
use keel_projections::projection::table_name;
use keel_reactors::relay::RelayCheckpoint;
use keel_reactors::{Leases, ReactorError};
use keel_tests::app::{spawn_app_with, test_admin_key, TestApp};
use keel_tests::{Backend, TestDatabase};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

both_backends!(
    a_paused_leaseholder_cannot_record_progress_after_its_lease_moved,
    a_failing_reactor_is_reported_and_started_again,
    a_sigterm_under_load_loses_no_acknowledged_command_and_exits_promptly,
);

/// Polls `probe` every 20 ms until it yields a value, at most `bound`.
async fn eventually<T, F: Future<Output = Option<T>>>(
    bound: Duration,
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_paused_leaseholder_cannot_record_progress_after_its_lease_moved(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.open().await;
    let first = Leases::new(store.database(), Duration::from_secs(1));
    let second = Leases::new(store.database(), Duration::from_secs(1));
    let held = first
        .try_acquire("relay")
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert!(
        second.try_acquire("relay").await.unwrap().is_none(),
        "a held lease is not taken"
    );
    let checkpoint = RelayCheckpoint::open(store.database(), "leased")
        .await
        .unwrap();
    checkpoint.save(10, &held).await.unwrap();

    // The holder is paused past its expiry (it does not renew); the other process takes over.
    let taken = eventually(Duration::from_secs(5), "the lease to expire", || async {
        second.try_acquire("relay").await.unwrap()
    })
    .await;
    assert!(taken.token() > held.token(), "the fencing token grows");

    // Waking up, the first holder can neither record progress nor renew.
    let late = checkpoint.save(20, &held).await;
    assert!(
        matches!(late, Err(ReactorError::LeaseLost("relay"))),
        "{late:?}"
    );
    assert!(!held.renew().await.unwrap());
    assert_eq!(checkpoint.load().await.unwrap(), 10);
    // The same fence in a transaction that records progress.
    let mut tx = Tx::begin(&store.database()).await.unwrap();
    let fenced = held.check(&mut tx).await;
    assert!(
        matches!(fenced, Err(ReactorError::LeaseLost("relay"))),
        "{fenced:?}"
    );
    taken.check(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    checkpoint.save(30, &taken).await.unwrap();
    assert_eq!(checkpoint.load().await.unwrap(), 30);
    assert_eq!(
        second
            .holder("relay")
            .await
            .unwrap()
            .map(|(_, token)| token),
        Some(taken.token())
    );

    // A released lease is free at once.
    taken.release().await.unwrap();
    assert!(first.try_acquire("relay").await.unwrap().is_some());
}

/// The state of task `name` on `app`'s `/readyz`.
async fn task(app: &TestApp, name: &str) -> Value {
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{:?}", ready.body);
    ready.body["tasks"]
        .as_array()
        .expect("tasks on /readyz")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} on /readyz: {:?}", ready.body))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_run_each_reactor_once() {
    let first = spawn_app_with(Backend::Postgres, |s| s.reactor_lease_ms = 1000).await;
    let second = first.beside(|_| {}).await;
    for reactor in ["billing_close", "quota_alerts"] {
        eventually(
            Duration::from_secs(10),
            "one runner per reactor",
            || async {
                let mut states = [
                    task(&first, reactor).await["state"].clone(),
                    task(&second, reactor).await["state"].clone(),
                ]
                .map(|s| s.as_str().unwrap_or_default().to_owned());
                states.sort();
                (states == ["running", "standby"]).then_some(())
            },
        )
        .await;
    }
    // Stopping a node releases its leases: the other takes every reactor over.
    let db = first.stop().await;
    for reactor in ["billing_close", "quota_alerts"] {
        eventually(
            Duration::from_secs(10),
            "the other node to take over",
            || async { (task(&second, reactor).await["state"] == "running").then_some(()) },
        )
        .await;
    }
    second.stop().await;
    drop(db);
}

async fn a_failing_reactor_is_reported_and_started_again(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let store = app.db.open().await;
    let db = store.database();
    // An alert row the quota alerts reactor cannot turn into an event.
    let table = table_name(
        "usage_alerts",
        generations(&db, "usage").await.unwrap().active,
    );
    let insert = format!(
        "INSERT INTO {table} (tenant_id, meter, period, percent, quota, used, published) \
         VALUES ('not a tenant id', 'compute_seconds', '2026-12', 80, 100, 80, 0)"
    );
    keel_projections::with_pool!(&db, pool => { sqlx::query(&insert).execute(pool).await.unwrap(); });

    let failing = eventually(Duration::from_secs(10), "the reactor to fail", || async {
        let state = task(&app, "quota_alerts").await;
        (state["state"] == "failing" || state["restarts"].as_u64() >= Some(2)).then_some(state)
    })
    .await;
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("usage_alerts")),
        "{failing}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.lines().any(|l| l
            .starts_with("keel_background_task_restarts{task=\"quota_alerts\"}")
            && !l.ends_with(" 0")),
        "{metrics}"
    );

    // Mended, it runs again after its backoff.
    let delete = format!("DELETE FROM {table} WHERE tenant_id = 'not a tenant id'");
    keel_projections::with_pool!(&db, pool => { sqlx::query(&delete).execute(pool).await.unwrap(); });
    let running = eventually(
        Duration::from_secs(20),
        "the reactor to run again",
        || async {
            let state = task(&app, "quota_alerts").await;
            (state["state"] == "running").then_some(state)
        },
    )
    .await;
    assert!(running["restarts"].as_u64().unwrap() >= 1, "{running}");
}

async fn a_sigterm_under_load_loses_no_acknowledged_command_and_exits_promptly(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let admin_key = test_admin_key();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_keel_cli"))
        .arg("serve")
        .env("KEEL_DATABASE_URL", &db.url)
        .env("KEEL_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEEL_ADMIN_KEY", &admin_key)
        .env("KEEL_GRPC_LISTEN", "off")
        .env("KEEL_LOG_LEVEL", "warn")
        .env(
            "KEEL_AUDIT_SIGNING_KEY_FILE",
            keel_tests::audit_key::test_audit_key_file(),
        )
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start keel serve");
    let client = reqwest::Client::new();
    eventually(Duration::from_secs(30), "the server to answer", || async {
        let health = client.get(format!("{address}/healthz")).send().await;
        health.ok().filter(|r| r.status().is_success())
    })
    .await;

    // Sixteen clients create tenants until the server stops answering; each 201 is a command
    // the server acknowledged.
    let clients: Vec<_> = (0..16)
        .map(|worker| {
            let (client, address, key) = (client.clone(), address.clone(), admin_key.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let slug = format!("w{worker}-t{i}");
                    let reply = client
                        .post(format!("{address}/v1/tenants"))
                        .bearer_auth(&key)
                        .json(&serde_json::json!({
                            "name": slug, "slug": slug, "plan": "standard",
                            "data_region": "eu-west-1", "owner_email": format!("o@{slug}.example"),
                        }))
                        .send()
                        .await;
                    let Ok(reply) = reply else { break };
                    if reply.status() != StatusCode::CREATED {
                        break;
                    }
                    let body: Value = reply.json().await.expect("a JSON body");
                    acknowledged.push(body["data"]["id"].as_str().unwrap().to_owned());
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.id().expect("the server runs").to_string();
    let stopping = Instant::now();
    let kill = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("the server exits within 20 s of SIGTERM")
        .unwrap();
    let took = stopping.elapsed();
    assert!(status.success(), "a SIGTERM is a clean stop: {status}");
    let mut acknowledged = HashSet::new();
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    assert!(
        acknowledged.len() >= 16,
        "the load ran: {}",
        acknowledged.len()
    );

    let store = db.open().await;
    let events = store.read_all(0, 10_000_000).await.unwrap();
    let created: HashSet<String> = events
        .iter()
        .filter(|e| e.event_type == "tenant.created")
        .map(|e| e.metadata.tenant_id.to_string())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&created).collect();
    assert!(lost.is_empty(), "acknowledged tenants lost: {lost:?}");
    println!(
        "{} tenants acknowledged, stopped in {took:?}",
        acknowledged.len()
    );
}
