//! The REST API under `/api/v1`: one module per resource, each registering its routes
//! through utoipa-axum so that the routes and the OpenAPI document cannot drift.

mod accounts;
mod audit;
mod campaigns;
mod care;
mod catalogue;
mod claims;
mod customers;
pub(crate) mod desk;
mod feedback;
mod network;
mod orders;
mod portal;
mod quality;
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
        .merge(campaigns::routes())
        .merge(care::routes())
        .merge(network::routes())
        .merge(claims::routes())
        .merge(quality::routes())
        .split_for_parts();
    // Imports and exports carry files: in the document, outside the JSON body limit.
    let (files, files_doc) = transfer::routes().split_for_parts();
    let mut doc = doc;
    doc.merge(files_doc);
    document_common_answers(&mut doc);
    (
        json.layer(DefaultBodyLimit::max(crate::JSON_LIMIT))
            .merge(files),
        doc,
    )
}

/// Adds to every operation the answers the kit gives for any of them, where the operation
/// does not document them itself: 401 and 403 when it needs a caller, 400 for a malformed
/// path, query or body, 404 when its path names a record, and 413, 415 and 422 when it
/// takes a body (422 also for queries: a control character in one is refused). Each in the
/// API's one error shape.
fn document_common_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |what: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let add = |op: &mut Operation, status: &str, what: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error(what));
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let names_a_record = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            // `security(())`: open to anyone (portal sign-up and sign-in, published articles).
            let open = op
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
            let has_query = op.parameters.iter().flatten().any(|p| match p {
                RefOr::T(p) => p.parameter_in == ParameterIn::Query,
                RefOr::Ref(_) => false,
            });
            let has_body = op.request_body.is_some();
            if !open {
                add(
                    op,
                    "401",
                    "Not signed in: no token or session, or an unknown one.",
                );
                add(
                    op,
                    "403",
                    "The caller's role or token scopes do not allow it.",
                );
            }
            if names_a_record || has_query || has_body {
                add(op, "400", "A malformed path, query or body.");
            }
            if names_a_record {
                add(
                    op,
                    "404",
                    "The record named in the path does not exist (or is not the caller's to see).",
                );
            }
            if has_body {
                add(
                    op,
                    "409",
                    "A conflict: a stale version, a record referred to that does not exist, an Idempotency-Key reused or still in progress.",
                );
                add(op, "413", "The body is too large.");
                add(
                    op,
                    "415",
                    "The body is not of the type the operation takes.",
                );
            }
            if has_body || has_query {
                add(
                    op,
                    "422",
                    "The input is not valid: each field at fault, named.",
                );
            }
            // An error documented with a body of its own (an import's report) can also be
            // the kit's error shape (a control character in the query, say).
            for (status, answer) in op.responses.responses.iter_mut() {
                if !status.starts_with('4') {
                    continue;
                }
                let RefOr::T(answer) = answer else { continue };
                for content in answer.content.values_mut() {
                    let RefOr::T(content) = content else { continue };
                    let is_error_body = matches!(
                        &content.schema,
                        Some(RefOr::Ref(r)) if r.ref_location.ends_with("/ErrorBody")
                    );
                    if let Some(own) = content.schema.take() {
                        content.schema = Some(if is_error_body {
                            own
                        } else {
                            RefOr::T(utoipa::openapi::schema::Schema::OneOf(
                                utoipa::openapi::schema::OneOfBuilder::new()
                                    .item(own)
                                    .item(Ref::from_schema_name("ErrorBody"))
                                    .build(),
                            ))
                        });
                    }
                }
            }
        }
    }
}

/// The OpenAPI document, pretty-printed, as committed in docs/openapi.json.
pub fn openapi_json() -> String {
    routes().1.to_pretty_json().unwrap_or_default()
}
