//! The `VocStore` port.

use super::Actor;
use crate::ports::StoreResult;
use crate::voc_model::*;
use async_trait::async_trait;

#[async_trait]
pub trait VocStore: Send + Sync {
    async fn voc_settings(&self) -> StoreResult<Option<String>>;
    async fn set_voc_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn experiences(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<ExperienceRow>>;
    async fn referral_count(&self, from: jiff::Timestamp, to: jiff::Timestamp) -> StoreResult<i64>;
    /// (group name, ladder, items) of analysed feedback received in a period, grouped by
    /// product or outlet.
    async fn ladder_counts(
        &self,
        by: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<(String, String, i64)>>;
    async fn topics(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<TopicRow>>;
}
