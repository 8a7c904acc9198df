//! The voice of the customer's part of the REST API: feedback items (given, listed,
//! corrected), the dictionary, the improvement backlog and the customer alliance.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult};
use aftercare_app::feedback::*;
use aftercare_app::model::Page;
use aftercare_app::survey::{ScoreQuery, ScoreRow, Survey, SurveySettings};
use aftercare_domain::ids::*;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feedback, add_feedback))
        .routes(routes!(get_feedback))
        .routes(routes!(correct_labels))
        .routes(routes!(list_words, add_word))
        .routes(routes!(backlog))
        .routes(routes!(get_improvement, set_status))
        .routes(routes!(raised_by))
        .routes(routes!(set_expert, unset_expert))
        .routes(routes!(get_survey_settings, put_survey_settings))
        .routes(routes!(survey_scores))
        .routes(routes!(get_survey))
        .routes(routes!(search))
        .routes(routes!(dashboard))
        .routes(routes!(get_voc_settings, put_voc_settings))
}

/// Word of mouth (good and bad experiences, estimated reach, referrals recorded), NPS /
/// CSAT / CES trends, the service-ladder profile of each product and outlet, and topics.
#[utoipa::path(get, path = "/api/v1/voc/dashboard", tag = "voice of the customer", params(aftercare_app::voc::DashboardQuery),
    responses((status = 200, body = aftercare_app::voc::VocDashboard), (status = 422, body = ErrorBody)))]
async fn dashboard(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<aftercare_app::voc::DashboardQuery>,
) -> ApiResult<Json<aftercare_app::voc::VocDashboard>> {
    s.app
        .voc_dashboard(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// How many people a good and a bad experience reach (defaults 8 and 25).
#[utoipa::path(get, path = "/api/v1/voc/settings", tag = "voice of the customer",
    responses((status = 200, body = aftercare_app::voc::VocSettings)))]
