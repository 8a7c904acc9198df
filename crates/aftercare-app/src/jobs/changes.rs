//! The change log's one reader, and what its events mean to each consumer. Every
//! consumer keeps its cursor in one table (`consumer_cursors`), advanced only after the
//! effects of what it read are written, so a crash makes it read a batch again, never skip
//! one (each consumer's effects are keyed so that reading twice does no harm).

use crate::error::AppError;
use crate::model::ChangeEvent;
use crate::ports::ChangeLog;
use crate::service::App;

/// The consumers that keep their cursor in the database (the search index keeps its own,
/// inside the index, as each server has one).
pub const VALUE: &str = "value";
pub const FEEDBACK: &str = "feedback";
pub const SURVEY: &str = "survey";
pub const CAMPAIGN: &str = "campaign";

/// What each consumer reads of the log: the entities its rounds look at.
pub const VALUE_READS: &[&str] = &[
    "customer",
    "customer_tier",
    "order",
    "request",
    "interaction",
    "referral",
    "rma",
];
pub const FEEDBACK_READS: &[&str] = &["request", "interaction"];
pub const SURVEY_READS: &[&str] = &["request", "order"];
pub const CAMPAIGN_READS: &[&str] = &["request", "improvement", "feedback"];

/// Events a consumer read in one round.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The cursor before the round.
    pub after: i64,
    /// The last event read (`after` when none was).
    pub last: i64,
    pub events: Vec<ChangeEvent>,
    /// More of the log was waiting when this batch was read.
    pub more: bool,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.last <= self.after
    }

    /// Whether the batch took as many events as it was allowed: more are likely waiting,
    /// and the consumer's next round should come at once rather than after its pause (a
    /// large import is then absorbed at the rounds' own pace, not one batch per pause).
    pub fn full(&self, limit: u32) -> bool {
        self.more || self.events.len() >= limit as usize
    }

    /// How far the cursor moves: ids can have gaps, so this counts ids, not rows.
    pub fn span(&self) -> usize {
        (self.last - self.after).max(0) as usize
    }
}

/// Reads the change log for consumers: only the [`ChangeLog`] port is needed.
pub struct ChangeReader<'a, L: ?Sized = dyn ChangeLog> {
    pub log: &'a L,
}

impl<L: ?Sized + ChangeLog> ChangeReader<'_, L> {
    /// The events about `entities` after `after`, at most `limit`: the others are passed
    /// over in the store, unread.
    pub async fn after(
        &self,
        after: i64,
        limit: u32,
        entities: &[&str],
    ) -> Result<Batch, AppError> {
        let read = self.log.changes_of(after, limit, entities).await?;
        Ok(Batch {
            after,
            last: read.last.max(after),
            more: read.more,
            events: read.events,
        })
    }

    /// The events about `entities` after `consumer`'s cursor, at most `limit`.
    pub async fn read(
        &self,
        consumer: &str,
        limit: u32,
        entities: &[&str],
    ) -> Result<Batch, AppError> {
        let after = self.log.consumer_cursor(consumer).await?;
        self.after(after, limit, entities).await
    }

    /// Moves `consumer`'s cursor past `batch`, once its effects are written.
    pub async fn consumed(&self, consumer: &str, batch: &Batch) -> Result<(), AppError> {
        if !batch.is_empty() {
            self.log.set_consumer_cursor(consumer, batch.last).await?;
        }
        Ok(())
    }
}

impl<S: ?Sized + ChangeLog> App<S> {
    fn change_reader(&self) -> ChangeReader<'_, S> {
        ChangeReader { log: &*self.store }
    }

    pub(crate) async fn changes_after(
        &self,
        after: i64,
        limit: u32,
        entities: &[&str],
    ) -> Result<Batch, AppError> {
        self.change_reader().after(after, limit, entities).await
    }

    pub(crate) async fn read_changes(
        &self,
        consumer: &str,
        limit: u32,
        entities: &[&str],
    ) -> Result<Batch, AppError> {
        self.change_reader().read(consumer, limit, entities).await
    }

    pub(crate) async fn consumed(&self, consumer: &str, batch: &Batch) -> Result<(), AppError> {
        self.change_reader().consumed(consumer, batch).await
    }
}

