//! The `ValueStore` port over SQL: customer facts aggregated from orders, requests,
//! interactions and referrals; scores, stage history, models, jobs and segments.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::model::Page;
use aftercare_app::ports::StoreResult;
use aftercare_app::service::Actor;
use aftercare_app::value::*;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::ids::*;
use aftercare_insight::value::{CustomerFacts, ValueScore, ValueSettings};
use async_trait::async_trait;
use jiff::civil::Date;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// The tier a customer is served at, over `customers c`: the one set by hand while it is
/// pinned, else the computed one, else (never scored) whatever was set before.
pub(crate) const TIER_IN_FORCE: &str = "CASE WHEN c.tier_pinned = 1 THEN c.tier \
    ELSE COALESCE((SELECT tv.tier FROM customer_values tv WHERE tv.customer_id = c.id), c.tier) END";

/// The same over `customers c LEFT JOIN customer_values v`.
pub(crate) const TIER_JOINED: &str =
    "CASE WHEN c.tier_pinned = 1 THEN c.tier ELSE COALESCE(v.tier, c.tier) END";

const VALUE_COLS: &[&str] = &[
    "customer_id",
    "as_of",
    "recency_days",
    "r",
    "f",
    "m",
    "purchases",
    "revenue",
    "service_cost",
    "current_value",
    "p_alive",
    "expected_purchases",
    "clv",
    "class",
    "tier",
    "stage",
    "risk",
    "risk_reason",
    "updated_at",
];

fn day(s: &str) -> Option<Date> {
    s.get(..10)?.parse().ok()
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ValueRec {
    customer_id: i64,
    as_of: String,
    recency_days: Option<i64>,
    r: Option<i64>,
    f: Option<i64>,
    m: Option<i64>,
    purchases: i64,
    revenue: f64,
    service_cost: f64,
    current_value: f64,
    p_alive: Option<f64>,
    expected_purchases: Option<f64>,
    clv: f64,
    class: String,
    tier: String,
    stage: String,
    risk: Option<String>,
    risk_reason: Option<String>,
    updated_at: String,
}

/// A customer's value as last scored.
pub(crate) fn customer_value_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        &format!(
            "SELECT {} FROM customer_values WHERE customer_id = $1",
            VALUE_COLS.join(", ")
        ),
        vec![V::I(customer_id.get())],
    )
}

/// A customer's value from a row of [`customer_value_sql`]; its facts are not filled in.
pub(crate) fn value_from(r: ValueRec) -> StoreResult<CustomerValue> {
    let c = Cells::of("customer_values", r.customer_id);
    Ok(CustomerValue {
        customer_id: CustomerId(r.customer_id),
        as_of: c.date("as_of", &r.as_of)?,
        recency_days: r.recency_days,
        r: r.r,
        f: r.f,
        m: r.m,
        purchases: r.purchases,
        revenue: r.revenue,
        service_cost: r.service_cost,
        current_value: r.current_value,
        p_alive: r.p_alive,
        expected_purchases: r.expected_purchases,
        clv: r.clv,
        class: c.code("class", &r.class)?,
        tier: c.code("tier", &r.tier)?,
        stage: c.code("stage", &r.stage)?,
        risk: c.opt_code("risk", r.risk.as_deref())?,
        risk_reason: r.risk_reason,
        facts: Default::default(),
        updated_at: c.at("updated_at", &r.updated_at)?,
    })
}

/// A customer's tier in force and whether it is set by hand.
pub(crate) fn customer_tier_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        &format!("SELECT {TIER_IN_FORCE} AS tier, c.tier_pinned FROM customers c WHERE c.id = $1"),
        vec![V::I(customer_id.get())],
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct TierRec {
    tier: Option<String>,
    tier_pinned: i64,
}

/// The tier from a row of [`customer_tier_sql`].
pub(crate) fn tier_from(
    customer_id: CustomerId,
    r: TierRec,
) -> StoreResult<(Option<ValueTier>, bool)> {
    let c = Cells::of("customers", customer_id.get());
    Ok((c.opt_code("tier", r.tier.as_deref())?, r.tier_pinned != 0))
}

/// A customer's last 50 changes of loyalty stage, newest first.
pub(crate) fn stage_history_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        "SELECT id, at, from_stage, to_stage FROM loyalty_history WHERE customer_id = $1 \
         ORDER BY id DESC LIMIT 50",
        vec![V::I(customer_id.get())],
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct StageRec {
    id: i64,
    at: String,
    from_stage: Option<String>,
    to_stage: String,
}

