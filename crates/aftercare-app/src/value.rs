//! Customer value and loyalty (C5): full recomputes, incremental rescoring from the change
//! log, the customer's value with its explanation, segments, the funnel, Pareto and the
//! settings behind them. The scoring itself is `aftercare_insight::value`.

use crate::error::{AppError, StoreError};
use crate::jobs::changes;
use crate::model::Page;
use crate::ports;
pub use crate::ports::ValueStore;
use crate::service::{Actor, App, Principal};
pub use crate::value_model::*;
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::ids::*;
use aftercare_insight::clv::History;
use aftercare_insight::holdout::{Followed, checkpoints, validate};
use aftercare_insight::value::{
    CustomerFacts, Pareto, ValueModel, ValueScore, ValueSettings, fit, history, pareto, score,
};
use jiff::civil::Date;

/// Customers scored and written per batch (and per progress step).
pub const BATCH: usize = 20_000;

/// Checkpoints of a holdout validation's tracking: each reads every customer's purchases.
const HOLDOUT_POINTS: usize = 13;

/// Change-log events read per incremental round.
const EVENTS_PER_ROUND: u32 = 5_000;

/// The value settings from their saved JSON (the defaults until someone changes them).
pub(crate) fn settings_from(json: Option<&str>) -> Result<ValueSettings, AppError> {
    Ok(match json {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| AppError::Internal(format!("stored value settings: {e}")))?,
        None => ValueSettings::default(),
    })
}

