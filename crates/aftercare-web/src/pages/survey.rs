//! The survey a customer answers from an emailed link or the portal, without signing in:
//! the link's signed token is the key. In the customer's choice of 简体中文, 繁體中文 or
//! English.

use crate::AppState;
use crate::i18n::Tr;
use crate::kit::page::{Path, invalid_lines, render};
use aftercare_app::AppError;
use aftercare_app::survey::{CustomQuestion, SurveyAnswer, SurveyForm};
use aftercare_domain::lang::Lang;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/s/{token}", get(survey_page).post(survey_submit))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangQ {
    lang: Option<String>,
}

fn lang_of(q: &LangQ, headers: &HeaderMap) -> Lang {
    q.lang
        .as_deref()
        .and_then(Lang::from_tag)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    tr: Tr,
    form: SurveyForm,
    /// thanks, expired, answered or open.
    state: &'static str,
    errors: Vec<String>,
}

impl SurveyPage {
    fn question(&self, q: &CustomQuestion) -> String {
        match self.tr.0 {
            Lang::ZhHans => q.zh_hans.clone(),
            Lang::ZhHant => q.zh_hant.clone(),
            Lang::En => q.en.clone(),
        }
    }
    fn about(&self) -> String {
        let s = &self.form.survey;
        let what = match (&s.occasion[..], &s.product_name) {
            ("purchase", Some(p)) => format!("{} · {p}", self.tr.t("sv.about_purchase")),
            ("purchase", None) => self.tr.t("sv.about_purchase"),
            (_, Some(p)) => format!("{} · {p}", self.tr.t("sv.about_service")),
            _ => self.tr.t("sv.about_service"),
        };
        format!("{} · {what}", s.customer_name)
    }
}

fn not_found(lang: Lang) -> Response {
    let tr = Tr(lang);
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>{0}</title><p>{0}</p>",
            tr.t("sv.not_found")
        )),
    )
        .into_response()
}

fn page(tr: Tr, form: SurveyForm, errors: Vec<String>) -> Response {
    let state = if form.survey.answered_at.is_some() {
        "answered"
    } else if form.expired {
        "expired"
    } else {
        "open"
    };
    render(SurveyPage {
        tr,
        form,
        state,
        errors,
    })
}

async fn survey_page(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQ>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&q, &headers);
    match s.app.survey_by_token(&token).await {
        Ok(form) => page(Tr(lang), form, vec![]),
        Err(AppError::NotFound(_)) => not_found(lang),
        Err(e) => crate::kit::page::page_error(e, lang),
    }
}

async fn survey_submit(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQ>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&q, &headers);
    let tr = Tr(lang);
    let f = crate::kit::page::FormData::parse(&body);
    let mut bad = aftercare_domain::Invalid::default();
    let mut score = |k: &str| match f.opt(k) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                bad.push(k, "score_range");
                None
            }
        },
    };
    let (csat, nps, ces) = (score("csat"), score("nps"), score("ces"));
    let answers = f
        .pairs()
        .filter_map(|(k, v)| k.strip_prefix("q_").map(|id| (id.to_owned(), v.to_owned())))
        .collect();
    let answer = SurveyAnswer {
        csat,
        nps,
        ces,
        answers,
        comment: f.opt("comment"),
    };
    let result = if bad.is_empty() {
        s.app.answer_survey(&token, &answer).await
    } else {
        Err(AppError::Invalid(bad))
    };
    match result {
        Ok(_) => match s.app.survey_by_token(&token).await {
            Ok(form) => render(SurveyPage {
                tr,
                form,
                state: "thanks",
                errors: vec![],
            }),
            Err(e) => crate::kit::page::page_error(e, lang),
        },
        Err(AppError::Invalid(inv)) => match s.app.survey_by_token(&token).await {
            Ok(form) => {
                let mut r = page(tr, form, invalid_lines(&inv, &tr));
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e) => crate::kit::page::page_error(e, lang),
        },
        Err(AppError::NotFound(_)) => not_found(lang),
        Err(AppError::Conflict { .. }) => match s.app.survey_by_token(&token).await {
            Ok(form) => page(tr, form, vec![]),
            Err(e) => crate::kit::page::page_error(e, lang),
        },
        Err(e) => crate::kit::page::page_error(e, lang),
    }
}
