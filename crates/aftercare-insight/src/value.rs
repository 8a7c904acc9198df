//! Customer value and loyalty (C5): from each customer's facts (purchases, service cost,
//! contacts, ratings, referrals) to RFM scores, BG/NBD + Gamma-Gamma lifetime value, a
//! value class (MVC / MGC / BZ), a tier, a loyalty stage and a risk.
//!
//! A full run ([`fit`]) fits the models and fixes the population's boundaries (quintile
//! cuts, percentile thresholds); [`score`] then scores any one customer against them, so
//! the customers rescored after a new order are judged by the same yardstick as the rest.

use crate::clv::{BgNbd, GammaGamma, History, clv_and_purchases, fit_bgnbd, fit_gamma_gamma};
use aftercare_domain::customer::ValueTier;
use aftercare_domain::value::{LoyaltyStage, Risk, ValueClass};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Days in an average month, for the CLV horizon.
const MONTH_DAYS: f64 = 30.4375;

/// Every rule and threshold, with the documented defaults (docs/user-guide.md#customer-value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ValueSettings {
    /// RFM: purchases in this many days before the run day count (frequency, monetary).
    pub rfm_window_days: u32,
    /// The models' time unit in days (7: weeks).
    pub unit_days: u32,
    /// CLV: months ahead.
    pub horizon_months: u32,
    /// CLV: the margin on revenue, 0–1.
    pub margin: f64,
    /// CLV: the yearly discount rate, 0–1.
    pub discount_rate: f64,
    /// The models are fitted on at most this many buyers (an even spread of them).
    pub fit_sample: u32,
    /// Current value: margin on the revenue of this many days before the run day.
    pub current_value_days: u32,
    /// MVC: current value among the top this-many percent of buyers.
    pub mvc_top_percent: f64,
    /// MGC: CLV at least this many times the current value…
    pub mgc_growth_ratio: f64,
    /// …and among the top this-many percent by CLV…
    pub mgc_top_percent: f64,
    /// …and at least this much CLV, in yuan: without a floor, a customer with no current
    /// value and any CLV at all would be "most growable".
    pub mgc_min_clv_yuan: f64,
    /// Medium tier (besides MGC): CLV at or above this percentile of buyers.
    pub medium_clv_percentile: f64,
    /// Familiar: at least this many contacts (interactions and requests), or a consultation.
    pub familiar_contacts: u32,
    /// Trusting: at least this many purchases with no unhappy experience.
    pub trusting_purchases: u32,
    /// Accepting: at least this many purchases (days with a purchase).
    pub accepting_purchases: u32,
    /// Dependent: at least this many purchases…
    pub dependent_purchases: u32,
    /// …and this many promoter ratings (5 stars) or referrals.
    pub dependent_advocacy: u32,
    /// A rating at or below this is an unhappy experience.
    pub unhappy_rating_max: u32,
    /// Dormant: no purchase for this many days.
    pub dormant_days: u32,
    /// At risk: probability of being active below this (repeat buyers)…
    pub at_risk_p_alive: f64,
    /// …or an unhappy experience within this many days (high and medium tiers).
    pub unhappy_recent_days: u32,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            rfm_window_days: 730,
            unit_days: 7,
            horizon_months: 12,
            margin: 0.3,
            discount_rate: 0.1,
            fit_sample: 50_000,
            current_value_days: 365,
            mvc_top_percent: 20.0,
            mgc_growth_ratio: 2.0,
            mgc_top_percent: 40.0,
            mgc_min_clv_yuan: 500.0,
            medium_clv_percentile: 50.0,
            familiar_contacts: 2,
            trusting_purchases: 1,
            accepting_purchases: 2,
            dependent_purchases: 3,
            dependent_advocacy: 1,
            unhappy_rating_max: 2,
            dormant_days: 365,
            at_risk_p_alive: 0.5,
            unhappy_recent_days: 90,
        }
    }
}

