//! The `ImportStore` port: large imports written in steps (SQLite), resumable after a crash.

use super::{Actor, StoreResult};
use crate::input::OrderDraft;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::{CustomerId, OrderId};
use async_trait::async_trait;
use jiff::Timestamp;

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Keeps an import's plan (every validated row, as JSON) and claims the unique keys
    /// it will write (`customer_ref`, `order_ref`, `serial`), in one transaction; answers
    /// the run's id. A key claimed by another running import is `Conflict(already_exists)`.
    /// `None` where one transaction does not hold other writers back (PostgreSQL): the
    /// caller then writes the import in one go, as before.
    async fn begin_import(
        &self,
        actor: &Actor,
        kind: &str,
        plan: &str,
        claims: &[(&'static str, String)],
        total: usize,
        now: Timestamp,
    ) -> StoreResult<Option<i64>>;
    /// One step of a customer import: these customers, their claims released, and the
    /// run's progress moved from `step.before` to `step.after`, in one transaction.
    /// `Conflict(import_step_taken)` if the run is not at `step.before` (someone else
    /// wrote this step).
    async fn import_customers_step(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        step: ImportStep,
        now: Timestamp,
    ) -> StoreResult<Vec<CustomerId>>;
    /// One step of an order import, as [`ImportStore::import_customers_step`].
    async fn import_orders_step(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        step: ImportStep,
        now: Timestamp,
    ) -> StoreResult<Vec<OrderId>>;
    /// Ends a run whose every step is written: its plan and claims go.
    async fn finish_import(&self, run: i64) -> StoreResult<()>;
    /// Runs not moved since `idle_since`: a crash or a stop left them unfinished.
    async fn stale_imports(&self, idle_since: Timestamp) -> StoreResult<Vec<ImportRun>>;
}

/// A step of an import run: the rows `before..after` of its plan.
#[derive(Debug, Clone, Copy)]
pub struct ImportStep {
    pub run: i64,
    pub before: usize,
    pub after: usize,
}

/// An import run as kept.
#[derive(Debug, Clone)]
pub struct ImportRun {
    pub id: i64,
    /// `customers` or `orders`.
    pub kind: String,
    pub actor: Actor,
    pub plan: String,
    pub total: usize,
    pub done: usize,
}

/// The unique keys customers take: their old-system numbers.
pub fn customer_keys(drafts: &[CustomerDraft]) -> Vec<(&'static str, String)> {
    drafts
        .iter()
        .filter_map(|d| d.external_ref.clone())
        .map(|r| ("customer_ref", r))
        .collect()
}

/// The unique keys orders take: their old-system numbers and their items' serials.
pub fn order_keys(drafts: &[OrderDraft]) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    for d in drafts {
        if let Some(r) = &d.external_ref {
            keys.push(("order_ref", r.clone()));
        }
        for s in d.lines.iter().flat_map(|l| &l.serials) {
            keys.push(("serial", s.clone()));
        }
    }
    keys
}
