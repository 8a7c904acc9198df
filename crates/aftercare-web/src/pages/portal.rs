//! The customer portal under `/portal`: sign-up and sign-in, products and warranties,
//! product registration, requests with their conversation, ratings, and self-service help.
//! Its session cookie is separate from staff sessions; every form carries its CSRF token.

use crate::AppState;
use crate::auth::{LANG_COOKIE, client_ip, cookie, request_lang};
use crate::i18n::{Tr, field_message};
use crate::kit::page::{
    FormData, Instant, PageQuery, Path, WarrantyView, askama_escape, invalid_lines, page_error,
    render, warranty_view,
};
use aftercare_app::AppError;
use aftercare_app::desk::RatingInput;
use aftercare_app::desk_model::{Article, PortalRequest, RequestRow};
use aftercare_app::input::ProductQuery;
use aftercare_app::model::{Asset, Product};
use aftercare_app::portal::*;
use aftercare_app::ports::PortalAccount;
use aftercare_domain::ids::*;
use aftercare_domain::lang::Lang;
use askama::Template;
use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub const PORTAL_COOKIE: &str = "aftercare_portal";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/login", get(login_page).post(login_submit))
        .route("/portal/signup", get(signup_page).post(signup_submit))
        .route("/portal/confirm", get(confirm_page).post(confirm_submit))
        .route("/portal/forgot", get(forgot_page).post(forgot_submit))
        .route("/portal/reset", get(reset_page).post(reset_submit))
        .route("/portal/logout", post(logout))
        .route("/portal/lang", post(set_lang))
        .route("/portal/products", post(register_submit))
        .route("/portal/requests/new", get(new_page).post(new_submit))
        .route("/portal/requests/{id}", get(request_page))
        .route("/portal/requests/{id}/messages", post(message_submit))
        .route("/portal/requests/{id}/rate", post(rate_submit))
        .route("/portal/requests/{id}/visits", post(slot_submit))
        .route("/portal/help", get(help_page))
        .route("/portal/messages/{id}", get(message_page))
        .route("/portal/attachments/{id}", get(attachment_download))
        .route("/portal/help/{id}", get(article_page))
}

/// A signed-in customer.
pub struct Customer {
    pub account: PortalAccount,
    pub csrf: String,
    pub lang: Lang,
    pub secret: String,
}

pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/portal/login").into_response()
    }
}

impl<S> FromRequestParts<S> for Customer
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ToLogin;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let secret = cookie(parts, PORTAL_COOKIE).ok_or(ToLogin)?.to_string();
        let (account, csrf) = state
            .app
            .portal_session(&secret)
            .await
            .ok()
            .flatten()
            .ok_or(ToLogin)?;
        // The language selector (a cookie) wins over the language signed up with.
        let lang = cookie(parts, LANG_COOKIE)
            .and_then(Lang::from_tag)
            .unwrap_or_else(|| request_lang(parts, account.lang.as_deref()));
        Ok(Customer {
            account,
            csrf,
            lang,
            secret,
        })
    }
}

/// What every portal page shows around its content.
pub struct PChrome {
    pub tr: Tr,
    pub name: Option<String>,
    pub csrf: String,
}

impl PChrome {
    fn of(c: &Customer) -> Self {
        PChrome {
            tr: Tr(c.lang),
            name: Some(c.account.name.clone()),
            csrf: c.csrf.clone(),
        }
    }
    fn anonymous(lang: Lang) -> Self {
        PChrome {
            tr: Tr(lang),
            name: None,
            csrf: String::new(),
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

fn form_messages(e: &AppError, tr: &Tr) -> Vec<String> {
    match e {
        AppError::Invalid(inv) => invalid_lines(inv, tr),
        AppError::Conflict { code, .. } => vec![field_message(tr.0, code)],
        AppError::Throttled => vec![tr.t("error.throttled")],
        AppError::Unauthenticated => vec![tr.t("portal.wrong_login")],
        AppError::NotFound(_) => vec![tr.t("error.not_found")],
        _ => vec![tr.t("error.internal")],
    }
}

fn error_page(e: AppError, lang: Lang) -> Response {
    let status = match e {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let msg = form_messages(&e, &Tr(lang)).join(" ");
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=utf-8><p>{}</p><p><a href=\"/portal\">←</a></p>",
            askama_escape(&msg)
        )),
    )
        .into_response()
}

/// A portal form, with its CSRF token checked against the customer's session.
pub struct PortalForm(Customer, FormData);

impl<S> axum::extract::FromRequest<S> for PortalForm
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        // The same reading and CSRF check as a form with files; a form without a file
        // input has none.
        let PortalUpload(customer, form, _, refused) =
            PortalUpload::from_request(req, state).await?;
        if let Some(e) = refused {
            return Err(crate::kit::page::page_error(e, customer.lang));
        }
        Ok(PortalForm(customer, form))
    }
}

