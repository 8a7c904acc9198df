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
    /// Gives a member of staff a calendar subscription secret (its hash), replacing the
    /// one they had; `None` revokes it. Audited.
    async fn set_calendar_feed(
        &self,
        actor: &Actor,
        user_id: aftercare_domain::UserId,
        token_hash: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Whose calendar a subscription secret (its hash) opens.
    async fn calendar_feed_user(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<aftercare_domain::UserId>>;
    /// When a member of staff's subscription was made, if they have one.
    async fn calendar_feed_since(
        &self,
        user_id: aftercare_domain::UserId,
    ) -> StoreResult<Option<Timestamp>>;
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
