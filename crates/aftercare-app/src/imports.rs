//! Large imports written in steps: on SQLite, where one transaction holds every other
//! writer back, an import of more than [`IMPORT_STEP_ROWS`] rows keeps its plan first, then
//! writes a step at a time; other writes go in between steps. A run a crash interrupted
//! is carried on from its last step by [`App::resume_imports`] (a background job), so a
//! file is never left half written (decision 0015).

use crate::error::AppError;
use crate::input::{CustomerInput, OrderDraft};
use crate::ports::{self, Actor, ImportStep};
use crate::service::App;
use aftercare_domain::customer::CustomerDraft;
use jiff::ToSpan;

/// Rows written per step.
pub const IMPORT_STEP_ROWS: usize = 1_000;

/// A run that has not moved for this long was left by a crash or a stop.
const STALE_MINUTES: i64 = 2;

fn plan_error(e: serde_json::Error) -> AppError {
    AppError::Internal(format!("import plan: {e}"))
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::CustomerStore + ports::ImportStore + ports::OrderStore,
{
    /// Writes validated customers (`inputs[i]` validated into `drafts[i]`): in one
    /// transaction, or in steps on SQLite when there are many. Answers how many.
    pub(crate) async fn write_customer_import(
        &self,
        actor: &Actor,
        inputs: &[CustomerInput],
        drafts: &[CustomerDraft],
    ) -> Result<usize, AppError> {
        if drafts.len() > IMPORT_STEP_ROWS {
            let plan = serde_json::to_string(inputs).map_err(plan_error)?;
            let claims = ports::customer_keys(drafts);
            if let Some(run) = self
                .store
                .begin_import(actor, "customers", &plan, &claims, drafts.len(), self.now())
                .await?
            {
                return self.customer_steps(actor, run, drafts, 0).await;
            }
        }
        Ok(self
            .store
            .create_customers(actor, drafts, self.now())
            .await?
            .len())
    }

    /// Writes validated orders, as [`App::write_customer_import`].
    pub(crate) async fn write_order_import(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
    ) -> Result<usize, AppError> {
        if drafts.len() > IMPORT_STEP_ROWS {
            let plan = serde_json::to_string(drafts).map_err(plan_error)?;
            let claims = ports::order_keys(drafts);
            if let Some(run) = self
                .store
                .begin_import(actor, "orders", &plan, &claims, drafts.len(), self.now())
                .await?
            {
                return self.order_steps(actor, run, drafts, 0).await;
            }
        }
        Ok(self
            .store
            .create_orders(actor, drafts, self.now())
            .await?
            .len())
    }

    async fn customer_steps(
        &self,
        actor: &Actor,
        run: i64,
        drafts: &[CustomerDraft],
        from: usize,
    ) -> Result<usize, AppError> {
        self.steps(run, drafts.len(), from, |step| async move {
            let rows = &drafts[step.before..step.after];
            self.store
                .import_customers_step(actor, rows, step, self.now())
                .await
                .map(drop)
        })
        .await
    }

    async fn order_steps(
        &self,
        actor: &Actor,
        run: i64,
        drafts: &[OrderDraft],
        from: usize,
    ) -> Result<usize, AppError> {
        self.steps(run, drafts.len(), from, |step| async move {
            let rows = &drafts[step.before..step.after];
            self.store
                .import_orders_step(actor, rows, step, self.now())
                .await
                .map(drop)
        })
        .await
    }

    /// Writes rows `from..total` of a run a step at a time with `write`, then ends the run.
    /// Answers `total`.
    async fn steps<F, Fut>(
        &self,
        run: i64,
        total: usize,
        from: usize,
        write: F,
    ) -> Result<usize, AppError>
    where
        F: Fn(ImportStep) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::StoreError>>,
    {
        let mut done = from;
        while done < total {
            let after = (done + IMPORT_STEP_ROWS).min(total);
            write(ImportStep {
                run,
                before: done,
                after,
            })
            .await?;
            done = after;
        }
        self.store.finish_import(run).await?;
        Ok(total)
    }

    /// Carries on every import run a crash or a stop left unfinished, from its last
    /// step, as whoever started it. Answers the rows written.
    pub async fn resume_imports(&self) -> Result<usize, AppError> {
        let idle_since = self.clock.now() - STALE_MINUTES.minutes();
        let mut written = 0;
        for run in self.store.stale_imports(idle_since).await? {
            let done = run.done.min(run.total);
            written += match run.kind.as_str() {
                "customers" => {
                    let inputs: Vec<CustomerInput> =
                        serde_json::from_str(&run.plan).map_err(plan_error)?;
                    // The plan holds what validated when the import began; validation
                    // does not depend on the day or on the database.
                    let drafts = inputs
                        .iter()
                        .map(CustomerInput::validate)
                        .collect::<Result<Vec<_>, _>>()?;
                    self.customer_steps(&run.actor, run.id, &drafts, done)
                        .await?
                        - done
                }
                "orders" => {
                    let drafts: Vec<OrderDraft> =
                        serde_json::from_str(&run.plan).map_err(plan_error)?;
                    self.order_steps(&run.actor, run.id, &drafts, done).await? - done
                }
                other => {
                    return Err(AppError::Internal(format!("import run of kind {other}")));
                }
            };
            tracing::info!(run = run.id, kind = %run.kind, from = done, "import run carried on");
        }
        Ok(written)
    }
}
