//! The `keel` tools against a database filled by a scripted scenario, on both backends:
//! `events read` and `tail`, `stream state` at a moment and as a diff, `tenant export`,
//! `status` and `migrate`, with their outputs checked exactly.

use clap::Parser;
use keel_api::cli::{run, Cli, CliError};
use keel_tests::app::{spawn_app, TestApp};
use keel_tests::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    events_read_prints_the_log_filtered_and_in_order,
    events_tail_follows_new_events_live,
    stream_state_replays_to_a_moment_and_diffs_two,
    tenant_export_writes_events_and_aggregates,
    status_and_migrate_describe_the_database,
    bad_arguments_are_clear_errors,
);

/// Runs `keel <args>` on the app's database; the output, or the error.
async fn keel(app: &TestApp, args: &[&str]) -> Result<String, CliError> {
    let config = keel_tests::audit_key::test_config_file()
        .display()
        .to_string();
    let mut argv = vec!["keel", "--config", &config, "--database-url", &app.db.url];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("the arguments parse");
    let mut out = Vec::new();
    run(cli, &mut out).await?;
    Ok(String::from_utf8(out).expect("UTF-8 output"))
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Creates the tenant `acme` (created, owner added, slug claimed), renames it, adds a member:
/// four tenant events and a claim.
async fn scenario(app: &TestApp) -> String {
    let tenant = app.create_tenant("acme").await;
    let renamed = app
        .post(
            &format!("/v1/tenants/{tenant}/rename"),
            json!({"name": "Acme Corp"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    let member = app
        .post(
            &format!("/v1/tenants/{tenant}/members"),
            json!({"email": "ana@acme.example", "role": "admin"}),
        )
        .await;
    assert_eq!(member.status, StatusCode::OK, "{:?}", member.body);
    tenant
}

async fn events_read_prints_the_log_filtered_and_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = scenario(&app).await;
    let stream = format!("tenant-{tenant}");

    let all = json_lines(
        &keel(&app, &["--json", "events", "read", "--tenant", &tenant])
            .await
            .unwrap(),
    );
    let types: Vec<&str> = all
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| t.starts_with("tenant.")).count(),
        4,
        "{types:?}"
    );
    assert!(types.contains(&"claim.reserved"));
    let positions: Vec<u64> = all
        .iter()
        .map(|e| e["global_position"].as_u64().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "log order: {positions:?}"
    );
    assert!(all.iter().all(|e| e["tenant_id"] == tenant.as_str()));

    let tenant_events = json_lines(
        &keel(&app, &["--json", "events", "read", "--stream", &stream])
            .await
            .unwrap(),
    );
    let summary: Vec<(u64, &str)> = tenant_events
        .iter()
        .map(|e| {
            (
                e["stream_version"].as_u64().unwrap(),
                e["event_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "tenant.created"),
            (2, "tenant.member_added"),
            (3, "tenant.renamed"),
            (4, "tenant.member_added")
        ]
    );
    assert_eq!(tenant_events[2]["data"]["name"], "Acme Corp");

    // Types by prefix or exactly, a position to start after, a limit.
    let renamed = json_lines(
        &keel(&app, &["--json", "events", "read", "--type", "tenant.ren*"])
            .await
            .unwrap(),
    );
    assert_eq!(renamed.len(), 1);
    let after = tenant_events[1]["global_position"]
        .as_u64()
        .unwrap()
        .to_string();
    let later = json_lines(
        &keel(
            &app,
            &[
                "--json", "events", "read", "--stream", &stream, "--after", &after, "--limit", "1",
            ],
        )
        .await
        .unwrap(),
    );
    assert_eq!(later.len(), 1);
    assert_eq!(later[0]["event_type"], "tenant.renamed");

    // The human form: one line per event, exactly.
    let human = keel(&app, &["events", "read", "--stream", &stream])
        .await
        .unwrap();
    let expected: String = tenant_events
        .iter()
        .map(|e| {
            let recorded: chrono::DateTime<chrono::Utc> =
                e["recorded_at"].as_str().unwrap().parse().unwrap();
            format!(
                "#{} {} {}@{} {} tenant={} actor={}\n",
                e["global_position"],
                recorded.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                stream,
                e["stream_version"],
                e["event_type"].as_str().unwrap(),
                tenant,
                format_args!(
                    "{}:{}",
                    e["actor"]["kind"].as_str().unwrap(),
                    e["actor"]["id"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert_eq!(human, expected);

    // A time window: nothing before the first event, everything since it.
    let first_time = tenant_events[0]["recorded_at"].as_str().unwrap();
    let until_first = keel(
        &app,
        &[
            "--json", "events", "read", "--stream", &stream, "--until", first_time,
        ],
    )
    .await
    .unwrap();
    assert_eq!(until_first, "");
    let since_first = json_lines(
        &keel(
            &app,
            &[
                "--json", "events", "read", "--stream", &stream, "--since", first_time,
            ],
        )
        .await
        .unwrap(),
    );
    assert_eq!(since_first.len(), 4);

    // Secrets never show: an issued key's hash is null in the event view.
    app.tenant_key(&tenant, &["tenants:read"]).await;
    let issued = json_lines(
        &keel(
            &app,
            &[
                "--json",
                "events",
                "read",
                "--type",
                "tenant.api_key_issued",
            ],
        )
        .await
        .unwrap(),
    );
    assert_eq!(issued.len(), 1);
    assert_eq!(
        issued[0]["data"]["secret_hash"],
        Value::Null,
        "{}",
        issued[0]
    );
}

async fn events_tail_follows_new_events_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = scenario(&app).await;
    let tail = async {
        let printed = keel(
            &app,
            &[
                "--json", "events", "tail", "--type", "tenant.*", "--limit", "2",
            ],
        );
        tokio::time::timeout(std::time::Duration::from_secs(10), printed)
            .await
            .expect("the tail stops after --limit events")
            .unwrap()
    };
    // The tail starts at the head: the scenario's events are not printed, the next two are.
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for name in ["Acme One", "Acme Two"] {
            let reply = app
                .post(
                    &format!("/v1/tenants/{tenant}/rename"),
                    json!({"name": name}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    };
    let (printed, ()) = tokio::join!(tail, write);
    let names: Vec<Value> = json_lines(&printed)
        .iter()
        .map(|e| e["data"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("Acme One"), json!("Acme Two")]);
}

async fn stream_state_replays_to_a_moment_and_diffs_two(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = scenario(&app).await;
    let stream = format!("tenant-{tenant}");

    let now: Value = serde_json::from_str(
        &keel(&app, &["--json", "stream", "state", &stream])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(now["kind"], "tenant");
    assert_eq!(now["version"], 4);
    assert_eq!(now["current_version"], 4);
    let at_one: Value = serde_json::from_str(
        &keel(&app, &["--json", "stream", "state", &stream, "--at", "1"])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(at_one["version"], 1);
    let state_text = at_one["state"].to_string();
    assert!(state_text.contains("\"Tenant acme\""), "{state_text}");
    assert!(!state_text.contains("Acme Corp"));

    // By time: the creation's moment includes the owner added in the same commit.
    let first_time = at_one["recorded_at"].as_str().unwrap().to_owned();
    let by_time: Value = serde_json::from_str(
        &keel(
            &app,
            &["--json", "stream", "state", &stream, "--at", &first_time],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(by_time["version"], 2);
    assert_eq!(by_time["state"]["name"], "Tenant acme");
    assert_eq!(by_time["state"]["members"].as_object().unwrap().len(), 1);

    // The diff from 2 to 3 is the rename, exactly.
    let diff: Value = serde_json::from_str(
        &keel(
            &app,
            &["--json", "stream", "state", &stream, "--diff", "2", "3"],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff}");
    assert_eq!(changes[0]["before"], "Tenant acme");
    assert_eq!(changes[0]["after"], "Acme Corp");
    let path = changes[0]["path"].as_str().unwrap().to_owned();
    let human = keel(&app, &["stream", "state", &stream, "--diff", "2", "3"])
        .await
        .unwrap();
    assert_eq!(
        human,
        format!(
            "{stream} from version 2 to 3: 1 change(s)\n{path}: \"Tenant acme\" -> \"Acme Corp\"\n"
        )
    );

    // Version 0 is the state before the stream began.
    let before: Value = serde_json::from_str(
        &keel(&app, &["--json", "stream", "state", &stream, "--at", "0"])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(before["version"], 0);
    assert_eq!(before["recorded_at"], Value::Null);
}

async fn tenant_export_writes_events_and_aggregates(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = scenario(&app).await;
    let other = app.create_tenant("other").await;
    // The server's audit worker folds the scenario before the export reads the trail.
    for _ in 0..100 {
        let status: Value =
            serde_json::from_str(&keel(&app, &["--json", "status"]).await.unwrap()).unwrap();
        let audit = status["projections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "audit");
        if audit.is_some_and(|a| a["lag_events"] == 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("export");
    let output_arg = output.display().to_string();
    let summary: Value = serde_json::from_str(
        &keel(
            &app,
            &[
                "--json",
                "tenant",
                "export",
                &tenant,
                "--output",
                &output_arg,
            ],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let events = json_lines(&std::fs::read_to_string(output.join("events.jsonl")).unwrap());
    assert_eq!(summary["events"], events.len());
    assert!(
        events.iter().all(|e| e["tenant_id"] == tenant.as_str()),
        "only the tenant's events"
    );
    assert!(!events.iter().any(|e| e.to_string().contains(&other)));
    let aggregates = json_lines(&std::fs::read_to_string(output.join("aggregates.jsonl")).unwrap());
    assert_eq!(summary["aggregates"], aggregates.len());
    assert!(aggregates
        .iter()
        .any(|a| a["stream_id"] == format!("tenant-{tenant}")));
    // The read models too: the tenant's audit trail (one record per event but the slug claim)
    // and its usage rows.
    let mut audit = json_lines(&std::fs::read_to_string(output.join("audit.jsonl")).unwrap());
    assert_eq!(audit.pop().expect("the head")["kind"], "head");
    assert_eq!(audit.len(), events.len() - 1, "{audit:?}");
    assert!(audit.iter().all(|r| r["tenant_id"] == tenant.as_str()));
    let usage = std::fs::read_to_string(output.join("usage.jsonl")).unwrap();
    assert_eq!(summary["usage_rows"], usage.lines().count());

    // An export never overwrites an earlier one.
    let again = keel(
        &app,
        &["tenant", "export", &tenant, "--output", &output_arg],
    )
    .await;
    assert!(
        matches!(
            again,
            Err(CliError::InvalidArgument {
                argument: "output",
                ..
            })
        ),
        "{again:?}"
    );
}

async fn status_and_migrate_describe_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    scenario(&app).await;
    let status: Value =
        serde_json::from_str(&keel(&app, &["--json", "status"]).await.unwrap()).unwrap();
    let head = status["head_position"].as_u64().unwrap();
    assert!(head >= 4, "{status}");
    assert_eq!(
        status["backend"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let migrate = keel(&app, &["migrate"]).await.unwrap();
    // One per file of the backend's migrations (PostgreSQL has one more: the one-round-trip
    // append function).
    let folder = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    let migrations = format!(
        "{}/../store/migrations/{folder}",
        env!("CARGO_MANIFEST_DIR")
    );
    let applied = std::fs::read_dir(migrations).unwrap().count();
    let lines: Vec<&str> = migrate.lines().collect();
    assert!(
        lines[0].ends_with(&format!(
            "is up to date: {applied} store migrations applied, read models set up"
        )),
        "{migrate}"
    );
    assert_eq!(
        lines.len(),
        1 + applied,
        "one line per migration: {migrate}"
    );
    assert_eq!(status["migrations"], applied);
}

async fn bad_arguments_are_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = scenario(&app).await;
    let missing = keel(
        &app,
        &[
            "stream",
            "state",
            "tenant-0190d6c4-0000-7000-8000-000000000000",
        ],
    )
    .await;
    assert!(
        matches!(&missing, Err(CliError::NotFound(m)) if m.contains("there is no stream")),
        "{missing:?}"
    );
    let too_far = keel(
        &app,
        &["stream", "state", &format!("tenant-{tenant}"), "--at", "99"],
    )
    .await;
    let error = too_far.unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid --at: `tenant-".to_owned() + &tenant + "` has only 4 events"
    );
    assert_eq!(error.exit_code(), 2);
    let window = keel(
        &app,
        &[
            "events",
            "read",
            "--since",
            "2026-12-02T00:00:00Z",
            "--until",
            "2026-12-01T00:00:00Z",
        ],
    )
    .await;
    assert!(matches!(
        window,
        Err(CliError::InvalidArgument {
            argument: "until",
            ..
        })
    ));
    assert!(Cli::try_parse_from(["keel", "stream", "state", "x", "--at", "yesterday"]).is_err());
}
