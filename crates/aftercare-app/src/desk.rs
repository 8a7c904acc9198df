//! The service desk's use cases: opening and working requests, SLA clocks and their sweep,
//! routing, visits, warranty decisions and ratings.

use crate::care::who_pays;
use crate::desk_model::*;
use crate::error::AppError;
use crate::input::empty_as_none;
use crate::model::{Page, User};
use crate::network::{Certification, line_of};
use crate::ports;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::account::{Permission, Role};
use aftercare_domain::calendar::{BusinessCalendar, CalendarSpec, china, china_date};
use aftercare_domain::catalog::parse_money;
use aftercare_domain::customer::ValueTier;
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::request::{
    Priority, RequestChannel, RequestStatus, ServicePhase, ServiceType, VisitStatus,
};
use aftercare_domain::routing::{Candidate, Job, route};
use aftercare_domain::sla::{SlaEvent, SlaRule, SlaTrack, pick_rule};
use aftercare_domain::warranty;
use aftercare_domain::{AssetId, CustomerId, Money, OrderId, OutletId, RequestId, UserId, VisitId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The largest attachment accepted, in bytes.
pub const MAX_ATTACHMENT: usize = 10 * 1024 * 1024;
/// Queue counts stop at this many (shown "1000+"): an exact count of a huge queue helps nobody
/// and costs a scan.
pub const COUNT_CAP: i64 = 1000;
/// The breaching-soon queue looks this far ahead.
pub(crate) const BREACHING_HOURS: i64 = 4;

/// The timeline entries the desk writes about a request (their reference is the request).
pub const REQUEST_TIMELINE_KINDS: &[&str] = &[
    "request",
    "request_message",
    "request_reply",
    "request_resolved",
    "rma",
    "visit",
    "rating",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub asset_id: Option<AssetId>,
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// consultation, demonstration, delivery, installation, commissioning, repair, exchange,
    /// return, technical_support, upgrade, training, maintenance or complaint.
    pub service_type: String,
    /// pre_sale, in_sale or after_sale; by default from the service type (a repair is
    /// after a sale, an installation within one, a consultation before one unless it
    /// names an item or order).
    #[serde(default)]
    pub phase: Option<String>,
    /// low, normal (default), high or urgent.
    #[serde(default)]
    pub priority: Option<String>,
    /// staff (default), phone, portal, email, api or visit.
    #[serde(default)]
    pub channel: Option<String>,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub outlet_id: Option<OutletId>,
    /// Assign to this person; by default routing chooses.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
}

/// A move to another status.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    pub status: String,
    /// The version read; refused if the request changed since.
    pub version: i64,
    /// Required to resolve a complaint.
    #[serde(default)]
    pub root_cause: Option<String>,
    #[serde(default)]
    pub remedy: Option<String>,
    /// An internal note saying why.
    #[serde(default)]
    pub note: Option<String>,
}

/// A change of assignee, priority, costs or complaint findings; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestPatch {
    pub version: i64,
    #[serde(default)]
    pub priority: Option<String>,
    /// A user id, or 0 to let routing choose.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// Money as text, e.g. "120.00".
    #[serde(default)]
    pub parts_cost: Option<String>,
    #[serde(default)]
    pub labour_cost: Option<String>,
    #[serde(default)]
    pub root_cause: Option<String>,
    #[serde(default)]
    pub remedy: Option<String>,
    /// Mark the request escalated (a manager looks at it).
    #[serde(default)]
    pub escalate: Option<bool>,
    /// Correct the service type at triage (a mailed request arrives as consultation).
    #[serde(default)]
    pub service_type: Option<String>,
    /// Attach one of the customer's items; who pays is decided again from its warranty.
    #[serde(default)]
    pub asset_id: Option<AssetId>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    pub filename: String,
    pub content_type: String,
    /// The file, base64-encoded.
    pub content_base64: String,
}

/// A public reply or an internal note.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// reply (the customer sees it) or note (staff only).
    pub kind: String,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    pub technician_id: UserId,
    /// RFC 3339 (`2026-11-26T10:00:00+08:00`) or local Shanghai time (`2026-11-26T10:00`).
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitReportInput {
    pub work_done: String,
    #[serde(default)]
    pub parts: Option<String>,
    pub minutes_spent: i64,
    /// The name of who confirmed the work on the customer's side.
    pub confirmed_by: String,
    /// Every item of the service type's standard, marked done or not (none when the type
    /// has no standard).
    #[serde(default)]
    pub checklist: Vec<aftercare_domain::standards::ChecklistMark>,
    /// When the technician arrived: RFC 3339 or local Shanghai time (`2026-11-26T10:05`).
    /// On time is at most 15 minutes after the booked start.
    #[serde(default)]
    pub arrived_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5 stars.
    pub stars: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyInput {
    pub name: String,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub service_type: Option<String>,
    pub calendar_id: i64,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    #[serde(default)]
    pub warn_minutes: i64,
    #[serde(default)]
    pub notify_manager: bool,
    #[serde(default)]
    pub raise_priority: bool,
    #[serde(default)]
    pub reassign: bool,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffProfileInput {
    #[serde(default)]
    pub outlet_id: Option<OutletId>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default = "default_capacity")]
    pub capacity: i64,
    #[serde(default = "yes")]
    pub auto_assign: bool,
}

fn default_capacity() -> i64 {
    20
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    /// high, medium or low.
    pub tier: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// mine, team, unassigned, breaching, all (active requests); `any` or absent: every
    /// request, closed ones too.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub queue: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub customer_id: Option<CustomerId>,
    /// A service type: repair, installation, complaint, …
    #[serde(default, deserialize_with = "empty_as_none")]
    pub service_type: Option<String>,
    /// urgent, high, normal or low.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub priority: Option<String>,
    /// The customer's value tier: high, medium or low.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub tier: Option<String>,
    /// A staff member's id, or `none` for requests nobody has.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub assignee: Option<String>,
    /// An outlet's id (a partner outlet's staff see their own outlet whatever is asked).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub outlet_id: Option<OutletId>,
    /// breached, warned or on_track.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub sla: Option<String>,
    /// Words in the request number, the subject or the customer's name.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub q: Option<String>,
    /// Opened on or after this day (YYYY-MM-DD, China).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub opened_from: Option<String>,
    /// Opened on or before this day.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub opened_to: Option<String>,
    /// Resolved on or after this day (YYYY-MM-DD, China).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub resolved_from: Option<String>,
    /// Resolved on or before this day.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub resolved_to: Option<String>,
    /// urgency, due, newest or oldest; absent: the queue's own order (urgency in a queue,
    /// due in breaching, newest without a queue).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub sort: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub cursor: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitQuery {
    /// From this instant (RFC 3339 or local date-time).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub to: Option<String>,
}

/// Parses an instant: RFC 3339 with an offset, or a local Shanghai date-time.
pub fn parse_instant(s: &str) -> Result<Timestamp, &'static str> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let dt: jiff::civil::DateTime = s.parse().map_err(|_| "datetime_invalid")?;
    dt.to_zoned(china())
        .map(|z| z.timestamp())
        .map_err(|_| "datetime_invalid")
}

/// The SLA clocks of a stored request.
pub fn track_of(r: &ServiceRequest) -> SlaTrack {
    SlaTrack {
        response_due: r.response_due,
        responded_at: r.responded_at,
        resolution_due: r.resolution_due,
        resolution_left: r.resolution_left,
        warn_at: r.warn_at,
        warn_seconds: r.warn_seconds,
        warned: r.warned,
        response_breached: r.response_breached,
        resolution_breached: r.resolution_breached,
    }
}

fn set_track(r: &mut ServiceRequest, t: &SlaTrack) {
    r.response_due = t.response_due;
    r.responded_at = t.responded_at;
    r.resolution_due = t.resolution_due;
    r.resolution_left = t.resolution_left;
    r.warn_at = t.warn_at;
    r.warn_seconds = t.warn_seconds;
    r.warned = t.warned;
    r.response_breached = t.response_breached;
    r.resolution_breached = t.resolution_breached;
    r.sla_next = t.next_check();
}

fn rule_of(p: &SlaPolicy) -> SlaRule {
    SlaRule {
        id: p.id,
        tier: p.tier,
        priority: p.priority,
        service_type: p.service_type,
        first_response_minutes: p.first_response_minutes,
        resolution_minutes: p.resolution_minutes,
        warn_minutes: p.warn_minutes,
    }
}

pub(crate) fn spec_of(c: &CalendarBody) -> CalendarSpec {
    CalendarSpec {
        time_zone: c.time_zone.clone(),
        week: c.week.clone(),
        holidays: c.holidays.clone(),
        makeup_workdays: c.makeup_workdays.clone(),
    }
}

impl DeskConfig {
    /// The calendar a policy counts on (every hour if it cannot be found or built).
    pub fn calendar_of(&self, policy_id: Option<i64>) -> BusinessCalendar {
        self.calendar(policy_id)
    }

    fn calendar(&self, policy_id: Option<i64>) -> BusinessCalendar {
        policy_id
            .and_then(|id| self.policies.iter().find(|p| p.id == id))
            .and_then(|p| self.calendars.iter().find(|c| c.id == p.calendar_id))
            .and_then(|c| spec_of(&c.body).build().ok())
            .unwrap_or_else(BusinessCalendar::always)
    }

    fn policy(&self, id: Option<i64>) -> Option<&SlaPolicy> {
        id.and_then(|id| self.policies.iter().find(|p| p.id == id))
    }
}

fn text(field: &str, v: Option<&str>, max: usize, inv: &mut Invalid) -> Option<String> {
    inv.check(field, optional_text(v, max)).flatten()
}

