//! Customer value pages: the dashboard (model, recompute with progress, settings, funnel,
//! Pareto), the segment explorer (filters, charts, save, export), and the explanation of a
//! customer's tier, class, stage, value and risk shown on their page.

use crate::AppState;
use crate::api::value::{Why, explain, fill};
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::yuan;
use crate::kit::page::{
    Chrome, CsrfForm, FormData, Instant, PageQuery, Path, invalid_lines, page_error, render,
};
use aftercare_app::AppError;
use aftercare_app::model::Page;
use aftercare_app::value::*;
use aftercare_domain::ids::*;
use aftercare_insight::value::{Pareto, ValueSettings};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/value", get(dashboard_page))
        .route("/value/recompute", post(recompute_submit))
        .route("/value/holdout", get(holdout_page))
        .route("/value/settings", post(settings_submit))
        .route("/value/segments", get(segments_page).post(segment_submit))
        .route("/value/segments/export.csv", get(segment_export))
        .route("/value/segments/{id}/delete", post(segment_delete))
        .route("/customers/{id}/referrals", post(referral_submit))
        .route("/customers/{id}/tier/unpin", post(unpin_submit))
}

// ---- holdout validation -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "value_holdout.html")]
struct HoldoutPage {
    c: Chrome,
    q: HoldoutQuery,
    report: Option<HoldoutReport>,
    errors: Vec<String>,
}

/// The chart's drawing area, in SVG units.
const CHART: (f64, f64) = (600.0, 220.0);

impl HoldoutPage {
    fn num(&self, v: &f64) -> String {
        format!("{v:.2}")
    }
    fn whole(&self, v: &f64) -> String {
        format!("{v:.0}")
    }
    /// `x,y` pairs of the tracking line, actual or predicted, scaled to the chart.
    fn line(&self, predicted: bool) -> String {
        let Some(r) = &self.report else {
            return String::new();
        };
        let top = r
            .tracking
            .iter()
            .map(|p| p.actual.max(p.predicted))
            .fold(1.0, f64::max);
        let n = r.tracking.len().max(1) as f64;
        r.tracking
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let v = if predicted { p.predicted } else { p.actual };
                let x = (i as f64 + 1.0) / n * CHART.0;
                let y = CHART.1 - v / top * (CHART.1 - 10.0);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn group(&self, x: &u32) -> String {
        if *x >= aftercare_insight::holdout::TOP_GROUP {
            format!("{x}+")
        } else {
            x.to_string()
        }
    }
    fn gap(&self, r: &HoldoutReport) -> String {
        if r.actual > 0.0 {
            format!("{:+.1}%", (r.predicted - r.actual) / r.actual * 100.0)
        } else {
            "—".into()
        }
    }
}

async fn holdout_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<HoldoutQuery>,
) -> Response {
    let asked = q
        .calibration_end
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty());
    let (report, errors) = if asked {
        match s.app.value_holdout(&session.principal, &q).await {
            Ok(r) => (Some(r), vec![]),
            Err(AppError::Invalid(inv)) => (None, invalid_lines(&inv, &Tr(session.lang))),
            Err(e) => return page_error(e, session.lang),
        }
    } else {
        (None, vec![])
    };
    render(HoldoutPage {
        c: Chrome::new(&session, "value"),
        q,
        report,
        errors,
    })
}

// ---- dashboard --------------------------------------------------------------------------

/// A setting as a form field.
struct SettingField {
    name: &'static str,
    value: String,
    step: &'static str,
}

fn setting_fields(s: &ValueSettings) -> Vec<SettingField> {
    let json = serde_json::to_value(s).unwrap_or_default();
    let mut out = Vec::new();
    if let serde_json::Value::Object(m) = json {
        for (k, v) in m {
            let name: &'static str = SETTING_NAMES
                .iter()
                .find(|n| **n == k)
                .copied()
                .unwrap_or("");
            if name.is_empty() {
                continue;
            }
            out.push(SettingField {
                name,
                step: if v.is_f64() { "any" } else { "1" },
                value: v.to_string(),
            });
        }
    }
    out.sort_by_key(|f| SETTING_NAMES.iter().position(|n| *n == f.name));
    out
}

