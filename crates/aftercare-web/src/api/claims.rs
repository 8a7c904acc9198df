//! Warranty claims (三包索赔) and partners' monthly statements in the REST API.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ErrorBody;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Created, Path};
use aftercare_app::claims_model::*;
use aftercare_domain::{OutletId, RequestId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(file_claim))
        .routes(routes!(list_claims))
        .routes(routes!(get_claim, refile_claim))
        .routes(routes!(decide_claim))
        .routes(routes!(statement))
}

/// File a warranty claim (三包索赔) for a repair, exchange or return a partner outlet did
/// free: checked against the 三包 decision taken the day the request was opened and the
/// visit report (parts claimed must be reported). One claim per request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/claims", tag = "warranty claims",
    params(("id" = i64, Path, description = "The request's id")), request_body = ClaimInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn file_claim(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ClaimInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .app
        .file_claim(&c.principal, RequestId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Claims, newest first (at most 500): every outlet's for desk managers, their own for a
/// partner's staff.
#[utoipa::path(get, path = "/api/v1/claims", tag = "warranty claims", params(ClaimQuery),
    responses((status = 200, body = Vec<Claim>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_claims(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ClaimQuery>,
) -> ApiResult<Json<Vec<Claim>>> {
    Ok(Json(s.app.claims(&c.principal, &q).await?))
}

/// One claim.
#[utoipa::path(get, path = "/api/v1/claims/{id}", tag = "warranty claims",
    params(("id" = i64, Path, description = "The claim's id")),
    responses((status = 200, body = Claim), (status = 404, body = ErrorBody)))]
async fn get_claim(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Claim>> {
    Ok(Json(s.app.claim(&c.principal, id).await?))
}

/// Correct a claim that was sent back, with the version read: it is submitted again.
#[utoipa::path(put, path = "/api/v1/claims/{id}", tag = "warranty claims",
    params(("id" = i64, Path, description = "The claim's id")), request_body = ClaimInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn refile_claim(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ClaimInput>,
) -> ApiResult<StatusCode> {
    s.app.refile_claim(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Decide on a submitted claim (desk managers): approve it, approve part of it (an amount
/// below the claim and a reason), or send it back with a reason.
#[utoipa::path(post, path = "/api/v1/claims/{id}/decision", tag = "warranty claims",
    params(("id" = i64, Path, description = "The claim's id")), request_body = ClaimDecisionInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_claim(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ClaimDecisionInput>,
) -> ApiResult<StatusCode> {
    s.app.decide_claim(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A partner's statement for a month (YYYY-MM): the claims approved that month, in full or
/// in part, with totals. CSV: `/claims/statement.csv?outlet_id=…&month=…` (signed in).
#[utoipa::path(get, path = "/api/v1/outlets/{id}/statements/{month}", tag = "warranty claims",
    params(("id" = i64, Path, description = "The outlet's id"),
        ("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = Statement), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn statement(
    State(s): State<AppState>,
    c: ApiCaller,
    Path((id, month)): Path<(i64, String)>,
) -> ApiResult<Json<Statement>> {
    Ok(Json(
        s.app.statement(&c.principal, OutletId(id), &month).await?,
    ))
}
