//! The API of the catalogue: products, categories, warranty policies and outlets.

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
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(list_policies, create_policy))
}

/// List products.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", params(ProductQuery), responses((status = 200, body = Page<Product>)))]
pub(crate) async fn list_products(
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
pub(crate) async fn create_product(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProductInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "product", &input, || async {
        s.app
            .create_product(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalogue", params(("id" = i64, Path, description = "The product's id")), responses((status = 200, body = Product), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_product(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ProductId>,
) -> ApiResult<Json<Product>> {
    s.app
        .product(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Replace a product.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "catalogue", params(("id" = i64, Path, description = "The product's id")), request_body = ProductInput, responses((status = 200, body = Product)))]
pub(crate) async fn update_product(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ProductId>,
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
pub(crate) async fn list_categories(
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
pub(crate) async fn create_category(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "category", &input, || async {
        s.app
            .create_category(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}

/// Warranty (三包) policies.
#[utoipa::path(get, path = "/api/v1/policies", tag = "catalogue", responses((status = 200, body = Vec<Policy>)))]
pub(crate) async fn list_policies(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<Policy>>> {
    s.app
        .policies(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a warranty policy.
#[utoipa::path(post, path = "/api/v1/policies", tag = "catalogue", request_body = PolicyInput, responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_policy(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PolicyInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "warranty_policy", &input, || async {
        s.app
            .create_policy(&c.principal, &input)
            .await
            .map_err(ApiError::from)
    })
    .await
}
