//! The API of orders and of the assets they put in customers' hands, with their warranty and usage archive.

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
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order))
        .routes(routes!(get_asset))
        .routes(routes!(asset_warranty))
        .routes(routes!(add_asset_event))
}

/// List orders.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery), responses((status = 200, body = Page<OrderRow>)))]
pub(crate) async fn list_orders(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> ApiResult<Json<Page<OrderRow>>> {
    s.app
        .orders(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Record an order; each serial number of a serial-numbered product becomes an asset.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_order(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "order", &input, || async {
        s.app
            .create_order(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One order with its items and serial numbers.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = i64, Path, description = "The order's id")), responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_order(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<OrderId>,
) -> ApiResult<Json<Order>> {
    s.app
        .order(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One asset with its usage archive and warranty today.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path, description = "The item (asset)'s id")), responses((status = 200, body = Asset), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_asset(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<AssetId>,
) -> ApiResult<Json<Asset>> {
    s.app
        .asset(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OnParam {
    /// YYYY-MM-DD; today when absent.
    on: Option<String>,
}

/// The asset's warranty (三包) status on a given day: which of return, exchange and repair
/// apply, until when, and why not.
#[utoipa::path(get, path = "/api/v1/assets/{id}/warranty", tag = "assets", params(("id" = i64, Path, description = "The item (asset)'s id"), OnParam),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn asset_warranty(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<AssetId>,
    ApiQuery(q): ApiQuery<OnParam>,
) -> ApiResult<Json<serde_json::Value>> {
    s.app.asset(&c.principal, id).await?;
    let on = match q.on.as_deref() {
        Some(d) => Some(aftercare_domain::error::parse_date(d).map_err(|code| {
            ApiError::from_app(aftercare_domain::Invalid::one("on", code).into(), c.lang)
        })?),
        None => None,
    };
    let w = s.app.warranty_on(id, on).await?;
    Ok(Json(serde_json::to_value(w).unwrap_or_default()))
}

/// Add an entry to the asset's usage archive (installation, service, repair, note, or a
/// finding that voids the warranty).
#[utoipa::path(post, path = "/api/v1/assets/{id}/events", tag = "assets", params(("id" = i64, Path, description = "The item (asset)'s id")), request_body = AssetEventInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_asset_event(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<AssetId>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AssetEventInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "asset_event", &(id, &input), || async {
        s.app
            .add_asset_event(&c.principal, id, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}
