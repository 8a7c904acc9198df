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
use aftercare_domain::campaign::{ContactBudget, Trigger};
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
        .route("/campaigns/{id}", get(detail_page))
        .route("/campaigns/{id}/status", post(status_submit))
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
    })
}

async fn list_page(State(s): State<AppState>, session: Session) -> Response {
    let draft = Draft {
        trigger: "warranty_ending".into(),
        lead_days: "30".into(),
        holdout_percent: "10".into(),
        window_days: "30".into(),
        ..Draft::default()
    };
    match list_view(&s, &session, draft, vec![], None, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

fn number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| ())
}

fn lines(e: AppError, tr: &Tr) -> Vec<String> {
    match e {
        AppError::Invalid(inv) => invalid_lines(&inv, tr),
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
    };
    let tr = Tr(session.lang);
    // Numbers that are not numbers are named like any other bad field.
    let mut inv = aftercare_domain::Invalid::default();
    let mut num = |field: &'static str, v: &str| -> Option<u32> {
        number(v).unwrap_or_else(|_| {
            inv.push(field, "not_a_number");
            None
        })
    };
    let lead_days = num("lead_days", &draft.lead_days);
    let holdout_percent = num("holdout_percent", &draft.holdout_percent);
    let window_days = num("window_days", &draft.window_days);
    let segment_id: Option<i64> = number(&draft.segment_id).unwrap_or(None);
    let text_id: Option<i64> = number(&draft.text_id).unwrap_or(None);
    if text_id.is_none() {
        inv.push("text_id", "required");
    }
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
        };
        s.app.create_campaign(&session.principal, &input).await
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
}

impl DetailPage {
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
    Ok(DetailPage {
        c: Chrome::for_session(session, "campaigns"),
        k,
        results,
        dry,
        errors,
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
