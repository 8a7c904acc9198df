//! The `PrivacyStore` port: a customer's personal information, exported and erased on
//! their request (PIPL).

use super::{Actor, StoreResult};
use aftercare_domain::ids::CustomerId;
use async_trait::async_trait;
use jiff::Timestamp;

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// Everything held about the customer (and the records merged into them), table by
    /// table, each row as its columns; secrets (password hashes, session tokens) left
    /// out, attachment contents in base64. Logged in the audit log as an export, with
    /// `note`, in the same transaction that reads it. `NotFound` for an unknown customer.
    async fn export_personal_data(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<serde_json::Map<String, serde_json::Value>>;

    /// Erases the customer's personal information in one transaction: profile fields,
    /// contacts, free text of their contacts, requests, messages, visits, feedback and
    /// surveys; attachments, portal account and mail queued or sent to them removed; the
    /// audit rows and change-log payloads about them stripped to ids. What statistics need
    /// (orders, amounts, dates, products, codes, ratings, scores) is kept without identity.
    /// The erasure is logged with `note`, and the change log names every record touched
    /// so the search index drops the text. `NotFound`; `customer_erased` when done already;
    /// `customer_merged` for a record merged into another (erase that one).
    async fn erase_customer(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<ErasureReport>;
}

/// What an erasure changed, in rows per table.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ErasureReport {
    pub customer_id: CustomerId,
    /// Rows changed or removed, per table, in the order they were done.
    pub tables: Vec<ErasedRows>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErasedRows {
    pub table: String,
    pub rows: u64,
}
