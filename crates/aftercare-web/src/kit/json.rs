//! The API's request kit: JSON bodies and queries whose rejections come back in the API's
//! error shape, and idempotent creation.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// A JSON body whose rejections (bad JSON, wrong types, unknown fields, too large) come
/// back in the API's error shape and the caller's language.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = crate::auth::request_lang_of(&req);
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                lang,
                "unsupported_media_type",
            ));
        }
        let bytes = match Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    lang,
                    "payload_too_large",
                ));
            }
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    lang,
                    "malformed_json",
                ));
            }
        };
        // Control characters (a NUL above all: PostgreSQL cannot store it) are refused at
        // the door, naming the field, on every database alike. JSON can only carry them
        // escaped, so a body without `\u00` escapes needs no closer look.
        if bytes.windows(4).any(|w| w == b"\\u00")
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(field) = control_character_at(&v, String::new())
        {
            return Err(ApiError::from_app(
                aftercare_domain::Invalid::one(field, "control_character").into(),
                lang,
            ));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match &rej {
                JsonRejection::JsonSyntaxError(_) => {
                    ApiError::new(StatusCode::BAD_REQUEST, lang, "malformed_json")
                }
                JsonRejection::JsonDataError(e) => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, lang, "invalid_body")
                        .with_detail(&e.body_text())
                }
                _ => ApiError::new(StatusCode::BAD_REQUEST, lang, "malformed_json"),
            }),
        }
    }
}

/// `application/json` or a `+json` type, as axum's own extractor accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The path (`name`, `phones[0].number`) of the first string, or key, in `v` with a
/// control character.
fn control_character_at(v: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => aftercare_domain::error::has_control_character(s).then_some(at),
        Value::Array(xs) => xs
            .iter()
            .enumerate()
            .find_map(|(i, x)| control_character_at(x, format!("{at}[{i}]"))),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if aftercare_domain::error::has_control_character(k) {
                Some(here)
            } else {
                control_character_at(x, here)
            }
        }),
        _ => None,
    }
}

/// Query parameters whose rejections come back in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some((field, code)) = parts.uri.query().and_then(query_refusal) {
            let lang = crate::auth::request_lang(parts, None);
            return Err(ApiError::from_app(
                aftercare_domain::Invalid::one(field, code).into(),
                lang,
            ));
        }
        match <Query<T> as axum::extract::FromRequestParts<S>>::from_request_parts(parts, state)
            .await
        {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let lang = crate::auth::request_lang(parts, None);
                Err(
                    ApiError::new(StatusCode::BAD_REQUEST, lang, "invalid_query")
                        .with_detail(&e.body_text()),
                )
            }
        }
    }
}

/// What the kit refuses in a query string before it is read, in one pass: a control
/// character in a name or value (first), or `limit=0` (a page of nothing is not a page;
/// it is refused rather than read as 1).
fn query_refusal(q: &str) -> Option<(String, &'static str)> {
    use aftercare_domain::error::has_control_character;
    let mut page_of_nothing = false;
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if has_control_character(&k) || has_control_character(&v) {
            return Some((k.into_owned(), "control_character"));
        }
        page_of_nothing |= k == "limit" && v.trim().parse::<u64>() == Ok(0);
    }
    page_of_nothing.then(|| ("limit".to_owned(), "out_of_range"))
}

/// Path parameters whose rejections (an id that is not a number) come back in the API's
/// error shape, like every other error, instead of axum's plain text.
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => {
                let lang = crate::auth::request_lang(parts, None);
                // The framework's own text is English and names Rust types: the caller
                // gets the code and a sentence in their language instead.
                tracing::debug!(rejection = %e.body_text(), "invalid path");
                Err(ApiError::new(StatusCode::BAD_REQUEST, lang, "invalid_path"))
            }
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The id of something created.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Runs a creation once per `Idempotency-Key`: a retry with the same key and body gets the
/// first answer again; the same key with another body is refused. The record the creation
/// makes (of kind `entity`, as the audit log names it) is written under the key in the
/// creation's own transaction: after a crash between creating and answering, a retry gets
/// the record that was made, never a second one.
pub(crate) async fn idempotent<F, Fut, Id>(
    state: &AppState,
    c: &ApiCaller,
    headers: &HeaderMap,
    entity: &'static str,
    body: &impl Serialize,
    f: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ApiResult<Id>>,
    Id: Into<i64>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        let id = f().await?.into();
        return Ok((StatusCode::CREATED, Json(Created { id })).into_response());
    };
    // The parsed input, as canonical JSON: the same request however its body was spelled
    // (key order, spacing, escapes), a different one whenever a value differs.
    let canonical = serde_json::to_value(body)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| {
            ApiError::from_app(
                aftercare_app::AppError::Internal(format!("idempotency: {e}")),
                c.lang,
            )
        })?;
    let hash = hex::encode(Sha256::digest(canonical));
    let uid = c.principal.user.id;
    let app = &state.app;
    let now = app.clock.now();
    let stale = now - std::time::Duration::from_secs(60);
    let store_err = |e: aftercare_app::StoreError| ApiError::from_app(e.into(), c.lang);
    if let Some((h, status, stored)) = app
        .store
        .idempotent_claim(uid, key, &hash, now, stale)
        .await
        .map_err(store_err)?
    {
        if h != hash {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                c.lang,
                "idempotency_key_reused",
            ));
        }
        if status == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                c.lang,
                "idempotency_key_in_progress",
            ));
        }
        let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
        return Ok((status, [("idempotent-replayed", "true")], Json(body)).into_response());
    }
    let mark = aftercare_app::ports::IdempotencyMark {
        key: key.to_owned(),
        entity,
    };
    match aftercare_app::ports::IDEMPOTENCY.scope(mark, f()).await {
        Ok(id) => {
            let id = id.into();
            let body = serde_json::to_string(&Created { id }).unwrap_or_default();
            // If storing the answer fails the creation still stands; the caller gets it.
            if let Err(e) = app.store.idempotent_finish(uid, key, 201, &body).await {
                tracing::warn!(error = %e, "could not store the answer of an idempotency key");
            }
            Ok((StatusCode::CREATED, Json(Created { id })).into_response())
        }
        Err(e) => {
            if let Err(e) = app.store.idempotent_release(uid, key).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            Err(e)
        }
    }
}
