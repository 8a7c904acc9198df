//! The ports the use cases need: storage and a clock.

mod change_log;
mod job_leases;

pub use change_log::ChangeLog;
pub use job_leases::{JobLeases, LeaseState};

use crate::desk_model::*;
use crate::error::StoreError;
use crate::input::{AssetEventDraft, InteractionDraft, OrderDraft, ProductDraft};
use crate::input::{CustomerQuery, OrderQuery, ProductQuery};
use crate::model::*;
use aftercare_domain::catalog::WarrantyPolicy;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::warranty::AssetFacts;
use async_trait::async_trait;

/// Who does a write, for the audit log and the timeline.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// The user's email, or `system`, `import`, `demo`.
    pub label: String,
}

impl Actor {
    pub fn system(label: &str) -> Self {
        Self {
            user_id: None,
            label: label.to_string(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A stored password hash with its user.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A change to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub active: Option<bool>,
    pub role: Option<String>,
    pub password_hash: Option<String>,
}

/// A signed-in session.
pub struct SessionRecord {
    pub user: User,
    pub csrf: String,
    pub expires_at: String,
}

/// What is needed to compute an asset's warranty.
pub struct WarrantyInputs {
    pub policy: Option<WarrantyPolicy>,
    pub facts: AssetFacts,
}

/// Storage. Every write runs in one transaction that also appends to the audit log and
/// the change log (and the customer's timeline where a customer is concerned).
#[async_trait]
pub trait Store:
    DeskStore
    + PortalStore
    + crate::value::ValueStore
    + crate::feedback::FeedbackStore
    + crate::survey::SurveyStore
    + crate::search::SearchSource
    + crate::voc::VocStore
    + ChangeLog
    + JobLeases
    + Send
    + Sync
{
    async fn ping(&self) -> StoreResult<()>;

    // Accounts.
    async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        hash: &str,
        role: &str,
        now: &str,
    ) -> StoreResult<User>;
    async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn set_user_lang(&self, id: i64, lang: Option<&str>) -> StoreResult<()>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: &str,
        expires: &str,
    ) -> StoreResult<()>;
    async fn session(&self, token_hash: &str, now: &str) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn record_login(&self, email: &str, ip: &str, at: &str, ok: bool) -> StoreResult<()>;
    /// Failed attempts since `since` for this email or from this address, whichever is more.
    async fn failed_logins(&self, email: &str, ip: &str, since: &str) -> StoreResult<i64>;
    async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        name: &str,
        hash: &str,
        scopes: &str,
        now: &str,
    ) -> StoreResult<i64>;
    async fn token(&self, hash: &str) -> StoreResult<Option<(User, String)>>;
    /// Revokes a token; `NotFound` if there is no such token.
    async fn revoke_token(&self, actor: &Actor, id: i64, now: &str) -> StoreResult<()>;
    /// Changes what is given of an account. Deactivating it or changing its password ends
    /// its sessions.
    async fn update_user(
        &self,
        actor: &Actor,
        id: i64,
        change: &UserChange,
        now: &str,
    ) -> StoreResult<User>;
    /// Claims an idempotency key for a request. `None`: claimed, go ahead. `Some`: the key
    /// is already known: (request hash, status, body), status 0 while the first request is
    /// still running. A claim left unfinished for a minute (its process died) is taken over.
    async fn idempotent_claim(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &str,
        now: &str,
        stale_before: &str,
    ) -> StoreResult<Option<(String, i64, String)>>;
    /// Stores the answer of a claimed request.
    async fn idempotent_finish(
        &self,
        user_id: i64,
        key: &str,
        status: i64,
        body: &str,
    ) -> StoreResult<()>;
    /// Gives up a claim whose request failed, so the client may retry.
    async fn idempotent_release(&self, user_id: i64, key: &str) -> StoreResult<()>;

