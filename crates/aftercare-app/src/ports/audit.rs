//! The audit log, and the change log as the API lists it.

use super::*;
use crate::model::*;
use async_trait::async_trait;

/// The audit log, and the change log as the API lists it.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
    async fn events(&self, after_id: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
}
