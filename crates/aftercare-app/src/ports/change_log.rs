//! The change log, as its consumers read it: events in commit order, and one cursor per
//! consumer (decision 0002 says why the order can be trusted).

use super::StoreResult;
use crate::model::ChangeEvent;
use async_trait::async_trait;

/// Events a consumer asked for, and how far the log was read for them.
#[derive(Debug, Clone, Default)]
pub struct ChangesRead {
    pub events: Vec<ChangeEvent>,
    /// The last event id read past (at least the last event's).
    pub last: i64,
    /// Whether more of the log is waiting beyond `last`.
    pub more: bool,
}

#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The events after `after`, oldest first, at most `limit`; read where every committed
    /// write is already visible.
    async fn changes(&self, after: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
    /// The events after `after` about these entities, oldest first, at most `limit`, with
    /// how far the log was read: the others are passed over without being read in full.
    /// By default the events are read and then filtered; a store does better.
    async fn changes_of(
        &self,
        after: i64,
        limit: u32,
        entities: &[&str],
    ) -> StoreResult<ChangesRead> {
        let events = self.changes(after, limit).await?;
        Ok(ChangesRead {
            last: events.last().map_or(after, |e| e.id),
            more: events.len() >= limit as usize,
            events: events
                .into_iter()
                .filter(|e| entities.contains(&e.entity.as_str()))
                .collect(),
        })
    }
    /// Changes each time a write commits, where every write that can log an event is seen
    /// (a single-writer database): the consumers then wait for it instead of asking the
    /// log at their pace. `None` where writes come from elsewhere too.
    fn commits(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
    /// The newest event's id (0 for an empty log).
    async fn latest_event_id(&self) -> StoreResult<i64>;
    /// The last event `consumer` has taken in: 0 before its first round.
    async fn consumer_cursor(&self, consumer: &str) -> StoreResult<i64>;
    async fn set_consumer_cursor(&self, consumer: &str, event_id: i64) -> StoreResult<()>;
}
