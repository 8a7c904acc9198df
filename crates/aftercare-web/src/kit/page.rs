//! The pages' kit: the chrome around every page, rendering, errors as pages, forms with
//! their CSRF check, query strings, and the pieces several pages show (warranty status).

use crate::AppState;
use crate::auth::Session;
use crate::i18n::{Tr, field_message};
use aftercare_app::AppError;
use aftercare_domain::lang::Lang;
use aftercare_domain::warranty::{Reason, Remedy, WarrantyStatus};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What the layout needs on every page.
pub struct Chrome {
    pub tr: Tr,
    /// Whether to show what only admins may open (the audit log).
    pub admin: bool,
    pub user: String,
    pub csrf: String,
    pub nav: &'static str,
    /// The signed-in person's role: pages show only the controls it may use.
    pub role: aftercare_domain::account::Role,
    /// A confirmation of the action before this page ("已保存").
    pub done: Option<&'static str>,
}

impl Chrome {
    pub fn for_session(s: &Session, nav: &'static str) -> Self {
        Self::new(s, nav)
    }
    pub(crate) fn new(s: &Session, nav: &'static str) -> Self {
        Chrome {
            tr: Tr(s.lang),
            admin: s
                .principal
                .role
                .allows(aftercare_domain::account::Permission::Admin),
            user: s.principal.user.name.clone(),
            csrf: s.csrf.clone(),
            nav,
            role: s.principal.role,
            done: s.done,
        }
    }
    /// Whether the signed-in person may do `what`, for showing a control: `customers`
    /// (change customers and orders), `catalog`, `bulk` (merge, import), `work` (work
    /// requests), `desk` (configure the desk, approve returns), `analyze`, `curate`.
    pub fn can(&self, what: &str) -> bool {
        use aftercare_domain::account::Permission::*;
        let p = match what {
            "customers" => WriteCustomers,
            "catalog" => WriteCatalog,
            "bulk" => Bulk,
            "work" => WorkRequests,
            "desk" => ManageDesk,
            "analyze" => Analyze,
            "curate" => Curate,
            "campaigns" => Campaigns,
            "admin" => Admin,
            _ => return false,
        };
        self.role.allows(p)
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

/// A time slot as a customer picks it: the day with its weekday, then the hours, in the
/// reader's language ("12月7日 周一 09:00–11:00", "Mon 7 Dec 09:00–11:00"). Stamps that
/// do not parse show as they are.
pub fn slot_label(start: &str, end: &str, tr: &Tr) -> String {
    let (Ok(s), Ok(e)) = (
        start.parse::<jiff::Timestamp>(),
        end.parse::<jiff::Timestamp>(),
    ) else {
        return format!("{start} – {end}");
    };
    let (s, e) = (
        s.to_zoned(aftercare_domain::calendar::china()),
        e.to_zoned(aftercare_domain::calendar::china()),
    );
    format!(
        "{} {}–{}",
        day_label(s.date(), tr),
        s.strftime("%H:%M"),
        e.strftime("%H:%M")
    )
}

/// A day with its weekday in the reader's language: "12月7日 周一", "Mon 7 Dec".
pub fn day_label(d: jiff::civil::Date, tr: &Tr) -> String {
    let weekday = tr.t(&format!("weekday.{}", d.weekday().to_monday_one_offset()));
    tr.t("slot.day")
        .replace("{m}", &d.month().to_string())
        .replace("{d}", &d.day().to_string())
        .replace("{mon}", &d.strftime("%b").to_string())
        .replace("{wd}", &weekday)
}

/// Who did something, as the audit log and a request's history store it: a person by
/// their label, the system's own jobs by name, a customer or sender by the address after
/// `portal:` or `mail:`.
pub fn actor_label(tr: &Tr, label: &str) -> String {
    match label {
        "cli" | "demo" | "feedback" | "scoring" | "sla" | "survey" | "portal" => {
            tr.k("actor", label)
        }
        _ => match label.split_once(':') {
            Some((via @ ("portal" | "mail"), who)) => format!("{} {who}", tr.k("actor", via)),
            _ => label.to_owned(),
        },
    }
}

/// An instant shown to a person: a typed timestamp or a stored stamp.
pub trait Instant {
    /// Asia/Shanghai, to the minute.
    fn local(&self) -> String;
}

impl Instant for jiff::Timestamp {
    fn local(&self) -> String {
        self.to_zoned(aftercare_domain::calendar::china())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }
}

impl Instant for str {
    fn local(&self) -> String {
        local_time(self)
    }
}

impl Instant for String {
    fn local(&self) -> String {
        local_time(self)
    }
}

impl<T: Instant + ?Sized> Instant for &T {
    fn local(&self) -> String {
        (**self).local()
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
    message_page(
        err.status,
        &err.body.message,
        "javascript:history.back()",
        lang,
    )
}

/// A page saying one thing in the user's language, styled like the rest, with a way back
/// and a way home: what a refused, missing or failed page shows.
pub(crate) fn message_page(status: StatusCode, msg: &str, back: &str, lang: Lang) -> Response {
    let t = |k: &str| askama_escape(&crate::i18n::t(lang, k)).to_string();
    let title = t(match status.as_u16() {
        403 => "error.title.forbidden",
        404 => "error.title.not_found",
        400 | 422 => "error.title.invalid",
        s if s >= 500 => "error.title.internal",
        _ => "error.title.other",
    });
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=utf-8>\
             <meta name=viewport content=\"width=device-width, initial-scale=1\">\
             <title>{title} · {app}</title><link rel=stylesheet href=\"/static/app.css\"></head>\
             <body><main class=\"narrow\"><section class=\"card\" id=\"message\" data-status=\"{code}\">\
             <h1>{title}</h1><p>{msg}</p><p class=\"actions\"><a class=\"btn light\" href=\"{back}\">{back_label}</a> \
             <a class=\"btn\" href=\"/\">{home}</a></p></section></main></body></html>",
            lang = lang.code(),
            app = t("app.name"),
            code = status.as_u16(),
            msg = askama_escape(msg),
            back_label = t("action.back"),
            home = t("action.home"),
        )),
    )
        .into_response()
}

