//! Aftercare's web layer: staff pages (askama) and the REST API (JSON + OpenAPI).

pub mod api;
pub mod auth;
pub mod desk_api;
pub mod desk_ui;
pub mod error;
pub mod feedback_api;
pub mod i18n;
mod i18n_desk;
mod i18n_value;
mod i18n_voc;
pub mod portal;
pub mod portal_api;
pub mod survey_ui;
pub mod transfer;
pub mod ui;
pub mod value_api;
pub mod value_ui;
pub mod voc_ui;

use aftercare_app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::future::Future;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// The largest request body accepted (imports are the largest bodies).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The largest JSON body the API accepts.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// The whole application: pages, API, API docs, health check and static files.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::routes();
    let spec = openapi.clone();
    Router::new()
        .merge(ui::routes())
        .merge(portal::routes())
        .merge(survey_ui::routes())
        .merge(transfer::routes())
        .merge(api.layer(DefaultBodyLimit::max(JSON_LIMIT)))
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(spec.clone()) }),
        )
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json.ui", openapi))
        .route("/healthz", get(healthz))
        .route("/static/app.css", get(css))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Answers 200 when the database answers, 503 when it does not.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s.app.health().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// How often the SLA sweep runs in a server.
pub const SLA_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The server's background work: the SLA sweep every [`SLA_SWEEP_EVERY`]. A failed round
/// is logged and the next one tries again.
pub fn spawn_workers(app: &App) {
    let sweeper = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SLA_SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweeper.sla_sweep().await {
                Ok(r) if r.examined > 0 => tracing::info!(
                    examined = r.examined,
                    warnings = r.warnings,
                    response_breaches = r.response_breaches,
                    resolution_breaches = r.resolution_breaches,
                    escalations = r.escalations,
                    "SLA sweep"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SLA sweep failed"),
            }
        }
    });
    let scorer = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(VALUE_REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match scorer.refresh_values().await {
                Ok(r) if r.customers > 0 => {
                    tracing::debug!(customers = r.customers, events = r.events, "value refresh")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "value refresh failed"),
            }
        }
    });
    let listener = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FEEDBACK_CAPTURE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match listener.capture_feedback().await {
                Ok(c) if c.items > 0 => {
                    tracing::debug!(items = c.items, events = c.events, "feedback capture")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "feedback capture failed"),
            }
        }
    });
    if app.search.is_some() {
        let indexer = app.clone();
        tokio::spawn(async move {
            // An index that was never built (or whose rebuild broke off) over a database
            // that has data is rebuilt first; after that the change log keeps it fresh.
            match (
                indexer.search_cursor().await,
                indexer.store.latest_event_id().await,
            ) {
                (Ok(c), Ok(latest)) if c <= 0 && latest > 0 => {
                    tracing::info!("building the search index");
                    match indexer.reindex(&|_| {}).await {
                        Ok(n) => tracing::info!(documents = n, "search index built"),
                        Err(e) => tracing::warn!(error = %e, "search index build failed"),
                    }
                }
                (Err(e), _) => tracing::warn!(error = %e, "search index unreadable"),
                _ => {}
            }
            let mut tick = tokio::time::interval(SEARCH_REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match indexer.refresh_search().await {
                    Ok(r) if r.indexed + r.removed > 0 => {
                        tracing::debug!(indexed = r.indexed, removed = r.removed, "search refresh")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "search refresh failed"),
                }
            }
        });
    }
    let surveyor = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SURVEY_ROUND_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match surveyor.survey_round().await {
                Ok(r) if r.created + r.reminded > 0 => tracing::info!(
                    created = r.created,
                    mailed = r.mailed,
                    quiet = r.quiet,
                    reminded = r.reminded,
                    "surveys"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "survey round failed"),
            }
        }
    });
}

/// How often changes reach the search index.
pub const SEARCH_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(300);

/// How often surveys are sent for new occasions and reminded.
pub const SURVEY_ROUND_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How often what customers said elsewhere (requests, replies, calls, visits) is taken in
/// as feedback.
pub const FEEDBACK_CAPTURE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the customers touched by the change log are scored again.
pub const VALUE_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How often the outbox is delivered.
pub const MAIL_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Delivers the outbox every [`MAIL_EVERY`] through `mailer`.
pub fn spawn_mail_worker(app: &App, mailer: std::sync::Arc<dyn aftercare_app::ports::Mailer>) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MAIL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match app.deliver_outbox(mailer.as_ref()).await {
                Ok(d) if d.sent + d.failed > 0 => {
                    tracing::info!(sent = d.sent, failed = d.failed, "outbox")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox delivery failed"),
            }
        }
    });
}
