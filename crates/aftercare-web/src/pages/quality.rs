//! Scorecard and quality review pages: everyone's scorecards ranked for a period (and
//! their export for payroll, with the rule behind each figure), one person's or outlet's
//! month by month, the reviews, and one review with its rubric and the answer.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::*;
use crate::pages::campaigns::lines;
use aftercare_app::AppError;
use aftercare_app::quality_model::*;
use aftercare_domain::catalog::format_money;
use aftercare_domain::scorecard::RUBRIC;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/scorecards", get(scorecards_page))
        .route("/scorecards.csv", get(scorecards_csv))
        .route("/scorecards/refresh", post(refresh_submit))
        .route("/scorecards/{of}/{id}", get(trend_page))
        .route("/quality-reviews", get(reviews_page))
        .route("/quality-reviews/sample", post(sample_submit))
        .route(
            "/quality-reviews/{id}",
            get(review_page).post(review_submit),
        )
        .route("/quality-reviews/{id}/answer", post(answer_submit))
        .route("/overview", get(overview_page))
}

/// A measure's value as people read it.
pub(crate) fn figure(tr: &Tr, m: &MeasureView) -> String {
    let Some(v) = m.value else {
        return tr.t("score.not_enough").replace("{n}", &m.n.to_string());
    };
    number(&m.code, v)
}

fn number(code: &str, v: f64) -> String {
    match code {
        "nps" | "quality_score" | "complaints" => format!("{v:.0}"),
        "ces" => format!("{v:.1}"),
        "second_sale" => format!("¥{}", format_money(v.round() as i64)),
        _ => format!("{:.1}%", v * 100.0),
    }
}

#[derive(serde::Deserialize, Default, Clone)]
struct Query {
    from: Option<String>,
    to: Option<String>,
    of: Option<String>,
}

impl Query {
    fn app(&self) -> ScorecardQuery {
        ScorecardQuery {
            from: self.from.clone().filter(|s| !s.is_empty()),
            to: self.to.clone().filter(|s| !s.is_empty()),
            of: self.of.clone().filter(|s| !s.is_empty()),
        }
    }
}

#[derive(Template)]
#[template(path = "scorecards.html")]
struct ScorecardsPage {
    c: Chrome,
    report: Option<ScorecardReport>,
    codes: Vec<String>,
    from: String,
    to: String,
    of: String,
    errors: Vec<String>,
}

impl ScorecardsPage {
    fn figure(&self, m: &MeasureView) -> String {
        figure(&self.c.tr, m)
    }
    fn adjusted(&self, m: &MeasureView) -> Option<String> {
        m.adjusted.map(|a| number(&m.code, a))
    }
    fn target(&self, m: &MeasureView) -> Option<String> {
        m.target.map(|t| number(&m.code, t))
    }
    fn last_day(&self) -> String {
        last_day(&self.to)
    }
}

/// The last day of a month (YYYY-MM), for the drill-down to requests.
fn last_day(month: &str) -> String {
    aftercare_app::quality::parse_month(month)
        .map(|d| d.last_of_month().to_string())
        .unwrap_or_default()
}

async fn scorecards_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<Query>,
) -> Response {
    let tr = Tr(session.lang);
    let (report, errors) = match s.app.scorecards(&session.principal, &q.app()).await {
        Ok(r) => (Some(r), vec![]),
        Err(e @ AppError::Invalid(_)) => (None, lines(e, &tr)),
        Err(e) => return page_error(e, session.lang),
    };
    let codes = report
        .as_ref()
        .and_then(|r| r.cards.first())
        .map(|c| c.measures.iter().map(|m| m.code.clone()).collect())
        .unwrap_or_default();
    let this = s
        .app
        .now()
        .to_zoned(aftercare_domain::calendar::china())
        .strftime("%Y-%m")
        .to_string();
    render(ScorecardsPage {
        c: Chrome::for_session(&session, "scorecards"),
        from: report
            .as_ref()
            .map(|r| r.from.clone())
            .or(q.from.clone())
            .unwrap_or_else(|| this.clone()),
        to: report
            .as_ref()
            .map(|r| r.to.clone())
            .or(q.to.clone())
            .unwrap_or(this),
        of: q.of.clone().unwrap_or_else(|| "people".into()),
        report,
        codes,
        errors,
    })
}

