//! The campaign pages: `/campaigns` lists them, builds a new one and keeps the contact
//! budget; `/campaigns/{id}` shows one, its dry run, its controls and its results against
//! the holdout.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::{
    Chrome, CsrfForm, PageQuery, Path, invalid_lines, local_time, page_error, render, yuan,
};
use aftercare_app::AppError;
use aftercare_app::campaign_model::*;
use aftercare_app::desk_model::MessageText;
use aftercare_app::value_model::Segment;
use aftercare_domain::CustomerId;
use aftercare_domain::campaign::{Channel, Condition, ContactBudget, Step, Trigger};
use aftercare_domain::offer::{OfferKind, Why};
use aftercare_insight::uplift::Uplift;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::borrow::Borrow;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list_page).post(create_submit))
        .route("/campaigns/budget", post(budget_submit))
        .route("/campaigns/touchpoints", get(touchpoints_page))
        .route("/campaigns/{id}", get(detail_page))
        .route("/campaigns/{id}/status", post(status_submit))
        .route("/callbacks", get(callbacks_page))
        .route("/callbacks/{id}", post(callback_submit))
        .route("/c/{token}", get(follow_link))
        .route("/offers", get(offers_page).post(offer_submit))
        .route("/offers/{id}/active", post(offer_active_submit))
        .route(
            "/customers/{id}/offer-responses",
            post(offer_response_submit),
        )
}

/// The new-campaign form as typed.
#[derive(Default)]
struct Draft {
    name: String,
    trigger: String,
    segment_id: String,
    lead_days: String,
    text_id: String,
    subject_zh_hans: String,
    subject_zh_hant: String,
    subject_en: String,
    holdout_percent: String,
    window_days: String,
    voucher_kind: String,
    voucher_value: String,
    voucher_days: String,
    steps: Vec<StepDraft>,
}

/// Rows of steps the form offers.
const STEP_ROWS: usize = 5;

/// One row of steps as typed; a row without a kind is left out.
#[derive(Default, Clone)]
struct StepDraft {
    kind: String,
    days: String,
    channel: String,
    text_id: String,
    condition: String,
    to: String,
}

impl Draft {
    /// The step rows, as many as the form offers.
    fn step_rows(&self) -> Vec<(usize, StepDraft)> {
        (0..STEP_ROWS)
            .map(|i| (i + 1, self.steps.get(i).cloned().unwrap_or_default()))
            .collect()
    }
}

/// The steps typed in the form's rows, and the row of each (0-based). Rows left empty are
/// skipped and the steps renumbered; a branch names the row it jumps to, which becomes that
/// step's number. Errors here name the row.
fn steps_of(rows: &[StepDraft], inv: &mut aftercare_domain::Invalid) -> (Vec<Step>, Vec<usize>) {
    let filled: Vec<usize> = (0..rows.len())
        .filter(|i| !rows[*i].kind.trim().is_empty())
        .collect();
    let mut steps = Vec::new();
    for i in &filled {
        let r = &rows[*i];
        let field = |f: &str| format!("steps[{i}].{f}");
        let num = |inv: &mut aftercare_domain::Invalid, f: &str, v: &str| -> u32 {
            match number::<u32>(v) {
                Ok(Some(x)) => x,
                Ok(None) => {
                    inv.push(field(f), "required");
                    0
                }
                Err(()) => {
                    inv.push(field(f), "not_a_number");
                    0
                }
            }
        };
        let condition = |inv: &mut aftercare_domain::Invalid| {
            inv.check(field("condition"), Condition::parse(r.condition.trim()))
        };
        match r.kind.trim() {
            "wait" => steps.push(Step::Wait {
                days: num(inv, "days", &r.days),
            }),
            "send" => {
                let channel = inv.check(field("channel"), Channel::parse(r.channel.trim()));
                let text_id = match number::<i64>(&r.text_id) {
                    Ok(Some(t)) => Some(t),
                    Ok(None) => {
                        inv.push(field("text_id"), "required");
                        None
                    }
                    Err(()) => {
                        inv.push(field("text_id"), "not_a_number");
                        None
                    }
                };
                if let (Some(channel), Some(text_id)) = (channel, text_id) {
                    steps.push(Step::Send { channel, text_id });
                }
            }
            "branch" => {
                let c = condition(inv);
                let row = num(inv, "to", &r.to) as usize;
                // The row's step number once empty rows are skipped (0: an empty row).
                let to = filled
                    .iter()
                    .position(|f| f + 1 == row)
                    .map_or(0, |p| p as u32 + 1);
                if let Some(condition) = c {
                    steps.push(Step::Branch { condition, to });
                }
            }
            "stop" => {
                let c = if r.condition.trim().is_empty() {
                    None
                } else {
                    condition(inv)
                };
                steps.push(Step::Stop { condition: c });
            }
            _ => inv.push(field("kind"), "step_kind_unknown"),
        }
    }
    (steps, filled)
}

