//! The runtime against in-memory fakes of its ports: a lease table and a clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ports::StoreResult;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The lease table as the store keeps it, in memory.
#[derive(Default)]
struct Leases(Mutex<HashMap<String, (String, jiff::Timestamp)>>);

#[async_trait]
impl JobLeases for Leases {
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> StoreResult<LeaseState> {
        let mut rows = self.0.lock().unwrap();
        match rows.get(job) {
            Some((h, u)) if h != holder && *u > now => Ok(LeaseState::HeldBy {
                holder: h.clone(),
                until: *u,
            }),
            _ => {
                rows.insert(job.into(), (holder.into(), until));
                Ok(LeaseState::Held)
            }
        }
    }

    async fn release_lease(&self, job: &str, holder: &str) -> StoreResult<()> {
        let mut rows = self.0.lock().unwrap();
        if rows.get(job).is_some_and(|(h, _)| h == holder) {
            rows.remove(job);
        }
        Ok(())
    }
}

struct TestClock(Mutex<jiff::Timestamp>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new("2026-12-05T08:00:00Z".parse().unwrap())))
    }
    fn advance(&self, secs: i64) {
        let mut t = self.0.lock().unwrap();
        *t += jiff::SignedDuration::from_secs(secs);
    }
}

impl Clock for TestClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Counts its rounds; each takes `pause`, with a mark at its start and its end.
struct Counting {
    scope: Scope,
    pause: Duration,
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl Counting {
    fn new(scope: Scope, pause: Duration) -> Self {
        Self {
            scope,
            pause,
            started: Arc::default(),
            finished: Arc::default(),
        }
    }
}

#[async_trait]
impl Job for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn every(&self) -> Duration {
        Duration::from_millis(10)
    }
    fn scope(&self) -> Scope {
        self.scope
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.pause).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(Round::default().count("rounds", 1))
    }
}

async fn until(what: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !what() {
        assert!(started.elapsed() < Duration::from_secs(5), "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_stop_lets_the_round_in_progress_finish_and_starts_no_other() {
    let job = Counting::new(Scope::Shared, Duration::from_millis(300));
    let (started, finished) = (job.started.clone(), job.finished.clone());
    let leases = Arc::new(Leases::default());
    let running = Runner::new(leases.clone(), TestClock::new())
        .with(job)
        .start();
    until(|| started.load(Ordering::SeqCst) == 1).await;
    let asked = std::time::Instant::now();
    running.shutdown().await;
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the round was cut short"
    );
    assert!(
        leases.0.lock().unwrap().is_empty(),
        "the lease is given up on the way out"
    );
}

#[tokio::test]
async fn a_shared_job_runs_on_one_runner_and_a_per_server_job_on_each() {
    let leases = Arc::new(Leases::default());
    let clock = TestClock::new();
    let shared = [0, 1].map(|_| Counting::new(Scope::Shared, Duration::ZERO));
    let local = [0, 1].map(|_| Counting::new(Scope::PerServer, Duration::ZERO));
    let counts = |jobs: &[Counting; 2]| jobs.each_ref().map(|j| j.started.clone());
    let (shared_n, local_n) = (counts(&shared), counts(&local));
    let mut running = Vec::new();
    for (s, l) in shared.into_iter().zip(local) {
        running.push(
            Runner::new(leases.clone(), clock.clone())
                .with(s)
                .with(l)
                .start(),
        );
    }
    until(|| local_n.iter().all(|n| n.load(Ordering::SeqCst) >= 10)).await;
    let ran: Vec<usize> = shared_n.iter().map(|n| n.load(Ordering::SeqCst)).collect();
    assert!(
        ran.iter().filter(|n| **n > 0).count() == 1,
        "both servers ran the shared job: {ran:?}"
    );
    for r in running {
        r.shutdown().await;
    }
}

#[tokio::test]
async fn a_lease_passes_on_when_its_holder_stops_or_dies() {
    let leases: Arc<Leases> = Arc::new(Leases::default());
    let clock = TestClock::new();
    let lease = |holder: &str| Lease {
        leases: leases.clone(),
        clock: clock.clone(),
        job: "sweep",
        holder: holder.into(),
        ttl: Duration::from_secs(60),
        held_until: None,
        busy_until: None,
    };
    let (mut a, mut b) = (lease("a"), lease("b"));
    assert!(a.hold().await.unwrap());
    assert!(!b.hold().await.unwrap());
    // A live holder renews its lease before it runs out; the other keeps waiting.
    clock.advance(40);
    assert!(a.hold().await.unwrap());
    clock.advance(40);
    assert!(!b.hold().await.unwrap());
    // A holder that stops gives it up: the other takes it within a few seconds.
    a.release().await;
    assert!(!b.hold().await.unwrap(), "asked again too soon");
    clock.advance(5);
    assert!(b.hold().await.unwrap());
    // A holder that dies (no renewal) loses it when its time runs out.
    let mut c = lease("c");
    assert!(!c.hold().await.unwrap());
    clock.advance(61);
    assert!(c.hold().await.unwrap());
}

#[test]
fn a_round_is_logged_as_its_counts() {
    let r = Round::default().count("sent", 2).count("failed", 0);
    assert!(r.did_work());
    assert_eq!(r.to_string(), "sent=2 failed=0");
    assert!(!Round::default().count("sent", 0).did_work());
}

/// A change-log reader: woken by commits when the store tells of them.
struct Reader(Counting);

#[async_trait]
impl Job for Reader {
    fn name(&self) -> &'static str {
        "reader"
    }
    fn every(&self) -> Duration {
        Duration::from_millis(50)
    }
    fn scope(&self) -> Scope {
        Scope::PerServer
    }
    fn reads_changes(&self) -> bool {
        true
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        self.0.run_once().await
    }
}