/// Checks an attachment's size and that its bytes are what its type says.
pub fn check_attachment(name: &str, content_type: &str, bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.is_empty() {
        return Err("attachment_empty");
    }
    if bytes.len() > MAX_ATTACHMENT {
        return Err("attachment_too_large");
    }
    if name.trim().is_empty() || name.contains(['/', '\\']) || name.chars().count() > 200 {
        return Err("attachment_name_invalid");
    }
    let magic: &[(&str, &[u8])] = &[
        ("image/jpeg", b"\xFF\xD8\xFF"),
        ("image/png", b"\x89PNG"),
        ("image/gif", b"GIF8"),
        ("image/webp", b"RIFF"),
        ("application/pdf", b"%PDF"),
    ];
    let ct = content_type.trim().to_ascii_lowercase();
    if let Some((_, m)) = magic.iter().find(|(t, _)| *t == ct) {
        return if bytes.starts_with(m) {
            Ok(())
        } else {
            Err("attachment_content_mismatch")
        };
    }
    const OTHER: &[&str] = &[
        "text/plain",
        "text/csv",
        "video/mp4",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
    ];
    if OTHER.contains(&ct.as_str()) {
        Ok(())
    } else {
        Err("attachment_type_not_allowed")
    }
}

fn opt(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Gives a request nobody had to `a` (chosen by hand, or by routing for reason `why`):
/// its history says who and why, and they are notified.
fn give_to(
    r: &mut ServiceRequest,
    staff: &[StaffProfile],
    a: UserId,
    why: Option<String>,
    fx: &mut Effects,
) {
    r.assignee_id = Some(a);
    r.assignee_name = staff
        .iter()
        .find(|s| s.user_id == a)
        .map(|s| s.name.clone());
    fx.history.push((
        "assigned".into(),
        None,
        Some(format!(
            "{}{}",
            r.assignee_name.clone().unwrap_or_default(),
            why.as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        )),
    ));
    r.routed = why;
    fx.notify.push((a, "assigned".into()));
}

/// An outlet given by hand must exist and not be retired.
fn check_outlet_open(outlets: &[crate::model::Outlet], id: OutletId, inv: &mut Invalid) {
    match outlets.iter().find(|o| o.id == id) {
        None => inv.push("outlet_id", "reference_not_found"),
        Some(o) if !o.active => inv.push("outlet_id", "outlet_retired"),
        Some(_) => {}
    }
}

/// The person the customer deals with, for mails and the timeline.
fn who(p: &Principal) -> String {
    p.user.name.clone()
}

/// What a staff member may see: a partner outlet's staff only their outlet's work.
impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::DeskSetupStore,
{
    /// The outlet a partner's staff member is confined to, if they work for a partner.
    pub(crate) async fn partner_outlet(&self, p: &Principal) -> Result<Option<OutletId>, AppError> {
        if p.role == Role::Admin || p.role == Role::Manager {
            return Ok(None);
        }
        // One indexed lookup: this runs on every list and page a staff member opens.
        Ok(self
            .store
            .staff_outlet(p.user.id)
            .await?
            .filter(|(_, kind)| kind == "partner")
            .map(|(outlet, _)| outlet))
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::DeskPorts,
{
    // ---- configuration ----------------------------------------------------------------

    pub async fn calendars(&self, p: &Principal) -> Result<Vec<Calendar>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.desk_config().await?.calendars)
    }

    pub async fn create_calendar(&self, p: &Principal, c: &CalendarBody) -> Result<i64, AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = match spec_of(c).build() {
            Ok(_) => Invalid::default(),
            Err(e) => e,
        };
        inv.check("name", required_text(&c.name, 100));
        inv.into_result()?;
        Ok(self
            .store
            .create_calendar(&p.actor(), c, self.now())
            .await?)
    }

    pub async fn update_calendar(
        &self,
        p: &Principal,
        id: i64,
        c: &CalendarBody,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = match spec_of(c).build() {
            Ok(_) => Invalid::default(),
            Err(e) => e,
        };
        inv.check("name", required_text(&c.name, 100));
        inv.into_result()?;
        self.store
            .update_calendar(&p.actor(), id, c, self.now())
            .await
            .map_err(AppError::from_store("calendar"))
    }

    /// Loads a year's public holidays and make-up working days (a CSV or an iCalendar
    /// file, see `PublicDays::parse`) into a calendar. A file with an error adds nothing.
    pub async fn add_calendar_days(
        &self,
        p: &Principal,
        id: i64,
        file: &[u8],
    ) -> Result<DaysAdded, AppError> {
        p.require(Permission::ManageDesk)?;
        let text = crate::transfer::decode_csv(file).map_err(|e| Invalid::one("days", e.code))?;
        let days = aftercare_domain::public_days::PublicDays::parse(&text)?;
        let (holidays_added, makeup_workdays_added) = self
            .store
            .add_calendar_days(&p.actor(), id, &days, self.now())
            .await
            .map_err(AppError::from_store("calendar"))?;
        Ok(DaysAdded {
            holidays_added,
            makeup_workdays_added,
        })
    }

    pub async fn sla_policies(&self, p: &Principal) -> Result<Vec<SlaPolicy>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.desk_config().await?.policies)
    }

    pub async fn create_sla_policy(
        &self,
        p: &Principal,
        i: &SlaPolicyInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&i.name, 100));
        let tier = opt(&i.tier).and_then(|t| inv.check("tier", ValueTier::parse(t)));
        let priority = opt(&i.priority).and_then(|t| inv.check("priority", Priority::parse(t)));
        let service_type =
            opt(&i.service_type).and_then(|t| inv.check("service_type", ServiceType::parse(t)));
        let minutes = |v: i64| (1..=60 * 24 * 365).contains(&v);
        if !minutes(i.first_response_minutes) {
            inv.push("first_response_minutes", "out_of_range");
        }
        if !minutes(i.resolution_minutes) {
            inv.push("resolution_minutes", "out_of_range");
        }
        if i.warn_minutes < 0 || i.warn_minutes >= i.resolution_minutes.max(1) {
            inv.push("warn_minutes", "out_of_range");
        }
        let config = self.store.desk_config().await?;
        if !config.calendars.iter().any(|c| c.id == i.calendar_id) {
            inv.push("calendar_id", "reference_not_found");
        }
        inv.into_result()?;
        let policy = SlaPolicy {
            id: 0,
            name: name.unwrap_or_default(),
            tier,
            priority,
            service_type,
            calendar_id: i.calendar_id,
            first_response_minutes: i.first_response_minutes,
            resolution_minutes: i.resolution_minutes,
            warn_minutes: i.warn_minutes,
            notify_manager: i.notify_manager,
            raise_priority: i.raise_priority,
            reassign: i.reassign,
        };
        Ok(self
            .store
            .create_sla_policy(&p.actor(), &policy, self.now())
            .await?)
    }

    pub async fn staff_profiles(&self, p: &Principal) -> Result<Vec<StaffProfile>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.staff_profiles().await?)
    }

    pub async fn set_staff_profile(
        &self,
        p: &Principal,
        user_id: UserId,
        i: &StaffProfileInput,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = Invalid::default();
        let mut skills = Vec::new();
        for (n, s) in i.skills.iter().enumerate() {
            if let Some(t) = inv.check(format!("skills[{n}]"), ServiceType::parse(s)) {
                skills.push(t);
            }
        }
        let regions: Vec<String> = i
            .regions
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if !(1..=1000).contains(&i.capacity) {
            inv.push("capacity", "out_of_range");
        }
        if let Some(o) = i.outlet_id {
            check_outlet_open(&self.store.outlets().await?, o, &mut inv);
        }
        inv.into_result()?;
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let profile = StaffProfile {
            user_id,
            name: user.name,
            role: user.role,
            active: user.active,
            outlet_id: i.outlet_id,
            partner: false,
            skills,
            regions,
            capacity: i.capacity,
            auto_assign: i.auto_assign,
            load: 0,
        };
        Ok(self
            .store
            .set_staff_profile(&p.actor(), &profile, self.now())
            .await?)
    }

    /// Sets a customer's value tier by hand (until tiers are computed).
    pub async fn set_customer_tier(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        i: &TierInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WriteCustomers)?;
        let tier = ValueTier::parse(&i.tier).map_err(|c| Invalid::one("tier", c))?;
        self.store
            .set_customer_tier(&p.actor(), customer_id, tier.code(), self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }

    pub(crate) async fn visible_request(
        &self,
        p: &Principal,
        id: RequestId,
    ) -> Result<ServiceRequest, AppError> {
        p.require(Permission::Read)?;
        let r = self
            .store
            .request(id)
            .await?
            .ok_or(AppError::NotFound("request"))?;
        if let Some(outlet) = self.partner_outlet(p).await?
            && r.outlet_id != Some(outlet)
        {
            // A partner's staff cannot tell other outlets' requests from missing ones.
            return Err(AppError::NotFound("request"));
        }
        Ok(r)
    }

    // ---- requests ---------------------------------------------------------------------

    /// Opens a request from the staff interface or the API.
    pub async fn open_request(
        &self,
        p: &Principal,
        i: &RequestInput,
    ) -> Result<(RequestId, String), AppError> {
        p.require(Permission::WorkRequests)?;
        let default_channel = if p.scopes.is_some() {
            RequestChannel::Api
        } else {
            RequestChannel::Staff
        };
        // A partner outlet's staff open requests for their own outlet only.
        let mut i = i.clone();
        if let Some(outlet) = self.partner_outlet(p).await? {
            match i.outlet_id {
                Some(o) if o != outlet => {
                    return Err(Invalid::one("outlet_id", "outlet_not_yours").into());
                }
                _ => i.outlet_id = Some(outlet),
            }
        }
        self.open_request_as(&p.actor(), &i, default_channel, None, None, None)
            .await
    }

    /// Opens a request for any channel: checks the input, picks the SLA policy, decides
    /// who pays and routes it.
    pub async fn open_request_as(
        &self,
        actor: &Actor,
        i: &RequestInput,
        default_channel: RequestChannel,
        first_message: Option<NewMessage>,
        received_mail: Option<String>,
        suggested: Option<TypeSuggestion>,
    ) -> Result<(RequestId, String), AppError> {
        let mut inv = Invalid::default();
        let ty = inv.check("service_type", ServiceType::parse(&i.service_type));
        let phase = match i.phase.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => inv.check("phase", ServicePhase::parse(s)),
            None => ty.map(|t| {
                ServicePhase::default_for(t, i.asset_id.is_some() || i.order_id.is_some())
            }),
        };
        let priority = match i
            .priority
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => inv.check("priority", Priority::parse(s)),
            None => Some(Priority::Normal),
        };
        let channel = match i
            .channel
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => inv.check("channel", RequestChannel::parse(s)),
            None => Some(default_channel),
        };
        let subject = inv.check("subject", required_text(&i.subject, 200));
        let description = text("description", Some(&i.description), 20_000, &mut inv);
        // What the checks and decisions below need, read together (one hand-off on
        // SQLite); only outlet loads and certificates, when asked for, are read later.
        let reads = self
            .store
            .opening_reads(&OpeningQuery {
                customer_id: i.customer_id,
                asset_id: i.asset_id,
                order_id: i.order_id,
                who_pays: phase == Some(ServicePhase::AfterSale),
                last_repair: ty == Some(ServiceType::Repair),
            })
            .await?;
        let OpeningReads {
            facts,
            asset: item,
            order_customer,
            outlets,
            staff,
            config,
            product,
            categories,
            policy,
            contracts,
            last_repair,
        } = reads;
        match &facts {
            None => inv.push("customer_id", "reference_not_found"),
            Some(f) if f.erased => inv.push("customer_id", "customer_erased"),
            Some(_) => {}
        }
        let mut asset = None;
        if i.asset_id.is_some() {
            match item {
                Some(x) if x.customer_id == i.customer_id => asset = Some(x),
                Some(_) => inv.push("asset_id", "asset_of_another_customer"),
                None => inv.push("asset_id", "reference_not_found"),
            }
        }
        if i.order_id.is_some() {
            match order_customer {
                Some(c) if c == i.customer_id => {}
                Some(_) => inv.push("order_id", "order_of_another_customer"),
                None => inv.push("order_id", "reference_not_found"),
            }
        }
        if let Some(o) = i.outlet_id {
            check_outlet_open(&outlets, o, &mut inv);
        }
        if let Some(a) = i.assignee_id
            && !staff.iter().any(|s| s.user_id == a && s.active)
        {
            inv.push("assignee_id", "reference_not_found");
        }
        inv.into_result()?;
        let (Some(ty), Some(phase), Some(mut priority), Some(channel), Some(subject), Some(facts)) =
            (ty, phase, priority, channel, subject, facts)
        else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        // A customer not scored yet is served as medium; a tier that does not parse is damage.
        let tier = match facts.tier.as_deref() {
            None => ValueTier::Medium,
            Some(t) => ValueTier::parse(t).map_err(|_| crate::error::StoreError::Corrupt {
                table: "customers",
                id: i.customer_id.get(),
                column: "tier",
                value: t.to_owned(),
            })?,
        };
        // The green channel: a high-tier customer's request is never below high priority.
        if tier == ValueTier::High && priority.rank() > Priority::High.rank() {
            priority = Priority::High;
        }
        let now = self.clock.now();
        let rules: Vec<SlaRule> = config.policies.iter().map(rule_of).collect();
        let rule = pick_rule(&rules, tier, priority, ty).cloned();
        let mut r = ServiceRequest {
            id: RequestId(0),
            number: String::new(),
            customer_id: i.customer_id,
            customer_name: facts.name.clone(),
            asset_id: i.asset_id,
            category_id: None,
            order_id: i.order_id,
            service_type: ty,
            suggested_type: suggested.map(|s| s.service_type),
            suggested_confidence: suggested.map(|s| (s.confidence * 100.0).round() as i64),
            type_confirmed: false,
            phase,
            status: RequestStatus::New,
            priority,
            channel,
            subject: subject.clone(),
            description: description.unwrap_or_default(),
            tier,
            city: facts.city.clone(),
            outlet_id: i.outlet_id,
            assignee_id: None,
            assignee_name: None,
            routed: None,
            sla_policy_id: rule.as_ref().map(|r| r.id),
            response_due: None,
            responded_at: None,
            resolution_due: None,
            resolution_left: None,
            warn_at: None,
            warn_seconds: 0,
            warned: false,
            response_breached: false,
            resolution_breached: false,
            sla_next: None,
            escalated: false,
            charge: None,
            charge_reason: None,
            parts_cost: Money::ZERO,
            labour_cost: Money::ZERO,
            root_cause: None,
            remedy: None,
            rating: None,
            rating_comment: None,
            rated_at: None,
            resolved_at: None,
            closed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        if let Some(rule) = &rule {
            let cal = config.calendar(Some(rule.id));
            set_track(&mut r, &SlaTrack::start(&cal, now, rule));
        }
        if let (ServicePhase::AfterSale, Some(a), Some(policy)) = (phase, &asset, &policy) {
            let w = warranty::status(policy, &a.warranty_facts(), self.clock.today());
            let d = who_pays(ty, &w, &contracts);
            r.charge = Some(d.charge);
            r.charge_reason = Some(d.reason.into());
        }
        // Nobody chose an outlet: the one covering the customer's city and the item's
        // product line takes it, if any does. The item's product names the line.
        let (lines, needs_certificate) = match &asset {
            Some(_) => line_of(product.as_ref(), &categories),
            None => (vec![], false),
        };
        r.category_id = lines.first().copied();
        // A repair of an item repaired and resolved within the last 30 days: that earlier
        // repair did not hold.
        let repeat_of = match (ty, &asset) {
            (ServiceType::Repair, Some(_)) => last_repair
                .filter(|(_, resolved)| aftercare_domain::scorecard::repeats(*resolved, now))
                .map(|(id, _)| id),
            _ => None,
        };
        let covered = match r.outlet_id {
            Some(_) => None,
            None => {
                self.covering_outlet(outlets, r.city.as_deref(), &lines)
                    .await?
            }
        };
        if let Some(o) = &covered {
            r.outlet_id = Some(o.id);
        }
        let cert = self
            .certification(&lines, needs_certificate, self.clock.today())
            .await?;
        if let (Some(a), Some(c)) = (i.assignee_id, &cert)
            && !c.allows(a, ty)
        {
            return Err(Invalid::one("assignee_id", "assignee_not_certified").into());
        }
        let mut fx = Effects {
            repeat_of,
            ..Effects::default()
        };
        fx.history
            .push(("created".into(), None, Some(channel.code().into())));
        if let Some(o) = covered {
            fx.history
                .push(("outlet_covered".into(), None, Some(o.name)));
        }
        // What the customer wrote themselves (portal, mail) gets a human look first: it
        // waits in the unassigned queue for triage, which routes it. Staff on the phone
        // have triaged already; high-value customers go straight to their manager.
        let self_service = matches!(channel, RequestChannel::Portal | RequestChannel::Email);
        let assignee = match i.assignee_id {
            Some(a) => Some((a, None)),
            None if self_service && tier != ValueTier::High => None,
            None => self.route(&r, &facts, &staff, cert.as_ref(), None)?,
        };
        if let Some((a, why)) = assignee {
            give_to(&mut r, &staff, a, why, &mut fx);
            r.status = RequestStatus::Assigned;
        }
        fx.timeline.push((
            "request".into(),
            format!("{{number}} {}: {}", ty.code(), subject),
        ));
        fx.message = first_message;
        fx.received_mail = received_mail;
        if let Some(to) = &facts.email {
            let lang = crate::customer_mail::mail_lang(facts.lang.as_deref());
            fx.mails.push(Mail {
                to: to.clone(),
                subject: format!("[{{number}}] {subject}"),
                body: crate::customer_mail::request_received(lang, &facts.name),
            });
        }
        let (id, number) = self.store.create_request(actor, &r, &fx, now).await?;
        Ok((id, number))
    }

    /// The day (China time) a request was opened: who pays and what 三包 allows are
    /// judged as of that day.
    pub(crate) fn opened_on(&self, r: &ServiceRequest) -> jiff::civil::Date {
        china_date(r.created_at)
    }

    /// Chooses an assignee: (user, reason) or none.
    fn route(
        &self,
        r: &ServiceRequest,
        facts: &ServiceFacts,
        staff: &[StaffProfile],
        cert: Option<&Certification>,
        exclude: Option<UserId>,
    ) -> Result<Option<(UserId, Option<String>)>, AppError> {
        let am = facts
            .account_manager_id
            .filter(|am| staff.iter().any(|s| s.user_id == *am && s.active));
        let candidates: Vec<Candidate> = staff
            .iter()
            .filter(|s| s.active)
            .filter(|s| {
                matches!(s.role, Role::Agent | Role::Technician | Role::Manager)
                    || Some(s.user_id) == am
            })
            .map(|s| Candidate {
                user_id: s.user_id.get(),
                outlet_id: s.outlet_id.map(OutletId::get),
                partner: s.partner,
                skills: s.skills.clone(),
                regions: s.regions.clone(),
                load: s.load,
                capacity: s.capacity,
                // An account manager of another role is here for their certificates only.
                auto_assign: s.auto_assign
                    && matches!(s.role, Role::Agent | Role::Technician | Role::Manager),
                certificates: cert
                    .and_then(|c| c.held.get(&s.user_id))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        let job = Job {
            service_type: r.service_type,
            city: r.city.clone(),
            outlet_id: r.outlet_id.map(OutletId::get),
            tier: r.tier,
            account_manager: am.map(UserId::get),
            exclude: exclude.map(UserId::get),
            certification: cert.map(|c| c.requirement.clone()),
        };
        Ok(route(&job, &candidates).map(|(u, why)| (UserId(u), Some(why.code().to_string()))))
    }

    pub async fn request_detail(
        &self,
        p: &Principal,
        id: RequestId,
    ) -> Result<RequestDetail, AppError> {
        let r = self.visible_request(p, id).await?;
        self.detail_of(r).await
    }

    pub async fn detail_of(&self, r: ServiceRequest) -> Result<RequestDetail, AppError> {
        let config = self.store.desk_config().await?;
        let track = track_of(&r);
        let status = r.status;
        let sla = SlaView {
            policy: config.policy(r.sla_policy_id).map(|p| p.name.clone()),
            response: track.response_outcome().code().into(),
            resolution: track
                .resolution_outcome(r.resolved_at.is_some())
                .code()
                .into(),
            paused: status == RequestStatus::WaitingCustomer,
            remaining_seconds: track.resolution_remaining(self.clock.now()),
        };
        let messages = self.store.messages(r.id).await?;
        let history = self.store.history(r.id).await?;
        let visits = self
            .store
            .visits(&VisitFilter {
                request_id: Some(r.id),
                ..Default::default()
            })
            .await?;
        let rmas = self.store.rmas(r.id).await?;
        Ok(RequestDetail {
            rmas,
            next_statuses: status.next().iter().map(|s| s.code().into()).collect(),
            request: r,
            sla,
            messages,
            history,
            visits,
        })
    }

    pub async fn request_by_number(
        &self,
        p: &Principal,
        number: &str,
    ) -> Result<RequestDetail, AppError> {
        let id = self
            .store
            .request_id_by_number(number.trim())
            .await?
            .ok_or(AppError::NotFound("request"))?;
        self.request_detail(p, id).await
    }

    fn filter_for(&self, p: &Principal, q: &RequestQuery) -> Result<RequestFilter, AppError> {
        let mut f = RequestFilter {
            queue: None,
            customer_id: q.customer_id,
            cursor: q.cursor.clone(),
            limit: q.limit.unwrap_or(50).clamp(1, 200),
            ..Default::default()
        };
        let mut inv = Invalid::default();
        if let Some(s) = &q.status {
            f.status = inv.check("status", RequestStatus::parse(s));
        }
        if let Some(s) = &q.service_type {
            f.service_type = inv.check("service_type", ServiceType::parse(s));
        }
        if let Some(s) = &q.priority {
            f.priority = inv.check("priority", Priority::parse(s));
        }
        if let Some(s) = &q.tier {
            f.tier = inv.check("tier", aftercare_domain::customer::ValueTier::parse(s));
        }
        if let Some(s) = &q.sla {
            f.sla = inv.check("sla", SlaState::parse(s));
        }
        if let Some(s) = &q.sort {
            f.sort = inv.check("sort", RequestSort::parse(s));
        }
        match q.assignee.as_deref().map(str::trim) {
            None => {}
            Some("none") => f.unassigned = true,
            Some(a) => {
                f.assignee_id = inv.check(
                    "assignee",
                    a.parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .map(UserId)
                        .ok_or("assignee_invalid"),
                )
            }
        }
        f.outlet_id = q.outlet_id;
        // Days in China: from the start of the first to the start of the day after the last.
        let day_start = |inv: &mut Invalid, field: &str, v: &Option<String>, after: bool| {
            let d = inv.check(field, aftercare_domain::error::parse_date(v.as_deref()?))?;
            let d = if after { d.tomorrow().ok()? } else { d };
            d.to_zoned(china()).ok().map(|z| z.timestamp())
        };
        f.opened = (
            day_start(&mut inv, "opened_from", &q.opened_from, false),
            day_start(&mut inv, "opened_to", &q.opened_to, true),
        );
        f.resolved = (
            day_start(&mut inv, "resolved_from", &q.resolved_from, false),
            day_start(&mut inv, "resolved_to", &q.resolved_to, true),
        );
        if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if t.chars().count() > 100 {
                inv.push("q", "too_long");
            } else {
                f.text = Some(t.to_string());
            }
        }
        inv.into_result()?;
        match q.queue.as_deref() {
            None | Some("any") => {}
            Some("mine") => {
                f.queue = Some("mine".into());
                f.assignee_id = Some(p.user.id);
            }
            Some("unassigned") => f.queue = Some("unassigned".into()),
            Some("all") => f.queue = Some("all".into()),
            Some("team") => f.queue = Some("team".into()),
            Some("breaching") => {
                f.queue = Some("breaching".into());
                f.due_before =
                    Some(self.clock.now() + jiff::SignedDuration::from_hours(BREACHING_HOURS));
            }
            Some(_) => return Err(Invalid::one("queue", "queue_unknown").into()),
        }
        Ok(f)
    }

    async fn confine(&self, p: &Principal, f: &mut RequestFilter) -> Result<(), AppError> {
        if let Some(outlet) = self.partner_outlet(p).await? {
            f.outlet_id = Some(outlet);
        } else if f.queue.as_deref() == Some("team") {
            let mine = self.store.staff_outlet(p.user.id).await?.map(|(o, _)| o);
            // Without an outlet the team is everyone.
            f.outlet_id = mine;
        }
        Ok(())
    }

    pub async fn requests(
        &self,
        p: &Principal,
        q: &RequestQuery,
    ) -> Result<Page<RequestRow>, AppError> {
        p.require(Permission::Read)?;
        let mut f = self.filter_for(p, q)?;
        self.confine(p, &mut f).await?;
        self.store
            .requests(&f)
            .await
            .map_err(AppError::from_store("cursor"))
    }

    /// The caller's saved views of the queue.
    pub async fn saved_views(&self, p: &Principal) -> Result<Vec<SavedView>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.saved_views(p.user.id).await?)
    }

    /// Saves the filters `q` under a name for the caller (the same name replaces).
    /// `encoded` is `q` as a query string, as the pages and the API write it.
    pub async fn save_view(
        &self,
        p: &Principal,
        name: &str,
        q: &RequestQuery,
        encoded: &str,
    ) -> Result<i64, AppError> {
        p.require(Permission::Read)?;
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(name, 60));
        if let Err(AppError::Invalid(e)) = self.filter_for(p, q) {
            inv.0.extend(e.0);
        }
        if encoded.len() > 1000 {
            inv.push("query", "too_long");
        }
        inv.into_result()?;
        let name = name.unwrap_or_default();
        self.store
            .save_view(p.user.id, &name, encoded, self.now())
            .await
            .map_err(AppError::from_store("view"))
    }

    pub async fn delete_view(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::Read)?;
        self.store
            .delete_view(p.user.id, id)
            .await
            .map_err(AppError::from_store("view"))
    }

    /// How many of the caller's notifications are unread, counted up to 100.
    pub async fn unread_notifications(&self, p: &Principal) -> Result<i64, AppError> {
        Ok(self.store.unread_notifications(p.user.id, 100).await?)
    }

    /// The size of each queue, counted up to [`COUNT_CAP`].
    pub async fn queue_counts(&self, p: &Principal) -> Result<Vec<QueueCount>, AppError> {
        p.require(Permission::Read)?;
        let mut out = Vec::new();
        let partner = self.partner_outlet(p).await?;
        let own = self.store.staff_outlet(p.user.id).await?.map(|(o, _)| o);
        for queue in ["mine", "team", "unassigned", "breaching", "all"] {
            let mut f = self.filter_for(
                p,
                &RequestQuery {
                    queue: Some(queue.into()),
                    ..Default::default()
                },
            )?;
            f.outlet_id = partner.or(if queue == "team" { own } else { None });
            let count = self.store.count_requests(&f, COUNT_CAP).await?;
            out.push(QueueCount {
                queue: queue.into(),
                count,
                capped: count >= COUNT_CAP,
            });
        }
        Ok(out)
    }

    /// Writes one changed request, refusing if it changed since it was read.
    async fn write_one(
        &self,
        actor: &Actor,
        r: ServiceRequest,
        fx: Effects,
    ) -> Result<(), AppError> {
        let done = self
            .store
            .update_requests(actor, &[(r, fx)], self.clock.now())
            .await?;
        if done.first() == Some(&true) {
            Ok(())
        } else {
            Err(AppError::Conflict {
                code: "version_conflict",
                field: Some("version".into()),
            })
        }
    }

    /// Moves a request to another status, with what the move implies for its clocks.
    pub async fn transition(
        &self,
        p: &Principal,
        id: RequestId,
        i: &TransitionInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let r = self.visible_request(p, id).await?;
        if r.version != i.version {
            return Err(AppError::Conflict {
                code: "version_conflict",
                field: Some("version".into()),
            });
        }
        let to = RequestStatus::parse(&i.status).map_err(|c| Invalid::one("status", c))?;
        let mut r = r;
        let mut inv = Invalid::default();
        if let Some(rc) = text("root_cause", i.root_cause.as_deref(), 2000, &mut inv) {
            r.root_cause = Some(rc);
        }
        if let Some(rm) = text("remedy", i.remedy.as_deref(), 2000, &mut inv) {
            r.remedy = Some(rm);
        }
        let note = text("note", i.note.as_deref(), 20_000, &mut inv);
        inv.into_result()?;
        let mut fx = Effects::default();
        self.apply_transition(&mut r, to, &who(p), &mut fx).await?;
        // Triage routes the request unless someone has it already.
        if to == RequestStatus::Triaged && r.assignee_id.is_none() {
            let staff = self.store.staff_profiles().await?;
            let facts = self
                .store
                .service_facts(r.customer_id)
                .await?
                .ok_or(AppError::NotFound("customer"))?;
            let cert = self
                .certification_for(r.asset_id, self.clock.today())
                .await?;
            if let Some((a, why)) = self.route(&r, &facts, &staff, cert.as_ref(), None)? {
                give_to(&mut r, &staff, a, why, &mut fx);
                self.apply_transition(&mut r, RequestStatus::Assigned, &who(p), &mut fx)
                    .await?;
            }
        }
        if let Some(n) = note {
            fx.message = Some(NewMessage {
                kind: "note".into(),
                author_id: Some(p.user.id),
                author_label: p.user.name.clone(),
                body: n,
                channel: "staff".into(),
                message_id: None,
                attachments: vec![],
            });
        }
        self.write_one(&p.actor(), r, fx).await
    }

    /// Applies a move to `r` and collects its effects; refuses what the state machine or
    /// the request's kind does not allow.
    async fn apply_transition(
        &self,
        r: &mut ServiceRequest,
        to: RequestStatus,
        by: &str,
        fx: &mut Effects,
    ) -> Result<(), AppError> {
        let from = r.status;
        from.transition(to).map_err(|_| AppError::Conflict {
            code: aftercare_domain::request::TransitionRefused::CODE,
            field: Some("status".into()),
        })?;
        if to == RequestStatus::Resolved && r.service_type == ServiceType::Complaint {
            let mut inv = Invalid::default();
            if r.root_cause.is_none() {
                inv.push("root_cause", "required_for_complaint");
            }
            if r.remedy.is_none() {
                inv.push("remedy", "required_for_complaint");
            }
            inv.into_result()?;
        }
        if matches!(to, RequestStatus::Assigned) && r.assignee_id.is_none() {
            return Err(Invalid::one("assignee_id", "required_to_assign").into());
        }
        let now = self.clock.now();
        let config = self.store.desk_config().await?;
        let cal = config.calendar(r.sla_policy_id);
        let mut track = track_of(r);
        match to {
            RequestStatus::WaitingCustomer | RequestStatus::Cancelled => track.pause(&cal, now),
            RequestStatus::Resolved => track.resolve(&cal, now),
            _ if from == RequestStatus::WaitingCustomer || from == RequestStatus::Resolved => {
                track.resume(&cal, now)
            }
            RequestStatus::Reopened => track.resume(&cal, now),
            _ => {}
        }
        set_track(r, &track);
        if to == RequestStatus::Cancelled {
            // A cancelled request owes nobody an answer: nothing for the sweep.
            r.sla_next = None;
        }
        r.status = to;
        match to {
            RequestStatus::Resolved => {
                r.resolved_at = Some(now);
                let outcome = format!(
                    "response {}, resolution {}",
                    track.response_outcome().code(),
                    track.resolution_outcome(true).code()
                );
                fx.timeline.push((
                    "request_resolved".into(),
                    format!("{} resolved by {by} — SLA: {outcome}", r.number),
                ));
                if let Some((email, lang)) = self.customer_email(r.customer_id).await? {
                    let (subject, body) =
                        crate::customer_mail::request_resolved(lang, &r.number, &r.subject);
                    fx.mails.push(Mail {
                        to: email,
                        subject,
                        body,
                    });
                }
            }
            RequestStatus::Closed => r.closed_at = Some(now),
            RequestStatus::Reopened => {
                r.resolved_at = None;
                r.closed_at = None;
                fx.timeline
                    .push(("request".into(), format!("{} reopened", r.number)));
            }
            RequestStatus::Cancelled => fx
                .timeline
                .push(("request".into(), format!("{} cancelled", r.number))),
            _ => {}
        }
        fx.history.push((
            "status".into(),
            Some(from.code().into()),
            Some(to.code().into()),
        ));
        Ok(())
    }

    /// Where and in which language to write to a customer.
    async fn customer_email(
        &self,
        customer_id: CustomerId,
    ) -> Result<Option<(String, aftercare_domain::lang::Lang)>, AppError> {
        Ok(self.store.service_facts(customer_id).await?.and_then(|f| {
            let lang = crate::customer_mail::mail_lang(f.lang.as_deref());
            f.email.map(|e| (e, lang))
        }))
    }

    /// Changes assignee, priority, costs or complaint findings.
    pub async fn patch_request(
        &self,
        p: &Principal,
        id: RequestId,
        i: &RequestPatch,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let mut r = self.visible_request(p, id).await?;
        if r.version != i.version {
            return Err(AppError::Conflict {
                code: "version_conflict",
                field: Some("version".into()),
            });
        }
        let mut inv = Invalid::default();
        let mut fx = Effects::default();
        if let Some(pr) = i.priority.as_deref()
            && let Some(pr) = inv.check("priority", Priority::parse(pr))
            && pr != r.priority
        {
            fx.history.push((
                "priority".into(),
                Some(r.priority.code().into()),
                Some(pr.code().into()),
            ));
            r.priority = pr;
        }
        let money = |field: &str, v: &Option<String>, inv: &mut Invalid| {
            v.as_deref().and_then(|m| inv.check(field, parse_money(m)))
        };
        if let Some(m) = money("parts_cost", &i.parts_cost, &mut inv)
            && Money(m) != r.parts_cost
        {
            fx.history.push((
                "parts_cost".into(),
                Some(r.parts_cost.fen().to_string()),
                Some(m.to_string()),
            ));
            r.parts_cost = Money(m);
        }
        if let Some(m) = money("labour_cost", &i.labour_cost, &mut inv)
            && Money(m) != r.labour_cost
        {
            fx.history.push((
                "labour_cost".into(),
                Some(r.labour_cost.fen().to_string()),
                Some(m.to_string()),
            ));
            r.labour_cost = Money(m);
        }
        if let Some(rc) = text("root_cause", i.root_cause.as_deref(), 2000, &mut inv) {
            r.root_cause = Some(rc);
        }
        if let Some(rm) = text("remedy", i.remedy.as_deref(), 2000, &mut inv) {
            r.remedy = Some(rm);
        }
        let staff = self.store.staff_profiles().await?;
        if let Some(a) = i.assignee_id.filter(|a| a.get() != 0)
            && !staff.iter().any(|s| s.user_id == a && s.active)
        {
            inv.push("assignee_id", "reference_not_found");
        }
        inv.into_result()?;
        let mut redecide = false;
        let mut inv = Invalid::default();
        let ty = i
            .service_type
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| inv.check("service_type", ServiceType::parse(t)));
        // Whoever saves a type has looked at it: a suggested type is settled.
        if let Some(t) = ty
            && r.suggested_type.is_some()
            && !r.type_confirmed
        {
            r.type_confirmed = true;
            if t == r.service_type {
                fx.history
                    .push(("type_confirmed".into(), None, Some(t.code().into())));
            }
        }
        if let Some(t) = ty
            && t != r.service_type
        {
            fx.history.push((
                "service_type".into(),
                Some(r.service_type.code().into()),
                Some(t.code().into()),
            ));
            // A phase that followed the old type follows the new one; one set by hand stays.
            let bought = r.asset_id.is_some() || r.order_id.is_some();
            if r.phase == ServicePhase::default_for(r.service_type, bought) {
                r.phase = ServicePhase::default_for(t, bought);
            }
            r.service_type = t;
            redecide = true;
        }
        // The item the request is moved to, as read here (its warranty is decided from it).
        let mut moved_to = None;
        if let Some(a) = i.asset_id.filter(|a| Some(*a) != r.asset_id) {
            match self.store.asset(a).await? {
                Some(x) if x.customer_id == r.customer_id => {
                    fx.history
                        .push(("asset".into(), None, Some(x.serial.clone())));
                    r.asset_id = Some(a);
                    r.phase = ServicePhase::AfterSale;
                    redecide = true;
                    moved_to = Some(x);
                }
                Some(_) => inv.push("asset_id", "asset_of_another_customer"),
                None => inv.push("asset_id", "reference_not_found"),
            }
        }
        inv.into_result()?;
        if redecide && let Some(a) = r.asset_id {
            let item = match moved_to {
                Some(x) => x,
                None => self
                    .store
                    .asset(a)
                    .await?
                    .ok_or(AppError::NotFound("asset"))?,
            };
            // Decided on the day the request was opened, as at opening.
            if let Some(w) = self.warranty_of(&item, self.opened_on(&r)).await? {
                let d = self.decide_who_pays(a, r.service_type, &w).await?;
                r.charge = Some(d.charge);
                r.charge_reason = Some(d.reason.into());
            }
        }
        if i.escalate == Some(true) && !r.escalated {
            r.escalated = true;
            fx.history
                .push(("escalated".into(), None, Some(p.user.name.clone())));
            for m in self.managers().await? {
                fx.notify.push((m.id, "escalated".into()));
            }
        }
        if let Some(a) = i.assignee_id {
            let cert = self
                .certification_for(r.asset_id, self.clock.today())
                .await?;
            let chosen = if a.get() == 0 {
                let facts = self
                    .store
                    .service_facts(r.customer_id)
                    .await?
                    .ok_or(AppError::NotFound("customer"))?;
                self.route(&r, &facts, &staff, cert.as_ref(), None)?
            } else if cert
                .as_ref()
                .is_some_and(|c| r.assignee_id != Some(a) && !c.allows(a, r.service_type))
            {
                return Err(Invalid::one("assignee_id", "assignee_not_certified").into());
            } else {
                Some((a, None))
            };
            let Some((a, why)) = chosen else {
                return Err(Invalid::one("assignee_id", "nobody_available").into());
            };
            if r.assignee_id != Some(a) {
                let name = staff
                    .iter()
                    .find(|s| s.user_id == a)
                    .map(|s| s.name.clone());
                fx.history
                    .push(("assigned".into(), r.assignee_name.clone(), name.clone()));
                fx.notify.push((a, "assigned".into()));
                r.assignee_id = Some(a);
                r.assignee_name = name;
                r.routed = why;
                let status = r.status;
                if matches!(status, RequestStatus::New | RequestStatus::Triaged) {
                    self.apply_transition(&mut r, RequestStatus::Assigned, &who(p), &mut fx)
                        .await?;
                }
            }
        }
        self.write_one(&p.actor(), r, fx).await
    }

    async fn managers(&self) -> Result<Vec<User>, AppError> {
        Ok(self
            .store
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active && matches!(u.role, Role::Manager | Role::Admin))
            .collect())
    }

    /// Adds a public reply or an internal note; the first reply meets the response target.
    pub async fn add_message(
        &self,
        p: &Principal,
        id: RequestId,
        i: &MessageInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let mut r = self.visible_request(p, id).await?;
        let mut inv = Invalid::default();
        let kind = match i.kind.trim() {
            k @ ("reply" | "note") => k.to_string(),
            _ => {
                inv.push("kind", "message_kind_unknown");
                String::new()
            }
        };
        let body = inv.check("body", required_text(&i.body, 20_000));
        let attachments = decode_attachments(&i.attachments, &mut inv);
        inv.into_result()?;
        let mut fx = Effects::default();
        if kind == "reply" {
            let mut track = track_of(&r);
            track.respond(self.clock.now());
            set_track(&mut r, &track);
            if let Some((email, _)) = self.customer_email(r.customer_id).await? {
                fx.mails.push(Mail {
                    to: email,
                    subject: format!("[{}] {}", r.number, r.subject),
                    body: body.clone().unwrap_or_default(),
                });
            }
            fx.timeline
                .push(("request_reply".into(), format!("{} {}", r.number, who(p))));
        }
        fx.message = Some(NewMessage {
            kind,
            author_id: Some(p.user.id),
            author_label: p.user.name.clone(),
            body: body.unwrap_or_default(),
            channel: "staff".into(),
            message_id: None,
            attachments,
        });
        // A reply or note must not be lost to a concurrent change: retry once on a fresh
        // read if the request moved in between.
        let actor = p.actor();
        let done = self
            .store
            .update_requests(&actor, &[(r.clone(), fx.clone())], self.clock.now())
            .await?;
        if done.first() == Some(&true) {
            return Ok(());
        }
        let mut fresh = self.visible_request(p, id).await?;
        if r.responded_at.is_some() && fresh.responded_at.is_none() {
            let mut track = track_of(&fresh);
            track.respond(self.clock.now());
            set_track(&mut fresh, &track);
        }
        self.write_one(&actor, fresh, fx).await
    }

    /// A message from the customer (portal or mail) on their request. A request that was
    /// waiting for them goes back to work (its resolution clock runs again); a resolved
    /// one is reopened. Whoever has it is told.
    #[allow(clippy::too_many_arguments)]
    pub async fn customer_message(
        &self,
        actor: &Actor,
        r: ServiceRequest,
        author: &str,
        body: String,
        channel: &str,
        message_id: Option<String>,
        attachments: Vec<NewAttachment>,
    ) -> Result<(), AppError> {
        let id = r.id;
        let mut r = r;
        for attempt in 0..2 {
            let mut fx = Effects::default();
            let status = r.status;
            let next = match status {
                RequestStatus::WaitingCustomer => Some(RequestStatus::InProgress),
                RequestStatus::Resolved => Some(RequestStatus::Reopened),
                _ => None,
            };
            if let Some(to) = next {
                self.apply_transition(&mut r, to, author, &mut fx).await?;
            }
            if let Some(a) = r.assignee_id {
                fx.notify.push((a, "customer_replied".into()));
            }
            fx.timeline
                .push(("request_message".into(), format!("{} {channel}", r.number)));
            fx.message = Some(NewMessage {
                kind: "customer".into(),
                author_id: None,
                author_label: author.to_string(),
                body: body.clone(),
                channel: channel.into(),
                message_id: message_id.clone(),
                attachments: attachments.clone(),
            });
            fx.received_mail = message_id.clone();
            let done = self
                .store
                .update_requests(actor, &[(r, fx)], self.clock.now())
                .await?;
            if done.first() == Some(&true) {
                return Ok(());
            }
            if attempt == 0 {
                r = self
                    .store
                    .request(id)
                    .await?
                    .ok_or(AppError::NotFound("request"))?;
            } else {
                break;
            }
        }
        Err(AppError::Conflict {
            code: "version_conflict",
            field: None,
        })
    }

    pub async fn attachment(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
        let (request_id, meta, bytes) = self
            .store
            .attachment(id)
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        self.visible_request(p, request_id).await?;
        Ok((meta, bytes))
    }

    pub async fn notifications(&self, p: &Principal) -> Result<Vec<Notification>, AppError> {
        Ok(self.store.notifications(p.user.id, 50).await?)
    }

    pub async fn mark_notifications_read(&self, p: &Principal) -> Result<(), AppError> {
        Ok(self
            .store
            .mark_notifications_read(p.user.id, self.now())
            .await?)
    }

    /// A period of days from optional `from` and `to` (YYYY-MM-DD): `to` defaults to
    /// today and `from` to 29 days before it.
    pub fn period(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(jiff::civil::Date, jiff::civil::Date), AppError> {
        self.period_or(from, to, jiff::Span::new().days(29))
    }

    /// [`App::period`] with `from` defaulting to `back` before `to`.
    pub fn period_or(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        back: jiff::Span,
    ) -> Result<(jiff::civil::Date, jiff::civil::Date), AppError> {
        let mut inv = Invalid::default();
        let today = self.clock.today();
        let to = match to.filter(|s| !s.trim().is_empty()) {
            Some(s) => inv.check("to", aftercare_domain::error::parse_date(s)),
            None => Some(today),
        };
        let from = match from.filter(|s| !s.trim().is_empty()) {
            Some(s) => inv.check("from", aftercare_domain::error::parse_date(s)),
            None => to.map(|t| t.saturating_sub(back)),
        };
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            inv.push("from", "from_after_to");
        }
        // A period is about the service's own life: 1990 to 2100 covers it, and keeps the
        // day after `to` and the time zone arithmetic far from the calendar's ends.
        let bounds = jiff::civil::date(1990, 1, 1)..=jiff::civil::date(2100, 12, 31);
        for (field, d) in [("from", from), ("to", to)] {
            if d.is_some_and(|d| !bounds.contains(&d)) {
                inv.push(field, "date_out_of_range");
            }
        }
        inv.into_result()?;
        match (from, to) {
            (Some(f), Some(t)) => Ok((f, t)),
            _ => Err(AppError::Internal("validated input missing".into())),
        }
    }

    /// Complaint handling measures for the days [from, to] (Shanghai dates; default the
    /// last 30 days).
    pub async fn complaint_report(
        &self,
        p: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<ComplaintReport, AppError> {
        p.require(Permission::Read)?;
        let (from, to) = self.period(from, to)?;
        let (start, end) = day_bounds(from, to)?;
        let facts = self.store.complaints_between(start, end).await?;
        let minutes =
            |a: &Timestamp, b: &Option<Timestamp>| Some((*b.as_ref()? - *a).get_seconds() / 60);
        let pct = |xs: &mut Vec<i64>, q: f64| -> Option<i64> {
            if xs.is_empty() {
                return None;
            }
            xs.sort_unstable();
            let i = ((xs.len() - 1) as f64 * q).round() as usize;
            xs.get(i).copied()
        };
        let mut resp: Vec<i64> = facts
            .iter()
            .filter_map(|f| minutes(&f.created_at, &f.responded_at))
            .collect();
        let mut reso: Vec<i64> = facts
            .iter()
            .filter_map(|f| minutes(&f.created_at, &f.resolved_at))
            .collect();
        let answered = facts.iter().filter(|f| f.responded_at.is_some()).count();
        let resolved = facts.iter().filter(|f| f.resolved_at.is_some()).count();
        let on_time =
            |n: usize, late: usize| (n > 0).then(|| 100.0 * (n - late.min(n)) as f64 / n as f64);
        let mut causes: std::collections::BTreeMap<String, i64> = Default::default();
        for f in &facts {
            if let Some(c) = &f.root_cause {
                *causes.entry(c.clone()).or_default() += 1;
            }
        }
        let mut root_causes: Vec<(String, i64)> = causes.into_iter().collect();
        root_causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        root_causes.truncate(5);
        Ok(ComplaintReport {
            from: from.to_string(),
            to: to.to_string(),
            opened: facts.len() as i64,
            resolved: resolved as i64,
            escalated: facts.iter().filter(|f| f.escalated).count() as i64,
            response_median_minutes: pct(&mut resp, 0.5),
            response_p90_minutes: pct(&mut resp, 0.9),
            resolution_median_minutes: pct(&mut reso, 0.5),
            resolution_p90_minutes: pct(&mut reso, 0.9),
            response_on_time_pct: on_time(
                answered,
                facts
                    .iter()
                    .filter(|f| f.responded_at.is_some() && f.response_breached)
                    .count(),
            ),
            resolution_on_time_pct: on_time(
                resolved,
                facts
                    .iter()
                    .filter(|f| f.resolved_at.is_some() && f.resolution_breached)
                    .count(),
            ),
            root_causes,
        })
    }

    // ---- SLA sweep ----------------------------------------------------------------------

    /// Finds warnings and breaches due by now, notifies and escalates. Runs in batches
    /// until nothing is due; safe to run from several places at once (a request changed
    /// by someone else in between is left for the next round).
    pub async fn sla_sweep(&self) -> Result<SweepReport, AppError> {
        let actor = Actor::system("sla");
        let mut report = SweepReport::default();
        let now = self.clock.now();
        let config = self.store.desk_config().await?;
        let managers = self.managers().await?;
        let mut staff: Option<Vec<StaffProfile>> = None;
        let mut skipped = 0;
        let mut manager_breaches = 0;
        loop {
            let due = self.store.sla_due(now, 500).await?;
            if due.len() <= skipped {
                break;
            }
            let mut batch = Vec::with_capacity(due.len());
            for mut r in due {
                let mut track = track_of(&r);
                let events = track.sweep(now);
                set_track(&mut r, &track);
                report.examined += 1;
                let mut fx = Effects::default();
                let policy = config.policy(r.sla_policy_id);
                for e in &events {
                    let kind = match e {
                        SlaEvent::Warning => {
                            report.warnings += 1;
                            "sla_warning"
                        }
                        SlaEvent::ResponseBreached => {
                            report.response_breaches += 1;
                            "sla_response_breached"
                        }
                        SlaEvent::ResolutionBreached => {
                            report.resolution_breaches += 1;
                            "sla_resolution_breached"
                        }
                    };
                    fx.history.push((kind.into(), None, None));
                    if let Some(a) = r.assignee_id {
                        fx.notify.push((a, kind.into()));
                    }
                    if *e == SlaEvent::Warning {
                        continue;
                    }
                    let Some(policy) = policy else { continue };
                    let mut escalated = false;
                    if policy.notify_manager {
                        // Managers get one summary per sweep, not one per request: a
                        // mass breach must not bury them.
                        manager_breaches += 1;
                        escalated = true;
                    }
                    if policy.raise_priority {
                        let old = r.priority;
                        if old.raised() != old {
                            r.priority = old.raised();
                            fx.history.push((
                                "priority".into(),
                                Some(old.code().into()),
                                Some(r.priority.code().into()),
                            ));
                        }
                        escalated = true;
                    }
                    if policy.reassign && *e == SlaEvent::ResolutionBreached {
                        if staff.is_none() {
                            staff = Some(self.store.staff_profiles().await?);
                        }
                        // What routing needs is on the request (tier, city); escalation
                        // moves it away from whoever had it, account manager or not.
                        let facts = ServiceFacts {
                            name: r.customer_name.clone(),
                            tier: Some(r.tier.code().into()),
                            city: r.city.clone(),
                            account_manager_id: None,
                            email: None,
                            erased: false,
                            lang: None,
                        };
                        let cert = self
                            .certification_for(r.asset_id, self.clock.today())
                            .await?;
                        if let Some(staff) = staff.as_mut()
                            && let Some((a, _)) =
                                self.route(&r, &facts, staff, cert.as_ref(), r.assignee_id)?
                        {
                            // Loads follow the sweep's own assignments, so a mass breach
                            // is spread rather than all given to the least loaded person.
                            for s in staff.iter_mut() {
                                if s.user_id == a {
                                    s.load += 1;
                                } else if Some(s.user_id) == r.assignee_id {
                                    s.load -= 1;
                                }
                            }
                            let name = staff
                                .iter()
                                .find(|s| s.user_id == a)
                                .map(|s| s.name.clone());
                            fx.history.push((
                                "assigned".into(),
                                r.assignee_name.clone(),
                                name.clone(),
                            ));
                            fx.notify.push((a, "assigned".into()));
                            r.assignee_id = Some(a);
                            r.assignee_name = name;
                            r.routed = Some("escalation".into());
                        }
                        escalated = true;
                    }
                    if escalated && !r.escalated {
                        r.escalated = true;
                        report.escalations += 1;
                        fx.history
                            .push(("escalated".into(), None, Some("sla".into())));
                    }
                }
                batch.push((r, fx));
            }
            let done = self.store.update_requests(&actor, &batch, now).await?;
            // Requests changed by someone else meanwhile stay due and come back; stop once
            // a round only finds those.
            skipped = done.iter().filter(|d| !**d).count();
            if skipped == batch.len() {
                break;
            }
        }
        if manager_breaches > 0 {
            let ids: Vec<UserId> = managers.iter().map(|m| m.id).collect();
            self.store
                .notify(
                    &ids,
                    "sla_breaches",
                    Some(&manager_breaches.to_string()),
                    now,
                )
                .await?;
        }
        Ok(report)
    }

    // ---- visits -------------------------------------------------------------------------

    pub async fn book_visit(
        &self,
        p: &Principal,
        request_id: RequestId,
        i: &VisitInput,
    ) -> Result<VisitId, AppError> {
        p.require(Permission::WorkRequests)?;
        let r = self.visible_request(p, request_id).await?;
        let mut inv = Invalid::default();
        let starts = inv.check("starts_at", parse_instant(&i.starts_at));
        let ends = inv.check("ends_at", parse_instant(&i.ends_at));
        if let (Some(s), Some(e)) = (starts, ends) {
            if e <= s {
                inv.push("ends_at", "ends_before_start");
            } else if (e - s).get_seconds() > 12 * 3600 {
                inv.push("ends_at", "visit_too_long");
            }
        }
        let address = text("address", i.address.as_deref(), 500, &mut inv);
        let tech = self.store.user(i.technician_id).await?;
        if !tech.as_ref().is_some_and(|t| t.active) {
            inv.push("technician_id", "reference_not_found");
        }
        inv.into_result()?;
        let (Some(starts), Some(ends), Some(tech)) = (starts, ends, tech) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        self.book_visit_for(&p.actor(), &who(p), r, tech, starts, ends, address)
            .await
    }

    /// Books a visit on a request (staff or the customer's own choice of slot) and moves
    /// the request along: assigned to the technician if nobody has it, and scheduled.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn book_visit_for(
        &self,
        actor: &Actor,
        by: &str,
        mut r: ServiceRequest,
        tech: User,
        starts: Timestamp,
        ends: Timestamp,
        address: Option<String>,
    ) -> Result<VisitId, AppError> {
        let status = r.status;
        if !status.is_active() {
            return Err(AppError::Conflict {
                code: "request_not_active",
                field: Some("status".into()),
            });
        }
        // A product line that needs certification: the technician holds a certificate in
        // force on the day of the visit (staff booking and the customer's own booking alike).
        if let Some(c) = self
            .certification_for(r.asset_id, china_date(starts))
            .await?
            && !c.allows(tech.id, r.service_type)
        {
            return Err(Invalid::one("technician_id", "technician_not_certified").into());
        }
        let id = self
            .store
            .book_visit(
                actor,
                &NewVisit {
                    request_id: r.id,
                    technician_id: tech.id,
                    starts_at: starts,
                    ends_at: ends,
                    address: address.clone(),
                },
                self.clock.now(),
            )
            .await
            .map_err(AppError::from_store("visit"))?;
        // The request follows: assigned to the technician if nobody has it, and scheduled.
        let mut fx = Effects::default();
        let local = |t: Timestamp| t.to_zoned(china()).strftime("%Y-%m-%d %H:%M").to_string();
        let when = format!("{}–{}", local(starts), &local(ends)[11..]);
        fx.history.push((
            "visit_booked".into(),
            None,
            Some(format!("{when} {}", tech.name)),
        ));
        fx.timeline.push((
            "visit".into(),
            format!("{} visit booked {when} with {}", r.number, tech.name),
        ));
        if r.assignee_id.is_none() {
            r.assignee_id = Some(tech.id);
            r.assignee_name = Some(tech.name.clone());
            fx.notify.push((tech.id, "assigned".into()));
        }
        let mut status = r.status;
        if matches!(status, RequestStatus::New | RequestStatus::Triaged) {
            self.apply_transition(&mut r, RequestStatus::Assigned, by, &mut fx)
                .await?;
            status = RequestStatus::Assigned;
        }
        if status.next().contains(&RequestStatus::Scheduled) {
            self.apply_transition(&mut r, RequestStatus::Scheduled, by, &mut fx)
                .await?;
        }
        if let Some((email, lang)) = self.customer_email(r.customer_id).await? {
            let (subject, body) = crate::customer_mail::visit_booked(
                lang,
                &r.number,
                &when,
                &tech.name,
                address.as_deref().unwrap_or_default(),
            );
            fx.mails.push(Mail {
                to: email,
                subject,
                body,
            });
        }
        fx.notify.push((tech.id, "visit_booked".into()));
        // The visit stands even if the request moved meanwhile; its status is then left.
        if let Err(e) = self.write_one(actor, r, fx).await {
            tracing::warn!(error = %e, "visit booked but the request could not follow");
        }
        Ok(id)
    }

    pub async fn visits_of(
        &self,
        p: &Principal,
        technician_id: UserId,
        q: &VisitQuery,
    ) -> Result<Vec<Visit>, AppError> {
        p.require(Permission::Read)?;
        let mut inv = Invalid::default();
        let from = q
            .from
            .as_deref()
            .and_then(|s| inv.check("from", parse_instant(s)));
        let to =
            q.to.as_deref()
                .and_then(|s| inv.check("to", parse_instant(s)));
        inv.into_result()?;
        if !self.store.user(technician_id).await?.is_some_and(|u| {
            matches!(
                u.role,
                Role::Technician | Role::Agent | Role::Manager | Role::Admin
            )
        }) {
            return Err(AppError::NotFound("technician"));
        }
        // A partner outlet's staff see their outlet's visits only (address, customer and
        // fault of other outlets' requests are not theirs to read).
        let outlet = self.partner_outlet(p).await?;
        let visits = self
            .store
            .visits(&VisitFilter {
                technician_id: Some(technician_id),
                outlet_id: outlet,
                from,
                to,
                ..Default::default()
            })
            .await?;
        Ok(visits)
    }

    /// Gives the caller a secret calendar address of their own visits, for calendar apps
    /// that cannot sign in: `{public_url}/calendar/{secret}.ics`. Shown once; a new one
    /// replaces the old. Browser sessions only (an API token does not hand out secrets).
    pub async fn create_calendar_feed(&self, p: &Principal) -> Result<String, AppError> {
        if p.scopes.is_some() {
            return Err(AppError::Forbidden);
        }
        let secret = crate::auth::new_secret("c_");
        self.store
            .set_calendar_feed(
                &p.actor(),
                p.user.id,
                Some(&crate::auth::hash_secret(&secret)),
                self.clock.now(),
            )
            .await?;
        Ok(format!("{}/calendar/{secret}.ics", self.public_url))
    }

    /// Ends the caller's calendar subscription: the address answers not found from now on.
    pub async fn revoke_calendar_feed(&self, p: &Principal) -> Result<(), AppError> {
        Ok(self
            .store
            .set_calendar_feed(&p.actor(), p.user.id, None, self.clock.now())
            .await?)
    }

    /// When the caller's calendar subscription was made, if they have one.
    pub async fn calendar_feed_since(&self, p: &Principal) -> Result<Option<Timestamp>, AppError> {
        Ok(self.store.calendar_feed_since(p.user.id).await?)
    }

    /// The visits a calendar subscription secret opens, as an iCalendar feed: those of its
    /// owner, seen as the owner sees them. An unknown or revoked secret, or one whose
    /// owner is no longer active, is not found.
    pub async fn calendar_by_secret(&self, secret: &str) -> Result<String, AppError> {
        let not_found = || AppError::NotFound("calendar");
        let user_id = self
            .store
            .calendar_feed_user(&crate::auth::hash_secret(secret.trim()))
            .await?
            .ok_or_else(not_found)?;
        let user = self
            .store
            .user(user_id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(not_found)?;
        let p = Principal {
            role: user.role,
            user,
            scopes: None,
        };
        self.visits_ics(&p, user_id).await
    }

    /// The technician's visits as an iCalendar feed (RFC 5545).
    pub async fn visits_ics(
        &self,
        p: &Principal,
        technician_id: UserId,
    ) -> Result<String, AppError> {
        let visits = self
            .visits_of(p, technician_id, &VisitQuery::default())
            .await?;
        Ok(crate::ics::calendar(&visits, self.clock.now()))
    }

    /// Records what was done on a visit; a repair under warranty counts toward the item's
    /// repair limit.
    pub async fn report_visit(
        &self,
        p: &Principal,
        visit_id: VisitId,
        i: &VisitReportInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let mut v = self
            .store
            .visit(visit_id)
            .await?
            .ok_or(AppError::NotFound("visit"))?;
        let r = self.visible_request(p, v.request_id).await?;
        let mut inv = Invalid::default();
        let work = inv.check("work_done", required_text(&i.work_done, 5000));
        let parts = text("parts", i.parts.as_deref(), 2000, &mut inv);
        if !(1..=24 * 60).contains(&i.minutes_spent) {
            inv.push("minutes_spent", "out_of_range");
        }
        let confirmed = inv.check("confirmed_by", required_text(&i.confirmed_by, 100));
        let arrived = match i.arrived_at.as_deref().map(str::trim) {
            Some(a) if !a.is_empty() => match inv.check("arrived_at", parse_instant(a)) {
                // Half a day early or later than now is a typing mistake.
                Some(t)
                    if t > self.clock.now()
                        || t.duration_until(v.starts_at).as_secs() > 12 * 3600 =>
                {
                    inv.push("arrived_at", "arrival_out_of_range");
                    None
                }
                t => t,
            },
            _ => None,
        };
        // Every item of the service type's standard, marked done or not.
        let standard = self.standard_of(r.service_type).await?;
        let checklist = match aftercare_domain::standards::check_marks(&standard, &i.checklist) {
            Ok(marks) => marks,
            Err(e) => {
                inv.0.extend(e.0);
                vec![]
            }
        };
        inv.into_result()?;
        if v.status != VisitStatus::Booked {
            return Err(AppError::Conflict {
                code: "visit_not_booked",
                field: None,
            });
        }
        v.status = VisitStatus::Done;
        v.work_done = work;
        v.parts = parts;
        v.minutes_spent = Some(i.minutes_spent);
        v.confirmed_by = confirmed;
        v.reported_at = Some(self.clock.now());
        let missed = aftercare_domain::standards::missed(&checklist).join("、");
        v.checklist = checklist;
        v.arrived_at = arrived;
        v.on_time = arrived.map(|a| aftercare_domain::scorecard::on_time(v.starts_at, a));
        let mut fx = Effects::default();
        fx.history.push((
            "visit_reported".into(),
            None,
            Some(v.technician_name.clone()),
        ));
        if !missed.is_empty() {
            fx.history
                .push(("standard_missed".into(), None, Some(missed)));
        }
        fx.timeline.push((
            "visit".into(),
            format!(
                "{} visit done by {} ({} min): {}",
                r.number,
                v.technician_name,
                i.minutes_spent,
                v.work_done.clone().unwrap_or_default()
            ),
        ));
        if let Some(a) = r.asset_id {
            let kind = if r.service_type == ServiceType::Repair
                && r.charge == Some(warranty::Charge::Free)
            {
                "repair"
            } else {
                "service"
            };
            fx.asset_event = Some((
                a,
                kind.into(),
                format!("{}: {}", r.number, v.work_done.clone().unwrap_or_default()),
            ));
        }
        self.store
            .update_visit(&p.actor(), &v, &fx, self.clock.now())
            .await
            .map_err(AppError::from_store("visit"))
    }

    /// Cancels a booked visit (the technician's time is free again); a request that was
    /// scheduled for it goes back to assigned.
    pub async fn cancel_visit(
        &self,
        p: &Principal,
        visit_id: VisitId,
        reason: Option<&str>,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let mut v = self
            .store
            .visit(visit_id)
            .await?
            .ok_or(AppError::NotFound("visit"))?;
        let r = self.visible_request(p, v.request_id).await?;
        let reason = optional_text(reason, 500).map_err(|c| Invalid::one("reason", c))?;
        if v.status != VisitStatus::Booked {
            return Err(AppError::Conflict {
                code: "visit_not_booked",
                field: None,
            });
        }
        v.status = VisitStatus::Cancelled;
        let mut fx = Effects::default();
        fx.history.push((
            "visit_cancelled".into(),
            Some(v.technician_name.clone()),
            reason.clone(),
        ));
        fx.timeline.push((
            "visit".into(),
            format!(
                "{} visit cancelled{}",
                r.number,
                reason
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            ),
        ));
        if let Some((email, lang)) = self.customer_email(r.customer_id).await? {
            let (subject, body) =
                crate::customer_mail::visit_cancelled(lang, &r.number, reason.as_deref());
            fx.mails.push(Mail {
                to: email,
                subject,
                body,
            });
        }
        self.store
            .update_visit(&p.actor(), &v, &fx, self.clock.now())
            .await
            .map_err(AppError::from_store("visit"))?;
        if r.status == RequestStatus::Scheduled {
            let mut r = r;
            let mut fx = Effects::default();
            self.apply_transition(&mut r, RequestStatus::Assigned, &who(p), &mut fx)
                .await?;
            if let Err(e) = self.write_one(&p.actor(), r, fx).await {
                tracing::warn!(error = %e, "visit cancelled but the request could not follow");
            }
        }
        Ok(())
    }

    // ---- the customer's side ------------------------------------------------------------

    /// A customer rates a resolved request of theirs, once.
    pub async fn rate_request(
        &self,
        customer_id: CustomerId,
        actor: &Actor,
        request_id: RequestId,
        i: &RatingInput,
    ) -> Result<(), AppError> {
        let mut r = self
            .store
            .request(request_id)
            .await?
            .filter(|r| r.customer_id == customer_id)
            .ok_or(AppError::NotFound("request"))?;
        let mut inv = Invalid::default();
        if !(1..=5).contains(&i.stars) {
            inv.push("stars", "stars_out_of_range");
        }
        let comment = text("comment", i.comment.as_deref(), 2000, &mut inv);
        inv.into_result()?;
        if r.resolved_at.is_none() {
            return Err(AppError::Conflict {
                code: "not_resolved_yet",
                field: Some("stars".into()),
            });
        }
        if r.rating.is_some() {
            return Err(AppError::Conflict {
                code: "already_rated",
                field: Some("stars".into()),
            });
        }
        r.rating = Some(i.stars);
        r.rating_comment = comment.clone();
        r.rated_at = Some(self.clock.now());
        let track = track_of(&r);
        let mut fx = Effects::default();
        fx.history
            .push(("rated".into(), None, Some(i.stars.to_string())));
        fx.timeline.push((
            "rating".into(),
            format!(
                "{} rated {}/5 ({}){} — SLA: response {}, resolution {}",
                r.number,
                i.stars,
                "★".repeat(i.stars as usize),
                comment.map(|c| format!(": {c}")).unwrap_or_default(),
                track.response_outcome().code(),
                track.resolution_outcome(true).code()
            ),
        ));
        if let Some(a) = r.assignee_id {
            fx.notify.push((a, "rated".into()));
        }
        self.write_one(actor, r, fx).await
    }
}