/// The customers whose value the events may change: the customer's own record and tier,
/// and whoever an order, request, contact, referral or return names (as customer or as
/// referrer). Sorted, without repeats.
pub fn customers_touched(events: &[ChangeEvent]) -> Vec<aftercare_domain::CustomerId> {
    let mut ids = Vec::new();
    for e in events {
        match e.entity.as_str() {
            "customer" | "customer_tier" => ids.push(aftercare_domain::CustomerId(e.entity_id)),
            "order" | "request" | "interaction" | "referral" | "rma" => {
                let after = &e.payload["after"];
                ids.extend(
                    ["customer_id", "referrer_id"]
                        .iter()
                        .filter_map(|key| after[key].as_i64())
                        .map(aftercare_domain::CustomerId),
                );
            }
            _ => {}
        }
    }
    sorted(ids)
}

/// The records of `kinds` the events touched, as (kind, id) in event order. A merge logs
/// both customers; the merged one is then no longer found, and so leaves the index.
pub fn records_touched(events: &[ChangeEvent], kinds: &[&'static str]) -> Vec<(&'static str, i64)> {
    events
        .iter()
        .filter_map(|e| {
            kinds
                .iter()
                .find(|k| **k == e.entity)
                .map(|k| (*k, e.entity_id))
        })
        .collect()
}

/// Ids of the records of one entity the events touched (any action), sorted.
pub fn ids_of(events: &[ChangeEvent], entity: &str) -> Vec<i64> {
    sorted(
        events
            .iter()
            .filter(|e| e.entity == entity)
            .map(|e| e.entity_id)
            .collect(),
    )
}

/// Ids of the records the events created with this kind (`order.create`), sorted.
pub fn ids_of_kind(events: &[ChangeEvent], kind: &str) -> Vec<i64> {
    sorted(
        events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.entity_id)
            .collect(),
    )
}

