//! Voice of the customer pages: the feedback list (filters, a note by hand, the
//! dictionary), one item with its analysis and the correction form, the improvement
//! backlog per product, and one backlog entry with the feedback behind it (experts apart),
//! its status and the customers to tell.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::yuan;
use crate::kit::page::{
    Chrome, CsrfForm, Instant, PageQuery, Path, invalid_lines, page_error, render,
};
use aftercare_app::AppError;
use aftercare_app::feedback::*;
use aftercare_app::model::{Page, Product};
use aftercare_domain::account::Permission;
use aftercare_domain::ids::*;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/feedback", get(list_page).post(add_submit))
        .route("/feedback/words", post(word_submit))
        .route("/feedback/{id}", get(item_page))
        .route("/feedback/{id}/labels", post(labels_submit))
        .route("/improvements", get(backlog_page))
        .route(
            "/improvements/{id}",
            get(improvement_page).post(status_submit),
        )
        .route("/improvements/{id}/customers.csv", get(raised_by_csv))
        .route("/customers/{id}/expert", post(expert_submit))
        .route("/search", get(search_page))
        .route("/feedback/dashboard", get(dashboard_page))
        .route("/feedback/settings", post(voc_settings_submit))
        .route("/feedback/survey-settings", post(survey_settings_submit))
}

#[derive(Template)]
#[template(path = "voc_dashboard.html")]
struct DashboardPage {
    c: Chrome,
    q: aftercare_app::voc::DashboardQuery,
    d: Option<aftercare_app::voc::VocDashboard>,
    surveys: aftercare_app::survey::SurveySettings,
    errors: Vec<String>,
    manage: bool,
}

impl DashboardPage {
    fn rule_flags(&self) -> Vec<(&'static str, bool)> {
        let s = &self.surveys;
        vec![
            ("after_resolution", s.after_resolution),
            ("after_purchase", s.after_purchase),
            ("csat", s.csat),
            ("nps", s.nps),
            ("ces", s.ces),
        ]
    }
    fn rule_numbers(&self) -> Vec<(&'static str, u32)> {
        let s = &self.surveys;
        vec![
            ("quiet_days", s.quiet_days),
            ("reminder_days", s.reminder_days),
            ("expires_days", s.expires_days),
            ("max_age_days", s.max_age_days),
        ]
    }
    /// (title key, element id, profiles) of the two ladder tables.
    fn ladder_tables(
        &self,
    ) -> Vec<(
        &'static str,
        &'static str,
        &[aftercare_app::voc::LadderProfile],
    )> {
        match &self.d {
            Some(d) => vec![
                (
                    "voc.ladder_product",
                    "ladder-product",
                    &d.ladder_by_product[..],
                ),
                (
                    "voc.ladder_outlet",
                    "ladder-outlet",
                    &d.ladder_by_outlet[..],
                ),
            ],
            None => vec![],
        }
    }
    fn ladders(&self) -> Vec<&'static str> {
        aftercare_domain::feedback::Ladder::ALL
            .iter()
            .map(|l| l.code())
            .collect()
    }
    /// A share as a bar width in percent.
    fn width(&self, n: &i64, total: &i64) -> String {
        if *total <= 0 {
            "0".into()
        } else {
            format!("{:.0}", *n as f64 * 100.0 / *total as f64)
        }
    }
    /// A group of the score trends in the page's language: service types (and the
    /// purchase occasion) are codes; product and outlet names are shown as they are.
    fn group_name(&self, g: &str) -> String {
        match self.q.group.as_deref() {
            Some("service_type") if g == "purchase" => self.c.tr.t("sv.about_purchase"),
            Some("service_type") => self.c.tr.k("stype", g),
            _ if g == "all" => self.c.tr.t("value.all"),
            _ => g.to_owned(),
        }
    }
    /// A mean on a 1…`top` scale as a bar width in percent.
    fn scale(&self, v: &Option<f64>, top: f64) -> String {
        v.map(|x| format!("{:.0}", x * 100.0 / top))
            .unwrap_or_else(|| "0".into())
    }
    fn opt(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}")).unwrap_or_else(|| "—".into())
    }
    /// NPS (−100…100) as a bar from the middle: (left %, width %).
    fn nps_bar(&self, v: &Option<f64>) -> String {
        match v {
            Some(n) if *n >= 0.0 => format!("margin-left:50%;width:{:.0}%", n / 2.0),
            Some(n) => format!(
                "margin-left:{:.0}%;width:{:.0}%;background:#f04438",
                50.0 + n / 2.0,
                -n / 2.0
            ),
            None => "width:0".into(),
        }
    }
    fn text(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn sel(&self, x: &str) -> bool {
        self.q.group.as_deref() == Some(x)
    }
}

