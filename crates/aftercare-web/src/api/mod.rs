//! The REST API under `/api/v1`: one module per resource, each registering its routes
//! through utoipa-axum so that the routes and the OpenAPI document cannot drift.

mod accounts;
mod audit;
mod catalogue;
mod customers;
pub(crate) mod desk;
mod feedback;
mod orders;
mod portal;
pub mod transfer;
pub(crate) mod value;

use crate::AppState;
use crate::error::ErrorBody;
use axum::extract::DefaultBodyLimit;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Aftercare API", version = "1", description = "Customers, products, orders, assets and warranty. \
        Authenticate with `Authorization: Bearer <token>` (create one with `aftercare token create EMAIL`). \
        Errors share one shape: `{code, message, fields}`. Lists are keyset-paginated: pass `next_cursor` back as `cursor`. \
        POST requests that create something accept an `Idempotency-Key` header."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
pub(crate) struct ApiDoc;

pub(crate) struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The API's routes and its OpenAPI document.
pub fn routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (json, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(customers::routes())
        .merge(catalogue::routes())
        .merge(orders::routes())
        .merge(audit::routes())
        .merge(accounts::routes())
        .merge(desk::routes())
        .merge(portal::routes())
        .merge(value::routes())
        .merge(feedback::routes())
        .split_for_parts();
    // Imports and exports carry files: in the document, outside the JSON body limit.
    let (files, files_doc) = transfer::routes().split_for_parts();
    let mut doc = doc;
    doc.merge(files_doc);
    (
        json.layer(DefaultBodyLimit::max(crate::JSON_LIMIT))
            .merge(files),
        doc,
    )
}

/// The OpenAPI document, pretty-printed, as committed in docs/openapi.json.
pub fn openapi_json() -> String {
    routes().1.to_pretty_json().unwrap_or_default()
}