/// One line per field error of a form, "label: message", in the user's language (the
/// field's own name when it has no label).
/// A field's name in the reader's language; one item of a list (`regions[2]`) is the
/// list's name and the item's place (覆盖城市 #3). A field without a name shows as sent.
pub(crate) fn field_label(tr: &Tr, field: &str) -> String {
    let label = tr.k("field", field);
    if !label.starts_with("field.") {
        return label;
    }
    // `regions[2]`, `checklist[0].item`: the list's name and the item's place.
    if let Some((base, rest)) = field.split_once('[')
        && let Some(n) = rest.split(']').next().and_then(|n| n.parse::<usize>().ok())
    {
        let base_label = tr.k("field", base);
        if !base_label.starts_with("field.") {
            return format!("{base_label} #{}", n + 1);
        }
    }
    field.to_string()
}

pub(crate) fn invalid_lines(inv: &aftercare_domain::Invalid, tr: &Tr) -> Vec<String> {
    inv.0
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                field_label(tr, &f.field),
                field_message(tr.0, f.code)
            )
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
                // The extractor's own text is English for developers: logged, not shown.
                tracing::debug!(error = %e.body_text(), "page query");
                let msg = crate::i18n::t(lang, "error.invalid_query");
                Err(message_page(
                    StatusCode::BAD_REQUEST,
                    &msg,
                    "javascript:history.back()",
                    lang,
                ))
            }
        }
    }
}

