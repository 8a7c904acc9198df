//! The customer pages: the list, the customer 360, the profile form, contacts, duplicates and
//! merges, and the customer's personal information exported or erased on request.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::{Tr, field_message};
use crate::kit::page::*;
use aftercare_app::AppError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::customer::{ConsentChannel, Touchpoint};
use aftercare_domain::ids::*;
use aftercare_domain::lang::Lang;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
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
        .route("/customers/{id}/personal-data", get(personal_data_download))
        .route("/customers/{id}/erase", get(erase_page).post(erase_submit))
        .route("/duplicates", get(duplicates_page))
        .route("/duplicates/merge", get(merge_page).post(merge_submit))
        .route("/duplicates/dismiss", post(dismiss_submit))
}

#[derive(Template)]
#[template(path = "customers.html")]
pub(crate) struct CustomersPage {
    c: Chrome,
    q: CustomerQuery,
    page: Page<CustomerRow>,
    next_href: Option<String>,
    error: Option<String>,
}

pub(crate) async fn customers_page(
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
            invalid_lines(&inv, &Tr(session.lang)).into_iter().next(),
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
pub(crate) struct CustomerForm {
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
    /// Customers who already have a phone number or email of the new one.
    known: Vec<aftercare_app::model::CustomerRow>,
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
    fn manager_selected(&self, id: &UserId) -> bool {
        self.v("account_manager_id") == id.to_string()
    }
}

/// The stored addresses and one empty row to add another; the first is primary if none is.
pub(crate) fn with_spare_address(mut v: Vec<AddressRow>) -> Vec<AddressRow> {
    v.push(AddressRow::default());
    if !v.iter().any(|a| a.primary) {
        v[0].primary = true;
    }
    v
}

pub(crate) fn pad<T: Default + Clone>(mut v: Vec<T>, n: usize) -> Vec<T> {
    while v.len() < n {
        v.push(T::default());
    }
    v
}

pub(crate) fn form_from_customer(
    c: Chrome,
    cust: Option<&Customer>,
    managers: Vec<User>,
) -> CustomerForm {
    let mut values = HashMap::new();
    let (phones, emails, addresses, family, dates, consent) = match cust {
        Some(x) => {
            for (k, v) in [
                ("kind", Some(x.kind.code().to_string())),
                ("name", Some(x.name.clone())),
                ("company", x.company.clone()),
                ("title", x.title.clone()),
                ("birthday", x.birthday.map(|b| b.to_string())),
                (
                    "account_manager_id",
                    x.account_manager_id.map(|i| i.to_string()),
                ),
                ("tags", Some(x.tags.join(", "))),
                ("habits", x.habits.clone()),
                ("preferences", x.preferences.clone()),
                ("notes", x.notes.clone()),
                ("source", x.source.map(|s| s.code().to_string())),
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
                x.consent.iter().map(|c| c.code().to_string()).collect(),
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
        known: vec![],
    }
}

/// Reads the customer form into the use case's input, and keeps what was typed for a redisplay.
pub(crate) fn customer_input(f: &FormData) -> CustomerInput {
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
        external_ref: None,
        referred_by_code: f.opt("referred_by_code"),
    }
}

/// Puts what the user typed back into the form, with each error beside its field.
pub(crate) fn redisplay(
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
        "referred_by_code",
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

pub(crate) async fn new_customer_page(State(s): State<AppState>, session: Session) -> Response {
    let managers = s.app.users(&session.principal).await.unwrap_or_default();
    let mut form = form_from_customer(Chrome::new(&session, "customers"), None, managers);
    form.action = "/customers/new".into();
    form.title = form.c.tr.t("action.new_customer");
    render(form)
}

pub(crate) async fn new_customer_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = customer_input(&f);
    // A phone number or email someone already has: shown with that customer first, so
    // the same person is not recorded twice; "create anyway" goes on.
    if f.opt("create_anyway").is_none() {
        match s.app.known_contacts(&session.principal, &input).await {
            Ok(known) if !known.is_empty() => {
                let managers = s.app.users(&session.principal).await.unwrap_or_default();
                let mut form =
                    form_from_customer(Chrome::new(&session, "customers"), None, managers);
                form.action = "/customers/new".into();
                form.title = form.c.tr.t("action.new_customer");
                let mut form = redisplay(
                    form,
                    &f,
                    &input,
                    &aftercare_domain::Invalid::default(),
                    session.lang,
                );
                form.known = known;
                return render(form);
            }
            Ok(_) => {}
            Err(e) => return page_error(e, session.lang),
        }
    }
    match s.app.create_customer(&session.principal, &input).await {
        Ok(id) => Redirect::to(&format!("/customers/{id}?done=created")).into_response(),
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

pub(crate) async fn edit_customer_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<CustomerId>,
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

pub(crate) async fn edit_customer_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = customer_input(&f);
    let version = f.opt("version").and_then(|v| v.parse().ok());
    match s
        .app
        .update_customer(&session.principal, id, &input, version)
        .await
    {
        Ok(()) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
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

#[derive(Template)]
#[template(path = "customer.html")]
pub(crate) struct CustomerPage {
    c: Chrome,
    v: Customer360,
    warranties: Vec<WarrantyView>,
    next_href: Option<String>,
    value: Option<crate::pages::value::ValuePanel>,
    /// (field, since) when the customer is in the customer alliance.
    expert: Option<(Option<String>, String)>,
    curate: bool,
    /// The offers that apply to the customer now.
    offers: Vec<aftercare_app::campaign_model::ApplicableOffer>,
    offer_customer: i64,
    offer_request: Option<i64>,
    /// Contracts, vouchers and maintenance due.
    care: aftercare_app::care_model::CustomerCare,
    today: jiff::civil::Date,
}

impl CustomerPage {
    fn voucher_value(&self, v: &aftercare_app::care_model::Voucher) -> String {
        crate::pages::care::voucher_value(v)
    }
    fn voucher_state(&self, v: &aftercare_app::care_model::Voucher) -> String {
        crate::pages::care::voucher_state(&self.c.tr, v, self.today)
    }
    /// The code the customer can give friends.
    fn referral_code(&self) -> String {
        aftercare_domain::referral::referral_code(self.v.customer.id.get()).unwrap_or_default()
    }
    /// The last day a contract in force today covers the item, if one does.
    fn covered_until(&self, asset: &AssetId) -> Option<String> {
        self.care
            .contracts
            .iter()
            .filter(|k| k.asset_id == asset.get() && k.cancelled_at.is_none())
            .filter(|k| k.starts_on <= self.today && self.today <= k.ends_on)
            .map(|k| k.ends_on)
            .max()
            .map(|d| d.to_string())
    }
    fn contract_state(&self, k: &aftercare_app::care_model::ServiceContract) -> String {
        crate::pages::care::contract_state(&self.c.tr, k, self.today)
    }
    fn covers_text(&self, covers: &[aftercare_domain::request::ServiceType]) -> String {
        covers
            .iter()
            .map(|t| self.c.tr.k("stype", t.code()))
            .collect::<Vec<_>>()
            .join("、")
    }
    /// Whether the customer's tier is `t` (for the tier menu).
    fn tier_is(&self, t: &str) -> bool {
        self.v.customer.tier.is_some_and(|x| x.code() == t)
    }
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
    fn yuan(&self, v: &f64) -> String {
        crate::kit::page::yuan(*v)
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
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn said(&self, e: &aftercare_app::model::TimelineEntry) -> String {
        crate::timeline_text::summary(&self.c.tr, &e.kind, &e.summary, e.params.as_ref())
    }
    fn why(&self, w: &aftercare_domain::offer::Why) -> String {
        crate::pages::campaigns::why_text(&self.c.tr, w)
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct CursorQ {
    cursor: Option<String>,
}

pub(crate) async fn customer_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<CustomerId>,
    PageQuery(q): PageQuery<CursorQ>,
) -> Response {
    let page = match s
        .app
        .customer_page(&session.principal, id, q.cursor.as_deref())
        .await
    {
        Ok(page) => page,
        Err(e) => return page_error(e, session.lang),
    };
    let v = page.v;
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
    let value = page
        .value
        .map(|(view, model)| crate::pages::value::panel(session.lang, view, model.as_ref()));
    render(CustomerPage {
        c: Chrome::new(&session, "customers"),
        v,
        warranties,
        next_href,
        value,
        expert: page.expert,
        curate: session
            .principal
            .role
            .allows(aftercare_domain::account::Permission::Curate),
        offers: page.offers,
        offer_customer: id.get(),
        offer_request: None,
        care: page.care,
        today: s.app.clock.today(),
    })
}

pub(crate) async fn interaction_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = InteractionInput {
        touchpoint: f.s("touchpoint"),
        direction: f.opt("direction"),
        subject: f.s("subject"),
        body: f.opt("body"),
    };
    match s.app.add_interaction(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(AppError::Invalid(inv)) => {
            let lines = invalid_lines(&inv, &Tr(session.lang)).join(" ");
            message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &lines,
                &format!("/customers/{id}"),
                session.lang,
            )
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "duplicates.html")]
pub(crate) struct DuplicatesPage {
    c: Chrome,
    pairs: Vec<DuplicatePair>,
}

pub(crate) async fn duplicates_page(State(s): State<AppState>, session: Session) -> Response {
    match s.app.duplicates(&session.principal).await {
        Ok(pairs) => render(DuplicatesPage {
            c: Chrome::new(&session, "duplicates"),
            pairs,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

/// One side of a merge: the record and what hangs on it.
pub(crate) struct MergeSide {
    c: aftercare_app::model::Customer360,
    requests: usize,
}

#[derive(Template)]
#[template(path = "merge.html")]
pub(crate) struct MergePage {
    c: Chrome,
    keep: MergeSide,
    drop: MergeSide,
}

impl MergePage {
    /// The record kept, then the one merged into it.
    fn sides(&self) -> [(&MergeSide, bool); 2] {
        [(&self.keep, true), (&self.drop, false)]
    }
    fn phones(&self, s: &MergeSide) -> String {
        s.c.customer
            .phones
            .iter()
            .map(|p| p.display.as_str())
            .collect::<Vec<_>>()
            .join("、")
    }
    fn emails(&self, s: &MergeSide) -> String {
        s.c.customer
            .emails
            .iter()
            .map(|e| e.address.clone())
            .collect::<Vec<_>>()
            .join("、")
    }
    fn addresses(&self, s: &MergeSide) -> String {
        s.c.customer
            .addresses
            .iter()
            .map(|a| {
                [
                    a.province.as_deref(),
                    a.city.as_deref(),
                    a.district.as_deref(),
                ]
                .into_iter()
                .flatten()
                .chain([a.street.as_str()])
                .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("；")
    }
    fn created(&self, s: &MergeSide) -> String {
        s.c.customer.created_at.local()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct MergeQ {
    keep: Option<CustomerId>,
    drop: Option<CustomerId>,
}

/// Merging cannot be undone: both records side by side, with what each carries, and the
/// choice of which to keep, before anything is done.
pub(crate) async fn merge_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<MergeQ>,
) -> Response {
    let p = &session.principal;
    if !p.role.allows(aftercare_domain::account::Permission::Bulk) {
        return page_error(AppError::Forbidden, session.lang);
    }
    let (Some(keep), Some(drop)) = (q.keep, q.drop) else {
        return Redirect::to("/duplicates").into_response();
    };
    let side = |id: CustomerId| {
        let s = s.clone();
        let p = p.clone();
        async move {
            let c = s.app.customer_360(&p, id, None).await?;
            let requests = s
                .app
                .requests(
                    &p,
                    &aftercare_app::desk::RequestQuery {
                        queue: Some("any".into()),
                        customer_id: Some(id),
                        limit: Some(200),
                        ..Default::default()
                    },
                )
                .await?
                .items
                .len();
            Ok::<_, AppError>(MergeSide { c, requests })
        }
    };
    match tokio::try_join!(side(keep), side(drop)) {
        Ok((keep, drop)) => render(MergePage {
            c: Chrome::new(&session, "duplicates"),
            keep,
            drop,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn merge_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let keep: CustomerId = f.s("keep").parse().unwrap_or_default();
    let drop: CustomerId = f.s("drop").parse().unwrap_or_default();
    // Only the confirmation page's form merges; anything else is shown both records first.
    if f.opt("confirm").is_none() {
        return Redirect::to(&format!("/duplicates/merge?keep={keep}&drop={drop}")).into_response();
    }
    match s.app.merge(&session.principal, keep, drop).await {
        Ok(()) => Redirect::to(&format!("/customers/{keep}?done=merged")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn dismiss_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let a: CustomerId = f.s("a").parse().unwrap_or_default();
    let b: CustomerId = f.s("b").parse().unwrap_or_default();
    match s.app.dismiss_duplicate(&session.principal, a, b).await {
        Ok(()) => Redirect::to("/duplicates").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// The customer's personal information as a JSON file (PIPL), for an administrator to hand
/// to the customer. Logged in the audit log.
pub(crate) async fn personal_data_download(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<CustomerId>,
) -> Response {
    let input = aftercare_app::privacy::PrivacyRequestInput::default();
    match s
        .app
        .export_personal_data(&session.principal, id, &input)
        .await
    {
        Ok(doc) => {
            let body = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            (
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "application/json; charset=utf-8".to_owned(),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"customer-{id}-personal-data.json\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// What an erasure removes and what it keeps, as translation keys, for the confirmation.
pub(crate) const REMOVED: &[&str] = &[
    "privacy.removed.profile",
    "privacy.removed.contacts",
    "privacy.removed.text",
    "privacy.removed.files",
    "privacy.removed.portal",
    "privacy.removed.logs",
];
pub(crate) const KEPT: &[&str] = &[
    "privacy.kept.orders",
    "privacy.kept.requests",
    "privacy.kept.scores",
    "privacy.kept.audit",
];

#[derive(Template)]
#[template(path = "customer_erase.html")]
pub(crate) struct ErasePage {
    c: Chrome,
    cu: Customer,
    note: String,
    errors: HashMap<String, String>,
}

async fn erase_form(
    s: &AppState,
    session: &Session,
    id: CustomerId,
    note: String,
    errors: HashMap<String, String>,
) -> Result<ErasePage, Response> {
    // Only administrators get the form: nobody else could send it.
    if !session
        .principal
        .role
        .allows(aftercare_domain::account::Permission::Admin)
    {
        return Err(page_error(AppError::Forbidden, session.lang));
    }
    let cu = s
        .app
        .customer(&session.principal, id)
        .await
        .map_err(|e| page_error(e, session.lang))?;
    Ok(ErasePage {
        c: Chrome::new(session, "customers"),
        cu,
        note,
        errors,
    })
}

pub(crate) async fn erase_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<CustomerId>,
) -> Response {
    match erase_form(&s, &session, id, String::new(), HashMap::new()).await {
        Ok(page) => render(page),
        Err(r) => r,
    }
}

pub(crate) async fn erase_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let note = f.s("note");
    let tr = Tr(session.lang);
    let mut errors = HashMap::new();
    if f.get("confirm") != Some("yes") {
        errors.insert("confirm".to_owned(), tr.t("privacy.confirm_required"));
    } else {
        let input = aftercare_app::privacy::PrivacyRequestInput {
            note: Some(note.clone()),
        };
        match s.app.erase_customer(&session.principal, id, &input).await {
            Ok(_) => return Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
            Err(AppError::Invalid(inv)) => {
                for e in inv.0 {
                    errors.insert(e.field, field_message(session.lang, e.code));
                }
            }
            Err(e) => return page_error(e, session.lang),
        }
    }
    match erase_form(&s, &session, id, note, errors).await {
        Ok(page) => (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response(),
        Err(r) => r,
    }
}
