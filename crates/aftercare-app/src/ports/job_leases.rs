//! Leases of shared background jobs: with several servers on one database, each round of
//! a shared job runs on the one server holding its lease.

use super::StoreResult;
use async_trait::async_trait;

/// Who holds a job's lease after an attempt to take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// The asking server holds it until the time it asked for.
    Held,
    /// Another server holds it until `until`.
    HeldBy {
        holder: String,
        until: jiff::Timestamp,
    },
}

#[async_trait]
pub trait JobLeases: Send + Sync {
    /// Takes `job`'s lease for `holder` until `until` when nobody holds it, its holder's
    /// time ran out (at `now`), or `holder` holds it already (a renewal). Atomic: of two
    /// servers asking at once, one gets it.
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> StoreResult<LeaseState>;
    /// Gives the lease up, so another server need not wait for it to run out.
    async fn release_lease(&self, job: &str, holder: &str) -> StoreResult<()>;
}