/// A page's path parameters; a malformed one (`/requests/abc`) answers a "no such page"
/// page in the user's language, rather than the framework's English plain text.
pub(crate) struct Path<T>(pub(crate) T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => {
                tracing::debug!(rejection = %e.body_text(), "invalid page path");
                let lang = crate::auth::request_lang(parts, None);
                let msg = crate::i18n::t(lang, "error.no_such_page");
                Err(message_page(StatusCode::NOT_FOUND, &msg, "/", lang))
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

/// At most this many files in one form.
pub(crate) const MAX_FILES: usize = 5;

/// A form with its files, and why the rest of it was not read, if it was not: the fields
/// before that point are kept, so that a page can show again what was typed.
pub(crate) struct Upload {
    pub(crate) form: FormData,
    pub(crate) files: Vec<aftercare_app::desk::AttachmentInput>,
    /// 413: too large or a sixth file; 400: not readable.
    pub(crate) refused: Option<StatusCode>,
}

/// A form sent either way a browser sends one: URL-encoded, or as multipart with files
/// (the `files` fields; empty file inputs are skipped). The body was bounded by the
/// router's limit before it got here; a sixth file is refused, not read.
pub(crate) async fn form_with_files(req: axum::extract::Request) -> Result<Upload, StatusCode> {
    use axum::extract::FromRequest;
    use base64::Engine;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), crate::JSON_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
        return Ok(Upload {
            form: FormData::parse(&bytes),
            files: vec![],
            refused: None,
        });
    }
    let mut mp = axum::extract::Multipart::from_request(req, &())
        .await
        .map_err(|e| e.status())?;
    let (mut pairs, mut files) = (Vec::new(), Vec::new());
    let mut refused = None;
    // A body past the router's limit answers 413, not "unreadable".
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                refused = Some(e.status());
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        if name == "files" && files.len() >= MAX_FILES {
            refused = Some(StatusCode::PAYLOAD_TOO_LARGE);
            break;
        }
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) => {
                refused = Some(e.status());
                break;
            }
        };
        if name == "files" {
            if let Some(filename) = filename.filter(|f| !f.is_empty())
                && !data.is_empty()
            {
                files.push(aftercare_app::desk::AttachmentInput {
                    filename,
                    content_type,
                    content_base64: base64::engine::general_purpose::STANDARD.encode(&data),
                });
            }
        } else {
            let clean = aftercare_domain::error::without_control_characters(
                &String::from_utf8_lossy(&data),
            )
            .into_owned();
            pairs.push((name, clean));
        }
    }
    Ok(Upload {
        form: FormData(pairs),
        files,
        refused,
    })
}

impl FormData {
    /// Stray control characters (a NUL, an escape) are dropped from names and values: no
    /// browser sends them, and no database should receive them.
    pub(crate) fn parse(body: &[u8]) -> Self {
        let clean = |s: std::borrow::Cow<'_, str>| {
            aftercare_domain::error::without_control_characters(&s).into_owned()
        };
        FormData(
            form_urlencoded::parse(body)
                .map(|(k, v)| (clean(k), clean(v)))
                .collect(),
        )
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
    pub(crate) fn csrf_ok(&self, s: &Session) -> bool {
        self.get("_csrf") == Some(s.csrf.as_str())
    }
}

pub(crate) fn csrf_failed(lang: Lang) -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        &crate::i18n::t(lang, "error.csrf"),
        "javascript:history.back()",
        lang,
    )
}

pub(crate) fn secure_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
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

