//! The catalogue: warranty policies, categories, products and outlets.

use super::*;
use crate::input::*;
use crate::model::*;
use aftercare_domain::catalog::WarrantyPolicy;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// The catalogue: warranty policies, categories, products and outlets.
#[async_trait]
pub trait CatalogueStore: Send + Sync {
    async fn create_policy(
        &self,
        actor: &Actor,
        name: &str,
        p: &WarrantyPolicy,
        now: jiff::Timestamp,
    ) -> StoreResult<PolicyId>;
    async fn policies(&self) -> StoreResult<Vec<Policy>>;
    async fn create_category(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<CategoryId>,
        policy: Option<PolicyId>,
        now: jiff::Timestamp,
    ) -> StoreResult<CategoryId>;
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    async fn create_products(
        &self,
        actor: &Actor,
        drafts: &[ProductDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<ProductId>>;
    async fn update_product(
        &self,
        actor: &Actor,
        id: ProductId,
        d: &ProductDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn product(&self, id: ProductId) -> StoreResult<Option<Product>>;
    async fn products(&self, q: &ProductQuery) -> StoreResult<Page<Product>>;
    /// Every outlet, retired ones too, by id.
    async fn outlets(&self) -> StoreResult<Vec<Outlet>>;
}
