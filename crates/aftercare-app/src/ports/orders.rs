//! Orders, the assets they put in customers' hands, and each asset's usage archive.

use super::*;
use crate::input::*;
use crate::model::*;
use aftercare_domain::catalog::WarrantyPolicy;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Orders, the assets they put in customers' hands, and each asset's usage archive.
#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn create_orders(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<OrderId>>;
    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>>;
    async fn orders(&self, q: &OrderQuery) -> StoreResult<Page<OrderRow>>;
    async fn asset(&self, id: AssetId) -> StoreResult<Option<Asset>>;
    async fn asset_by_serial(&self, serial: &str) -> StoreResult<Option<AssetId>>;
    /// Which of these references from the system used before an order already carries.
    async fn known_order_refs(&self, refs: &[String]) -> StoreResult<Vec<String>>;
    async fn assets_of(&self, customer_id: CustomerId) -> StoreResult<Vec<Asset>>;
    /// The product of each of these assets; unknown ids are left out.
    async fn products_of_assets(
        &self,
        asset_ids: &[AssetId],
    ) -> StoreResult<Vec<(AssetId, ProductId)>>;
    /// The warranty policy each of these assets falls under (its product's, else its
    /// category's), in one read; assets under none, and unknown ids, are left out. With
    /// an asset's usage archive (`Asset::warranty_facts`) this is all its warranty needs.
    async fn asset_policies(
        &self,
        asset_ids: &[AssetId],
    ) -> StoreResult<Vec<(AssetId, WarrantyPolicy)>>;
    /// Adds entries to items' usage archives, all in one transaction.
    async fn add_asset_events(
        &self,
        actor: &Actor,
        items: &[(AssetId, AssetEventDraft)],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>>;
}
