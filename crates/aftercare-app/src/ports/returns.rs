//! Returns, exchanges and refunds (RMAs).

use super::*;
use crate::desk_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Returns, exchanges and refunds (RMAs).
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait ReturnStore: Send + Sync {
    async fn create_rma(
        &self,
        actor: &Actor,
        request_id: RequestId,
        asset_id: AssetId,
        kind: RmaKind,
        reason: &str,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<RmaId>;
    async fn rma(&self, id: RmaId) -> StoreResult<Option<Rma>>;
    async fn rmas(&self, request_id: RequestId) -> StoreResult<Vec<Rma>>;
    /// Writes an authorisation's new state if it is still in `from`; in an exchange's
    /// completion, also records the replacement item (product, serial, day) and links it.
    /// `Conflict(rma_changed)` if it moved meanwhile, `Conflict(serial_taken)` for a known
    /// serial. Returns the replacement's id.
    async fn update_rma(
        &self,
        actor: &Actor,
        r: &Rma,
        from: RmaStatus,
        decided_by: Option<UserId>,
        replacement: Option<(ProductId, String, String)>,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<Option<AssetId>>;
}
