//! What the value use cases and their port exchange: records, inputs and answers.

use aftercare_domain::CustomerId;
use aftercare_domain::Invalid;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::value::{LoyaltyStage, Risk, ValueClass};
use aftercare_insight::value::{CustomerFacts, ValueModel, ValueSettings};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A customer's stored value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerValue {
    pub customer_id: CustomerId,
    /// The day it was scored for.
    pub as_of: jiff::civil::Date,
    pub recency_days: Option<i64>,
    pub r: Option<i64>,
    pub f: Option<i64>,
    pub m: Option<i64>,
    /// Days with a purchase, all history.
    pub purchases: i64,
    /// Revenue, all history, in cents.
    pub revenue: f64,
    /// Parts and labour on the customer's requests, in cents.
    pub service_cost: f64,
    /// Margin on the last year's revenue, per year, in cents.
    pub current_value: f64,
    /// Probability of still being an active customer (none without a fitted model).
    pub p_alive: Option<f64>,
    /// Purchases expected over the CLV horizon.
    pub expected_purchases: Option<f64>,
    /// Customer lifetime value over the horizon, discounted, in cents.
    pub clv: f64,
    pub class: ValueClass,
    /// The computed tier (the customer's tier may be pinned by hand).
    pub tier: ValueTier,
    pub stage: LoyaltyStage,
    pub risk: Option<Risk>,
    pub risk_reason: Option<String>,
    /// The facts the scores came from.
    pub facts: CustomerFacts,
    pub updated_at: jiff::Timestamp,
}

/// One change of loyalty stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageChange {
    pub at: jiff::Timestamp,
    pub from_stage: Option<LoyaltyStage>,
    pub to_stage: LoyaltyStage,
}

/// A customer's value, with the tier they are served at and the stage history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueView {
    pub value: Option<CustomerValue>,
    /// The tier in force (computed, or set by hand when pinned).
    pub tier: Option<ValueTier>,
    pub tier_pinned: bool,
    pub stages: Vec<StageChange>,
}

/// Which customers: every field narrows; all empty is everyone scored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct SegmentFilter {
    /// high, medium or low (the tier in force).
    #[serde(deserialize_with = "num_or_text")]
    pub tier: Option<String>,
    /// mvc, mgc, bz or regular.
    #[serde(deserialize_with = "num_or_text")]
    pub class: Option<String>,
    /// aware, familiar, trusting, accepting or dependent.
    #[serde(deserialize_with = "num_or_text")]
    pub stage: Option<String>,
    /// dormant, at_risk, or any (either).
    #[serde(deserialize_with = "num_or_text")]
    pub risk: Option<String>,
    /// RFM scores at least (1–5).
    #[serde(deserialize_with = "num_or_text")]
    pub r_min: Option<i64>,
    #[serde(deserialize_with = "num_or_text")]
    pub f_min: Option<i64>,
    #[serde(deserialize_with = "num_or_text")]
    pub m_min: Option<i64>,
    /// CLV range, in yuan.
    #[serde(deserialize_with = "num_or_text")]
    pub clv_min: Option<f64>,
    #[serde(deserialize_with = "num_or_text")]
    pub clv_max: Option<f64>,
    /// Probability of being active, at most (0–1).
    #[serde(deserialize_with = "num_or_text")]
    pub p_alive_max: Option<f64>,
    /// Profile: city (exact).
    #[serde(deserialize_with = "num_or_text")]
    pub city: Option<String>,
    /// Profile: source (exact).
    #[serde(deserialize_with = "num_or_text")]
    pub source: Option<String>,
    /// Profile: a tag.
    #[serde(deserialize_with = "num_or_text")]
    pub tag: Option<String>,
}

impl SegmentFilter {
    /// The filter with every field checked; clean values, or every problem by field.
    pub fn checked(&self) -> Result<SegmentFilter, Invalid> {
        let mut inv = Invalid::default();
        let mut f = self.clone();
        let code = |inv: &mut Invalid, field: &str, v: &mut Option<String>, ok: &[&str], err| {
            if let Some(x) = v {
                let t = x.trim().to_string();
                if ok.contains(&t.as_str()) {
                    *x = t;
                } else {
                    inv.push(field, err);
                }
            }
        };
        let tiers: Vec<&str> = ValueTier::ALL.iter().map(|t| t.code()).collect();
        let classes: Vec<&str> = ValueClass::ALL.iter().map(|t| t.code()).collect();
        let stages: Vec<&str> = LoyaltyStage::ALL.iter().map(|t| t.code()).collect();
        code(&mut inv, "tier", &mut f.tier, &tiers, "tier_unknown");
        code(&mut inv, "class", &mut f.class, &classes, "class_unknown");
        code(&mut inv, "stage", &mut f.stage, &stages, "stage_unknown");
        code(
            &mut inv,
            "risk",
            &mut f.risk,
            &["dormant", "at_risk", "any"],
            "risk_unknown",
        );
        for (field, v) in [("r_min", f.r_min), ("f_min", f.f_min), ("m_min", f.m_min)] {
            if v.is_some_and(|v| !(1..=5).contains(&v)) {
                inv.push(field, "out_of_range");
            }
        }
        for (field, v) in [("clv_min", f.clv_min), ("clv_max", f.clv_max)] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                inv.push(field, "out_of_range");
            }
        }
        if f.p_alive_max.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            inv.push("p_alive_max", "out_of_range");
        }
        for (field, v) in [
            ("city", &mut f.city),
            ("source", &mut f.source),
            ("tag", &mut f.tag),
        ] {
            if let Some(x) = v {
                *x = x.trim().to_string();
                if x.chars().count() > 100 {
                    inv.push(field, "too_long");
                }
            }
        }
        inv.into_result()?;
        Ok(f)
    }
}

