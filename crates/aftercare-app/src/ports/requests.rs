//! Service requests with their messages, history and attachments.

use super::*;
use crate::desk_model::*;
use crate::model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Service requests with their messages, history and attachments.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait RequestStore: Send + Sync {
    /// Stores a new request (id, number and version of `r` are ignored) and gives it the
    /// next number of its year. Returns id and number.
    async fn create_request(
        &self,
        actor: &Actor,
        r: &ServiceRequest,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<(RequestId, String)>;
    /// Writes each request that is still at its `version`, with its effects, all in one
    /// transaction; says for each whether it was written (false: someone changed it since).
    async fn update_requests(
        &self,
        actor: &Actor,
        items: &[(ServiceRequest, Effects)],
        now: Timestamp,
    ) -> StoreResult<Vec<bool>>;
    /// Everything opening a request reads before it writes, given the input's ids: on
    /// SQLite in one hand-off to the database (decision 0023).
    async fn opening_reads(&self, q: &OpeningQuery) -> StoreResult<OpeningReads>;
    async fn request(&self, id: RequestId) -> StoreResult<Option<ServiceRequest>>;
    async fn request_id_by_number(&self, number: &str) -> StoreResult<Option<RequestId>>;
    async fn requests(&self, q: &RequestFilter) -> StoreResult<Page<RequestRow>>;
    /// Counts up to `cap` matching requests.
    async fn count_requests(&self, q: &RequestFilter, cap: i64) -> StoreResult<i64>;
    /// What the service dashboard's trends are made of, per UTC hour since `since`
    /// (`2026-11-23T02`), for one outlet or all.
    async fn service_trend(
        &self,
        since: Timestamp,
        outlet: Option<OutletId>,
    ) -> StoreResult<TrendRows>;
    async fn messages(&self, request_id: RequestId) -> StoreResult<Vec<RequestMessage>>;
    async fn history(&self, request_id: RequestId) -> StoreResult<Vec<HistoryEntry>>;
    /// An attachment's request, description and bytes.
    async fn attachment(
        &self,
        id: i64,
    ) -> StoreResult<Option<(RequestId, AttachmentMeta, Vec<u8>)>>;
    /// Requests whose SLA needs a look at `now`, oldest first.
    async fn sla_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ServiceRequest>>;
    /// Requests opened from `since` to `until` and not cancelled, newest first, at most
    /// `limit`: when each was opened, answered, resolved and first visited (a visit done).
    async fn request_times(
        &self,
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<RequestTimes>>;
    /// The complaints opened in [from, to): their times, SLA outcomes and findings.
    async fn complaints_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<ComplaintFacts>>;
}

/// What [`RequestStore::opening_reads`] is asked for.
#[derive(Debug, Clone)]
pub struct OpeningQuery {
    pub customer_id: CustomerId,
    pub asset_id: Option<AssetId>,
    pub order_id: Option<OrderId>,
    /// Read the item's warranty policy and the contracts on it (an after-sale request).
    pub who_pays: bool,
    /// Read the item's last resolved repair (a repair).
    pub last_repair: bool,
}

/// What [`RequestStore::opening_reads`] reads.
#[derive(Debug, Clone, Default)]
pub struct OpeningReads {
    /// None: no such customer.
    pub facts: Option<ServiceFacts>,
    /// The item asked for, with its usage archive; warranty not filled in.
    pub asset: Option<Asset>,
    /// The customer of the order asked for; none: no such order.
    pub order_customer: Option<CustomerId>,
    pub outlets: Vec<Outlet>,
    pub staff: Vec<StaffProfile>,
    pub config: DeskConfig,
    /// The item's product (none without an item).
    pub product: Option<Product>,
    /// Every category, when an item was asked for (its product line is found in them).
    pub categories: Vec<Category>,
    /// With `who_pays`: the item's warranty policy and the contracts on it.
    pub policy: Option<aftercare_domain::catalog::WarrantyPolicy>,
    pub contracts: Vec<crate::care_model::ServiceContract>,
    /// With `last_repair`: the item's last resolved repair and when it was resolved.
    pub last_repair: Option<(RequestId, Timestamp)>,
}
