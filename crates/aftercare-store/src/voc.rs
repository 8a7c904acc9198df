//! The `VocStore` port over SQL: settings, the experiences of resolved requests, referral
//! counts, ladder counts per product or outlet, and topics.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::ports::StoreResult;
use aftercare_app::service::Actor;
use aftercare_app::voc::{ExperienceRow, TopicRow, VocStore};
use async_trait::async_trait;

#[async_trait]
impl VocStore for SqlStore {
    async fn voc_settings(&self) -> StoreResult<Option<String>> {
        self.settings_row("voc_settings").await
    }

    async fn set_voc_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        self.save_settings_row("voc_settings", actor, json, now)
            .await
    }

    async fn experiences(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<ExperienceRow>> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        let rows: Vec<(Option<i64>, i64, String)> = fetch_all(
            &self.db.read,
            "SELECT rating, resolution_breached, service_type FROM requests \
             WHERE resolved_at >= $1 AND resolved_at < $2",
            &[from.into(), to.into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(rating, breached, service_type)| {
                (rating, breached != 0, service_type == "complaint")
            })
            .collect())
    }

    async fn referral_count(&self, from: jiff::Timestamp, to: jiff::Timestamp) -> StoreResult<i64> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        Ok(scalar(
            &self.db.read,
            "SELECT COUNT(*) FROM referrals WHERE created_at >= $1 AND created_at < $2",
            &[from.into(), to.into()],
        )
        .await?
        .unwrap_or(0))
    }

    async fn ladder_counts(
        &self,
        by: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<(String, String, i64)>> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        // `by` is one of two fixed names chosen by the caller.
        let (join, name) = match by {
            "outlet" => ("JOIN outlets g ON g.id = f.outlet_id", "g.name"),
            _ => ("JOIN products g ON g.id = f.product_id", "g.name"),
        };
        fetch_all(
            &self.db.read,
            &format!(
                "SELECT {name}, f.ladder, COUNT(*) FROM feedback_items f {join} \
                 WHERE f.ladder IS NOT NULL AND f.received_at >= $1 AND f.received_at < $2 \
                 GROUP BY {name}, f.ladder"
            ),
            &[from.into(), to.into()],
        )
        .await
    }

    async fn topics(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<TopicRow>> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        let rows: Vec<(String, i64, i64, i64)> = fetch_all(
            &self.db.read,
            "SELECT topic, COUNT(*) AS items, COUNT(DISTINCT customer_id), \
             CAST(SUM(CASE WHEN sentiment = 'negative' THEN 1 ELSE 0 END) AS BIGINT) \
             FROM feedback_items WHERE topic IS NOT NULL AND received_at >= $1 AND received_at < $2 \
             GROUP BY topic ORDER BY items DESC, topic LIMIT $3",
            &[from.into(), to.into(), V::I(i64::from(limit))],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(topic, items, customers, negative)| TopicRow {
                topic,
                items,
                customers,
                negative,
            })
            .collect())
    }
}
