#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `aftercare backup` of a running SQLite installation while clients write, and
//! `aftercare restore` of that copy into another data directory, where a server starts and
//! serves every customer the copy holds: each write acknowledged before the backup began is
//! in it. A damaged file is refused and changes nothing; a restore over a database keeps it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    c.arg("--data-dir").arg(dir).env("AFTERCARE_LOG", "warn");
    c
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "aftercare {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve(dir: &Path) -> (Child, String) {
    let mut server = cli(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("where it listens").unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (server, base)
}

fn stop(mut server: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}

fn token(dir: &Path) -> String {
    let mut add = cli(dir)
        .args(["user", "add", "admin@backup.example", "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    run(
        dir,
        &[
            "token",
            "create",
            "admin@backup.example",
            "--scopes",
            "read,write,admin",
        ],
    )
    .trim()
    .lines()
    .last()
    .unwrap()
    .to_string()
}

async fn names(http: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/customers?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Creates customer `n`, one after the other, so the names acknowledged form a prefix.
async fn create(http: &reqwest::Client, base: &str, tok: &str, n: usize) {
    let r = http
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(tok)
        .json(&json!({ "name": format!("备份客户{n:04}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

fn fresh(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aftercare-backup-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_into_a_server_that_starts() {
    let live = fresh("live");
    run(&live, &["migrate"]);
    let tok = token(&live);
    let (server, base) = serve(&live);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Writes keep coming while the backup is taken.
    for n in 0..40 {
        create(&http, &base, &tok, n).await;
    }
    let writer = tokio::spawn({
        let (http, base, tok) = (http.clone(), base.clone(), tok.clone());
        async move {
            for n in 40..400 {
                create(&http, &base, &tok, n).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let copy = live.join("copy.db");
    let said = run(&live, &["backup", copy.to_str().unwrap()]);
    assert!(said.contains("backup written"), "{said}");
    writer.await.unwrap();
    stop(server);

    // Restored elsewhere, a server starts on it and has a whole prefix of the writes.
    let other = fresh("restored");
    let said = run(&other, &["restore", copy.to_str().unwrap()]);
    assert!(said.contains("restored"), "{said}");
    let (server, base) = serve(&other);
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let mut got = names(&http, &base, &tok).await;
    got.sort();
    stop(server);
    assert!(got.len() >= 40 && got.len() <= 400, "{}", got.len());
    let expected: Vec<String> = (0..got.len()).map(|n| format!("备份客户{n:04}")).collect();
    assert_eq!(got, expected, "every write up to the backup, none torn");

    // A damaged file is refused, and the database stays as it was.
    let junk = other.join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let out = cli(&other)
        .args(["restore", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not restored"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (server, base) = serve(&other);
    assert_eq!(names(&http, &base, &tok).await.len(), got.len());
    stop(server);

    // Restoring over a database keeps the one it replaces.
    let said = run(&other, &["restore", copy.to_str().unwrap()]);
    assert!(said.contains("kept as"), "{said}");
    let kept = std::fs::read_dir(&other)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("aftercare.db.before-restore-")
        });
    assert!(kept);
    let _ = std::fs::remove_dir_all(&live);
    let _ = std::fs::remove_dir_all(&other);
}
