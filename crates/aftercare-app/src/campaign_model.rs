//! What the campaign use cases and their port exchange.

use aftercare_domain::CustomerId;
use aftercare_domain::campaign::{CampaignStatus, Channel, Outcome, Step, Trigger};
use aftercare_insight::uplift::Uplift;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A campaign: one library text, sent to a segment or on an event, with a holdout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub trigger: Trigger,
    /// The saved segment's name when the campaign was made (segment campaigns).
    pub segment_name: Option<String>,
    /// The segment's filter, copied when the campaign was made (JSON).
    #[serde(skip)]
    pub audience: Option<String>,
    /// Warranty-ending campaigns: this many days before the guarantee ends.
    pub lead_days: u32,
    pub text_id: i64,
    pub text_name: String,
    pub subject_zh_hans: String,
    pub subject_zh_hant: String,
    pub subject_en: String,
    /// Share of the audience kept out of the campaign to measure it (0–50).
    pub holdout_percent: u32,
    /// A voucher for each customer mailed, if the campaign gives one.
    pub voucher: Option<CampaignVoucher>,
    #[serde(skip)]
    pub seed: i64,
    /// Orders and requests within this many days of a contact count for the campaign.
    pub window_days: u32,
    /// What follows the first message, for each customer it reached.
    pub steps: Vec<Step>,
    pub status: CampaignStatus,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    /// When the segment or the items were last looked through.
    pub swept_at: Option<Timestamp>,
    /// A segment sweep under way: the last customer reached (0: none under way).
    #[serde(skip)]
    pub sweep_after: i64,
    pub owner_name: String,
    pub created_at: Timestamp,
    pub version: i64,
}

/// The voucher a campaign gives each customer it mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CampaignVoucher {
    pub kind: aftercare_domain::care::VoucherKind,
    /// Fen for an amount, a percentage for a share.
    pub value: i64,
    /// Days it stays valid from the day it is sent.
    pub days: u32,
    /// A share's ceiling in fen, when its maker may give only so much.
    pub max_discount: Option<i64>,
}

/// A campaign to create.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// At most 80 characters.
    pub name: String,
    /// segment, warranty_ending or request_resolved.
    pub trigger: String,
    /// The saved segment (segment campaigns).
    #[serde(default)]
    pub segment_id: Option<i64>,
    /// Warranty-ending and maintenance-due campaigns: days ahead (1–180, default 30);
    /// important dates: days ahead (0–60, default 7).
    #[serde(default)]
    pub lead_days: Option<u32>,
    /// A voucher for each customer mailed: amount or percent (none: no voucher).
    #[serde(default)]
    pub voucher_kind: Option<String>,
    /// Yuan for an amount, a whole percentage (1–100) for a share.
    #[serde(default)]
    pub voucher_value: Option<String>,
    /// Days the voucher stays valid, 1–366 (default 30).
    #[serde(default)]
    pub voucher_days: Option<u32>,
    /// An approved text of the message library.
    pub text_id: i64,
    /// The mail's subject in each language, at most 120 characters.
    pub subject_zh_hans: String,
    pub subject_zh_hant: String,
    pub subject_en: String,
    /// Share held out, 0–50 (default 10).
    #[serde(default)]
    pub holdout_percent: Option<u32>,
    /// Days after a contact in which orders count for the campaign, 1–365 (default 30).
    #[serde(default)]
    pub window_days: Option<u32>,
    /// What follows the first message (at most 10 steps; none: the first message only).
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// A status change, with the version read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignStatusInput {
    /// running, paused or stopped.
    pub status: String,
    pub version: i64,
}

/// One occurrence of a campaign for one customer, before it is decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub customer_id: CustomerId,
    pub name: String,
    pub email: Option<String>,
    /// The channels the customer agreed to (comma-separated codes).
    pub consent: String,
    pub lang: Option<String>,
    /// What makes the occurrence one: `segment`, `asset:12:2027-01-31`, `request:7`.
    pub occurrence: String,
    /// When it occurred (resolution; now for segments and items).
    pub at: Timestamp,
    /// The item concerned, and the day its guarantee ends (warranty campaigns).
    pub product_name: Option<String>,
    pub ends_on: Option<Date>,
    /// The day maintenance is due (maintenance campaigns).
    pub due_on: Option<Date>,
    /// The request concerned (request campaigns).
    pub request_number: Option<String>,
    /// What was improved (backlog campaigns).
    pub improvement: Option<String>,
}