impl ValueSettings {
    /// (field, reason) of every setting out of range.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let mut days = |name, v: u32, max: u32| {
            if v == 0 || v > max {
                out.push((name, "out_of_range"));
            }
        };
        days("rfm_window_days", self.rfm_window_days, 36_500);
        days("unit_days", self.unit_days, 365);
        days("horizon_months", self.horizon_months, 240);
        days("fit_sample", self.fit_sample, 10_000_000);
        days("current_value_days", self.current_value_days, 36_500);
        days("dormant_days", self.dormant_days, 36_500);
        days("unhappy_recent_days", self.unhappy_recent_days, 36_500);
        days("trusting_purchases", self.trusting_purchases, 1000);
        days("accepting_purchases", self.accepting_purchases, 1000);
        days("dependent_purchases", self.dependent_purchases, 1000);
        days("dependent_advocacy", self.dependent_advocacy, 1000);
        if self.familiar_contacts > 1000 {
            out.push(("familiar_contacts", "out_of_range"));
        }
        if self.unhappy_rating_max > 4 {
            out.push(("unhappy_rating_max", "out_of_range"));
        }
        let mut unit = |name, v: f64| {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                out.push((name, "out_of_range"));
            }
        };
        unit("margin", self.margin);
        unit("discount_rate", self.discount_rate);
        unit("at_risk_p_alive", self.at_risk_p_alive);
        let mut percent = |name, v: f64| {
            if !(0.0..=100.0).contains(&v) || v.is_nan() {
                out.push((name, "out_of_range"));
            }
        };
        percent("mvc_top_percent", self.mvc_top_percent);
        percent("mgc_top_percent", self.mgc_top_percent);
        percent("medium_clv_percentile", self.medium_clv_percentile);
        if !(0.0..=1e9).contains(&self.mgc_min_clv_yuan) {
            out.push(("mgc_min_clv_yuan", "out_of_range"));
        }
        if !(1.0..=1000.0).contains(&self.mgc_growth_ratio) {
            out.push(("mgc_growth_ratio", "out_of_range"));
        }
        if self.trusting_purchases > self.accepting_purchases {
            out.push(("accepting_purchases", "below_trusting_purchases"));
        }
        if self.accepting_purchases > self.dependent_purchases {
            out.push(("dependent_purchases", "below_accepting_purchases"));
        }
        out
    }
}

/// What is known of one customer on the run day. Money in cents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerFacts {
    pub customer_id: i64,
    /// The day the customer became known (first contact).
    #[schema(value_type = Option<String>)]
    pub known_since: Option<Date>,
    #[schema(value_type = Option<String>)]
    pub first_purchase: Option<Date>,
    #[schema(value_type = Option<String>)]
    pub last_purchase: Option<Date>,
    /// Days with a purchase (not cancelled), all history.
    pub purchases: u32,
    pub revenue: f64,
    /// Revenue of the first day with a purchase: the spend models leave it out, as the
    /// literature does (a first purchase is often unlike the repeat ones).
    #[serde(default)]
    pub first_revenue: f64,
    pub discounts: f64,
    /// Days with a purchase and revenue within the RFM window.
    pub window_purchases: u32,
    pub window_revenue: f64,
    /// Revenue within the current-value window.
    pub recent_revenue: f64,
    /// Parts and labour on the customer's service requests.
    pub service_cost: f64,
    /// Interactions and service requests.
    pub contacts: u32,
    pub consultations: u32,
    pub promoter_ratings: u32,
    pub unhappy_ratings: u32,
    /// Complaints not yet resolved.
    pub open_complaints: u32,
    /// The latest unhappy rating or complaint.
    #[schema(value_type = Option<String>)]
    pub last_unhappy: Option<Date>,
    /// Customers this one brought in.
    pub referrals: u32,
}

/// Cut points fixed by a full run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Boundaries {
    /// Quintile cuts (4 each): a value at or above the k-th cut scores at least k + 2.
    /// Recency is cut on days since the last purchase, negated (fewer days score higher).
    pub recency: Vec<f64>,
    pub frequency: Vec<f64>,
    pub monetary: Vec<f64>,
    /// Current value at or above this is MVC.
    pub mvc_min_value: f64,
    /// CLV at or above this can be MGC.
    pub mgc_min_clv: f64,
    /// CLV at or above this is (at least) medium tier.
    pub medium_min_clv: f64,
}

/// A full run's model: fitted parameters, where they came from, and the boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValueModel {
    #[schema(value_type = String)]
    pub as_of: Date,
    pub unit_days: u32,
    /// The calibration window: the first purchase in the data up to the run day.
    #[schema(value_type = Option<String>)]
    pub calibration_start: Option<Date>,
    #[schema(value_type = String)]
    pub calibration_end: Date,
    pub customers: usize,
    pub buyers: usize,
    /// Buyers the models were fitted on.
    pub fitted_on: usize,
    pub bgnbd: Option<BgNbd>,
    pub gamma_gamma: Option<GammaGamma>,
    /// Why this run's fit failed (too few buyers, no repeat purchase, parameters that ran
    /// away…). Without a previous model CLV is then the current value carried over the
    /// horizon, and the probability of being active unknown.
    pub fit_error: Option<String>,
    /// Why, as a code: empty, no_repeat, optimiser or ran_away.
    #[serde(default)]
    pub fit_error_code: Option<String>,
    /// The fit failed and the previous run's parameters were kept (see `fit_error`).
    #[serde(default)]
    pub kept_previous: bool,
    /// Scored as of a chosen day (a historical analysis) rather than the run day: later
    /// changes are scored as of that day too.
    #[serde(default)]
    pub as_of_fixed: bool,
    pub boundaries: Boundaries,
}

