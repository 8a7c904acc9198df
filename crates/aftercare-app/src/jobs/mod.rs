//! The background runtime. Every piece of recurring work is a [`Job`]; one [`Runner`]
//! drives them all, each on its own interval, and stops them gracefully: asked to stop,
//! a job finishes the round in progress, gives up its lease and ends.
//!
//! A [`Scope::Shared`] job (the SLA sweep, mail delivery, value refresh, feedback
//! capture, surveys, IMAP polling) runs on one server at a time when several share a
//! database: a round runs only on the holder of the job's lease, a row in the database.
//! A [`Scope::PerServer`] job (search indexing, the text model) runs on every server.

mod app_jobs;
pub mod changes;

pub use app_jobs::{
    FeedbackCapture, OutboxDelivery, SearchIndexing, SlaSweep, Surveys, TextModelSync,
    ValueRefresh, app_jobs,
};

use crate::error::AppError;
use crate::ports::{Clock, JobLeases, LeaseState};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Where a job runs when several servers share one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On one server at a time: the holder of the job's lease.
    Shared,
    /// On every server (its own search index, its own text model).
    PerServer,
}

/// What a round did, as named counts, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub counts: Vec<(&'static str, u64)>,
    /// Work is left that the round stopped short of: the next round runs at once.
    pub more: bool,
}

impl Round {
    pub fn more(mut self, more: bool) -> Self {
        self.more = more;
        self
    }

    pub fn count(mut self, name: &'static str, n: usize) -> Self {
        self.counts.push((name, n as u64));
        self
    }

    /// Whether the round did anything worth a line in the log.
    pub fn did_work(&self) -> bool {
        self.counts.iter().any(|(_, n)| *n > 0)
    }
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, n)) in self.counts.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={n}")?;
        }
        Ok(())
    }
}

/// A piece of recurring background work. `run_once` does one bounded round; tests call
/// it directly until there is nothing left.
#[async_trait]
pub trait Job: Send + Sync {
    /// A stable name: the lease's key and the log's label.
    fn name(&self) -> &'static str;
    /// The pause between rounds.
    fn every(&self) -> Duration;
    fn scope(&self) -> Scope;
    /// Whether a round that did something is logged at info level (otherwise debug: for
    /// jobs that run several times a second).
    fn loud(&self) -> bool {
        true
    }
    /// Whether the job reads the change log: woken by commits where the store tells of
    /// them, then [`Job::every`] is the least time between two rounds, and it asks
    /// unprompted only every [`UNPROMPTED`].
    fn reads_changes(&self) -> bool {
        false
    }
    async fn run_once(&self) -> Result<Round, AppError>;
}

/// How often a job woken by commits runs without being woken (a write that did not tell,
/// a round that failed).
pub const UNPROMPTED: Duration = Duration::from_secs(5);

/// A lease lasts this long, or four rounds of its job if that is longer; it is renewed
/// when half of it is left, so a live holder keeps it and a dead one loses it.
const LEASE_MIN: Duration = Duration::from_secs(60);

/// How long a server waits before asking again for a lease another one holds.
const RECHECK_BUSY: jiff::SignedDuration = jiff::SignedDuration::from_secs(5);

/// Runs jobs until asked to stop.
pub struct Runner {
    jobs: Vec<Arc<dyn Job>>,
    leases: Arc<dyn JobLeases>,
    clock: Arc<dyn Clock>,
    holder: String,
    commits: Option<watch::Receiver<u64>>,
}

impl Runner {
    /// A runner whose shared jobs take their leases in `leases`, under a name of its own.
    pub fn new(leases: Arc<dyn JobLeases>, clock: Arc<dyn Clock>) -> Self {
        Self {
            jobs: Vec::new(),
            leases,
            clock,
            holder: format!("{}-{:016x}", std::process::id(), rand::random::<u64>()),
            commits: None,
        }
    }

    /// Wakes the jobs that read the change log when a write commits (see
    /// [`Job::reads_changes`]).
    pub fn woken_by(mut self, commits: Option<watch::Receiver<u64>>) -> Self {
        self.commits = commits;
        self
    }

    /// The name this runner holds leases under.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn with(mut self, job: impl Job + 'static) -> Self {
        self.jobs.push(Arc::new(job));
        self
    }

    pub fn with_all(mut self, jobs: Vec<Arc<dyn Job>>) -> Self {
        self.jobs.extend(jobs);
        self
    }

    /// Starts every job, each in its own task.
    pub fn start(self) -> Running {
        let (stop, watch) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for job in self.jobs {
            let lease = (job.scope() == Scope::Shared).then(|| Lease {
                leases: self.leases.clone(),
                clock: self.clock.clone(),
                job: job.name(),
                holder: self.holder.clone(),
                ttl: LEASE_MIN.max(job.every() * 4),
                held_until: None,
                busy_until: None,
            });
            let commits = self.commits.clone().filter(|_| job.reads_changes());
            tasks.spawn(drive(job, lease, watch.clone(), commits));
        }
        Running { stop, tasks }
    }
}