/// A portal form that may carry photos and files (multipart) or not (URL-encoded), with
/// its CSRF token checked; and, when the files were refused (too many, too large), why,
/// with the fields typed before them kept.
pub struct PortalUpload(
    Customer,
    FormData,
    Vec<aftercare_app::desk::AttachmentInput>,
    Option<aftercare_app::AppError>,
);

impl<S> axum::extract::FromRequest<S> for PortalUpload
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let customer = Customer::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let req = axum::extract::Request::from_parts(parts, body);
        let up = crate::kit::page::form_with_files(req)
            .await
            .map_err(|status| {
                let e = crate::pages::desk::too_big_or_bad(status);
                crate::kit::page::page_error(e, customer.lang)
            })?;
        if up.form.get("_csrf") != Some(customer.csrf.as_str()) {
            return Err((StatusCode::FORBIDDEN, Tr(customer.lang).t("error.csrf")).into_response());
        }
        let refused = up.refused.map(crate::pages::desk::too_big_or_bad);
        Ok(PortalUpload(customer, up.form, up.files, refused))
    }
}

fn session_cookie(secret: &str) -> String {
    format!(
        "{PORTAL_COOKIE}={secret}; Path=/portal; HttpOnly; SameSite=Lax; Max-Age={}",
        30 * 24 * 3600
    )
}

// ---- sign-in and sign-up --------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage {
    c: PChrome,
    email: String,
    errors: Vec<String>,
}

async fn login_page(headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    render(LoginPage {
        c: PChrome::anonymous(lang),
        email: String::new(),
        errors: vec![],
    })
}

fn lang_of(headers: &HeaderMap) -> Lang {
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers.clone();
    let (parts, _) = req.into_parts();
    request_lang(&parts, None)
}

