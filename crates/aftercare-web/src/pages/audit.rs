//! The audit log page.

use crate::AppState;
use crate::auth::Session;
use crate::kit::page::*;
use aftercare_app::model::*;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit_page))
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    c: Chrome,
    entries: Vec<AuditEntry>,
    next_href: Option<String>,
}

impl AuditPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    /// Who did it: a person by their label, the system's own jobs by name, and a
    /// customer or sender by the address after `portal:` or `mail:`.
    fn actor(&self, label: &str) -> String {
        crate::kit::page::actor_label(&self.c.tr, label)
    }
    fn json(&self, v: &Option<serde_json::Value>) -> String {
        v.as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct AuditQ {
    entity: Option<String>,
    entity_id: Option<i64>,
    before: Option<i64>,
}

pub(crate) async fn audit_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<AuditQ>,
) -> Response {
    match s
        .app
        .audit(
            &session.principal,
            q.entity.as_deref(),
            q.entity_id,
            q.before,
        )
        .await
    {
        Ok(entries) => {
            let eid = q.entity_id.map(|i| i.to_string());
            let next_href = (entries.len() == 100)
                .then(|| {
                    entries.last().map(|l| {
                        format!(
                            "/audit?{}",
                            query_string(&[
                                ("entity", q.entity.as_deref()),
                                ("entity_id", eid.as_deref()),
                                ("before", Some(&l.id.to_string()))
                            ])
                        )
                    })
                })
                .flatten();
            render(AuditPage {
                c: Chrome::new(&session, "audit"),
                entries,
                next_href,
            })
        }
        Err(e) => page_error(e, session.lang),
    }
}