/// A customer in a segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentRow {
    pub customer_id: CustomerId,
    pub name: String,
    pub city: Option<String>,
    pub tier: ValueTier,
    pub class: ValueClass,
    pub stage: LoyaltyStage,
    pub risk: Option<Risk>,
    pub risk_reason: Option<String>,
    pub r: Option<i64>,
    pub f: Option<i64>,
    pub m: Option<i64>,
    pub recency_days: Option<i64>,
    pub purchases: i64,
    pub revenue: f64,
    pub clv: f64,
    pub p_alive: Option<f64>,
}

/// How many customers of a segment have each value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    pub key: String,
    pub count: i64,
}

/// The distributions of a segment, for its charts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentStats {
    pub count: i64,
    pub tiers: Vec<Bucket>,
    pub classes: Vec<Bucket>,
    pub stages: Vec<Bucket>,
    pub risks: Vec<Bucket>,
    /// R, F and M scores: keys r1…r5, f1…f5, m1…m5 (and none).
    pub rfm: Vec<Bucket>,
    /// CLV bands in yuan: "0-100", "100-1000", …
    pub clv: Vec<Bucket>,
    /// Probability of being active in tenths: "0.0-0.1" … "0.9-1.0".
    pub p_alive: Vec<Bucket>,
}

/// A saved segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub filter: SegmentFilter,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SegmentInput {
    pub name: String,
    pub filter: SegmentFilter,
}

/// The stage funnel: how many are at each stage now, and how many moved in a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Funnel {
    pub stages: Vec<Bucket>,
    pub from: String,
    pub to: String,
    /// "familiar>trusting" and the like: moves within [from, to].
    pub moves: Vec<Bucket>,
}

/// A recompute's progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueJob {
    pub id: i64,
    pub started_at: jiff::Timestamp,
    pub started_by: String,
    pub finished_at: Option<jiff::Timestamp>,
    /// facts, fit, scoring, done or failed.
    pub stage: String,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
}

/// The model of the last full run and the settings it ran with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub fitted_at: jiff::Timestamp,
    pub seconds: f64,
    pub model: ValueModel,
    pub settings: ValueSettings,
}

/// What a write of scores changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreChanges {
    pub tiers: usize,
    pub stages: usize,
}

/// What an incremental round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refresh {
    pub events: usize,
    pub customers: usize,
    /// The batch was full: run again at once.
    pub more: bool,
}

/// Who referred whom.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReferralInput {
    /// The customer who was brought in.
    pub referred_id: CustomerId,
    #[serde(default)]
    pub note: Option<String>,
}

/// An optional value given as text (a query string, a form, where empty means none) or
/// as a JSON number.
fn num_or_text<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        I(i64),
        F(f64),
        S(String),
    }
    let text = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::I(i)) => i.to_string(),
        Some(Raw::F(f)) => f.to_string(),
        Some(Raw::S(s)) => s,
    };
    match text.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Which periods a holdout validation compares.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct HoldoutQuery {
    /// The last day of the calibration period (YYYY-MM-DD), required.
    pub calibration_end: Option<String>,
    /// The last day of the holdout period; today when absent.
    pub end: Option<String>,
}

/// Predicted against actual repeat purchases of the calibration cohort after the
/// calibration end.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldoutReport {
    #[schema(value_type = Option<String>)]
    pub calibration_start: Option<jiff::civil::Date>,
    #[schema(value_type = String)]
    pub calibration_end: jiff::civil::Date,
    #[schema(value_type = String)]
    pub end: jiff::civil::Date,
    pub unit_days: u32,
    /// Customers who had bought by the calibration end.
    pub cohort: usize,
    /// The model fitted on the calibration period; none when it could not be fitted.
    pub bgnbd: Option<aftercare_insight::clv::BgNbd>,
    /// Why not: empty, no_repeat, optimiser or ran_away.
    pub fit_error_code: Option<String>,
    /// Repeat purchases (days with a purchase) of the cohort in the holdout period.
    pub actual: f64,
    /// The repeat purchases the model expected of them.
    pub predicted: f64,
    /// By repeat purchases in calibration (7: seven or more), mean per customer.
    pub by_frequency: Vec<aftercare_insight::holdout::FrequencyGroup>,
    /// Cumulative repeat purchases at checkpoints through the holdout period.
    pub tracking: Vec<HoldoutPoint>,
}

/// Cumulative repeat purchases of the cohort up to a day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldoutPoint {
    #[schema(value_type = String)]
    pub day: jiff::civil::Date,
    pub actual: f64,
    pub predicted: f64,
}
