//! The service dashboard (`/dashboard`), where managers and administrators start: open
//! and breaching requests now, and trends over weeks or months, each number a link to
//! the requests behind it.

use crate::AppState;
use crate::auth::Session;
use crate::kit::chart::{Bar, bars, line};
use crate::kit::page::{Chrome, PageQuery, page_error, render};
use aftercare_app::dashboard::{ServiceDashboard, TrendBucket};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard_page))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DashQ {
    /// `week` (default) or `month`.
    unit: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    d: ServiceDashboard,
    months: bool,
}

impl DashboardPage {
    fn label(&self, b: &TrendBucket) -> String {
        if self.months {
            self.c
                .tr
                .t("dash.month_label")
                .replace("{y}", &b.from.year().to_string())
                .replace("{m}", &b.from.month().to_string())
        } else {
            format!("{}/{}", b.from.month(), b.from.day())
        }
    }
    fn labels(&self) -> Vec<String> {
        self.d.buckets.iter().map(|b| self.label(b)).collect()
    }
    /// The requests opened in a bucket, optionally of one type.
    fn opened_href(&self, b: &TrendBucket, service_type: Option<&str>) -> String {
        let mut h = format!(
            "/requests?queue=any&opened_from={}&opened_to={}",
            b.from, b.to
        );
        if let Some(t) = service_type {
            h.push_str("&service_type=");
            h.push_str(t);
        }
        h
    }
    fn resolved_href(&self, b: &TrendBucket) -> String {
        format!(
            "/requests?queue=any&resolved_from={}&resolved_to={}",
            b.from, b.to
        )
    }
    fn scores_href(&self, b: &TrendBucket) -> String {
        format!("/feedback/dashboard?from={}&to={}", b.from, b.to)
    }
    /// One bar of a bucket: its count, where it leads, and what it says when hovered.
    fn bar(&self, b: &TrendBucket, n: i64, href: String, key: &str, series: &'static str) -> Bar {
        Bar {
            value: n as f64,
            href,
            title: format!("{} {} {n}", self.label(b), self.c.tr.t(key)),
            series,
        }
    }
    fn volume_chart(&self) -> String {
        let groups: Vec<Vec<Bar>> = self
            .d
            .buckets
            .iter()
            .map(|b| {
                vec![
                    self.bar(
                        b,
                        b.opened,
                        self.opened_href(b, None),
                        "dash.opened",
                        "opened",
                    ),
                    self.bar(
                        b,
                        b.resolved,
                        self.resolved_href(b),
                        "dash.resolved",
                        "resolved",
                    ),
                    self.bar(
                        b,
                        b.complaints,
                        self.opened_href(b, Some("complaint")),
                        "dash.complaints",
                        "complaints",
                    ),
                ]
            })
            .collect();
        bars(&self.labels(), &groups, &self.c.tr.t("dash.volume"))
    }
    fn sla_chart(&self) -> String {
        let v: Vec<Option<f64>> = self.d.buckets.iter().map(|b| b.sla_attainment).collect();
        line(&self.labels(), &v, 0.0, 100.0, &self.c.tr.t("dash.sla"))
    }
    fn csat_chart(&self) -> String {
        let v: Vec<Option<f64>> = self.d.buckets.iter().map(|b| b.csat).collect();
        line(&self.labels(), &v, 1.0, 5.0, &self.c.tr.t("dash.csat"))
    }
    fn nps_chart(&self) -> String {
        let v: Vec<Option<f64>> = self.d.buckets.iter().map(|b| b.nps).collect();
        line(&self.labels(), &v, -100.0, 100.0, &self.c.tr.t("dash.nps"))
    }
    fn loyalty_chart(&self) -> String {
        let groups: Vec<Vec<Bar>> = self
            .d
            .buckets
            .iter()
            .map(|b| {
                vec![
                    self.bar(b, b.stage_up, "/value".into(), "dash.stage_up", "up"),
                    self.bar(b, b.stage_down, "/value".into(), "dash.stage_down", "down"),
                ]
            })
            .collect();
        bars(&self.labels(), &groups, &self.c.tr.t("dash.loyalty"))
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}%")).unwrap_or_else(|| "—".into())
    }
    fn num(&self, v: &Option<f64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
    }
}

async fn dashboard_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<DashQ>,
) -> Response {
    let months = q.unit.as_deref() == Some("month");
    match s.app.service_dashboard(&session.principal, months).await {
        Ok(d) => render(DashboardPage {
            c: Chrome::for_session(&session, "dashboard"),
            d,
            months,
        }),
        Err(e) => page_error(e, session.lang),
    }
}