pub(crate) fn decode_attachments(
    list: &[AttachmentInput],
    inv: &mut Invalid,
) -> Vec<NewAttachment> {
    use base64::Engine;
    let mut out = Vec::new();
    for (n, a) in list.iter().enumerate() {
        let field = format!("attachments[{n}]");
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(a.content_base64.trim())
        else {
            inv.push(field, "attachment_not_base64");
            continue;
        };
        if inv
            .check(
                field,
                check_attachment(&a.filename, &a.content_type, &bytes),
            )
            .is_some()
        {
            out.push(NewAttachment {
                filename: a.filename.trim().to_string(),
                content_type: a.content_type.trim().to_ascii_lowercase(),
                content: bytes,
            });
        }
    }
    out
}

/// The stored instants that bound the days [from, to] in China time: the start of `from`
/// and the start of the day after `to`.
pub(crate) fn day_bounds(
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<(Timestamp, Timestamp), AppError> {
    let start = |d: jiff::civil::Date| {
        d.to_zoned(china())
            .map(|z| z.timestamp())
            .map_err(|e| AppError::Internal(e.to_string()))
    };
    let after = to
        .tomorrow()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((start(from)?, start(after)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_checked_by_size_type_and_content() {
        assert_eq!(
            check_attachment("a.png", "image/png", b"\x89PNG...."),
            Ok(())
        );
        assert_eq!(
            check_attachment("a.png", "image/png", b"MZ\x90\x00"),
            Err("attachment_content_mismatch")
        );
        assert_eq!(
            check_attachment("a.exe", "application/x-msdownload", b"MZ"),
            Err("attachment_type_not_allowed")
        );
        assert_eq!(
            check_attachment("../a.txt", "text/plain", b"x"),
            Err("attachment_name_invalid")
        );
        assert_eq!(
            check_attachment("a.txt", "text/plain", &vec![b'x'; MAX_ATTACHMENT + 1]),
            Err("attachment_too_large")
        );
        assert_eq!(
            check_attachment("a.txt", "text/plain", b""),
            Err("attachment_empty")
        );
    }

    #[test]
    fn instants_take_an_offset_or_shanghai_time() {
        assert_eq!(
            parse_instant("2026-11-26T10:00").unwrap(),
            "2026-11-26T02:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_instant("2026-11-26T10:00:00+08:00").unwrap(),
            "2026-11-26T02:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(parse_instant("tomorrow"), Err("datetime_invalid"));
    }
}
