//! Campaigns in the REST API: build one, dry-run it, start, pause or stop it, read its
//! results against the holdout; and the contact budget every campaign and survey shares.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ErrorBody;
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiResult, Created};
use aftercare_app::campaign_model::*;
use aftercare_domain::CustomerId;
use aftercare_domain::campaign::ContactBudget;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(get_campaign))
        .routes(routes!(dry_run))
        .routes(routes!(set_status))
        .routes(routes!(results))
        .routes(routes!(get_budget, put_budget))
        .routes(routes!(list_offers, create_offer))
        .routes(routes!(update_offer))
        .routes(routes!(offer_report))
        .routes(routes!(customer_offers))
        .routes(routes!(record_offer))
        .routes(routes!(touchpoints))
        .routes(routes!(list_callbacks))
        .routes(routes!(record_callback))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct CallbackQuery {
    /// true: the last 200 done (newest first); otherwise the open ones (oldest first).
    #[serde(default)]
    done: bool,
}

/// Call-back tasks campaigns made for agents, each with the customer, the phone and the
/// script filled in for them (agents, managers).
#[utoipa::path(get, path = "/api/v1/callbacks", tag = "campaigns", params(CallbackQuery),
    responses((status = 200, body = Vec<CallbackTask>), (status = 403, body = ErrorBody)))]
async fn list_callbacks(
    State(s): State<AppState>,
    c: ApiCaller,
    crate::kit::json::ApiQuery(q): crate::kit::json::ApiQuery<CallbackQuery>,
) -> ApiResult<Json<Vec<CallbackTask>>> {
    Ok(Json(s.app.callback_tasks(&c.principal, !q.done).await?))
}

/// Record what came of a call-back (reached, no_answer, declined, wrong_number), with the
/// version read. Reached tells the campaign the customer answered.
#[utoipa::path(post, path = "/api/v1/callbacks/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The call-back's id")), request_body = CallbackInput,
    responses((status = 200, body = CallbackTask), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_callback(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<Json<CallbackTask>> {
    Ok(Json(s.app.record_callback(&c.principal, id, &input).await?))
}

/// The touchpoints compared: per acquisition touchpoint, the customers it brought, their
/// mean lifetime value and revenue, the share at the trusting stage or beyond, and
/// complaints per customer.
#[utoipa::path(get, path = "/api/v1/touchpoints", tag = "campaigns",
    responses((status = 200, body = Vec<TouchpointRow>), (status = 403, body = ErrorBody)))]
async fn touchpoints(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<TouchpointRow>>> {
    Ok(Json(s.app.touchpoints(&c.principal).await?))
}

/// A campaign with how many occurrences ended in each outcome.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct CampaignRow {
    campaign: Campaign,
    counts: OutcomeCounts,
}

/// Every campaign, newest first (marketers, managers, analysts).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<CampaignRow>), (status = 403, body = ErrorBody)))]
async fn list_campaigns(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<CampaignRow>>> {
    Ok(Json(
        s.app
            .campaigns(&c.principal)
            .await?
            .into_iter()
            .map(|(campaign, counts)| CampaignRow { campaign, counts })
            .collect(),
    ))
}

/// Build a campaign (a draft): an approved library text with a subject in each language,
/// sent to a saved segment, ahead of an item's guarantee ending, or when a request is
/// resolved; with a holdout share kept out to measure it.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_campaign(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_campaign(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody)))]
async fn get_campaign(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(s.app.campaign(&c.principal, id).await?))
}

/// Who the campaign would reach and with what, sending and writing nothing: the segment
/// as it is now, or the events of the last 30 days.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/dry-run", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 200, body = DryRun), (status = 404, body = ErrorBody)))]
async fn dry_run(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<DryRun>> {
    Ok(Json(s.app.dry_run(&c.principal, id).await?))
}

/// Start, pause, resume or stop a campaign, with the version read. A stopped campaign
/// stays stopped; nothing is sent twice, whatever the order of these calls.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/status", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")), request_body = CampaignStatusInput,
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_status(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CampaignStatusInput>,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(
        s.app.set_campaign_status(&c.principal, id, &input).await?,
    ))
}

/// What the campaign did: outcome counts, orders attributed to its mails, and the uplift
/// of purchase rate, revenue, requests and complaints against the holdout group, each
/// with its 95 % interval.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/results", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 200, body = CampaignResults), (status = 404, body = ErrorBody)))]
async fn results(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignResults>> {
    Ok(Json(s.app.campaign_results(&c.principal, id).await?))
}

/// The contact budget: at most so many messages per customer per period, across
/// campaigns and surveys, and the quiet hours in which no campaign mail leaves.
#[utoipa::path(get, path = "/api/v1/contact-budget", tag = "campaigns",
    responses((status = 200, body = ContactBudget), (status = 403, body = ErrorBody)))]
async fn get_budget(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<ContactBudget>> {
    Ok(Json(s.app.contact_budget(&c.principal).await?))
}

#[utoipa::path(put, path = "/api/v1/contact-budget", tag = "campaigns", request_body = ContactBudget,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_budget(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<ContactBudget>,
) -> ApiResult<StatusCode> {
    s.app.set_contact_budget(&c.principal, &b).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The offers: every one for those who keep them (marketers, managers), the active ones
/// for the rest of the staff.
#[utoipa::path(get, path = "/api/v1/offers", tag = "campaigns",
    responses((status = 200, body = Vec<Offer>)))]
async fn list_offers(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Offer>>> {
    Ok(Json(s.app.offers(&c.principal).await?))
}

/// Add an offer: when it applies to a customer's item (kind and its thresholds, a
/// category), the approved library text the agent reads, and the product it sells.
#[utoipa::path(post, path = "/api/v1/offers", tag = "campaigns", request_body = OfferInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_offer(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<OfferInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.save_offer(&c.principal, None, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Change an offer (or retire it: `active: false`), with the version read.
#[utoipa::path(put, path = "/api/v1/offers/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The offer's id")), request_body = OfferInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_offer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<OfferInput>,
) -> ApiResult<StatusCode> {
    s.app.save_offer(&c.principal, Some(id), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the offers sold over the last year, by offer, agent and outlet: offered,
/// accepted, declined, and the orders attributed to acceptances.
#[utoipa::path(get, path = "/api/v1/offers/report", tag = "campaigns",
    responses((status = 200, body = OfferReport), (status = 403, body = ErrorBody)))]
async fn offer_report(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<OfferReport>> {
    Ok(Json(s.app.offer_report(&c.principal).await?))
}

/// The offers that apply to the customer's items now, each with why and the library text
/// filled in for them, and what they answered last time.
#[utoipa::path(get, path = "/api/v1/customers/{id}/offers", tag = "campaigns",
    params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = Vec<ApplicableOffer>), (status = 404, body = ErrorBody)))]
async fn customer_offers(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<Vec<ApplicableOffer>>> {
    Ok(Json(s.app.offers_for(&c.principal, id).await?))
}

/// Record what the customer said to an offer: offered, accepted or declined.
#[utoipa::path(post, path = "/api/v1/customers/{id}/offer-responses", tag = "campaigns",
    params(("id" = i64, Path, description = "The customer's id")), request_body = OfferResponseInput,
    responses((status = 201, body = Created), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn record_offer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<OfferResponseInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.record_offer(&c.principal, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}
