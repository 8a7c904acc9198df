//! Aftercare's web layer: staff pages (askama) and the REST API (JSON + OpenAPI).

pub mod api;
pub mod i18n;
mod i18n_campaign;
mod i18n_care;
mod i18n_desk;
mod i18n_journey;
mod i18n_network;
mod i18n_value;
mod i18n_voc;
pub mod kit;
pub mod pages;
pub mod timeline_text;

pub use kit::{auth, error};

use aftercare_app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Reverse proxies whose `X-Forwarded-For` is believed (none by default): the client
    /// address sign-in throttling counts is the first one before them.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            trusted_proxies: Arc::new([]),
        }
    }

    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = proxies.into();
        self
    }
}

/// The largest request body accepted (imports are the largest bodies).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The largest JSON body the API accepts.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// The whole application: pages, API, API docs, health check and static files, inside
/// the middleware every request passes once.
///
/// The middleware wraps the router as one service instead of being added with
/// `Router::layer`, which wraps every route in each layer separately: a request then
/// cloned and boxed nine nested services (about 37,500 instructions, 13 % of a customer
/// search; docs/benchmarks.md, "Where a request's CPU goes").
pub fn router(state: AppState) -> impl WebService {
    let trusted = state.trusted_proxies.clone();
    let (api, openapi) = api::routes();
    let spec = openapi.clone();
    let routes = Router::new()
        .merge(pages::routes())
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(spec.clone()) }),
        )
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json.ui", openapi))
        .route("/healthz", get(healthz))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(trusted, every_request))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .service(routes)
}

/// What every request goes through, in one step: the client's address is noted, the
/// caller's language gets its slot, and the answer gets the headers every answer carries
/// unless it set them itself: `no-store` unless it says how it may be cached (signed-in
/// pages and API answers hold personal data that must not stay in a shared browser's
/// cache), no framing (clickjacking), no content sniffing, no referrer to other sites,
/// and the content security policy.
async fn every_request(
    State(trusted): State<Arc<[ipnet::IpNet]>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    auth::note_client_address(&mut req, &trusted);
    let mut answer = error::with_caller_lang(req, next).await;
    let headers = answer.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    answer
}

/// The application as one service: what [`router`] builds and [`serve`] serves.
pub trait WebService:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
}

impl<T> WebService for T where
    T: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + 'static
{
}

/// The content security policy: everything from this server only (no CDN, no other
/// origin), no framing, no plugins. Scripts and styles may be inline: the pages and the
/// vendored API docs carry small inline scripts, and nothing outside this origin may load.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

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

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.js"),
    )
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: impl WebService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(web),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