/// The use case names a step by its number among the steps; the form by its row.
fn steps_by_row(e: AppError, rows: &[usize]) -> AppError {
    match e {
        AppError::Invalid(mut inv) => {
            for f in &mut inv.0 {
                if let Some((n, rest)) = f
                    .field
                    .strip_prefix("steps[")
                    .and_then(|x| x.split_once(']'))
                    && let Some(row) = n.parse::<usize>().ok().and_then(|n| rows.get(n))
                {
                    f.field = format!("steps[{row}]{rest}");
                }
            }
            AppError::Invalid(inv)
        }
        e => e,
    }
}

/// A step as a person reads it.
pub(crate) fn step_text(tr: &Tr, step: &Step, texts: &[MessageText]) -> String {
    let cond = |c: &Condition| tr.k("condition", c.code());
    match step {
        Step::Wait { days } => tr.t("step.wait").replace("{days}", &days.to_string()),
        Step::Send { channel, text_id } => {
            let name = texts
                .iter()
                .find(|t| t.id == *text_id)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| format!("#{text_id}"));
            format!("{} · {name}", tr.k("step_channel", channel.code()))
        }
        Step::Branch { condition, to } => tr
            .t("step.branch")
            .replace("{condition}", &cond(condition))
            .replace("{to}", &to.to_string()),
        Step::Stop { condition: None } => tr.t("step.stop"),
        Step::Stop { condition: Some(c) } => tr.t("step.stop_if").replace("{condition}", &cond(c)),
    }
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<(Campaign, OutcomeCounts)>,
    segments: Vec<Segment>,
    texts: Vec<MessageText>,
    budget: ContactBudget,
    draft: Draft,
    errors: Vec<String>,
    budget_errors: Vec<String>,
    triggers: &'static [Trigger],
    channels: &'static [Channel],
    conditions: &'static [Condition],
}

/// The touchpoints compared (`/campaigns/touchpoints`): a read over every customer, so a
/// page of its own rather than part of the campaign list.
#[derive(Template)]
#[template(path = "touchpoints.html")]
struct TouchpointsPage {
    c: Chrome,
    touchpoints: Vec<TouchpointRow>,
}