async fn dashboard_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<aftercare_app::voc::DashboardQuery>,
) -> Response {
    dashboard(&s, &session, q, vec![]).await
}

async fn dashboard(
    s: &AppState,
    session: &Session,
    q: aftercare_app::voc::DashboardQuery,
    mut errors: Vec<String>,
) -> Response {
    let tr = Tr(session.lang);
    let d = match s.app.voc_dashboard(&session.principal, &q).await {
        Ok(d) => Some(d),
        Err(AppError::Invalid(inv)) => {
            errors.extend(invalid_lines(&inv, &tr));
            None
        }
        Err(e) => return page_error(e, session.lang),
    };
    let surveys = match s.app.survey_settings(&session.principal).await {
        Ok(x) => x,
        Err(e) => return page_error(e, session.lang),
    };
    render(DashboardPage {
        c: Chrome::for_session(session, "feedback"),
        q,
        d,
        surveys,
        errors,
        manage: session.principal.role.allows(Permission::ManageDesk),
    })
}

async fn voc_settings_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let tr = Tr(session.lang);
    let n = |k: &str| f.opt(k).and_then(|v| v.parse::<u32>().ok());
    let (Some(good_reach), Some(bad_reach)) = (n("good_reach"), n("bad_reach")) else {
        let inv = aftercare_domain::Invalid::one("good_reach", "not_a_whole_number");
        return dashboard(&s, &session, Default::default(), invalid_lines(&inv, &tr)).await;
    };
    let settings = aftercare_app::voc::VocSettings {
        good_reach,
        bad_reach,
    };
    match s.app.set_voc_settings(&session.principal, &settings).await {
        Ok(_) => Redirect::to("/feedback/dashboard").into_response(),
        Err(AppError::Invalid(inv)) => {
            dashboard(&s, &session, Default::default(), invalid_lines(&inv, &tr)).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// The survey rules and questions from the overview's form: every number checked and
/// named when wrong; a question row left blank is dropped.
async fn survey_settings_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let tr = Tr(session.lang);
    let mut inv = aftercare_domain::Invalid::default();
    let mut n = |k: &str| match f.opt(k).map(|v| v.parse::<u32>()) {
        Some(Ok(v)) => v,
        _ => {
            inv.push(k, "not_a_whole_number");
            0
        }
    };
    let (quiet_days, reminder_days, expires_days, max_age_days) = (
        n("quiet_days"),
        n("reminder_days"),
        n("expires_days"),
        n("max_age_days"),
    );
    let on = |k: &str| f.opt(k).is_some();
    let ids = f.all("q_id");
    let (hans, hant, en) = (f.all("q_zh_hans"), f.all("q_zh_hant"), f.all("q_en"));
    let questions = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let get = |v: &Vec<String>| v.get(i).map(|t| t.trim().to_owned()).unwrap_or_default();
            let q = aftercare_app::survey::CustomQuestion {
                id: id.trim().to_owned(),
                zh_hans: get(&hans),
                zh_hant: get(&hant),
                en: get(&en),
            };
            let blank =
                q.id.is_empty() && q.zh_hans.is_empty() && q.zh_hant.is_empty() && q.en.is_empty();
            (!blank).then_some(q)
        })
        .collect();
    if !inv.is_empty() {
        return dashboard(&s, &session, Default::default(), invalid_lines(&inv, &tr)).await;
    }
    let settings = aftercare_app::survey::SurveySettings {
        after_resolution: on("after_resolution"),
        after_purchase: on("after_purchase"),
        quiet_days,
        reminder_days,
        expires_days,
        max_age_days,
        csat: on("csat"),
        nps: on("nps"),
        ces: on("ces"),
        questions,
    };
    match s
        .app
        .set_survey_settings(&session.principal, &settings)
        .await
    {
        Ok(_) => Redirect::to("/feedback/dashboard#survey-rules").into_response(),
        Err(AppError::Invalid(inv)) => {
            dashboard(&s, &session, Default::default(), invalid_lines(&inv, &tr)).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    kind: Option<String>,
    results: Option<aftercare_app::search::SearchResults>,
    errors: Vec<String>,
}

impl SearchPage {
    /// A count as shown: "10000+" once counting stopped at its cap.
    fn shown(&self, n: usize) -> String {
        if self.results.as_ref().is_some_and(|r| r.capped) {
            format!("{n}+")
        } else {
            n.to_string()
        }
    }
    fn count(&self, k: &str) -> String {
        self.shown(
            self.results
                .as_ref()
                .and_then(|r| r.by_kind.iter().find(|c| c.kind == k))
                .map_or(0, |c| c.count),
        )
    }
    fn all(&self) -> String {
        self.shown(
            self.results
                .as_ref()
                .map_or(0, |r| r.by_kind.iter().map(|c| c.count).sum()),
        )
    }
    fn on(&self, k: &str) -> bool {
        self.kind.as_deref() == Some(k)
    }
    fn href(&self, k: Option<&str>) -> String {
        format!(
            "/search?{}",
            crate::kit::page::query_string(&[("q", Some(self.q.as_str())), ("kind", k)])
        )
    }
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchParams {
    q: String,
    kind: Option<String>,
}

async fn search_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(p): PageQuery<SearchParams>,
) -> Response {
    let tr = Tr(session.lang);
    let kind = p.kind.filter(|k| !k.trim().is_empty());
    let mut errors = vec![];
    let results = if p.q.trim().is_empty() {
        None
    } else {
        let q = aftercare_app::search::SearchQuery {
            q: p.q.clone(),
            kind: kind.clone(),
            limit: Some(50),
        };
        match s.app.search(&session.principal, &q).await {
            Ok(r) => Some(r),
            Err(AppError::Invalid(inv)) => {
                errors = invalid_lines(&inv, &tr);
                None
            }
            Err(e) => return page_error(e, session.lang),
        }
    };
    render(SearchPage {
        c: Chrome::for_session(&session, "search"),
        q: p.q,
        kind,
        results,
        errors,
    })
}

fn can_curate(s: &Session) -> bool {
    s.principal.role.allows(Permission::Curate)
}

/// A label's words in the page's language, e.g. `label(tr, "ladder", Some("image"))`.
fn label<T: AsRef<str>>(tr: &Tr, prefix: &str, v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| tr.k(prefix, v))
        .unwrap_or_else(|| "—".into())
}

