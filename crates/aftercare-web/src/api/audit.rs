//! The API of the audit log and the change log.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::kit::json::*;
use aftercare_app::model::*;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(list_events))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    entity: Option<String>,
    entity_id: Option<i64>,
    /// Entries older than this id (for paging back).
    before: Option<i64>,
}

/// The audit log, newest first: who changed what, when, before and after. Admins only.
#[utoipa::path(get, path = "/api/v1/audit", tag = "logs", params(AuditParams), responses((status = 200, body = Vec<AuditEntry>)))]
pub(crate) async fn list_audit(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    s.app
        .audit(&c.principal, q.entity.as_deref(), q.entity_id, q.before)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Return events with an id greater than this (0 to start).
    after: Option<i64>,
    limit: Option<u32>,
}

/// The change log, oldest first from a cursor: every write, in commit order.
#[utoipa::path(get, path = "/api/v1/events", tag = "logs", params(EventParams), responses((status = 200, body = Vec<ChangeEvent>)))]
pub(crate) async fn list_events(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<EventParams>,
) -> ApiResult<Json<Vec<ChangeEvent>>> {
    s.app
        .events(&c.principal, q.after.unwrap_or(0), q.limit)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