/// One customer's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueScore {
    pub customer_id: i64,
    /// Days since the last purchase (none: never bought).
    pub recency_days: Option<i64>,
    pub r: Option<u8>,
    pub f: Option<u8>,
    pub m: Option<u8>,
    pub current_value: f64,
    pub p_alive: Option<f64>,
    /// Expected purchases over the horizon.
    pub expected_purchases: Option<f64>,
    pub expected_spend: Option<f64>,
    pub clv: f64,
    pub class: ValueClass,
    pub tier: ValueTier,
    pub stage: LoyaltyStage,
    pub risk: Option<Risk>,
    /// low_p_alive, unhappy_experience or no_purchase.
    pub risk_reason: Option<&'static str>,
}

/// Whole days from `a` to `b` (negative when `b` is earlier).
fn span_days(a: Date, b: Date) -> i64 {
    a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// A buyer's history as the models see it, as of a day, in time units of `unit` days;
/// none for someone who never bought.
pub fn history(f: &CustomerFacts, as_of: Date, unit: f64) -> Option<History> {
    let (first, last) = (f.first_purchase?, f.last_purchase?);
    Some(History {
        customer: f.customer_id,
        x: f64::from(f.purchases.saturating_sub(1)),
        t_x: span_days(first, last) as f64 / unit,
        t: span_days(first, as_of) as f64 / unit,
        // The mean of the repeat purchases only.
        monetary: if f.purchases > 1 {
            (f.revenue - f.first_revenue) / f64::from(f.purchases - 1)
        } else {
            0.0
        },
    })
}

/// The value at the given percentile (0–100) of sorted values (nearest rank); of no
/// values, the largest number, which nothing reaches (finite, so the model stays JSON).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::MAX;
    }
    let i = ((p / 100.0) * sorted.len() as f64).floor() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The 20/40/60/80 % cuts of the values.
