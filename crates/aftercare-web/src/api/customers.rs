//! The API of customers: the list, profiles, the 360 and timeline, contacts, duplicates and
//! merges, and the customer's rights over their personal information (export, erasure).

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
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(customer_360))
        .routes(routes!(customer_timeline))
        .routes(routes!(add_interaction))
        .routes(routes!(list_duplicates))
        .routes(routes!(merge_customers))
        .routes(routes!(export_personal_data))
        .routes(routes!(erase_customer))
}

/// List customers: search by name prefix (Chinese or pinyin), phone, email or serial.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = Page<CustomerRow>), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_customers(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<Page<CustomerRow>>> {
    s.app
        .customers(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "customer", &input, || async {
        s.app
            .create_customer(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One customer's profile.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<Customer>> {
    s.app
        .customer(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VersionParam {
    /// The version read; the update is refused if someone changed the customer since.
    version: Option<i64>,
}

/// Replace a customer's profile.
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerInput, params(("id" = i64, Path, description = "The customer's id"), VersionParam),
    responses((status = 200, body = Customer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiQuery(v): ApiQuery<VersionParam>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Json<Customer>> {
    s.app
        .update_customer(&c.principal, id, &input, v.version)
        .await?;
    s.app
        .customer(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CursorParam {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The customer 360: profile, products with warranty today, orders and the latest timeline.
#[utoipa::path(get, path = "/api/v1/customers/{id}/360", tag = "customers", params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = Customer360), (status = 404, body = ErrorBody)))]
pub(crate) async fn customer_360(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<Customer360>> {
    s.app
        .customer_360(&c.principal, id, None)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The customer's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(("id" = i64, Path, description = "The customer's id"), CursorParam),
    responses((status = 200, body = Page<TimelineEntry>)))]
pub(crate) async fn customer_timeline(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiQuery(q): ApiQuery<CursorParam>,
) -> ApiResult<Json<Page<TimelineEntry>>> {
    s.app
        .timeline(&c.principal, id, q.cursor.as_deref(), q.limit)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Log a contact with the customer on any touchpoint.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "customers", params(("id" = i64, Path, description = "The customer's id")), request_body = InteractionInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_interaction(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<InteractionInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "interaction", &(id, &input), || async {
        s.app
            .add_interaction(&c.principal, id, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// Customers that look like the same person (same phone or email).
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "customers", responses((status = 200, body = Vec<DuplicatePair>)))]
pub(crate) async fn list_duplicates(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<DuplicatePair>>> {
    s.app
        .duplicates(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeInput {
    keep: CustomerId,
    drop: CustomerId,
}

/// Merge two customers: every record and timeline entry of `drop` moves to `keep`.
#[utoipa::path(post, path = "/api/v1/merges", tag = "customers", request_body = MergeInput,
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn merge_customers(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(m): ApiJson<MergeInput>,
) -> ApiResult<StatusCode> {
    s.app.merge(&c.principal, m.keep, m.drop).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoteParam {
    /// How the customer's request came in and who handled it, kept in the audit log (at
    /// most 500 characters).
    note: Option<String>,
}

/// Everything held about a customer, for their request to see it (PIPL): every row about
/// them, table by table (`tables`), attachment contents in base64, secrets left out.
/// Administrators only; the export is recorded in the audit log.
#[utoipa::path(get, path = "/api/v1/customers/{id}/personal-data", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id"), NoteParam),
    responses((status = 200, body = Object, description = "`format`, `customer_id`, `exported_at`, `exported_by` and `tables`: table name to a list of rows, each an object of its columns"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn export_personal_data(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiQuery(q): ApiQuery<NoteParam>,
) -> ApiResult<Json<serde_json::Map<String, serde_json::Value>>> {
    let input = aftercare_app::privacy::PrivacyRequestInput { note: q.note };
    s.app
        .export_personal_data(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Erase a customer's personal information, at their request (PIPL). Profile fields,
/// contacts, the free text of contacts, requests, messages, visits, feedback and surveys
/// are removed; attachments, the portal account and mail to them deleted; audit rows and
/// change-log payloads about them reduced to ids; the search index rewritten. Orders,
/// amounts, dates, products, codes, ratings and scores stay, without identity. It cannot
/// be undone. `note` is required. Administrators only.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erasure", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id")),
    request_body = aftercare_app::privacy::PrivacyRequestInput,
    responses((status = 200, body = aftercare_app::privacy::ErasureReport),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn erase_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<aftercare_app::privacy::PrivacyRequestInput>,
) -> ApiResult<Json<aftercare_app::privacy::ErasureReport>> {
    s.app
        .erase_customer(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
