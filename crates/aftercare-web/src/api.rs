//! The REST API under `/api/v1`. Routes are registered through utoipa-axum, so the
//! OpenAPI document is generated from the same code that serves the requests.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use aftercare_app::input::*;
use aftercare_app::model::*;
use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
struct ApiDoc;

struct BearerAuth;

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
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(customer_360))
        .routes(routes!(customer_timeline))
        .routes(routes!(add_interaction))
        .routes(routes!(list_duplicates))
        .routes(routes!(merge_customers))
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(list_outlets))
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order))
        .routes(routes!(get_asset))
        .routes(routes!(asset_warranty))
        .routes(routes!(add_asset_event))
        .routes(routes!(list_audit))
        .routes(routes!(list_events))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(create_token))
        .routes(routes!(update_user))
        .routes(routes!(revoke_token))
        .merge(crate::desk_api::routes())
        .merge(crate::portal_api::routes())
        .merge(crate::value_api::routes())
        .merge(crate::feedback_api::routes())
        .split_for_parts();
    // Imports and exports carry files: in the document, outside the JSON body limit.
    let (files, files_doc) = crate::transfer::api_routes().split_for_parts();
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

/// A JSON body whose rejections (bad JSON, wrong types, unknown fields, too large) come
/// back in the API's error shape and the caller's language.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = crate::auth::request_lang(&parts, None);
        let req = Request::from_parts(parts, body);
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match &rej {
                JsonRejection::JsonSyntaxError(_) => {
                    ApiError::new(StatusCode::BAD_REQUEST, lang, "malformed_json")
                }
                JsonRejection::JsonDataError(e) => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, lang, "invalid_body")
                        .with_detail(&e.body_text())
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    lang,
                    "unsupported_media_type",
                ),
                _ if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, lang, "payload_too_large")
                }
                _ => ApiError::new(StatusCode::BAD_REQUEST, lang, "malformed_json"),
            }),
        }
    }
}

/// Query parameters whose rejections come back in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match <Query<T> as axum::extract::FromRequestParts<S>>::from_request_parts(parts, state)
            .await
        {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let lang = crate::auth::request_lang(parts, None);
                Err(
                    ApiError::new(StatusCode::BAD_REQUEST, lang, "invalid_query")
                        .with_detail(&e.body_text()),
                )
            }
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The id of something created.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Runs a creation once per `Idempotency-Key`: a retry with the same key and body gets the
/// first answer again; the same key with another body is refused.
pub(crate) async fn idempotent<F, Fut>(
    state: &AppState,
    c: &ApiCaller,
    headers: &HeaderMap,
    body: &impl Serialize,
    f: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ApiResult<i64>>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        let id = f().await?;
        return Ok((StatusCode::CREATED, Json(Created { id })).into_response());
    };
    // The parsed input, as canonical JSON: the same request however its body was spelled
    // (key order, spacing, escapes), a different one whenever a value differs.
    let canonical = serde_json::to_value(body)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| {
            ApiError::from_app(
                aftercare_app::AppError::Internal(format!("idempotency: {e}")),
                c.lang,
            )
        })?;
    let hash = hex::encode(Sha256::digest(canonical));
    let uid = c.principal.user.id;
    let app = &state.app;
    let now = app.clock.now();
    let stale = aftercare_app::ports::stamp(now - std::time::Duration::from_secs(60));
    let store_err = |e: aftercare_app::StoreError| ApiError::from_app(e.into(), c.lang);
    if let Some((h, status, stored)) = app
        .store
        .idempotent_claim(uid, key, &hash, &app.now(), &stale)
        .await
        .map_err(store_err)?
    {
        if h != hash {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                c.lang,
                "idempotency_key_reused",
            ));
        }
        if status == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                c.lang,
                "idempotency_key_in_progress",
            ));
        }
        let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
        return Ok((status, [("idempotent-replayed", "true")], Json(body)).into_response());
    }
    match f().await {
        Ok(id) => {
            let body = serde_json::to_string(&Created { id }).unwrap_or_default();
            // If storing the answer fails the creation still stands; the caller gets it.
            if let Err(e) = app.store.idempotent_finish(uid, key, 201, &body).await {
                tracing::warn!(error = %e, "could not store the answer of an idempotency key");
            }
            Ok((StatusCode::CREATED, Json(Created { id })).into_response())
        }
        Err(e) => {
            if let Err(e) = app.store.idempotent_release(uid, key).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            Err(e)
        }
    }
}

