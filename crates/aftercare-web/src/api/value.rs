//! Customer value's part of the REST API: the model, settings and recomputes, each
//! customer's value, segments (query, stats, export, saved), the funnel, Pareto and
//! referrals.

use crate::AppState;
use crate::api::desk::PeriodQuery;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::i18n::Tr;
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Created};
use crate::kit::page::yuan;
use aftercare_app::model::Page;
use aftercare_app::value::*;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::ids::*;
use aftercare_domain::lang::Lang;
use aftercare_domain::value::{LoyaltyStage, ValueClass};
use aftercare_insight::value::{Pareto, ValueSettings};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_model))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(recompute))
        .routes(routes!(get_job))
        .routes(routes!(customer_value))
        .routes(routes!(unpin_tier))
        .routes(routes!(add_referral))
        .routes(routes!(segment_customers))
        .routes(routes!(segment_stats))
        .routes(routes!(segment_export))
        .routes(routes!(list_segments, save_segment))
        .routes(routes!(delete_segment))
        .routes(routes!(funnel))
        .routes(routes!(holdout))
        .routes(routes!(pareto))
}

/// Starts a recompute in the background, as of a chosen day when `as_of` is given, and
/// returns its job.
pub(crate) async fn start_recompute(
    s: &AppState,
    p: &aftercare_app::service::Principal,
    as_of: Option<&str>,
) -> Result<ValueJob, aftercare_app::AppError> {
    let as_of = s.app.recompute_day(as_of)?;
    let job = s.app.start_recompute(p).await?;
    let app = s.app.clone();
    let actor = p.actor();
    let id = job.id;
    tokio::spawn(async move {
        match app.run_recompute(&actor, id, as_of, &|_, _| {}).await {
            Ok(v) => tracing::info!(
                seconds = v.seconds,
                customers = v.model.customers,
                "value recompute"
            ),
            Err(e) => tracing::warn!(error = %e, "value recompute failed"),
        }
    });
    Ok(job)
}

/// The last full run: BG/NBD and Gamma-Gamma parameters with their log-likelihoods, the
/// calibration window, the time unit (days), the boundaries and the settings it ran with.
/// `null` before the first run.
#[utoipa::path(get, path = "/api/v1/value/model", tag = "customer value",
    responses((status = 200, body = Option<ModelView>)))]
