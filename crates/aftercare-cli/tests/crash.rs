#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `aftercare serve` killed with SIGKILL while clients create customers with
//! Idempotency-Keys and retry, on SQLite and on PostgreSQL: after a restart no acknowledged
//! write is missing, a retried key answers with the record it made, and no key made two.

use aftercare_testkit::{BOTH, Kind, TestDb};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEYS: usize = 60;

struct Setup {
    dir: std::path::PathBuf,
    url: String,
}

impl Setup {
    fn cli(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aftercare"));
        c.arg("--data-dir")
            .arg(&self.dir)
            .arg("--database-url")
            .arg(&self.url)
            .env("AFTERCARE_LOG", "warn");
        c
    }

    /// Starts the server; returns it and its base URL.
    fn serve(&self) -> (Child, String) {
        let mut server = self
            .cli()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server printed where it listens")
                .unwrap();
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (server, base)
    }
}

fn name(key: usize) -> String {
    format!("断电客户{key:03}")
}

/// Creates the customer of `key`: its id, or `None` when the server did not answer.
async fn create(http: &reqwest::Client, base: &str, token: &str, key: usize) -> Option<i64> {
    let r = http
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("crash-{key}"))
        .json(&json!({ "name": name(key) }))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.ok()?;
    match status {
        201 => body["id"].as_i64(),
        // The key's first try is still running (the server died under it and the claim
        // is not stale yet): not an answer, try again later.
        409 if body["code"] == "idempotency_key_in_progress" => None,
        _ => panic!("unexpected answer {status}: {body}"),
    }
}

/// Runs workers over `keys` until the server dies or the keys are done; records answers.
async fn load(
    base: &str,
    token: &str,
    keys: Vec<usize>,
    acked: Arc<Mutex<BTreeMap<usize, i64>>>,
    server: &mut Child,
    kill_after: usize,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let queue = Arc::new(Mutex::new(keys));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (http, base, token, queue, acked) = (
            http.clone(),
            base.to_string(),
            token.to_string(),
            Arc::clone(&queue),
            Arc::clone(&acked),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let Some(key) = queue.lock().unwrap().pop() else {
                    break;
                };
                match create(&http, &base, &token, key).await {
                    Some(id) => {
                        let before = acked.lock().unwrap().insert(key, id);
                        assert!(
                            before.is_none_or(|b| b == id),
                            "key {key}: {before:?} then {id}"
                        );
                    }
                    None => break,
                }
            }
        }));
    }
    // Kill the server hard once enough writes were acknowledged, requests in flight.
    let start = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < start + kill_after {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
}

#[tokio::test]
async fn killed_mid_write_no_acknowledged_write_is_lost_and_no_key_makes_two() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let dir =
            std::env::temp_dir().join(format!("aftercare-crash-{}-{kind:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = match kind {
            // A database file the server opens itself (the test's own stays untouched).
            Kind::Sqlite => format!("sqlite://{}", dir.join("crash.db").display()),
            Kind::Postgres => db.url.clone(),
        };
        let s = Setup { dir, url };
        let mut add = s
            .cli()
            .args(["user", "add", "ops@example.cn", "--role", "admin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery\n")
            .unwrap();
        assert!(add.wait().unwrap().success());
        let out = s
            .cli()
            .args([
                "token",
                "create",
                "ops@example.cn",
                "--name",
                "load",
                "--scopes",
                "write",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

        let acked = Arc::new(Mutex::new(BTreeMap::new()));
        // Two crashes, each with writes in flight; the second run repeats keys of the first.
        for (keys, kill_after) in [(0..40, 12), (20..KEYS, 12)] {
            let (mut server, base) = s.serve();
            load(
                &base,
                &token,
                keys.rev().collect(),
                Arc::clone(&acked),
                &mut server,
                kill_after,
            )
            .await;
        }

        // After a restart every key is retried: each answers with one record, the one it
        // answered with before if it did.
        let (mut server, base) = s.serve();
        let http = reqwest::Client::new();
        let before = acked.lock().unwrap().clone();
        let mut ids = BTreeMap::new();
        for key in 0..KEYS {
            let id = loop {
                if let Some(id) = create(&http, &base, &token, key).await {
                    break id;
                }
                // A claim left by the killed server: stale after a minute at most.
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            if let Some(&was) = before.get(&key) {
                assert_eq!(id, was, "{kind:?}: key {key} answered another record");
            }
            ids.insert(key, id);
        }
        let listed: Value = http
            .get(format!("{base}/api/v1/customers?limit=200"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = listed["items"].as_array().unwrap();
        let names: Vec<&str> = items.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), KEYS, "{kind:?}: one record per key: {names:?}");
        assert_eq!(unique.len(), KEYS, "{kind:?}: a key made two records");
        let listed_ids: BTreeSet<i64> = items.iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert!(
            before.values().all(|id| listed_ids.contains(id)),
            "{kind:?}: an acknowledged write is missing"
        );
        assert_eq!(ids.values().copied().collect::<BTreeSet<_>>(), listed_ids);
        server.kill().unwrap();
        server.wait().unwrap();
        let _ = std::fs::remove_dir_all(&s.dir);
        db.cleanup().await;
    }
}
