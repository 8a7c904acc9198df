//! The service network in the REST API: outlets (own and partner) with their coverage,
//! capacity and SLA targets; staff certificates and the product lines that need them.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ErrorBody;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Created, Path};
use aftercare_app::model::Outlet;
use aftercare_app::network_model::*;
use aftercare_domain::request::ServiceType;
use aftercare_domain::{CategoryId, OutletId, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_outlets, create_outlet))
        .routes(routes!(get_outlet, update_outlet))
        .routes(routes!(set_outlet_active))
        .routes(routes!(outlet_loads))
        .routes(routes!(list_certificates, add_certificate))
        .routes(routes!(revoke_certificate))
        .routes(routes!(set_certification))
        .routes(routes!(list_standards))
        .routes(routes!(put_standard))
}

/// A service type's checklist.
#[derive(Debug, serde::Serialize, ToSchema)]
struct Standard {
    service_type: ServiceType,
    /// The items, in order, as the brand words them.
    items: Vec<String>,
}

/// Every service type's checklist: what a field visit must do. The visit report marks
/// each item done or not (`checklist` in `POST /api/v1/visits/{id}/report`).
#[utoipa::path(get, path = "/api/v1/service-standards", tag = "service network",
    responses((status = 200, body = Vec<Standard>)))]
async fn list_standards(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Standard>>> {
    Ok(Json(
        s.app
            .standards(&c.principal)
            .await?
            .into_iter()
            .map(|(service_type, items)| Standard {
                service_type,
                items,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StandardInput {
    /// At most 20 items of at most 100 characters; none removes the checklist.
    items: Vec<String>,
}

/// Set a service type's checklist (managers). Visits reported afterwards mark these items.
#[utoipa::path(put, path = "/api/v1/service-standards/{service_type}", tag = "service network",
    params(("service_type" = String, Path, description = "A service type code, e.g. repair")),
    request_body = StandardInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_standard(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(service_type): Path<String>,
    ApiJson(input): ApiJson<StandardInput>,
) -> ApiResult<StatusCode> {
    s.app
        .set_standard(&c.principal, &service_type, &input.items)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every outlet, retired ones too: what each covers (cities, product lines), its
/// capacity, calendar and, for partners, their own SLA targets.
#[utoipa::path(get, path = "/api/v1/outlets", tag = "service network",
    responses((status = 200, body = Vec<Outlet>)))]
async fn list_outlets(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Outlet>>> {
    Ok(Json(s.app.outlets(&c.principal).await?))
}

/// Set up an outlet (managers). A request opened with no outlet goes to the active outlet
/// covering the customer's city and the item's product line, with room left.
#[utoipa::path(post, path = "/api/v1/outlets", tag = "service network", request_body = OutletInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_outlet(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<OutletInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.save_outlet(&c.principal, None, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// One outlet.
#[utoipa::path(get, path = "/api/v1/outlets/{id}", tag = "service network",
    params(("id" = i64, Path, description = "The outlet's id")),
    responses((status = 200, body = Outlet), (status = 404, body = ErrorBody)))]
async fn get_outlet(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Outlet>> {
    Ok(Json(s.app.outlet(&c.principal, OutletId(id)).await?))
}

/// Change an outlet, with the version read (a change made since is refused with 409).
#[utoipa::path(put, path = "/api/v1/outlets/{id}", tag = "service network",
    params(("id" = i64, Path, description = "The outlet's id")), request_body = OutletInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_outlet(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<OutletInput>,
) -> ApiResult<StatusCode> {
    s.app
        .save_outlet(&c.principal, Some(OutletId(id)), &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActiveInput {
    /// false retires the outlet (it takes no new requests; its open ones stay with it).
    active: bool,
}

/// Retire an outlet or bring it back.
#[utoipa::path(post, path = "/api/v1/outlets/{id}/active", tag = "service network",
    params(("id" = i64, Path, description = "The outlet's id")), request_body = ActiveInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_outlet_active(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ActiveInput>,
) -> ApiResult<StatusCode> {
    s.app
        .set_outlet_active(&c.principal, OutletId(id), input.active)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How full each outlet is: its active requests and active staff.
#[utoipa::path(get, path = "/api/v1/outlet-loads", tag = "service network",
    responses((status = 200, body = Vec<OutletLoad>)))]
async fn outlet_loads(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<OutletLoad>>> {
    Ok(Json(s.app.outlet_loads(&c.principal).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct CertificateQuery {
    /// One person's (managers; everyone else always gets their own).
    user_id: Option<i64>,
    /// Include revoked certificates.
    #[serde(default)]
    revoked: bool,
}

/// Certificates with their state today (valid, expiring within 30 days, expired, revoked).
#[utoipa::path(get, path = "/api/v1/certificates", tag = "service network", params(CertificateQuery),
    responses((status = 200, body = Vec<Certificate>)))]
async fn list_certificates(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<CertificateQuery>,
) -> ApiResult<Json<Vec<Certificate>>> {
    Ok(Json(
        s.app
            .certificates(&c.principal, q.user_id.map(UserId), q.revoked)
            .await?,
    ))
}

/// Record a certificate someone holds (managers): for a product line and service types,
/// valid through a day. Routing gives requests for lines that need certification only to
/// holders of a certificate in force.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "service network", request_body = CertificateInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_certificate(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<CertificateInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.add_certificate(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Revoke a certificate: it counts no longer.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revoke", tag = "service network",
    params(("id" = i64, Path, description = "The certificate's id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_certificate(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_certificate(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CertificationInput {
    /// true: requests for items in this category (or below it) go only to certified people.
    required: bool,
}

/// Say whether a product line needs certification.
#[utoipa::path(put, path = "/api/v1/categories/{id}/certification", tag = "service network",
    params(("id" = i64, Path, description = "The category's id")), request_body = CertificationInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_certification(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CertificationInput>,
) -> ApiResult<StatusCode> {
    s.app
        .set_certification_required(&c.principal, CategoryId(id), input.required)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