fn words(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join("、")
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "feedback.html")]
struct ListPage {
    c: Chrome,
    q: FeedbackQuery,
    page: Page<FeedbackItem>,
    products: Vec<Product>,
    dictionary: Vec<DictionaryWord>,
    next_href: Option<String>,
    errors: Vec<String>,
    curate: bool,
}

impl ListPage {
    fn label<T: AsRef<str>>(&self, prefix: &str, v: &Option<T>) -> String {
        label(&self.c.tr, prefix, v)
    }
    fn words(&self, i: &FeedbackItem, key: &str) -> String {
        words(&i.evidence, key)
    }
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn sel<T: AsRef<str>>(&self, v: &Option<T>, x: &str) -> bool {
        v.as_ref().map(AsRef::as_ref) == Some(x)
    }
    fn product_sel(&self, id: &aftercare_domain::ProductId) -> bool {
        self.q.product_id == Some(*id)
    }
    fn flag(&self, v: &Option<bool>, x: bool) -> bool {
        *v == Some(x)
    }
}

fn list_query(q: &FeedbackQuery) -> String {
    let text = |v: &Option<String>| v.clone();
    crate::kit::page::query_string(&[
        ("source", text(&q.source).as_deref()),
        ("sentiment", text(&q.sentiment).as_deref()),
        ("ladder", text(&q.ladder).as_deref()),
        ("need", text(&q.need).as_deref()),
        ("product_id", q.product_id.map(|v| v.to_string()).as_deref()),
        (
            "customer_id",
            q.customer_id.map(|v| v.to_string()).as_deref(),
        ),
        ("failed", q.failed.map(|v| v.to_string()).as_deref()),
        ("uncertain", q.uncertain.map(|v| v.to_string()).as_deref()),
        ("expert", q.expert.map(|v| v.to_string()).as_deref()),
    ])
}