async fn get_model(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Option<ModelView>>> {
    s.app
        .value_model(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The rules and thresholds of scoring (defaults until changed).
#[utoipa::path(get, path = "/api/v1/value/settings", tag = "customer value",
    responses((status = 200, body = ValueSettings)))]
async fn get_settings(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<ValueSettings>> {
    s.app
        .value_settings(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Change the rules and thresholds; absent fields take their defaults. They apply from
/// the next full recompute.
#[utoipa::path(put, path = "/api/v1/value/settings", tag = "customer value", request_body = ValueSettings,
    responses((status = 200, body = ValueSettings), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<ValueSettings>,
) -> ApiResult<Json<ValueSettings>> {
    s.app
        .set_value_settings(&c.principal, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// When a recompute scores as of.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct RecomputeQuery {
    /// Score as of this day (YYYY-MM-DD, 1990 to today) instead of today: an analysis of
    /// history, e.g. an imported order log. Purchases after it are left out, and later
    /// changes are scored as of it too, until a recompute without it.
    as_of: Option<String>,
}

/// Start a full recompute (RFM, model fit, CLV, classes, tiers, stages, risks) in the
/// background; follow it with `GET /api/v1/value/jobs/{id}`. 409 `recompute_running`
/// while one runs.
#[utoipa::path(post, path = "/api/v1/value/recompute", tag = "customer value", params(RecomputeQuery),
    responses((status = 202, body = ValueJob), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn recompute(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<RecomputeQuery>,
) -> ApiResult<(StatusCode, Json<ValueJob>)> {
    let job = start_recompute(&s, &c.principal, q.as_of.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Holdout validation of the purchase model: BG/NBD fitted on the purchases up to
/// `calibration_end`, and the repeat purchases it expects of that cohort up to `end`
/// (today when absent) beside those made, by repeat purchases in calibration and over
/// time. Reads every customer's purchases once per checkpoint (13 at most); stores nothing.
#[utoipa::path(get, path = "/api/v1/value/holdout", tag = "customer value", params(HoldoutQuery),
    responses((status = 200, body = HoldoutReport), (status = 422, body = ErrorBody)))]
async fn holdout(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<HoldoutQuery>,
) -> ApiResult<Json<HoldoutReport>> {
    s.app
        .value_holdout(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// A recompute's progress: stage (queued, facts, fit, scoring, done, failed), done of total.
#[utoipa::path(get, path = "/api/v1/value/jobs/{id}", tag = "customer value",
    responses((status = 200, body = ValueJob), (status = 404, body = ErrorBody)))]
async fn get_job(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ValueJob>> {
    s.app
        .value_job(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// A customer's value with its explanation.
#[derive(Serialize, ToSchema)]
struct ValueBody {
    #[serde(flatten)]
    view: ValueView,
    /// Why, in plain words (in the caller's language): tier, class, stage, value, risk.
    explanation: Vec<Why>,
}

/// A customer's RFM, CLV, probability of being active, class, tier (and whether it was set
/// by hand), loyalty stage with its history, risk, the facts behind them and a plain
/// explanation.
#[utoipa::path(get, path = "/api/v1/customers/{id}/value", tag = "customer value", params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 200, body = ValueBody), (status = 404, body = ErrorBody)))]
async fn customer_value(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<Json<ValueBody>> {
    let view = s.app.customer_value(&c.principal, id).await?;
    let model = s.app.value_model(&c.principal).await?;
    let explanation = explain(c.lang, &view, model.as_ref());
    Ok(Json(ValueBody { view, explanation }))
}

/// Release a tier set by hand: the computed tier applies again.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/tier", tag = "customer value", params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unpin_tier(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
) -> ApiResult<StatusCode> {
    s.app.unpin_tier(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record that this customer brought in another (a customer is referred once); it counts
/// toward the referrer's loyalty stage.
#[utoipa::path(post, path = "/api/v1/customers/{id}/referrals", tag = "customer value", params(("id" = i64, Path, description = "The customer's id")), request_body = ReferralInput,
    responses((status = 201, body = Created), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_referral(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<ReferralInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.add_referral(&c.principal, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub(crate) struct PageParams {
    pub cursor: Option<String>,
    /// 1–1000, default 50.
    pub limit: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> u32 {
        self.limit
            .as_deref()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(50)
            .clamp(1, 1000)
    }
}

/// Customers matching a filter, highest CLV first.
#[utoipa::path(get, path = "/api/v1/segments/customers", tag = "customer value", params(SegmentFilter, PageParams),
    responses((status = 200, body = Page<SegmentRow>), (status = 422, body = ErrorBody)))]
async fn segment_customers(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(f): ApiQuery<SegmentFilter>,
    ApiQuery(pg): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<SegmentRow>>> {
    s.app
        .segment(&c.principal, &f, pg.cursor.as_deref(), pg.limit())
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// How the customers matching a filter are distributed: tiers, classes, stages, risks,
/// R/F/M scores, CLV bands, probability of being active.
#[utoipa::path(get, path = "/api/v1/segments/stats", tag = "customer value", params(SegmentFilter),
    responses((status = 200, body = SegmentStats), (status = 422, body = ErrorBody)))]
async fn segment_stats(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(f): ApiQuery<SegmentFilter>,
) -> ApiResult<Json<SegmentStats>> {
    s.app
        .segment_stats(&c.principal, &f)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Every customer matching a filter as CSV (UTF-8 with BOM), for a campaign: id, name,
/// city, tier, class, stage, risk and its reason, RFM, CLV, probability of being active.
#[utoipa::path(get, path = "/api/v1/segments/export.csv", tag = "customer value", params(SegmentFilter),
    responses((status = 200, content_type = "text/csv"), (status = 422, body = ErrorBody)))]
async fn segment_export(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(f): ApiQuery<SegmentFilter>,
) -> Response {
    match export_csv(&s, &c.principal, &f).await {
        Ok(bytes) => csv_response(bytes),
        Err(e) => crate::error::ApiError::from_app(e, c.lang).into_response(),
    }
}

pub(crate) fn csv_response(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"segment.csv\"",
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The whole segment, page by page, as CSV.
pub(crate) async fn export_csv(
    s: &AppState,
    p: &aftercare_app::service::Principal,
    f: &SegmentFilter,
) -> Result<Vec<u8>, aftercare_app::AppError> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.app.segment(p, f, cursor.as_deref(), 10_000).await?;
        for r in page.items {
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            rows.push(vec![
                r.customer_id.to_string(),
                r.name,
                r.city.unwrap_or_default(),
                r.tier.code().to_owned(),
                r.class.code().to_owned(),
                r.stage.code().to_owned(),
                r.risk.map(|r| r.code().to_owned()).unwrap_or_default(),
                r.risk_reason.unwrap_or_default(),
                opt(r.r),
                opt(r.f),
                opt(r.m),
                opt(r.recency_days),
                r.purchases.to_string(),
                format!("{:.2}", r.revenue / 100.0),
                format!("{:.2}", r.clv / 100.0),
                r.p_alive.map(|p| format!("{p:.3}")).unwrap_or_default(),
            ]);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(aftercare_app::transfer::to_csv(
        &[
            "id",
            "name",
            "city",
            "tier",
            "class",
            "stage",
            "risk",
            "risk_reason",
            "r",
            "f",
            "m",
            "recency_days",
            "purchases",
            "revenue",
            "clv",
            "p_alive",
        ],
        &rows,
    ))
}

/// Saved segments, newest first.
#[utoipa::path(get, path = "/api/v1/segments", tag = "customer value",
    responses((status = 200, body = Vec<Segment>)))]
async fn list_segments(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Segment>>> {
    s.app
        .segments(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Save a filter under a name.
#[utoipa::path(post, path = "/api/v1/segments", tag = "customer value", request_body = SegmentInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn save_segment(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.save_segment(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "customer value",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_segment(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_segment(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The loyalty funnel: customers at each stage now, and the moves between stages in a
/// period (`familiar>trusting`: count).
#[utoipa::path(get, path = "/api/v1/value/funnel", tag = "customer value", params(PeriodQuery),
    responses((status = 200, body = Funnel), (status = 422, body = ErrorBody)))]
async fn funnel(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Funnel>> {
    s.app
        .funnel(&c.principal, q.from.as_deref(), q.to.as_deref())
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct ParetoQuery {
    /// The top share of customers, in percent (default 20).
    top_percent: Option<String>,
}

/// What share of revenue and of service cost comes from the top customers.
#[utoipa::path(get, path = "/api/v1/value/pareto", tag = "customer value", params(ParetoQuery),
    responses((status = 200, body = Pareto), (status = 422, body = ErrorBody)))]
async fn pareto(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ParetoQuery>,
) -> ApiResult<Json<Pareto>> {
    let top = match q
        .top_percent
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => 20.0,
        Some(t) => t.parse().map_err(|_| {
            crate::error::ApiError::from_app(
                aftercare_domain::Invalid::one("top_percent", "not_a_number").into(),
                c.lang,
            )
        })?,
    };
    s.app
        .pareto(&c.principal, top)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One reason, in plain words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Why {
    /// tier, class, stage, value or risk.
    pub topic: &'static str,
    pub label: String,
    pub text: String,
}

pub(crate) fn fill(text: String, args: &[(&str, String)]) -> String {
    args.iter()
        .fold(text, |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

/// Why the customer has the tier, class, stage, value and risk they have.
pub fn explain(lang: Lang, v: &ValueView, model: Option<&ModelView>) -> Vec<Why> {
    let tr = Tr(lang);
    let Some(x) = &v.value else {
        return vec![];
    };
    let f = &x.facts;
    let s = model.map(|m| m.settings.clone()).unwrap_or_default();
    let b = model
        .map(|m| m.model.boundaries.clone())
        .unwrap_or_default();
    let why = |topic: &'static str, key: &str, args: &[(&str, String)]| Why {
        topic,
        label: tr.t(&format!("why.{topic}")),
        text: fill(tr.t(key), args),
    };
    let mut out = Vec::new();
    let class = tr.k("class", x.class);
    out.push(match (&v.tier, v.tier_pinned) {
        (Some(t), true) => why(
            "tier",
            "why.tier.pinned",
            &[
                ("tier", tr.k("tier", t)),
                ("computed", tr.k("tier", x.tier)),
            ],
        ),
        _ if x.class == ValueClass::Regular && x.tier == ValueTier::Medium => why(
            "tier",
            "why.tier.medium_clv",
            &[
                ("clv", yuan(x.clv)),
                ("min", yuan(b.medium_min_clv)),
                ("tier", tr.k("tier", x.tier)),
            ],
        ),
        _ => why(
            "tier",
            "why.tier.computed",
            &[("class", class.clone()), ("tier", tr.k("tier", x.tier))],
        ),
    });
    let cv = yuan(x.current_value);
    let clv = yuan(x.clv);
    out.push(match x.class {
        ValueClass::Mvc => why(
            "class",
            "why.class.mvc",
            &[
                ("cv", cv.clone()),
                ("pct", s.mvc_top_percent.to_string()),
                ("min", yuan(b.mvc_min_value)),
            ],
        ),
        ValueClass::Mgc => why(
            "class",
            "why.class.mgc",
            &[
                ("months", s.horizon_months.to_string()),
                ("clv", clv.clone()),
                ("ratio", s.mgc_growth_ratio.to_string()),
                ("cv", cv.clone()),
            ],
        ),
        ValueClass::Bz => why(
            "class",
            "why.class.bz",
            &[
                ("cost", yuan(f.service_cost)),
                ("disc", yuan(f.discounts)),
                ("margin", yuan(f.revenue * s.margin)),
                ("mpct", format!("{:.0}", s.margin * 100.0)),
                ("rev", yuan(f.revenue)),
            ],
        ),
        _ => why(
            "class",
            "why.class.regular",
            &[("cv", cv.clone()), ("clv", clv.clone())],
        ),
    });
    let n = f.purchases.to_string();
    let unhappy = f.unhappy_ratings > 0 || f.open_complaints > 0;
    out.push(match x.stage {
        LoyaltyStage::Dependent => why(
            "stage",
            "why.stage.dependent",
            &[
                ("n", n.clone()),
                ("promoters", f.promoter_ratings.to_string()),
                ("referrals", f.referrals.to_string()),
            ],
        ),
        LoyaltyStage::Accepting => why("stage", "why.stage.accepting", &[("n", n.clone())]),
        LoyaltyStage::Trusting => why("stage", "why.stage.trusting", &[("n", n.clone())]),
        LoyaltyStage::Familiar if unhappy => why(
            "stage",
            "why.stage.unhappy",
            &[
                ("unhappy", f.unhappy_ratings.to_string()),
                ("complaints", f.open_complaints.to_string()),
            ],
        ),
        LoyaltyStage::Familiar => why(
            "stage",
            "why.stage.familiar",
            &[
                ("contacts", f.contacts.to_string()),
                ("consultations", f.consultations.to_string()),
            ],
        ),
        LoyaltyStage::Aware => why(
            "stage",
            "why.stage.aware",
            &[
                (
                    "since",
                    f.known_since.map(|d| d.to_string()).unwrap_or_default(),
                ),
                ("need", s.familiar_contacts.to_string()),
            ],
        ),
    });
    let days = x.recency_days.unwrap_or(0).to_string();
    out.push(match (f.first_purchase, x.p_alive, x.expected_purchases) {
        (None, _, _) => why("value", "why.value.none", &[]),
        (Some(first), Some(p), Some(e)) => {
            let span = first.until(x.as_of).map(|s| s.get_days()).unwrap_or(0);
            let months = ((f64::from(span) / 30.4375).round() as i64).max(1);
            why(
                "value",
                "why.value.model",
                &[
                    ("months", months.to_string()),
                    ("n", n.clone()),
                    ("days", days.clone()),
                    ("p", format!("{p:.2}")),
                    ("h", s.horizon_months.to_string()),
                    ("e", format!("{e:.1}")),
                    ("clv", clv.clone()),
                ],
            )
        }
        // Bought once: the model expects purchases, but P(active) means nothing yet.
        (Some(_), None, Some(e)) => why(
            "value",
            "why.value.once",
            &[
                ("days", days.clone()),
                ("h", s.horizon_months.to_string()),
                ("e", format!("{e:.1}")),
                ("clv", clv.clone()),
            ],
        ),
        _ => why(
            "value",
            "why.value.nomodel",
            &[
                ("n", n.clone()),
                ("days", days.clone()),
                ("clv", clv.clone()),
            ],
        ),
    });
    out.push(match x.risk_reason.as_deref() {
        Some("no_purchase") => why(
            "risk",
            "why.risk.no_purchase",
            &[
                ("days", days.clone()),
                ("limit", s.dormant_days.to_string()),
            ],
        ),
        Some("low_p_alive") => why(
            "risk",
            "why.risk.low_p_alive",
            &[
                ("p", format!("{:.2}", x.p_alive.unwrap_or(0.0))),
                ("limit", s.at_risk_p_alive.to_string()),
                ("days", days.clone()),
            ],
        ),
        Some("unhappy_experience") => why(
            "risk",
            "why.risk.unhappy_experience",
            &[(
                "date",
                f.last_unhappy.map(|d| d.to_string()).unwrap_or_default(),
            )],
        ),
        _ => why("risk", "why.risk.none", &[]),
    });
    out
}
