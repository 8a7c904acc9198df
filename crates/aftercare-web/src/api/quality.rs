//! Scorecards and quality reviews in the REST API.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ErrorBody;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Path};
use aftercare_app::quality_model::*;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(scorecards))
        .routes(routes!(refresh))
        .routes(routes!(trend))
        .routes(routes!(complaints))
        .routes(routes!(list_reviews))
        .routes(routes!(sample_reviews))
        .routes(routes!(get_review, save_review))
        .routes(routes!(answer_review))
        .routes(routes!(overview))
}

/// The brand's measures side by side, month by month (analysts, managers, marketers):
/// awareness (customers reached, per touchpoint; a line's or outlet's first buyers),
/// reputation (ratings, NPS, estimated net word of mouth), loyalty (buyers and the share
/// buying again, loyalty stages entered, the stage funnel now); for everyone (`by=all`),
/// per product line (`line`) or per outlet (`outlet`).
#[utoipa::path(get, path = "/api/v1/overview", tag = "service quality", params(OverviewQuery),
    responses((status = 200, body = Overview), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn overview(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    Ok(Json(s.app.overview(&c.principal, &q).await?))
}

/// Scorecards for whole months (China time): every person's or outlet's for desk
/// managers, one's own otherwise (a partner's staff: their outlet's). Each measure with
/// the cases it stands on, its target, and for rates what the case mix predicts and the
/// rate adjusted for it; none where there is not enough data. Ranked by targets met.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "service quality", params(ScorecardQuery),
    responses((status = 200, body = ScorecardReport), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn scorecards(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> ApiResult<Json<ScorecardReport>> {
    Ok(Json(s.app.scorecards(&c.principal, &q).await?))
}

#[derive(Debug, Serialize, ToSchema)]
struct Refreshed {
    /// Months summed again.
    months: usize,
}

/// Sum again now the months whose figures changed (desk managers). Scorecards read the
/// figures as of the last refresh (`as_of`), which runs every five minutes anyway.
#[utoipa::path(post, path = "/api/v1/scorecards/refresh", tag = "service quality",
    responses((status = 200, body = Refreshed), (status = 403, body = ErrorBody)))]
async fn refresh(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Refreshed>> {
    let months = s.app.refresh_scorecards_now(&c.principal).await?;
    Ok(Json(Refreshed { months }))
}

/// One person's (or, with `of=outlets`, one outlet's) scorecard month by month.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/trend", tag = "service quality",
    params(("id" = i64, Path, description = "The person's or outlet's id"), ScorecardQuery),
    responses((status = 200, body = Vec<TrendPoint>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn trend(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    Ok(Json(s.app.scorecard_trend(&c.principal, &q, id).await?))
}

/// The complaints a person's (or outlet's) scorecard counts in the period, each laid at
/// the door of whoever served the customer last in the 30 days before it, with the root
/// cause found.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/complaints", tag = "service quality",
    params(("id" = i64, Path, description = "The person's or outlet's id"), ScorecardQuery),
    responses((status = 200, body = Vec<ComplaintLaid>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn complaints(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> ApiResult<Json<Vec<ComplaintLaid>>> {
    Ok(Json(s.app.complaints_laid(&c.principal, &q, id).await?))
}

/// Quality reviews: everyone's for desk managers, one's own otherwise.
#[utoipa::path(get, path = "/api/v1/quality-reviews", tag = "service quality", params(ReviewQuery),
    responses((status = 200, body = Vec<Review>), (status = 422, body = ErrorBody)))]
async fn list_reviews(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> ApiResult<Json<Vec<Review>>> {
    Ok(Json(s.app.reviews(&c.principal, &q).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SampleInput {
    /// YYYY-MM: the month whose resolved requests are sampled.
    month: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Sampled {
    /// Reviews added (requests already picked are not picked twice).
    added: usize,
}

/// Pick a month's requests to review (desk managers): per person every low rating (1–2
/// stars) and every request a complaint was laid at, and three at random.
#[utoipa::path(post, path = "/api/v1/quality-reviews/sample", tag = "service quality", request_body = SampleInput,
    responses((status = 200, body = Sampled), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn sample_reviews(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<SampleInput>,
) -> ApiResult<Json<Sampled>> {
    let added = s.app.sample_reviews(&c.principal, &input.month).await?;
    Ok(Json(Sampled { added }))
}

/// One review.
#[utoipa::path(get, path = "/api/v1/quality-reviews/{id}", tag = "service quality",
    params(("id" = i64, Path, description = "The review's id")),
    responses((status = 200, body = Review), (status = 404, body = ErrorBody)))]
async fn get_review(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Review>> {
    Ok(Json(s.app.review(&c.principal, id).await?))
}

/// Score a review against the rubric (diagnosis, communication, standards, records,
/// outcome; each 0–5), with the version read. Desk managers; not their own work.
#[utoipa::path(post, path = "/api/v1/quality-reviews/{id}", tag = "service quality",
    params(("id" = i64, Path, description = "The review's id")), request_body = ReviewInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_review(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<StatusCode> {
    s.app.save_review(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Answer one's own review, with the version read.
#[utoipa::path(post, path = "/api/v1/quality-reviews/{id}/answer", tag = "service quality",
    params(("id" = i64, Path, description = "The review's id")), request_body = ReviewAnswer,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn answer_review(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReviewAnswer>,
) -> ApiResult<StatusCode> {
    s.app.answer_review(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}