    // Customers.
    async fn create_customers(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>>;
    async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        draft: &CustomerDraft,
        version: Option<i64>,
        now: &str,
    ) -> StoreResult<()>;
    async fn customer(&self, id: i64) -> StoreResult<Option<Customer>>;
    async fn customers(&self, q: &CustomerQuery) -> StoreResult<Page<CustomerRow>>;
    async fn timeline(
        &self,
        customer_id: i64,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<TimelineEntry>>;
    /// Logs contacts, all in one transaction.
    async fn add_interactions(
        &self,
        actor: &Actor,
        items: &[(i64, InteractionDraft)],
        now: &str,
    ) -> StoreResult<Vec<i64>>;
    async fn duplicates(&self, limit: u32) -> StoreResult<Vec<DuplicatePair>>;
    async fn dismiss_duplicate(&self, actor: &Actor, a: i64, b: i64, now: &str) -> StoreResult<()>;
    /// Moves every record of `drop` to `keep`, marks `drop` merged; both timelines are kept.
    async fn merge_customers(
        &self,
        actor: &Actor,
        keep: i64,
        drop: i64,
        now: &str,
    ) -> StoreResult<()>;

    // Catalogue.
    async fn create_policy(
        &self,
        actor: &Actor,
        name: &str,
        p: &WarrantyPolicy,
        now: &str,
    ) -> StoreResult<i64>;
    async fn policies(&self) -> StoreResult<Vec<Policy>>;
    async fn create_category(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<i64>,
        policy: Option<i64>,
        now: &str,
    ) -> StoreResult<i64>;
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    async fn create_products(
        &self,
        actor: &Actor,
        drafts: &[ProductDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>>;
    async fn update_product(
        &self,
        actor: &Actor,
        id: i64,
        d: &ProductDraft,
        now: &str,
    ) -> StoreResult<()>;
    async fn product(&self, id: i64) -> StoreResult<Option<Product>>;
    async fn products(&self, q: &ProductQuery) -> StoreResult<Page<Product>>;
    async fn create_outlet(
        &self,
        actor: &Actor,
        name: &str,
        kind: &str,
        city: Option<&str>,
        now: &str,
    ) -> StoreResult<i64>;
    async fn outlets(&self) -> StoreResult<Vec<Outlet>>;

    // Orders and assets.
    async fn create_orders(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>>;
    async fn order(&self, id: i64) -> StoreResult<Option<Order>>;
    async fn orders(&self, q: &OrderQuery) -> StoreResult<Page<OrderRow>>;
    async fn asset(&self, id: i64) -> StoreResult<Option<Asset>>;
    async fn asset_by_serial(&self, serial: &str) -> StoreResult<Option<i64>>;
    async fn assets_of(&self, customer_id: i64) -> StoreResult<Vec<Asset>>;
    /// What the warranty of each of these assets is computed from (unknown ids are left out).
    async fn warranty_inputs(&self, asset_ids: &[i64]) -> StoreResult<Vec<(i64, WarrantyInputs)>>;
    /// Adds entries to items' usage archives, all in one transaction.
    async fn add_asset_events(
        &self,
        actor: &Actor,
        items: &[(i64, AssetEventDraft)],
        now: &str,
    ) -> StoreResult<Vec<i64>>;

    // Logs.
    async fn audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
    async fn events(&self, after_id: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>>;
}

/// Where time comes from, so tests can fix it.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
    fn today(&self) -> jiff::civil::Date {
        aftercare_domain::calendar::china_date(self.now())
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place the real time is read
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// Timestamps as stored: UTC, fixed width, so text order is time order.
pub fn stamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A message to add to a request, with its files.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// reply, note, customer or system.
    pub kind: String,
    pub author_id: Option<i64>,
    pub author_label: String,
    pub body: String,
    pub channel: String,
    /// The mail's Message-ID when it came by mail.
    pub message_id: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A mail to send; it is queued in the same transaction as what caused it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Everything a change to a request brings with it, written in its transaction.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// (kind, from, to) rows of the request's history.
    pub history: Vec<(String, Option<String>, Option<String>)>,
    /// (kind, summary) entries of the customer's timeline.
    pub timeline: Vec<(String, String)>,
    pub message: Option<NewMessage>,
    pub mails: Vec<Mail>,
    /// (user, kind) staff notifications.
    pub notify: Vec<(i64, String)>,
    /// (asset, kind, note): an entry of the item's usage archive (a repair counts toward
    /// the 三包 repair limit).
    pub asset_event: Option<(i64, String, String)>,
    /// The Message-ID of the inbound mail this change takes in, kept so that the same
    /// mail delivered again is not taken in twice.
    pub received_mail: Option<String>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// mine, team, unassigned, breaching or all (active ones); none: every request.
    pub queue: Option<String>,
    pub assignee_id: Option<i64>,
    pub outlet_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub status: Option<String>,
    /// For the breaching queue: resolution due before this instant.
    pub due_before: Option<String>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// A visit to book.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub request_id: i64,
    pub technician_id: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub address: Option<String>,
}

/// Which visits to list.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub request_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What routing and SLA need to know about a customer.
#[derive(Debug, Clone)]
pub struct ServiceFacts {
    pub name: String,
    pub tier: Option<String>,
    pub city: Option<String>,
    pub account_manager_id: Option<i64>,
    pub email: Option<String>,
}

/// The desk's configuration: calendars and SLA policies.
#[derive(Debug, Clone, Default)]
pub struct DeskConfig {
    pub calendars: Vec<Calendar>,
    pub policies: Vec<SlaPolicy>,
}

/// Storage of the service desk.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait DeskStore: Send + Sync {
    async fn desk_config(&self) -> StoreResult<DeskConfig>;
    async fn create_calendar(&self, actor: &Actor, c: &CalendarBody, now: &str)
    -> StoreResult<i64>;
    async fn update_calendar(
        &self,
        actor: &Actor,
        id: i64,
        c: &CalendarBody,
        now: &str,
    ) -> StoreResult<()>;
    /// Stores a policy (its id is ignored).
    async fn create_sla_policy(&self, actor: &Actor, p: &SlaPolicy, now: &str) -> StoreResult<i64>;
    async fn set_staff_profile(
        &self,
        actor: &Actor,
        p: &StaffProfile,
        now: &str,
    ) -> StoreResult<()>;
    /// Every active staff member who can take requests, with their profile (defaults when
    /// none is set) and current load.
    async fn staff_profiles(&self) -> StoreResult<Vec<StaffProfile>>;
    async fn service_facts(&self, customer_id: i64) -> StoreResult<Option<ServiceFacts>>;
    /// The outlet a staff member works at, with its kind (own or partner), if any.
    async fn staff_outlet(&self, user_id: i64) -> StoreResult<Option<(i64, String)>>;
    async fn set_customer_tier(
        &self,
        actor: &Actor,
        customer_id: i64,
        tier: &str,
        now: &str,
    ) -> StoreResult<()>;

    /// Stores a new request (id, number and version of `r` are ignored) and gives it the
    /// next number of its year. Returns id and number.
    async fn create_request(
        &self,
        actor: &Actor,
        r: &ServiceRequest,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<(i64, String)>;
    /// Writes each request that is still at its `version`, with its effects, all in one
    /// transaction; says for each whether it was written (false: someone changed it since).
    async fn update_requests(
        &self,
        actor: &Actor,
        items: &[(ServiceRequest, Effects)],
        now: &str,
    ) -> StoreResult<Vec<bool>>;
    async fn request(&self, id: i64) -> StoreResult<Option<ServiceRequest>>;
    async fn request_id_by_number(&self, number: &str) -> StoreResult<Option<i64>>;
    async fn requests(&self, q: &RequestFilter) -> StoreResult<Page<RequestRow>>;
    /// Counts up to `cap` matching requests.
    async fn count_requests(&self, q: &RequestFilter, cap: i64) -> StoreResult<i64>;
    async fn messages(&self, request_id: i64) -> StoreResult<Vec<RequestMessage>>;
    async fn history(&self, request_id: i64) -> StoreResult<Vec<HistoryEntry>>;
    /// An attachment's request, description and bytes.
    async fn attachment(&self, id: i64) -> StoreResult<Option<(i64, AttachmentMeta, Vec<u8>)>>;
    /// Requests whose SLA needs a look at `now`, oldest first.
    async fn sla_due(&self, now: &str, limit: u32) -> StoreResult<Vec<ServiceRequest>>;

    /// Books a visit; `Conflict(visit_clash)` if the technician is booked at that time.
    async fn book_visit(&self, actor: &Actor, v: &NewVisit, now: &str) -> StoreResult<i64>;
    async fn visits(&self, q: &VisitFilter) -> StoreResult<Vec<Visit>>;
    async fn visit(&self, id: i64) -> StoreResult<Option<Visit>>;
    /// Writes a visit's status and report; `fx` go with it (on its request).
    async fn update_visit(
        &self,
        actor: &Actor,
        v: &Visit,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<()>;

    async fn notifications(&self, user_id: i64, limit: u32) -> StoreResult<Vec<Notification>>;
    async fn create_rma(
        &self,
        actor: &Actor,
        request_id: i64,
        asset_id: i64,
        kind: &str,
        reason: &str,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<i64>;
    async fn rma(&self, id: i64) -> StoreResult<Option<Rma>>;
    async fn rmas(&self, request_id: i64) -> StoreResult<Vec<Rma>>;
    /// Writes an authorisation's new state if it is still in `from`; in an exchange's
    /// completion, also records the replacement item (product, serial, day) and links it.
    /// `Conflict(rma_changed)` if it moved meanwhile, `Conflict(serial_taken)` for a known
    /// serial. Returns the replacement's id.
    async fn update_rma(
        &self,
        actor: &Actor,
        r: &Rma,
        from: &str,
        decided_by: Option<i64>,
        replacement: Option<(i64, String, String)>,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<Option<i64>>;
    /// The complaints opened in [from, to): their times, SLA outcomes and findings.
    async fn complaints_between(&self, from: &str, to: &str) -> StoreResult<Vec<ComplaintFacts>>;
    /// Marks all of a user's notifications read.
    async fn mark_notifications_read(&self, user_id: i64, now: &str) -> StoreResult<()>;
    /// Notifies these users of something not tied to one request (a sweep's summary).
    async fn notify(
        &self,
        users: &[i64],
        kind: &str,
        detail: Option<&str>,
        now: &str,
    ) -> StoreResult<()>;

    /// Queued mails due for (another) attempt at `now`.
    async fn outbox_due(&self, now: &str, limit: u32) -> StoreResult<Vec<OutboxMail>>;
    /// Claims a due mail for sending until `lease_until` (another deliverer skips it; a
    /// claim whose deliverer died is taken over once its lease ends). False: not claimed.
    async fn outbox_claim(&self, id: i64, now: &str, lease_until: &str) -> StoreResult<bool>;
    /// Records an attempt: sent, or failed with the error and when to try again (`None`:
    /// give up).
    async fn outbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<&str>,
        now: &str,
    ) -> StoreResult<()>;
    /// The customer whose email (match key) this is, if any.
    async fn customer_by_email(&self, email_key: &str) -> StoreResult<Option<i64>>;
    /// The request (id, number) an inbound mail with this Message-ID became, if it was
    /// taken in already.
    async fn mail_received(&self, message_id: &str) -> StoreResult<Option<(i64, String)>>;
    /// Every email match key of a customer.
    async fn customer_emails(&self, customer_id: i64) -> StoreResult<Vec<String>>;
}

/// A queued mail.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// A mail as received, decoded whatever its charset (UTF-8, GBK/GB18030, Big5, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundMail {
    /// The sender's address, lower-cased.
    pub from_email: String,
    pub from_name: Option<String>,
    pub subject: String,
    /// The text body (from the HTML part when there is no text part).
    pub body: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

impl PartialEq for NewAttachment {
    fn eq(&self, o: &Self) -> bool {
        self.filename == o.filename
            && self.content_type == o.content_type
            && self.content == o.content
    }
}
impl Eq for NewAttachment {}

/// Sends mail (SMTP in production).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String>;
}

/// A customer's account on the portal.
#[derive(Debug, Clone)]
pub struct PortalAccount {
    pub id: i64,
    pub customer_id: i64,
    pub email: String,
    pub name: String,
    pub lang: Option<String>,
}

/// An article to store: a manual, an FAQ or an article, in three languages.
#[derive(Debug, Clone)]
pub struct ArticleDraft {
    pub kind: String,
    pub product_id: Option<i64>,
    /// zh-Hans, zh-Hant, en.
    pub titles: [String; 3],
    pub bodies: [String; 3],
    pub published: bool,
}

/// Storage of the customer portal and its articles.
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Creates a customer and their portal account in one transaction.
    /// `Conflict(portal_account_exists)` if the email has an account,
    /// `Conflict(email_known)` if a customer already has this email (so nobody takes over
    /// a record by signing up with its address; such customers contact service).
    async fn portal_signup(
        &self,
        actor: &Actor,
        d: &CustomerDraft,
        email_key: &str,
        password_hash: &str,
        lang: Option<&str>,
        now: &str,
    ) -> StoreResult<(i64, i64)>;
    async fn portal_credentials(
        &self,
        email_key: &str,
    ) -> StoreResult<Option<(PortalAccount, String)>>;
    async fn create_portal_session(
        &self,
        token_hash: &str,
        account_id: i64,
        csrf: &str,
        now: &str,
        expires: &str,
    ) -> StoreResult<()>;
    async fn portal_session(
        &self,
        token_hash: &str,
        now: &str,
    ) -> StoreResult<Option<(PortalAccount, String)>>;
    async fn delete_portal_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Records an item the customer registered; `Conflict(serial_taken)` if known.
    async fn register_asset(
        &self,
        actor: &Actor,
        customer_id: i64,
        product_id: i64,
        serial: &str,
        purchased_on: &str,
        now: &str,
    ) -> StoreResult<i64>;
    async fn create_article(&self, actor: &Actor, a: &ArticleDraft, now: &str) -> StoreResult<i64>;
    async fn update_article(
        &self,
        actor: &Actor,
        id: i64,
        a: &ArticleDraft,
        now: &str,
    ) -> StoreResult<()>;
    async fn article(&self, id: i64) -> StoreResult<Option<Article>>;
    /// Articles whose title or text contains every term, newest first.
    async fn articles(
        &self,
        terms: &[String],
        published_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<Article>>;
}

/// What the complaint measures are computed from, per complaint.
#[derive(Debug, Clone)]
pub struct ComplaintFacts {
    pub created_at: String,
    pub responded_at: Option<String>,
    pub resolved_at: Option<String>,
    pub response_breached: bool,
    pub resolution_breached: bool,
    pub escalated: bool,
    pub root_cause: Option<String>,
}
