//! Customer value and loyalty (C5): full recomputes, incremental rescoring from the change
//! log, the customer's value with its explanation, segments, the funnel, Pareto and the
//! settings behind them. The scoring itself is `aftercare_insight::value`.

use crate::error::{AppError, StoreError};
use crate::jobs::changes;
use crate::model::Page;
use crate::ports::StoreResult;
use crate::service::{Actor, App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::value::{LoyaltyStage, ValueClass};
use aftercare_insight::value::{
    CustomerFacts, Pareto, ValueModel, ValueScore, ValueSettings, fit, pareto, score,
};
use async_trait::async_trait;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Customers scored and written per batch (and per progress step).
pub const BATCH: usize = 20_000;
/// Change-log events read per incremental round.
const EVENTS_PER_ROUND: u32 = 5_000;

/// A customer's stored value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerValue {
    pub customer_id: i64,
    /// The day it was scored for.
    pub as_of: String,
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
    /// mvc, mgc, bz or regular.
    pub class: String,
    /// The computed tier (the customer's tier may be pinned by hand).
    pub tier: String,
    pub stage: String,
    pub risk: Option<String>,
    pub risk_reason: Option<String>,
    /// The facts the scores came from.
    pub facts: CustomerFacts,
    pub updated_at: String,
}

/// One change of loyalty stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageChange {
    pub at: String,
    pub from_stage: Option<String>,
    pub to_stage: String,
}

/// A customer's value, with the tier they are served at and the stage history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueView {
    pub value: Option<CustomerValue>,
    /// The tier in force (computed, or set by hand when pinned).
    pub tier: Option<String>,
    pub tier_pinned: bool,
    pub stages: Vec<StageChange>,
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

/// Which customers: every field narrows; all empty is everyone scored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, IntoParams)]
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
    pub customer_id: i64,
    pub name: String,
    pub city: Option<String>,
    pub tier: String,
    pub class: String,
    pub stage: String,
    pub risk: Option<String>,
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
    pub created_at: String,
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
    pub started_at: String,
    pub started_by: String,
    pub finished_at: Option<String>,
    /// facts, fit, scoring, done or failed.
    pub stage: String,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
}

/// The model of the last full run and the settings it ran with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub fitted_at: String,
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
}

/// Storage of customer value.
#[async_trait]
pub trait ValueStore: Send + Sync {
    async fn value_settings(&self) -> StoreResult<Option<String>>;
    async fn set_value_settings(&self, actor: &Actor, json: &str, now: &str) -> StoreResult<()>;
    /// The facts of every customer (`None`) or of these, as of a day.
    async fn customer_facts(
        &self,
        as_of: Date,
        s: &ValueSettings,
        ids: Option<&[i64]>,
    ) -> StoreResult<Vec<CustomerFacts>>;
    /// Writes scores: the values, tiers of unpinned customers (with a timeline entry when
    /// it changes), and stage changes (history and timeline), in one transaction.
    async fn write_scores(
        &self,
        actor: &Actor,
        scores: &[(ValueScore, CustomerFacts)],
        as_of: Date,
        now: &str,
    ) -> StoreResult<ScoreChanges>;
    async fn save_value_model(
        &self,
        model: &str,
        settings: &str,
        seconds: f64,
        now: &str,
    ) -> StoreResult<()>;
    /// (fitted_at, seconds, model json, settings json) of the last run.
    async fn value_model(&self) -> StoreResult<Option<(String, f64, String, String)>>;
    async fn create_value_job(&self, by: &str, now: &str) -> StoreResult<i64>;
    async fn update_value_job(
        &self,
        id: i64,
        stage: &str,
        done: i64,
        total: i64,
        error: Option<&str>,
        finished: Option<&str>,
    ) -> StoreResult<()>;
    async fn value_job(&self, id: i64) -> StoreResult<Option<ValueJob>>;
    async fn running_value_job(&self) -> StoreResult<Option<ValueJob>>;
    async fn customer_value(&self, customer_id: i64) -> StoreResult<Option<CustomerValue>>;
    /// (tier in force, pinned) of a customer; none if there is no such customer.
    async fn customer_tier(&self, customer_id: i64) -> StoreResult<Option<(Option<String>, bool)>>;
    async fn unpin_tier(&self, actor: &Actor, customer_id: i64, now: &str) -> StoreResult<()>;
    async fn stage_history(&self, customer_id: i64) -> StoreResult<Vec<StageChange>>;
    async fn segment(
        &self,
        f: &SegmentFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<SegmentRow>>;
    async fn segment_stats(&self, f: &SegmentFilter) -> StoreResult<SegmentStats>;
    async fn save_segment(
        &self,
        by: Option<i64>,
        name: &str,
        filter: &str,
        now: &str,
    ) -> StoreResult<i64>;
    /// (id, name, filter json, created_at), newest first.
    async fn segments(&self) -> StoreResult<Vec<(i64, String, String, String)>>;
    async fn delete_segment(&self, id: i64) -> StoreResult<()>;
    async fn stage_counts(&self) -> StoreResult<Vec<Bucket>>;
    async fn stage_moves(&self, from: &str, to: &str) -> StoreResult<Vec<Bucket>>;
    /// (revenue, service cost) of every scored customer.
    async fn revenue_and_cost(&self) -> StoreResult<Vec<(f64, f64)>>;
    async fn add_referral(
        &self,
        actor: &Actor,
        referrer: i64,
        referred: i64,
        note: Option<&str>,
        now: &str,
    ) -> StoreResult<i64>;
}

/// Who referred whom.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReferralInput {
    /// The customer who was brought in.
    pub referred_id: i64,
    #[serde(default)]
    pub note: Option<String>,
}