/// A filter's query string as a form sends it (`product_id=` when none chosen).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListParams {
    source: Option<String>,
    sentiment: Option<String>,
    ladder: Option<String>,
    need: Option<String>,
    product_id: Option<String>,
    customer_id: Option<String>,
    failed: Option<String>,
    expert: Option<String>,
    uncertain: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    fn query(self) -> Result<FeedbackQuery, aftercare_domain::Invalid> {
        let mut inv = aftercare_domain::Invalid::default();
        fn id<T: std::str::FromStr>(
            inv: &mut aftercare_domain::Invalid,
            k: &str,
            v: Option<String>,
        ) -> Option<T> {
            let v = v.filter(|v| !v.trim().is_empty())?;
            match v.trim().parse::<T>() {
                Ok(i) => Some(i),
                Err(_) => {
                    inv.push(k, "id_invalid");
                    None
                }
            }
        }
        let flag = |v: Option<String>| match v.as_deref().map(str::trim) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let empty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let q = FeedbackQuery {
            product_id: id(&mut inv, "product_id", self.product_id),
            customer_id: id(&mut inv, "customer_id", self.customer_id),
            outlet_id: None,
            improvement_id: None,
            source: empty(self.source),
            sentiment: empty(self.sentiment),
            ladder: empty(self.ladder),
            need: empty(self.need),
            failed: flag(self.failed),
            expert: flag(self.expert),
            uncertain: flag(self.uncertain),
            cursor: empty(self.cursor),
            limit: Some(50),
        };
        inv.into_result().map(|_| q)
    }
}

async fn list_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(p): PageQuery<ListParams>,
) -> Response {
    let tr = Tr(session.lang);
    match p.query() {
        Ok(q) => list(&s, &session, q, vec![]).await,
        Err(inv) => {
            list(
                &s,
                &session,
                FeedbackQuery::default(),
                invalid_lines(&inv, &tr),
            )
            .await
        }
    }
}

async fn list(
    s: &AppState,
    session: &Session,
    q: FeedbackQuery,
    mut errors: Vec<String>,
) -> Response {
    let p = &session.principal;
    let page = match s.app.feedback(p, &q).await {
        Ok(page) => page,
        Err(AppError::Invalid(inv)) => {
            errors.extend(invalid_lines(&inv, &Tr(session.lang)));
            Page {
                items: vec![],
                next_cursor: None,
            }
        }
        Err(e) => return page_error(e, session.lang),
    };
    let (products, dictionary) = match (s.app.all_products(p).await, s.app.dictionary(p).await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return page_error(e, session.lang),
    };
    let query = list_query(&q);
    let next_href = page.next_cursor.as_deref().map(|c| {
        let cur = crate::kit::page::query_string(&[("cursor", Some(c))]);
        if query.is_empty() {
            format!("/feedback?{cur}")
        } else {
            format!("/feedback?{query}&{cur}")
        }
    });
    render(ListPage {
        c: Chrome::for_session(session, "feedback"),
        q,
        page,
        products,
        dictionary,
        next_href,
        errors,
        curate: can_curate(session),
    })
}

async fn add_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let tr = Tr(session.lang);
    let id = |k: &str| f.opt(k).and_then(|v| v.parse::<i64>().ok());
    let input = FeedbackInput {
        source: f.s("source"),
        body: f.s("body"),
        customer_id: id("customer_id").map(CustomerId),
        product_id: id("product_id").map(ProductId),
        ..Default::default()
    };
    if ["customer_id", "product_id"]
        .iter()
        .any(|k| f.opt(k).is_some() && id(k).is_none())
    {
        let inv = aftercare_domain::Invalid::one("customer_id", "id_invalid");
        return list(
            &s,
            &session,
            FeedbackQuery::default(),
            invalid_lines(&inv, &tr),
        )
        .await;
    }
    match s.app.add_feedback(&session.principal, &input).await {
        Ok(item) => Redirect::to(&format!("/feedback/{}", item.id)).into_response(),
        Err(AppError::Invalid(inv)) => {
            list(
                &s,
                &session,
                FeedbackQuery::default(),
                invalid_lines(&inv, &tr),
            )
            .await
        }
        Err(AppError::Conflict { code, field }) => {
            let inv = aftercare_domain::Invalid::one(field.unwrap_or_default(), code);
            list(
                &s,
                &session,
                FeedbackQuery::default(),
                invalid_lines(&inv, &tr),
            )
            .await
        }
        Err(e) => page_error(e, session.lang),
    }
}

