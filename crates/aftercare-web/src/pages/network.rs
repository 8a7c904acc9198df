//! The service network's pages: outlets (list, set-up, coverage, retiring, who works
//! there) and certificates (who holds what, what runs out, which product lines need one).

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::*;
use crate::pages::campaigns::{lines, number};
use aftercare_app::AppError;
use aftercare_app::desk::StaffProfileInput;
use aftercare_app::desk_model::StaffProfile;
use aftercare_app::model::{Category, Outlet};
use aftercare_app::network_model::*;
use aftercare_domain::request::ServiceType;
use aftercare_domain::{CategoryId, OutletId, UserId};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outlets", get(outlets_page).post(create_submit))
        .route("/outlets/{id}", get(outlet_page).post(update_submit))
        .route("/outlets/{id}/active", post(active_submit))
        .route("/outlets/{id}/staff", post(staff_submit))
        .route(
            "/certificates",
            get(certificates_page).post(certificate_submit),
        )
        .route("/certificates/{id}/revoke", post(revoke_submit))
        .route("/certificates/lines", post(lines_submit))
        .route("/standards", get(standards_page))
        .route("/standards/{service_type}", post(standard_submit))
}

/// The outlet form as typed.
#[derive(Default, Clone)]
struct OutletDraft {
    name: String,
    kind: String,
    city: String,
    address: String,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    regions: String,
    categories: Vec<String>,
    calendar_id: String,
    capacity: String,
    response_minutes: String,
    resolution_minutes: String,
    version: String,
}

impl OutletDraft {
    fn of(o: &Outlet) -> Self {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        OutletDraft {
            name: o.name.clone(),
            kind: o.kind.clone(),
            city: opt(&o.city),
            address: opt(&o.address),
            contact_name: opt(&o.contact_name),
            contact_phone: opt(&o.contact_phone),
            contact_email: opt(&o.contact_email),
            regions: o.regions.join("、"),
            categories: o.categories.iter().map(|c| c.get().to_string()).collect(),
            calendar_id: num(o.calendar_id),
            capacity: num(o.capacity),
            response_minutes: num(o.response_minutes),
            resolution_minutes: num(o.resolution_minutes),
            version: o.version.to_string(),
        }
    }

    fn read(f: &FormData) -> Self {
        OutletDraft {
            name: f.s("name"),
            kind: f.s("kind"),
            city: f.s("city"),
            address: f.s("address"),
            contact_name: f.s("contact_name"),
            contact_phone: f.s("contact_phone"),
            contact_email: f.s("contact_email"),
            regions: f.s("regions"),
            categories: f.all("categories"),
            calendar_id: f.s("calendar_id"),
            capacity: f.s("capacity"),
            response_minutes: f.s("response_minutes"),
            resolution_minutes: f.s("resolution_minutes"),
            version: f.s("version"),
        }
    }

    /// The input the app checks; a number that is not one is a field error here.
    fn input(&self) -> Result<OutletInput, AppError> {
        let mut inv = aftercare_domain::Invalid::default();
        let mut n = |field: &'static str, s: &str| -> Option<i64> {
            number(s).unwrap_or_else(|_| {
                inv.push(field, "not_a_number");
                None
            })
        };
        let calendar_id = n("calendar_id", &self.calendar_id);
        let capacity = n("capacity", &self.capacity);
        let response_minutes = n("response_minutes", &self.response_minutes);
        let resolution_minutes = n("resolution_minutes", &self.resolution_minutes);
        let version = n("version", &self.version);
        let categories = self
            .categories
            .iter()
            .filter_map(|c| c.trim().parse().ok().map(CategoryId))
            .collect();
        inv.into_result()?;
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        Ok(OutletInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            city: opt(&self.city),
            address: opt(&self.address),
            contact_name: opt(&self.contact_name),
            contact_phone: opt(&self.contact_phone),
            contact_email: opt(&self.contact_email),
            regions: split_places(&self.regions),
            categories,
            calendar_id,
            capacity,
            response_minutes,
            resolution_minutes,
            version,
        })
    }
}