#[tokio::test]
async fn a_change_log_reader_waits_for_commits_and_reads_a_burst_in_few_rounds() {
    let job = Reader(Counting::new(Scope::PerServer, Duration::ZERO));
    let started = job.0.started.clone();
    let rounds = || started.load(Ordering::SeqCst);
    let commits = tokio::sync::watch::Sender::new(0u64);
    let running = Runner::new(Arc::new(Leases::default()), TestClock::new())
        .woken_by(Some(commits.subscribe()))
        .with(job)
        .start();
    // The first round at start, then nothing while nothing is written (unprompted rounds
    // come every five seconds).
    until(|| rounds() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rounds(), 1, "it polled without a commit");
    // A commit wakes it at once (well before its five-second unprompted round).
    let asked = std::time::Instant::now();
    commits.send_modify(|n| *n += 1);
    until(|| rounds() == 2).await;
    assert!(asked.elapsed() < Duration::from_secs(2));
    // A burst of commits is read in a few rounds, at most one per pause (50 ms).
    let burst = std::time::Instant::now();
    for _ in 0..100 {
        commits.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = rounds() - 2;
    let most = burst.elapsed().as_millis() as usize / 50 + 2;
    assert!(
        (1..=most).contains(&during),
        "100 commits over {:?} took {during} rounds (at most {most})",
        burst.elapsed()
    );
    running.shutdown().await;
}

/// A reader whose rounds write (and so wake it) and leave work for the next: it goes on
/// at once, not a pause later.
struct Busy {
    rounds: Arc<AtomicUsize>,
    commits: tokio::sync::watch::Sender<u64>,
}

#[async_trait]
impl Job for Busy {
    fn name(&self) -> &'static str {
        "busy"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(5)
    }
    fn scope(&self) -> Scope {
        Scope::PerServer
    }
    fn reads_changes(&self) -> bool {
        true
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let n = self.rounds.fetch_add(1, Ordering::SeqCst) + 1;
        self.commits.send_modify(|c| *c += 1);
        Ok(Round::default().count("rounds", 1).more(n < 6))
    }
}

#[tokio::test]
async fn a_reader_that_left_work_goes_on_at_once_though_its_own_writes_woke_it() {
    let rounds = Arc::new(AtomicUsize::new(0));
    let commits = tokio::sync::watch::Sender::new(0u64);
    let running = Runner::new(Arc::new(Leases::default()), TestClock::new())
        .woken_by(Some(commits.subscribe()))
        .with(Busy {
            rounds: rounds.clone(),
            commits: commits.clone(),
        })
        .start();
    let started = std::time::Instant::now();
    until(|| rounds.load(Ordering::SeqCst) == 6).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "six rounds took {:?}",
        started.elapsed()
    );
    running.shutdown().await;
}
