//! Warranty claims (三包索赔) partner outlets file, and the brand's decisions on them.

use super::*;
use crate::claims_model::*;
use aftercare_domain::claims::ClaimStatus;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Warranty claims (三包索赔) partner outlets file, and the brand's decisions on them.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait ClaimStore: Send + Sync {
    /// Files a claim, submitted; `Conflict("claim_exists")` when the request has one.
    /// Audited.
    async fn file_claim(&self, actor: &Actor, c: &NewClaim, now: Timestamp) -> StoreResult<i64>;
    /// Corrects a claim that was sent back, still at `version`, and submits it again
    /// (else `Conflict("version_conflict")`, or `NotFound`). Audited.
    async fn refile_claim(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        parts: i64,
        labour: i64,
        note: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Records a decision on a submitted claim still at `version`. Audited.
    async fn decide_claim(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        status: ClaimStatus,
        approved: Option<i64>,
        note: Option<&str>,
        by: UserId,
        month: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn claim(&self, id: i64) -> StoreResult<Option<Claim>>;
    /// Claims, newest first, at most `limit`.
    async fn claims(
        &self,
        status: Option<ClaimStatus>,
        outlet: Option<OutletId>,
        month: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Claim>>;
    /// The claim filed on a request, if any.
    async fn claim_of_request(&self, request: RequestId) -> StoreResult<Option<Claim>>;
}