impl App {
    /// The settings in force (the defaults until someone changes them).
    pub async fn value_settings_now(&self) -> Result<ValueSettings, AppError> {
        Ok(match self.store.value_settings().await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored value settings: {e}")))?,
            None => ValueSettings::default(),
        })
    }

    pub async fn value_settings(&self, p: &Principal) -> Result<ValueSettings, AppError> {
        p.require(Permission::Read)?;
        self.value_settings_now().await
    }

    /// Changes the settings; they apply from the next full recompute.
    pub async fn set_value_settings(
        &self,
        p: &Principal,
        s: &ValueSettings,
    ) -> Result<ValueSettings, AppError> {
        p.require(Permission::Analyze)?;
        let mut inv = Invalid::default();
        for (field, code) in s.problems() {
            inv.push(field, code);
        }
        inv.into_result()?;
        let json = serde_json::to_string(s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store
            .set_value_settings(&p.actor(), &json, &self.now())
            .await?;
        Ok(s.clone())
    }

    /// Starts a full recompute and returns its job (the caller runs [`App::run_recompute`]);
    /// `Conflict(recompute_running)` while another one runs.
    pub async fn start_recompute(&self, p: &Principal) -> Result<ValueJob, AppError> {
        p.require(Permission::Analyze)?;
        self.start_recompute_as(&p.actor()).await
    }

    pub async fn start_recompute_as(&self, actor: &Actor) -> Result<ValueJob, AppError> {
        if let Some(j) = self.store.running_value_job().await? {
            // A job whose runner died is taken over after an hour.
            let stale = j
                .started_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|t| self.clock.now().duration_since(t).as_secs() > 3600);
            if !stale {
                return Err(AppError::Conflict {
                    code: "recompute_running",
                    field: None,
                });
            }
            self.store
                .update_value_job(
                    j.id,
                    "failed",
                    j.done,
                    j.total,
                    Some("abandoned"),
                    Some(&self.now()),
                )
                .await?;
        }
        let id = self
            .store
            .create_value_job(&actor.label, &self.now())
            .await?;
        self.store
            .value_job(id)
            .await?
            .ok_or(AppError::NotFound("job"))
    }

    /// Runs a full recompute: facts of every customer, the model fit, every score, in
    /// batches, reporting progress on the job. `progress` hears (done, total).
    pub async fn run_recompute(
        &self,
        actor: &Actor,
        job: i64,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ModelView, AppError> {
        let result = self.recompute_inner(actor, job, progress).await;
        if let Err(e) = &result {
            let _ = self
                .store
                .update_value_job(job, "failed", 0, 0, Some(&e.to_string()), Some(&self.now()))
                .await;
        }
        result
    }

    async fn recompute_inner(
        &self,
        actor: &Actor,
        job: i64,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ModelView, AppError> {
        let started = std::time::Instant::now();
        let s = self.value_settings_now().await?;
        let as_of = self.clock.today();
        // Events up to here are covered by this run.
        let cursor = self.store.latest_event_id().await?;
        self.store
            .update_value_job(job, "facts", 0, 0, None, None)
            .await?;
        let facts = self.store.customer_facts(as_of, &s, None).await?;
        let total = facts.len();
        self.store
            .update_value_job(job, "fit", 0, total as i64, None, None)
            .await?;
        let model = fit(&facts, &s, as_of);
        let now = self.now();
        let mut done = 0;
        for chunk in facts.chunks(BATCH) {
            let scores = scored(chunk, &model, &s, as_of);
            self.store.write_scores(actor, &scores, as_of, &now).await?;
            done += chunk.len();
            progress(done, total);
            self.store
                .update_value_job(job, "scoring", done as i64, total as i64, None, None)
                .await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let model_json =
            serde_json::to_string(&model).map_err(|e| AppError::Internal(e.to_string()))?;
        let settings_json =
            serde_json::to_string(&s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store
            .save_value_model(&model_json, &settings_json, seconds, &now)
            .await?;
        // Changes made while this run read and wrote may have been scored by the
        // incremental rounds and then overwritten here: they are scored again from the
        // event this run started at (scoring twice is harmless).
        self.store
            .set_consumer_cursor(changes::VALUE, cursor)
            .await?;
        self.store
            .update_value_job(
                job,
                "done",
                total as i64,
                total as i64,
                None,
                Some(&self.now()),
            )
            .await?;
        Ok(ModelView {
            fitted_at: now,
            seconds,
            model,
            settings: s,
        })
    }

    /// One incremental round: the customers touched by the change log since the last
    /// round are scored again against the last full run's model. Nothing happens before a
    /// first full run.
    pub async fn refresh_values(&self) -> Result<Refresh, AppError> {
        let Some(view) = self.model_now().await? else {
            return Ok(Refresh::default());
        };
        let batch = self.read_changes(changes::VALUE, EVENTS_PER_ROUND).await?;
        if batch.is_empty() {
            return Ok(Refresh::default());
        }
        let ids = changes::customers_touched(&batch.events);
        let as_of = self.clock.today();
        let s = view.settings;
        let facts = if ids.is_empty() {
            vec![]
        } else {
            self.store.customer_facts(as_of, &s, Some(&ids)).await?
        };
        let scores = scored(&facts, &view.model, &s, as_of);
        if !scores.is_empty() {
            self.store
                .write_scores(&Actor::system("scoring"), &scores, as_of, &self.now())
                .await?;
        }
        self.consumed(changes::VALUE, &batch).await?;
        Ok(Refresh {
            events: batch.span(),
            customers: scores.len(),
        })
    }

    async fn model_now(&self) -> Result<Option<ModelView>, AppError> {
        let Some((fitted_at, seconds, model, settings)) = self.store.value_model().await? else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| AppError::Internal(format!("stored value model: {e}"));
        Ok(Some(ModelView {
            fitted_at,
            seconds,
            model: serde_json::from_str(&model).map_err(bad)?,
            settings: serde_json::from_str(&settings).map_err(bad)?,
        }))
    }

    /// The last full run's model: parameters, log-likelihoods, calibration window, unit.
    pub async fn value_model(&self, p: &Principal) -> Result<Option<ModelView>, AppError> {
        p.require(Permission::Read)?;
        self.model_now().await
    }

    pub async fn value_job(&self, p: &Principal, id: i64) -> Result<ValueJob, AppError> {
        p.require(Permission::Read)?;
        self.store
            .value_job(id)
            .await?
            .ok_or(AppError::NotFound("job"))
    }

    pub async fn running_value_job(&self, p: &Principal) -> Result<Option<ValueJob>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.running_value_job().await?)
    }

    pub async fn customer_value(&self, p: &Principal, id: i64) -> Result<ValueView, AppError> {
        p.require(Permission::Read)?;
        let (tier, tier_pinned) = self
            .store
            .customer_tier(id)
            .await?
            .ok_or(AppError::NotFound("customer"))?;
        // The facts behind the scores, as they are now (scores follow within a second).
        let mut value = self.store.customer_value(id).await?;
        if let Some(v) = &mut value {
            let s = self.value_settings_now().await?;
            let as_of = v.as_of.parse().map_err(|_| StoreError::Corrupt {
                table: "customer_values",
                id,
                column: "as_of",
                value: v.as_of.clone(),
            })?;
            if let Some(f) = self
                .store
                .customer_facts(as_of, &s, Some(&[id]))
                .await?
                .pop()
            {
                v.facts = f;
            }
        }
        Ok(ValueView {
            value,
            tier,
            tier_pinned,
            stages: self.store.stage_history(id).await?,
        })
    }

    /// Releases a tier set by hand: the computed one applies again.
    pub async fn unpin_tier(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::WriteCustomers)?;
        self.store
            .unpin_tier(&p.actor(), id, &self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }

    pub async fn segment(
        &self,
        p: &Principal,
        f: &SegmentFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<SegmentRow>, AppError> {
        p.require(Permission::Read)?;
        let f = f.checked()?;
        self.store
            .segment(&f, cursor, limit.clamp(1, 10_000))
            .await
            .map_err(AppError::from_store("cursor"))
    }

    pub async fn segment_stats(
        &self,
        p: &Principal,
        f: &SegmentFilter,
    ) -> Result<SegmentStats, AppError> {
        p.require(Permission::Read)?;
        let f = f.checked()?;
        Ok(self.store.segment_stats(&f).await?)
    }

    pub async fn save_segment(&self, p: &Principal, i: &SegmentInput) -> Result<i64, AppError> {
        p.require(Permission::Analyze)?;
        let mut inv = Invalid::default();
        let name = i.name.trim();
        if name.is_empty() {
            inv.push("name", "required");
        } else if name.chars().count() > 100 {
            inv.push("name", "too_long");
        }
        let f = match i.filter.checked() {
            Ok(f) => Some(f),
            Err(e) => {
                inv.0.extend(e.0);
                None
            }
        };
        inv.into_result()?;
        let json = serde_json::to_string(&f).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(self
            .store
            .save_segment(Some(p.user.id), name, &json, &self.now())
            .await?)
    }

    pub async fn segments(&self, p: &Principal) -> Result<Vec<Segment>, AppError> {
        p.require(Permission::Read)?;
        Ok(self
            .store
            .segments()
            .await?
            .into_iter()
            .map(|(id, name, filter, created_at)| Segment {
                id,
                name,
                filter: serde_json::from_str(&filter).unwrap_or_default(),
                created_at,
            })
            .collect())
    }

    pub async fn delete_segment(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::Analyze)?;
        self.store
            .delete_segment(id)
            .await
            .map_err(AppError::from_store("segment"))
    }

    /// Stage counts now and the moves between stages from `from` to `to` (days,
    /// inclusive; the last 30 days by default).
    pub async fn funnel(
        &self,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Funnel, AppError> {
        p.require(Permission::Read)?;
        let (from, to) = self.period(from, to)?;
        let end = to.saturating_add(jiff::Span::new().days(1));
        Ok(Funnel {
            stages: self.store.stage_counts().await?,
            from: from.to_string(),
            to: to.to_string(),
            moves: self
                .store
                .stage_moves(&from.to_string(), &end.to_string())
                .await?,
        })
    }

    pub async fn pareto(&self, p: &Principal, top_percent: f64) -> Result<Pareto, AppError> {
        p.require(Permission::Read)?;
        if !(0.0..=100.0).contains(&top_percent) || top_percent <= 0.0 {
            return Err(Invalid::one("top_percent", "out_of_range").into());
        }
        Ok(pareto(&self.store.revenue_and_cost().await?, top_percent))
    }

    /// Records that `referrer` brought in a customer; it counts toward their loyalty stage.
    pub async fn add_referral(
        &self,
        p: &Principal,
        referrer: i64,
        i: &ReferralInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WriteCustomers)?;
        if referrer == i.referred_id {
            return Err(Invalid::one("referred_id", "self_referral").into());
        }
        let note = i.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 500) {
            return Err(Invalid::one("note", "too_long").into());
        }
        self.store
            .add_referral(&p.actor(), referrer, i.referred_id, note, &self.now())
            .await
            .map_err(AppError::from_store("referred_id"))
    }
}

/// Each customer's scores beside the facts they came from, as `write_scores` takes them.
fn scored(
    facts: &[CustomerFacts],
    m: &ValueModel,
    s: &ValueSettings,
    as_of: Date,
) -> Vec<(ValueScore, CustomerFacts)> {
    facts
        .iter()
        .map(|f| (score(f, m, s, as_of), f.clone()))
        .collect()
}
