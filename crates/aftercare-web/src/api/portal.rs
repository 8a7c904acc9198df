//! The customer portal's API under `/api/v1/portal`, for apps and mini-programs: the same
//! use cases as the portal pages. A customer signs up or signs in and gets a bearer token
//! (a portal session); every call reaches only that customer's own records.

use crate::AppState;
use crate::auth::request_lang;
use crate::error::{ApiError, ErrorBody};
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Created};
use aftercare_app::desk::RatingInput;
use aftercare_app::desk_model::{Article, PortalRequest, RequestRow};
use aftercare_app::model::Asset;
use aftercare_app::portal::*;
use aftercare_app::ports::PortalAccount;
use aftercare_domain::RequestId;
use aftercare_domain::lang::Lang;
use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(confirm_signup))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(sign_in))
        .routes(routes!(my_assets, register_asset))
        .routes(routes!(my_requests, open_request))
        .routes(routes!(my_request))
        .routes(routes!(write_message))
        .routes(routes!(rate))
        .routes(routes!(slots, book_slot))
        .routes(routes!(help))
}

/// A signed-in customer calling the API with their portal token.
pub struct PortalCaller {
    pub account: PortalAccount,
    pub lang: Lang,
}

impl<S> FromRequestParts<S> for PortalCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let lang = request_lang(parts, None);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with("p_"))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, lang, "unauthenticated"))?;
        let (account, _) = state
            .app
            .portal_session(token)
            .await
            .map_err(|e| ApiError::from_app(e, lang))?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, lang, "unauthenticated"))?;
        Ok(PortalCaller { account, lang })
    }
}

macro_rules! err {
    ($c:expr) => {
        |e| ApiError::from_app(e, $c)
    };
}

/// A portal token: send it as `Authorization: Bearer <token>`; it lasts 30 days.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PortalToken {
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SignInInput {
    pub email: String,
    pub password: String,
}