/// Cities typed in one field, separated by commas, 、, semicolons or spaces.
fn split_places(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// What the outlet pages share: the catalogue's lines and the calendars to pick from.
struct Choices {
    categories: Vec<Category>,
    calendars: Vec<(i64, String)>,
}

async fn choices(s: &AppState, session: &Session) -> Result<Choices, AppError> {
    let p = &session.principal;
    Ok(Choices {
        categories: s.app.categories(p).await?,
        calendars: s
            .app
            .calendars(p)
            .await?
            .into_iter()
            .map(|c| (c.id, Tr(session.lang).setup_name(&c.body.name)))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "outlets.html")]
struct OutletsPage {
    c: Chrome,
    outlets: Vec<Outlet>,
    loads: Vec<OutletLoad>,
    choices: Choices,
    draft: OutletDraft,
    errors: Vec<String>,
}

impl OutletsPage {
    fn load(&self, id: &OutletId) -> (i64, i64) {
        self.loads
            .iter()
            .find(|l| l.outlet_id == *id)
            .map_or((0, 0), |l| (l.active, l.staff))
    }
    fn lines_text(&self, o: &Outlet) -> String {
        lines_text(&self.c.tr, &self.choices.categories, &o.categories)
    }
    fn sla_text(&self, o: &Outlet) -> String {
        sla_text(&self.c.tr, o)
    }
    fn line_checked(&self, id: &CategoryId) -> bool {
        self.draft.categories.contains(&id.get().to_string())
    }
}

fn lines_text(tr: &Tr, categories: &[Category], ids: &[CategoryId]) -> String {
    if ids.is_empty() {
        return tr.t("outlet.every_line");
    }
    ids.iter()
        .map(|id| {
            categories
                .iter()
                .find(|c| c.id == *id)
                .map_or_else(|| format!("#{id}"), |c| c.name.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn sla_text(tr: &Tr, o: &Outlet) -> String {
    let part =
        |key: &str, m: Option<i64>| m.map(|m| format!("{} {}", tr.t(key), minutes_text(tr, m)));
    let parts: Vec<String> = [
        part("outlet.response", o.response_minutes),
        part("outlet.resolution", o.resolution_minutes),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        tr.t("outlet.sla_policy")
    } else {
        parts.join(" · ")
    }
}

/// Working minutes as people say them: 90 → 1 h 30 min.
fn minutes_text(tr: &Tr, m: i64) -> String {
    let (h, min) = (m / 60, m % 60);
    match (h, min) {
        (0, m) => tr.t("duration.n_minutes").replace("{n}", &m.to_string()),
        (h, 0) => tr.t("duration.n_hours").replace("{n}", &h.to_string()),
        (h, m) => format!(
            "{} {}",
            tr.t("duration.n_hours").replace("{n}", &h.to_string()),
            tr.t("duration.n_minutes").replace("{n}", &m.to_string())
        ),
    }
}

async fn outlets_view(
    s: &AppState,
    session: &Session,
    draft: OutletDraft,
    errors: Vec<String>,
) -> Result<OutletsPage, AppError> {
    let p = &session.principal;
    Ok(OutletsPage {
        c: Chrome::for_session(session, "outlets"),
        outlets: s.app.outlets(p).await?,
        loads: s.app.outlet_loads(p).await?,
        choices: choices(s, session).await?,
        draft,
        errors,
    })
}

async fn outlets_page(State(s): State<AppState>, session: Session) -> Response {
    let draft = OutletDraft {
        kind: "partner".into(),
        ..OutletDraft::default()
    };
    match outlets_view(&s, &session, draft, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn create_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let draft = OutletDraft::read(&f);
    let result = match draft.input() {
        Ok(i) => s.app.save_outlet(&session.principal, None, &i).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => Redirect::to(&format!("/outlets/{id}?done=created")).into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match outlets_view(&s, &session, draft, errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "outlet.html")]
struct OutletPage {
    c: Chrome,
    outlet: Outlet,
    active_requests: i64,
    choices: Choices,
    draft: OutletDraft,
    errors: Vec<String>,
    /// The people working here, with their certificates in force.
    staff: Vec<(StaffProfile, Vec<Certificate>)>,
    /// Staff who could be added (working nowhere else or elsewhere).
    others: Vec<StaffProfile>,
}

impl OutletPage {
    fn lines_text(&self) -> String {
        lines_text(
            &self.c.tr,
            &self.choices.categories,
            &self.outlet.categories,
        )
    }
    fn sla_text(&self) -> String {
        sla_text(&self.c.tr, &self.outlet)
    }
    fn line_checked(&self, id: &CategoryId) -> bool {
        self.draft.categories.contains(&id.get().to_string())
    }
    fn certificate_text(&self, k: &Certificate) -> String {
        certificate_text(&self.c.tr, k)
    }
}

fn certificate_text(tr: &Tr, k: &Certificate) -> String {
    let line = k
        .category_name
        .clone()
        .unwrap_or_else(|| tr.t("outlet.every_line"));
    format!(
        "{} ({line}) · {} {}",
        k.name,
        tr.t("cert.valid_until"),
        k.valid_until
    )
}

async fn outlet_view(
    s: &AppState,
    session: &Session,
    id: OutletId,
    draft: Option<OutletDraft>,
    errors: Vec<String>,
) -> Result<OutletPage, AppError> {
    let p = &session.principal;
    let outlet = s.app.outlet(p, id).await?;
    // Staff lists and certificates are for those who set up the desk.
    let (staff, others) = if p
        .role
        .allows(aftercare_domain::account::Permission::ManageDesk)
    {
        let all = s.app.staff_profiles(p).await?;
        let certs = s.app.certificates(p, None, false).await?;
        let (here, others): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|x| x.outlet_id == Some(id));
        let here = here
            .into_iter()
            .map(|x| {
                let mine = certs
                    .iter()
                    .filter(|k| k.user_id == x.user_id && k.state != "expired")
                    .cloned()
                    .collect();
                (x, mine)
            })
            .collect();
        (here, others.into_iter().filter(|x| x.active).collect())
    } else {
        (vec![], vec![])
    };
    let active_requests = s
        .app
        .outlet_loads(p)
        .await?
        .into_iter()
        .find(|l| l.outlet_id == id)
        .map_or(0, |l| l.active);
    Ok(OutletPage {
        c: Chrome::for_session(session, "outlets"),
        draft: draft.unwrap_or_else(|| OutletDraft::of(&outlet)),
        outlet,
        active_requests,
        choices: choices(s, session).await?,
        errors,
        staff,
        others,
    })
}

async fn outlet_page(State(s): State<AppState>, Path(id): Path<i64>, session: Session) -> Response {
    match outlet_view(&s, &session, OutletId(id), None, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn update_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let draft = OutletDraft::read(&f);
    let result = match draft.input() {
        Ok(i) => {
            s.app
                .save_outlet(&session.principal, Some(OutletId(id)), &i)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/outlets/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match outlet_view(&s, &session, OutletId(id), Some(draft), errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

async fn active_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let active = f.s("active") == "1";
    match s
        .app
        .set_outlet_active(&session.principal, OutletId(id), active)
        .await
    {
        Ok(()) => Redirect::to(&format!("/outlets/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// Moves someone to this outlet (`user_id`, `add`) or takes them off it, keeping the rest
/// of their profile.
async fn staff_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let p = &session.principal;
    let Ok(user) = f.s("user_id").trim().parse::<i64>() else {
        let errors = vec![format!(
            "{}: {}",
            Tr(session.lang).t("outlet.person"),
            crate::i18n::field_message(session.lang, "required")
        )];
        return match outlet_view(&s, &session, OutletId(id), None, errors).await {
            Ok(p) => render(p),
            Err(e) => page_error(e, session.lang),
        };
    };
    let profiles = match s.app.staff_profiles(p).await {
        Ok(x) => x,
        Err(e) => return page_error(e, session.lang),
    };
    let Some(profile) = profiles.into_iter().find(|x| x.user_id == UserId(user)) else {
        return page_error(AppError::NotFound("user"), session.lang);
    };
    let input = StaffProfileInput {
        outlet_id: (f.s("add") == "1").then_some(OutletId(id)),
        skills: profile
            .skills
            .iter()
            .map(|t| t.code().to_string())
            .collect(),
        regions: profile.regions.clone(),
        capacity: profile.capacity,
        auto_assign: profile.auto_assign,
    };
    match s.app.set_staff_profile(p, UserId(user), &input).await {
        Ok(()) => Redirect::to(&format!("/outlets/{id}?done=saved#staff")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match outlet_view(&s, &session, OutletId(id), None, errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

// ---- certificates ------------------------------------------------------------------

#[derive(Default)]
struct CertificateDraft {
    user_id: String,
    name: String,
    category_id: String,
    skills: Vec<String>,
    issued_on: String,
    valid_until: String,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesPage {
    c: Chrome,
    certificates: Vec<Certificate>,
    /// Whether the list is narrowed to those expiring or expired.
    expiring: bool,
    people: Vec<(i64, String)>,
    categories: Vec<Category>,
    draft: CertificateDraft,
    errors: Vec<String>,
}

impl CertificatesPage {
    fn types(&self) -> Vec<&'static str> {
        ServiceType::ALL.iter().map(|t| t.code()).collect()
    }
    fn skills_text(&self, k: &Certificate) -> String {
        if k.skills.is_empty() {
            return self.c.tr.t("cert.every_skill");
        }
        k.skills
            .iter()
            .map(|t| self.c.tr.k("stype", t.code()))
            .collect::<Vec<_>>()
            .join("、")
    }
    fn checked(&self, t: &str) -> bool {
        self.draft.skills.iter().any(|x| x == t)
    }
    fn state_class(&self, k: &Certificate) -> &'static str {
        match k.state.as_str() {
            "valid" => "met",
            "expiring" => "pending",
            _ => "void",
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct CertificatesQuery {
    #[serde(default)]
    expiring: Option<String>,
}

async fn certificates_view(
    s: &AppState,
    session: &Session,
    expiring: bool,
    draft: CertificateDraft,
    errors: Vec<String>,
) -> Result<CertificatesPage, AppError> {
    let p = &session.principal;
    let manage = p
        .role
        .allows(aftercare_domain::account::Permission::ManageDesk);
    let mut certificates = s.app.certificates(p, None, manage).await?;
    if expiring {
        certificates.retain(|k| matches!(k.state.as_str(), "expiring" | "expired"));
    }
    let people = if manage {
        s.app
            .staff_profiles(p)
            .await?
            .into_iter()
            .filter(|x| x.active)
            .map(|x| (x.user_id.get(), x.name))
            .collect()
    } else {
        vec![]
    };
    Ok(CertificatesPage {
        c: Chrome::for_session(session, "certificates"),
        certificates,
        expiring,
        people,
        categories: s.app.categories(p).await?,
        draft,
        errors,
    })
}

async fn certificates_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<CertificatesQuery>,
) -> Response {
    let expiring = q.expiring.is_some_and(|v| v == "1");
    let today = s.app.clock.today();
    let draft = CertificateDraft {
        issued_on: today.to_string(),
        valid_until: today
            .checked_add(jiff::Span::new().years(2))
            .unwrap_or(today)
            .to_string(),
        ..CertificateDraft::default()
    };
    match certificates_view(&s, &session, expiring, draft, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn certificate_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let draft = CertificateDraft {
        user_id: f.s("user_id"),
        name: f.s("name"),
        category_id: f.s("category_id"),
        skills: f.all("skills"),
        issued_on: f.s("issued_on"),
        valid_until: f.s("valid_until"),
    };
    let result = match draft.user_id.trim().parse::<i64>() {
        Ok(user) => {
            let input = CertificateInput {
                user_id: UserId(user),
                name: draft.name.clone(),
                category_id: draft.category_id.trim().parse().ok().map(CategoryId),
                skills: draft.skills.clone(),
                issued_on: draft.issued_on.clone(),
                valid_until: draft.valid_until.clone(),
            };
            s.app.add_certificate(&session.principal, &input).await
        }
        Err(_) => Err(aftercare_domain::Invalid::one("user_id", "required").into()),
    };
    match result {
        Ok(_) => Redirect::to("/certificates?done=created").into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match certificates_view(&s, &session, false, draft, errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

async fn revoke_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, _f): CsrfForm,
) -> Response {
    match s.app.revoke_certificate(&session.principal, id).await {
        Ok(()) => Redirect::to("/certificates?done=saved").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// Sets which product lines need certification: the boxes ticked do, the rest do not.
async fn lines_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let p = &session.principal;
    let ticked = f.all("required");
    let categories = match s.app.categories(p).await {
        Ok(c) => c,
        Err(e) => return page_error(e, session.lang),
    };
    let changes: Vec<(CategoryId, bool)> = categories
        .iter()
        .map(|c| (c.id, ticked.contains(&c.id.get().to_string())))
        .filter(|(id, want)| {
            categories
                .iter()
                .any(|c| c.id == *id && c.certification_required != *want)
        })
        .collect();
    match s.app.set_certification_lines(p, &changes).await {
        Ok(()) => Redirect::to("/certificates?done=saved#lines").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

// ---- service standards -------------------------------------------------------------

#[derive(Template)]
#[template(path = "standards.html")]
struct StandardsPage {
    c: Chrome,
    /// Every service type with its checklist, one item a line.
    types: Vec<(&'static str, String)>,
    errors: Vec<String>,
}

async fn standards_view(
    s: &AppState,
    session: &Session,
    typed: Option<(String, String)>,
    errors: Vec<String>,
) -> Result<StandardsPage, AppError> {
    let all = s.app.standards(&session.principal).await?;
    let types = ServiceType::ALL
        .iter()
        .map(|t| {
            let text = match &typed {
                Some((k, text)) if k == t.code() => text.clone(),
                _ => all
                    .iter()
                    .find(|(k, _)| k == t)
                    .map(|(_, items)| items.join("\n"))
                    .unwrap_or_default(),
            };
            (t.code(), text)
        })
        .collect();
    Ok(StandardsPage {
        c: Chrome::for_session(session, "standards"),
        types,
        errors,
    })
}

async fn standards_page(State(s): State<AppState>, session: Session) -> Response {
    match standards_view(&s, &session, None, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn standard_submit(
    State(s): State<AppState>,
    Path(service_type): Path<String>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let text = f.s("items");
    let items: Vec<String> = text.lines().map(str::to_string).collect();
    match s
        .app
        .set_standard(&session.principal, &service_type, &items)
        .await
    {
        Ok(()) => Redirect::to(&format!("/standards?done=saved#{service_type}")).into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => {
            let tr = Tr(session.lang);
            // "第 3 行: 重复" for the line of the text box that is wrong.
            let errors = match e {
                AppError::Invalid(inv) => inv
                    .0
                    .iter()
                    .map(|x| {
                        let line = x
                            .field
                            .strip_prefix("items[")
                            .and_then(|r| r.strip_suffix(']'))
                            .and_then(|n| n.parse::<usize>().ok())
                            .map(|n| tr.t("standard.line").replace("{n}", &(n + 1).to_string()))
                            .unwrap_or_else(|| crate::kit::page::field_label(&tr, &x.field));
                        format!(
                            "{} · {line}: {}",
                            tr.k("stype", &service_type),
                            crate::i18n::field_message(tr.0, x.code)
                        )
                    })
                    .collect(),
                e => lines(e, &tr),
            };
            match standards_view(&s, &session, Some((service_type, text)), errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}
