//! The service network's use cases: setting up outlets (own and partner) with what they
//! cover, staff certificates and the product lines that need them, and what routing asks
//! of both: the outlet covering a request, and who is certified to take it.

use crate::error::AppError;
use crate::model::Outlet;
use crate::network_model::*;
use crate::ports::*;
use crate::service::{App, ImportReport, Principal};
use aftercare_domain::account::{Permission, Role};
use aftercare_domain::contact::{Email, PhoneNumber};
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::request::ServiceType;
use aftercare_domain::routing::{self, Coverage, Requirement};
use aftercare_domain::{AssetId, CategoryId, Invalid, OutletId, UserId};
use jiff::civil::Date;
use std::collections::HashMap;

/// A certificate running out within this many days is shown as expiring, and its holder
/// and the managers are told once.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// The most cities or categories one outlet covers.
const MAX_COVERAGE: usize = 500;

/// What a request's product line asks of whoever takes it, with the certificates in force
/// that may answer it.
#[derive(Debug, Clone)]
pub(crate) struct Certification {
    pub(crate) requirement: Requirement,
    pub(crate) held: HashMap<UserId, Vec<routing::Certificate>>,
}

impl Certification {
    /// Whether someone may take a request of this type.
    pub(crate) fn allows(&self, user: UserId, service_type: ServiceType) -> bool {
        routing::qualified(
            self.held.get(&user).map_or(&[][..], Vec::as_slice),
            service_type,
            Some(&self.requirement),
        )
    }
}

/// A certificate's state on a day.
pub fn certificate_state(c: &Certificate, today: Date) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if c.valid_until < today {
        "expired"
    } else if c.valid_until <= warning_horizon(today) {
        "expiring"
    } else {
        "valid"
    }
}

/// The last day a certificate may run out on and still be warned of today.
fn warning_horizon(today: Date) -> Date {
    today
        .checked_add(jiff::Span::new().days(EXPIRY_WARNING_DAYS))
        .unwrap_or(today)
}

