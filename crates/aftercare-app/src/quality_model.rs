//! Scorecards and quality reviews: what they read and what they show.

use aftercare_domain::scorecard::Counts;
use aftercare_domain::{OutletId, RequestId, UserId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One stored cell of the monthly figures.
#[derive(Debug, Clone)]
pub struct Cell {
    /// YYYY-MM when read per month.
    pub month: Option<String>,
    /// 0: nobody.
    pub user_id: i64,
    /// 0: no outlet.
    pub outlet_id: i64,
    pub service_type: String,
    /// 0: no item.
    pub category_id: i64,
    pub tier: String,
    pub counts: Counts,
}

/// A complaint and a request of the same customer resolved before it: the candidates it
/// may be laid at the door of.
#[derive(Debug, Clone)]
pub struct ComplaintCandidate {
    pub complaint_id: i64,
    /// The outlet the complaint itself is at (0: the brand's).
    pub complaint_outlet_id: i64,
    pub complaint_number: String,
    pub root_cause: Option<String>,
    pub complaint_at: Timestamp,
    pub request_id: i64,
    pub resolved_at: Timestamp,
    pub user_id: i64,
    pub outlet_id: i64,
    pub service_type: String,
    pub category_id: i64,
    pub tier: String,
}

/// Which scorecards: a period of whole months (China time).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScorecardQuery {
    /// The first month, YYYY-MM (default: this month).
    pub from: Option<String>,
    /// The last month, YYYY-MM (default: `from`).
    pub to: Option<String>,
    /// people (default) or outlets.
    pub of: Option<String>,
}

/// A measure as the scorecard shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureView {
    pub code: String,
    /// A rate 0–1, an NPS, an average, a count or an amount in fen; none: not enough data.
    pub value: Option<f64>,
    /// The cases it stands on.
    pub n: i64,
    /// What the case mix predicts, and the rate adjusted for it.
    pub expected: Option<f64>,
    pub adjusted: Option<f64>,
    pub target: Option<f64>,
    /// Whether it meets the target (none when unknown).
    pub meets: Option<bool>,
    /// higher or lower is better.
    pub better: String,
}

/// One person's or outlet's scorecard for the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Scorecard {
    /// person or outlet.
    pub kind: String,
    pub id: i64,
    pub name: String,
    /// For people: their outlet's name.
    pub outlet: Option<String>,
    pub measures: Vec<MeasureView>,
    /// How many measures with a target it meets, of how many it could be judged on.
    pub met: i64,
    pub judged: i64,
}

/// Everyone's scorecards for a period, ranked, with the month figures were summed to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScorecardReport {
    /// When the figures were last summed (they are refreshed every five minutes).
    pub as_of: Option<Timestamp>,
    pub from: String,
    pub to: String,
    pub of: String,
    pub cards: Vec<Scorecard>,
}

/// A month of someone's scorecard, for the trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    pub month: String,
    pub measures: Vec<MeasureView>,
}

/// A quality review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub id: i64,
    pub request_id: RequestId,
    pub request_number: String,
    pub user_id: UserId,
    pub user_name: String,
    pub period: String,
    /// random, complaint or low_rating.
    pub reason: String,
    /// open or done.
    pub status: String,
    /// criterion code → 0–5.
    pub scores: Vec<(String, i64)>,
    /// 0–100.
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub reviewer_name: Option<String>,
    pub reviewed_at: Option<Timestamp>,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
    /// The service standard items the visits on it did not do.
    pub missed_items: Vec<String>,
    pub version: i64,
}

/// A request picked for review.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub request_id: RequestId,
    pub user_id: UserId,
    pub period: String,
    pub reason: String,
}

/// A resolved request of the period that may be sampled.
#[derive(Debug, Clone)]
pub struct ReviewCandidate {
    pub request_id: RequestId,
    pub user_id: UserId,
    pub rating: Option<i64>,
}

/// A review's scores, as a reviewer gives them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// criterion code → 0–5, for every criterion of the rubric.
    pub scores: std::collections::BTreeMap<String, i64>,
    pub comment: Option<String>,
    pub version: i64,
}

/// The reviewed person's answer.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewAnswer {
    pub answer: String,
    pub version: i64,
}

/// Which reviews.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// YYYY-MM.
    pub period: Option<String>,
    /// open or done.
    pub status: Option<String>,
    pub user_id: Option<i64>,
}

/// What one outlet's requests' times were, for its own targets.
#[derive(Debug, Clone)]
pub struct OutletTimes {
    pub created_at: Timestamp,
    pub responded_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// Names of scorecard subjects.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub people: std::collections::HashMap<i64, (String, Option<OutletId>)>,
    pub outlets: std::collections::HashMap<i64, String>,
}

/// Which overview: months and grouping.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    /// The first month, YYYY-MM (default: five months before this one).
    pub from: Option<String>,
    /// The last month, YYYY-MM (default: this month).
    pub to: Option<String>,
    /// all (default), line (product line) or outlet.
    pub by: Option<String>,
}

/// Raw monthly figures for the overview: (month index, group key, figure…).
#[derive(Debug, Clone, Default)]
pub struct OverviewFacts {
    /// (month, group, touchpoint or "", new customers reached).
    pub reached: Vec<(usize, i64, String, i64)>,
    /// (month, group, rating, breached, complaint, requests resolved).
    pub experiences: Vec<(usize, i64, Option<i64>, bool, bool, i64)>,
    /// (month, group, nps score, answers).
    pub nps: Vec<(usize, i64, i64, i64)>,
    /// (month, group, buyers, of them buying again).
    pub buyers: Vec<(usize, i64, i64, i64)>,
    /// (month, stage entered, customers) — for everyone only.
    pub stage_entries: Vec<(usize, String, i64)>,
    /// (group, stage, customers now).
    pub funnel: Vec<(i64, String, i64)>,
}

/// One group's measures for one month.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OverviewCell {
    pub month: String,
    /// Awareness: customers newly reached (for a product line or outlet: first buyers).
    pub reached: i64,
    /// Reached, per touchpoint code (everyone only).
    pub by_touchpoint: Vec<(String, i64)>,
    /// Reputation: requests resolved, their average rating (1–5), NPS, and the estimated
    /// net word-of-mouth reach (good experiences × people told − bad × people told).
    pub resolved: i64,
    pub rating: Option<f64>,
    pub nps: Option<f64>,
    pub nps_answers: i64,
    pub word_of_mouth: i64,
    /// Loyalty: customers who bought, and the share buying again.
    pub buyers: i64,
    pub repeat_share: Option<f64>,
    /// Customers entering each loyalty stage (everyone only).
    pub stage_entries: Vec<(String, i64)>,
}

/// A group (everyone, a product line, an outlet) month by month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverviewGroup {
    pub id: i64,
    pub name: String,
    pub months: Vec<OverviewCell>,
    /// Customers at each loyalty stage now (a product line's: its buyers; an outlet's:
    /// who bought there).
    pub funnel: Vec<(String, i64)>,
}

/// The brand's measures side by side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub from: String,
    pub to: String,
    pub by: String,
    pub groups: Vec<OverviewGroup>,
}

/// A complaint laid at someone's door: the complaint, what it found, and the request it
/// concerns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintLaid {
    /// The complaint (none for a partner's staff when another outlet or the brand took it).
    pub complaint_id: Option<RequestId>,
    pub complaint_number: Option<String>,
    pub opened_at: Timestamp,
    /// The root cause the complaint's handler found, once it is resolved.
    pub root_cause: Option<String>,
    /// The request served last before it, by the person (or at the outlet).
    pub request_id: RequestId,
}
