//! The application's own background jobs, each a thin wrapper over one use case.

use super::{Job, Round, Scope};
use crate::error::AppError;
use crate::ports::Mailer;
use crate::service::App;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Every job a server runs: the SLA sweep, value refresh, feedback capture, surveys, the
/// text model's sync, unfinished imports, certificate warnings and scorecard figures; search indexing when the app has an index; mail delivery when
/// there is a mailer.
pub fn app_jobs(app: &App, mailer: Option<Arc<dyn Mailer>>) -> Vec<Arc<dyn Job>> {
    let mut jobs: Vec<Arc<dyn Job>> = vec![
        Arc::new(SlaSweep(app.clone())),
        Arc::new(ValueRefresh(app.clone())),
        Arc::new(FeedbackCapture(app.clone())),
        Arc::new(Surveys(app.clone())),
        Arc::new(Campaigns(app.clone())),
        Arc::new(TextModelSync(app.clone())),
        Arc::new(ImportResume(app.clone())),
        Arc::new(CertificateWarnings(app.clone())),
        Arc::new(ScorecardRefresh(app.clone())),
    ];
    if app.search.is_some() {
        jobs.push(Arc::new(SearchIndexing::new(app.clone())));
    }
    if let Some(mailer) = mailer {
        jobs.push(Arc::new(OutboxDelivery {
            app: app.clone(),
            mailer,
        }));
    }
    jobs
}

/// Warns of and escalates SLA breaches.
pub struct SlaSweep(pub App);

#[async_trait]
impl Job for SlaSweep {
    fn name(&self) -> &'static str {
        "sla_sweep"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(30)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let r = self.0.sla_sweep().await?;
        let n = |v: i64| v.max(0) as usize;
        Ok(Round::default()
            .count("examined", n(r.examined))
            .count("warnings", n(r.warnings))
            .count("response_breaches", n(r.response_breaches))
            .count("resolution_breaches", n(r.resolution_breaches))
            .count("escalations", n(r.escalations)))
    }
}

/// Tells holders and managers of certificates about to run out.
pub struct CertificateWarnings(pub App);

#[async_trait]
impl Job for CertificateWarnings {
    fn name(&self) -> &'static str {
        "certificate_warnings"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let n = self.0.warn_expiring_certificates().await?;
        Ok(Round::default().count("warned", n))
    }
}

/// Sums again the scorecard months whose figures changed, so that scorecards open fast.
pub struct ScorecardRefresh(pub App);

#[async_trait]
impl Job for ScorecardRefresh {
    fn name(&self) -> &'static str {
        "scorecard_refresh"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(300)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let n = self.0.refresh_scorecards().await?;
        Ok(Round::default().count("months", n))
    }
}

/// Carries on import runs a crash or a stop left unfinished.
pub struct ImportResume(pub App);

#[async_trait]
impl Job for ImportResume {
    fn name(&self) -> &'static str {
        "import_resume"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let rows = self.0.resume_imports().await?;
        Ok(Round::default().count("rows", rows))
    }
}

/// Sends the outbox.
pub struct OutboxDelivery {
    pub app: App,
    pub mailer: Arc<dyn Mailer>,
}

#[async_trait]
impl Job for OutboxDelivery {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(5)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let d = self.app.deliver_outbox(self.mailer.as_ref()).await?;
        Ok(Round::default()
            .count("sent", d.sent)
            .count("failed", d.failed))
    }
}

/// Scores again the customers the change log touched.
pub struct ValueRefresh(pub App);

#[async_trait]
impl Job for ValueRefresh {
    fn name(&self) -> &'static str {
        "value_refresh"
    }
    fn reads_changes(&self) -> bool {
        true
    }
    fn every(&self) -> Duration {
        Duration::from_millis(250)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    fn loud(&self) -> bool {
        false
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let r = self.0.refresh_values().await?;
        Ok(Round::default()
            .count("events", r.events)
            .count("customers", r.customers)
            .more(r.more))
    }
}

/// Takes in as feedback what customers said elsewhere (requests, replies, calls, visits).
pub struct FeedbackCapture(pub App);