/// What an occurrence was about, kept with its journey for the fields of later messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OccurrenceFields {
    pub product_name: Option<String>,
    pub ends_on: Option<Date>,
    pub due_on: Option<Date>,
    pub request_number: Option<String>,
    pub improvement: Option<String>,
}

impl OccurrenceFields {
    pub fn of(r: &Recipient) -> Self {
        OccurrenceFields {
            product_name: r.product_name.clone(),
            ends_on: r.ends_on,
            due_on: r.due_on,
            request_number: r.request_number.clone(),
            improvement: r.improvement.clone(),
        }
    }

    /// The recipient with these fields.
    pub fn apply(self, r: &mut Recipient) {
        r.product_name = self.product_name;
        r.ends_on = self.ends_on;
        r.due_on = self.due_on;
        r.request_number = self.request_number;
        r.improvement = self.improvement;
    }
}

/// An item that starts its guarantee in a window, for the warranty-ending trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct StartingAsset {
    pub asset_id: i64,
    pub starts: Date,
    pub recipient: Recipient,
}

/// A mail a campaign sends.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// An occurrence decided: the member row to write, and the mail when it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrolment {
    pub customer_id: CustomerId,
    pub occurrence: String,
    pub outcome: Outcome,
    /// The journey's token (in the link of its messages), when the customer is mailed.
    pub token: Option<String>,
    /// What the occurrence was about, for later steps' messages.
    pub fields: OccurrenceFields,
    pub mail: Option<CampaignMail>,
    /// The voucher that goes with the mail, if the campaign gives one.
    pub voucher: Option<crate::care_model::Voucher>,
}

/// A customer's important date, for the date-coming trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportantDate {
    pub id: i64,
    /// None when the stored day is not a date (typed badly long ago): skipped.
    pub day: Option<Date>,
    pub recipient: Recipient,
}

/// One row of a dry run: who, for what, and what would happen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunRow {
    pub customer_id: CustomerId,
    pub name: String,
    pub occurrence: String,
    pub outcome: Outcome,
    /// The subject and text the customer would get, in their language (sent only).
    pub subject: Option<String>,
    pub body: Option<String>,
}

/// How many occurrences end in each outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutcomeCounts {
    pub sent: u64,
    pub held_out: u64,
    pub no_consent: u64,
    pub no_address: u64,
    pub pressure: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, o: Outcome, n: u64) {
        match o {
            Outcome::Sent => self.sent += n,
            Outcome::HeldOut => self.held_out += n,
            Outcome::NoConsent => self.no_consent += n,
            Outcome::NoAddress => self.no_address += n,
            Outcome::Pressure => self.pressure += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.sent + self.held_out + self.no_consent + self.no_address + self.pressure
    }
}

/// What a campaign would do now: over the last 30 days for event campaigns, the segment
/// as it is for segment campaigns. Nothing is written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRun {
    pub from: Timestamp,
    pub to: Timestamp,
    pub counts: OutcomeCounts,
    /// The first rows (at most 200).
    pub rows: Vec<DryRunRow>,
}

/// A member, with what they did in the window after the contact.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberActivity {
    pub customer_id: CustomerId,
    pub outcome: Outcome,
    pub at: Timestamp,
}

/// A campaign's members' orders and requests since it started.
#[derive(Debug, Clone, Default)]
pub struct CampaignActivity {
    pub members: Vec<MemberActivity>,
    /// (customer, when recorded, the day placed, total in fen) of orders not cancelled.
    pub orders: Vec<(CustomerId, Timestamp, Date, i64)>,
    /// (customer, when opened, is a complaint) of service requests.
    pub requests: Vec<(CustomerId, Timestamp, bool)>,
    /// Members' lifetime value as last scored, in fen (unscored members are absent).
    pub clv: Vec<(CustomerId, f64)>,
    /// (customer, when, rank before (none: the first stage given), rank after) of
    /// members' loyalty-stage moves; ranks from 0 (aware) to 4 (dependent).
    pub stage_moves: Vec<(CustomerId, Timestamp, Option<usize>, usize)>,
}

