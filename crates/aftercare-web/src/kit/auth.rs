//! Who is asking: a session cookie (pages, with CSRF tokens on every form) or a bearer
//! API token (scripts). Also the caller's language.

use crate::AppState;
use crate::error::ApiError;
use aftercare_app::service::Principal;
use aftercare_domain::lang::Lang;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

pub const SESSION_COOKIE: &str = "aftercare_session";
pub const LANG_COOKIE: &str = "aftercare_lang";

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    header_cookie(&parts.headers, name)
}

fn header_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language for this request: the user's choice, else a cookie, else the browser's.
pub fn request_lang(parts: &Parts, user: Option<&str>) -> Lang {
    headers_lang(&parts.headers, user)
}

/// The language a request asks for before anyone is signed in (cookie, then browser).
pub fn request_lang_of(req: &axum::extract::Request) -> Lang {
    headers_lang(req.headers(), None)
}

fn headers_lang(headers: &HeaderMap, user: Option<&str>) -> Lang {
    user.and_then(Lang::from_tag)
        .or_else(|| header_cookie(headers, LANG_COOKIE).and_then(Lang::from_tag))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// A signed-in user of the pages, with the session's CSRF token.
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub lang: Lang,
    pub secret: String,
    /// What the action before this page did (`?done=saved`), for a short confirmation.
    pub done: Option<&'static str>,
}

/// The confirmations a page may show after an action: `?done=` takes only these.
pub const DONE: &[&str] = &["saved", "created", "merged"];

/// Pages redirect to the login page when there is no session.
pub struct LoginRedirect;

impl axum::response::IntoResponse for LoginRedirect {
    fn into_response(self) -> axum::response::Response {
        axum::response::Redirect::to("/login").into_response()
    }
}

impl<S> FromRequestParts<S> for Session
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = LoginRedirect;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let secret = cookie(parts, SESSION_COOKIE)
            .ok_or(LoginRedirect)?
            .to_string();
        let (principal, csrf) = state
            .app
            .session(&secret)
            .await
            .ok()
            .flatten()
            .ok_or(LoginRedirect)?;
        let lang = request_lang(parts, principal.user.lang.as_deref());
        let done = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "done")
                .and_then(|(_, v)| DONE.iter().find(|d| **d == v).copied())
        });
        Ok(Session {
            principal,
            csrf,
            lang,
            secret,
            done,
        })
    }
}

/// The caller's language, for pages without a session.
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(request_lang(parts, None)))
    }
}

/// An API caller: a bearer token, or a browser session that sends its CSRF token in
/// `X-CSRF-Token` for anything but GET.
pub struct ApiCaller {
    pub principal: Principal,
    pub lang: Lang,
}

impl<S> FromRequestParts<S> for ApiCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let lang0 = request_lang(parts, None);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            let p = state
                .app
                .token_principal(token)
                .await
                .map_err(|e| ApiError::from_app(e, lang0))?;
            let p =
                p.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, lang0, "unauthenticated"))?;
            let lang = request_lang(parts, p.user.lang.as_deref());
            crate::error::set_caller_lang(lang);
            return Ok(ApiCaller { principal: p, lang });
        }
        if let Some(secret) = cookie(parts, SESSION_COOKIE) {
            let found = state
                .app
                .session(secret)
                .await
                .map_err(|e| ApiError::from_app(e, lang0))?;
            if let Some((p, csrf)) = found {
                let lang = request_lang(parts, p.user.lang.as_deref());
                if parts.method != axum::http::Method::GET {
                    let sent = parts
                        .headers
                        .get("x-csrf-token")
                        .and_then(|v| v.to_str().ok());
                    if sent != Some(csrf.as_str()) {
                        return Err(ApiError::new(StatusCode::FORBIDDEN, lang, "csrf"));
                    }
                }
                crate::error::set_caller_lang(lang);
                return Ok(ApiCaller { principal: p, lang });
            }
        }
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            lang0,
            "unauthenticated",
        ))
    }
}

/// The client's address, as found once per request by [`note_client_address`].
#[derive(Clone)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Finds who is asking and notes it on the request: the connection's peer, unless that
/// peer is a trusted reverse proxy; then the nearest address in `X-Forwarded-For` that is
/// not a trusted proxy itself. Without trusted proxies the header is ignored (anyone can
/// write it).
pub fn note_client_address(req: &mut axum::extract::Request, trusted: &[ipnet::IpNet]) {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let address = client_address(peer, req.headers(), trusted);
        req.extensions_mut().insert(ClientAddress(address));
    }
}

/// The client behind `peer`, trusting `X-Forwarded-For` only as far as `trusted` goes.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Each proxy appends the address it got the request from: read from the right,
    // past our own proxies, to the first address they did not add for themselves.
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|a| !is_trusted(a))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// The client address for login throttling.
pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddress>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client's address (for login throttling), as an extractor.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn the_client_is_found_past_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxies: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // No trusted proxy: the header is anyone's to write and is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), &forwarded("1.2.3.4"), &[]),
            ip("203.0.113.9")
        );
        // An untrusted peer's header is ignored too.
        assert_eq!(
            client_address(ip("203.0.113.9"), &forwarded("1.2.3.4"), &proxies),
            ip("203.0.113.9")
        );
        // Behind our proxies: the nearest address they did not add for themselves, not a
        // spoofed one the client put first.
        assert_eq!(
            client_address(
                ip("10.0.0.5"),
                &forwarded("6.6.6.6, 198.51.100.7, 10.0.0.9"),
                &proxies
            ),
            ip("198.51.100.7")
        );
        // A proxy that forwards nothing: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), &HeaderMap::new(), &proxies),
            ip("10.0.0.5")
        );
    }
}