async fn word_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let w = DictionaryWord {
        word: f.s("word"),
        kind: f.s("kind"),
        added_by: String::new(),
        added_at: jiff::Timestamp::default(),
    };
    match s.app.add_dictionary_word(&session.principal, &w).await {
        Ok(_) => Redirect::to("/feedback#dictionary").into_response(),
        Err(AppError::Invalid(inv)) => {
            list(
                &s,
                &session,
                FeedbackQuery::default(),
                invalid_lines(&inv, &Tr(session.lang)),
            )
            .await
        }
        Err(AppError::Conflict { code, field }) => {
            let inv = aftercare_domain::Invalid::one(field.unwrap_or_default(), code);
            list(
                &s,
                &session,
                FeedbackQuery::default(),
                invalid_lines(&inv, &Tr(session.lang)),
            )
            .await
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "feedback_item.html")]
struct ItemPage {
    c: Chrome,
    i: FeedbackItem,
    corrections: Vec<Correction>,
    improvement: Option<Improvement>,
    errors: Vec<String>,
    curate: bool,
}

impl ItemPage {
    fn label<T: AsRef<str>>(&self, prefix: &str, v: &Option<T>) -> String {
        label(&self.c.tr, prefix, v)
    }
    fn words(&self, key: &str) -> String {
        words(&self.i.evidence, key)
    }
    fn conf(&self, key: &str) -> String {
        self.i.confidence[key]
            .as_f64()
            .map(|c| format!("{:.0}%", c * 100.0))
            .unwrap_or_default()
    }
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn sel<T: AsRef<str>>(&self, v: &Option<T>, x: &str) -> bool {
        v.as_ref().map(AsRef::as_ref) == Some(x)
    }
}

async fn item(s: &AppState, session: &Session, id: FeedbackId, errors: Vec<String>) -> Response {
    let p = &session.principal;
    let (i, corrections) = match (
        s.app.feedback_item(p, id).await,
        s.app.corrections(p, id).await,
    ) {
        (Ok(i), Ok(c)) => (i, c),
        (Err(e), _) | (_, Err(e)) => return page_error(e, session.lang),
    };
    let improvement = match i.improvement_id {
        Some(e) => match s.app.improvement(p, e).await {
            Ok(x) => Some(x),
            Err(e) => return page_error(e, session.lang),
        },
        None => None,
    };
    render(ItemPage {
        c: Chrome::for_session(session, "feedback"),
        i,
        corrections,
        improvement,
        errors,
        curate: can_curate(session),
    })
}

async fn item_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<FeedbackId>,
) -> Response {
    item(&s, &session, id, vec![]).await
}