/// Sums again what changed, then back to the scorecards asked for.
async fn refresh_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    match s.app.refresh_scorecards_now(&session.principal).await {
        Ok(_) => {
            let back = format!(
                "/scorecards?of={}&from={}&to={}&done=saved",
                safe(&f.s("of")),
                safe(&f.s("from")),
                safe(&f.s("to"))
            );
            Redirect::to(&back).into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// A query value that goes back into a link unchanged only when it is plain.
fn safe(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(20)
        .collect()
}

/// Everyone's scorecards as a CSV file for payroll: a row per person (or outlet) and
/// measure, with the cases, the target, the case-mix figures and the rule that made it.
async fn scorecards_csv(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<Query>,
) -> Response {
    let r = match s.app.scorecards(&session.principal, &q.app()).await {
        Ok(r) => r,
        Err(e) => return page_error(e, session.lang),
    };
    let tr = Tr(session.lang);
    let header: Vec<String> = [
        "score.period",
        "score.subject",
        "outlet.name",
        "score.measure",
        "score.value",
        "score.cases",
        "score.expected",
        "score.adjusted",
        "score.target",
        "score.meets",
        "score.rule",
    ]
    .iter()
    .map(|k| tr.t(k))
    .collect();
    let mut rows = Vec::new();
    for card in &r.cards {
        for m in &card.measures {
            rows.push(vec![
                format!("{} – {}", r.from, r.to),
                card.name.clone(),
                card.outlet.clone().unwrap_or_default(),
                tr.k("measure", &m.code),
                m.value
                    .map(|v| number(&m.code, v))
                    .unwrap_or_else(|| tr.t("score.no_data")),
                m.n.to_string(),
                m.expected.map(|v| number(&m.code, v)).unwrap_or_default(),
                m.adjusted.map(|v| number(&m.code, v)).unwrap_or_default(),
                m.target.map(|v| number(&m.code, v)).unwrap_or_default(),
                match m.meets {
                    Some(true) => tr.t("score.yes"),
                    Some(false) => tr.t("score.no"),
                    None => String::new(),
                },
                tr.k("rule", &m.code),
            ]);
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body = aftercare_app::transfer::to_csv(&header, &rows);
    let name = format!("scorecards-{}-{}-{}.csv", r.of, r.from, r.to);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "scorecard.html")]
struct TrendPage {
    c: Chrome,
    name: String,
    of: String,
    id: i64,
    points: Vec<TrendPoint>,
    codes: Vec<String>,
    from: String,
    to: String,
    reviews: Vec<Review>,
    complaints: Vec<ComplaintLaid>,
    errors: Vec<String>,
}

impl TrendPage {
    fn figure(&self, m: &MeasureView) -> String {
        figure(&self.c.tr, m)
    }
    fn last_day(&self) -> String {
        last_day(&self.to)
    }
}

async fn trend_page(
    State(s): State<AppState>,
    Path((of, id)): Path<(String, i64)>,
    session: Session,
    PageQuery(q): PageQuery<Query>,
) -> Response {
    let tr = Tr(session.lang);
    let p = &session.principal;
    // Six months to this one, unless asked.
    let today = s.app.clock.today().first_of_month();
    let six = today
        .checked_sub(jiff::Span::new().months(5))
        .unwrap_or(today);
    let label = |d: jiff::civil::Date| format!("{:04}-{:02}", d.year(), d.month());
    let query = ScorecardQuery {
        from: q
            .from
            .clone()
            .filter(|x| !x.is_empty())
            .or(Some(label(six))),
        to: q
            .to
            .clone()
            .filter(|x| !x.is_empty())
            .or(Some(label(today))),
        of: Some(if of == "outlets" { "outlets" } else { "people" }.into()),
    };
    let (points, errors) = match s.app.scorecard_trend(p, &query, id).await {
        Ok(x) => (x, vec![]),
        Err(e @ AppError::Invalid(_)) => (vec![], lines(e, &tr)),
        Err(e) => return page_error(e, session.lang),
    };
    let name = match of.as_str() {
        "outlets" => s
            .app
            .outlet(p, aftercare_domain::OutletId(id))
            .await
            .map(|o| o.name)
            .unwrap_or_default(),
        _ => s
            .app
            .staff_profiles(p)
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|x| x.user_id.get() == id)
            .map(|x| x.name)
            .unwrap_or_else(|| format!("#{id}")),
    };
    let reviews = if of == "outlets" {
        vec![]
    } else {
        s.app
            .reviews(
                p,
                &ReviewQuery {
                    user_id: Some(id),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.user_id.get() == id)
            .collect()
    };
    let codes = points
        .first()
        .map(|t| t.measures.iter().map(|m| m.code.clone()).collect())
        .unwrap_or_default();
    let complaints = s
        .app
        .complaints_laid(p, &query, id)
        .await
        .unwrap_or_default();
    render(TrendPage {
        c: Chrome::for_session(&session, "scorecards"),
        name,
        of,
        id,
        codes,
        points,
        from: query.from.unwrap_or_default(),
        to: query.to.unwrap_or_default(),
        reviews,
        complaints,
        errors,
    })
}

#[derive(serde::Deserialize, Default)]
struct ReviewsQuery {
    period: Option<String>,
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    c: Chrome,
    reviews: Vec<Review>,
    period: String,
    status: String,
    errors: Vec<String>,
}

async fn reviews_view(
    s: &AppState,
    session: &Session,
    period: String,
    status: String,
    errors: Vec<String>,
) -> Response {
    let tr = Tr(session.lang);
    let q = ReviewQuery {
        period: Some(period.clone()).filter(|x| !x.is_empty()),
        status: Some(status.clone()).filter(|x| !x.is_empty()),
        user_id: None,
    };
    let (reviews, mut errors) = match s.app.reviews(&session.principal, &q).await {
        Ok(r) => (r, errors),
        Err(e @ AppError::Invalid(_)) => (vec![], lines(e, &tr)),
        Err(e) => return page_error(e, session.lang),
    };
    errors.dedup();
    render(ReviewsPage {
        c: Chrome::for_session(session, "reviews"),
        reviews,
        period,
        status,
        errors,
    })
}

async fn reviews_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<ReviewsQuery>,
) -> Response {
    reviews_view(
        &s,
        &session,
        q.period.unwrap_or_default(),
        q.status.unwrap_or_default(),
        vec![],
    )
    .await
}

async fn sample_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let month = f.s("period");
    match s.app.sample_reviews(&session.principal, &month).await {
        Ok(_) => Redirect::to(&format!(
            "/quality-reviews?period={}&done=created",
            month.trim()
        ))
        .into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            reviews_view(&s, &session, month, String::new(), errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Chrome,
    r: Review,
    can_score: bool,
    can_answer: bool,
    errors: Vec<String>,
}

impl ReviewPage {
    fn rubric(&self) -> Vec<&'static str> {
        RUBRIC.to_vec()
    }
    fn levels(&self) -> Vec<i64> {
        (0..=5).collect()
    }
    fn checked(&self, criterion: &str, n: &i64) -> bool {
        self.r.scores.iter().any(|(k, v)| k == criterion && v == n)
    }
}

async fn review_view(s: &AppState, session: &Session, id: i64, errors: Vec<String>) -> Response {
    let p = &session.principal;
    let r = match s.app.review(p, id).await {
        Ok(r) => r,
        Err(e) => return page_error(e, session.lang),
    };
    let manager = p
        .role
        .allows(aftercare_domain::account::Permission::ManageDesk);
    render(ReviewPage {
        c: Chrome::for_session(session, "reviews"),
        can_score: manager && r.user_id != p.user.id,
        can_answer: r.user_id == p.user.id && r.status == "done",
        r,
        errors,
    })
}

async fn review_page(State(s): State<AppState>, Path(id): Path<i64>, session: Session) -> Response {
    review_view(&s, &session, id, vec![]).await
}

async fn review_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let mut scores = std::collections::BTreeMap::new();
    let mut inv = aftercare_domain::Invalid::default();
    for c in RUBRIC {
        let v = f.s(&format!("score_{c}"));
        match v.trim().parse::<i64>() {
            Ok(n) => {
                scores.insert(c.to_string(), n);
            }
            Err(_) => inv.push(format!("scores.{c}"), "required"),
        }
    }
    let input = ReviewInput {
        scores,
        comment: f.opt("comment"),
        version: f.s("version").trim().parse().unwrap_or(0),
    };
    let r = if inv.0.is_empty() {
        s.app.save_review(&session.principal, id, &input).await
    } else {
        Err(inv.into())
    };
    match r {
        Ok(()) => Redirect::to(&format!("/quality-reviews/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            review_view(&s, &session, id, errors).await
        }
    }
}

async fn answer_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = ReviewAnswer {
        answer: f.s("answer"),
        version: f.s("version").trim().parse().unwrap_or(0),
    };
    match s.app.answer_review(&session.principal, id, &input).await {
        Ok(()) => Redirect::to(&format!("/quality-reviews/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            review_view(&s, &session, id, errors).await
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct OverviewParams {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    c: Chrome,
    o: Option<Overview>,
    by: String,
    from: String,
    to: String,
    errors: Vec<String>,
}

impl OverviewPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    fn one(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
    }
    fn whole(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "—".into())
    }
    fn touchpoints(&self, cell: &OverviewCell) -> String {
        cell.by_touchpoint
            .iter()
            .take(3)
            .map(|(t, n)| {
                let name = if t.is_empty() {
                    self.c.tr.t("overview.unknown_touchpoint")
                } else {
                    self.c.tr.k("tp", t)
                };
                format!("{name} {n}")
            })
            .collect::<Vec<_>>()
            .join("、")
    }
    fn stages(&self, list: &[(String, i64)]) -> String {
        list.iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{} {n}", self.c.tr.k("stage", s)))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

async fn overview_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<OverviewParams>,
) -> Response {
    let tr = Tr(session.lang);
    let query = OverviewQuery {
        from: q.from.clone().filter(|x| !x.is_empty()),
        to: q.to.clone().filter(|x| !x.is_empty()),
        by: q.by.clone().filter(|x| !x.is_empty()),
    };
    let (o, errors) = match s.app.overview(&session.principal, &query).await {
        Ok(o) => (Some(o), vec![]),
        Err(e @ AppError::Invalid(_)) => (None, lines(e, &tr)),
        Err(e) => return page_error(e, session.lang),
    };
    render(OverviewPage {
        c: Chrome::for_session(&session, "overview"),
        by: o
            .as_ref()
            .map(|o| o.by.clone())
            .unwrap_or_else(|| "all".into()),
        from: o
            .as_ref()
            .map(|o| o.from.clone())
            .or(q.from)
            .unwrap_or_default(),
        to: o
            .as_ref()
            .map(|o| o.to.clone())
            .or(q.to)
            .unwrap_or_default(),
        o,
        errors,
    })
}