async fn login_submit(State(s): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts);
    let lang = request_lang(&parts, None);
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let f = FormData::parse(&body);
    match s
        .app
        .portal_login(&f.s("email"), &f.s("password"), &ip)
        .await
    {
        Ok((secret, _)) => (
            [(header::SET_COOKIE, session_cookie(&secret))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::UNAUTHORIZED,
            render(LoginPage {
                c: PChrome::anonymous(lang),
                email: f.s("email"),
                errors: form_messages(&e, &Tr(lang)),
            }),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "portal_signup.html")]
struct SignupPage {
    c: PChrome,
    name: String,
    email: String,
    phone: String,
    errors: Vec<String>,
    /// The sign-up went through: the page says to open the mailed link.
    sent: bool,
}

/// The status of a refused sign-up or reset: too many tries, or what was typed.
fn refused(e: &AppError) -> StatusCode {
    if matches!(e, AppError::Throttled) {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn signup_page(headers: HeaderMap) -> Response {
    render(SignupPage {
        c: PChrome::anonymous(lang_of(&headers)),
        name: String::new(),
        email: String::new(),
        phone: String::new(),
        errors: vec![],
        sent: false,
    })
}

async fn signup_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let f = FormData::parse(&body);
    let input = SignupInput {
        name: f.s("name"),
        email: f.s("email"),
        phone: f.opt("phone"),
        password: f.s("password"),
        email_consent: f.opt("email_consent").is_some(),
    };
    match s.app.portal_signup(&input, Some(lang.code()), &ip).await {
        // The same page whether or not the address is known.
        Ok(()) => render(SignupPage {
            c: PChrome::anonymous(lang),
            name: String::new(),
            email: input.email,
            phone: String::new(),
            errors: vec![],
            sent: true,
        }),
        Err(e) => (
            refused(&e),
            render(SignupPage {
                c: PChrome::anonymous(lang),
                name: input.name,
                email: input.email,
                phone: input.phone.unwrap_or_default(),
                errors: form_messages(&e, &Tr(lang)),
                sent: false,
            }),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "portal_confirm.html")]
struct ConfirmPage {
    c: PChrome,
    token: String,
    /// The link is still good; otherwise the page says it is used or expired.
    valid: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TokenQ {
    token: String,
}

/// The page a mailed sign-up link opens: one button finishes the sign-up (a link
/// checker that only fetches the page changes nothing).
async fn confirm_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageQuery(q): PageQuery<TokenQ>,
) -> Response {
    let lang = lang_of(&headers);
    let valid = !q.token.is_empty() && s.app.portal_signup_pending(&q.token).await.unwrap_or(false);
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (
        status,
        render(ConfirmPage {
            c: PChrome::anonymous(lang),
            token: q.token,
            valid,
        }),
    )
        .into_response()
}

async fn confirm_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let f = FormData::parse(&body);
    match s.app.portal_confirm_signup(&f.s("token")).await {
        Ok((secret, _)) => (
            [(header::SET_COOKIE, session_cookie(&secret))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(AppError::Invalid(_)) => (
            StatusCode::NOT_FOUND,
            render(ConfirmPage {
                c: PChrome::anonymous(lang),
                token: String::new(),
                valid: false,
            }),
        )
            .into_response(),
        Err(e) => page_error(e, lang),
    }
}

#[derive(Template)]
#[template(path = "portal_forgot.html")]
struct ForgotPage {
    c: PChrome,
    email: String,
    errors: Vec<String>,
    /// The request went through: the page says to look for the mail.
    sent: bool,
}

async fn forgot_page(headers: HeaderMap) -> Response {
    render(ForgotPage {
        c: PChrome::anonymous(lang_of(&headers)),
        email: String::new(),
        errors: vec![],
        sent: false,
    })
}

async fn forgot_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let f = FormData::parse(&body);
    let email = f.s("email");
    match s
        .app
        .portal_forgot_password(&email, Some(lang.code()), &ip)
        .await
    {
        // The same page whether or not the address has an account.
        Ok(()) => render(ForgotPage {
            c: PChrome::anonymous(lang),
            email,
            errors: vec![],
            sent: true,
        }),
        Err(e) => (
            refused(&e),
            render(ForgotPage {
                c: PChrome::anonymous(lang),
                email,
                errors: form_messages(&e, &Tr(lang)),
                sent: false,
            }),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "portal_reset.html")]
struct ResetPage {
    c: PChrome,
    token: String,
    /// The link is still good; otherwise the page says it is used or expired.
    valid: bool,
    errors: Vec<String>,
}

/// The page a mailed reset link opens: the new password is asked for there (a link
/// checker that only fetches the page changes nothing).
async fn reset_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    PageQuery(q): PageQuery<TokenQ>,
) -> Response {
    let lang = lang_of(&headers);
    let valid = !q.token.is_empty() && s.app.portal_reset_pending(&q.token).await.unwrap_or(false);
    (
        if valid {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        render(ResetPage {
            c: PChrome::anonymous(lang),
            token: q.token,
            valid,
            errors: vec![],
        }),
    )
        .into_response()
}

async fn reset_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let f = FormData::parse(&body);
    let token = f.s("token");
    let (password, again) = (f.s("password"), f.s("password_again"));
    let page = |valid: bool, errors: Vec<String>| ResetPage {
        c: PChrome::anonymous(lang),
        token: token.clone(),
        valid,
        errors,
    };
    if password != again {
        let e = AppError::from(aftercare_domain::Invalid::one(
            "password_again",
            "passwords_differ",
        ));
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            render(page(true, form_messages(&e, &Tr(lang)))),
        )
            .into_response();
    }
    match s.app.portal_reset_password(&token, &password).await {
        Ok((secret, _)) => (
            [(header::SET_COOKIE, session_cookie(&secret))],
            Redirect::to("/portal"),
        )
            .into_response(),
        Err(AppError::Invalid(inv)) if inv.0.iter().any(|e| e.field == "token") => {
            (StatusCode::NOT_FOUND, render(page(false, vec![]))).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            render(page(true, form_messages(&e, &Tr(lang)))),
        )
            .into_response(),
    }
}

async fn logout(State(s): State<AppState>, PortalForm(c, _): PortalForm) -> Response {
    if let Err(e) = s.app.portal_logout(&c.secret).await {
        tracing::warn!(error = %e, "portal logout");
    }
    (
        [(
            header::SET_COOKIE,
            format!("{PORTAL_COOKIE}=; Path=/portal; HttpOnly; SameSite=Lax; Max-Age=0"),
        )],
        Redirect::to("/portal/login"),
    )
        .into_response()
}

async fn set_lang(
    State(s): State<AppState>,
    customer: Option<Customer>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = FormData::parse(&body);
    let lang = Lang::from_tag(&f.s("lang")).unwrap_or_default();
    // A signed-in customer's choice (from their own page: the form's token matches) is
    // also the language their mail comes in.
    if let Some(c) = customer
        && f.get("_csrf") == Some(c.csrf.as_str())
        && let Err(e) = s.app.portal_set_lang(&c.account, lang.code()).await
    {
        tracing::warn!(error = %e, "portal language");
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/portal").map(|i| r[i..].to_string()))
        .unwrap_or_else(|| "/portal".into());
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                lang.code()
            ),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

// ---- home: products and requests ------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    c: PChrome,
    /// Unanswered surveys with their links.
    surveys: Vec<(aftercare_app::survey::Survey, String)>,
    assets: Vec<(Asset, WarrantyView)>,
    requests: Vec<RequestRow>,
    products: Vec<Product>,
    today: String,
    errors: Vec<String>,
    /// The code the customer can give friends.
    referral_code: String,
    /// Messages campaigns left in the account, newest first.
    messages: Vec<aftercare_app::campaign_model::PortalMessage>,
}

impl HomePage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

async fn home_view(s: &AppState, c: &Customer, errors: Vec<String>) -> Result<HomePage, AppError> {
    let tr = Tr(c.lang);
    let assets = s
        .app
        .portal_assets(&c.account)
        .await?
        .into_iter()
        .map(|a| {
            let w = warranty_view(&tr, a.warranty.as_ref());
            (a, w)
        })
        .collect();
    let requests = s.app.portal_requests(&c.account).await?;
    let surveys = s.app.portal_surveys(&c.account).await?;
    let messages = s.app.portal_inbox(&c.account).await?;
    let products = s
        .app
        .store
        .products(&ProductQuery {
            limit: Some(200),
            ..Default::default()
        })
        .await?
        .items
        .into_iter()
        .filter(|p| p.serialized && p.active)
        .collect();
    Ok(HomePage {
        c: PChrome::of(c),
        surveys,
        assets,
        requests,
        products,
        today: s.app.clock.today().to_string(),
        errors,
        referral_code: aftercare_domain::referral::referral_code(c.account.customer_id.get())
            .unwrap_or_default(),
        messages,
    })
}

/// One message in the customer's account, read.
#[derive(Template)]
#[template(path = "portal_message.html")]
struct MessagePage {
    c: PChrome,
    m: aftercare_app::campaign_model::PortalMessage,
}

impl MessagePage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

async fn message_page(State(s): State<AppState>, c: Customer, Path(id): Path<i64>) -> Response {
    match s.app.portal_read_message(&c.account, id).await {
        Ok(m) => render(MessagePage {
            c: PChrome::of(&c),
            m,
        }),
        Err(e) => error_page(e, c.lang),
    }
}

async fn home(State(s): State<AppState>, c: Customer) -> Response {
    match home_view(&s, &c, vec![]).await {
        Ok(p) => render(p),
        Err(e) => error_page(e, c.lang),
    }
}

async fn register_submit(State(s): State<AppState>, PortalForm(c, f): PortalForm) -> Response {
    let input = RegisterInput {
        product_id: f.s("product_id").trim().parse().unwrap_or_default(),
        serial: f.s("serial"),
        purchased_on: f.s("purchased_on"),
    };
    match s.app.portal_register(&c.account, &input).await {
        Ok(_) => Redirect::to("/portal").into_response(),
        Err(e) => {
            let errors = form_messages(&e, &Tr(c.lang));
            match home_view(&s, &c, errors).await {
                Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
                Err(e) => error_page(e, c.lang),
            }
        }
    }
}

// ---- a new request, with help first ---------------------------------------------------

#[derive(Template)]
#[template(path = "portal_new.html")]
struct NewPage {
    c: PChrome,
    assets: Vec<Asset>,
    asset_id: Option<AssetId>,
    q: String,
    articles: Vec<Article>,
    types: Vec<&'static str>,
    service_type: String,
    subject: String,
    description: String,
    errors: Vec<String>,
}

impl NewPage {
    fn picked(&self, id: &AssetId) -> bool {
        self.asset_id == Some(*id)
    }
    fn title<'a>(&self, a: &'a Article) -> &'a str {
        a.localized(self.c.tr.code()).0
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NewQ {
    asset_id: Option<AssetId>,
    q: Option<String>,
}

async fn new_page(State(s): State<AppState>, c: Customer, Query(q): Query<NewQ>) -> Response {
    let text = q.q.clone().unwrap_or_default();
    let r = async {
        let assets = s.app.portal_assets(&c.account).await?;
        let articles = if text.trim().is_empty() {
            vec![]
        } else {
            s.app.help_articles(&text).await?
        };
        Ok::<_, AppError>((assets, articles))
    }
    .await;
    match r {
        Ok((assets, articles)) => render(NewPage {
            c: PChrome::of(&c),
            assets,
            asset_id: q.asset_id,
            subject: text.clone(),
            q: text,
            articles,
            types: PORTAL_TYPES.iter().map(|t| t.code()).collect(),
            service_type: "repair".into(),
            description: String::new(),
            errors: vec![],
        }),
        Err(e) => error_page(e, c.lang),
    }
}

async fn new_submit(
    State(s): State<AppState>,
    PortalUpload(c, f, files, refused): PortalUpload,
) -> Response {
    let input = PortalRequestInput {
        asset_id: f.opt("asset_id").and_then(|a| a.parse().ok()),
        service_type: f.s("service_type"),
        subject: f.s("subject"),
        description: f.s("description"),
    };
    // Files refused (too many, too large): the form comes back with what was typed.
    let opened = match refused {
        Some(e) => Err(e),
        None => {
            s.app
                .portal_open_request_with_files(&c.account, &input, &files)
                .await
        }
    };
    match opened {
        Ok((id, _)) => Redirect::to(&format!("/portal/requests/{id}")).into_response(),
        Err(e) => {
            let assets = s.app.portal_assets(&c.account).await.unwrap_or_default();
            let page = NewPage {
                c: PChrome::of(&c),
                assets,
                asset_id: input.asset_id,
                q: String::new(),
                articles: vec![],
                types: PORTAL_TYPES.iter().map(|t| t.code()).collect(),
                service_type: input.service_type,
                subject: input.subject,
                description: input.description,
                errors: form_messages(&e, &Tr(c.lang)),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response()
        }
    }
}

// ---- one request ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_request.html")]
struct RequestPage {
    c: PChrome,
    r: PortalRequest,
    slots: Vec<(String, String)>,
    errors: Vec<String>,
}

impl RequestPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn slot(&self, start: &str, end: &str) -> String {
        crate::kit::page::slot_label(start, end, &self.c.tr)
    }
}

async fn request_view(
    s: &AppState,
    c: &Customer,
    id: RequestId,
    errors: Vec<String>,
) -> Result<RequestPage, AppError> {
    Ok(RequestPage {
        c: PChrome::of(c),
        r: s.app.portal_request(&c.account, id).await?,
        slots: s.app.portal_slots(&c.account, id).await?,
        errors,
    })
}

async fn request_page(
    State(s): State<AppState>,
    c: Customer,
    Path(id): Path<RequestId>,
) -> Response {
    match request_view(&s, &c, id, vec![]).await {
        Ok(p) => render(p),
        Err(e) => error_page(e, c.lang),
    }
}

async fn back_to(s: &AppState, c: &Customer, id: RequestId, r: Result<(), AppError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/portal/requests/{id}")).into_response(),
        Err(AppError::NotFound(w)) => error_page(AppError::NotFound(w), c.lang),
        Err(e) => {
            let errors = form_messages(&e, &Tr(c.lang));
            match request_view(s, c, id, errors).await {
                Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
                Err(e) => error_page(e, c.lang),
            }
        }
    }
}

async fn message_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    PortalUpload(c, f, files, refused): PortalUpload,
) -> Response {
    let r = match refused {
        Some(e) => Err(e),
        None => {
            s.app
                .portal_message(&c.account, id, &f.s("body"), &files)
                .await
        }
    };
    back_to(&s, &c, id, r).await
}

