//! Field visits.

use super::*;
use crate::desk_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Field visits.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait VisitStore: Send + Sync {
    /// Books a visit; `Conflict(visit_clash)` if the technician is booked at that time.
    async fn book_visit(&self, actor: &Actor, v: &NewVisit, now: Timestamp)
    -> StoreResult<VisitId>;
    async fn visits(&self, q: &VisitFilter) -> StoreResult<Vec<Visit>>;
    async fn visit(&self, id: VisitId) -> StoreResult<Option<Visit>>;
    /// Writes a visit's status and report; `fx` go with it (on its request).
    async fn update_visit(
        &self,
        actor: &Actor,
        v: &Visit,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<()>;
}
