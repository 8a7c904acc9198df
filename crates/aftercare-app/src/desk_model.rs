//! What the service desk's use cases return.

use aftercare_domain::account::Role;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::ids::*;
use aftercare_domain::request::{
    Priority, RequestChannel, RequestStatus, ServicePhase, ServiceType, VisitStatus,
};
use aftercare_domain::rma::{RmaKind, RmaStatus};
use aftercare_domain::warranty::Charge;
use aftercare_domain::{
    AssetId, CustomerId, Money, OrderId, OutletId, RequestId, RmaId, UserId, VisitId,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The service type a request's text reads as, and how sure the model is (0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeSuggestion {
    pub service_type: ServiceType,
    pub confidence: f64,
}

/// A service request, as stored. Times are UTC stamps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceRequest {
    pub id: RequestId,
    /// What people see and quote: `SR-2026-000123`.
    pub number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub asset_id: Option<AssetId>,
    /// The item's product category when the request was opened (for scorecards' case mix).
    pub category_id: Option<i64>,
    pub order_id: Option<OrderId>,
    pub service_type: ServiceType,
    /// The type the text of a mail or portal request reads as, suggested when it arrived.
    pub suggested_type: Option<ServiceType>,
    /// How sure that suggestion was, in percent.
    pub suggested_confidence: Option<i64>,
    /// An agent has confirmed or changed the type since it was suggested.
    pub type_confirmed: bool,
    pub phase: ServicePhase,
    pub status: RequestStatus,
    pub priority: Priority,
    pub channel: RequestChannel,
    pub subject: String,
    pub description: String,
    /// The customer's value tier when the request was opened or last re-tiered.
    pub tier: ValueTier,
    pub city: Option<String>,
    pub outlet_id: Option<OutletId>,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    /// Why the assignee was chosen by routing (account_manager, matched), if it was.
    pub routed: Option<String>,
    pub sla_policy_id: Option<i64>,
    pub response_due: Option<Timestamp>,
    pub responded_at: Option<Timestamp>,
    /// Absent while the clock is paused (waiting for the customer) or stopped.
    pub resolution_due: Option<Timestamp>,
    /// Working seconds left when the clock was paused or stopped.
    pub resolution_left: Option<i64>,
    pub warn_at: Option<Timestamp>,
    pub warn_seconds: i64,
    pub warned: bool,
    pub response_breached: bool,
    pub resolution_breached: bool,
    pub sla_next: Option<Timestamp>,
    pub escalated: bool,
    /// free, partial or chargeable: who pays, decided from the warranty.
    pub charge: Option<Charge>,
    pub charge_reason: Option<String>,
    /// In fen.
    pub parts_cost: Money,
    pub labour_cost: Money,
    pub root_cause: Option<String>,
    pub remedy: Option<String>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Changes must quote it; a stale version is refused.
    pub version: i64,
}

/// A request as listed in a queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestRow {
    pub id: RequestId,
    pub number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub subject: String,
    pub service_type: ServiceType,
    pub status: RequestStatus,
    pub priority: Priority,
    pub tier: ValueTier,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub response_due: Option<Timestamp>,
    pub responded_at: Option<Timestamp>,
    pub resolution_due: Option<Timestamp>,
    pub warned: bool,
    pub response_breached: bool,
    pub resolution_breached: bool,
    pub created_at: Timestamp,
}

/// A queue's size; `capped` when there are at least `count` (counting stops there).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueCount {
    pub queue: String,
    pub count: i64,
    pub capped: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentMeta {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// A reply to the customer, an internal note, or a message from the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestMessage {
    pub id: i64,
    /// reply (public), note (internal), customer, system.
    pub kind: String,
    pub author: String,
    pub body: String,
    pub channel: String,
    pub created_at: Timestamp,
    pub attachments: Vec<AttachmentMeta>,
}

/// One change of a request: status, priority, assignee, SLA events, escalations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Who: a person's email, or a system job's name.
    pub actor: String,
    /// The person's name, when the actor is a member of staff.
    pub actor_name: Option<String>,
}

/// A technician's visit to the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Visit {
    pub id: VisitId,
    pub request_id: RequestId,
    pub request_number: String,
    pub subject: String,
    /// What the customer said is wrong (the request's description).
    pub fault: String,
    pub customer_name: String,
    /// The customer's primary phone, to call on the way.
    pub customer_phone: Option<String>,
    pub technician_id: UserId,
    pub technician_name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: VisitStatus,
    pub address: Option<String>,
    pub work_done: Option<String>,
    pub parts: Option<String>,
    pub minutes_spent: Option<i64>,
    /// Who confirmed the work on the customer's side.
    pub confirmed_by: Option<String>,
    pub reported_at: Option<Timestamp>,
    /// The request's service type: the standard the visit is held to.
    pub service_type: ServiceType,
    /// The standard's items as the report marked them (none before it is reported, or
    /// when the service type has no standard).
    pub checklist: Vec<aftercare_domain::standards::ChecklistMark>,
    /// When the technician arrived, as reported.
    pub arrived_at: Option<Timestamp>,
    /// Whether that was on time (at most 15 minutes after the booked start).
    pub on_time: Option<bool>,
}

