//! The staff pages. One askama template per page; forms carry the session's CSRF token.

use crate::AppState;
use crate::auth::{LANG_COOKIE, ReqLang, SESSION_COOKIE, Session, client_ip};
use crate::i18n::{Tr, field_message};
use aftercare_app::AppError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::catalog::{VoidCondition, format_money};
use aftercare_domain::customer::{ConsentChannel, Touchpoint};
use aftercare_domain::lang::Lang;
use aftercare_domain::order::{OrderStatus, SalesChannel};
use aftercare_domain::warranty::{Reason, Remedy, WarrantyStatus};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", post(set_lang))
        .route("/customers", get(customers_page))
        .route(
            "/customers/new",
            get(new_customer_page).post(new_customer_submit),
        )
        .route("/customers/{id}", get(customer_page))
        .route(
            "/customers/{id}/edit",
            get(edit_customer_page).post(edit_customer_submit),
        )
        .route("/customers/{id}/interactions", post(interaction_submit))
        .route("/products", get(products_page))
        .route("/products/new", post(new_product_submit))
        .route("/policies/new", post(new_policy_submit))
        .route("/categories/new", post(new_category_submit))
        .route("/orders", get(orders_page))
        .route("/orders/new", get(new_order_page).post(new_order_submit))
        .route("/orders/{id}", get(order_page))
        .route("/assets/{id}", get(asset_page))
        .route("/assets/{id}/events", post(asset_event_submit))
        .route("/duplicates", get(duplicates_page))
        .route("/duplicates/merge", post(merge_submit))
        .route("/duplicates/dismiss", post(dismiss_submit))
        .route("/audit", get(audit_page))
        .route("/users", get(users_page).post(new_user_submit))
        .route("/users/{id}", post(user_change_submit))
        .merge(crate::desk_ui::routes())
        .merge(crate::voc_ui::routes())
        .merge(crate::value_ui::routes())
}

/// What the layout needs on every page.
pub struct Chrome {
    pub tr: Tr,
    /// Whether to show what only admins may open (the audit log).
    pub admin: bool,
    pub user: String,
    pub csrf: String,
    pub nav: &'static str,
}

impl Chrome {
    pub fn for_session(s: &Session, nav: &'static str) -> Self {
        Self::new(s, nav)
    }
    fn new(s: &Session, nav: &'static str) -> Self {
        Chrome {
            tr: Tr(s.lang),
            admin: s
                .principal
                .role
                .allows(aftercare_domain::account::Permission::Admin),
            user: s.principal.user.name.clone(),
            csrf: s.csrf.clone(),
            nav,
        }
    }
    pub fn langs(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("zh-Hans", "简体中文"),
            ("zh-Hant", "繁體中文"),
            ("en", "English"),
        ]
    }
}

/// A stored UTC timestamp as people in China read it (Asia/Shanghai), to the minute.
pub fn local_time(at: &str) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(ts) => ts
            .to_zoned(aftercare_domain::calendar::china())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => at.to_string(),
    }
}

pub(crate) fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A failure on a page: not found, forbidden or internal, in the user's language.
pub(crate) fn page_error(e: AppError, lang: Lang) -> Response {
    let err = crate::error::ApiError::from_app(e, lang);
    (err.status, Html(format!("<!doctype html><meta charset=utf-8><title>{0}</title><p>{0}</p><p><a href=\"/\">←</a></p>", askama_escape(&err.body.message)))).into_response()
}

/// One line per field error of a form, "label: message", in the user's language (the
/// field's own name when it has no label).
pub(crate) fn invalid_lines(inv: &aftercare_domain::Invalid, tr: &Tr) -> Vec<String> {
    inv.0
        .iter()
        .map(|f| {
            let label = tr.k("field", &f.field);
            let label = if label.starts_with("field.") {
                f.field.clone()
            } else {
                label
            };
            format!("{label}: {}", field_message(tr.0, f.code))
        })
        .collect()
}

pub(crate) fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Query parameters of a page; a wrong one (`?limit=abc`) answers a page saying which, in
/// the user's language, rather than the framework's plain text.
pub(crate) struct PageQuery<T>(pub(crate) T);

impl<S, T> axum::extract::FromRequestParts<S> for PageQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match <Query<T> as axum::extract::FromRequestParts<S>>::from_request_parts(parts, state)
            .await
        {
            Ok(Query(v)) => Ok(PageQuery(v)),
            Err(e) => {
                let lang = crate::auth::request_lang(parts, None);
                let msg = format!(
                    "{}{}",
                    crate::i18n::t(lang, "error.invalid_query"),
                    e.body_text()
                );
                Err((
                    StatusCode::BAD_REQUEST,
                    Html(format!("<!doctype html><meta charset=utf-8><p>{}</p><p><a href=\"javascript:history.back()\">←</a></p>", askama_escape(&msg))),
                )
                    .into_response())
            }
        }
    }
}

/// A form posted by a signed-in user whose CSRF token matched. Page handlers take forms only
/// through it, so no form can skip the check.
pub(crate) struct CsrfForm(pub(crate) Session, pub(crate) FormData);

impl<S> axum::extract::FromRequest<S> for CsrfForm
where
    AppState: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = axum::body::to_bytes(body, crate::BODY_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        let form = FormData::parse(&bytes);
        if !form.csrf_ok(&session) {
            return Err(csrf_failed(session.lang));
        }
        Ok(CsrfForm(session, form))
    }
}

/// A submitted form: every field, in order, repeated names kept.
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    pub(crate) fn parse(body: &[u8]) -> Self {
        FormData(form_urlencoded::parse(body).into_owned().collect())
    }
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub(crate) fn s(&self, k: &str) -> String {
        self.get(k).unwrap_or("").to_string()
    }
    pub(crate) fn opt(&self, k: &str) -> Option<String> {
        self.get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
    /// Every field, in order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub(crate) fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn csrf_ok(&self, s: &Session) -> bool {
        self.get("_csrf") == Some(s.csrf.as_str())
    }
}

