#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `aftercare serve` stopped with SIGTERM while a background round is in progress (the
//! search index being built over the demo data): the round finishes, the server exits by
//! itself within 5 s, and what it left is whole: an index that knows how far it got and
//! change-log cursors within the log.

use aftercare_app::search::SearchIndex;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Sends every line of `stream` to `tx`, tagged.
fn forward(
    stream: impl std::io::Read + Send + 'static,
    tag: &'static str,
    tx: mpsc::Sender<(&'static str, String)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send((tag, line)).is_err() {
                break;
            }
        }
    });
}

#[tokio::test]
async fn sigterm_lets_the_round_in_progress_finish_and_the_server_exit_within_5_s() {
    let dir = std::env::temp_dir().join(format!("aftercare-cli-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("AFTERCARE_LOG", "info,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    forward(server.stdout.take().unwrap(), "out", tx.clone());
    forward(server.stderr.take().unwrap(), "err", tx);
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, line) = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the index build never started: {seen:#?}"));
        let building = line.contains("building the search index");
        seen.push(line);
        if building {
            break;
        }
    }
    let asked = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    seen.extend(rx.try_iter().map(|(_, l)| l));
    let at = |what: &str| seen.iter().position(|l| l.contains(what));
    let built = at("search index built").unwrap_or_else(|| panic!("round cut short: {seen:#?}"));
    let stopped = at("stopped").unwrap_or_else(|| panic!("no orderly stop: {seen:#?}"));
    let signalled = at("shutting down").unwrap_or_else(|| panic!("signal not seen: {seen:#?}"));
    assert!(signalled < built && built < stopped, "{seen:#?}");

    // The index knows the event it was built up to (a build cut short leaves -1), and no
    // consumer's cursor is past the end of the log.
    let index = aftercare_search::TantivyIndex::open(&dir.join("search")).unwrap();
    let db = aftercare_store::connect(&format!("sqlite://{}", dir.join("aftercare.db").display()))
        .await
        .unwrap();
    let store = aftercare_store::SqlStore::new(db);
    use aftercare_app::ports::ChangeLog;
    let latest = store.latest_event_id().await.unwrap();
    let cursor = index.cursor().unwrap();
    assert!(
        cursor > 0 && cursor <= latest,
        "index cursor {cursor}, log {latest}"
    );
    for consumer in ["value", "feedback", "survey"] {
        let c = store.consumer_cursor(consumer).await.unwrap();
        assert!(c <= latest, "{consumer} at {c}, log at {latest}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
