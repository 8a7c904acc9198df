//! The `ImportStore` port over SQL: on SQLite a large import is planned in one
//! transaction (its rows and the unique keys they will take), then written in steps, each
//! with its progress, so other writers get in between steps and a crash leaves a plan to
//! carry on from rather than part of a file (decision 0015).

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::input::OrderDraft;
use aftercare_app::ports::{Actor, ImportRun, ImportStep, ImportStore, StoreResult, stamp};
pub(crate) use aftercare_app::ports::{customer_keys, order_keys};
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::{CustomerId, OrderId, UserId};
use async_trait::async_trait;
use sqlx::AnyConnection;

/// Within a step's transaction: moves the run from `step.before` to `step.after` (or
/// fails, if someone else wrote the step) and releases the claims the step's rows take
/// up, so SQLite's triggers let them in.
pub(crate) async fn take_step(
    tx: &mut AnyConnection,
    step: ImportStep,
    keys: &[(&'static str, String)],
    now: &str,
) -> Result<(), StoreError> {
    let moved = exec(
        &mut *tx,
        "UPDATE import_runs SET done = $1, updated_at = $2 WHERE id = $3 AND done = $4",
        &[
            V::I(step.after as i64),
            now.into(),
            V::I(step.run),
            V::I(step.before as i64),
        ],
    )
    .await?;
    if moved == 0 {
        return Err(StoreError::Conflict {
            code: "import_step_taken",
            field: None,
        });
    }
    for kind in ["customer_ref", "order_ref", "serial"] {
        let of_kind: Vec<String> = keys
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect();
        for chunk in of_kind.chunks(IN_CHUNK) {
            // By the primary key alone: a key is claimed by one run at most, and the run's
            // own index would make each statement visit every claim the run still holds.
            let mut sql = Sql::new("DELETE FROM import_claims WHERE kind = ");
            sql.bind(kind);
            in_list(&mut sql, "key", chunk);
            exec(&mut *tx, &sql.text, &sql.args).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn begin_import(
        &self,
        actor: &Actor,
        kind: &str,
        plan: &str,
        claims: &[(&'static str, String)],
        total: usize,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<i64>> {
        if self.db.backend != Backend::Sqlite {
            return Ok(None);
        }
        let now = stamp(now);
        let mut tx = self.begin().await?;
        let run = insert_id(
            &mut *tx,
            "INSERT INTO import_runs (kind, actor_id, actor_label, total, done, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
            &[
                kind.into(),
                V::OptI(actor.user_id.map(UserId::get)),
                (&actor.label).into(),
                V::I(total as i64),
                (&now).into(),
            ],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO import_plans (run_id, plan) VALUES ($1, $2)",
            &[V::I(run), plan.into()],
        )
        .await?;
        let rows: Vec<Vec<V>> = claims
            .iter()
            .map(|(kind, key)| vec![(*kind).into(), key.into(), V::I(run)])
            .collect();
        // Two rows of the plan claiming one key fail the primary key: the caller checked
        // the file for repeats, so that is another running import's claim.
        bulk_insert(
            &mut tx,
            self.db.backend,
            "import_claims",
            &["kind", "key", "run_id"],
            &rows,
        )
        .await?;
        // SQLite has one writer: nothing can take a key between this check and the claim.
        let taken = scalar(
            &mut *tx,
            "SELECT COUNT(*) FROM import_claims c WHERE c.run_id = $1 AND (\
             (c.kind = 'customer_ref' AND EXISTS (SELECT 1 FROM customers x WHERE x.external_ref = c.key)) \
             OR (c.kind = 'order_ref' AND EXISTS (SELECT 1 FROM orders x WHERE x.external_ref = c.key)) \
             OR (c.kind = 'serial' AND EXISTS (SELECT 1 FROM assets x WHERE x.serial = c.key)))",
            &[V::I(run)],
        )
        .await?
        .unwrap_or(0);
        if taken > 0 {
            return Err(StoreError::Conflict {
                code: "already_exists",
                field: None,
            });
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(run))
    }

    async fn import_customers_step(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        step: ImportStep,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<CustomerId>> {
        self.write_customers(actor, drafts, Some(step), now).await
    }

    async fn import_orders_step(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        step: ImportStep,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<OrderId>> {
        self.write_orders(actor, drafts, Some(step), now).await
    }

    async fn finish_import(&self, run: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "DELETE FROM import_claims WHERE run_id = $1",
            &[V::I(run)],
        )
        .await?;
        exec(
            &mut *tx,
            "DELETE FROM import_plans WHERE run_id = $1",
            &[V::I(run)],
        )
        .await?;
        exec(
            &mut *tx,
            "DELETE FROM import_runs WHERE id = $1",
            &[V::I(run)],
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn stale_imports(&self, idle_since: jiff::Timestamp) -> StoreResult<Vec<ImportRun>> {
        let rows: Vec<(i64, String, Option<i64>, String, String, i64, i64)> = fetch_all(
            &self.db.write,
            "SELECT r.id, r.kind, r.actor_id, r.actor_label, p.plan, r.total, r.done \
             FROM import_runs r JOIN import_plans p ON p.run_id = r.id \
             WHERE r.updated_at < $1 ORDER BY r.id",
            &[stamp(idle_since).into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, actor_id, label, plan, total, done)| ImportRun {
                id,
                kind,
                actor: Actor {
                    user_id: actor_id.map(UserId),
                    label,
                    idempotency: None,
                },
                plan,
                total: total.max(0) as usize,
                done: done.max(0) as usize,
            })
            .collect())
    }
}