pub fn quintile_cuts(values: &mut [f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    [20.0, 40.0, 60.0, 80.0]
        .iter()
        .map(|p| percentile(values, *p))
        .collect()
}

/// 1–5: one more than the number of cuts at or below the value.
pub fn quintile_score(v: f64, cuts: &[f64]) -> u8 {
    1 + cuts.iter().filter(|c| v >= **c).count() as u8
}

/// Fits the models on the buyers among `facts` and fixes the boundaries. When the fit
/// fails and a `previous` model had parameters, those are kept.
pub fn fit(
    facts: &[CustomerFacts],
    s: &ValueSettings,
    as_of: Date,
    previous: Option<&ValueModel>,
) -> ValueModel {
    let unit = f64::from(s.unit_days);
    let buyers: Vec<History> = facts
        .iter()
        .filter_map(|f| history(f, as_of, unit))
        .collect();
    let step = (buyers.len() / s.fit_sample.max(1) as usize).max(1);
    let sample: Vec<History> = buyers.iter().step_by(step).cloned().collect();
    // Spend first: it says plainly when nobody bought twice, where BG/NBD would run away.
    let fitted = fit_gamma_gamma(&sample).and_then(|g| fit_bgnbd(&sample).map(|b| (b, g)));
    let (mut bgnbd, mut gamma_gamma, fit_error) = match fitted {
        Ok((b, g)) => (Some(b), Some(g), None),
        Err(e) => (None, None, Some(e)),
    };
    let mut kept_previous = false;
    if let Some(p) = previous.filter(|_| fit_error.is_some())
        && let (Some(b), Some(g)) = (p.bgnbd, p.gamma_gamma)
    {
        (bgnbd, gamma_gamma, kept_previous) = (Some(b), Some(g), true);
    }
    let mut model = ValueModel {
        as_of,
        unit_days: s.unit_days,
        calibration_start: facts.iter().filter_map(|f| f.first_purchase).min(),
        calibration_end: as_of,
        customers: facts.len(),
        buyers: buyers.len(),
        fitted_on: sample.len(),
        bgnbd,
        gamma_gamma,
        fit_error_code: fit_error.as_ref().map(|e| e.code().to_owned()),
        fit_error: fit_error.map(|e| e.to_string()),
        kept_previous,
        as_of_fixed: false,
        boundaries: Boundaries::default(),
    };
    let in_window: Vec<&CustomerFacts> = facts.iter().filter(|f| f.window_purchases > 0).collect();
    let mut rec: Vec<f64> = in_window
        .iter()
        .filter_map(|f| f.last_purchase.map(|l| -(span_days(l, as_of) as f64)))
        .collect();
    let mut freq: Vec<f64> = in_window
        .iter()
        .map(|f| f64::from(f.window_purchases))
        .collect();
    let mut mon: Vec<f64> = in_window.iter().map(|f| f.window_revenue).collect();
    model.boundaries.recency = quintile_cuts(&mut rec);
    model.boundaries.frequency = quintile_cuts(&mut freq);
    model.boundaries.monetary = quintile_cuts(&mut mon);
    // Value thresholds among buyers, from their unclassified scores.
    let mut current = Vec::new();
    let mut clvs = Vec::new();
    for f in facts.iter().filter(|f| f.purchases > 0) {
        let (cv, c, _, _, _) = money(f, &model, s, as_of);
        current.push(cv);
        clvs.push(c);
    }
    current.sort_by(f64::total_cmp);
    clvs.sort_by(f64::total_cmp);
    let positive_floor = |v: f64| if v > 0.0 { v } else { f64::MIN_POSITIVE };
    model.boundaries.mvc_min_value =
        positive_floor(percentile(&current, 100.0 - s.mvc_top_percent));
    model.boundaries.mgc_min_clv = positive_floor(percentile(&clvs, 100.0 - s.mgc_top_percent));
    model.boundaries.medium_min_clv = positive_floor(percentile(&clvs, s.medium_clv_percentile));
    model
}

/// (current value, CLV, P(active), expected purchases, expected spend).
fn money(
    f: &CustomerFacts,
    m: &ValueModel,
    s: &ValueSettings,
    as_of: Date,
) -> (f64, f64, Option<f64>, Option<f64>, Option<f64>) {
    let yearly = 365.0 / f64::from(s.current_value_days);
    let current = f.recent_revenue * s.margin * yearly;
    let unit = f64::from(s.unit_days);
    match (&m.bgnbd, &m.gamma_gamma, history(f, as_of, unit)) {
        (Some(bg), Some(gg), Some(h)) => {
            let period = MONTH_DAYS / unit;
            let monthly = (1.0 + s.discount_rate).powf(1.0 / 12.0) - 1.0;
            let (value, purchases) =
                clv_and_purchases(bg, gg, &h, s.horizon_months, period, s.margin, monthly);
            (
                current,
                value.max(0.0),
                // BG/NBD says 1 for anyone without a repeat purchase: true to the model,
                // useless to a person. Such customers have "not enough history".
                (h.x > 0.0).then(|| bg.p_alive(&h)),
                Some(purchases),
                Some(gg.expected_spend(&h)),
            )
        }
        // No model: the current value carried over the horizon.
        _ => (
            current,
            current * f64::from(s.horizon_months) / 12.0,
            None,
            None,
            None,
        ),
    }
}

/// The value class: BZ first (losing money), then MVC, then MGC.
pub fn class_of(
    f: &CustomerFacts,
    current: f64,
    clv: f64,
    b: &Boundaries,
    s: &ValueSettings,
) -> ValueClass {
    if f.service_cost + f.discounts > f.revenue * s.margin && f.service_cost + f.discounts > 0.0 {
        ValueClass::Bz
    } else if current > 0.0 && current >= b.mvc_min_value {
        ValueClass::Mvc
    } else if clv >= b.mgc_min_clv
        && clv >= s.mgc_growth_ratio * current
        && clv >= s.mgc_min_clv_yuan * 100.0
        && clv > 0.0
    {
        ValueClass::Mgc
    } else {
        ValueClass::Regular
    }
}

/// The tier: high for MVC; medium for MGC or a CLV at least the medium threshold; low
/// otherwise (and always for BZ).
pub fn tier_of(class: ValueClass, clv: f64, b: &Boundaries) -> ValueTier {
    match class {
        ValueClass::Mvc => ValueTier::High,
        ValueClass::Mgc => ValueTier::Medium,
        ValueClass::Bz => ValueTier::Low,
        ValueClass::Regular if clv > 0.0 && clv >= b.medium_min_clv => ValueTier::Medium,
        ValueClass::Regular => ValueTier::Low,
    }
}

/// The highest stage whose rule holds.
pub fn stage_of(f: &CustomerFacts, s: &ValueSettings) -> LoyaltyStage {
    let happy = f.unhappy_ratings == 0 && f.open_complaints == 0;
    let advocacy = f.promoter_ratings + f.referrals;
    if f.purchases >= s.dependent_purchases && advocacy >= s.dependent_advocacy && happy {
        LoyaltyStage::Dependent
    } else if f.purchases >= s.accepting_purchases && happy {
        LoyaltyStage::Accepting
    } else if f.purchases >= s.trusting_purchases && happy {
        LoyaltyStage::Trusting
    } else if f.contacts >= s.familiar_contacts || f.consultations > 0 || f.purchases > 0 {
        LoyaltyStage::Familiar
    } else {
        LoyaltyStage::Aware
    }
}

/// Dormant (no purchase for long), or at risk (slipping away, or unhappy lately while
/// worth keeping), with the reason.
pub fn risk_of(
    f: &CustomerFacts,
    p_alive: Option<f64>,
    tier: ValueTier,
    s: &ValueSettings,
    as_of: Date,
) -> (Option<Risk>, Option<&'static str>) {
    let Some(last) = f.last_purchase else {
        return (None, None);
    };
    if span_days(last, as_of) >= i64::from(s.dormant_days) {
        return (Some(Risk::Dormant), Some("no_purchase"));
    }
    if f.purchases >= 2 && p_alive.is_some_and(|p| p < s.at_risk_p_alive) {
        return (Some(Risk::AtRisk), Some("low_p_alive"));
    }
    if tier != ValueTier::Low
        && (f.open_complaints > 0
            || f.last_unhappy
                .is_some_and(|d| span_days(d, as_of) <= i64::from(s.unhappy_recent_days)))
    {
        return (Some(Risk::AtRisk), Some("unhappy_experience"));
    }
    (None, None)
}

/// Scores one customer against a full run's model.
pub fn score(f: &CustomerFacts, m: &ValueModel, s: &ValueSettings, as_of: Date) -> ValueScore {
    let b = &m.boundaries;
    let recency_days = f.last_purchase.map(|l| span_days(l, as_of));
    let in_window = f.window_purchases > 0;
    let rfm = |v: f64, cuts: &[f64]| in_window.then(|| quintile_score(v, cuts));
    let (current, clv, p_alive, expected_purchases, expected_spend) = money(f, m, s, as_of);
    let class = class_of(f, current, clv, b, s);
    let tier = tier_of(class, clv, b);
    let (risk, risk_reason) = risk_of(f, p_alive, tier, s, as_of);
    ValueScore {
        customer_id: f.customer_id,
        recency_days,
        r: rfm(-(recency_days.unwrap_or(0) as f64), &b.recency),
        f: rfm(f64::from(f.window_purchases), &b.frequency),
        m: rfm(f.window_revenue, &b.monetary),
        current_value: current,
        p_alive,
        expected_purchases,
        expected_spend,
        clv,
        class,
        tier,
        stage: stage_of(f, s),
        risk,
        risk_reason,
    }
}

/// What share of revenue and of service cost comes from the top `top_percent` of
/// customers ranked by revenue (and of service cost from those ranked by service cost).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pareto {
    pub customers: usize,
    pub top_customers: usize,
    /// Share (0–1) of all revenue from the top customers by revenue.
    pub revenue_share: f64,
    /// Share of all service cost caused by those same customers.
    pub their_service_cost_share: f64,
    /// Share of all service cost from the top customers by service cost.
    pub service_cost_share: f64,
}

