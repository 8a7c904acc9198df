//! Staff notifications.

use super::*;
use crate::desk_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Staff notifications.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait NotificationStore: Send + Sync {
    async fn notifications(&self, user_id: UserId, limit: u32) -> StoreResult<Vec<Notification>>;
    /// How many of a user's notifications are unread, counted up to `cap`.
    async fn unread_notifications(&self, user_id: UserId, cap: i64) -> StoreResult<i64>;
    /// Marks all of a user's notifications read.
    async fn mark_notifications_read(
        &self,
        user_id: UserId,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Notifies these users of something not tied to one request (a sweep's summary).
    async fn notify(
        &self,
        users: &[UserId],
        kind: &str,
        detail: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
}