/// Sign a new customer up. Nothing works until the customer opens the link mailed to the
/// address (valid 24 hours, once), which leads to `POST /portal/signup/confirm`. The
/// answer is the same whether or not the address is known: a known customer's address
/// gets the link too (the account is then theirs), an address with an account gets a mail
/// saying so.
#[utoipa::path(post, path = "/api/v1/portal/signup", tag = "portal", request_body = SignupInput,
    security(()), responses((status = 202, body = SignupSent), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn signup(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    ApiJson(input): ApiJson<SignupInput>,
) -> ApiResult<(StatusCode, Json<SignupSent>)> {
    s.app
        .portal_signup(&input, Some(lang.0.code()), &ip)
        .await
        .map_err(err!(lang.0))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignupSent {
            status: "confirmation_sent".into(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SignupSent {
    /// Always `confirmation_sent`.
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmInput {
    /// The `token` of the mailed link.
    pub token: String,
}

/// Finish a sign-up with the token from the mailed link; answers a portal token. A link
/// works once: used, expired or unknown is 422 `signup_link_invalid`.
#[utoipa::path(post, path = "/api/v1/portal/signup/confirm", tag = "portal", request_body = ConfirmInput,
    security(()), responses((status = 201, body = PortalToken), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_signup(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> ApiResult<(StatusCode, Json<PortalToken>)> {
    let (token, _) = s
        .app
        .portal_confirm_signup(&input.token)
        .await
        .map_err(err!(lang.0))?;
    Ok((StatusCode::CREATED, Json(PortalToken { token })))
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotInput {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetSent {
    /// Always `reset_sent`.
    pub status: String,
}

/// Ask for a password-reset link. When the address has a portal account, a link valid
/// for an hour (once) is mailed to it; the answer is the same whether or not it has one.
#[utoipa::path(post, path = "/api/v1/portal/password-reset", tag = "portal", request_body = ForgotInput,
    security(()), responses((status = 202, body = ResetSent), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn forgot_password(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    ApiJson(input): ApiJson<ForgotInput>,
) -> ApiResult<(StatusCode, Json<ResetSent>)> {
    s.app
        .portal_forgot_password(&input.email, Some(lang.0.code()), &ip)
        .await
        .map_err(err!(lang.0))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetSent {
            status: "reset_sent".into(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetInput {
    /// The `token` of the mailed link.
    pub token: String,
    pub password: String,
}

/// Set a new password with the token from the mailed link; every session of the account
/// ends and a new portal token is answered. A link works once: used, expired or unknown is
/// 422 `reset_link_invalid`.
#[utoipa::path(post, path = "/api/v1/portal/password-reset/confirm", tag = "portal", request_body = ResetInput,
    security(()), responses((status = 201, body = PortalToken), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    ApiJson(input): ApiJson<ResetInput>,
) -> ApiResult<(StatusCode, Json<PortalToken>)> {
    let (token, _) = s
        .app
        .portal_reset_password(&input.token, &input.password)
        .await
        .map_err(err!(lang.0))?;
    Ok((StatusCode::CREATED, Json(PortalToken { token })))
}

/// Sign a customer in (throttled after repeated failures); answers a portal token.
#[utoipa::path(post, path = "/api/v1/portal/sessions", tag = "portal", request_body = SignInInput,
    security(()), responses((status = 201, body = PortalToken), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn sign_in(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    ApiJson(input): ApiJson<SignInInput>,
) -> ApiResult<(StatusCode, Json<PortalToken>)> {
    let (token, _) = s
        .app
        .portal_login(&input.email, &input.password, &ip)
        .await
        .map_err(err!(lang.0))?;
    Ok((StatusCode::CREATED, Json(PortalToken { token })))
}

/// The customer's products with their warranty today.
#[utoipa::path(get, path = "/api/v1/portal/assets", tag = "portal",
    responses((status = 200, body = Vec<Asset>), (status = 401, body = ErrorBody)))]
async fn my_assets(State(s): State<AppState>, c: PortalCaller) -> ApiResult<Json<Vec<Asset>>> {
    s.app
        .portal_assets(&c.account)
        .await
        .map(Json)
        .map_err(err!(c.lang))
}

/// Register a product by its serial number; its warranty runs from the purchase day.
#[utoipa::path(post, path = "/api/v1/portal/assets", tag = "portal", request_body = RegisterInput,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register_asset(
    State(s): State<AppState>,
    c: PortalCaller,
    ApiJson(input): ApiJson<RegisterInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .app
        .portal_register(&c.account, &input)
        .await
        .map_err(err!(c.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// The customer's requests, newest first.
#[utoipa::path(get, path = "/api/v1/portal/requests", tag = "portal",
    responses((status = 200, body = Vec<RequestRow>)))]
async fn my_requests(
    State(s): State<AppState>,
    c: PortalCaller,
) -> ApiResult<Json<Vec<RequestRow>>> {
    s.app
        .portal_requests(&c.account)
        .await
        .map(Json)
        .map_err(err!(c.lang))
}

/// Open a request (repair, installation, maintenance, technical support, consultation,
/// exchange, return or complaint), optionally for one of the customer's products.
#[utoipa::path(post, path = "/api/v1/portal/requests", tag = "portal", request_body = PortalRequestInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn open_request(
    State(s): State<AppState>,
    c: PortalCaller,
    ApiJson(input): ApiJson<PortalRequestInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let (id, _) = s
        .app
        .portal_open_request(&c.account, &input)
        .await
        .map_err(err!(c.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// One of the customer's requests: status, public conversation, visits, rating.
#[utoipa::path(get, path = "/api/v1/portal/requests/{id}", tag = "portal", params(("id" = i64, Path, description = "The request's id")),
    responses((status = 200, body = PortalRequest), (status = 404, body = ErrorBody)))]
async fn my_request(
    State(s): State<AppState>,
    c: PortalCaller,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<PortalRequest>> {
    s.app
        .portal_request(&c.account, id)
        .await
        .map(Json)
        .map_err(err!(c.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct PortalMessageInput {
    /// May be empty when files are sent.
    #[serde(default)]
    pub body: String,
    /// Photos and files (at most 5, 10 MB each; images, PDF, text, Office, MP4).
    #[serde(default)]
    pub attachments: Vec<aftercare_app::desk::AttachmentInput>,
}

/// Write on a request; one that waited for the customer goes back to work.
#[utoipa::path(post, path = "/api/v1/portal/requests/{id}/messages", tag = "portal", params(("id" = i64, Path, description = "The request's id")), request_body = PortalMessageInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn write_message(
    State(s): State<AppState>,
    c: PortalCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<PortalMessageInput>,
) -> ApiResult<StatusCode> {
    s.app
        .portal_message(&c.account, id, &input.body, &input.attachments)
        .await
        .map_err(err!(c.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rate a resolved request, once: 1–5 stars and a comment.
#[utoipa::path(post, path = "/api/v1/portal/requests/{id}/rating", tag = "portal", params(("id" = i64, Path, description = "The request's id")), request_body = RatingInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rate(
    State(s): State<AppState>,
    c: PortalCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<RatingInput>,
) -> ApiResult<StatusCode> {
    s.app
        .portal_rate(&c.account, id, &input)
        .await
        .map_err(err!(c.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A visit slot: start and end (UTC).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub starts_at: String,
    pub ends_at: String,
}

/// The visit slots the customer may book on a request.
#[utoipa::path(get, path = "/api/v1/portal/requests/{id}/slots", tag = "portal", params(("id" = i64, Path, description = "The request's id")),
    responses((status = 200, body = Vec<Slot>), (status = 404, body = ErrorBody)))]
async fn slots(
    State(s): State<AppState>,
    c: PortalCaller,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<Vec<Slot>>> {
    let slots = s
        .app
        .portal_slots(&c.account, id)
        .await
        .map_err(err!(c.lang))?;
    Ok(Json(
        slots
            .into_iter()
            .map(|(starts_at, ends_at)| Slot { starts_at, ends_at })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct SlotChoice {
    /// One of the offered slots' `starts_at`.
    pub starts_at: String,
}

/// Book one of the offered slots with the request's technician.
#[utoipa::path(post, path = "/api/v1/portal/requests/{id}/slots", tag = "portal", params(("id" = i64, Path, description = "The request's id")), request_body = SlotChoice,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn book_slot(
    State(s): State<AppState>,
    c: PortalCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<SlotChoice>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .app
        .portal_book_slot(&c.account, id, &input.starts_at)
        .await
        .map_err(err!(c.lang))?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct HelpQuery {
    /// Words that must all appear (any of the three languages).
    q: Option<String>,
}

/// Published help articles (no sign-in needed).
#[utoipa::path(get, path = "/api/v1/portal/help", tag = "portal", params(HelpQuery),
    security(()), responses((status = 200, body = Vec<Article>)))]
async fn help(
    State(s): State<AppState>,
    lang: crate::auth::ReqLang,
    ApiQuery(q): ApiQuery<HelpQuery>,
) -> ApiResult<Json<Vec<Article>>> {
    s.app
        .help_articles(q.q.as_deref().unwrap_or(""))
        .await
        .map(Json)
        .map_err(err!(lang.0))
}
