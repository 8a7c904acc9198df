//! The `SearchSource` port.

use crate::ports::StoreResult;
use crate::search_model::*;
use async_trait::async_trait;

/// Where the index's documents come from.
#[async_trait]
pub trait SearchSource: Send + Sync {
    /// These records as documents; a missing id is simply left out.
    async fn search_docs(&self, kind: &str, ids: &[i64]) -> StoreResult<Vec<SearchDoc>>;
    /// Up to `limit` records of a kind with ids above `after`, in id order.
    async fn search_docs_after(
        &self,
        kind: &str,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<SearchDoc>>;
}