/// The settings in the order the form shows them.
const SETTING_NAMES: &[&str] = &[
    "rfm_window_days",
    "unit_days",
    "horizon_months",
    "margin",
    "discount_rate",
    "fit_sample",
    "current_value_days",
    "mvc_top_percent",
    "mgc_growth_ratio",
    "mgc_top_percent",
    "mgc_min_clv_yuan",
    "medium_clv_percentile",
    "familiar_contacts",
    "trusting_purchases",
    "accepting_purchases",
    "dependent_purchases",
    "dependent_advocacy",
    "unhappy_rating_max",
    "dormant_days",
    "at_risk_p_alive",
    "unhappy_recent_days",
];

#[derive(Template)]
#[template(path = "value.html")]
struct DashboardPage {
    c: Chrome,
    model: Option<ModelView>,
    job: Option<ValueJob>,
    settings: Vec<SettingField>,
    errors: Vec<String>,
    funnel: Funnel,
    pareto: Pareto,
    can_analyze: bool,
}

impl DashboardPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn pct(&self, v: &f64) -> String {
        format!("{:.1}%", v * 100.0)
    }
    fn num(&self, v: &f64) -> String {
        format!("{v:.4}")
    }
    fn max_stage(&self) -> i64 {
        self.funnel
            .stages
            .iter()
            .map(|b| b.count)
            .max()
            .unwrap_or(0)
            .max(1)
    }
    fn width(&self, n: &i64) -> i64 {
        n * 100 / self.max_stage()
    }
    fn job_pct(&self, j: &ValueJob) -> i64 {
        if j.total > 0 {
            j.done * 100 / j.total
        } else {
            0
        }
    }
    fn move_label(&self, key: &str) -> String {
        match key.split_once('>') {
            Some((a, b)) => format!("{} → {}", self.c.tr.k("stage", a), self.c.tr.k("stage", b)),
            None => key.to_string(),
        }
    }
    fn pareto_line(&self, key: &str) -> String {
        fill(
            self.c.tr.t(key),
            &[
                ("pct", "20".into()),
                ("n", self.pareto.top_customers.to_string()),
            ],
        )
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DashQ {
    from: Option<String>,
    to: Option<String>,
}

async fn dashboard(
    s: &AppState,
    session: &Session,
    q: &DashQ,
    errors: Vec<String>,
    settings: Option<ValueSettings>,
) -> Response {
    let p = &session.principal;
    let run = async {
        let model = s.app.value_model(p).await?;
        let job = s.app.running_value_job(p).await?;
        let settings = match settings {
            Some(x) => x,
            None => s.app.value_settings(p).await?,
        };
        let funnel = s.app.funnel(p, q.from.as_deref(), q.to.as_deref()).await?;
        let pareto = s.app.pareto(p, 20.0).await?;
        Ok::<_, AppError>((model, job, settings, funnel, pareto))
    };
    match run.await {
        Ok((model, job, settings, funnel, pareto)) => render(DashboardPage {
            c: Chrome::for_session(session, "value"),
            model,
            job,
            settings: setting_fields(&settings),
            errors,
            funnel,
            pareto,
            can_analyze: p
                .role
                .allows(aftercare_domain::account::Permission::Analyze),
        }),
        Err(e) => page_error(e, session.lang),
    }
}

async fn dashboard_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<DashQ>,
) -> Response {
    dashboard(&s, &session, &q, vec![], None).await
}

async fn recompute_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let as_of = f.s("as_of");
    match crate::api::value::start_recompute(&s, &session.principal, Some(&as_of)).await {
        Ok(_) => Redirect::to("/value").into_response(),
        Err(aftercare_app::AppError::Invalid(inv)) => {
            let errors = setting_lines(&inv, &Tr(session.lang));
            dashboard(&s, &session, &DashQ::default(), errors, None).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// Errors of the settings form, each named by its setting's label.
fn setting_lines(inv: &aftercare_domain::Invalid, tr: &Tr) -> Vec<String> {
    inv.0
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                tr.k("setting", &f.field),
                crate::i18n::field_message(tr.0, f.code)
            )
        })
        .collect()
}

