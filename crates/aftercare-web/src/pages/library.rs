//! The message library page (`/replies`): desk managers write and approve texts in three
//! languages with fields; everyone reads the approved ones, which agents pick as canned
//! replies on a request (`app.js`, `GET /api/v1/requests/{id}/replies`).

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::{Chrome, CsrfForm, PageQuery, invalid_lines, page_error, render};
use aftercare_app::AppError;
use aftercare_app::desk_model::{MessageText, MessageTextInput};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/replies", get(library_page).post(text_submit))
}

/// What the form shows: a text being written or changed, as typed.
#[derive(Default)]
struct Draft {
    id: Option<i64>,
    version: Option<i64>,
    name: String,
    body_zh_hans: String,
    body_zh_hant: String,
    body_en: String,
    status: String,
}

#[derive(Template)]
#[template(path = "replies.html")]
struct LibraryPage {
    c: Chrome,
    texts: Vec<MessageText>,
    draft: Draft,
    errors: Vec<String>,
    fields: &'static [&'static str],
    statuses: &'static [&'static str],
    /// The promises texts make, and how they are kept.
    checks: Vec<aftercare_app::desk_model::PromiseCheck>,
}

impl LibraryPage {
    fn is_status(&self, s: &str) -> bool {
        self.draft.status == s || (self.draft.status.is_empty() && s == "draft")
    }
    /// The text's promises, each in words: "24 小时上门：近 90 天 31%（62/200）未做到".
    fn promises_of(&self, id: &i64) -> Vec<(bool, String)> {
        let tr = &self.c.tr;
        self.checks
            .iter()
            .filter(|k| k.text_id == *id)
            .map(|k| {
                // As people say it: "24 小时", "3 天".
                let within = if k.minutes % (24 * 60) == 0 && k.minutes >= 48 * 60 {
                    tr.t("promise.days")
                        .replace("{n}", &(k.minutes / (24 * 60)).to_string())
                } else if k.minutes % 60 == 0 {
                    tr.t("promise.hours")
                        .replace("{n}", &(k.minutes / 60).to_string())
                } else {
                    tr.t("promise.minutes")
                        .replace("{n}", &k.minutes.to_string())
                };
                let what = format!("{within}{}", tr.k("promise_kind", k.kind.code()));
                let how = match k.share {
                    Some(share) => tr
                        .t("promise.broken")
                        .replace("{pct}", &format!("{:.0}", share * 100.0))
                        .replace("{broken}", &k.broken.to_string())
                        .replace("{measured}", &k.measured.to_string()),
                    None => tr
                        .t("promise.too_few")
                        .replace("{measured}", &k.measured.to_string()),
                };
                (k.flagged, format!("{what}{}{how}", tr.t("promise.sep")))
            })
            .collect()
    }
    fn shown(&self, text: &str) -> String {
        field_names_shown(&self.c.tr, text)
    }
}

/// A library text as people read it in a list: each field by its name in the reader's
/// language (`{客户姓名}`), not its code. The forms keep the codes, which is what is typed.
pub(crate) fn field_names_shown(tr: &Tr, text: &str) -> String {
    let mut out = text.to_string();
    for f in aftercare_domain::message::FIELDS {
        out = out.replace(&format!("{{{f}}}"), &format!("{{{}}}", tr.k("tfield", f)));
    }
    out
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LibraryQ {
    edit: Option<i64>,
}

async fn library_view(
    s: &AppState,
    session: &Session,
    draft: Draft,
    errors: Vec<String>,
) -> Result<LibraryPage, AppError> {
    let texts = s.app.message_texts(&session.principal).await?;
    // For those allowed the brand's figures; the library shows without them otherwise,
    // or when they cannot be read.
    let checks = s
        .app
        .promise_checks(&session.principal)
        .await
        .unwrap_or_default();
    Ok(LibraryPage {
        c: Chrome::for_session(session, "requests"),
        texts,
        draft,
        errors,
        fields: aftercare_domain::message::FIELDS,
        statuses: aftercare_app::library::TEXT_STATUSES,
        checks,
    })
}

async fn library_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<LibraryQ>,
) -> Response {
    let mut draft = Draft::default();
    if let Some(id) = q.edit {
        match s.app.message_texts(&session.principal).await {
            Ok(texts) => {
                if let Some(t) = texts.into_iter().find(|t| t.id == id) {
                    draft = Draft {
                        id: Some(t.id),
                        version: Some(t.version),
                        name: t.name,
                        body_zh_hans: t.body_zh_hans,
                        body_zh_hant: t.body_zh_hant,
                        body_en: t.body_en,
                        status: t.status,
                    };
                }
            }
            Err(e) => return page_error(e, session.lang),
        }
    }
    match library_view(&s, &session, draft, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn text_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let input = MessageTextInput {
        name: f.s("name"),
        body_zh_hans: f.s("body_zh_hans"),
        body_zh_hant: f.s("body_zh_hant"),
        body_en: f.s("body_en"),
        status: f.opt("status"),
        version: f.opt("version").and_then(|v| v.parse().ok()),
    };
    let id: Option<i64> = f.opt("id").and_then(|i| i.parse().ok());
    let r = match id {
        Some(id) => {
            s.app
                .update_message_text(&session.principal, id, &input)
                .await
        }
        None => s
            .app
            .create_message_text(&session.principal, &input)
            .await
            .map(|_| ()),
    };
    match r {
        Ok(()) => Redirect::to("/replies?done=saved").into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let tr = Tr(session.lang);
            // Changed by someone else since it was opened: the form keeps what was typed
            // and takes the current version, so sending it again replaces theirs knowingly.
            let current = match (&e, id) {
                (AppError::Conflict { .. }, Some(id)) => s
                    .app
                    .message_texts(&session.principal)
                    .await
                    .ok()
                    .and_then(|ts| ts.into_iter().find(|t| t.id == id))
                    .map(|t| t.version),
                _ => None,
            };
            let errors = match e {
                AppError::Invalid(inv) => invalid_lines(&inv, &tr),
                AppError::Conflict { code, .. } => vec![crate::i18n::field_message(tr.0, code)],
                other => vec![crate::error::ApiError::from_app(other, tr.0).body.message],
            };
            // The form keeps what was typed.
            let draft = Draft {
                id,
                version: current.or(input.version),
                name: input.name,
                body_zh_hans: input.body_zh_hans,
                body_zh_hant: input.body_zh_hant,
                body_en: input.body_en,
                status: input.status.unwrap_or_default(),
            };
            match library_view(&s, &session, draft, errors).await {
                Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}