#[async_trait]
impl Job for FeedbackCapture {
    fn name(&self) -> &'static str {
        "feedback_capture"
    }
    fn reads_changes(&self) -> bool {
        true
    }
    fn every(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    fn loud(&self) -> bool {
        false
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let c = self.0.capture_feedback().await?;
        Ok(Round::default()
            .count("events", c.events)
            .count("items", c.items)
            .more(c.more))
    }
}

/// Sends surveys for new occasions and reminds unanswered ones.
pub struct Surveys(pub App);

#[async_trait]
impl Job for Surveys {
    fn name(&self) -> &'static str {
        "surveys"
    }
    fn reads_changes(&self) -> bool {
        true
    }
    fn every(&self) -> Duration {
        Duration::from_secs(5)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let r = self.0.survey_round().await?;
        Ok(Round::default()
            .count("created", r.created)
            .count("mailed", r.mailed)
            .count("quiet", r.quiet)
            .count("rated", r.rated)
            .count("pressure", r.pressure)
            .count("reminded", r.reminded)
            .more(r.more))
    }
}

/// Keeps this server's search index up to date from the change log. An index that was
/// never built (or whose rebuild broke off) over a database that has data is rebuilt
/// in the first round.
pub struct SearchIndexing {
    app: App,
    checked: AtomicBool,
}

impl SearchIndexing {
    pub fn new(app: App) -> Self {
        Self {
            app,
            checked: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl Job for SearchIndexing {
    fn name(&self) -> &'static str {
        "search_index"
    }
    fn reads_changes(&self) -> bool {
        true
    }
    fn every(&self) -> Duration {
        Duration::from_millis(300)
    }
    fn scope(&self) -> Scope {
        Scope::PerServer
    }
    fn loud(&self) -> bool {
        false
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        // Looked at once: a build that fails is logged, not retried every round (an index
        // left mid-rebuild refreshes nothing until `aftercare reindex`).
        if !self.checked.swap(true, Ordering::Relaxed) {
            let cursor = self.app.search_cursor().await?;
            if cursor <= 0 && self.app.store.latest_event_id().await? > 0 {
                tracing::info!("building the search index");
                let n = self.app.reindex(&|_| {}).await?;
                tracing::info!(documents = n, "search index built");
                return Ok(Round::default().count("rebuilt", n as usize));
            }
        }
        let r = self.app.refresh_search().await?;
        Ok(Round::default()
            .count("indexed", r.indexed)
            .count("removed", r.removed)
            .more(r.more))
    }
}

/// Runs the campaigns: segment members not reached yet, items whose guarantee ends soon,
/// requests resolved since the last round.
pub struct Campaigns(pub App);

#[async_trait]
impl Job for Campaigns {
    fn name(&self) -> &'static str {
        "campaigns"
    }
    fn reads_changes(&self) -> bool {
        true
    }
    /// Every second: a step on an event (a request resolved) follows it within seconds.
    /// An idle round reads the budget, the running campaigns, the change log's tail and
    /// each stepped campaign's due journeys (an index read); sweeps of
    /// segments and items come every ten minutes.
    fn every(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    fn loud(&self) -> bool {
        false
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let r = self.0.campaign_round().await?;
        let n = |v: u64| v as usize;
        Ok(Round::default()
            .count("quiet", usize::from(r.quiet))
            .count("events", r.events)
            .count("sent", n(r.counts.sent))
            .count("held_out", n(r.counts.held_out))
            .count("no_consent", n(r.counts.no_consent))
            .count("no_address", n(r.counts.no_address))
            .count("pressure", n(r.counts.pressure))
            .count("journeys", n(r.journeys))
            .count("failed", r.failed)
            .more(r.more))
    }
}

/// Builds this server's text analyser in its first round, at the server's start, then
/// brings it up to date with the corrections and dictionary words staff stored on any
/// server.
pub struct TextModelSync(pub App);

#[async_trait]
impl Job for TextModelSync {
    fn name(&self) -> &'static str {
        "text_model_sync"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn scope(&self) -> Scope {
        Scope::PerServer
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        // Building it takes about a second of CPU (the dictionary, the training texts):
        // done at the start, it is neither the first reader's wait nor a cost that lands
        // on the requests served while it runs.
        if !self.0.text_model_built() {
            self.0.analyzer().await?;
            return Ok(Round::default().count("built", 1));
        }
        let changed = self.0.sync_text_model().await?;
        Ok(Round::default().count("retrained", usize::from(changed)))
    }
}