fn csrf_failed(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(format!(
            "<!doctype html><meta charset=utf-8><p>{}</p>",
            crate::i18n::t(lang, "error.csrf")
        )),
    )
        .into_response()
}

fn secure_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

// ---- login ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    email: String,
    error: Option<String>,
}

async fn login_page(ReqLang(lang): ReqLang) -> Response {
    render(LoginPage {
        tr: Tr(lang),
        email: String::new(),
        error: None,
    })
}

async fn login_submit(
    State(s): State<AppState>,
    ReqLang(lang): ReqLang,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts);
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let f = FormData::parse(&body);
    let email = f.s("email");
    match s.app.login(&email, &f.s("password"), &ip).await {
        Ok((secret, _, _)) => (
            [(
                header::SET_COOKIE,
                secure_cookie(SESSION_COOKIE, &secret, 14 * 24 * 3600),
            )],
            Redirect::to("/customers"),
        )
            .into_response(),
        Err(e) => {
            let key = if matches!(e, AppError::Throttled) {
                "login.throttled"
            } else {
                "login.failed"
            };
            if let AppError::Internal(m) = &e {
                tracing::error!(error = %m, "login failed");
            }
            let status = if matches!(e, AppError::Throttled) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                status,
                render(LoginPage {
                    tr: Tr(lang),
                    email,
                    error: Some(Tr(lang).t(key)),
                }),
            )
                .into_response()
        }
    }
}

async fn logout(State(s): State<AppState>, CsrfForm(session, _): CsrfForm) -> Response {
    let _ = s.app.logout(&session.secret).await;
    (
        [(header::SET_COOKIE, secure_cookie(SESSION_COOKIE, "", 0))],
        Redirect::to("/login"),
    )
        .into_response()
}

/// Switches the interface language for this user (and this browser).
async fn set_lang(
    State(s): State<AppState>,
    headers: HeaderMap,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let lang = f.get("lang").and_then(Lang::from_tag);
    if let Err(e) = s.app.set_lang(&session.principal, lang).await {
        return page_error(e, session.lang);
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        })
        .unwrap_or_else(|| "/".into());
    let code = lang.map(Lang::code).unwrap_or("");
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={code}; Path=/; SameSite=Lax; Max-Age=31536000"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

// ---- customers -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    c: Chrome,
    q: CustomerQuery,
    page: Page<CustomerRow>,
    next_href: Option<String>,
    error: Option<String>,
}

pub(crate) fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

async fn customers_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<CustomerQuery>,
) -> Response {
    let (page, error) = match s.app.customers(&session.principal, &q).await {
        Ok(p) => (p, None),
        Err(AppError::Invalid(inv)) => (
            Page {
                items: vec![],
                next_cursor: None,
            },
            inv.0
                .first()
                .map(|f| format!("{}: {}", f.field, field_message(session.lang, f.code))),
        ),
        Err(AppError::Conflict { code, .. }) => (
            Page {
                items: vec![],
                next_cursor: None,
            },
            Some(field_message(session.lang, code)),
        ),
        Err(e) => return page_error(e, session.lang),
    };
    let next_href = page.next_cursor.as_deref().map(|cur| {
        format!(
            "/customers?{}",
            query_string(&[
                ("q", q.q.as_deref()),
                ("kind", q.kind.as_deref()),
                ("tag", q.tag.as_deref()),
                ("city", q.city.as_deref()),
                ("sort", q.sort.as_deref()),
                ("cursor", Some(cur))
            ])
        )
    });
    render(CustomersPage {
        c: Chrome::new(&session, "customers"),
        q,
        page,
        next_href,
        error,
    })
}

/// One row of a repeated group in a form (a phone, an email, …) with its errors.
#[derive(Default, Clone)]
pub struct Row {
    pub a: String,
    pub b: String,
    pub c: String,
    /// Order lines only: unit price and line discount.
    pub d: String,
    pub e: String,
    pub primary: bool,
    pub err_a: String,
    pub err_b: String,
    pub err_c: String,
    pub err_d: String,
    pub err_e: String,
}

#[derive(Default, Clone)]
pub struct AddressRow {
    pub label: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub street: String,
    pub postcode: String,
    pub primary: bool,
    pub err_street: String,
    pub err_postcode: String,
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct CustomerForm {
    c: Chrome,
    action: String,
    title: String,
    version: Option<i64>,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    phones: Vec<Row>,
    emails: Vec<Row>,
    addresses: Vec<AddressRow>,
    family: Vec<Row>,
    dates: Vec<Row>,
    consent: Vec<String>,
    managers: Vec<User>,
    has_errors: bool,
}

impl CustomerForm {
    fn v(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
    fn e(&self, k: &str) -> String {
        self.errors.get(k).cloned().unwrap_or_default()
    }
    fn kinds(&self) -> Vec<&'static str> {
        vec!["person", "organisation"]
    }
    fn touchpoints(&self) -> Vec<&'static str> {
        Touchpoint::ALL.iter().map(|t| t.code()).collect()
    }
    fn consent_channels(&self) -> Vec<&'static str> {
        ConsentChannel::ALL.iter().map(|t| t.code()).collect()
    }
    fn has_consent(&self, c: &&str) -> bool {
        self.consent.iter().any(|x| x == c)
    }
    fn manager_selected(&self, id: &i64) -> bool {
        self.v("account_manager_id") == id.to_string()
    }
}

/// The stored addresses and one empty row to add another; the first is primary if none is.
fn with_spare_address(mut v: Vec<AddressRow>) -> Vec<AddressRow> {
    v.push(AddressRow::default());
    if !v.iter().any(|a| a.primary) {
        v[0].primary = true;
    }
    v
}