/// The queue's filters read from a query string (`queue=all&sla=warned&q=空调`), with
/// what the page alone uses (`done`). Unknown keys are ignored; the app checks the values.
pub(crate) fn request_query_from(raw: &str) -> (aftercare_app::desk::RequestQuery, Option<String>) {
    let mut q = aftercare_app::desk::RequestQuery::default();
    let mut done = None;
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let v = v.trim().to_string();
        if v.is_empty() {
            continue;
        }
        match k.as_ref() {
            "queue" => q.queue = Some(v),
            "status" => q.status = Some(v),
            "service_type" => q.service_type = Some(v),
            "priority" => q.priority = Some(v),
            "tier" => q.tier = Some(v),
            "assignee" => q.assignee = Some(v),
            "outlet_id" => q.outlet_id = v.parse::<i64>().ok().map(aftercare_domain::OutletId),
            "customer_id" => {
                q.customer_id = v.parse::<i64>().ok().map(aftercare_domain::CustomerId)
            }
            "sla" => q.sla = Some(v),
            "q" => q.q = Some(v),
            "sort" => q.sort = Some(v),
            "opened_from" => q.opened_from = Some(v),
            "opened_to" => q.opened_to = Some(v),
            "resolved_from" => q.resolved_from = Some(v),
            "resolved_to" => q.resolved_to = Some(v),
            "cursor" => q.cursor = Some(v),
            "done" => done = Some(v),
            _ => {}
        }
    }
    (q, done)
}

/// The filters of a query as a query string, without the page cursor: what a saved view
/// keeps and what the next page link carries.
pub(crate) fn request_query_string(q: &aftercare_app::desk::RequestQuery) -> String {
    let outlet = q.outlet_id.map(|o| o.get().to_string());
    let customer = q.customer_id.map(|c| c.get().to_string());
    query_string(&[
        ("queue", q.queue.as_deref()),
        ("status", q.status.as_deref()),
        ("service_type", q.service_type.as_deref()),
        ("priority", q.priority.as_deref()),
        ("tier", q.tier.as_deref()),
        ("assignee", q.assignee.as_deref()),
        ("outlet_id", outlet.as_deref()),
        ("customer_id", customer.as_deref()),
        ("sla", q.sla.as_deref()),
        ("q", q.q.as_deref()),
        ("opened_from", q.opened_from.as_deref()),
        ("opened_to", q.opened_to.as_deref()),
        ("resolved_from", q.resolved_from.as_deref()),
        ("resolved_to", q.resolved_to.as_deref()),
        ("sort", q.sort.as_deref()),
    ])
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
            Reason::LeftService { on, .. } => text.replace("{on}", &on.to_string()),
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

pub(crate) fn form_errors(inv: &aftercare_domain::Invalid, lang: Lang) -> Vec<String> {
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

/// An amount in minor units shown to a person: a typed amount or a plain number of fen.
pub trait Amount {
    fn fen(&self) -> i64;
}

impl Amount for i64 {
    fn fen(&self) -> i64 {
        *self
    }
}

impl Amount for aftercare_domain::Money {
    fn fen(&self) -> i64 {
        aftercare_domain::Money::fen(*self)
    }
}

impl<T: Amount + ?Sized> Amount for &T {
    fn fen(&self) -> i64 {
        (**self).fen()
    }
}

/// `1,299.00` from an amount in fen.
pub(crate) fn money(v: impl Amount) -> String {
    aftercare_domain::catalog::format_money(v.fen())
}

pub(crate) fn yuan(cents: f64) -> String {
    aftercare_domain::catalog::format_money(cents.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_domain::lang::Lang;

    #[test]
    fn a_slot_names_its_day_with_the_weekday() {
        // 2026-12-07 is a Monday; 01:00Z is 09:00 in China.
        let (s, e) = ("2026-12-07T01:00:00Z", "2026-12-07T03:00:00Z");
        assert_eq!(
            slot_label(s, e, &Tr(Lang::ZhHans)),
            "12月7日 周一 09:00–11:00"
        );
        assert_eq!(
            slot_label(s, e, &Tr(Lang::ZhHant)),
            "12月7日 週一 09:00–11:00"
        );
        assert_eq!(slot_label(s, e, &Tr(Lang::En)), "Mon 7 Dec 09:00–11:00");
        assert_eq!(slot_label("soon", "later", &Tr(Lang::En)), "soon – later");
    }
}