async fn settings_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let tr = Tr(session.lang);
    // Each field as the kind of number its default is: a fraction or a whole number.
    let defaults = serde_json::to_value(ValueSettings::default()).unwrap_or_default();
    let mut m = serde_json::Map::new();
    let mut bad = aftercare_domain::Invalid::default();
    for name in SETTING_NAMES {
        let raw = f.s(name);
        let raw = raw.trim();
        if defaults.get(*name).is_some_and(serde_json::Value::is_f64) {
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    m.insert((*name).into(), serde_json::json!(v));
                }
                _ => bad.push(*name, "not_a_number"),
            }
        } else {
            match raw.parse::<u32>() {
                Ok(v) => {
                    m.insert((*name).into(), serde_json::json!(v));
                }
                Err(_) => bad.push(*name, "not_a_whole_number"),
            }
        }
    }
    let q = DashQ::default();
    if !bad.is_empty() {
        return dashboard(&s, &session, &q, setting_lines(&bad, &tr), None).await;
    }
    let settings: ValueSettings =
        serde_json::from_value(serde_json::Value::Object(m)).unwrap_or_default();
    match s
        .app
        .set_value_settings(&session.principal, &settings)
        .await
    {
        Ok(_) => Redirect::to("/value").into_response(),
        Err(AppError::Invalid(inv)) => {
            dashboard(&s, &session, &q, setting_lines(&inv, &tr), Some(settings)).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

// ---- segment explorer ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "segments.html")]
struct SegmentsPage {
    c: Chrome,
    f: SegmentFilter,
    query: String,
    page: Page<SegmentRow>,
    stats: Option<SegmentStats>,
    saved: Vec<Segment>,
    errors: Vec<String>,
    flash: Option<String>,
    next_href: Option<String>,
    can_analyze: bool,
}

impl SegmentsPage {
    fn money(&self, v: &f64) -> String {
        yuan(*v)
    }
    fn prob(&self, v: &Option<f64>) -> String {
        v.map(|p| format!("{p:.2}")).unwrap_or_else(|| "—".into())
    }
    fn score(&self, v: &Option<i64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
    }
    fn sel(&self, v: &Option<String>, code: &str) -> bool {
        v.as_deref() == Some(code)
    }
    fn num(&self, v: &Option<i64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }
    fn fnum(&self, v: &Option<f64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }
    fn text(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn width(&self, n: &i64, of: &[Bucket]) -> i64 {
        let max = of.iter().map(|b| b.count).max().unwrap_or(0).max(1);
        n * 100 / max
    }
    fn touchpoints(&self) -> Vec<&'static str> {
        aftercare_domain::customer::Touchpoint::ALL
            .iter()
            .map(|t| t.code())
            .collect()
    }
    /// An RFM bucket as people read it: "近度 R · 5 分", "频度 F · 未评分".
    fn rfm_label(&self, key: &str) -> String {
        let mut chars = key.chars();
        let dim = chars.next().map(String::from).unwrap_or_default();
        let score = chars.as_str();
        let score = if score.chars().all(|c| c.is_ascii_digit()) && !score.is_empty() {
            self.c.tr.t("rfm.score").replace("{n}", score)
        } else {
            self.c.tr.t("rfm.unscored")
        };
        format!("{} · {score}", self.c.tr.k("rfm", &dim))
    }
    /// The current filter as (name, value) pairs, for the save form.
    fn hidden_fields(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
    fn seg_href(&self, s: &Segment) -> String {
        format!("/value/segments?{}", filter_query(&s.filter))
    }
}

fn filter_query(f: &SegmentFilter) -> String {
    let n = |v: Option<i64>| v.map(|x| x.to_string());
    let x = |v: Option<f64>| v.map(|x| x.to_string());
    let pairs = [
        ("tier", f.tier.clone()),
        ("class", f.class.clone()),
        ("stage", f.stage.clone()),
        ("risk", f.risk.clone()),
        ("r_min", n(f.r_min)),
        ("f_min", n(f.f_min)),
        ("m_min", n(f.m_min)),
        ("clv_min", x(f.clv_min)),
        ("clv_max", x(f.clv_max)),
        ("p_alive_max", x(f.p_alive_max)),
        ("city", f.city.clone()),
        ("source", f.source.clone()),
        ("tag", f.tag.clone()),
    ];
    let pairs: Vec<(&str, Option<&str>)> = pairs.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    crate::kit::page::query_string(&pairs)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SegQ {
    cursor: Option<String>,
    saved: Option<String>,
}

async fn segments(
    s: &AppState,
    session: &Session,
    f: SegmentFilter,
    cursor: Option<&str>,
    mut errors: Vec<String>,
    flash: Option<String>,
) -> Response {
    let p = &session.principal;
    let tr = Tr(session.lang);
    let saved = match s.app.segments(p).await {
        Ok(x) => x,
        Err(e) => return page_error(e, session.lang),
    };
    let (page, stats) = match (
        s.app.segment(p, &f, cursor, 50).await,
        s.app.segment_stats(p, &f).await,
    ) {
        (Ok(page), Ok(stats)) => (page, Some(stats)),
        (Err(AppError::Invalid(inv)), _) | (_, Err(AppError::Invalid(inv))) => {
            errors.extend(invalid_lines(&inv, &tr));
            (
                Page {
                    items: vec![],
                    next_cursor: None,
                },
                None,
            )
        }
        (Err(e), _) | (_, Err(e)) => return page_error(e, session.lang),
    };
    let query = filter_query(&f);
    let next_href = page.next_cursor.as_deref().map(|c| {
        let cur = crate::kit::page::query_string(&[("cursor", Some(c))]);
        if query.is_empty() {
            format!("/value/segments?{cur}")
        } else {
            format!("/value/segments?{query}&{cur}")
        }
    });
    render(SegmentsPage {
        c: Chrome::for_session(session, "value"),
        f,
        query,
        page,
        stats,
        saved,
        errors,
        flash,
        next_href,
        can_analyze: p
            .role
            .allows(aftercare_domain::account::Permission::Analyze),
    })
}

async fn segments_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(f): PageQuery<SegmentFilter>,
    PageQuery(q): PageQuery<SegQ>,
) -> Response {
    let flash = q.saved.map(|_| Tr(session.lang).t("value.saved_ok"));
    segments(&s, &session, f, q.cursor.as_deref(), vec![], flash).await
}

fn form_filter(f: &FormData) -> SegmentFilter {
    let n = |k: &str| f.opt(k).and_then(|v| v.parse().ok());
    SegmentFilter {
        tier: f.opt("tier"),
        class: f.opt("class"),
        stage: f.opt("stage"),
        risk: f.opt("risk"),
        r_min: n("r_min"),
        f_min: n("f_min"),
        m_min: n("m_min"),
        clv_min: f.opt("clv_min").and_then(|v| v.parse().ok()),
        clv_max: f.opt("clv_max").and_then(|v| v.parse().ok()),
        p_alive_max: f.opt("p_alive_max").and_then(|v| v.parse().ok()),
        city: f.opt("city"),
        source: f.opt("source"),
        tag: f.opt("tag"),
    }
}

async fn segment_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let filter = form_filter(&f);
    let input = SegmentInput {
        name: f.s("name"),
        filter: filter.clone(),
    };
    match s.app.save_segment(&session.principal, &input).await {
        Ok(id) => {
            let q = filter_query(&filter);
            let sep = if q.is_empty() { "" } else { "&" };
            Redirect::to(&format!("/value/segments?{q}{sep}saved={id}")).into_response()
        }
        Err(AppError::Invalid(inv)) => {
            let lines = invalid_lines(&inv, &Tr(session.lang));
            segments(&s, &session, filter, None, lines, None).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

async fn segment_delete(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, _): CsrfForm,
) -> Response {
    match s.app.delete_segment(&session.principal, id).await {
        Ok(()) => Redirect::to("/value/segments").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn segment_export(
    State(s): State<AppState>,
    session: Session,
    PageQuery(f): PageQuery<SegmentFilter>,
) -> Response {
    match crate::api::value::export_csv(&s, &session.principal, &f).await {
        Ok(bytes) => crate::api::value::csv_response(bytes),
        Err(e) => page_error(e, session.lang),
    }
}

// ---- on the customer page ---------------------------------------------------------------------

async fn referral_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = ReferralInput {
        referred_id: f.s("referred_id").trim().parse().unwrap_or_default(),
        note: f.opt("note"),
    };
    match s.app.add_referral(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn unpin_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, _): CsrfForm,
) -> Response {
    match s.app.unpin_tier(&session.principal, id).await {
        Ok(()) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// What the customer page shows of value: the view and its explanation.
pub(crate) struct ValuePanel {
    pub view: ValueView,
    pub why: Vec<Why>,
}

/// The panel of a customer's value view and the model behind it, in the reader's language.
pub(crate) fn panel(
    lang: aftercare_domain::lang::Lang,
    view: ValueView,
    model: Option<&ModelView>,
) -> ValuePanel {
    let why = explain(lang, &view, model);
    ValuePanel { view, why }
}