/// How the targets of a request stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaView {
    pub policy: Option<String>,
    /// pending, met or breached.
    pub response: String,
    pub resolution: String,
    pub paused: bool,
    /// Seconds to the resolution target, negative when late; absent when paused or stopped.
    pub remaining_seconds: Option<i64>,
}

/// Everything about one request, for its page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestDetail {
    pub request: ServiceRequest,
    pub sla: SlaView,
    /// The statuses it may move to now.
    pub next_statuses: Vec<String>,
    pub messages: Vec<RequestMessage>,
    pub history: Vec<HistoryEntry>,
    pub visits: Vec<Visit>,
    pub rmas: Vec<Rma>,
}

/// A business calendar's configuration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalendarBody {
    #[serde(default)]
    pub name: String,
    /// IANA time zone, e.g. Asia/Shanghai.
    pub time_zone: String,
    /// Seven lists of shifts (`09:00-12:00`), Monday first.
    pub week: Vec<Vec<String>>,
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Weekend days worked (调休).
    #[serde(default)]
    pub makeup_workdays: Vec<String>,
}

/// A named set of queue filters, kept per person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The filters as a query string of `GET /api/v1/requests` (`queue=all&sla=warned`).
    pub query: String,
}

/// What loading a year's public days changed in a calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DaysAdded {
    pub holidays_added: usize,
    pub makeup_workdays_added: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Calendar {
    pub id: i64,
    #[serde(flatten)]
    pub body: CalendarBody,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaPolicy {
    pub id: i64,
    pub name: String,
    /// Criteria; absent matches any.
    pub tier: Option<ValueTier>,
    pub priority: Option<Priority>,
    pub service_type: Option<ServiceType>,
    pub calendar_id: i64,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub warn_minutes: i64,
    /// What happens on a breach.
    pub notify_manager: bool,
    pub raise_priority: bool,
    pub reassign: bool,
}

/// Who takes which requests.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffProfile {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub outlet_id: Option<OutletId>,
    /// Their outlet is a partner's: they take and see only its requests.
    pub partner: bool,
    /// Service types handled; empty: any.
    pub skills: Vec<ServiceType>,
    /// Cities covered; empty: any.
    pub regions: Vec<String>,
    pub capacity: i64,
    pub auto_assign: bool,
    /// Active requests assigned now.
    pub load: i64,
}

/// A staff notification: an SLA warning or breach, an escalation, an assignment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub request_id: Option<RequestId>,
    pub request_number: Option<String>,
    pub kind: String,
    /// For summaries: how many (e.g. requests that breached in one sweep).
    pub detail: Option<String>,
    pub created_at: Timestamp,
    pub read: bool,
}

/// What one SLA sweep did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SweepReport {
    pub examined: i64,
    pub warnings: i64,
    pub response_breaches: i64,
    pub resolution_breaches: i64,
    pub escalations: i64,
}

/// A manual, FAQ or article for self-service, in three languages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Article {
    pub id: ArticleId,
    /// manual, faq or article.
    pub kind: String,
    pub product_id: Option<ProductId>,
    pub title_zh_hans: String,
    pub title_zh_hant: String,
    pub title_en: String,
    pub body_zh_hans: String,
    pub body_zh_hant: String,
    pub body_en: String,
    pub published: bool,
    pub updated_at: jiff::Timestamp,
}

impl Article {
    /// Title and text in a language (zh-Hans, zh-Hant or en), falling back to simplified
    /// Chinese when a translation is empty.
    pub fn localized(&self, lang: &str) -> (&str, &str) {
        let (t, b) = match lang {
            "zh-Hant" => (&self.title_zh_hant, &self.body_zh_hant),
            "en" => (&self.title_en, &self.body_en),
            _ => (&self.title_zh_hans, &self.body_zh_hans),
        };
        if t.trim().is_empty() {
            (&self.title_zh_hans, &self.body_zh_hans)
        } else {
            (t, b)
        }
    }
}