fn pad<T: Default + Clone>(mut v: Vec<T>, n: usize) -> Vec<T> {
    while v.len() < n {
        v.push(T::default());
    }
    v
}

fn form_from_customer(c: Chrome, cust: Option<&Customer>, managers: Vec<User>) -> CustomerForm {
    let mut values = HashMap::new();
    let (phones, emails, addresses, family, dates, consent) = match cust {
        Some(x) => {
            for (k, v) in [
                ("kind", Some(x.kind.clone())),
                ("name", Some(x.name.clone())),
                ("company", x.company.clone()),
                ("title", x.title.clone()),
                ("birthday", x.birthday.clone()),
                (
                    "account_manager_id",
                    x.account_manager_id.map(|i| i.to_string()),
                ),
                ("tags", Some(x.tags.join(", "))),
                ("habits", x.habits.clone()),
                ("preferences", x.preferences.clone()),
                ("notes", x.notes.clone()),
                ("source", x.source.clone()),
            ] {
                values.insert(k.to_string(), v.unwrap_or_default());
            }
            (
                x.phones
                    .iter()
                    .map(|p| Row {
                        a: p.display.clone(),
                        b: p.label.clone().unwrap_or_default(),
                        primary: p.primary,
                        ..Default::default()
                    })
                    .collect(),
                x.emails
                    .iter()
                    .map(|m| Row {
                        a: m.address.clone(),
                        primary: m.primary,
                        ..Default::default()
                    })
                    .collect(),
                x.addresses
                    .iter()
                    .map(|a| AddressRow {
                        label: a.label.clone().unwrap_or_default(),
                        province: a.province.clone().unwrap_or_default(),
                        city: a.city.clone().unwrap_or_default(),
                        district: a.district.clone().unwrap_or_default(),
                        street: a.street.clone(),
                        postcode: a.postcode.clone().unwrap_or_default(),
                        primary: a.primary,
                        ..Default::default()
                    })
                    .collect::<Vec<_>>(),
                x.family
                    .iter()
                    .map(|f| Row {
                        a: f.name.clone(),
                        b: f.relation.clone(),
                        c: f.birthday.clone().unwrap_or_default(),
                        ..Default::default()
                    })
                    .collect(),
                x.important_dates
                    .iter()
                    .map(|d| Row {
                        a: d.label.clone(),
                        b: d.date.clone(),
                        ..Default::default()
                    })
                    .collect(),
                x.consent.clone(),
            )
        }
        None => (vec![], vec![], vec![], vec![], vec![], vec![]),
    };
    let mut phones: Vec<Row> = pad(phones, 2);
    if !phones.iter().any(|p| p.primary) {
        phones[0].primary = true;
    }
    let mut emails: Vec<Row> = pad(emails, 2);
    if !emails.iter().any(|p| p.primary) {
        emails[0].primary = true;
    }
    CustomerForm {
        c,
        action: String::new(),
        title: String::new(),
        version: cust.map(|x| x.version),
        values,
        errors: HashMap::new(),
        phones,
        emails,
        addresses: with_spare_address(addresses),
        family: pad(family, 2),
        dates: pad(dates, 2),
        consent,
        managers,
        has_errors: false,
    }
}

/// Reads the customer form into the use case's input, and keeps what was typed for a redisplay.
fn customer_input(f: &FormData) -> CustomerInput {
    let rows = |prefix: &str, max: usize| {
        (0..max)
            .filter(|i| {
                f.get(&format!(
                    "{prefix}[{i}].{}",
                    if prefix == "phones" {
                        "number"
                    } else if prefix == "emails" {
                        "address"
                    } else if prefix == "family" {
                        "name"
                    } else {
                        "label"
                    }
                ))
                .is_some()
            })
            .collect::<Vec<_>>()
    };
    let primary_phone = f.s("primary_phone");
    let primary_email = f.s("primary_email");
    CustomerInput {
        kind: f.opt("kind"),
        name: f.s("name"),
        company: f.opt("company"),
        title: f.opt("title"),
        birthday: f.opt("birthday"),
        phones: rows("phones", 10)
            .into_iter()
            .map(|i| PhoneInput {
                number: f.s(&format!("phones[{i}].number")),
                label: f.opt(&format!("phones[{i}].label")),
                primary: primary_phone == i.to_string(),
            })
            .collect(),
        emails: rows("emails", 10)
            .into_iter()
            .map(|i| EmailInput {
                address: f.s(&format!("emails[{i}].address")),
                primary: primary_email == i.to_string(),
            })
            .collect(),
        addresses: (0..10)
            .filter(|i| f.get(&format!("addresses[{i}].street")).is_some())
            .map(|i| AddressInput {
                label: f.opt(&format!("addresses[{i}].label")),
                province: f.opt(&format!("addresses[{i}].province")),
                city: f.opt(&format!("addresses[{i}].city")),
                district: f.opt(&format!("addresses[{i}].district")),
                street: f.s(&format!("addresses[{i}].street")),
                postcode: f.opt(&format!("addresses[{i}].postcode")),
                primary: f.s("primary_address") == i.to_string(),
            })
            .collect(),
        family: rows("family", 10)
            .into_iter()
            .map(|i| FamilyInput {
                name: f.s(&format!("family[{i}].name")),
                relation: f.s(&format!("family[{i}].relation")),
                birthday: f.opt(&format!("family[{i}].birthday")),
            })
            .collect(),
        important_dates: rows("important_dates", 10)
            .into_iter()
            .map(|i| DateInput {
                label: f.s(&format!("important_dates[{i}].label")),
                date: f.s(&format!("important_dates[{i}].date")),
            })
            .collect(),
        consent: f.all("consent"),
        account_manager_id: f.opt("account_manager_id").and_then(|v| v.parse().ok()),
        tags: f
            .s("tags")
            .split([',', '，'])
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        habits: f.opt("habits"),
        preferences: f.opt("preferences"),
        notes: f.opt("notes"),
        source: f.opt("source"),
    }
}