/// Jobs that are running.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Asks every job to stop and waits until each has finished its round in progress.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn drive(
    job: Arc<dyn Job>,
    mut lease: Option<Lease>,
    mut stop: watch::Receiver<bool>,
    mut commits: Option<watch::Receiver<u64>>,
) {
    // Woken by commits, the job asks unprompted only now and then; its own pause is then
    // the least time between rounds, so that a burst of writes is read in batches.
    let pause = if commits.is_some() {
        UNPROMPTED.max(job.every())
    } else {
        job.every()
    };
    let mut tick = tokio::time::interval(pause);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_round: Option<tokio::time::Instant> = None;
    // The last round left work: the next one runs at once, neither waiting for the tick
    // (a timer reset to now fires on the timer's next turn, after a commit of the round
    // itself would have woken the job) nor for a pause.
    let mut again = false;
    loop {
        if again && !*stop.borrow() {
            again = false;
        } else if !wait_for_round(&job, &mut tick, &mut stop, commits.as_mut(), last_round).await {
            break;
        }
        if *stop.borrow() {
            break;
        }
        last_round = Some(tokio::time::Instant::now());
        if let Some(lease) = lease.as_mut() {
            match lease.hold().await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(job = job.name(), error = %e, "job lease unavailable");
                    continue;
                }
            }
        }
        match job.run_once().await {
            Ok(r) => {
                if r.did_work() && job.loud() {
                    tracing::info!(job = job.name(), "{r}");
                } else if r.did_work() {
                    tracing::debug!(job = job.name(), "{r}");
                }
                if r.more {
                    again = true;
                    tick.reset();
                }
            }
            Err(e) => tracing::warn!(job = job.name(), error = %e, "job round failed"),
        }
    }
    if let Some(lease) = lease {
        lease.release().await;
    }
}

/// Waits for a job's next round: its tick, or a commit (then at least its pause after the
/// last round). False when asked to stop.
async fn wait_for_round(
    job: &Arc<dyn Job>,
    tick: &mut tokio::time::Interval,
    stop: &mut watch::Receiver<bool>,
    mut commits: Option<&mut watch::Receiver<u64>>,
    last_round: Option<tokio::time::Instant>,
) -> bool {
    // The round itself is not raced against the stop: it finishes, then the loop ends.
    let woken = async {
        match commits.as_deref_mut() {
            Some(c) => {
                if c.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    };
    let was_woken = tokio::select! {
        biased;
        _ = stop.changed() => return false,
        _ = tick.tick() => false,
        _ = woken => true,
    };
    if was_woken && let Some(at) = last_round {
        tokio::select! {
            biased;
            _ = stop.changed() => return false,
            _ = tokio::time::sleep_until(at + job.every()) => {}
        }
    }
    true
}

/// This runner's view of one shared job's lease.
struct Lease {
    leases: Arc<dyn JobLeases>,
    clock: Arc<dyn Clock>,
    job: &'static str,
    holder: String,
    ttl: Duration,
    /// Until when this runner holds it.
    held_until: Option<jiff::Timestamp>,
    /// Until when another runner holds it (no use asking before).
    busy_until: Option<jiff::Timestamp>,
}

impl Lease {
    /// Whether this runner may run a round now: it holds the lease, renewing it when half
    /// of it is gone, or takes it when it is free.
    async fn hold(&mut self) -> Result<bool, AppError> {
        let now = self.clock.now();
        let ttl = jiff::SignedDuration::try_from(self.ttl)
            .map_err(|e| AppError::Internal(format!("lease length: {e}")))?;
        if let Some(until) = self.held_until
            && until.duration_since(now) > ttl / 2
        {
            return Ok(true);
        }
        if let Some(until) = self.busy_until
            && now < until
        {
            return Ok(false);
        }
        let until = now + ttl;
        let state = self
            .leases
            .take_lease(self.job, &self.holder, now, until)
            .await?;
        Ok(match state {
            LeaseState::Held => {
                self.held_until = Some(until);
                self.busy_until = None;
                true
            }
            LeaseState::HeldBy { until: theirs, .. } => {
                self.held_until = None;
                // Asked again after a few seconds at most: a holder that stopped gracefully
                // gave the lease up before its time ran out.
                self.busy_until = Some(theirs.min(now + RECHECK_BUSY));
                false
            }
        })
    }

    async fn release(self) {
        if self.held_until.is_some()
            && let Err(e) = self.leases.release_lease(self.job, &self.holder).await
        {
            tracing::warn!(job = self.job, error = %e, "job lease not released");
        }
    }
}

#[cfg(test)]
mod tests;