/// What a customer sees of one of their requests: no internal notes, no staff history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortalRequest {
    pub id: RequestId,
    pub number: String,
    pub subject: String,
    pub description: String,
    pub service_type: ServiceType,
    pub status: RequestStatus,
    pub asset_id: Option<AssetId>,
    pub charge: Option<Charge>,
    pub charge_reason: Option<String>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub messages: Vec<RequestMessage>,
    pub visits: Vec<Visit>,
    pub can_rate: bool,
}

/// A return, exchange or refund authorisation (RMA) on a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rma {
    pub id: RmaId,
    pub request_id: RequestId,
    pub asset_id: AssetId,
    pub serial: String,
    pub kind: RmaKind,
    pub status: RmaStatus,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub received_on: Option<String>,
    /// The new item given in an exchange.
    pub replacement_asset_id: Option<AssetId>,
    pub replacement_serial: Option<String>,
    pub refund_amount: Option<Money>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `[[text, count], …]` as a schema every OpenAPI 3.1 tool reads (a tuple's `prefixItems`
/// is not one of them).
fn cause_counts() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let cell = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer));
    ArrayBuilder::new()
        .items(
            ArrayBuilder::new()
                .items(cell)
                .min_items(Some(2))
                .max_items(Some(2)),
        )
        .build()
}

/// How fast complaints were handled in a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintReport {
    pub from: String,
    pub to: String,
    pub opened: i64,
    pub resolved: i64,
    pub escalated: i64,
    /// Minutes from opening to the first answer: median and 90th percentile.
    pub response_median_minutes: Option<i64>,
    pub response_p90_minutes: Option<i64>,
    /// Minutes from opening to resolution.
    pub resolution_median_minutes: Option<i64>,
    pub resolution_p90_minutes: Option<i64>,
    /// Shares (0–100) of answered / resolved complaints within their SLA target.
    pub response_on_time_pct: Option<f64>,
    pub resolution_on_time_pct: Option<f64>,
    /// The most frequent root causes with their counts: `[["排班冲突", 3], …]`.
    #[schema(schema_with = cause_counts)]
    pub root_causes: Vec<(String, i64)>,
}

/// Rows per UTC hour (`2026-11-23T02`), as the store counts them.
#[derive(Debug, Clone, Default)]
pub struct TrendRows {
    /// Hour, requests opened, of them complaints.
    pub opened: Vec<(String, i64, i64)>,
    /// Hour, requests resolved, of them within both SLA targets.
    pub resolved: Vec<(String, i64, i64)>,
    /// Hour, CSAT answers, their sum, NPS answers, promoters (9–10), detractors (0–6).
    pub answers: Vec<(String, i64, i64, i64, i64, i64)>,
    /// Hour, from stage, to stage, customers.
    pub moves: Vec<(String, Option<String>, String, i64)>,
}

/// When a request was opened, first answered, resolved, and first visited (its first
/// visit not cancelled): what the promise check measures texts against.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTimes {
    pub opened: Timestamp,
    pub responded: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
    pub first_visit: Option<Timestamp>,
}

/// One promise of a library text, and how the service kept it lately.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromiseCheck {
    pub text_id: i64,
    pub text_name: String,
    pub kind: aftercare_domain::promise::PromiseKind,
    /// Within this many minutes.
    pub minutes: u32,
    /// The words it was read from.
    pub phrase: String,
    /// Requests it applied to, and those that took longer.
    pub measured: u64,
    pub broken: u64,
    /// `broken / measured`, when at least 20 were measured.
    pub share: Option<f64>,
    /// Broken more than one time in ten: the text promises what the service does not keep.
    pub flagged: bool,
}

/// A text of the message library: the same words in three languages, with fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageText {
    pub id: i64,
    pub name: String,
    pub body_zh_hans: String,
    pub body_zh_hant: String,
    pub body_en: String,
    /// draft, approved (offered to agents) or retired.
    pub status: String,
    pub owner_name: String,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A library text to create or change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTextInput {
    /// What agents type to find it, at most 60 characters.
    pub name: String,
    /// The text in simplified Chinese, at most 4,000 characters; fields in braces:
    /// `{customer_name}`, `{request_number}`, `{visit_time}`, `{agent_name}`,
    /// `{product_name}`, `{warranty_end}` (the last two filled in by campaigns).
    pub body_zh_hans: String,
    pub body_zh_hant: String,
    pub body_en: String,
    /// draft (the default), approved or retired.
    #[serde(default)]
    pub status: Option<String>,
    /// The version read; required when changing one (a text changed since is refused).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A library text filled in for one request, in its customer's language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilledReply {
    pub id: i64,
    pub name: String,
    /// zh-Hans, zh-Hant or en.
    pub lang: String,
    pub text: String,
}
