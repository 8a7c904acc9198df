//! The `CareStore` port: care plans, service contracts, maintenance schedules, vouchers.

use super::Actor;
use crate::care_model::*;
use crate::ports::StoreResult;
use aftercare_domain::CustomerId;
use async_trait::async_trait;
use jiff::Timestamp;

#[async_trait]
pub trait CareStore: Send + Sync {
    /// Stores a new plan (`p.id == 0`) or changes one whose version is still `p.version`.
    async fn save_care_plan(&self, actor: &Actor, p: &CarePlan) -> StoreResult<i64>;
    /// Every plan, or only the active ones, by product name.
    async fn care_plans(&self, active_only: bool) -> StoreResult<Vec<CarePlan>>;
    /// Contracts of a customer, or on one item, newest first.
    async fn contracts(
        &self,
        customer_id: Option<CustomerId>,
        asset_id: Option<i64>,
    ) -> StoreResult<Vec<ServiceContract>>;
    /// The latest contracts made, newest first.
    async fn recent_contracts(&self, limit: u32) -> StoreResult<Vec<ServiceContract>>;
    /// Cancels a contract; `NotFound` when there is none or it was cancelled already.
    async fn cancel_contract(&self, actor: &Actor, id: i64, at: Timestamp) -> StoreResult<()>;

    /// Sets (or, with none, removes) a product's maintenance schedule.
    async fn set_maintenance(
        &self,
        actor: &Actor,
        product_id: i64,
        every_months: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<()>;
    async fn maintenance_schedules(&self) -> StoreResult<Vec<MaintenanceSchedule>>;
    /// Items whose product has a schedule, owned by reachable customers, still in their
    /// hands; from the item after `after_asset`, at most `limit`, by item.
    async fn scheduled_items(
        &self,
        after_asset: i64,
        limit: u32,
    ) -> StoreResult<Vec<ScheduledItem>>;

    /// Stores new vouchers (ids 0) in one transaction; returns their ids.
    async fn issue_vouchers(&self, actor: &Actor, v: &[Voucher]) -> StoreResult<Vec<i64>>;
    async fn voucher(&self, id: i64) -> StoreResult<Option<Voucher>>;
    /// A customer's voucher by its code (codes are unique per customer).
    async fn voucher_by_code(
        &self,
        customer_id: CustomerId,
        code: &str,
    ) -> StoreResult<Option<Voucher>>;
    /// A customer's vouchers, newest first.
    async fn vouchers_of(&self, customer_id: CustomerId) -> StoreResult<Vec<Voucher>>;
    /// Cancels an unused voucher whose version is still `version`.
    async fn cancel_voucher(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        at: Timestamp,
    ) -> StoreResult<()>;
}