/// List customers: search by name prefix (Chinese or pinyin), phone, email or serial.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = Page<CustomerRow>), (status = 400, body = ErrorBody)))]
async fn list_customers(
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
async fn create_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &input, || async {
        s.app
            .create_customer(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One customer's profile.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody)))]
async fn get_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Customer>> {
    s.app
        .customer(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
struct VersionParam {
    /// The version read; the update is refused if someone changed the customer since.
    version: Option<i64>,
}

/// Replace a customer's profile.
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerInput, params(VersionParam),
    responses((status = 200, body = Customer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_customer(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
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
struct CursorParam {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The customer 360: profile, products with warranty today, orders and the latest timeline.
#[utoipa::path(get, path = "/api/v1/customers/{id}/360", tag = "customers",
    responses((status = 200, body = Customer360), (status = 404, body = ErrorBody)))]
async fn customer_360(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Customer360>> {
    s.app
        .customer_360(&c.principal, id, None)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The customer's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(CursorParam),
    responses((status = 200, body = Page<TimelineEntry>)))]
async fn customer_timeline(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<CursorParam>,
) -> ApiResult<Json<Page<TimelineEntry>>> {
    s.app
        .timeline(&c.principal, id, q.cursor.as_deref(), q.limit)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Log a contact with the customer on any touchpoint.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "customers", request_body = InteractionInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn add_interaction(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<InteractionInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &(id, &input), || async {
        s.app
            .add_interaction(&c.principal, id, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// Customers that look like the same person (same phone or email).
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "customers", responses((status = 200, body = Vec<DuplicatePair>)))]
async fn list_duplicates(
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
struct MergeInput {
    keep: i64,
    drop: i64,
}

/// Merge two customers: every record and timeline entry of `drop` moves to `keep`.
#[utoipa::path(post, path = "/api/v1/merges", tag = "customers", request_body = MergeInput,
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn merge_customers(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(m): ApiJson<MergeInput>,
) -> ApiResult<StatusCode> {
    s.app.merge(&c.principal, m.keep, m.drop).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List products.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", params(ProductQuery), responses((status = 200, body = Page<Product>)))]
async fn list_products(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> ApiResult<Json<Page<Product>>> {
    s.app
        .products(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a product.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalogue", request_body = ProductInput,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &input, || async {
        s.app
            .create_product(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalogue", responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
async fn get_product(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Product>> {
    s.app
        .product(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Replace a product.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "catalogue", request_body = ProductInput, responses((status = 200, body = Product)))]
async fn update_product(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<Json<Product>> {
    s.app.update_product(&c.principal, id, &input).await?;
    s.app
        .product(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Product categories.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalogue", responses((status = 200, body = Vec<Category>)))]
async fn list_categories(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<Category>>> {
    s.app
        .categories(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalogue", request_body = CategoryInput, responses((status = 201, body = Created)))]
async fn create_category(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &input, || async {
        s.app
            .create_category(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// Warranty (三包) policies.
#[utoipa::path(get, path = "/api/v1/policies", tag = "catalogue", responses((status = 200, body = Vec<Policy>)))]
async fn list_policies(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Policy>>> {
    s.app
        .policies(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a warranty policy.
#[utoipa::path(post, path = "/api/v1/policies", tag = "catalogue", request_body = PolicyInput, responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn create_policy(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PolicyInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &input, || async {
        s.app
            .create_policy(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// Selling and service outlets.
#[utoipa::path(get, path = "/api/v1/outlets", tag = "catalogue", responses((status = 200, body = Vec<Outlet>)))]
async fn list_outlets(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Outlet>>> {
    s.app
        .outlets(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// List orders.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery), responses((status = 200, body = Page<OrderRow>)))]
async fn list_orders(
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
async fn create_order(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &input, || async {
        s.app
            .create_order(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One order with its items and serial numbers.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Order>> {
    s.app
        .order(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One asset with its usage archive and warranty today.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", responses((status = 200, body = Asset), (status = 404, body = ErrorBody)))]
async fn get_asset(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Asset>> {
    s.app
        .asset(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams)]
struct OnParam {
    /// YYYY-MM-DD; today when absent.
    on: Option<String>,
}

/// The asset's warranty (三包) status on a given day: which of return, exchange and repair
/// apply, until when, and why not.
#[utoipa::path(get, path = "/api/v1/assets/{id}/warranty", tag = "assets", params(OnParam),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn asset_warranty(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
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
#[utoipa::path(post, path = "/api/v1/assets/{id}/events", tag = "assets", request_body = AssetEventInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn add_asset_event(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AssetEventInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, &(id, &input), || async {
        s.app
            .add_asset_event(&c.principal, id, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

#[derive(Deserialize, IntoParams)]
struct AuditParams {
    entity: Option<String>,
    entity_id: Option<i64>,
    /// Entries older than this id (for paging back).
    before: Option<i64>,
}

/// The audit log, newest first: who changed what, when, before and after. Admins only.
#[utoipa::path(get, path = "/api/v1/audit", tag = "logs", params(AuditParams), responses((status = 200, body = Vec<AuditEntry>)))]
async fn list_audit(
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
struct EventParams {
    /// Return events with an id greater than this (0 to start).
    after: Option<i64>,
    limit: Option<u32>,
}

/// The change log, oldest first from a cursor: every write, in commit order.
#[utoipa::path(get, path = "/api/v1/events", tag = "logs", params(EventParams), responses((status = 200, body = Vec<ChangeEvent>)))]
async fn list_events(
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

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = User)))]
async fn me(c: ApiCaller) -> Json<User> {
    Json(c.principal.user)
}

/// Staff accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses((status = 200, body = Vec<User>)))]
async fn list_users(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<User>>> {
    s.app
        .users(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a staff account (admins only). The password is stored as an Argon2 hash.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let u = s.app.create_user(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Create an API token for a user (admins only). The token is in the answer, once; only
/// its hash is stored.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenInput,
    responses((status = 201, body = ApiToken), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<ApiToken>)> {
    let t = s.app.create_token_for(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Change a staff account (admins): deactivate or reactivate it, change its role, or set a
/// new password. Deactivating or a new password ends the account's sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", request_body = UserPatch,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    s.app
        .update_user(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Revoke an API token (admins); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_token(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
