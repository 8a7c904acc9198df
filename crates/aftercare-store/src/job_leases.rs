//! Leases of shared background jobs (`job_leases`, one row per job).

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::ports::{JobLeases, LeaseState, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl JobLeases for SqlStore {
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> StoreResult<LeaseState> {
        // One statement: PostgreSQL locks the row and checks the condition on its latest
        // version, SQLite has one writer at a time, so of two servers asking one wins.
        let taken = exec(
            &self.db.write,
            "INSERT INTO job_leases (job, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE job_leases.holder = excluded.holder OR job_leases.until <= $4",
            &[job.into(), holder.into(), until.into(), now.into()],
        )
        .await?;
        if taken == 1 {
            return Ok(LeaseState::Held);
        }
        let row: Option<(String, String)> = fetch_opt(
            &self.db.write,
            "SELECT holder, until FROM job_leases WHERE job = $1",
            &[job.into()],
        )
        .await?;
        Ok(match row {
            Some((holder, until)) => LeaseState::HeldBy {
                until: until.parse().map_err(|_| StoreError::Corrupt {
                    table: "job_leases",
                    id: 0,
                    column: "until",
                    value: until.clone(),
                })?,
                holder,
            },
            // Released between the two statements: free, ask again next round.
            None => LeaseState::HeldBy {
                holder: String::new(),
                until: now,
            },
        })
    }

    async fn release_lease(&self, job: &str, holder: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "DELETE FROM job_leases WHERE job = $1 AND holder = $2",
            &[job.into(), holder.into()],
        )
        .await?;
        Ok(())
    }
}
