//! The change log's reader for consumers, and their cursors (`consumer_cursors`).

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::model::ChangeEvent;
use aftercare_app::ports::{ChangeLog, ChangesRead, StoreResult};
use async_trait::async_trait;

/// How many ids of the log one round may pass over per event it may take: a consumer
/// taking 2,000 events reads at most 50,000 ids of the log in a round.
const SCAN_PER_EVENT: i64 = 25;

fn event(
    (id, at, kind, entity, entity_id, payload): (i64, String, String, String, i64, String),
) -> StoreResult<ChangeEvent> {
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
}

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
        rows.into_iter().map(event).collect()
    }

    async fn changes_of(
        &self,
        after: i64,
        limit: u32,
        entities: &[&str],
    ) -> StoreResult<ChangesRead> {
        // The newest id first: what is read is a window of the log up to it, so that the
        // events of other entities, passed over by the index on the id, still move the
        // cursor (decision 0002: ids up to the newest visible one are all committed).
        let latest = self.latest_event_id().await?;
        let upto = latest.min(after.saturating_add(i64::from(limit) * SCAN_PER_EVENT));
        if upto <= after || entities.is_empty() {
            return Ok(ChangesRead {
                events: vec![],
                last: upto.max(after),
                more: upto < latest,
            });
        }
        let mut sql =
            Sql::new("SELECT id, at, kind, entity, entity_id, payload FROM events WHERE id > ");
        sql.bind(after).push(" AND id <= ").bind(upto);
        in_list(&mut sql, "entity", entities);
        sql.push(" ORDER BY id LIMIT ").bind(i64::from(limit));
        // Read on the writer's pool: a consumer that runs right after a write must see it.
        let rows: Vec<(i64, String, String, String, i64, String)> =
            fetch_all(&self.db.write, &sql.text, &sql.args).await?;
        let full = rows.len() >= limit as usize;
        let events = rows
            .into_iter()
            .map(event)
            .collect::<StoreResult<Vec<_>>>()?;
        let last = match events.last() {
            Some(e) if full => e.id,
            _ => upto,
        };
        Ok(ChangesRead {
            more: full || upto < latest,
            events,
            last,
        })
    }

    fn commits(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        // SQLite has one writer, in this process: every commit is seen here. On
        // PostgreSQL other servers write too, and consumers keep asking at their pace.
        (self.db.backend == crate::db::Backend::Sqlite).then(|| self.db.write.commits())
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