/// What a campaign did: counts, what it sold (attributed), and the uplift against the
/// holdout group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignResults {
    pub counts: OutcomeCounts,
    /// Customers compared: assigned to be contacted (sent, or held back by the budget)…
    pub contacted: u64,
    /// …and held out.
    pub held_out: u64,
    /// Orders by mailed customers within the window after the mail.
    pub attributed_orders: u64,
    /// Their total, in fen.
    pub attributed_revenue: i64,
    /// Share who bought again within the window (0–1).
    pub purchase_rate: Uplift,
    /// Revenue per customer within the window, in fen.
    pub revenue: Uplift,
    /// Service requests per customer within the window.
    pub requests: Uplift,
    /// Complaints per customer within the window.
    pub complaints: Uplift,
    /// Lifetime value per customer as last scored, in fen (unscored count 0): the groups
    /// are drawn at random, so the difference is what the campaign did to it.
    pub clv: Uplift,
    /// Share who moved up a loyalty stage within the window (0–1).
    pub stage_up: Uplift,
    /// Where its journeys are and what their customers did.
    pub journeys: JourneyStats,
}

/// An offer the desk can make: when it applies, the library text the agent reads, and
/// the product it sells, if any.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    pub kind: aftercare_domain::offer::OfferKind,
    /// Only items of this category.
    pub category_id: Option<i64>,
    /// Extension: days before the repair guarantee ends.
    pub within_days: u32,
    /// Upgrade: repairs at least.
    pub min_repairs: u32,
    /// Upgrade: months old at least; maintenance: months between services.
    pub months: u32,
    pub text_id: i64,
    pub text_name: String,
    /// The product the offer sells; orders of it count for the offer.
    pub product_id: Option<i64>,
    pub product_name: Option<String>,
    /// Orders within this many days of an acceptance count for the offer.
    pub window_days: u32,
    pub active: bool,
    pub owner_name: String,
    pub created_at: Timestamp,
    pub version: i64,
}

impl Offer {
    pub fn rule(&self) -> aftercare_domain::offer::OfferRule {
        aftercare_domain::offer::OfferRule {
            kind: self.kind,
            category_id: self.category_id,
            within_days: self.within_days,
            min_repairs: self.min_repairs,
            months: self.months,
        }
    }
}

/// An offer to create or change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    /// At most 80 characters.
    pub name: String,
    /// warranty_extension, upgrade, consumables or maintenance.
    pub kind: String,
    #[serde(default)]
    pub category_id: Option<i64>,
    /// Extension: 1–365 days before the guarantee ends (default 60).
    #[serde(default)]
    pub within_days: Option<u32>,
    /// Upgrade: repairs at least, 0–20 (default 2; 0: not by repairs).
    #[serde(default)]
    pub min_repairs: Option<u32>,
    /// Upgrade: months old at least; maintenance: months between services (0–240,
    /// default 12).
    #[serde(default)]
    pub months: Option<u32>,
    /// An approved text of the message library.
    pub text_id: i64,
    #[serde(default)]
    pub product_id: Option<i64>,
    /// 1–365 (default 30).
    #[serde(default)]
    pub window_days: Option<u32>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
    /// Required to change an offer: the version read.
    #[serde(default)]
    pub version: Option<i64>,
}

/// An offer that applies to one of the customer's items now, with why and what to say.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicableOffer {
    pub offer_id: i64,
    pub name: String,
    pub kind: aftercare_domain::offer::OfferKind,
    pub asset_id: Option<aftercare_domain::AssetId>,
    pub product_name: Option<String>,
    #[schema(value_type = Object)]
    pub why: aftercare_domain::offer::Why,
    /// The library text filled in for the customer, in their language.
    pub text: String,
    /// What the customer said last time, and when.
    pub last_response: Option<aftercare_domain::offer::OfferResponse>,
    pub last_at: Option<Timestamp>,
}

/// What the agent records.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferResponseInput {
    pub offer_id: i64,
    #[serde(default)]
    pub asset_id: Option<i64>,
    /// The request the offer was made beside.
    #[serde(default)]
    pub request_id: Option<i64>,
    /// offered, accepted or declined.
    pub response: String,
}

/// One recorded response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferResponseRow {
    pub id: i64,
    pub offer_id: i64,
    pub customer_id: CustomerId,
    pub asset_id: Option<i64>,
    pub request_id: Option<i64>,
    pub response: aftercare_domain::offer::OfferResponse,
    pub user_id: Option<i64>,
    pub user_name: String,
    pub outlet_id: Option<i64>,
    pub at: Timestamp,
}