/// Puts what the user typed back into the form, with each error beside its field.
fn redisplay(
    mut form: CustomerForm,
    f: &FormData,
    input: &CustomerInput,
    errors: &aftercare_domain::Invalid,
    lang: Lang,
) -> CustomerForm {
    for k in [
        "kind",
        "name",
        "company",
        "title",
        "birthday",
        "account_manager_id",
        "tags",
        "habits",
        "preferences",
        "notes",
        "source",
    ] {
        form.values.insert(k.into(), f.s(k));
    }
    let errs: HashMap<String, String> = errors
        .0
        .iter()
        .map(|e| (e.field.clone(), field_message(lang, e.code)))
        .collect();
    let pp = f.s("primary_phone");
    form.phones = pad(
        (0..10)
            .filter(|i| f.get(&format!("phones[{i}].number")).is_some())
            .map(|i| Row {
                a: f.s(&format!("phones[{i}].number")),
                b: f.s(&format!("phones[{i}].label")),
                primary: pp == i.to_string(),
                err_a: errs
                    .get(&format!("phones[{i}].number"))
                    .cloned()
                    .unwrap_or_default(),
                ..Default::default()
            })
            .collect(),
        2,
    );
    let pe = f.s("primary_email");
    form.emails = pad(
        (0..10)
            .filter(|i| f.get(&format!("emails[{i}].address")).is_some())
            .map(|i| Row {
                a: f.s(&format!("emails[{i}].address")),
                primary: pe == i.to_string(),
                err_a: errs
                    .get(&format!("emails[{i}].address"))
                    .cloned()
                    .unwrap_or_default(),
                ..Default::default()
            })
            .collect(),
        2,
    );
    form.addresses = (0..10)
        .filter(|i| f.get(&format!("addresses[{i}].street")).is_some())
        .map(|i| {
            let g = |k: &str| f.s(&format!("addresses[{i}].{k}"));
            let e = |k: &str| {
                errs.get(&format!("addresses[{i}].{k}"))
                    .cloned()
                    .unwrap_or_default()
            };
            AddressRow {
                label: g("label"),
                province: g("province"),
                city: g("city"),
                district: g("district"),
                street: g("street"),
                postcode: g("postcode"),
                primary: f.s("primary_address") == i.to_string(),
                err_street: e("street"),
                err_postcode: e("postcode"),
            }
        })
        .collect();
    if form.addresses.is_empty() {
        form.addresses = with_spare_address(vec![]);
    }
    form.family = pad(
        input
            .family
            .iter()
            .enumerate()
            .map(|(i, m)| Row {
                a: m.name.clone(),
                b: m.relation.clone(),
                c: m.birthday.clone().unwrap_or_default(),
                err_a: errs
                    .get(&format!("family[{i}].name"))
                    .cloned()
                    .unwrap_or_default(),
                err_b: errs
                    .get(&format!("family[{i}].relation"))
                    .cloned()
                    .unwrap_or_default(),
                err_c: errs
                    .get(&format!("family[{i}].birthday"))
                    .cloned()
                    .unwrap_or_default(),
                ..Default::default()
            })
            .collect(),
        2,
    );
    form.dates = pad(
        input
            .important_dates
            .iter()
            .enumerate()
            .map(|(i, d)| Row {
                a: d.label.clone(),
                b: d.date.clone(),
                err_a: errs
                    .get(&format!("important_dates[{i}].label"))
                    .cloned()
                    .unwrap_or_default(),
                err_b: errs
                    .get(&format!("important_dates[{i}].date"))
                    .cloned()
                    .unwrap_or_default(),
                ..Default::default()
            })
            .collect(),
        2,
    );
    form.consent = input.consent.clone();
    form.has_errors = !errs.is_empty();
    form.errors = errs;
    form
}

async fn new_customer_page(State(s): State<AppState>, session: Session) -> Response {
    let managers = s.app.users(&session.principal).await.unwrap_or_default();
    let mut form = form_from_customer(Chrome::new(&session, "customers"), None, managers);
    form.action = "/customers/new".into();
    form.title = form.c.tr.t("action.new_customer");
    render(form)
}

