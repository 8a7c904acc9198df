//! The ports the use cases need: storage and a clock.

mod accounts;
mod audit;
mod campaigns;
mod care;
mod catalogue;
mod change_log;
mod claims;
mod customers;
mod desk_setup;
mod feedback;
mod imports;
mod job_leases;
mod network;
mod notifications;
mod offers;
mod orders;
mod outbox;
mod privacy;
mod quality;
mod requests;
mod returns;
mod search_index;
mod search_source;
mod surveys;
mod value;
mod visits;
mod voc;

pub use accounts::*;
pub use audit::*;
pub use campaigns::CampaignStore;
pub use care::CareStore;
pub use catalogue::*;
pub use change_log::{ChangeLog, ChangesRead};
pub use claims::ClaimStore;
pub use customers::*;
pub use desk_setup::*;
pub use feedback::FeedbackStore;
pub use imports::*;
pub use job_leases::{JobLeases, LeaseState};
pub use network::NetworkStore;
pub use notifications::*;
pub use offers::OfferStore;
pub use orders::*;
pub use outbox::*;
pub use privacy::*;
pub use quality::QualityStore;
pub use requests::*;
pub use returns::*;
pub use search_index::SearchIndex;
pub use search_source::SearchSource;
pub use surveys::SurveyStore;
pub use value::ValueStore;
pub use visits::*;
pub use voc::VocStore;

use crate::desk_model::*;
use crate::error::StoreError;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use aftercare_domain::request::RequestStatus;
use aftercare_domain::rma::{RmaKind, RmaStatus};
use async_trait::async_trait;
use jiff::Timestamp;

/// Who does a write, for the audit log and the timeline.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    /// The user's email, or `system`, `import`, `demo`.
    pub label: String,
    /// The `Idempotency-Key` the write runs under, if any (see [`IdempotencyMark`]).
    pub idempotency: Option<IdempotencyMark>,
}

impl Actor {
    pub fn system(label: &str) -> Self {
        Self {
            user_id: None,
            label: label.to_string(),
            idempotency: None,
        }
    }
}

/// A creation under an `Idempotency-Key`: the store records the created record of this
/// kind (`customer`, `order`, …) under the key in the creation's own transaction, so the
/// key and the effect commit together, and a key can never make two records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyMark {
    pub key: String,
    pub entity: &'static str,
}