async fn labels_submit(
    State(s): State<AppState>,
    Path(id): Path<FeedbackId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = LabelsInput {
        sentiment: f.opt("sentiment"),
        ladder: f.opt("ladder"),
        need: f.opt("need"),
    };
    match s.app.correct_feedback(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/feedback/{id}?corrected=1")).into_response(),
        Err(AppError::Invalid(inv)) => {
            item(&s, &session, id, invalid_lines(&inv, &Tr(session.lang))).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "improvements.html")]
struct BacklogPage {
    c: Chrome,
    product_id: Option<ProductId>,
    status: Option<String>,
    products: Vec<Product>,
    entries: Vec<Improvement>,
}

impl BacklogPage {
    fn money(&self, v: &f64) -> String {
        yuan(*v)
    }
    fn product_sel(&self, id: &ProductId) -> bool {
        self.product_id == Some(*id)
    }
    /// The filter "no product": entries not tied to one.
    fn no_product(&self) -> bool {
        self.product_id == Some(ProductId(0))
    }
    fn sel<T: AsRef<str>>(&self, v: &Option<T>, x: &str) -> bool {
        v.as_ref().map(AsRef::as_ref) == Some(x)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BacklogParams {
    product_id: Option<String>,
    status: Option<String>,
}

async fn backlog_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<BacklogParams>,
) -> Response {
    let p = &session.principal;
    let product_id = q
        .product_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok());
    let status = q.status.filter(|v| !v.trim().is_empty());
    let (entries, products) = match (
        s.app.backlog(p, product_id, status.as_deref()).await,
        s.app.all_products(p).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return page_error(e, session.lang),
    };
    render(BacklogPage {
        c: Chrome::for_session(&session, "feedback"),
        product_id,
        status,
        products,
        entries,
    })
}

#[derive(Template)]
#[template(path = "improvement.html")]
struct ImprovementPage {
    c: Chrome,
    e: Improvement,
    experts: Vec<FeedbackItem>,
    others: Vec<FeedbackItem>,
    raised_by: Vec<RaisedBy>,
    errors: Vec<String>,
    curate: bool,
}

impl ImprovementPage {
    fn label<T: AsRef<str>>(&self, prefix: &str, v: &Option<T>) -> String {
        label(&self.c.tr, prefix, v)
    }
    fn money(&self, v: &f64) -> String {
        yuan(*v)
    }
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

async fn improvement(
    s: &AppState,
    session: &Session,
    id: ImprovementId,
    errors: Vec<String>,
) -> Response {
    let p = &session.principal;
    let e = match s.app.improvement(p, id).await {
        Ok(e) => e,
        Err(e) => return page_error(e, session.lang),
    };
    let q = FeedbackQuery {
        improvement_id: Some(id),
        limit: Some(200),
        ..Default::default()
    };
    let (items, raised_by) = match (s.app.feedback(p, &q).await, s.app.raised_by(p, id).await) {
        (Ok(a), Ok(b)) => (a.items, b),
        (Err(e), _) | (_, Err(e)) => return page_error(e, session.lang),
    };
    let (experts, others) = items.into_iter().partition(|i| i.expert);
    render(ImprovementPage {
        c: Chrome::for_session(session, "feedback"),
        e,
        experts,
        others,
        raised_by,
        errors,
        curate: can_curate(session),
    })
}

async fn improvement_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ImprovementId>,
) -> Response {
    improvement(&s, &session, id, vec![]).await
}

async fn status_submit(
    State(s): State<AppState>,
    Path(id): Path<ImprovementId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = ImprovementInput {
        status: f.s("status"),
        note: f.opt("note"),
    };
    match s
        .app
        .set_improvement_status(&session.principal, id, &input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/improvements/{id}")).into_response(),
        Err(AppError::Invalid(inv)) => {
            improvement(&s, &session, id, invalid_lines(&inv, &Tr(session.lang))).await
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// The customers who raised an entry, as CSV for a campaign tool.
async fn raised_by_csv(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ImprovementId>,
) -> Response {
    let rows = match s.app.raised_by(&session.principal, id).await {
        Ok(r) => r,
        Err(e) => return page_error(e, session.lang),
    };
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.customer_id.to_string(),
                r.name,
                r.phone.unwrap_or_default(),
                r.email.unwrap_or_default(),
                r.consent
                    .iter()
                    .map(|c| c.code())
                    .collect::<Vec<_>>()
                    .join(";"),
                if r.expert { "yes" } else { "no" }.into(),
                r.first_said.to_string(),
            ]
        })
        .collect();
    let bytes = aftercare_app::transfer::to_csv(
        &[
            "customer_id",
            "name",
            "phone",
            "email",
            "consent",
            "expert",
            "first_said",
        ],
        &rows,
    );
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"improvement-{id}-customers.csv\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn expert_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let p = &session.principal;
    let r = if f.opt("remove").is_some() {
        s.app.unset_expert(p, id).await
    } else {
        s.app
            .set_expert(
                p,
                id,
                &ExpertInput {
                    field: f.opt("field"),
                },
            )
            .await
    };
    match r {
        Ok(()) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}
