//! Signing in and out, and choosing the interface language.

use crate::AppState;
use crate::auth::{LANG_COOKIE, ReqLang, SESSION_COOKIE, client_ip};
use crate::i18n::Tr;
use crate::kit::page::*;
use aftercare_app::AppError;
use aftercare_domain::lang::Lang;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(start_page))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", post(set_lang))
}

/// Each role starts where its work is: technicians on their day, agents on their queue,
/// managers and administrators on the service dashboard, marketers and analysts on
/// customer value, product managers on the voice of the customer.
pub(crate) fn start_of(role: aftercare_domain::account::Role) -> &'static str {
    use aftercare_domain::account::Role::*;
    match role {
        Technician => "/visits/day",
        Agent => "/requests",
        Manager | Admin => "/dashboard",
        Marketer | Analyst => "/value",
        ProductManager => "/feedback/dashboard",
    }
}

async fn start_page(session: crate::auth::Session) -> Redirect {
    Redirect::to(start_of(session.principal.role))
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    tr: Tr,
    email: String,
    error: Option<String>,
}

pub(crate) async fn login_page(ReqLang(lang): ReqLang) -> Response {
    render(LoginPage {
        tr: Tr(lang),
        email: String::new(),
        error: None,
    })
}

pub(crate) async fn login_submit(
    State(s): State<AppState>,
    ReqLang(lang): ReqLang,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts);
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let f = FormData::parse(&body);
    let email = f.s("email");
    match s.app.login(&email, &f.s("password"), &ip).await {
        Ok((secret, _, _)) => (
            [(
                header::SET_COOKIE,
                secure_cookie(SESSION_COOKIE, &secret, 14 * 24 * 3600),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Err(e) => {
            let key = if matches!(e, AppError::Throttled) {
                "login.throttled"
            } else {
                "login.failed"
            };
            if let AppError::Internal(m) = &e {
                tracing::error!(error = %m, "login failed");
            }
            let status = if matches!(e, AppError::Throttled) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                status,
                render(LoginPage {
                    tr: Tr(lang),
                    email,
                    error: Some(Tr(lang).t(key)),
                }),
            )
                .into_response()
        }
    }
}

pub(crate) async fn logout(State(s): State<AppState>, CsrfForm(session, _): CsrfForm) -> Response {
    let _ = s.app.logout(&session.secret).await;
    (
        [(header::SET_COOKIE, secure_cookie(SESSION_COOKIE, "", 0))],
        Redirect::to("/login"),
    )
        .into_response()
}

/// Switches the interface language for this user (and this browser).
pub(crate) async fn set_lang(
    State(s): State<AppState>,
    headers: HeaderMap,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let lang = f.get("lang").and_then(Lang::from_tag);
    if let Err(e) = s.app.set_lang(&session.principal, lang).await {
        return page_error(e, session.lang);
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        })
        .unwrap_or_else(|| "/".into());
    let code = lang.map(Lang::code).unwrap_or("");
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={code}; Path=/; SameSite=Lax; Max-Age=31536000"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}
