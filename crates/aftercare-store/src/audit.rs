//! The `AuditStore` port over SQL: the audit log and the change log as the API lists it.

use crate::db::*;
use crate::store::*;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use async_trait::async_trait;
use serde_json::Value;

#[async_trait]
impl AuditStore for SqlStore {
    async fn audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            at: String,
            actor_label: String,
            actor_name: Option<String>,
            action: String,
            entity: String,
            entity_id: i64,
            before_json: Option<String>,
            after_json: Option<String>,
        }
        let mut sql = Sql::new(
            "SELECT * FROM (SELECT a.id, a.at, a.actor_label, u.name AS actor_name, a.action, a.entity, a.entity_id, \
             a.before_json, a.after_json FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id) x WHERE 1 = 1",
        );
        if let Some(e) = entity.filter(|e| !e.is_empty()) {
            sql.push(" AND entity = ").bind(e);
        }
        if let Some(i) = entity_id {
            sql.push(" AND entity_id = ").bind(i);
        }
        if let Some(b) = before_id {
            sql.push(" AND id < ").bind(b);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64);
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor_label,
                actor_name: r.actor_name,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                before: parse(r.before_json),
                after: parse(r.after_json),
            })
            .collect())
    }

    async fn events(&self, after_id: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            at: String,
            kind: String,
            entity: String,
            entity_id: i64,
            payload: String,
        }
        let rows: Vec<Q> = fetch_all(&self.db.read, "SELECT id, at, kind, entity, entity_id, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2", &[V::I(after_id), V::I(limit as i64)]).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChangeEvent {
                id: r.id,
                at: r.at,
                kind: r.kind,
                entity: r.entity,
                entity_id: r.entity_id,
                payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
            })
            .collect())
    }
}
