//! The change log, as its consumers read it: events in commit order, and one cursor per
//! consumer (decision 0002 says why the order can be trusted).

use super::StoreResult;
use crate::model::ChangeEvent;
use async_trait::async_trait;

#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The events after `after`, oldest first, at most `limit`; read where every committed
    /// write is already visible.
    async fn changes(&self, after: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
    /// The newest event's id (0 for an empty log).
    async fn latest_event_id(&self) -> StoreResult<i64>;
    /// The last event `consumer` has taken in: 0 before its first round.
    async fn consumer_cursor(&self, consumer: &str) -> StoreResult<i64>;
    async fn set_consumer_cursor(&self, consumer: &str, event_id: i64) -> StoreResult<()>;
}
