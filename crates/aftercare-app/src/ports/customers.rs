//! Customers: their records, timeline and contacts, duplicates and merges, and lookups by email.

use super::*;
use crate::input::*;
use crate::model::*;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// Customers: their records, timeline and contacts, duplicates and merges, and lookups by email.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait CustomerStore: Send + Sync {
    async fn create_customers(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<CustomerId>>;
    async fn update_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        draft: &CustomerDraft,
        version: Option<i64>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>>;
    async fn customers(&self, q: &CustomerQuery) -> StoreResult<Page<CustomerRow>>;
    /// A customer's timeline, newest first; with `only`, just the entries of those kinds
    /// about requests of that outlet.
    async fn timeline(
        &self,
        customer_id: CustomerId,
        only: Option<&OutletEntries>,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<TimelineEntry>>;
    /// What a customer's 360 shows, read together (on SQLite in one hand-off to the
    /// connection, docs/decisions/0023): the customer with their lists, their items with
    /// their archives and policies, a page of 50 timeline entries (with `only`, as
    /// [`CustomerStore::timeline`]) and, with `with_orders`, their latest 50 orders.
    /// `None`: no such customer.
    async fn customer_360_reads(
        &self,
        id: CustomerId,
        only: Option<&OutletEntries>,
        cursor: Option<&str>,
        with_orders: bool,
    ) -> StoreResult<Option<Reads360>>;
    /// What the customer page shows beside a customer's 360, read together as
    /// [`CustomerStore::customer_360_reads`] is: the customer's tier, value, stage history,
    /// expert standing, answers to offers, service contracts and vouchers, with the
    /// settings they are read against (value settings and model, offers in force,
    /// maintenance schedules). Each part is what its own port method returns.
    async fn customer_page_reads(&self, id: CustomerId) -> StoreResult<PageReads>;
    /// Logs contacts, all in one transaction.
    async fn add_interactions(
        &self,
        actor: &Actor,
        items: &[(CustomerId, InteractionDraft)],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>>;
    async fn duplicates(&self, limit: u32) -> StoreResult<Vec<DuplicatePair>>;
    /// Sets the language a customer gets mail in (none: not known), with an audit row;
    /// `only_if_unset` leaves a language already chosen alone (a guess never overrides a
    /// choice). Returns whether the customer exists.
    async fn set_customer_lang(
        &self,
        actor: &Actor,
        id: CustomerId,
        lang: Option<&str>,
        only_if_unset: bool,
        now: jiff::Timestamp,
    ) -> StoreResult<bool>;
    async fn dismiss_duplicate(
        &self,
        actor: &Actor,
        a: CustomerId,
        b: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Moves every record of `drop` to `keep`, marks `drop` merged; both timelines are kept.
    async fn merge_customers(
        &self,
        actor: &Actor,
        keep: CustomerId,
        drop: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// The customer whose email (match key) this is, if any.
    async fn customer_by_email(&self, email_key: &str) -> StoreResult<Option<CustomerId>>;
    /// Every email match key of a customer.
    async fn customer_emails(&self, customer_id: CustomerId) -> StoreResult<Vec<String>>;
    /// (reference, customer) of the customers that carry these references from the system
    /// used before; a merged customer answers with the one it was merged into.
    async fn customers_by_ref(&self, refs: &[String]) -> StoreResult<Vec<(String, CustomerId)>>;
}

/// Which timeline entries a partner outlet's staff may read: those of these kinds whose
/// reference is a request of the outlet.
#[derive(Debug, Clone)]
pub struct OutletEntries {
    pub outlet_id: OutletId,
    pub kinds: &'static [&'static str],
}

/// What [`CustomerStore::customer_page_reads`] reads.
#[derive(Debug, Clone)]
pub struct PageReads {
    /// As [`ValueStore::customer_tier`]: `None`, no such customer.
    pub tier: Option<(Option<aftercare_domain::customer::ValueTier>, bool)>,
    /// As [`ValueStore::customer_value`] (facts not filled in).
    pub value: Option<crate::value_model::CustomerValue>,
    /// As [`ValueStore::value_settings`].
    pub value_settings: Option<String>,
    pub stages: Vec<crate::value_model::StageChange>,
    /// As [`ValueStore::value_model`].
    pub model: Option<(jiff::Timestamp, f64, String, String)>,
    /// As [`FeedbackStore::expert`].
    pub expert: Option<(Option<String>, String)>,
    /// The offers in force.
    pub offers: Vec<crate::campaign_model::Offer>,
    pub offer_responses: Vec<crate::campaign_model::OfferResponseRow>,
    pub schedules: Vec<crate::care_model::MaintenanceSchedule>,
    pub contracts: Vec<crate::care_model::ServiceContract>,
    pub vouchers: Vec<crate::care_model::Voucher>,
}

/// What [`CustomerStore::customer_360_reads`] reads.
#[derive(Debug, Clone)]
pub struct Reads360 {
    pub customer: Customer,
    /// Newest first, each with its usage archive; warranties not filled in.
    pub assets: Vec<Asset>,
    /// The warranty policy of each item under one.
    pub policies: Vec<(AssetId, aftercare_domain::catalog::WarrantyPolicy)>,
    pub orders: Vec<OrderRow>,
    pub timeline: Page<TimelineEntry>,
}