/// Stage changes from the rows of [`stage_history_sql`].
pub(crate) fn stages_from(rows: Vec<StageRec>) -> StoreResult<Vec<StageChange>> {
    rows.into_iter()
        .map(|r| {
            let c = Cells::of("loyalty_history", r.id);
            Ok(StageChange {
                at: c.at("at", &r.at)?,
                from_stage: c.opt_code("from_stage", r.from_stage.as_deref())?,
                to_stage: c.code("to_stage", &r.to_stage)?,
            })
        })
        .collect()
}

/// The value settings as saved (JSON), if they ever were.
pub(crate) fn value_settings_sql() -> Sql {
    Sql::new("SELECT settings FROM value_settings WHERE id = 1")
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct SettingsRec {
    pub(crate) settings: String,
}

/// The last full run's model.
pub(crate) fn value_model_sql() -> Sql {
    Sql::new(
        "SELECT id, fitted_at, seconds, model, settings FROM value_models ORDER BY id DESC LIMIT 1",
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ModelRec {
    id: i64,
    fitted_at: String,
    seconds: f64,
    model: String,
    settings: String,
}

/// The model from a row of [`value_model_sql`]: when it was fitted, how long it took,
/// the model and the settings it was fitted with (JSON).
pub(crate) fn model_from(r: ModelRec) -> StoreResult<(jiff::Timestamp, f64, String, String)> {
    let at = Cells::of("value_models", r.id).at("fitted_at", &r.fitted_at)?;
    Ok((at, r.seconds, r.model, r.settings))
}

#[derive(sqlx::FromRow)]
struct RowRec {
    customer_id: i64,
    name: String,
    city: Option<String>,
    tier: String,
    class: String,
    stage: String,
    risk: Option<String>,
    risk_reason: Option<String>,
    r: Option<i64>,
    f: Option<i64>,
    m: Option<i64>,
    recency_days: Option<i64>,
    purchases: i64,
    revenue: f64,
    clv: f64,
    p_alive: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct JobRec {
    id: i64,
    started_at: String,
    started_by: String,
    finished_at: Option<String>,
    stage: String,
    done: i64,
    total: i64,
    error: Option<String>,
}

impl TryFrom<JobRec> for ValueJob {
    type Error = StoreError;

    fn try_from(j: JobRec) -> Result<Self, StoreError> {
        let c = Cells::of("value_jobs", j.id);
        Ok(ValueJob {
            id: j.id,
            started_at: c.at("started_at", &j.started_at)?,
            started_by: j.started_by,
            finished_at: c.opt_at("finished_at", j.finished_at.as_deref())?,
            stage: j.stage,
            done: j.done,
            total: j.total,
            error: j.error,
        })
    }
}

/// `WHERE …` of a segment over `customer_values v JOIN customers c`.
pub(crate) fn segment_where(sql: &mut Sql, f: &SegmentFilter) {
    sql.push(" WHERE c.merged_into IS NULL");
    if let Some(t) = &f.tier {
        sql.push(&format!(" AND {TIER_JOINED} = ")).bind(t);
    }
    if let Some(x) = &f.class {
        sql.push(" AND v.class = ").bind(x);
    }
    if let Some(x) = &f.stage {
        sql.push(" AND v.stage = ").bind(x);
    }
    match f.risk.as_deref() {
        Some("any") => {
            sql.push(" AND v.risk IS NOT NULL");
        }
        Some(x) => {
            sql.push(" AND v.risk = ").bind(x);
        }
        None => {}
    }
    for (col, v) in [("v.r", f.r_min), ("v.f", f.f_min), ("v.m", f.m_min)] {
        if let Some(v) = v {
            sql.push(&format!(" AND {col} >= ")).bind(V::I(v));
        }
    }
    if let Some(v) = f.clv_min {
        sql.push(" AND v.clv >= ").bind(V::F(v * 100.0));
    }
    if let Some(v) = f.clv_max {
        sql.push(" AND v.clv <= ").bind(V::F(v * 100.0));
    }
    if let Some(v) = f.p_alive_max {
        sql.push(" AND v.p_alive <= ").bind(V::F(v));
    }
    if let Some(x) = &f.city {
        sql.push(" AND c.city = ").bind(x);
    }
    if let Some(x) = &f.source {
        sql.push(" AND c.source = ").bind(x);
    }
    if let Some(x) = &f.tag {
        sql.push(
            " AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ",
        )
        .bind(x)
        .push(")");
    }
}

/// CLV bands (yuan) of the explorer's chart.
const CLV_BANDS: &[(f64, &str)] = &[
    (0.0, "0"),
    (100.0, "0-100"),
    (1_000.0, "100-1000"),
    (5_000.0, "1000-5000"),
    (20_000.0, "5000-20000"),
    (f64::INFINITY, "20000+"),
];

fn buckets(m: HashMap<String, i64>, order: &[&str]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = order
        .iter()
        .map(|k| Bucket {
            key: k.to_string(),
            count: m.get(*k).copied().unwrap_or(0),
        })
        .collect();
    let mut rest: Vec<Bucket> = m
        .into_iter()
        .filter(|(k, _)| !order.contains(&k.as_str()))
        .map(|(key, count)| Bucket { key, count })
        .collect();
    rest.sort_by(|a, b| a.key.cmp(&b.key));
    out.extend(rest);
    out
}

#[async_trait]
impl ValueStore for SqlStore {
    async fn value_settings(&self) -> StoreResult<Option<String>> {
        self.settings_row("value_settings").await
    }

    async fn set_value_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        self.save_settings_row("value_settings", actor, json, now)
            .await
    }

    async fn customer_facts(
        &self,
        as_of: Date,
        s: &ValueSettings,
        ids: Option<&[CustomerId]>,
    ) -> StoreResult<Vec<CustomerFacts>> {
        let chunks: Vec<Option<&[CustomerId]>> = match ids {
            None => vec![None],
            Some(ids) => ids.chunks(IN_CHUNK).map(Some).collect(),
        };
        let mut out = Vec::new();
        for ids in chunks {
            out.extend(self.facts_of(as_of, s, ids).await?);
        }
        Ok(out)
    }

    async fn write_scores(
        &self,
        actor: &Actor,
        scores: &[(ValueScore, CustomerFacts)],
        as_of: Date,
        now: jiff::Timestamp,
    ) -> StoreResult<ScoreChanges> {
        let now = &aftercare_app::ports::stamp(now);
        let mut changes = ScoreChanges::default();
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        // What was there: the tier in force, whether it is pinned, the stage.
        let mut before: HashMap<i64, (Option<String>, bool, Option<String>)> = HashMap::new();
        let mut ids: Vec<i64> = scores.iter().map(|(s, _)| s.customer_id).collect();
        ids.sort_unstable();
        let before_sql = format!(
            "SELECT c.id, {TIER_JOINED}, c.tier_pinned, v.stage FROM customers c \
             LEFT JOIN customer_values v ON v.customer_id = c.id WHERE 1 = 1"
        );
        // A full run scores customers in id order: one range read per batch. Scattered
        // customers (an incremental round) are read by lists of ids.
        let batches: Vec<Sql> = match (ids.first(), ids.last()) {
            (Some(&lo), Some(&hi)) if ((hi - lo) as usize) < ids.len() * 2 => {
                let mut sql = Sql::new(&before_sql);
                sql.push(" AND c.id >= ")
                    .bind(V::I(lo))
                    .push(" AND c.id <= ")
                    .bind(V::I(hi));
                vec![sql]
            }
            _ => ids
                .chunks(IN_CHUNK)
                .map(|chunk| {
                    let mut sql = Sql::new(&before_sql);
                    in_list(&mut sql, "c.id", chunk);
                    sql
                })
                .collect(),
        };
        for sql in batches {
            let rows: Vec<(i64, Option<String>, i64, Option<String>)> =
                fetch_all(&mut *tx, &sql.text, &sql.args).await?;
            for (id, tier, pinned, stage) in rows {
                before.insert(id, (tier, pinned != 0, stage));
            }
        }
        let as_of_s = as_of.to_string();
        let mut rows = Vec::with_capacity(scores.len());
        let (mut timeline, mut history) = (Vec::new(), Vec::new());
        for (s, f) in scores {
            let Some((tier, pinned, stage)) = before.get(&s.customer_id) else {
                continue; // deleted meanwhile
            };
            rows.push(vec![
                V::I(s.customer_id),
                (&as_of_s).into(),
                V::OptI(s.recency_days),
                V::OptI(s.r.map(i64::from)),
                V::OptI(s.f.map(i64::from)),
                V::OptI(s.m.map(i64::from)),
                V::I(i64::from(f.purchases)),
                V::F(f.revenue),
                V::F(f.service_cost),
                V::F(s.current_value),
                V::OptF(s.p_alive),
                V::OptF(s.expected_purchases),
                V::F(s.clv),
                s.class.code().into(),
                s.tier.code().into(),
                s.stage.code().into(),
                V::OptT(s.risk.map(|r| r.code().to_string())),
                V::OptT(s.risk_reason.map(str::to_string)),
                now.into(),
            ]);
            let new_tier = s.tier.code();
            if !pinned && tier.as_deref() != Some(new_tier) {
                changes.tiers += 1;
                // A first computed tier is not a change worth a timeline entry.
                if let Some(old) = tier {
                    timeline.push(vec![
                        V::I(s.customer_id),
                        now.into(),
                        "tier".into(),
                        V::OptT(None),
                        V::OptI(None),
                        format!("tier {old} → {new_tier}").into(),
                        V::OptI(actor.user_id.map(UserId::get)),
                    ]);
                }
            }
            let new_stage = s.stage.code();
            if stage.as_deref() != Some(new_stage) {
                changes.stages += 1;
                history.push(vec![
                    V::I(s.customer_id),
                    now.into(),
                    V::OptT(stage.clone()),
                    new_stage.into(),
                ]);
                if let Some(old) = stage {
                    timeline.push(vec![
                        V::I(s.customer_id),
                        now.into(),
                        "stage".into(),
                        V::OptT(None),
                        V::OptI(None),
                        format!("stage {old} → {new_stage}").into(),
                        V::OptI(actor.user_id.map(UserId::get)),
                    ]);
                }
            }
        }
        let backend = self.db.backend;
        let set: Vec<String> = VALUE_COLS[1..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        bulk_insert_then(
            &mut tx,
            backend,
            "customer_values",
            VALUE_COLS,
            &rows,
            &format!(
                " ON CONFLICT (customer_id) DO UPDATE SET {}",
                set.join(", ")
            ),
        )
        .await?;
        bulk_insert(
            &mut tx,
            backend,
            "loyalty_history",
            &["customer_id", "at", "from_stage", "to_stage"],
            &history,
        )
        .await?;
        // With their parameters: the pages say "低价值 → 中价值", not the codes.
        self.timeline_bulk(&mut tx, timeline).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(changes)
    }

    async fn save_value_model(
        &self,
        model: &str,
        settings: &str,
        seconds: f64,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        exec(
            &self.db.write,
            "INSERT INTO value_models (fitted_at, settings, model, seconds) VALUES ($1, $2, $3, $4)",
            &[now.into(), settings.into(), model.into(), V::F(seconds)],
        )
        .await?;
        Ok(())
    }

    async fn value_model(&self) -> StoreResult<Option<(jiff::Timestamp, f64, String, String)>> {
        let sql = value_model_sql();
        let row: Option<ModelRec> = fetch_opt(&self.db.read, &sql.text, &sql.args).await?;
        row.map(model_from).transpose()
    }

    async fn create_value_job(&self, by: &str, now: jiff::Timestamp) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        insert_id(
            &self.db.write,
            "INSERT INTO value_jobs (started_at, started_by, stage, done, total) \
             VALUES ($1, $2, 'queued', 0, 0) RETURNING id",
            &[now.into(), by.into()],
        )
        .await
    }

    async fn update_value_job(
        &self,
        id: i64,
        stage: &str,
        done: i64,
        total: i64,
        error: Option<&str>,
        finished: Option<jiff::Timestamp>,
    ) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE value_jobs SET stage = $1, done = $2, total = $3, error = $4, finished_at = $5 \
             WHERE id = $6",
            &[
                stage.into(),
                V::I(done),
                V::I(total),
                error.into(),
                finished.into(),
                V::I(id),
            ],
        )
        .await?;
        Ok(())
    }

    async fn value_job(&self, id: i64) -> StoreResult<Option<ValueJob>> {
        let j: Option<JobRec> = fetch_opt(
            &self.db.write,
            "SELECT id, started_at, started_by, finished_at, stage, done, total, error \
             FROM value_jobs WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        j.map(TryInto::try_into).transpose()
    }

    async fn running_value_job(&self) -> StoreResult<Option<ValueJob>> {
        let j: Option<JobRec> = fetch_opt(
            &self.db.write,
            "SELECT id, started_at, started_by, finished_at, stage, done, total, error \
             FROM value_jobs WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await?;
        j.map(TryInto::try_into).transpose()
    }

    async fn customer_value(&self, customer_id: CustomerId) -> StoreResult<Option<CustomerValue>> {
        let sql = customer_value_sql(customer_id);
        let r: Option<ValueRec> = fetch_opt(&self.db.read, &sql.text, &sql.args).await?;
        r.map(value_from).transpose()
    }

    async fn customer_tier(
        &self,
        customer_id: CustomerId,
    ) -> StoreResult<Option<(Option<ValueTier>, bool)>> {
        let sql = customer_tier_sql(customer_id);
        let r: Option<TierRec> = fetch_opt(&self.db.read, &sql.text, &sql.args).await?;
        r.map(|r| tier_from(customer_id, r)).transpose()
    }

    async fn unpin_tier(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let computed: Option<(Option<String>, Option<String>)> = fetch_opt(
            &mut *tx,
            "SELECT c.tier, v.tier FROM customers c LEFT JOIN customer_values v ON v.customer_id = c.id \
             WHERE c.id = $1",
            &[V::I(customer_id.get())],
        )
        .await?;
        let Some((before, computed)) = computed else {
            return Err(StoreError::NotFound);
        };
        let tier = computed.or(before.clone());
        exec(
            &mut *tx,
            "UPDATE customers SET tier_pinned = 0, tier = $1, updated_at = $2 WHERE id = $3",
            &[tier.clone().into(), now.into(), V::I(customer_id.get())],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "update",
            "customer_tier",
            customer_id.get(),
            Some(&serde_json::json!({ "tier": before, "pinned": true })),
            Some(&serde_json::json!({ "tier": tier, "pinned": false })),
            now,
        )
        .await?;
        if before != tier {
            self.timeline_add(
                &mut tx,
                customer_id.get(),
                now,
                "tier",
                None,
                None,
                &format!(
                    "tier {} → {}",
                    before.as_deref().unwrap_or("-"),
                    tier.as_deref().unwrap_or("-")
                ),
                actor,
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)
    }

    async fn stage_history(&self, customer_id: CustomerId) -> StoreResult<Vec<StageChange>> {
        let sql = stage_history_sql(customer_id);
        let rows: Vec<StageRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        stages_from(rows)
    }

    async fn segment(
        &self,
        f: &SegmentFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<SegmentRow>> {
        let mut sql = Sql::new(&format!(
            "SELECT v.customer_id, c.name, c.city, {TIER_JOINED} AS tier, v.class, v.stage, \
             v.risk, v.risk_reason, v.r, v.f, v.m, v.recency_days, v.purchases, v.revenue, v.clv, \
             v.p_alive FROM customer_values v JOIN customers c ON c.id = v.customer_id"
        ));
        segment_where(&mut sql, f);
        if let Some(c) = cursor {
            let (clv, id) = decode_cursor(c)?;
            let clv: f64 = clv.parse().map_err(|_| StoreError::Conflict {
                code: "cursor_invalid",
                field: Some("cursor".into()),
            })?;
            sql.push(" AND (v.clv < ")
                .bind(V::F(clv))
                .push(" OR (v.clv = ")
                .bind(V::F(clv))
                .push(" AND v.customer_id < ")
                .bind(V::I(id))
                .push("))");
        }
        sql.push(" ORDER BY v.clv DESC, v.customer_id DESC LIMIT ")
            .bind(V::I(i64::from(limit) + 1));
        let mut rows: Vec<RowRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|r| encode_cursor(&r.clv.to_string(), r.customer_id))
        } else {
            None
        };
        Ok(Page {
            items: rows
                .into_iter()
                .map(|r| {
                    let c = Cells::of("customer_values", r.customer_id);
                    Ok(SegmentRow {
                        customer_id: CustomerId(r.customer_id),
                        name: r.name,
                        city: r.city,
                        tier: c.code("tier", &r.tier)?,
                        class: c.code("class", &r.class)?,
                        stage: c.code("stage", &r.stage)?,
                        risk: c.opt_code("risk", r.risk.as_deref())?,
                        risk_reason: r.risk_reason,
                        r: r.r,
                        f: r.f,
                        m: r.m,
                        recency_days: r.recency_days,
                        purchases: r.purchases,
                        revenue: r.revenue,
                        clv: r.clv,
                        p_alive: r.p_alive,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            next_cursor,
        })
    }

    async fn segment_stats(&self, f: &SegmentFilter) -> StoreResult<SegmentStats> {
        // One pass: counts by every combination, folded here.
        let mut sql = Sql::new(&format!(
            "SELECT {TIER_JOINED}, v.class, v.stage, v.risk, v.r, v.f, v.m, \
             CASE WHEN v.clv <= 0 THEN -1 WHEN v.clv < 10000 THEN 0 WHEN v.clv < 100000 THEN 1 \
             WHEN v.clv < 500000 THEN 2 WHEN v.clv < 2000000 THEN 3 ELSE 4 END AS band, \
             CAST(v.p_alive * 10 AS BIGINT) AS tenth, COUNT(*) \
             FROM customer_values v JOIN customers c ON c.id = v.customer_id"
        ));
        segment_where(&mut sql, f);
        sql.push(" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9");
        type Combo = (
            Option<String>,
            String,
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
            i64,
        );
        let rows: Vec<Combo> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let mut count = 0;
        let (mut tiers, mut classes, mut stages, mut risks, mut rfm, mut clv, mut p) = (
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
            HashMap::new(),
        );
        for (tier, class, stage, risk, r, fr, m, band, tenth, n) in rows {
            count += n;
            *tiers.entry(tier.unwrap_or_else(|| "-".into())).or_insert(0) += n;
            *classes.entry(class).or_insert(0) += n;
            *stages.entry(stage).or_insert(0) += n;
            *risks
                .entry(risk.unwrap_or_else(|| "none".into()))
                .or_insert(0) += n;
            for (letter, v) in [("r", r), ("f", fr), ("m", m)] {
                let key = match v {
                    Some(v) => format!("{letter}{v}"),
                    None => format!("{letter}-"),
                };
                *rfm.entry(key).or_insert(0) += n;
            }
            let band = match band {
                -1 => CLV_BANDS[0].1,
                b => CLV_BANDS[(b as usize + 1).min(CLV_BANDS.len() - 1)].1,
            };
            *clv.entry(band.to_string()).or_insert(0) += n;
            let key = match tenth {
                Some(t) => {
                    let t = t.clamp(0, 9);
                    format!("{:.1}-{:.1}", t as f64 / 10.0, (t + 1) as f64 / 10.0)
                }
                None => "-".into(),
            };
            *p.entry(key).or_insert(0) += n;
        }
        let rfm_order: Vec<String> = ["r", "f", "m"]
            .iter()
            .flat_map(|l| (1..=5).map(move |i| format!("{l}{i}")))
            .collect();
        let rfm_order: Vec<&str> = rfm_order.iter().map(String::as_str).collect();
        let p_order: Vec<String> = (0..10)
            .map(|t| format!("{:.1}-{:.1}", t as f64 / 10.0, (t + 1) as f64 / 10.0))
            .collect();
        let p_order: Vec<&str> = p_order.iter().map(String::as_str).collect();
        let clv_order: Vec<&str> = CLV_BANDS.iter().map(|b| b.1).collect();
        Ok(SegmentStats {
            count,
            tiers: buckets(tiers, &["high", "medium", "low"]),
            classes: buckets(classes, &["mvc", "mgc", "regular", "bz"]),
            stages: buckets(
                stages,
                &["aware", "familiar", "trusting", "accepting", "dependent"],
            ),
            risks: buckets(risks, &["dormant", "at_risk", "none"]),
            rfm: buckets(rfm, &rfm_order),
            clv: buckets(clv, &clv_order),
            p_alive: buckets(p, &p_order),
        })
    }

    async fn save_segment(
        &self,
        by: Option<UserId>,
        name: &str,
        filter: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        insert_id(
            &self.db.write,
            "INSERT INTO segments (name, filter, created_by, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
            &[
                name.into(),
                filter.into(),
                V::OptI(by.map(UserId::get)),
                now.into(),
            ],
        )
        .await
    }

    async fn segments(&self) -> StoreResult<Vec<(i64, String, String, jiff::Timestamp)>> {
        let rows: Vec<(i64, String, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, name, filter, created_at FROM segments ORDER BY id DESC",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|(id, name, filter, at)| {
                let at = Cells::of("segments", id).at("created_at", &at)?;
                Ok((id, name, filter, at))
            })
            .collect()
    }

    async fn delete_segment(&self, id: i64) -> StoreResult<()> {
        let n = exec(
            &self.db.write,
            "DELETE FROM segments WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn stage_counts(&self) -> StoreResult<Vec<Bucket>> {
        let rows: Vec<(String, i64)> = fetch_all(
            &self.db.read,
            "SELECT stage, COUNT(*) FROM customer_values GROUP BY stage",
            &[],
        )
        .await?;
        Ok(buckets(
            rows.into_iter().collect(),
            &["aware", "familiar", "trusting", "accepting", "dependent"],
        ))
    }

    async fn stage_moves(&self, from: &str, to: &str) -> StoreResult<Vec<Bucket>> {
        let rows: Vec<(String, String, i64)> = fetch_all(
            &self.db.read,
            "SELECT from_stage, to_stage, COUNT(*) FROM loyalty_history \
             WHERE at >= $1 AND at < $2 AND from_stage IS NOT NULL GROUP BY from_stage, to_stage",
            &[from.into(), to.into()],
        )
        .await?;
        let mut out: Vec<Bucket> = rows
            .into_iter()
            .map(|(a, b, count)| Bucket {
                key: format!("{a}>{b}"),
                count,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        Ok(out)
    }

    async fn revenue_and_cost(&self) -> StoreResult<Vec<(f64, f64)>> {
        fetch_all(
            &self.db.read,
            "SELECT v.revenue, v.service_cost FROM customer_values v \
             JOIN customers c ON c.id = v.customer_id WHERE c.merged_into IS NULL",
            &[],
        )
        .await
    }

    async fn add_referral(
        &self,
        actor: &Actor,
        referrer: CustomerId,
        referred: CustomerId,
        note: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = self
            .write_referral(&mut tx, actor, referrer, referred, note, now)
            .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }
}

impl SqlStore {
    /// A referral, its audit row and both customers' timeline entries, in `tx`.
    pub(crate) async fn write_referral(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        referrer: CustomerId,
        referred: CustomerId,
        note: Option<&str>,
        now: &str,
    ) -> StoreResult<i64> {
        // The referrer is a current customer (not erased, not merged away), checked in the
        // transaction that credits them.
        for (id, current) in [(referrer, true), (referred, false)] {
            let sql = if current {
                "SELECT id FROM customers WHERE id = $1 AND merged_into IS NULL AND erased_at IS NULL"
            } else {
                "SELECT id FROM customers WHERE id = $1"
            };
            if scalar(&mut *tx, sql, &[V::I(id.get())]).await?.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        let id = insert_id(
            &mut *tx,
            "INSERT INTO referrals (referrer_id, referred_id, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                V::I(referrer.get()),
                V::I(referred.get()),
                note.into(),
                V::OptI(actor.user_id.map(UserId::get)),
                now.into(),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                code: "already_referred",
                field: Some("referred_id".into()),
            },
            e => e,
        })?;
        let after = serde_json::json!({ "referrer_id": referrer, "customer_id": referred });
        self.log(tx, actor, "create", "referral", id, None, Some(&after), now)
            .await?;
        let names: Vec<(i64, String)> = fetch_all(
            &mut *tx,
            "SELECT id, name FROM customers WHERE id IN ($1, $2)",
            &[V::I(referrer.get()), V::I(referred.get())],
        )
        .await?;
        let name = |id| {
            names
                .iter()
                .find(|(i, _)| CustomerId(*i) == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        self.timeline_add(
            tx,
            referrer.get(),
            now,
            "referral",
            Some("word_of_mouth"),
            Some(referred.get()),
            &format!("→ {}", name(referred)),
            actor,
        )
        .await?;
        self.timeline_add(
            tx,
            referred.get(),
            now,
            "referred",
            Some("word_of_mouth"),
            Some(referrer.get()),
            &format!("← {}", name(referrer)),
            actor,
        )
        .await?;
        Ok(id)
    }
}

impl SqlStore {
    async fn facts_of(
        &self,
        as_of: Date,
        s: &ValueSettings,
        ids: Option<&[CustomerId]>,
    ) -> StoreResult<Vec<CustomerFacts>> {
        let filter = |sql: &mut Sql, col: &str| {
            if let Some(ids) = ids {
                in_list(sql, col, ids);
            }
        };
        let mut known = Sql::new("SELECT id, created_at FROM customers WHERE merged_into IS NULL");
        filter(&mut known, "id");
        let unhappy = i64::from(s.unhappy_rating_max);
        let mut served = Sql::new(
            "SELECT customer_id, COUNT(*), \
             CAST(SUM(CASE WHEN service_type = 'consultation' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(parts_cost + labour_cost) AS DOUBLE PRECISION), \
             CAST(SUM(CASE WHEN rating = 5 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN rating <= ",
        );
        served
            .bind(V::I(unhappy))
            .push(" THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN service_type = 'complaint' AND status NOT IN ('resolved', 'closed', 'cancelled') THEN 1 ELSE 0 END) AS BIGINT), \
             MAX(CASE WHEN rating <= ")
            .bind(V::I(unhappy))
            .push(" THEN rated_at WHEN service_type = 'complaint' THEN created_at END) FROM requests WHERE 1 = 1");
        filter(&mut served, "customer_id");
        served.push(" GROUP BY customer_id");
        let mut contacted = Sql::new("SELECT customer_id, COUNT(*) FROM interactions WHERE 1 = 1");
        filter(&mut contacted, "customer_id");
        contacted.push(" GROUP BY customer_id");
        let mut referred = Sql::new("SELECT referrer_id, COUNT(*) FROM referrals WHERE 1 = 1");
        filter(&mut referred, "referrer_id");
        referred.push(" GROUP BY referrer_id");
        let stmts = [known, served, contacted, referred];
        // Named customers (a page, an incremental round: at most `IN_CHUNK`): their
        // purchase blocks and the four reads above in one batch (one hand-off on SQLite).
        // Everyone (a full run): the blocks in halves side by side, and the four reads one
        // by one, so that only one statement's rows over every customer are held at once.
        type ReqAgg = (i64, i64, i64, f64, i64, i64, i64, Option<String>);
        let (bought, known, served, contacted, referred) = match ids {
            Some(ids) => {
                let (blocks, sorted) = crate::purchases::blocks_of(ids);
                let mut sets = fetch_sets_in_turn(
                    self.db.backend,
                    &self.db.read,
                    std::iter::once(blocks).chain(stmts).collect(),
                )
                .await?;
                let blocks: Vec<(Vec<u8>,)> = sets.next()?;
                (
                    crate::purchases::facts_from(&blocks, as_of, s, &sorted)?,
                    sets.next::<(i64, String)>()?,
                    sets.next::<ReqAgg>()?,
                    sets.next::<(i64, i64)>()?,
                    sets.next::<(i64, i64)>()?,
                )
            }
            None => {
                let r = &self.db.read;
                let [known, served, contacted, referred] = stmts;
                (
                    crate::purchases::facts_all(&self.db, as_of, s).await?,
                    fetch_all(r, &known.text, &known.args).await?,
                    fetch_all(r, &served.text, &served.args).await?,
                    fetch_all(r, &contacted.text, &contacted.args).await?,
                    fetch_all(r, &referred.text, &referred.args).await?,
                )
            }
        };
        let mut out: HashMap<i64, CustomerFacts> = HashMap::new();
        for (id, created) in known {
            out.insert(
                id,
                CustomerFacts {
                    customer_id: id,
                    known_since: day(&created),
                    ..Default::default()
                },
            );
        }
        // Purchases from the summaries kept with the orders.
        for p in bought {
            if let Some(f) = out.get_mut(&p.customer_id) {
                f.first_purchase = p.first_purchase;
                f.last_purchase = p.last_purchase;
                f.purchases = p.purchases;
                f.revenue = p.revenue;
                f.first_revenue = p.first_revenue;
                f.discounts = p.discounts;
                f.window_purchases = p.window_purchases;
                f.window_revenue = p.window_revenue;
                f.recent_revenue = p.recent_revenue;
            }
        }
        for (id, n, consult, cost, promoters, unhappy, complaints, last_unhappy) in served {
            if let Some(f) = out.get_mut(&id) {
                f.contacts += n as u32;
                f.consultations = consult as u32;
                f.service_cost = cost;
                f.promoter_ratings = promoters as u32;
                f.unhappy_ratings = unhappy as u32;
                f.open_complaints = complaints as u32;
                f.last_unhappy = last_unhappy.as_deref().and_then(day);
            }
        }
        for (id, n) in contacted {
            if let Some(f) = out.get_mut(&id) {
                f.contacts += n as u32;
            }
        }
        for (id, n) in referred {
            if let Some(f) = out.get_mut(&id) {
                f.referrals = n as u32;
            }
        }
        let mut facts: Vec<CustomerFacts> = out.into_values().collect();
        facts.sort_by_key(|f| f.customer_id);
        Ok(facts)
    }
}
