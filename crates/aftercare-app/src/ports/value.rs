//! The `ValueStore` port.

use super::Actor;
use crate::model::Page;
use crate::ports::StoreResult;
use crate::value_model::*;
use aftercare_domain::{CustomerId, UserId};
use aftercare_insight::value::{CustomerFacts, ValueScore, ValueSettings};
use async_trait::async_trait;
use jiff::civil::Date;

/// Storage of customer value.
#[async_trait]
pub trait ValueStore: Send + Sync {
    async fn value_settings(&self) -> StoreResult<Option<String>>;
    async fn set_value_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// The facts of every customer (`None`) or of these, as of a day.
    async fn customer_facts(
        &self,
        as_of: Date,
        s: &ValueSettings,
        ids: Option<&[CustomerId]>,
    ) -> StoreResult<Vec<CustomerFacts>>;
    /// Writes scores: the values, tiers of unpinned customers (with a timeline entry when
    /// it changes), and stage changes (history and timeline), in one transaction.
    async fn write_scores(
        &self,
        actor: &Actor,
        scores: &[(ValueScore, CustomerFacts)],
        as_of: Date,
        now: jiff::Timestamp,
    ) -> StoreResult<ScoreChanges>;
    async fn save_value_model(
        &self,
        model: &str,
        settings: &str,
        seconds: f64,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// (fitted_at, seconds, model json, settings json) of the last run.
    async fn value_model(&self) -> StoreResult<Option<(jiff::Timestamp, f64, String, String)>>;
    async fn create_value_job(&self, by: &str, now: jiff::Timestamp) -> StoreResult<i64>;
    async fn update_value_job(
        &self,
        id: i64,
        stage: &str,
        done: i64,
        total: i64,
        error: Option<&str>,
        finished: Option<jiff::Timestamp>,
    ) -> StoreResult<()>;
    async fn value_job(&self, id: i64) -> StoreResult<Option<ValueJob>>;
    async fn running_value_job(&self) -> StoreResult<Option<ValueJob>>;
    async fn customer_value(&self, customer_id: CustomerId) -> StoreResult<Option<CustomerValue>>;
    /// (tier in force, pinned) of a customer; none if there is no such customer.
    async fn customer_tier(
        &self,
        customer_id: CustomerId,
    ) -> StoreResult<Option<(Option<aftercare_domain::customer::ValueTier>, bool)>>;
    async fn unpin_tier(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn stage_history(&self, customer_id: CustomerId) -> StoreResult<Vec<StageChange>>;
    async fn segment(
        &self,
        f: &SegmentFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<SegmentRow>>;
    async fn segment_stats(&self, f: &SegmentFilter) -> StoreResult<SegmentStats>;
    async fn save_segment(
        &self,
        by: Option<UserId>,
        name: &str,
        filter: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    /// (id, name, filter json, created_at), newest first.
    async fn segments(&self) -> StoreResult<Vec<(i64, String, String, jiff::Timestamp)>>;
    async fn delete_segment(&self, id: i64) -> StoreResult<()>;
    async fn stage_counts(&self) -> StoreResult<Vec<Bucket>>;
    async fn stage_moves(&self, from: &str, to: &str) -> StoreResult<Vec<Bucket>>;
    /// (revenue, service cost) of every scored customer.
    async fn revenue_and_cost(&self) -> StoreResult<Vec<(f64, f64)>>;
    async fn add_referral(
        &self,
        actor: &Actor,
        referrer: CustomerId,
        referred: CustomerId,
        note: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
}