async fn new_customer_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = customer_input(&f);
    match s.app.create_customer(&session.principal, &input).await {
        Ok(id) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(AppError::Invalid(inv)) => {
            let managers = s.app.users(&session.principal).await.unwrap_or_default();
            let mut form = form_from_customer(Chrome::new(&session, "customers"), None, managers);
            form.action = "/customers/new".into();
            form.title = form.c.tr.t("action.new_customer");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                render(redisplay(form, &f, &input, &inv, session.lang)),
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

async fn edit_customer_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    let cust = match s.app.customer(&session.principal, id).await {
        Ok(c) => c,
        Err(e) => return page_error(e, session.lang),
    };
    let managers = s.app.users(&session.principal).await.unwrap_or_default();
    let mut form = form_from_customer(Chrome::new(&session, "customers"), Some(&cust), managers);
    form.action = format!("/customers/{id}/edit");
    form.title = format!("{} · {}", form.c.tr.t("action.edit"), cust.name);
    render(form)
}

async fn edit_customer_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = customer_input(&f);
    let version = f.opt("version").and_then(|v| v.parse().ok());
    match s
        .app
        .update_customer(&session.principal, id, &input, version)
        .await
    {
        Ok(()) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            let inv = match e {
                AppError::Invalid(inv) => inv,
                AppError::Conflict { code, field } => {
                    aftercare_domain::Invalid::one(field.unwrap_or_else(|| "name".into()), code)
                }
                _ => aftercare_domain::Invalid::default(),
            };
            let managers = s.app.users(&session.principal).await.unwrap_or_default();
            let cust = s.app.customer(&session.principal, id).await.ok();
            let mut form =
                form_from_customer(Chrome::new(&session, "customers"), cust.as_ref(), managers);
            form.action = format!("/customers/{id}/edit");
            form.title = form.c.tr.t("action.edit");
            let mut form = redisplay(form, &f, &input, &inv, session.lang);
            if let Some(msg) = form.errors.get("version").cloned() {
                form.errors.insert("name".into(), msg);
            }
            (StatusCode::UNPROCESSABLE_ENTITY, render(form)).into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// A warranty status as the page shows it.
pub struct WarrantyView {
    pub coverage: String,
    pub coverage_label: String,
    pub remedies: Vec<(String, bool, String)>,
}

pub(crate) fn warranty_view(tr: &Tr, w: Option<&WarrantyStatus>) -> WarrantyView {
    let Some(w) = w else {
        return WarrantyView {
            coverage: "expired".into(),
            coverage_label: tr.t("coverage.none"),
            remedies: vec![],
        };
    };
    let explain = |r: &Remedy| -> String {
        let until = r.until.map(|u| u.to_string()).unwrap_or_default();
        let text = tr.k("reason", r.reason.code()).replace("{until}", &until);
        match &r.reason {
            Reason::Voided { condition, since } => text.replace(
                "{cond}",
                &format!("{} {}", tr.k("void", condition.code()), since),
            ),
            Reason::WindowEnded { ended_on } => text.replace("{until}", &ended_on.to_string()),
            _ => text,
        }
    };
    WarrantyView {
        coverage: w.coverage.code().into(),
        coverage_label: tr.k("coverage", w.coverage.code()),
        remedies: vec![
            (
                tr.t("remedy.return"),
                w.return_.applies,
                explain(&w.return_),
            ),
            (
                tr.t("remedy.exchange"),
                w.exchange.applies,
                explain(&w.exchange),
            ),
            (tr.t("remedy.repair"), w.repair.applies, explain(&w.repair)),
        ],
    }
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    c: Chrome,
    v: Customer360,
    warranties: Vec<WarrantyView>,
    next_href: Option<String>,
    value: Option<crate::value_ui::ValuePanel>,
    /// (field, since) when the customer is in the customer alliance.
    expert: Option<(Option<String>, String)>,
    curate: bool,
}

impl CustomerPage {
    fn money(&self, v: &i64) -> String {
        format_money(*v)
    }
    fn yuan(&self, v: &f64) -> String {
        crate::value_ui::yuan(*v)
    }
    fn prob(&self, v: &Option<f64>) -> String {
        v.map(|p| format!("{p:.2}")).unwrap_or_else(|| "—".into())
    }
    fn score(&self, v: &Option<i64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
    }
    fn touchpoints(&self) -> Vec<&'static str> {
        Touchpoint::ALL.iter().map(|t| t.code()).collect()
    }
    fn when(&self, at: &str) -> String {
        local_time(at)
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CursorQ {
    cursor: Option<String>,
}

async fn customer_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    PageQuery(q): PageQuery<CursorQ>,
) -> Response {
    let v = match s
        .app
        .customer_360(&session.principal, id, q.cursor.as_deref())
        .await
    {
        Ok(v) => v,
        Err(e) => return page_error(e, session.lang),
    };
    let tr = Tr(session.lang);
    let warranties = v
        .assets
        .iter()
        .map(|a| warranty_view(&tr, a.warranty.as_ref()))
        .collect();
    let next_href = v
        .timeline
        .next_cursor
        .as_deref()
        .map(|c| format!("/customers/{id}?{}", query_string(&[("cursor", Some(c))])));
    let value = crate::value_ui::panel(&s, &session, id).await;
    let expert = match s.app.expert(&session.principal, id).await {
        Ok(e) => e,
        Err(e) => return page_error(e, session.lang),
    };
    render(CustomerPage {
        c: Chrome::new(&session, "customers"),
        v,
        warranties,
        next_href,
        value,
        expert,
        curate: session
            .principal
            .role
            .allows(aftercare_domain::account::Permission::Curate),
    })
}

async fn interaction_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = InteractionInput {
        touchpoint: f.s("touchpoint"),
        direction: f.opt("direction"),
        subject: f.s("subject"),
        body: f.opt("body"),
    };
    match s.app.add_interaction(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(AppError::Invalid(inv)) => {
            let msg = inv
                .0
                .iter()
                .map(|e| format!("{}: {}", e.field, field_message(session.lang, e.code)))
                .collect::<Vec<_>>()
                .join(" ");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(format!(
                    "<!doctype html><meta charset=utf-8><p>{}</p><a href=\"/customers/{id}\">←</a>",
                    askama_escape(&msg)
                )),
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

// ---- products and orders -------------------------------------------------------------

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    c: Chrome,
    q: ProductQuery,
    page: Page<Product>,
    categories: Vec<Category>,
    policies: Vec<Policy>,
    next_href: Option<String>,
    /// Whether the catalogue forms are shown (managers and admins).
    can_edit: bool,
    /// Errors of the last catalogue form, each naming its field.
    errors: Vec<String>,
}

impl ProductsPage {
    fn voids(&self) -> Vec<&'static str> {
        VoidCondition::ALL.iter().map(|c| c.code()).collect()
    }
    fn strategies(&self) -> Vec<&'static str> {
        aftercare_domain::catalog::AfterSalesStrategy::ALL
            .iter()
            .map(|c| c.code())
            .collect()
    }
    fn money(&self, v: &i64) -> String {
        format_money(*v)
    }
    fn policy_by_id(&self, id: &i64) -> String {
        self.policy(&Some(*id))
    }
    fn policy(&self, id: &Option<i64>) -> String {
        match id.and_then(|id| self.policies.iter().find(|p| p.id == id)) {
            Some(p) => self
                .c
                .tr
                .t(if p.repair_limit == 0 {
                    "policy.summary_no_limit"
                } else {
                    "policy.summary"
                })
                .replace("{r}", &p.return_days.to_string())
                .replace("{e}", &p.exchange_days.to_string())
                .replace("{m}", &p.repair_months.to_string())
                .replace("{l}", &p.repair_limit.to_string()),
            None => self.c.tr.t("coverage.none"),
        }
    }
    fn cat_selected(&self, id: &i64) -> bool {
        self.q.category_id == Some(*id)
    }
}

async fn products_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<ProductQuery>,
) -> Response {
    products_view(&s, &session, q, vec![]).await
}

