//! Care plans, service contracts, maintenance schedules and vouchers in the REST API.
//! Contracts are made by selling a plan's product on an order; vouchers are used by
//! passing `voucher_code` with an order.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ErrorBody;
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiResult, Created};
use aftercare_app::care_model::*;
use aftercare_domain::{CustomerId, RequestId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(update_plan))
        .routes(routes!(list_contracts))
        .routes(routes!(cancel_contract))
        .routes(routes!(list_schedules, put_schedule))
        .routes(routes!(customer_care))
        .routes(routes!(issue_voucher))
        .routes(routes!(get_voucher))
        .routes(routes!(cancel_voucher))
}

/// Every care plan: a product sold as a service contract, with what it covers.
#[utoipa::path(get, path = "/api/v1/care-plans", tag = "care",
    responses((status = 200, body = Vec<CarePlan>), (status = 403, body = ErrorBody)))]
async fn list_plans(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<CarePlan>>> {
    Ok(Json(s.app.care_plans(&c.principal).await?))
}

/// Make a product a care plan: selling it on an order covers one of the customer's items
/// for the plan's months, and the services it lists become free on that item.
#[utoipa::path(post, path = "/api/v1/care-plans", tag = "care", request_body = CarePlanInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_plan(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<CarePlanInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.save_care_plan(&c.principal, None, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Change a care plan (with the version read). Contracts already sold keep their days.
#[utoipa::path(put, path = "/api/v1/care-plans/{id}", tag = "care",
    params(("id" = i64, Path, description = "The plan's id")), request_body = CarePlanInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_plan(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CarePlanInput>,
) -> ApiResult<StatusCode> {
    s.app.save_care_plan(&c.principal, Some(id), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest 100 contracts sold.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "care",
    responses((status = 200, body = Vec<ServiceContract>), (status = 403, body = ErrorBody)))]
async fn list_contracts(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<ServiceContract>>> {
    Ok(Json(s.app.recent_contracts(&c.principal).await?))
}

/// Cancel a contract (a refund, a mistake): it covers nothing from now on.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/cancel", tag = "care",
    params(("id" = i64, Path, description = "The contract's id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn cancel_contract(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.cancel_contract(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every product's maintenance schedule.
#[utoipa::path(get, path = "/api/v1/maintenance-schedules", tag = "care",
    responses((status = 200, body = Vec<MaintenanceSchedule>), (status = 403, body = ErrorBody)))]
async fn list_schedules(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<MaintenanceSchedule>>> {
    Ok(Json(s.app.maintenance_schedules(&c.principal).await?))
}

/// Set how often a product is due for maintenance (none removes the schedule). Due dates
/// count from the item's last service or installation, else its delivery.
#[utoipa::path(put, path = "/api/v1/maintenance-schedules", tag = "care", request_body = MaintenanceInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_schedule(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<MaintenanceInput>,
) -> ApiResult<StatusCode> {
    s.app.set_maintenance(&c.principal, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A customer's service contracts, vouchers, and when their items are due for
/// maintenance.
#[utoipa::path(get, path = "/api/v1/customers/{id}/care", tag = "care",
    params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = CustomerCare), (status = 404, body = ErrorBody)))]
async fn customer_care(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<CustomerCare>> {
    Ok(Json(s.app.customer_care(&c.principal, id).await?))
}

/// Give the request's customer a voucher to make up for a service failure. Staff who do
/// not run the desk may give at most ¥200 or 20 %.
#[utoipa::path(post, path = "/api/v1/requests/{id}/vouchers", tag = "care",
    params(("id" = i64, Path, description = "The request's id")), request_body = VoucherInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn issue_voucher(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<VoucherInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.issue_voucher(&c.principal, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(get, path = "/api/v1/vouchers/{id}", tag = "care",
    params(("id" = i64, Path, description = "The voucher's id")),
    responses((status = 200, body = Voucher), (status = 404, body = ErrorBody)))]
async fn get_voucher(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Voucher>> {
    Ok(Json(s.app.voucher(&c.principal, id).await?))
}

/// Cancel an unused voucher, with the version read (those who run the desk).
#[utoipa::path(post, path = "/api/v1/vouchers/{id}/cancel", tag = "care",
    params(("id" = i64, Path, description = "The voucher's id")), request_body = VersionInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_voucher(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<VersionInput>,
) -> ApiResult<StatusCode> {
    s.app
        .cancel_voucher(&c.principal, id, input.version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