/// The responses to offers and the orders that followed, for attribution.
#[derive(Debug, Clone, Default)]
pub struct OfferActivity {
    pub responses: Vec<OfferResponseRow>,
    /// (customer, when recorded, the day placed, total in fen, products in it) of orders
    /// not cancelled.
    pub orders: Vec<(CustomerId, Timestamp, Date, i64, Vec<i64>)>,
}

/// What offers sold, grouped by offer, agent or outlet.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OfferSales {
    /// The offer's, agent's or outlet's name.
    pub name: String,
    pub offered: u64,
    pub accepted: u64,
    pub declined: u64,
    /// Orders attributed (within the window after an acceptance, of the offer's product
    /// when it has one).
    pub orders: u64,
    /// Their total, in fen.
    pub revenue: i64,
}

/// Offer sales by offer, by agent and by outlet.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OfferReport {
    pub by_offer: Vec<OfferSales>,
    pub by_agent: Vec<OfferSales>,
    pub by_outlet: Vec<OfferSales>,
}

/// Customers by the touchpoint that brought them: how many, what they are worth, how far
/// they came on the loyalty road, how often they complain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TouchpointRow {
    /// The touchpoint code (`point_of_sale`, `word_of_mouth`, …), or `-` when not known.
    pub touchpoint: String,
    pub customers: i64,
    /// Of them, scored.
    pub scored: i64,
    /// Mean lifetime value of the scored, in fen.
    pub mean_clv: f64,
    /// Their revenue, in fen.
    pub revenue: f64,
    /// Share of the scored at the trusting stage or beyond (0–1).
    pub loyal_share: f64,
    /// Complaints per customer.
    pub complaints_per_customer: f64,
}

/// A journey due for its next step, with what its messages need.
#[derive(Debug, Clone, PartialEq)]
pub struct DueJourney {
    pub id: i64,
    pub step: usize,
    /// When it was due: it moves only if still so (another server may have moved it).
    pub due_at: Timestamp,
    pub started_at: Timestamp,
    pub token: String,
    pub recipient: Recipient,
    /// The customer's phone, for call-backs.
    pub phone: Option<String>,
    /// Whether the customer has a portal account, for portal messages.
    pub portal: bool,
}

/// What a journey's customer did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JourneyFacts {
    pub opened: bool,
    pub clicked: bool,
    pub answered: bool,
    pub bought: bool,
    pub requested: bool,
}

/// What one step sent (or why not), to write with the journey's move.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSend {
    pub step: usize,
    pub channel: Channel,
    pub outcome: Outcome,
    pub mail: Option<CampaignMail>,
    /// A portal message: subject and text.
    pub portal: Option<(String, String)>,
    /// A call-back: the phone and the script.
    pub callback: Option<(String, String)>,
}

/// A journey moved on from `from` (written only if no one moved it meanwhile).
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyMove {
    pub id: i64,
    pub customer_id: CustomerId,
    pub from: usize,
    /// When it was due as read.
    pub from_due: Timestamp,
    pub to: usize,
    pub due_at: Timestamp,
    /// `done` or `stopped` when the journey ends here.
    pub end: Option<&'static str>,
    pub send: Option<StepSend>,
}

/// How one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepCounts {
    /// Numbered from 1.
    pub step: u32,
    pub counts: OutcomeCounts,
}

/// Where a campaign's journeys are, and what their customers did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct JourneyStats {
    pub active: u64,
    pub done: u64,
    pub stopped: u64,
    pub opened: u64,
    pub clicked: u64,
    pub answered: u64,
    pub steps: Vec<StepCounts>,
}

/// A message in a customer's portal account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortalMessage {
    pub id: i64,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A call-back an agent makes for a campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallbackTask {
    pub id: i64,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub campaign_id: Option<i64>,
    pub campaign_name: Option<String>,
    pub phone: String,
    /// What to say, filled in for the customer, in their language.
    pub script: String,
    pub created_at: Timestamp,
    /// None while open.
    pub result: Option<aftercare_domain::campaign::CallbackResult>,
    pub note: Option<String>,
    pub done_by: Option<String>,
    pub done_at: Option<Timestamp>,
    pub version: i64,
}

/// What came of a call-back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    /// reached, no_answer, declined or wrong_number.
    pub result: String,
    /// At most 500 characters.
    #[serde(default)]
    pub note: Option<String>,
    pub version: i64,
}