fn list_text(field: &str, items: &[String], max_len: usize, inv: &mut Invalid) -> Vec<String> {
    if items.len() > MAX_COVERAGE {
        inv.push(field, "too_many");
        return vec![];
    }
    let mut out: Vec<String> = Vec::new();
    for (n, r) in items.iter().enumerate() {
        match optional_text(Some(r), max_len) {
            Ok(Some(t)) => {
                if !out.contains(&t) {
                    out.push(t)
                }
            }
            Ok(None) => {}
            Err(code) => inv.push(format!("{field}[{n}]"), code),
        }
    }
    if out.len() > MAX_COVERAGE {
        inv.push(field, "too_many");
    }
    out
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts,
{
    /// One outlet, retired or not.
    pub async fn outlet(&self, p: &Principal, id: OutletId) -> Result<Outlet, AppError> {
        p.require(Permission::Read)?;
        self.store
            .outlets()
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .ok_or(AppError::NotFound("outlet"))
    }

    /// Checks an outlet's input against the catalogue and the calendars.
    pub async fn check_outlet(&self, i: &OutletInput) -> Result<Outlet, AppError> {
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&i.name, 100));
        let kind = i.kind.trim();
        if !matches!(kind, "own" | "partner") {
            inv.push("kind", "outlet_kind_unknown");
        }
        let city = inv
            .check("city", optional_text(i.city.as_deref(), 50))
            .flatten();
        let address = inv
            .check("address", optional_text(i.address.as_deref(), 200))
            .flatten();
        let contact_name = inv
            .check("contact_name", optional_text(i.contact_name.as_deref(), 50))
            .flatten();
        let contact_phone = match i.contact_phone.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => inv
                .check("contact_phone", PhoneNumber::parse(s))
                .map(|p| p.as_str().to_string()),
            _ => None,
        };
        let contact_email = match i.contact_email.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => inv
                .check("contact_email", Email::parse(s))
                .map(|e| e.as_str().to_string()),
            _ => None,
        };
        let regions = list_text("regions", &i.regions, 50, &mut inv);
        let known = self.store.categories().await?;
        let mut categories: Vec<CategoryId> = Vec::new();
        if i.categories.len() > MAX_COVERAGE {
            inv.push("categories", "too_many");
        }
        for (n, c) in i.categories.iter().take(MAX_COVERAGE).enumerate() {
            if !known.iter().any(|k| k.id == *c) {
                inv.push(format!("categories[{n}]"), "reference_not_found");
            } else if !categories.contains(c) {
                categories.push(*c);
            }
        }
        if categories.len() > MAX_COVERAGE {
            inv.push("categories", "too_many");
        }
        if let Some(c) = i.calendar_id
            && !self
                .store
                .desk_config()
                .await?
                .calendars
                .iter()
                .any(|k| k.id == c)
        {
            inv.push("calendar_id", "reference_not_found");
        }
        if i.capacity.is_some_and(|c| !(1..=1_000_000).contains(&c)) {
            inv.push("capacity", "out_of_range");
        }
        // Up to a year of working minutes.
        let minutes = 1..=525_600;
        if i.response_minutes.is_some_and(|m| !minutes.contains(&m)) {
            inv.push("response_minutes", "out_of_range");
        }
        if i.resolution_minutes.is_some_and(|m| !minutes.contains(&m)) {
            inv.push("resolution_minutes", "out_of_range");
        }
        if let (Some(r), Some(s)) = (i.response_minutes, i.resolution_minutes)
            && s < r
        {
            inv.push("resolution_minutes", "resolution_before_response");
        }
        inv.into_result()?;
        Ok(Outlet {
            id: OutletId(0),
            name: name.unwrap_or_default(),
            kind: kind.to_string(),
            city,
            address,
            contact_name,
            contact_phone,
            contact_email,
            regions,
            categories,
            calendar_id: i.calendar_id,
            capacity: i.capacity,
            response_minutes: i.response_minutes,
            resolution_minutes: i.resolution_minutes,
            active: true,
            version: i.version.unwrap_or(1),
        })
    }

    /// Creates an outlet (`id` none) or changes one, at the version read.
    pub async fn save_outlet(
        &self,
        p: &Principal,
        id: Option<OutletId>,
        i: &OutletInput,
    ) -> Result<OutletId, AppError> {
        p.require(Permission::ManageDesk)?;
        if id.is_some() && i.version.is_none() {
            return Err(Invalid::one("version", "required").into());
        }
        let mut o = self.check_outlet(i).await?;
        if let Some(id) = id {
            o.id = id;
        }
        let existing = self.store.outlets().await?;
        if let Some(id) = id
            && !existing.iter().any(|x| x.id == id)
        {
            return Err(AppError::NotFound("outlet"));
        }
        if existing.iter().any(|x| x.name == o.name && x.id != o.id) {
            return Err(Invalid::one("name", "outlet_name_taken").into());
        }
        self.store
            .save_outlet(&p.actor(), &o, self.now())
            .await
            .map_err(AppError::from_store("outlet"))
    }

    /// Imports outlets (or checks them, `dry_run`): every row is checked like a form, a
    /// name used twice or already taken is refused, and all are created together or none.
    pub async fn import_outlets(
        &self,
        p: &Principal,
        inputs: &[Result<OutletInput, Invalid>],
        rows: &[usize],
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        p.require(Permission::ManageDesk)?;
        let mut report = ImportReport::new(dry_run, inputs.len());
        let existing = self.store.outlets().await?;
        let mut drafts: Vec<Outlet> = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let checked = match input {
                Ok(x) => match self.check_outlet(x).await {
                    Ok(o) => Ok(o),
                    Err(AppError::Invalid(inv)) => Err(inv),
                    Err(e) => return Err(e),
                },
                Err(inv) => Err(inv.clone()),
            };
            match checked {
                Ok(o) => {
                    if drafts.iter().any(|d| d.name == o.name) {
                        report.add(rows[i], Invalid::one("name", "duplicate"));
                    } else if existing.iter().any(|x| x.name == o.name) {
                        report.add(rows[i], Invalid::one("name", "outlet_name_taken"));
                    } else {
                        report.plan(rows[i], format!("{} · {}", o.name, o.regions.join("、")));
                    }
                    drafts.push(o);
                }
                Err(inv) => report.add(rows[i], inv),
            }
        }
        if report.errors.is_empty() && !dry_run {
            report.created = self
                .store
                .create_outlets(&p.actor(), &drafts, self.now())
                .await?
                .len();
        }
        Ok(report)
    }

    /// Retires an outlet (it takes no new work) or brings it back.
    pub async fn set_outlet_active(
        &self,
        p: &Principal,
        id: OutletId,
        active: bool,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        self.store
            .set_outlet_active(&p.actor(), id, active, self.now())
            .await
            .map_err(AppError::from_store("outlet"))
    }

    /// Active requests and staff per outlet.
    pub async fn outlet_loads(&self, p: &Principal) -> Result<Vec<OutletLoad>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.outlet_loads().await?)
    }

    /// Marks a product line as needing certification, or not.
    pub async fn set_certification_required(
        &self,
        p: &Principal,
        category: CategoryId,
        required: bool,
    ) -> Result<(), AppError> {
        self.set_certification_lines(p, &[(category, required)])
            .await
    }

    /// Says for several product lines at once whether they need certification: all
    /// changed together, or none.
    pub async fn set_certification_lines(
        &self,
        p: &Principal,
        changes: &[(CategoryId, bool)],
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        if changes.is_empty() {
            return Ok(());
        }
        self.store
            .set_certification_required(&p.actor(), changes, self.now())
            .await
            .map_err(AppError::from_store("category"))
    }

    /// Every service type's checklist.
    pub async fn standards(
        &self,
        p: &Principal,
    ) -> Result<Vec<(ServiceType, Vec<String>)>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.standards().await?)
    }

    /// The checklist a service type's visits are held to (empty: none).
    pub(crate) async fn standard_of(&self, t: ServiceType) -> Result<Vec<String>, AppError> {
        Ok(self
            .store
            .standards()
            .await?
            .into_iter()
            .find(|(k, _)| *k == t)
            .map(|(_, items)| items)
            .unwrap_or_default())
    }

    /// Sets a service type's checklist (no items: the type has none).
    pub async fn set_standard(
        &self,
        p: &Principal,
        service_type: &str,
        items: &[String],
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = Invalid::default();
        let t = inv.check("service_type", ServiceType::parse(service_type.trim()));
        let items = match aftercare_domain::standards::check_items(items) {
            Ok(items) => items,
            Err(e) => {
                inv.0.extend(e.0);
                vec![]
            }
        };
        inv.into_result()?;
        let Some(t) = t else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        Ok(self
            .store
            .save_standard(&p.actor(), t, &items, self.now())
            .await?)
    }

    /// Certificates with their state today: everyone's for those who set up the desk, a
    /// person's own otherwise.
    pub async fn certificates(
        &self,
        p: &Principal,
        user: Option<UserId>,
        with_revoked: bool,
    ) -> Result<Vec<Certificate>, AppError> {
        p.require(Permission::Read)?;
        let user = if p.role.allows(Permission::ManageDesk) {
            user
        } else {
            Some(p.user.id)
        };
        let today = self.clock.today();
        let mut list = self.store.certificates(user, with_revoked).await?;
        for c in &mut list {
            c.state = certificate_state(c, today).to_string();
        }
        Ok(list)
    }

    pub async fn add_certificate(
        &self,
        p: &Principal,
        i: &CertificateInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = Invalid::default();
        if self.store.user(i.user_id).await?.is_none() {
            inv.push("user_id", "reference_not_found");
        }
        let name = inv.check("name", required_text(&i.name, 100));
        if let Some(c) = i.category_id
            && !self.store.categories().await?.iter().any(|k| k.id == c)
        {
            inv.push("category_id", "reference_not_found");
        }
        let mut skills = Vec::new();
        for (n, s) in i.skills.iter().enumerate() {
            if let Some(t) = inv.check(format!("skills[{n}]"), ServiceType::parse(s.trim()))
                && !skills.contains(&t)
            {
                skills.push(t);
            }
        }
        let day = |s: &str| -> Result<Date, &'static str> {
            let s = s.trim();
            if s.is_empty() {
                return Err("required");
            }
            s.parse().map_err(|_| "date_invalid")
        };
        let issued = inv.check("issued_on", day(&i.issued_on));
        let until = inv.check("valid_until", day(&i.valid_until));
        if issued.is_some_and(|d| d > self.clock.today()) {
            inv.push("issued_on", "date_in_future");
        }
        if let (Some(a), Some(b)) = (issued, until)
            && b < a
        {
            inv.push("valid_until", "valid_until_before_issued");
        }
        inv.into_result()?;
        let (Some(name), Some(issued_on), Some(valid_until)) = (name, issued, until) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let d = CertificateDraft {
            user_id: i.user_id,
            name,
            category_id: i.category_id,
            skills,
            issued_on,
            valid_until,
        };
        Ok(self
            .store
            .add_certificate(&p.actor(), &d, self.now())
            .await?)
    }

    pub async fn revoke_certificate(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        self.store
            .revoke_certificate(&p.actor(), id, self.now())
            .await
            .map_err(AppError::from_store("certificate"))
    }

    /// Tells the holders of certificates running out within the warning period, and the
    /// managers, once each. Returns how many certificates were warned of.
    pub async fn warn_expiring_certificates(&self) -> Result<usize, AppError> {
        let today = self.clock.today();
        let due = self
            .store
            .certificates_to_warn(today, warning_horizon(today), 500)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let managers: Vec<UserId> = self
            .store
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active && matches!(u.role, Role::Manager | Role::Admin))
            .map(|u| u.id)
            .collect();
        Ok(self
            .store
            .warn_certificates(&due, &managers, self.now())
            .await?)
    }

    // ---- what routing asks of the network -------------------------------------------

    /// A product's line: its category and every category above it (none without a
    /// product), with whether any of them needs certification.
    pub(crate) async fn product_line(
        &self,
        product: Option<aftercare_domain::ProductId>,
    ) -> Result<(Vec<i64>, bool), AppError> {
        let Some(product) = product else {
            return Ok((vec![], false));
        };
        let Some(product) = self.store.product(product).await? else {
            return Ok((vec![], false));
        };
        let categories = self.store.categories().await?;
        Ok(line_of(Some(&product), &categories))
    }

    /// What certification a request for this product line needs, with the certificates
    /// that may answer it; none when the line needs none.
    pub(crate) async fn certification(
        &self,
        lines: &[i64],
        required: bool,
        on: Date,
    ) -> Result<Option<Certification>, AppError> {
        if !required {
            return Ok(None);
        }
        let mut held: HashMap<UserId, Vec<routing::Certificate>> = HashMap::new();
        for (u, c) in self.store.certificates_in_force(on).await? {
            held.entry(u).or_default().push(c);
        }
        Ok(Some(Certification {
            requirement: Requirement {
                lines: lines.to_vec(),
                on,
            },
            held,
        }))
    }

    /// The certification a stored request's item needs on a day, if any.
    pub(crate) async fn certification_for(
        &self,
        asset: Option<AssetId>,
        on: Date,
    ) -> Result<Option<Certification>, AppError> {
        let product = match asset {
            Some(a) => self.store.asset(a).await?.map(|a| a.product_id),
            None => None,
        };
        let (lines, required) = self.product_line(product).await?;
        self.certification(&lines, required, on).await
    }

    /// The active outlet, among `outlets`, covering a city and product line, with room
    /// left, if any.
    pub(crate) async fn covering_outlet(
        &self,
        outlets: Vec<Outlet>,
        city: Option<&str>,
        lines: &[i64],
    ) -> Result<Option<Outlet>, AppError> {
        let Some(city) = city else {
            return Ok(None);
        };
        let outlets: Vec<Outlet> = outlets
            .into_iter()
            .filter(|o| o.active && o.regions.iter().any(|r| routing::same_city(r, city)))
            .collect();
        if outlets.is_empty() {
            return Ok(None);
        }
        let loads = if outlets.iter().any(|o| o.capacity.is_some()) {
            self.store.outlet_loads().await?
        } else {
            vec![]
        };
        let coverage: Vec<Coverage> = outlets
            .iter()
            .map(|o| Coverage {
                outlet_id: o.id.get(),
                regions: o.regions.clone(),
                categories: o.categories.iter().map(|c| c.get()).collect(),
                load: loads
                    .iter()
                    .find(|l| l.outlet_id == o.id)
                    .map_or(0, |l| l.active),
                capacity: o.capacity,
            })
            .collect();
        Ok(routing::covering_outlet(Some(city), lines, &coverage)
            .and_then(|id| outlets.into_iter().find(|o| o.id.get() == id)))
    }
}

/// A product's line among the categories: its category and every category above it (none
/// without a product), with whether any of them needs certification.
pub(crate) fn line_of(
    product: Option<&crate::model::Product>,
    categories: &[crate::model::Category],
) -> (Vec<i64>, bool) {
    let mut lines = Vec::new();
    let mut required = false;
    let mut next = product.map(|p| p.category_id);
    // Bounded: a damaged parent chain cannot loop.
    while let Some(id) = next.filter(|_| lines.len() < 32) {
        if lines.contains(&id.get()) {
            break;
        }
        lines.push(id.get());
        let c = categories.iter().find(|c| c.id == id);
        required |= c.is_some_and(|c| c.certification_required);
        next = c.and_then(|c| c.parent_id);
    }
    (lines, required)
}
