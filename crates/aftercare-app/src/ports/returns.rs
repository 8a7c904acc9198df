//! Returns, exchanges and refunds (RMAs).

use super::*;
use crate::desk_model::*;
use async_trait::async_trait;

/// Returns, exchanges and refunds (RMAs).
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait ReturnStore: Send + Sync {
    async fn create_rma(
        &self,
        actor: &Actor,
        request_id: i64,
        asset_id: i64,
        kind: &str,
        reason: &str,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<i64>;
    async fn rma(&self, id: i64) -> StoreResult<Option<Rma>>;
    async fn rmas(&self, request_id: i64) -> StoreResult<Vec<Rma>>;
    /// Writes an authorisation's new state if it is still in `from`; in an exchange's
    /// completion, also records the replacement item (product, serial, day) and links it.
    /// `Conflict(rma_changed)` if it moved meanwhile, `Conflict(serial_taken)` for a known
    /// serial. Returns the replacement's id.
    async fn update_rma(
        &self,
        actor: &Actor,
        r: &Rma,
        from: &str,
        decided_by: Option<i64>,
        replacement: Option<(i64, String, String)>,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<Option<i64>>;
}
