//! The `NotificationStore` port over SQL: staff notifications.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::desk_model::*;
use aftercare_app::ports::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

#[async_trait]
impl NotificationStore for SqlStore {
    async fn notifications(&self, user_id: UserId, limit: u32) -> StoreResult<Vec<Notification>> {
        #[derive(sqlx::FromRow)]
        struct N {
            id: i64,
            request_id: Option<i64>,
            number: Option<String>,
            kind: String,
            detail: Option<String>,
            created_at: String,
            read_at: Option<String>,
        }
        let ns: Vec<N> = fetch_all(
            &self.db.read,
            "SELECT n.id, n.request_id, r.number, n.kind, n.detail, n.created_at, n.read_at FROM notifications n \
             LEFT JOIN requests r ON r.id = n.request_id WHERE n.user_id = $1 ORDER BY n.id DESC LIMIT $2",
            &[V::I(user_id.get()), V::I(limit as i64)],
        )
        .await?;
        ns.into_iter()
            .map(|n| {
                Ok(Notification {
                    id: n.id,
                    request_id: n.request_id.map(aftercare_domain::RequestId),
                    request_number: n.number,
                    kind: n.kind,
                    detail: n.detail,
                    created_at: Cells::of("notifications", n.id).at("created_at", &n.created_at)?,
                    read: n.read_at.is_some(),
                })
            })
            .collect()
    }

    async fn unread_notifications(&self, user_id: UserId, cap: i64) -> StoreResult<i64> {
        Ok(scalar(
            &self.db.read,
            "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = $1 AND read_at IS NULL \
             LIMIT $2) t",
            &[V::I(user_id.get()), V::I(cap)],
        )
        .await?
        .unwrap_or(0))
    }

    async fn mark_notifications_read(
        &self,
        user_id: UserId,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        exec(
            &self.db.write,
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
            &[now.into(), V::I(user_id.get())],
        )
        .await
        .map(|_| ())
    }

    async fn notify(
        &self,
        users: &[UserId],
        kind: &str,
        detail: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        for u in users {
            exec(
                &mut *tx,
                "INSERT INTO notifications (user_id, kind, detail, created_at) VALUES ($1, $2, $3, $4)",
                &[V::I(u.get()), kind.into(), detail.into(), now.into()],
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }
}