async fn touchpoints_page(State(s): State<AppState>, session: Session) -> Response {
    match s.app.touchpoints(&session.principal).await {
        Ok(touchpoints) => render(TouchpointsPage {
            c: Chrome::for_session(&session, "campaigns"),
            touchpoints,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

impl TouchpointsPage {
    fn tp(&self, code: &str) -> String {
        if code == "-" {
            self.c.tr.t("campaign.tp_unknown")
        } else {
            self.c.tr.k("tp", code)
        }
    }
    fn money(&self, fen: &f64) -> String {
        yuan(*fen)
    }
    fn pct(&self, x: &f64) -> String {
        format!("{:.1} %", x * 100.0)
    }
    fn n2(&self, x: &f64) -> String {
        format!("{x:.2}")
    }
}

async fn list_view(
    s: &AppState,
    session: &Session,
    draft: Draft,
    errors: Vec<String>,
    budget: Option<ContactBudget>,
    budget_errors: Vec<String>,
) -> Result<ListPage, AppError> {
    let p = &session.principal;
    let rows = s.app.campaigns(p).await?;
    let segments = s.app.segments(p).await?;
    let texts = s
        .app
        .message_texts(p)
        .await?
        .into_iter()
        .filter(|t| t.status == "approved")
        .collect();
    let budget = match budget {
        Some(b) => b,
        None => s.app.contact_budget(p).await?,
    };
    Ok(ListPage {
        c: Chrome::for_session(session, "campaigns"),
        rows,
        segments,
        texts,
        budget,
        draft,
        errors,
        budget_errors,
        triggers: Trigger::ALL,
        channels: Channel::ALL,
        conditions: Condition::ALL,
    })
}

async fn list_page(State(s): State<AppState>, session: Session) -> Response {
    let draft = Draft {
        trigger: "warranty_ending".into(),
        lead_days: "30".into(),
        holdout_percent: "10".into(),
        window_days: "30".into(),
        voucher_days: "30".into(),
        ..Draft::default()
    };
    match list_view(&s, &session, draft, vec![], None, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) fn number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| ())
}

/// A number typed in a field: none when left empty; a field error when it is not one.
fn number_in(inv: &mut aftercare_domain::Invalid, field: &'static str, s: &str) -> Option<u32> {
    number(s).unwrap_or_else(|_| {
        inv.push(field, "not_a_number");
        None
    })
}

pub(crate) fn lines(e: AppError, tr: &Tr) -> Vec<String> {
    match e {
        AppError::Invalid(mut inv) => {
            // A campaign's or an offer's name, not a person's ("姓名").
            for f in &mut inv.0 {
                if f.field == "name" {
                    f.field = "campaign_name".into();
                }
            }
            // A step's field: "第 2 步 · 天数: …".
            let (steps, rest): (Vec<_>, Vec<_>) = inv
                .0
                .into_iter()
                .partition(|f| f.field.starts_with("steps["));
            let mut out = invalid_lines(&aftercare_domain::Invalid(rest), tr);
            for f in steps {
                let (n, sub) = f.field["steps[".len()..]
                    .split_once("].")
                    .map(|(n, sub)| (n.parse::<usize>().unwrap_or(0) + 1, sub.to_string()))
                    .unwrap_or((0, String::new()));
                let label = tr.k("step_field", &sub);
                let label = if label.starts_with("step_field.") {
                    sub
                } else {
                    label
                };
                let step = if n > 0 {
                    tr.t("step.number").replace("{n}", &n.to_string())
                } else {
                    tr.t("step.steps")
                };
                out.push(format!(
                    "{step} · {label}: {}",
                    crate::i18n::field_message(tr.0, f.code)
                ));
            }
            out
        }
        AppError::Conflict { code, .. } => vec![crate::i18n::field_message(tr.0, code)],
        other => vec![crate::error::ApiError::from_app(other, tr.0).body.message],
    }
}

async fn create_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let draft = Draft {
        name: f.s("name"),
        trigger: f.s("trigger"),
        segment_id: f.s("segment_id"),
        lead_days: f.s("lead_days"),
        text_id: f.s("text_id"),
        subject_zh_hans: f.s("subject_zh_hans"),
        subject_zh_hant: f.s("subject_zh_hant"),
        subject_en: f.s("subject_en"),
        holdout_percent: f.s("holdout_percent"),
        window_days: f.s("window_days"),
        voucher_kind: f.s("voucher_kind"),
        voucher_value: f.s("voucher_value"),
        voucher_days: f.s("voucher_days"),
        steps: (1..=STEP_ROWS)
            .map(|i| StepDraft {
                kind: f.s(&format!("step{i}_kind")),
                days: f.s(&format!("step{i}_days")),
                channel: f.s(&format!("step{i}_channel")),
                text_id: f.s(&format!("step{i}_text_id")),
                condition: f.s(&format!("step{i}_condition")),
                to: f.s(&format!("step{i}_to")),
            })
            .collect(),
    };
    let tr = Tr(session.lang);
    // Numbers that are not numbers are named like any other bad field.
    let mut inv = aftercare_domain::Invalid::default();
    let lead_days = number_in(&mut inv, "lead_days", &draft.lead_days);
    let holdout_percent = number_in(&mut inv, "holdout_percent", &draft.holdout_percent);
    let window_days = number_in(&mut inv, "window_days", &draft.window_days);
    let voucher_days = number_in(&mut inv, "voucher_days", &draft.voucher_days);
    let segment_id: Option<i64> = number(&draft.segment_id).unwrap_or(None);
    let text_id: Option<i64> = number(&draft.text_id).unwrap_or(None);
    if text_id.is_none() {
        inv.push("text_id", "required");
    }
    let (steps, rows) = steps_of(&draft.steps, &mut inv);
    let result = if inv.0.is_empty() {
        let input = CampaignInput {
            name: draft.name.clone(),
            trigger: draft.trigger.clone(),
            segment_id,
            lead_days,
            text_id: text_id.unwrap_or_default(),
            subject_zh_hans: draft.subject_zh_hans.clone(),
            subject_zh_hant: draft.subject_zh_hant.clone(),
            subject_en: draft.subject_en.clone(),
            holdout_percent,
            window_days,
            voucher_kind: Some(draft.voucher_kind.clone()).filter(|k| !k.trim().is_empty()),
            voucher_value: Some(draft.voucher_value.clone()),
            voucher_days,
            steps,
        };
        s.app
            .create_campaign(&session.principal, &input)
            .await
            .map_err(|e| steps_by_row(e, &rows))
    } else {
        Err(inv.into())
    };
    match result {
        Ok(id) => Redirect::to(&format!("/campaigns/{id}?done=created")).into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => match list_view(&s, &session, draft, lines(e, &tr), None, vec![]).await {
            Ok(p) => render(p),
            Err(e) => page_error(e, session.lang),
        },
    }
}

async fn budget_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let tr = Tr(session.lang);
    let mut inv = aftercare_domain::Invalid::default();
    let mut num = |field: &'static str| -> u32 {
        match number(&f.s(field)) {
            Ok(Some(v)) => v,
            Ok(None) => {
                inv.push(field, "required");
                0
            }
            Err(()) => {
                inv.push(field, "not_a_number");
                0
            }
        }
    };
    let b = ContactBudget {
        max_messages: num("max_messages"),
        period_days: num("period_days"),
        quiet_from: num("quiet_from"),
        quiet_to: num("quiet_to"),
    };
    let r = if inv.0.is_empty() {
        s.app.set_contact_budget(&session.principal, &b).await
    } else {
        Err(inv.into())
    };
    match r {
        Ok(()) => Redirect::to("/campaigns?done=saved").into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &tr);
            match list_view(&s, &session, Draft::default(), vec![], Some(b), errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct DetailPage {
    c: Chrome,
    k: Campaign,
    results: CampaignResults,
    dry: Option<DryRun>,
    errors: Vec<String>,
    texts: Vec<MessageText>,
}

impl DetailPage {
    /// Each step numbered, as read, with what it sent.
    fn step_rows(&self) -> Vec<(u32, String, Option<OutcomeCounts>)> {
        self.k
            .steps
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let n = i as u32 + 1;
                let counts = self
                    .results
                    .journeys
                    .steps
                    .iter()
                    .find(|c| c.step == n)
                    .map(|c| c.counts.clone());
                (n, step_text(&self.c.tr, st, &self.texts), counts)
            })
            .collect()
    }
    fn voucher_value(&self, v: &CampaignVoucher) -> String {
        aftercare_app::campaign::voucher_value_text(v.kind, v.value)
    }
    fn when(&self, at: &Option<jiff::Timestamp>) -> String {
        at.map(|t| local_time(&t.to_string())).unwrap_or_default()
    }
    fn pct(&self, x: impl Borrow<f64>) -> String {
        format!("{:.1} %", x.borrow() * 100.0)
    }
    fn pct_range(&self, u: &Uplift) -> String {
        match (u.low, u.high) {
            (Some(l), Some(h)) => format!("{} … {}", self.pct(l), self.pct(h)),
            _ => self.c.tr.t("campaign.too_few"),
        }
    }
    fn money(&self, fen: impl Borrow<f64>) -> String {
        yuan(*fen.borrow())
    }
    fn money_range(&self, u: &Uplift) -> String {
        match (u.low, u.high) {
            (Some(l), Some(h)) => format!("{} … {}", yuan(l), yuan(h)),
            _ => self.c.tr.t("campaign.too_few"),
        }
    }
    fn count_range(&self, u: &Uplift) -> String {
        match (u.low, u.high) {
            (Some(l), Some(h)) => format!("{l:.3} … {h:.3}"),
            _ => self.c.tr.t("campaign.too_few"),
        }
    }
    fn attributed(&self) -> String {
        yuan(self.results.attributed_revenue as f64)
    }
    fn shown(&self, text: &str) -> String {
        crate::pages::library::field_names_shown(&self.c.tr, text)
    }
    fn n3(&self, x: impl Borrow<f64>) -> String {
        format!("{:.3}", x.borrow())
    }
    /// The statuses the campaign may move to now.
    fn moves(&self) -> Vec<&'static str> {
        use aftercare_domain::campaign::CampaignStatus;
        CampaignStatus::ALL
            .iter()
            .filter(|to| self.k.status.may_become(**to))
            .map(|to| to.code())
            .collect()
    }
    fn can_run(&self) -> bool {
        self.c.can("campaigns")
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DetailQ {
    dry: Option<String>,
}

async fn detail_view(
    s: &AppState,
    session: &Session,
    id: i64,
    dry: bool,
    errors: Vec<String>,
) -> Result<DetailPage, AppError> {
    let p = &session.principal;
    let k = s.app.campaign(p, id).await?;
    let results = s.app.campaign_results(p, id).await?;
    let dry = if dry {
        Some(s.app.dry_run(p, id).await?)
    } else {
        None
    };
    // Step texts are named from the library; those who may not read it see numbers.
    let texts = s.app.message_texts(p).await.unwrap_or_default();
    Ok(DetailPage {
        c: Chrome::for_session(session, "campaigns"),
        k,
        results,
        dry,
        errors,
        texts,
    })
}

async fn detail_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<DetailQ>,
) -> Response {
    match detail_view(&s, &session, id, q.dry.is_some(), vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn status_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = CampaignStatusInput {
        status: f.s("status"),
        version: f.opt("version").and_then(|v| v.parse().ok()).unwrap_or(-1),
    };
    match s
        .app
        .set_campaign_status(&session.principal, id, &input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/campaigns/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match detail_view(&s, &session, id, false, errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

/// A campaign's link: recorded, then on to the portal (a stranger's token goes there too).
async fn follow_link(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    if let Err(e) = s.app.follow_campaign_link(&token).await {
        tracing::warn!(error = %e, "campaign link not recorded");
    }
    Redirect::to("/portal").into_response()
}

#[derive(Template)]
#[template(path = "callbacks.html")]
struct CallbacksPage {
    c: Chrome,
    open: Vec<CallbackTask>,
    done: Vec<CallbackTask>,
    errors: Vec<String>,
    /// The task the errors are about.
    failed: Option<i64>,
}

impl CallbacksPage {
    fn when(&self, at: &jiff::Timestamp) -> String {
        local_time(&at.to_string())
    }
    fn is_failed(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
    fn results(&self) -> Vec<&'static str> {
        vec!["reached", "no_answer", "declined", "wrong_number"]
    }
}

async fn callbacks_view(
    s: &AppState,
    session: &Session,
    errors: Vec<String>,
    failed: Option<i64>,
) -> Result<CallbacksPage, AppError> {
    let p = &session.principal;
    Ok(CallbacksPage {
        c: Chrome::for_session(session, "callbacks"),
        open: s.app.callback_tasks(p, true).await?,
        done: s.app.callback_tasks(p, false).await?,
        errors,
        failed,
    })
}

async fn callbacks_page(State(s): State<AppState>, session: Session) -> Response {
    match callbacks_view(&s, &session, vec![], None).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn callback_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = CallbackInput {
        result: f.s("result"),
        note: f.opt("note"),
        version: f.opt("version").and_then(|v| v.parse().ok()).unwrap_or(-1),
    };
    match s.app.record_callback(&session.principal, id, &input).await {
        Ok(_) => Redirect::to("/callbacks?done=saved").into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match callbacks_view(&s, &session, errors, Some(id)).await {
                Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

/// Why an offer applies, as the agent reads it.
pub(crate) fn why_text(tr: &Tr, why: &Why) -> String {
    match why {
        Why::WarrantyEnds { until } => tr
            .t("why.warranty_ends")
            .replace("{until}", &until.to_string()),
        Why::Repaired { times } => tr.t("why.repaired").replace("{n}", &times.to_string()),
        Why::Aged { months } => tr.t("why.aged").replace("{n}", &months.to_string()),
        Why::Owns => tr.t("why.owns"),
        Why::ServiceDue { months } => tr.t("why.service_due").replace("{n}", &months.to_string()),
    }
}

/// The offer form as typed.
#[derive(Default)]
struct OfferDraft {
    name: String,
    kind: String,
    category_id: String,
    within_days: String,
    min_repairs: String,
    months: String,
    text_id: String,
    product_id: String,
    window_days: String,
}

#[derive(Template)]
#[template(path = "offers.html")]
struct OffersPage {
    c: Chrome,
    offers: Vec<Offer>,
    texts: Vec<MessageText>,
    categories: Vec<(i64, String)>,
    products: Vec<(i64, String)>,
    kinds: Vec<&'static str>,
    draft: OfferDraft,
    errors: Vec<String>,
    report: Option<OfferReport>,
}

impl OffersPage {
    fn rule_text(&self, o: &Offer) -> String {
        let tr = &self.c.tr;
        let n = |key: &str, v: u32| tr.t(key).replace("{n}", &v.to_string());
        let mut parts = match o.kind {
            OfferKind::WarrantyExtension => vec![n("offer.rule_within", o.within_days)],
            OfferKind::Upgrade => {
                let mut v = vec![];
                if o.min_repairs > 0 {
                    v.push(n("offer.rule_repairs", o.min_repairs));
                }
                if o.months > 0 {
                    v.push(n("offer.rule_age", o.months));
                }
                v
            }
            OfferKind::Consumables => vec![],
            OfferKind::Maintenance => vec![n("offer.rule_service", o.months)],
        };
        if let Some(c) = o.category_id
            && let Some((_, name)) = self.categories.iter().find(|(id, _)| *id == c)
        {
            parts.push(name.clone());
        }
        parts.join(" · ")
    }
    fn money(&self, fen: &i64) -> String {
        yuan(*fen as f64)
    }
    fn report_groups(&self) -> Vec<(String, Vec<OfferSales>)> {
        let tr = &self.c.tr;
        self.report
            .as_ref()
            .map(|r| {
                vec![
                    (tr.t("offer.by_offer"), r.by_offer.clone()),
                    (tr.t("offer.by_agent"), r.by_agent.clone()),
                    (tr.t("offer.by_outlet"), r.by_outlet.clone()),
                ]
            })
            .unwrap_or_default()
    }
}

async fn offers_view(
    s: &AppState,
    session: &Session,
    draft: OfferDraft,
    errors: Vec<String>,
) -> Result<OffersPage, AppError> {
    let p = &session.principal;
    let offers = s.app.offers(p).await?;
    let texts = s
        .app
        .message_texts(p)
        .await?
        .into_iter()
        .filter(|t| t.status == "approved")
        .collect();
    let categories = s
        .app
        .categories(p)
        .await?
        .into_iter()
        .map(|c| (c.id.get(), c.name))
        .collect();
    let products = s
        .app
        .products(
            p,
            &aftercare_app::input::ProductQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .map(|x| (x.id.get(), format!("{} · {}", x.name, x.sku)))
        .collect();
    let report = s.app.offer_report(p).await.ok();
    Ok(OffersPage {
        c: Chrome::for_session(session, "campaigns"),
        offers,
        texts,
        categories,
        products,
        kinds: OfferKind::ALL.iter().map(|k| k.code()).collect(),
        draft,
        errors,
        report,
    })
}

async fn offers_page(State(s): State<AppState>, session: Session) -> Response {
    let draft = OfferDraft {
        kind: "warranty_extension".into(),
        within_days: "60".into(),
        min_repairs: "2".into(),
        months: "12".into(),
        window_days: "30".into(),
        ..OfferDraft::default()
    };
    match offers_view(&s, &session, draft, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn offer_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let draft = OfferDraft {
        name: f.s("name"),
        kind: f.s("kind"),
        category_id: f.s("category_id"),
        within_days: f.s("within_days"),
        min_repairs: f.s("min_repairs"),
        months: f.s("months"),
        text_id: f.s("text_id"),
        product_id: f.s("product_id"),
        window_days: f.s("window_days"),
    };
    let tr = Tr(session.lang);
    let mut inv = aftercare_domain::Invalid::default();
    let within_days = number_in(&mut inv, "within_days", &draft.within_days);
    let min_repairs = number_in(&mut inv, "min_repairs", &draft.min_repairs);
    let months = number_in(&mut inv, "months", &draft.months);
    let window_days = number_in(&mut inv, "window_days", &draft.window_days);
    let text_id: Option<i64> = number(&draft.text_id).unwrap_or(None);
    if text_id.is_none() {
        inv.push("text_id", "required");
    }
    let result = if inv.0.is_empty() {
        let input = OfferInput {
            name: draft.name.clone(),
            kind: draft.kind.clone(),
            category_id: number(&draft.category_id).unwrap_or(None),
            within_days,
            min_repairs,
            months,
            text_id: text_id.unwrap_or_default(),
            product_id: number(&draft.product_id).unwrap_or(None),
            window_days,
            active: Some(true),
            version: None,
        };
        s.app.save_offer(&session.principal, None, &input).await
    } else {
        Err(inv.into())
    };
    match result {
        Ok(_) => Redirect::to("/offers?done=created").into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => match offers_view(&s, &session, draft, lines(e, &tr)).await {
            Ok(p) => render(p),
            Err(e) => page_error(e, session.lang),
        },
    }
}

/// Retires an offer or brings it back, keeping everything else as it is.
async fn offer_active_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let p = &session.principal;
    let current = match s.app.offers(p).await {
        Ok(os) => os.into_iter().find(|o| o.id == id),
        Err(e) => return page_error(e, session.lang),
    };
    let Some(o) = current else {
        return page_error(AppError::NotFound("offer"), session.lang);
    };
    let input = OfferInput {
        name: o.name,
        kind: o.kind.code().into(),
        category_id: o.category_id,
        within_days: Some(o.within_days),
        min_repairs: Some(o.min_repairs),
        months: Some(o.months),
        text_id: o.text_id,
        product_id: o.product_id,
        window_days: Some(o.window_days),
        active: Some(f.s("active") == "1"),
        version: f.opt("version").and_then(|v| v.parse().ok()),
    };
    match s.app.save_offer(p, Some(id), &input).await {
        Ok(_) => Redirect::to("/offers?done=saved").into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match offers_view(&s, &session, OfferDraft::default(), errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

/// Records a response to an offer from the customer page or beside a request, and goes
/// back there.
async fn offer_response_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let request_id: Option<i64> = f.opt("request_id").and_then(|v| v.parse().ok());
    let input = OfferResponseInput {
        offer_id: f.opt("offer_id").and_then(|v| v.parse().ok()).unwrap_or(-1),
        asset_id: f.opt("asset_id").and_then(|v| v.parse().ok()),
        request_id,
        response: f.s("response"),
    };
    let back = match request_id {
        Some(r) => format!("/requests/{r}"),
        None => format!("/customers/{id}"),
    };
    match s.app.record_offer(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("{back}?done=saved#offers")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}