tokio::task_local! {
    /// The mark of the creation the current request runs; `Principal::actor` carries it
    /// into the write (a task-local does not reach the store's writer task by itself).
    pub static IDEMPOTENCY: IdempotencyMark;
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What the service desk's use cases work on: requests with their visits and returns,
/// the customers, items and orders they concern, the staff who take them, and their
/// notifications. Areas that open or move requests (mail, the portal, surveys, value)
/// need it too.
pub trait DeskPorts:
    AccountStore
    + CareStore
    + CatalogueStore
    + CustomerStore
    + DeskSetupStore
    + NetworkStore
    + NotificationStore
    + OrderStore
    + QualityStore
    + RequestStore
    + ReturnStore
    + VisitStore
{
}

impl<T> DeskPorts for T where
    T: ?Sized
        + AccountStore
        + CareStore
        + CatalogueStore
        + CustomerStore
        + DeskSetupStore
        + NetworkStore
        + NotificationStore
        + OrderStore
        + QualityStore
        + RequestStore
        + ReturnStore
        + VisitStore
{
}

/// Storage: the sum of every port, used for wiring. Every write runs in one transaction
/// that also appends to the audit log and the change log (and the customer's timeline
/// where a customer is concerned).
#[async_trait]
pub trait Store:
    AccountStore
    + CustomerStore
    + CatalogueStore
    + OrderStore
    + AuditStore
    + DeskSetupStore
    + NetworkStore
    + ClaimStore
    + QualityStore
    + RequestStore
    + VisitStore
    + NotificationStore
    + OutboxStore
    + ReturnStore
    + PortalStore
    + PrivacyStore
    + ValueStore
    + CampaignStore
    + CareStore
    + OfferStore
    + FeedbackStore
    + SurveyStore
    + ImportStore
    + SearchSource
    + VocStore
    + ChangeLog
    + JobLeases
    + Send
    + Sync
{
    async fn ping(&self) -> StoreResult<()>;
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
    pub author_id: Option<UserId>,
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
    pub notify: Vec<(UserId, String)>,
    /// (asset, kind, note): an entry of the item's usage archive (a repair counts toward
    /// the 三包 repair limit).
    pub asset_event: Option<(AssetId, String, String)>,
    /// The Message-ID of the inbound mail this change takes in, kept so that the same
    /// mail delivered again is not taken in twice.
    pub received_mail: Option<String>,
    /// An earlier repair of the same item this request repeats (within 30 days of its
    /// resolution): marked repeated, for scorecards.
    pub repeat_of: Option<RequestId>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// mine, team, unassigned, breaching or all (active ones); none: every request.
    pub queue: Option<String>,
    pub assignee_id: Option<UserId>,
    pub outlet_id: Option<OutletId>,
    pub customer_id: Option<CustomerId>,
    pub status: Option<RequestStatus>,
    /// For the breaching queue: resolution due before this instant.
    pub due_before: Option<Timestamp>,
    pub service_type: Option<aftercare_domain::request::ServiceType>,
    pub priority: Option<aftercare_domain::request::Priority>,
    pub tier: Option<aftercare_domain::customer::ValueTier>,
    /// Nobody has it (with `assignee_id` unset).
    pub unassigned: bool,
    pub sla: Option<SlaState>,
    /// Words in the number, the subject or the customer's name.
    pub text: Option<String>,
    /// Opened in `[from, until)`.
    pub opened: (Option<Timestamp>, Option<Timestamp>),
    /// Resolved in `[from, until)`.
    pub resolved: (Option<Timestamp>, Option<Timestamp>),
    /// None: the queue's own order.
    pub sort: Option<RequestSort>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Where a request stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// A target was missed.
    Breached,
    /// Warned, not breached yet.
    Warned,
    /// Neither.
    OnTrack,
}

impl SlaState {
    pub const CODES: &[&str] = &["breached", "warned", "on_track"];
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "breached" => Ok(Self::Breached),
            "warned" => Ok(Self::Warned),
            "on_track" => Ok(Self::OnTrack),
            _ => Err("sla_state_unknown"),
        }
    }
}

/// How a list of requests is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSort {
    /// Priority, then oldest first.
    Urgency,
    /// Resolution due, soonest first (none last).
    Due,
    Newest,
    Oldest,
}

impl RequestSort {
    pub const CODES: &[&str] = &["urgency", "due", "newest", "oldest"];
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "urgency" => Ok(Self::Urgency),
            "due" => Ok(Self::Due),
            "newest" => Ok(Self::Newest),
            "oldest" => Ok(Self::Oldest),
            _ => Err("request_sort_unknown"),
        }
    }
}

/// A visit to book.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub request_id: RequestId,
    pub technician_id: UserId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub address: Option<String>,
}

/// Which visits to list.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub request_id: Option<RequestId>,
    pub technician_id: Option<UserId>,
    /// Only visits for requests of this outlet.
    pub outlet_id: Option<OutletId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// What routing and SLA need to know about a customer.
#[derive(Debug, Clone)]
pub struct ServiceFacts {
    pub name: String,
    pub tier: Option<String>,
    pub city: Option<String>,
    pub account_manager_id: Option<UserId>,
    pub email: Option<String>,
    /// Their personal information was erased: no new request is opened for them.
    pub erased: bool,
    /// The language they get mail in (zh-Hans, zh-Hant, en), when known.
    pub lang: Option<String>,
}

