//! The change log's reader for consumers, and their cursors (`consumer_cursors`).

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::model::ChangeEvent;
use aftercare_app::ports::{ChangeLog, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl ChangeLog for SqlStore {
    async fn changes(&self, after: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        // Read on the writer's pool: a consumer that runs right after a write must see it.
        let rows: Vec<(i64, String, String, String, i64, String)> = fetch_all(
            &self.db.write,
            "SELECT id, at, kind, entity, entity_id, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2",
            &[V::I(after), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter()
            .map(|(id, at, kind, entity, entity_id, payload)| {
                let payload = serde_json::from_str(&payload).map_err(|e| {
                    aftercare_app::StoreError::Backend(format!("events row {id}: payload: {e}"))
                })?;
                Ok(ChangeEvent {
                    id,
                    at,
                    kind,
                    entity,
                    entity_id,
                    payload,
                })
            })
            .collect()
    }

    async fn latest_event_id(&self) -> StoreResult<i64> {
        Ok(scalar(&self.db.write, "SELECT MAX(id) FROM events", &[])
            .await?
            .unwrap_or(0))
    }

    async fn consumer_cursor(&self, consumer: &str) -> StoreResult<i64> {
        Ok(scalar(
            &self.db.write,
            "SELECT event_id FROM consumer_cursors WHERE consumer = $1",
            &[consumer.into()],
        )
        .await?
        .unwrap_or(0))
    }

    async fn set_consumer_cursor(&self, consumer: &str, event_id: i64) -> StoreResult<()> {
        exec(
            &self.db.write,
            "INSERT INTO consumer_cursors (consumer, event_id) VALUES ($1, $2) \
             ON CONFLICT (consumer) DO UPDATE SET event_id = excluded.event_id",
            &[consumer.into(), V::I(event_id)],
        )
        .await?;
        Ok(())
    }
}