async fn products_view(
    s: &AppState,
    session: &Session,
    q: ProductQuery,
    errors: Vec<String>,
) -> Response {
    let page = match s.app.products(&session.principal, &q).await {
        Ok(p) => p,
        Err(e) => return page_error(e, session.lang),
    };
    let categories = s
        .app
        .categories(&session.principal)
        .await
        .unwrap_or_default();
    let policies = s.app.policies(&session.principal).await.unwrap_or_default();
    let cat = q.category_id.map(|c| c.to_string());
    let next_href = page.next_cursor.as_deref().map(|c| {
        format!(
            "/products?{}",
            query_string(&[
                ("q", q.q.as_deref()),
                ("category_id", cat.as_deref()),
                ("sort", q.sort.as_deref()),
                ("cursor", Some(c))
            ])
        )
    });
    render(ProductsPage {
        c: Chrome::new(session, "products"),
        q,
        page,
        categories,
        policies,
        next_href,
        can_edit: session
            .principal
            .role
            .allows(aftercare_domain::account::Permission::WriteCatalog),
        errors,
    })
}

fn form_errors(inv: &aftercare_domain::Invalid, lang: Lang) -> Vec<String> {
    let tr = Tr(lang);
    inv.0
        .iter()
        .map(|e| {
            let label = tr.t(&format!("product.{}", e.field.trim_end_matches("_id")));
            let label = if label.starts_with("product.") {
                e.field.clone()
            } else {
                label
            };
            format!("{label}: {}", field_message(lang, e.code))
        })
        .collect()
}

async fn catalogue_result(s: &AppState, session: &Session, r: Result<i64, AppError>) -> Response {
    match r {
        Ok(_) => Redirect::to("/products").into_response(),
        Err(AppError::Invalid(inv)) => {
            let errors = form_errors(&inv, session.lang);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                products_view(s, session, ProductQuery::default(), errors).await,
            )
                .into_response()
        }
        Err(AppError::Conflict { code, field }) => {
            let inv = aftercare_domain::Invalid::one(field.unwrap_or_else(|| "sku".into()), code);
            let errors = form_errors(&inv, session.lang);
            (
                StatusCode::CONFLICT,
                products_view(s, session, ProductQuery::default(), errors).await,
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

async fn new_product_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let input = ProductInput {
        sku: f.s("sku"),
        name: f.s("name"),
        category_id: f.s("category_id").parse().unwrap_or(0),
        policy_id: f.opt("policy_id").and_then(|v| v.parse().ok()),
        price: f.s("price"),
        currency: None,
        serialized: f.get("serialized").is_some(),
        strategy: f.opt("strategy"),
    };
    let r = s.app.create_product(&session.principal, &input).await;
    let r = match r {
        Err(AppError::Conflict {
            code: "reference_not_found",
            ..
        }) => Err(AppError::Invalid(aftercare_domain::Invalid::one(
            "category_id",
            "not_found",
        ))),
        r => r,
    };
    catalogue_result(&s, &session, r).await
}

async fn new_policy_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let days = |k: &str| -> Result<u32, aftercare_domain::Invalid> {
        f.s(k)
            .trim()
            .parse::<u32>()
            .map_err(|_| aftercare_domain::Invalid::one(k.to_string(), "out_of_range"))
    };
    let input = (|| {
        Ok::<_, aftercare_domain::Invalid>(PolicyInput {
            name: f.s("name"),
            return_days: days("return_days")?,
            exchange_days: days("exchange_days")?,
            repair_months: days("repair_months")?,
            repair_limit: days("repair_limit")?,
            void_conditions: f.all("void_conditions"),
        })
    })();
    let r = match input {
        Ok(input) => s.app.create_policy(&session.principal, &input).await,
        Err(inv) => Err(AppError::Invalid(inv)),
    };
    catalogue_result(&s, &session, r).await
}

async fn new_category_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = CategoryInput {
        name: f.s("name"),
        parent_id: f.opt("parent_id").and_then(|v| v.parse().ok()),
        policy_id: f.opt("policy_id").and_then(|v| v.parse().ok()),
    };
    let r = s.app.create_category(&session.principal, &input).await;
    catalogue_result(&s, &session, r).await
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    c: Chrome,
    q: OrderQuery,
    page: Page<OrderRow>,
    next_href: Option<String>,
}

impl OrdersPage {
    fn money(&self, v: &i64) -> String {
        format_money(*v)
    }
    fn channels(&self) -> Vec<&'static str> {
        SalesChannel::ALL.iter().map(|c| c.code()).collect()
    }
}

async fn orders_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<OrderQuery>,
) -> Response {
    let page = match s.app.orders(&session.principal, &q).await {
        Ok(p) => p,
        Err(e) => return page_error(e, session.lang),
    };
    let cid = q.customer_id.map(|c| c.to_string());
    let next_href = page.next_cursor.as_deref().map(|c| {
        format!(
            "/orders?{}",
            query_string(&[
                ("q", q.q.as_deref()),
                ("channel", q.channel.as_deref()),
                ("status", q.status.as_deref()),
                ("customer_id", cid.as_deref()),
                ("sort", q.sort.as_deref()),
                ("cursor", Some(c))
            ])
        )
    });
    render(OrdersPage {
        c: Chrome::new(&session, "orders"),
        q,
        page,
        next_href,
    })
}