/// The desk's configuration: calendars and SLA policies.
#[derive(Debug, Clone, Default)]
pub struct DeskConfig {
    pub calendars: Vec<Calendar>,
    pub policies: Vec<SlaPolicy>,
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
    /// No charset made sense of the body: it is empty here and kept as it came among
    /// the attachments (`original-body.txt`), and it is not analysed as language.
    pub body_undecodable: bool,
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

/// Reads a raw mail (RFC 822, whatever its charset) as a mail server delivers it.
pub trait MailParser: Send + Sync {
    /// The mail, or why the desk cannot take it (not a mail, no sender).
    fn parse(&self, raw: &[u8]) -> Result<InboundMail, String>;
}

/// A customer's account on the portal.
#[derive(Debug, Clone)]
pub struct PortalAccount {
    pub id: i64,
    pub customer_id: CustomerId,
    pub email: String,
    pub name: String,
    pub lang: Option<String>,
}

/// An article to store: a manual, an FAQ or an article, in three languages.
#[derive(Debug, Clone)]
pub struct ArticleDraft {
    pub kind: String,
    pub product_id: Option<ProductId>,
    /// zh-Hans, zh-Hant, en.
    pub titles: [String; 3],
    pub bodies: [String; 3],
    pub published: bool,
}

/// Storage of the customer portal and its articles.
/// A portal sign-up waiting for its mailed link.
#[derive(Debug, Clone)]
pub struct PendingSignup {
    pub token_hash: String,
    /// The email's match key.
    pub email: String,
    /// The sign-up form as JSON, without the password.
    pub input: String,
    pub password_hash: String,
    pub lang: String,
    pub expires_at: jiff::Timestamp,
}

/// A mail to someone who is not (yet) a customer with a request: sign-up links.
#[derive(Debug, Clone)]
pub struct PortalMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Finishes the sign-up waiting under `token_hash` in one transaction: the pending row
    /// goes (`NotFound` if it already went: a link works once), and the portal account is
    /// made for the customer who has this email, or for a new customer from `d`.
    /// `Conflict(portal_account_exists)` if the email has an account by now.
    #[allow(clippy::too_many_arguments)]
    async fn portal_signup(
        &self,
        actor: &Actor,
        d: &CustomerDraft,
        email_key: &str,
        password_hash: &str,
        lang: Option<&str>,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<(i64, CustomerId)>;
    /// Queues the mail about a sign-up, with the sign-up waiting for its link when there
    /// is one, in one transaction.
    async fn queue_portal_signup(
        &self,
        pending: Option<&PendingSignup>,
        mail: &PortalMail,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Keeps a password-reset link for an account and queues its mail, in one
    /// transaction; the account's earlier links stop working.
    async fn queue_password_reset(
        &self,
        account_id: i64,
        token_hash: &str,
        expires_at: jiff::Timestamp,
        mail: &PortalMail,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// The language a portal customer chose: their account's and their mail's.
    async fn set_portal_lang(&self, account_id: i64, lang: &str) -> StoreResult<()>;
    /// The account a reset link is for, unless the link has expired or been used.
    async fn password_reset(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<i64>>;
    /// Sets a new password with a reset link, in one transaction: the link goes
    /// (`NotFound` if it is gone or expired), the password changes and every session of
    /// the account ends. Returns the account.
    async fn reset_portal_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    /// The sign-up waiting under this token, unless its link has expired.
    async fn pending_signup(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<PendingSignup>>;
    async fn portal_credentials(
        &self,
        email_key: &str,
    ) -> StoreResult<Option<(PortalAccount, String)>>;
    async fn create_portal_session(
        &self,
        token_hash: &str,
        account_id: i64,
        csrf: &str,
        now: jiff::Timestamp,
        expires: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn portal_session(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<(PortalAccount, String)>>;
    async fn delete_portal_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Records an item the customer registered; `Conflict(serial_taken)` if known.
    async fn register_asset(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        product_id: ProductId,
        serial: &str,
        purchased_on: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<AssetId>;
    async fn create_article(
        &self,
        actor: &Actor,
        a: &ArticleDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<ArticleId>;
    async fn update_article(
        &self,
        actor: &Actor,
        id: ArticleId,
        a: &ArticleDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>>;
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
    pub created_at: Timestamp,
    pub responded_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub response_breached: bool,
    pub resolution_breached: bool,
    pub escalated: bool,
    pub root_cause: Option<String>,
}