async fn slot_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    PortalForm(c, f): PortalForm,
) -> Response {
    let r = s
        .app
        .portal_book_slot(&c.account, id, &f.s("starts_at"))
        .await
        .map(|_| ());
    back_to(&s, &c, id, r).await
}

async fn rate_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    PortalForm(c, f): PortalForm,
) -> Response {
    let input = RatingInput {
        stars: f.s("stars").trim().parse().unwrap_or(0),
        comment: f.opt("comment"),
    };
    let r = s.app.portal_rate(&c.account, id, &input).await;
    back_to(&s, &c, id, r).await
}

async fn attachment_download(
    State(s): State<AppState>,
    c: Customer,
    Path(id): Path<i64>,
) -> Response {
    match s.app.portal_attachment(&c.account, id).await {
        Ok((meta, bytes)) => crate::api::desk::attachment_response(&meta, bytes),
        Err(e) => error_page(e, c.lang),
    }
}

// ---- help -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_help.html")]
struct HelpPage {
    c: PChrome,
    q: String,
    articles: Vec<Article>,
    article: Option<Article>,
}

impl HelpPage {
    fn title<'a>(&self, a: &'a Article) -> &'a str {
        a.localized(self.c.tr.code()).0
    }
    fn body<'a>(&self, a: &'a Article) -> &'a str {
        a.localized(self.c.tr.code()).1
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct HelpQ {
    q: Option<String>,
}