fn sorted<T: Ord>(mut ids: Vec<T>) -> Vec<T> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::StoreResult;
    use serde_json::json;

    fn event(
        id: i64,
        kind: &str,
        entity: &str,
        entity_id: i64,
        after: serde_json::Value,
    ) -> ChangeEvent {
        ChangeEvent {
            id,
            at: "2026-12-05T00:00:00.000000Z".into(),
            kind: kind.into(),
            entity: entity.into(),
            entity_id,
            payload: json!({ "after": after }),
        }
    }

    #[test]
    fn a_full_batch_asks_for_the_next_round_at_once() {
        let events: Vec<ChangeEvent> = (1..=3)
            .map(|i| event(i, "order.create", "order", i, json!({})))
            .collect();
        let batch = Batch {
            after: 0,
            last: 3,
            events,
            more: false,
        };
        assert!(batch.full(3) && !batch.full(4));
        let empty = Batch {
            after: 3,
            last: 3,
            events: vec![],
            more: false,
        };
        assert!(!empty.full(3) && empty.is_empty());
    }

    #[test]
    fn value_is_touched_by_a_customers_own_changes_and_what_names_them() {
        let events = [
            event(1, "customer.update", "customer", 7, json!({})),
            event(2, "order.create", "order", 100, json!({ "customer_id": 3 })),
            event(
                3,
                "referral.create",
                "referral",
                5,
                json!({ "customer_id": 9, "referrer_id": 3 }),
            ),
            event(
                4,
                "product.create",
                "product",
                2,
                json!({ "customer_id": 99 }),
            ),
            event(5, "customer_tier.update", "customer_tier", 7, json!({})),
        ];
        assert_eq!(
            customers_touched(&events),
            [3, 7, 9].map(aftercare_domain::CustomerId)
        );
    }

    #[test]
    fn search_sees_only_its_kinds_in_event_order() {
        let events = [
            event(1, "request.update", "request", 4, json!({})),
            event(2, "order.create", "order", 1, json!({})),
            event(3, "customer.merge", "customer", 2, json!({})),
        ];
        assert_eq!(
            records_touched(&events, &["customer", "request"]),
            vec![("request", 4), ("customer", 2)]
        );
    }

    #[test]
    fn created_records_are_told_apart_from_updated_ones() {
        let events = [
            event(1, "order.create", "order", 8, json!({})),
            event(2, "order.update", "order", 9, json!({})),
            event(3, "request.update", "request", 4, json!({})),
            event(4, "request.create", "request", 4, json!({})),
        ];
        assert_eq!(ids_of_kind(&events, "order.create"), vec![8]);
        assert_eq!(ids_of(&events, "request"), vec![4]);
    }

    #[test]
    fn an_empty_batch_does_not_move_the_cursor() {
        let b = Batch {
            after: 10,
            last: 10,
            events: vec![],
            more: false,
        };
        assert!(b.is_empty());
        assert_eq!(b.span(), 0);
    }

    /// The change log in memory: events with gaps in their ids, a cursor per consumer.
    #[derive(Default)]
    struct Log {
        events: Vec<ChangeEvent>,
        cursors: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    }

    #[async_trait::async_trait]
    impl ChangeLog for Log {
        async fn changes(&self, after: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
            Ok(self
                .events
                .iter()
                .filter(|e| e.id > after)
                .take(limit as usize)
                .cloned()
                .collect())
        }
        async fn latest_event_id(&self) -> StoreResult<i64> {
            Ok(self.events.last().map_or(0, |e| e.id))
        }
        async fn consumer_cursor(&self, consumer: &str) -> StoreResult<i64> {
            Ok(self
                .cursors
                .lock()
                .unwrap()
                .get(consumer)
                .copied()
                .unwrap_or(0))
        }
        async fn set_consumer_cursor(&self, consumer: &str, event_id: i64) -> StoreResult<()> {
            self.cursors
                .lock()
                .unwrap()
                .insert(consumer.into(), event_id);
            Ok(())
        }
    }

    fn log_of(ids: &[i64]) -> Log {
        Log {
            events: ids
                .iter()
                .map(|id| event(*id, "customer.update", "customer", *id, json!({})))
                .collect(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_consumer_reads_in_batches_and_moves_on_only_once_it_has_consumed() {
        let log = log_of(&[1, 2, 5, 9, 10]);
        let reader = ChangeReader { log: &log };
        let first = reader.read(VALUE, 3, VALUE_READS).await.unwrap();
        assert_eq!((first.after, first.last, first.events.len()), (0, 5, 3));
        assert_eq!(first.span(), 5, "ids, not rows: gaps count");
        // A consumer that died before consuming reads the same batch again.
        let again = reader.read(VALUE, 3, VALUE_READS).await.unwrap();
        assert_eq!(again.last, 5);
        reader.consumed(VALUE, &again).await.unwrap();
        let second = reader.read(VALUE, 3, VALUE_READS).await.unwrap();
        assert_eq!((second.after, second.last), (5, 10));
        reader.consumed(VALUE, &second).await.unwrap();
        let done = reader.read(VALUE, 3, VALUE_READS).await.unwrap();
        assert!(done.is_empty());
        reader.consumed(VALUE, &done).await.unwrap();
        assert_eq!(log.consumer_cursor(VALUE).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn each_consumer_keeps_its_own_cursor() {
        let log = log_of(&[3, 4]);
        let reader = ChangeReader { log: &log };
        let b = reader.read(FEEDBACK, 10, FEEDBACK_READS).await.unwrap();
        reader.consumed(FEEDBACK, &b).await.unwrap();
        assert_eq!(
            reader
                .read(FEEDBACK, 10, FEEDBACK_READS)
                .await
                .unwrap()
                .events
                .len(),
            0
        );
        assert_eq!(
            reader
                .read(SURVEY, 10, &["customer"])
                .await
                .unwrap()
                .events
                .len(),
            2
        );
        assert_eq!(log.consumer_cursor(SURVEY).await.unwrap(), 0);
    }
}
