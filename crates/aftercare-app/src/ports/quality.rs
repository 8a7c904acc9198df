//! Scorecards' monthly figures and quality reviews.

use super::*;
use crate::quality_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Scorecards' monthly figures and quality reviews.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait QualityStore: Send + Sync {
    /// The latest resolved repair request of an item, with when it was resolved.
    async fn last_repair(&self, asset: AssetId) -> StoreResult<Option<(RequestId, Timestamp)>>;
    /// The first and last instants requests were opened at, if any.
    async fn request_span(&self) -> StoreResult<Option<(Timestamp, Timestamp)>>;
    /// The months already summed, with when; `*` is the last refresh of all.
    async fn scorecard_builds(&self) -> StoreResult<Vec<(String, Timestamp)>>;
    /// When requests were opened (to the hour) whose figures changed after `since`: the
    /// request itself, a visit reported on it or a survey answered about it.
    async fn changed_since(&self, since: Timestamp) -> StoreResult<Vec<Timestamp>>;
    /// Complaints opened in [from, to), each with the same customer's latest request
    /// resolved before it and not before `lookback` (none: the complaint is left out).
    async fn complaint_candidates(
        &self,
        from: Timestamp,
        to: Timestamp,
        lookback: Timestamp,
    ) -> StoreResult<Vec<ComplaintCandidate>>;
    /// Sums a month again: requests opened in [from, to), their visits and surveys, and the
    /// complaints laid at someone's door (`extra`), replacing what the month had. Records
    /// the month built at `now`.
    async fn rebuild_month(
        &self,
        month: &str,
        from: Timestamp,
        to: Timestamp,
        extra: &[Cell],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Records a refresh of all months as of `at`.
    async fn mark_refreshed(&self, at: Timestamp) -> StoreResult<()>;
    /// The cells of the months from `from` to `to` (YYYY-MM, inclusive), summed over the
    /// months (or per month, `by_month`), of one person or everyone.
    async fn scorecard_cells(
        &self,
        from: &str,
        to: &str,
        user: Option<UserId>,
        by_month: bool,
    ) -> StoreResult<Vec<Cell>>;
    /// Times of an outlet's requests opened in [from, to).
    async fn outlet_times(
        &self,
        outlet: OutletId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<OutletTimes>>;

    /// Requests resolved in [from, to) with someone assigned, for sampling.
    async fn review_candidates(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ReviewCandidate>>;
    /// Stores the reviews picked; a request reviewed already is skipped. Returns how many
    /// were new.
    async fn create_reviews(&self, reviews: &[NewReview], now: Timestamp) -> StoreResult<usize>;
    async fn reviews(
        &self,
        period: Option<&str>,
        status: Option<&str>,
        user: Option<UserId>,
    ) -> StoreResult<Vec<Review>>;
    async fn review(&self, id: i64) -> StoreResult<Option<Review>>;
    /// Records a review's scores at `version`. Audited.
    async fn save_review(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        scores: &[(String, i64)],
        score: i64,
        comment: Option<&str>,
        reviewer: UserId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Records the reviewed person's answer at `version`. Audited.
    async fn answer_review(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        answer: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Done reviews' scores of requests in periods `from`..=`to`: (person, count, sum).
    async fn review_scores(&self, from: &str, to: &str) -> StoreResult<Vec<(UserId, i64, i64)>>;

    /// The overview's raw figures for months starting at `bounds` (each month runs to the
    /// next bound; `days` are the same bounds as China days, for orders), grouped by
    /// `by`: all (group 0), line (product category) or outlet.
    async fn overview_facts(
        &self,
        bounds: &[Timestamp],
        days: &[jiff::civil::Date],
        by: &str,
    ) -> StoreResult<OverviewFacts>;
}