/// Help is open to everyone, signed in or not.
fn viewer(c: Option<Customer>, headers: &HeaderMap) -> PChrome {
    match c {
        Some(c) => PChrome::of(&c),
        None => PChrome::anonymous(lang_of(headers)),
    }
}

async fn help_page(
    State(s): State<AppState>,
    c: Option<Customer>,
    headers: HeaderMap,
    Query(q): Query<HelpQ>,
) -> Response {
    let chrome = viewer(c, &headers);
    let text = q.q.unwrap_or_default();
    match s.app.help_articles(&text).await {
        Ok(articles) => render(HelpPage {
            c: chrome,
            q: text,
            articles,
            article: None,
        }),
        Err(e) => error_page(e, chrome.tr.0),
    }
}

async fn article_page(
    State(s): State<AppState>,
    c: Option<Customer>,
    headers: HeaderMap,
    Path(id): Path<ArticleId>,
) -> Response {
    let chrome = viewer(c, &headers);
    match s.app.help_article(id).await {
        Ok(a) => render(HelpPage {
            c: chrome,
            q: String::new(),
            articles: vec![],
            article: Some(a),
        }),
        Err(e) => error_page(e, chrome.tr.0),
    }
}

impl<S> axum::extract::OptionalFromRequestParts<S> for Customer
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Customer as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}