async fn get_voc_settings(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<aftercare_app::voc::VocSettings>> {
    s.app
        .voc_settings(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[utoipa::path(put, path = "/api/v1/voc/settings", tag = "voice of the customer", request_body = aftercare_app::voc::VocSettings,
    responses((status = 200, body = aftercare_app::voc::VocSettings), (status = 422, body = ErrorBody)))]
async fn put_voc_settings(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<aftercare_app::voc::VocSettings>,
) -> ApiResult<Json<aftercare_app::voc::VocSettings>> {
    s.app
        .set_voc_settings(&c.principal, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// When surveys go out (after resolution, after purchase), the quiet period, reminders,
/// link lifetime and the questions.
#[utoipa::path(get, path = "/api/v1/surveys/settings", tag = "voice of the customer",
    responses((status = 200, body = SurveySettings)))]
async fn get_survey_settings(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<SurveySettings>> {
    s.app
        .survey_settings(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Change the survey rules and questions (managers and admins).
#[utoipa::path(put, path = "/api/v1/surveys/settings", tag = "voice of the customer", request_body = SurveySettings,
    responses((status = 200, body = SurveySettings), (status = 422, body = ErrorBody)))]
async fn put_survey_settings(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<SurveySettings>,
) -> ApiResult<Json<SurveySettings>> {
    s.app
        .set_survey_settings(&c.principal, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// NPS, CSAT and CES per month (China time), per product, outlet or service type.
#[utoipa::path(get, path = "/api/v1/surveys/scores", tag = "voice of the customer", params(ScoreQuery),
    responses((status = 200, body = Vec<ScoreRow>), (status = 422, body = ErrorBody)))]
async fn survey_scores(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ScoreQuery>,
) -> ApiResult<Json<Vec<ScoreRow>>> {
    s.app
        .survey_scores(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One survey with its answers.
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "voice of the customer", params(("id" = i64, Path, description = "The survey's id")),
    responses((status = 200, body = Survey), (status = 404, body = ErrorBody)))]
async fn get_survey(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<SurveyId>,
) -> ApiResult<Json<Survey>> {
    s.app
        .survey(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Feedback items, newest first: filter by customer, product, backlog entry, source,
/// labels, failed analysis, or experts only.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "voice of the customer", params(FeedbackQuery),
    responses((status = 200, body = Page<FeedbackItem>), (status = 422, body = ErrorBody)))]
async fn list_feedback(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<FeedbackQuery>,
) -> ApiResult<Json<Page<FeedbackItem>>> {
    s.app
        .feedback(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Record feedback (a note of a call or visit, a review from an e-commerce platform, …).
/// It is analysed at once; a text that cannot be analysed is kept and flagged. Posting
/// an `origin` again returns the item taken in before.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "voice of the customer", request_body = FeedbackInput,
    responses((status = 201, body = FeedbackItem), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_feedback(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> ApiResult<(StatusCode, Json<FeedbackItem>)> {
    let item = s.app.add_feedback(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// A feedback item with its analysis and the history of its corrections.
#[derive(Serialize, ToSchema)]
struct FeedbackBody {
    #[serde(flatten)]
    item: FeedbackItem,
    corrections: Vec<Correction>,
}

#[utoipa::path(get, path = "/api/v1/feedback/{id}", tag = "voice of the customer", params(("id" = i64, Path, description = "The feedback item's id")),
    responses((status = 200, body = FeedbackBody), (status = 404, body = ErrorBody)))]
async fn get_feedback(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<FeedbackId>,
) -> ApiResult<Json<FeedbackBody>> {
    let item = s.app.feedback_item(&c.principal, id).await?;
    let corrections = s.app.corrections(&c.principal, id).await?;
    Ok(Json(FeedbackBody { item, corrections }))
}

/// Correct an item's sentiment, ladder level or need type. The correction is kept and
/// trains the classifiers at once.
#[utoipa::path(put, path = "/api/v1/feedback/{id}/labels", tag = "voice of the customer", params(("id" = i64, Path, description = "The feedback item's id")), request_body = LabelsInput,
    responses((status = 200, body = FeedbackItem), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn correct_labels(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<FeedbackId>,
    ApiJson(input): ApiJson<LabelsInput>,
) -> ApiResult<Json<FeedbackItem>> {
    s.app
        .correct_feedback(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The words staff added to the dictionary (part and product names).
#[utoipa::path(get, path = "/api/v1/text/words", tag = "voice of the customer",
    responses((status = 200, body = Vec<DictionaryWord>)))]
async fn list_words(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<DictionaryWord>>> {
    s.app
        .dictionary(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Add a part or product name (kind `part` or `product`): it is segmented as one word
/// from now on, and a part becomes the topic of feedback that names it.
#[utoipa::path(post, path = "/api/v1/text/words", tag = "voice of the customer", request_body = DictionaryWord,
    responses((status = 201, body = DictionaryWord), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_word(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<DictionaryWord>,
) -> ApiResult<(StatusCode, Json<DictionaryWord>)> {
    let w = s.app.add_dictionary_word(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct BacklogParams {
    /// A product's backlog; 0 for feedback about no product; absent for all.
    product_id: Option<ProductId>,
    /// new, accepted, planned, shipped or declined.
    status: Option<String>,
}

/// The improvement backlog: needs and defects ranked by how many customers and how much
/// of their lifetime value they touch.
#[utoipa::path(get, path = "/api/v1/improvements", tag = "voice of the customer", params(BacklogParams),
    responses((status = 200, body = Vec<Improvement>), (status = 422, body = ErrorBody)))]
async fn backlog(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<BacklogParams>,
) -> ApiResult<Json<Vec<Improvement>>> {
    s.app
        .backlog(&c.principal, q.product_id, q.status.as_deref())
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[utoipa::path(get, path = "/api/v1/improvements/{id}", tag = "voice of the customer", params(("id" = i64, Path, description = "The backlog entry's id")),
    responses((status = 200, body = Improvement), (status = 404, body = ErrorBody)))]
async fn get_improvement(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ImprovementId>,
) -> ApiResult<Json<Improvement>> {
    s.app
        .improvement(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Move a backlog entry to new, accepted, planned, shipped or declined (with a note).
#[utoipa::path(put, path = "/api/v1/improvements/{id}", tag = "voice of the customer", params(("id" = i64, Path, description = "The backlog entry's id")), request_body = ImprovementInput,
    responses((status = 200, body = Improvement), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_status(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ImprovementId>,
    ApiJson(input): ApiJson<ImprovementInput>,
) -> ApiResult<Json<Improvement>> {
    s.app
        .set_improvement_status(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The customers who raised a backlog entry, with their contact consent: the list to tell
/// when it ships.
#[utoipa::path(get, path = "/api/v1/improvements/{id}/customers", tag = "voice of the customer", params(("id" = i64, Path, description = "The backlog entry's id")),
    responses((status = 200, body = Vec<RaisedBy>), (status = 404, body = ErrorBody)))]
async fn raised_by(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ImprovementId>,
) -> ApiResult<Json<Vec<RaisedBy>>> {
    s.app
        .raised_by(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Make a customer a member of the customer alliance (an expert whose suggestions are
/// shown apart).
#[utoipa::path(put, path = "/api/v1/customers/{id}/expert", tag = "voice of the customer", params(("id" = i64, Path, description = "The customer's id")), request_body = ExpertInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_expert(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<ExpertInput>,
) -> ApiResult<StatusCode> {
    s.app.set_expert(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/expert", tag = "voice of the customer", params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unset_expert(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<StatusCode> {
    s.app.unset_expert(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Search customers, requests, feedback and articles: ranked, with the matched words in
/// `<b>…</b>`, only what the caller may open; counts per kind beside.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(aftercare_app::search::SearchQuery),
    responses((status = 200, body = aftercare_app::search::SearchResults), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn search(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<aftercare_app::search::SearchQuery>,
) -> ApiResult<Json<aftercare_app::search::SearchResults>> {
    s.app
        .search(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