#[derive(Template)]
#[template(path = "order_form.html")]
struct OrderForm {
    c: Chrome,
    customer: Customer,
    products: Vec<Product>,
    outlets: Vec<Outlet>,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    lines: Vec<Row>,
}

impl OrderForm {
    fn v(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
    fn e(&self, k: &str) -> String {
        self.errors.get(k).cloned().unwrap_or_default()
    }
    fn channels(&self) -> Vec<&'static str> {
        SalesChannel::ALL.iter().map(|c| c.code()).collect()
    }
    fn statuses(&self) -> Vec<&'static str> {
        OrderStatus::ALL.iter().map(|c| c.code()).collect()
    }
    fn money(&self, v: &i64) -> String {
        format_money(*v)
    }
}

#[derive(serde::Deserialize)]
struct CustomerIdQ {
    customer_id: i64,
}

async fn order_form(
    s: &AppState,
    session: &Session,
    customer_id: i64,
) -> Result<OrderForm, AppError> {
    let customer = s.app.customer(&session.principal, customer_id).await?;
    let products = s
        .app
        .products(
            &session.principal,
            &ProductQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?
        .items;
    let outlets = s.app.outlets(&session.principal).await?;
    let mut values = HashMap::new();
    values.insert("ordered_on".to_string(), s.app.clock.today().to_string());
    values.insert("channel".to_string(), "store".to_string());
    values.insert("status".to_string(), "paid".to_string());
    Ok(OrderForm {
        c: Chrome::new(session, "orders"),
        customer,
        products,
        outlets,
        values,
        errors: HashMap::new(),
        lines: pad(vec![], 3),
    })
}

async fn new_order_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<CustomerIdQ>,
) -> Response {
    match order_form(&s, &session, q.customer_id).await {
        Ok(f) => render(f),
        Err(e) => page_error(e, session.lang),
    }
}