/// The last full run's model as [`ValueStore::value_model`] reads it.
pub(crate) fn model_from(
    row: Option<(jiff::Timestamp, f64, String, String)>,
) -> Result<Option<ModelView>, AppError> {
    let Some((fitted_at, seconds, model, settings)) = row else {
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

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::DeskPorts + ports::ChangeLog + ports::ValueStore,
{
    /// The settings in force (the defaults until someone changes them).
    pub async fn value_settings_now(&self) -> Result<ValueSettings, AppError> {
        settings_from(self.store.value_settings().await?.as_deref())
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
            .set_value_settings(&p.actor(), &json, self.now())
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
            let stale = self.clock.now().duration_since(j.started_at).as_secs() > 3600;
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
                    Some(self.now()),
                )
                .await?;
        }
        let id = self
            .store
            .create_value_job(&actor.label, self.now())
            .await?;
        self.store
            .value_job(id)
            .await?
            .ok_or(AppError::NotFound("job"))
    }

    /// The day a recompute scores as of: the run day (`None`), or a chosen day from 1990
    /// up to today, for an analysis of history (`date_invalid`, `date_out_of_range`).
    pub fn recompute_day(&self, as_of: Option<&str>) -> Result<Option<Date>, AppError> {
        let Some(text) = as_of.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(self.past_day("as_of", text)?))
    }

    /// A day from 1990 up to today: `date_invalid`, `date_out_of_range` (before 1990) or
    /// `date_in_future`, named by `field`.
    fn past_day(&self, field: &str, text: &str) -> Result<Date, Invalid> {
        let day = aftercare_domain::error::parse_date(text.trim())
            .map_err(|code| Invalid::one(field, code))?;
        if day < jiff::civil::date(1990, 1, 1) {
            return Err(Invalid::one(field, "date_out_of_range"));
        }
        if day > self.clock.today() {
            return Err(Invalid::one(field, "date_in_future"));
        }
        Ok(day)
    }

    /// Holdout validation of the purchase model: BG/NBD fitted on the purchases up to
    /// `calibration_end`, then the repeat purchases it expects of that cohort up to `end`
    /// (today by default) set beside those made, by number of repeat purchases in
    /// calibration and over time. Nothing is stored.
    pub async fn value_holdout(
        &self,
        p: &Principal,
        q: &HoldoutQuery,
    ) -> Result<HoldoutReport, AppError> {
        p.require(Permission::Analyze)?;
        let mut inv = Invalid::default();
        let cal = match q.calibration_end.as_deref().map(str::trim) {
            None | Some("") => {
                inv.push("calibration_end", "required");
                None
            }
            Some(t) => inv.merge(self.past_day("calibration_end", t)),
        };
        let end = match q.end.as_deref().map(str::trim) {
            None | Some("") => Some(self.clock.today()),
            Some(t) => inv.merge(self.past_day("end", t)),
        };
        if let (Some(c), Some(e)) = (cal, end)
            && c >= e
        {
            inv.push("calibration_end", "from_after_to");
        }
        inv.into_result()?;
        let (Some(cal), Some(end)) = (cal, end) else {
            return Err(Invalid::one("calibration_end", "required").into());
        };
        let s = self.value_settings_now().await?;
        let unit = f64::from(s.unit_days);
        let at_cal = self.store.customer_facts(cal, &s, None).await?;
        let model = fit(&at_cal, &s, cal, None);
        let cohort: Vec<(i64, u32, History)> = at_cal
            .iter()
            .filter_map(|f| Some((f.customer_id, f.purchases, history(f, cal, unit)?)))
            .collect();
        let horizon = (end - cal).get_days() as f64 / unit;
        let points = checkpoints(horizon, HOLDOUT_POINTS);
        let day_of = |t: f64| {
            cal.checked_add(jiff::Span::new().days((t * unit).round() as i64))
                .unwrap_or(end)
                .min(end)
        };
        let mut followed: Vec<Followed> = cohort
            .iter()
            .map(|(_, _, h)| Followed {
                history: *h,
                after: Vec::with_capacity(points.len()),
            })
            .collect();
        if model.bgnbd.is_some() {
            for t in &points {
                let then: std::collections::HashMap<i64, u32> = self
                    .store
                    .customer_facts(day_of(*t), &s, None)
                    .await?
                    .into_iter()
                    .map(|f| (f.customer_id, f.purchases))
                    .collect();
                for ((id, before, _), c) in cohort.iter().zip(&mut followed) {
                    let now = then.get(id).copied().unwrap_or(*before);
                    c.after.push(f64::from(now.saturating_sub(*before)));
                }
            }
        }
        let (by_frequency, track) = match &model.bgnbd {
            Some(bg) => validate(bg, &followed, &points),
            None => (vec![], vec![]),
        };
        let last = track.last();
        Ok(HoldoutReport {
            calibration_start: model.calibration_start,
            calibration_end: cal,
            end,
            unit_days: s.unit_days,
            cohort: cohort.len(),
            bgnbd: model.bgnbd,
            fit_error_code: model.fit_error_code,
            actual: last.map_or(0.0, |p| p.actual),
            predicted: last.map_or(0.0, |p| p.predicted),
            by_frequency,
            tracking: track
                .into_iter()
                .map(|p| HoldoutPoint {
                    day: day_of(p.t),
                    actual: p.actual,
                    predicted: p.predicted,
                })
                .collect(),
        })
    }

    /// Runs a full recompute: facts of every customer, the model fit, every score, in
    /// batches, reporting progress on the job. `progress` hears (done, total). Scored as
    /// of `as_of` when given (see [`App::recompute_day`]), else as of today.
    pub async fn run_recompute(
        &self,
        actor: &Actor,
        job: i64,
        as_of: Option<Date>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ModelView, AppError> {
        let result = self.recompute_inner(actor, job, as_of, progress).await;
        if let Err(e) = &result {
            let _ = self
                .store
                .update_value_job(job, "failed", 0, 0, Some(&e.to_string()), Some(self.now()))
                .await;
        }
        result
    }

    async fn recompute_inner(
        &self,
        actor: &Actor,
        job: i64,
        chosen: Option<Date>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ModelView, AppError> {
        let started = std::time::Instant::now();
        let s = self.value_settings_now().await?;
        let as_of = chosen.unwrap_or_else(|| self.clock.today());
        // A fit that fails keeps the last good parameters.
        let previous = self.model_now().await?.map(|v| v.model);
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
        let mut model = fit(&facts, &s, as_of, previous.as_ref());
        model.as_of_fixed = chosen.is_some();
        if let Some(e) = &model.fit_error {
            tracing::warn!(error = %e, kept_previous = model.kept_previous, "value model not fitted");
        }
        let now = self.now();
        let mut done = 0;
        for chunk in facts.chunks(BATCH) {
            let scores = scored(chunk, &model, &s, as_of);
            self.store.write_scores(actor, &scores, as_of, now).await?;
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
            .save_value_model(&model_json, &settings_json, seconds, now)
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
                Some(self.now()),
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
        let batch = self
            .read_changes(changes::VALUE, EVENTS_PER_ROUND, changes::VALUE_READS)
            .await?;
        if batch.is_empty() {
            return Ok(Refresh::default());
        }
        let ids = changes::customers_touched(&batch.events);
        // A historical analysis stays as of its day.
        let as_of = if view.model.as_of_fixed {
            view.model.as_of
        } else {
            self.clock.today()
        };
        let s = view.settings;
        let facts = if ids.is_empty() {
            vec![]
        } else {
            self.store.customer_facts(as_of, &s, Some(&ids)).await?
        };
        let scores = scored(&facts, &view.model, &s, as_of);
        if !scores.is_empty() {
            self.store
                .write_scores(&Actor::system("scoring"), &scores, as_of, self.now())
                .await?;
        }
        self.consumed(changes::VALUE, &batch).await?;
        Ok(Refresh {
            events: batch.span(),
            customers: scores.len(),
            more: batch.full(EVENTS_PER_ROUND),
        })
    }

    async fn model_now(&self) -> Result<Option<ModelView>, AppError> {
        model_from(self.store.value_model().await?)
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

    pub async fn customer_value(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> Result<ValueView, AppError> {
        p.require(Permission::Read)?;
        let tier = self.store.customer_tier(id).await?;
        if tier.is_none() {
            return Err(AppError::NotFound("customer"));
        }
        let value = self.store.customer_value(id).await?;
        let settings = match value {
            Some(_) => self.store.value_settings().await?,
            None => None,
        };
        let stages = self.store.stage_history(id).await?;
        self.value_view_from(id, tier, value, settings.as_deref(), stages)
            .await
    }

    /// A customer's value view from what was read of it (as [`ValueStore::customer_tier`],
    /// [`ValueStore::customer_value`], [`ValueStore::value_settings`] and
    /// [`ValueStore::stage_history`] give it), with the facts behind the scores as they
    /// are now (scores follow within a second).
    pub(crate) async fn value_view_from(
        &self,
        id: CustomerId,
        tier: Option<(Option<aftercare_domain::customer::ValueTier>, bool)>,
        mut value: Option<CustomerValue>,
        settings: Option<&str>,
        stages: Vec<StageChange>,
    ) -> Result<ValueView, AppError> {
        let (tier, tier_pinned) = tier.ok_or(AppError::NotFound("customer"))?;
        if let Some(v) = &mut value {
            let s = settings_from(settings)?;
            if let Some(f) = self
                .store
                .customer_facts(v.as_of, &s, Some(&[id]))
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
            stages,
        })
    }

    /// Releases a tier set by hand: the computed one applies again.
    pub async fn unpin_tier(&self, p: &Principal, id: CustomerId) -> Result<(), AppError> {
        p.require(Permission::WriteCustomers)?;
        self.store
            .unpin_tier(&p.actor(), id, self.now())
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
            .save_segment(Some(p.user.id), name, &json, self.now())
            .await?)
    }

    pub async fn segments(&self, p: &Principal) -> Result<Vec<Segment>, AppError> {
        p.require(Permission::Read)?;
        self.store
            .segments()
            .await?
            .into_iter()
            .map(|(id, name, filter, created_at)| {
                Ok(Segment {
                    id,
                    name,
                    filter: serde_json::from_str(&filter).map_err(|_| StoreError::Corrupt {
                        table: "segments",
                        id,
                        column: "filter",
                        value: filter.clone(),
                    })?,
                    created_at,
                })
            })
            .collect()
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
        referrer: CustomerId,
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
            .add_referral(&p.actor(), referrer, i.referred_id, note, self.now())
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
