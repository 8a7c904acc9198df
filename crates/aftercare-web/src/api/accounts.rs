//! The API of staff accounts and API tokens, and of the caller.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::kit::json::Path;
use crate::kit::json::*;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::ids::*;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(create_token))
        .routes(routes!(update_user))
        .routes(routes!(revoke_token))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = User)))]
pub(crate) async fn me(c: ApiCaller) -> Json<User> {
    Json(c.principal.user)
}

/// Staff accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses((status = 200, body = Vec<User>)))]
pub(crate) async fn list_users(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<User>>> {
    s.app
        .users(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a staff account (admins only). The password is stored as an Argon2 hash.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_user(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let u = s.app.create_user(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Create an API token for a user (admins only). The token is in the answer, once; only
/// its hash is stored.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenInput,
    responses((status = 201, body = ApiToken), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_token(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<ApiToken>)> {
    let t = s.app.create_token_for(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Change a staff account (admins): deactivate or reactivate it, change its role, or set a
/// new password. Deactivating or a new password ends the account's sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path, description = "The user's id")), request_body = UserPatch,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_user(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<UserId>,
    ApiJson(input): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    s.app
        .update_user(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Revoke an API token (admins); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_token(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