/// `rows`: (revenue, service cost) per customer.
pub fn pareto(rows: &[(f64, f64)], top_percent: f64) -> Pareto {
    let n = rows.len();
    let top = ((n as f64) * top_percent / 100.0).ceil() as usize;
    let total_rev: f64 = rows.iter().map(|r| r.0).sum();
    let total_cost: f64 = rows.iter().map(|r| r.1).sum();
    let mut by_rev: Vec<(f64, f64)> = rows.to_vec();
    by_rev.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut by_cost: Vec<f64> = rows.iter().map(|r| r.1).collect();
    by_cost.sort_by(|a, b| b.total_cmp(a));
    let share = |part: f64, all: f64| if all > 0.0 { part / all } else { 0.0 };
    Pareto {
        customers: n,
        top_customers: top,
        revenue_share: share(by_rev.iter().take(top).map(|r| r.0).sum(), total_rev),
        their_service_cost_share: share(by_rev.iter().take(top).map(|r| r.1).sum(), total_cost),
        service_cost_share: share(by_cost.iter().take(top).sum(), total_cost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const AS_OF: Date = date(2026, 6, 30);

    fn buyer(id: i64, purchases: u32, revenue: f64, last: Date) -> CustomerFacts {
        CustomerFacts {
            customer_id: id,
            known_since: Some(date(2024, 1, 1)),
            first_purchase: Some(date(2024, 1, 10)),
            last_purchase: Some(last),
            purchases,
            revenue,
            window_purchases: purchases,
            window_revenue: revenue,
            recent_revenue: revenue / 2.0,
            ..Default::default()
        }
    }

    #[test]
    fn quintile_boundaries_score_ties_alike_and_edges_inclusively() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        let cuts = quintile_cuts(&mut v);
        assert_eq!(cuts, [3.0, 5.0, 7.0, 9.0]);
        assert_eq!(quintile_score(1.0, &cuts), 1);
        assert_eq!(quintile_score(2.9, &cuts), 1);
        assert_eq!(
            quintile_score(3.0, &cuts),
            2,
            "a value on a cut scores the higher"
        );
        assert_eq!(quintile_score(8.0, &cuts), 4);
        assert_eq!(quintile_score(10.0, &cuts), 5);
        assert_eq!(quintile_score(1e9, &cuts), 5);
        // All equal: everyone the same score.
        let mut same = vec![4.0; 7];
        let cuts = quintile_cuts(&mut same);
        assert_eq!(quintile_score(4.0, &cuts), 5);
        // Nobody: every score is 1 rather than a panic, and the cuts stay numbers JSON
        // can carry (an infinite cut came back as null and the stored model was unreadable).
        let cuts = quintile_cuts(&mut []);
        assert!(cuts.iter().all(|c| c.is_finite()));
        assert_eq!(quintile_score(1e300, &cuts), 1);
    }

    #[test]
    fn spend_is_the_mean_of_the_repeat_purchases_only() {
        let f = CustomerFacts {
            customer_id: 1,
            first_purchase: Some(date(2026, 1, 1)),
            last_purchase: Some(date(2026, 3, 1)),
            purchases: 3,
            revenue: 100_000.0 + 2.0 * 5_000.0,
            first_revenue: 100_000.0,
            ..Default::default()
        };
        let h = history(&f, AS_OF, 7.0).unwrap();
        assert_eq!((h.x, h.monetary), (2.0, 5_000.0));
        let once = CustomerFacts {
            purchases: 1,
            revenue: 100_000.0,
            ..f
        };
        assert_eq!(history(&once, AS_OF, 7.0).unwrap().monetary, 0.0);
    }

    #[test]
    fn a_failed_fit_keeps_the_previous_parameters_and_says_why() {
        let s = ValueSettings::default();
        // Nobody bought twice: BG/NBD cannot be fitted.
        let once: Vec<CustomerFacts> = (0..20)
            .map(|i| buyer(i, 1, 1000.0, date(2026, 5, 1)))
            .collect();
        let alone = fit(&once, &s, AS_OF, None);
        assert_eq!(alone.fit_error_code.as_deref(), Some("no_repeat"));
        assert!(!alone.kept_previous && alone.bgnbd.is_none());
        let previous = ValueModel {
            bgnbd: Some(BgNbd {
                r: 0.24,
                alpha: 4.4,
                a: 0.79,
                b: 2.4,
                log_likelihood: -9582.4,
            }),
            gamma_gamma: Some(GammaGamma {
                p: 6.25,
                q: 3.74,
                gamma: 15.44,
                log_likelihood: -4000.0,
            }),
            ..alone.clone()
        };
        let kept = fit(&once, &s, AS_OF, Some(&previous));
        assert_eq!(kept.fit_error_code.as_deref(), Some("no_repeat"));
        assert!(kept.kept_previous);
        assert_eq!(
            (kept.bgnbd, kept.gamma_gamma),
            (previous.bgnbd, previous.gamma_gamma)
        );
        let s1 = score(&once[0], &kept, &s, AS_OF);
        assert!(
            s1.expected_purchases.is_some(),
            "scored with the kept model"
        );
        assert_eq!(s1.p_alive, None, "a one-time buyer has not enough history");
        // The model, as stored and read back, is the same.
        let json = serde_json::to_string(&kept).unwrap();
        assert_eq!(serde_json::from_str::<ValueModel>(&json).unwrap(), kept);
    }

    #[test]
    fn most_growable_needs_a_clv_above_the_floor() {
        let s = ValueSettings::default();
        let b = Boundaries {
            mvc_min_value: 1e12,
            mgc_min_clv: 1.0,
            ..Default::default()
        };
        let f = buyer(1, 1, 1000.0, date(2026, 5, 1));
        // No current value: any CLV at all is "twice" it. ¥100 is below the ¥500 floor.
        assert_eq!(class_of(&f, 0.0, 10_000.0, &b, &s), ValueClass::Regular);
        assert_eq!(class_of(&f, 0.0, 100_000.0, &b, &s), ValueClass::Mgc);
    }

    #[test]
    fn recency_scores_fewer_days_higher_and_rfm_skips_non_buyers() {
        let facts: Vec<CustomerFacts> = (0..10)
            .map(|i| {
                buyer(
                    i,
                    1 + i as u32,
                    1000.0 * (i + 1) as f64,
                    date(2026, 6, 1 + i as i8),
                )
            })
            .chain([CustomerFacts {
                customer_id: 99,
                ..Default::default()
            }])
            .collect();
        let s = ValueSettings::default();
        let m = fit(&facts, &s, AS_OF, None);
        let newest = score(&facts[9], &m, &s, AS_OF);
        let oldest = score(&facts[0], &m, &s, AS_OF);
        assert_eq!((newest.r, newest.f, newest.m), (Some(5), Some(5), Some(5)));
        assert_eq!((oldest.r, oldest.f, oldest.m), (Some(1), Some(1), Some(1)));
        assert_eq!(newest.recency_days, Some(20));
        let none = score(&facts[10], &m, &s, AS_OF);
        assert_eq!(
            (none.r, none.f, none.m, none.recency_days),
            (None, None, None, None)
        );
        assert_eq!(none.class, ValueClass::Regular);
        assert_eq!(none.tier, ValueTier::Low);
    }

    fn bounds() -> Boundaries {
        Boundaries {
            mvc_min_value: 10_000.0,
            mgc_min_clv: 5_000.0,
            medium_min_clv: 2_000.0,
            ..Default::default()
        }
    }

    #[test]
    fn classes_bz_before_mvc_before_mgc() {
        // The order of the rules, without the MGC floor (tested on its own).
        let s = ValueSettings {
            mgc_min_clv_yuan: 0.0,
            ..ValueSettings::default()
        };
        let b = bounds();
        let mut f = buyer(1, 3, 100_000.0, AS_OF);
        assert_eq!(class_of(&f, 12_000.0, 30_000.0, &b, &s), ValueClass::Mvc);
        assert_eq!(class_of(&f, 9_999.0, 30_000.0, &b, &s), ValueClass::Mgc);
        assert_eq!(
            class_of(&f, 9_999.0, 15_000.0, &b, &s),
            ValueClass::Regular,
            "CLV under twice the current value is not growth"
        );
        assert_eq!(
            class_of(&f, 1_000.0, 4_999.0, &b, &s),
            ValueClass::Regular,
            "under the MGC threshold"
        );
        // Service cost plus discounts over the margin (30 % of 100,000): below zero,
        // whatever the value.
        f.service_cost = 25_000.0;
        f.discounts = 5_000.0;
        assert_eq!(
            class_of(&f, 12_000.0, 30_000.0, &b, &s),
            ValueClass::Mvc,
            "exactly the margin"
        );
        f.discounts = 5_001.0;
        assert_eq!(class_of(&f, 12_000.0, 30_000.0, &b, &s), ValueClass::Bz);
        // Someone who never bought and cost nothing is not BZ.
        let nobody = CustomerFacts::default();
        assert_eq!(class_of(&nobody, 0.0, 0.0, &b, &s), ValueClass::Regular);
    }

    #[test]
    fn tiers_follow_classes_and_clv() {
        let b = bounds();
        assert_eq!(tier_of(ValueClass::Mvc, 0.0, &b), ValueTier::High);
        assert_eq!(tier_of(ValueClass::Mgc, 0.0, &b), ValueTier::Medium);
        assert_eq!(tier_of(ValueClass::Bz, 1e9, &b), ValueTier::Low);
        assert_eq!(tier_of(ValueClass::Regular, 2_000.0, &b), ValueTier::Medium);
        assert_eq!(tier_of(ValueClass::Regular, 1_999.0, &b), ValueTier::Low);
        assert_eq!(
            tier_of(ValueClass::Regular, 0.0, &Boundaries::default()),
            ValueTier::Low
        );
    }

    #[test]
    fn every_loyalty_stage_transition() {
        let s = ValueSettings::default();
        let mut f = CustomerFacts::default();
        assert_eq!(stage_of(&f, &s), LoyaltyStage::Aware, "known, nothing more");
        f.contacts = 1;
        assert_eq!(stage_of(&f, &s), LoyaltyStage::Aware);
        f.contacts = 2;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Familiar,
            "aware -> familiar by contacts"
        );
        let consult = CustomerFacts {
            consultations: 1,
            ..Default::default()
        };
        assert_eq!(
            stage_of(&consult, &s),
            LoyaltyStage::Familiar,
            "or by a consultation"
        );
        f.purchases = 1;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Trusting,
            "familiar -> trusting: a happy purchase"
        );
        f.unhappy_ratings = 1;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Familiar,
            "trusting -> familiar: unhappy service"
        );
        f.unhappy_ratings = 0;
        f.purchases = 2;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Accepting,
            "trusting -> accepting: a repeat purchase"
        );
        f.purchases = 3;
        assert_eq!(stage_of(&f, &s), LoyaltyStage::Accepting, "no advocacy yet");
        f.promoter_ratings = 1;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Dependent,
            "accepting -> dependent: a promoter rating"
        );
        f.promoter_ratings = 0;
        f.referrals = 1;
        assert_eq!(stage_of(&f, &s), LoyaltyStage::Dependent, "or a referral");
        f.open_complaints = 1;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Familiar,
            "dependent -> familiar: an open complaint"
        );
        f.open_complaints = 0;
        assert_eq!(
            stage_of(&f, &s),
            LoyaltyStage::Dependent,
            "and back once it is resolved"
        );
        // The rules are settings.
        let strict = ValueSettings {
            dependent_purchases: 5,
            ..ValueSettings::default()
        };
        assert_eq!(stage_of(&f, &strict), LoyaltyStage::Accepting);
        let walk_in = CustomerFacts {
            purchases: 1,
            unhappy_ratings: 1,
            ..Default::default()
        };
        assert_eq!(
            stage_of(&walk_in, &s),
            LoyaltyStage::Familiar,
            "a buyer is familiar at least"
        );
    }

    #[test]
    fn risks_with_their_reasons() {
        let s = ValueSettings::default();
        let f = buyer(1, 3, 1000.0, date(2025, 6, 30));
        assert_eq!(
            risk_of(&f, Some(0.9), ValueTier::High, &s, AS_OF),
            (Some(Risk::Dormant), Some("no_purchase"))
        );
        let f = buyer(1, 3, 1000.0, date(2025, 7, 1));
        assert_eq!(
            risk_of(&f, Some(0.9), ValueTier::High, &s, AS_OF),
            (None, None),
            "364 days"
        );
        assert_eq!(
            risk_of(&f, Some(0.49), ValueTier::Low, &s, AS_OF),
            (Some(Risk::AtRisk), Some("low_p_alive"))
        );
        let once = buyer(2, 1, 1000.0, date(2026, 6, 1));
        assert_eq!(
            risk_of(&once, Some(0.1), ValueTier::Low, &s, AS_OF),
            (None, None),
            "one purchase: no pattern yet"
        );
        let mut unhappy = buyer(3, 2, 1000.0, date(2026, 6, 1));
        unhappy.last_unhappy = Some(date(2026, 4, 1));
        assert_eq!(
            risk_of(&unhappy, Some(0.9), ValueTier::Medium, &s, AS_OF),
            (Some(Risk::AtRisk), Some("unhappy_experience"))
        );
        assert_eq!(
            risk_of(&unhappy, Some(0.9), ValueTier::Low, &s, AS_OF),
            (None, None)
        );
        unhappy.last_unhappy = Some(date(2026, 3, 1));
        assert_eq!(
            risk_of(&unhappy, Some(0.9), ValueTier::High, &s, AS_OF),
            (None, None),
            "long ago"
        );
        assert_eq!(
            risk_of(&CustomerFacts::default(), None, ValueTier::Low, &s, AS_OF),
            (None, None)
        );
    }

    #[test]
    fn pareto_shares() {
        let rows: Vec<(f64, f64)> = (1..=10)
            .map(|i| (f64::from(i) * 100.0, f64::from(11 - i)))
            .collect();
        let p = pareto(&rows, 20.0);
        assert_eq!(p.top_customers, 2);
        assert!((p.revenue_share - 1900.0 / 5500.0).abs() < 1e-9);
        assert!((p.their_service_cost_share - 3.0 / 55.0).abs() < 1e-9);
        assert!((p.service_cost_share - 19.0 / 55.0).abs() < 1e-9);
        assert_eq!(pareto(&[], 20.0).revenue_share, 0.0);
    }

    #[test]
    fn settings_are_checked() {
        assert!(ValueSettings::default().problems().is_empty());
        let bad = ValueSettings {
            margin: 1.5,
            unit_days: 0,
            accepting_purchases: 9,
            ..ValueSettings::default()
        };
        let p = bad.problems();
        assert!(p.contains(&("margin", "out_of_range")));
        assert!(p.contains(&("unit_days", "out_of_range")));
        assert!(p.contains(&("dependent_purchases", "below_accepting_purchases")));
    }

    #[test]
    fn a_fitted_run_scores_growth_and_activity() {
        // 400 buyers: steady repeat buyers, one-off buyers, and buyers gone quiet.
        let mut facts = Vec::new();
        for i in 0..400i64 {
            let kind = i % 4;
            let purchases = match kind {
                0 => 8,
                1 => 1,
                2 => 12,
                _ => 2,
            };
            let last = match kind {
                0 => date(2026, 6, 20),
                1 => date(2025, 12, 1),
                2 => date(2025, 8, 1),
                _ => date(2026, 5, 1),
            };
            let purchases = purchases + (i as u32 / 4) % 3;
            let spend = 3000.0 + f64::from((i * 37 % 4000) as u32);
            let mut f = buyer(i, purchases, spend * f64::from(purchases), last);
            f.first_purchase = Some(date(2024, 1, 1) + jiff::Span::new().days(i % 30));
            facts.push(f);
        }
        let s = ValueSettings::default();
        let m = fit(&facts, &s, AS_OF, None);
        assert!(m.fit_error.is_none(), "{:?}", m.fit_error);
        assert_eq!((m.buyers, m.fitted_on), (400, 400));
        let steady = score(&facts[0], &m, &s, AS_OF);
        let quiet = score(&facts[2], &m, &s, AS_OF);
        assert!(steady.p_alive.unwrap() > quiet.p_alive.unwrap());
        assert!(steady.clv > quiet.clv);
        assert_eq!(quiet.risk, Some(Risk::AtRisk));
    }
}