async fn new_order_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let customer_id: i64 = f.s("customer_id").parse().unwrap_or(0);
    let mut idx = Vec::new();
    let items: Vec<OrderItemInput> = (0..10)
        .filter(|i| f.opt(&format!("items[{i}].product_id")).is_some())
        .map(|i| {
            idx.push(i);
            OrderItemInput {
                product_id: f.s(&format!("items[{i}].product_id")).parse().unwrap_or(0),
                quantity: f
                    .s(&format!("items[{i}].quantity"))
                    .trim()
                    .parse()
                    .unwrap_or(0),
                unit_price: f.opt(&format!("items[{i}].unit_price")),
                discount: f.opt(&format!("items[{i}].discount")),
                serials: f
                    .s(&format!("items[{i}].serials"))
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect();
    let input = OrderInput {
        customer_id,
        channel: f.s("channel"),
        outlet_id: f.opt("outlet_id").and_then(|v| v.parse().ok()),
        ordered_on: f.opt("ordered_on"),
        delivered_on: f.opt("delivered_on"),
        installed_on: f.opt("installed_on"),
        location: f.opt("location"),
        status: f.opt("status"),
        currency: None,
        discount: f.opt("discount"),
        payment_terms: f.opt("payment_terms"),
        special_needs: f.opt("special_needs"),
        items,
    };
    match s.app.create_order(&session.principal, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{customer_id}")).into_response(),
        Err(AppError::Invalid(inv)) => {
            let mut form = match order_form(&s, &session, customer_id).await {
                Ok(f) => f,
                Err(e) => return page_error(e, session.lang),
            };
            for k in [
                "channel",
                "outlet_id",
                "ordered_on",
                "delivered_on",
                "installed_on",
                "location",
                "status",
                "discount",
                "payment_terms",
                "special_needs",
            ] {
                form.values.insert(k.into(), f.s(k));
            }
            // Field paths use the submitted row numbers, so errors land beside their row.
            for e in &inv.0 {
                let mut field = e.field.clone();
                for (n, i) in idx.iter().enumerate() {
                    field = field.replace(&format!("items[{n}]"), &format!("items[{i}]"));
                }
                let field = field
                    .split(".serials[")
                    .next()
                    .map(|p| {
                        if field.contains(".serials[") {
                            format!("{p}.serials")
                        } else {
                            field.clone()
                        }
                    })
                    .unwrap_or(field);
                form.errors
                    .insert(field, field_message(session.lang, e.code));
            }
            form.lines = (0..3)
                .map(|i| Row {
                    a: f.s(&format!("items[{i}].product_id")),
                    b: f.s(&format!("items[{i}].quantity")),
                    c: f.s(&format!("items[{i}].serials")),
                    err_a: form.e(&format!("items[{i}].product_id")),
                    err_b: form.e(&format!("items[{i}].quantity")),
                    err_c: form.e(&format!("items[{i}].serials")),
                    d: f.s(&format!("items[{i}].unit_price")),
                    e: f.s(&format!("items[{i}].discount")),
                    err_d: form.e(&format!("items[{i}].unit_price")),
                    err_e: form.e(&format!("items[{i}].discount")),
                    primary: false,
                })
                .collect();
            if let Some(m) = form.errors.get("items").cloned() {
                form.lines[0].err_a = m;
            }
            (StatusCode::UNPROCESSABLE_ENTITY, render(form)).into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    c: Chrome,
    o: Order,
}

impl OrderPage {
    fn money(&self, v: &i64) -> String {
        format_money(*v)
    }
}

async fn order_page(State(s): State<AppState>, session: Session, Path(id): Path<i64>) -> Response {
    match s.app.order(&session.principal, id).await {
        Ok(o) => render(OrderPage {
            c: Chrome::new(&session, "orders"),
            o,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    c: Chrome,
    a: Asset,
    w: WarrantyView,
    today: String,
    error: Option<String>,
}

impl AssetPage {
    fn voids(&self) -> Vec<&'static str> {
        VoidCondition::ALL.iter().map(|c| c.code()).collect()
    }
    fn kinds(&self) -> Vec<&'static str> {
        vec!["service", "repair", "installed", "note", "void"]
    }
}

async fn asset_page(State(s): State<AppState>, session: Session, Path(id): Path<i64>) -> Response {
    match s.app.asset(&session.principal, id).await {
        Ok(a) => {
            let w = warranty_view(&Tr(session.lang), a.warranty.as_ref());
            render(AssetPage {
                c: Chrome::new(&session, "customers"),
                a,
                w,
                today: s.app.clock.today().to_string(),
                error: None,
            })
        }
        Err(e) => page_error(e, session.lang),
    }
}

async fn asset_event_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = AssetEventInput {
        kind: f.s("kind"),
        day: f.opt("day"),
        void_condition: f.opt("void_condition"),
        note: f.opt("note"),
    };
    match s.app.add_asset_event(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/assets/{id}")).into_response(),
        Err(AppError::Invalid(inv)) => match s.app.asset(&session.principal, id).await {
            Ok(a) => {
                let w = warranty_view(&Tr(session.lang), a.warranty.as_ref());
                let error = Some(
                    inv.0
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                Tr(session.lang).t(&format!("asset.{}", e.field)),
                                field_message(session.lang, e.code)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    render(AssetPage {
                        c: Chrome::new(&session, "customers"),
                        a,
                        w,
                        today: s.app.clock.today().to_string(),
                        error,
                    }),
                )
                    .into_response()
            }
            Err(e) => page_error(e, session.lang),
        },
        Err(e) => page_error(e, session.lang),
    }
}

// ---- duplicates and audit ------------------------------------------------------------

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    c: Chrome,
    pairs: Vec<DuplicatePair>,
}

async fn duplicates_page(State(s): State<AppState>, session: Session) -> Response {
    match s.app.duplicates(&session.principal).await {
        Ok(pairs) => render(DuplicatesPage {
            c: Chrome::new(&session, "duplicates"),
            pairs,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

async fn merge_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let keep: i64 = f.s("keep").parse().unwrap_or(0);
    let drop: i64 = f.s("drop").parse().unwrap_or(0);
    match s.app.merge(&session.principal, keep, drop).await {
        Ok(()) => Redirect::to(&format!("/customers/{keep}")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn dismiss_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let a: i64 = f.s("a").parse().unwrap_or(0);
    let b: i64 = f.s("b").parse().unwrap_or(0);
    match s.app.dismiss_duplicate(&session.principal, a, b).await {
        Ok(()) => Redirect::to("/duplicates").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    entries: Vec<AuditEntry>,
    next_href: Option<String>,
}

impl AuditPage {
    fn when(&self, at: &str) -> String {
        local_time(at)
    }
    fn json(&self, v: &Option<serde_json::Value>) -> String {
        v.as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuditQ {
    entity: Option<String>,
    entity_id: Option<i64>,
    before: Option<i64>,
}

async fn audit_page(
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

// ---- staff accounts --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<User>,
    roles: Vec<&'static str>,
    errors: Vec<String>,
    email: String,
    name: String,
    /// The role selected in the form; a new form starts at the least privileged one.
    role: String,
}

async fn users_view(
    s: &AppState,
    session: &Session,
    errors: Vec<String>,
    email: String,
    name: String,
    role: String,
) -> Response {
    if !session
        .principal
        .role
        .allows(aftercare_domain::account::Permission::Admin)
    {
        return page_error(AppError::Forbidden, session.lang);
    }
    match s.app.users(&session.principal).await {
        Ok(users) => render(UsersPage {
            c: Chrome::new(session, "users"),
            users,
            roles: aftercare_domain::account::Role::ALL
                .iter()
                .map(|r| r.code())
                .collect(),
            errors,
            email,
            name,
            role,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

async fn users_page(State(s): State<AppState>, session: Session) -> Response {
    users_view(
        &s,
        &session,
        vec![],
        String::new(),
        String::new(),
        "analyst".into(),
    )
    .await
}

async fn new_user_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let input = UserInput {
        email: f.s("email"),
        name: f.s("name"),
        password: f.s("password"),
        role: f.s("role"),
    };
    let tr = Tr(session.lang);
    let errors = match s.app.create_user(&session.principal, &input).await {
        Ok(_) => return Redirect::to("/users").into_response(),
        Err(AppError::Invalid(inv)) => inv
            .0
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    tr.t(&format!("user.{}", e.field)),
                    field_message(session.lang, e.code)
                )
            })
            .collect(),
        Err(AppError::Conflict { code, field }) => {
            vec![format!(
                "{}: {}",
                tr.t(&format!("user.{}", field.as_deref().unwrap_or("email"))),
                field_message(session.lang, code)
            )]
        }
        Err(e) => return page_error(e, session.lang),
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        users_view(&s, &session, errors, input.email, input.name, input.role).await,
    )
        .into_response()
}

/// Deactivates or reactivates an account from the Staff page.
async fn user_change_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let patch = UserPatch {
        active: Some(f.s("active") == "true"),
        ..Default::default()
    };
    match s.app.update_user(&session.principal, id, &patch).await {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(AppError::Invalid(inv)) => {
            let errors = inv
                .0
                .iter()
                .map(|e| field_message(session.lang, e.code))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                users_view(
                    &s,
                    &session,
                    errors,
                    String::new(),
                    String::new(),
                    "analyst".into(),
                )
                .await,
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}
