//! The agent workspace: queues with counts and bulk actions, the request page with the
//! customer 360 beside it, the new-request form, and technicians' visit calendars.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::{Tr, field_message};
use crate::kit::page::{
    Amount, Chrome, CsrfForm, Instant, PageQuery, Path, WarrantyView, invalid_lines, message_page,
    page_error, query_string, render, request_query_from, request_query_string, warranty_view,
};
use aftercare_app::AppError;
use aftercare_app::desk::*;
use aftercare_app::desk_model::*;
use aftercare_app::model::{Asset, Customer360, Page};
use aftercare_domain::account::Permission;
use aftercare_domain::ids::*;
use aftercare_domain::request::{Priority, ServiceType};
use aftercare_domain::{AssetId, UserId};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(queue_page))
        .route("/requests/bulk", post(bulk_submit))
        .route("/requests/views", post(view_submit))
        .route("/requests/views/{id}/delete", post(view_delete))
        .route("/requests/new", get(new_page).post(new_submit))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/print", get(print_page))
        .route("/requests/{id}/transition", post(transition_submit))
        .route("/requests/{id}/update", post(update_submit))
        .route("/requests/{id}/messages", post(message_submit))
        .route("/requests/{id}/visits", post(visit_submit))
        .route("/visits/{id}/report", post(report_submit))
        .route("/visits/{id}/cancel", post(cancel_visit_submit))
        .route("/requests/{id}/rmas", post(rma_submit))
        .route("/rmas/{id}/steps", post(rma_step_submit))
        .route("/visits", get(visits_page))
        .route("/visits/day", get(day_page))
        .route("/visits/calendar-feed", post(feed_submit))
        .route("/visits/calendar-feed/revoke", post(feed_revoke))
        .route("/calendar/{file}", get(calendar_feed))
        .route("/attachments/{id}", get(attachment_download))
        .route("/static/desk.js", get(desk_js))
        .route("/articles", get(articles_page).post(article_submit))
        .route("/reports/complaints", get(complaints_page))
        .route(
            "/notifications",
            get(notifications_page).post(notifications_read),
        )
        .route("/customers/{id}/tier", post(tier_submit))
        .route("/customers/{id}/lang", post(lang_submit))
}

async fn desk_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/desk.js"),
    )
}

/// Error messages for a form, each with the field it concerns.
fn messages(e: AppError, tr: &Tr) -> Vec<String> {
    match e {
        AppError::Invalid(inv) => invalid_lines(&inv, tr),
        AppError::Conflict { code, .. } => vec![field_message(tr.0, code)],
        other => vec![crate::error::ApiError::from_app(other, tr.0).body.message],
    }
}

// ---- queues ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "requests.html")]
struct QueuePage {
    c: Chrome,
    queue: String,
    counts: Vec<QueueCount>,
    page: Page<RequestRow>,
    next_href: Option<String>,
    statuses: Vec<&'static str>,
    priorities: Vec<&'static str>,
    flash: Option<String>,
    /// Any filter besides the queue is set (the filter panel opens).
    filtered: bool,
    /// The filters as a query string, for saving as a view and for the sort links.
    current: String,
    views: Vec<SavedView>,
    staff: Vec<StaffProfile>,
    outlets: Vec<aftercare_app::model::Outlet>,
    q: RequestQuery,
}

impl QueuePage {
    fn is(&self, v: &Option<String>, code: &str) -> bool {
        v.as_deref() == Some(code)
    }
    fn types(&self) -> Vec<&'static str> {
        ServiceType::ALL.iter().map(|t| t.code()).collect()
    }
    fn tiers(&self) -> Vec<&'static str> {
        aftercare_domain::customer::ValueTier::ALL
            .iter()
            .map(|t| t.code())
            .collect()
    }
    fn sla_states(&self) -> &'static [&'static str] {
        aftercare_app::ports::SlaState::CODES
    }
    fn sorts(&self) -> &'static [&'static str] {
        aftercare_app::ports::RequestSort::CODES
    }
    fn all_statuses(&self) -> Vec<&'static str> {
        aftercare_domain::request::RequestStatus::ALL
            .iter()
            .map(|t| t.code())
            .collect()
    }
    fn outlet_selected(&self, o: &aftercare_app::model::Outlet) -> bool {
        self.q.outlet_id == Some(o.id)
    }
    fn assignee_selected(&self, u: &StaffProfile) -> bool {
        self.q.assignee.as_deref() == Some(u.user_id.get().to_string().as_str())
    }
    /// The link of a saved view, and whether it is the view on screen.
    fn view_on(&self, v: &SavedView) -> bool {
        v.query == self.current
    }
    fn due(&self, r: &RequestRow) -> String {
        r.resolution_due
            .as_ref()
            .map(Instant::local)
            .unwrap_or_default()
    }
    fn sla_class(&self, r: &RequestRow) -> &'static str {
        if r.resolution_breached || r.response_breached {
            "bad"
        } else if r.warned {
            "warn"
        } else {
            ""
        }
    }
}

async fn queue_page(
    State(s): State<AppState>,
    session: Session,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let (mut query, done) = request_query_from(raw.as_deref().unwrap_or_default());
    let queue = query.queue.clone().unwrap_or_else(|| "mine".into());
    query.queue = Some(queue.clone());
    query.limit = Some(50);
    let p = &session.principal;
    let filtered = query.status.is_some()
        || query.service_type.is_some()
        || query.priority.is_some()
        || query.tier.is_some()
        || query.assignee.is_some()
        || query.outlet_id.is_some()
        || query.sla.is_some()
        || query.q.is_some()
        || query.opened_from.is_some()
        || query.opened_to.is_some()
        || query.resolved_from.is_some()
        || query.resolved_to.is_some()
        || query.sort.is_some();
    let (page, counts, views, staff, outlets) = match tokio::try_join!(
        s.app.requests(p, &query),
        s.app.queue_counts(p),
        s.app.saved_views(p),
        s.app.staff_profiles(p),
        s.app.outlets(p),
    ) {
        Ok(x) => x,
        Err(AppError::Invalid(inv)) => {
            // A filter typed into the address bar that is not one: say which, keep the rest.
            let tr = Tr(session.lang);
            let msg = format!(
                "{} {}",
                tr.t("queue.filter_invalid"),
                invalid_lines(&inv, &tr).join(" ")
            );
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &msg,
                "/requests",
                session.lang,
            );
        }
        Err(e) => return page_error(e, session.lang),
    };
    let current = request_query_string(&query);
    let next_href = page.next_cursor.as_deref().map(|c| {
        format!(
            "/requests?{current}&{}",
            query_string(&[("cursor", Some(c))])
        )
    });
    render(QueuePage {
        c: Chrome::for_session(&session, "requests"),
        queue,
        counts,
        page,
        next_href,
        statuses: vec![
            "triaged",
            "in_progress",
            "waiting_parts",
            "resolved",
            "closed",
        ],
        priorities: Priority::ALL.iter().map(|p| p.code()).collect(),
        flash: done.filter(|d| !crate::auth::DONE.contains(&d.as_str())),
        filtered,
        current,
        views,
        staff: staff.into_iter().filter(|s| s.active).collect(),
        outlets,
        q: query,
    })
}

/// Saves the queue's current filters under a name for the signed-in person.
async fn view_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let encoded = f.s("query");
    let (q, _) = request_query_from(&encoded);
    let encoded = request_query_string(&q);
    match s
        .app
        .save_view(&session.principal, &f.s("name"), &q, &encoded)
        .await
    {
        Ok(_) => Redirect::to(&format!("/requests?{encoded}&done=saved")).into_response(),
        Err(e) => {
            let tr = Tr(session.lang);
            let msg = format!(
                "{} {}",
                tr.t("queue.view_not_saved"),
                messages(e, &tr).join(" ")
            );
            message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &msg,
                "javascript:history.back()",
                session.lang,
            )
        }
    }
}

async fn view_delete(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, _): CsrfForm,
) -> Response {
    match s.app.delete_view(&session.principal, id).await {
        Ok(()) => Redirect::to("/requests?done=saved").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// Applies one action to every selected request; each succeeds or fails on its own, and
/// the queue says how many of each.
async fn bulk_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let ids: Vec<RequestId> = f.all("ids").iter().filter_map(|i| i.parse().ok()).collect();
    let action = f.s("action");
    let p = &session.principal;
    let (mut ok, mut failed) = (0, 0);
    for id in ids {
        let Ok(d) = s.app.request_detail(p, id).await else {
            failed += 1;
            continue;
        };
        let version = d.request.version;
        let r = if action == "assign_me" {
            s.app
                .patch_request(
                    p,
                    id,
                    &RequestPatch {
                        version,
                        assignee_id: Some(p.user.id),
                        ..Default::default()
                    },
                )
                .await
        } else if let Some(pr) = action.strip_prefix("priority:") {
            s.app
                .patch_request(
                    p,
                    id,
                    &RequestPatch {
                        version,
                        priority: Some(pr.into()),
                        ..Default::default()
                    },
                )
                .await
        } else if let Some(st) = action.strip_prefix("status:") {
            s.app
                .transition(
                    p,
                    id,
                    &TransitionInput {
                        status: st.into(),
                        version,
                        ..Default::default()
                    },
                )
                .await
        } else {
            Err(AppError::Invalid(aftercare_domain::Invalid::one(
                "action",
                "action_unknown",
            )))
        };
        match r {
            Ok(()) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    let tr = Tr(session.lang);
    let done = format!(
        "{}: {ok} · {}: {failed}",
        tr.t("bulk.done"),
        tr.t("bulk.failed")
    );
    Redirect::to(&format!(
        "/requests?{}",
        query_string(&[("queue", Some(&f.s("queue"))), ("done", Some(&done))])
    ))
    .into_response()
}

// ---- new request ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "request_form.html")]
struct NewPage {
    c: Chrome,
    customer: Option<Customer360>,
    asset_id: Option<AssetId>,
    types: Vec<&'static str>,
    priorities: Vec<&'static str>,
    subject: String,
    description: String,
    service_type: String,
    errors: Vec<String>,
    /// What was typed to find the customer (name, phone or serial).
    customer_q: String,
    /// Several customers match it: the agent picks one.
    choices: Vec<aftercare_app::model::CustomerRow>,
}

impl NewPage {
    fn picked(&self, id: &AssetId) -> bool {
        self.asset_id == Some(*id)
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NewQ {
    customer_id: Option<CustomerId>,
    asset_id: Option<AssetId>,
}

async fn new_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<NewQ>,
) -> Response {
    let customer = match q.customer_id {
        Some(id) => match s.app.customer_360(&session.principal, id, None).await {
            Ok(c) => Some(c),
            Err(e) => return page_error(e, session.lang),
        },
        None => None,
    };
    render(NewPage {
        c: Chrome::for_session(&session, "requests"),
        customer,
        asset_id: q.asset_id,
        types: ServiceType::ALL.iter().map(|t| t.code()).collect(),
        priorities: Priority::ALL.iter().map(|p| p.code()).collect(),
        subject: String::new(),
        description: String::new(),
        service_type: "repair".into(),
        errors: vec![],
        customer_q: String::new(),
        choices: vec![],
    })
}

/// The customer the agent named by name, phone (any spelling) or serial: one match is
/// taken; none or several come back to the form, several as choices.
async fn find_customer(
    s: &AppState,
    session: &Session,
    typed: &str,
) -> Result<Result<CustomerId, Vec<aftercare_app::model::CustomerRow>>, AppError> {
    let q = aftercare_app::input::CustomerQuery {
        q: Some(typed.trim().to_owned()),
        limit: Some(8),
        ..Default::default()
    };
    let found = s.app.customers(&session.principal, &q).await?.items;
    Ok(match found.as_slice() {
        [one] => Ok(one.id),
        _ => Err(found),
    })
}

async fn new_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let customer_q = f.s("customer_q");
    let mut choices = vec![];
    let mut customer_id: CustomerId = f.s("customer_id").trim().parse().unwrap_or_default();
    if customer_id.get() == 0 && !customer_q.trim().is_empty() {
        match find_customer(&s, &session, &customer_q).await {
            Ok(Ok(id)) => customer_id = id,
            Ok(Err(found)) => choices = found,
            Err(e) => return page_error(e, session.lang),
        }
    }
    if !choices.is_empty() {
        let page = NewPage {
            c: Chrome::for_session(&session, "requests"),
            customer: None,
            asset_id: None,
            types: ServiceType::ALL.iter().map(|t| t.code()).collect(),
            priorities: Priority::ALL.iter().map(|p| p.code()).collect(),
            subject: f.s("subject"),
            description: f.s("description"),
            service_type: f.s("service_type"),
            errors: vec![],
            customer_q,
            choices,
        };
        return render(page);
    }
    let input = RequestInput {
        customer_id,
        asset_id: f.opt("asset_id").and_then(|a| a.parse().ok()),
        service_type: f.s("service_type"),
        priority: f.opt("priority"),
        channel: f.opt("channel"),
        subject: f.s("subject"),
        description: f.s("description"),
        ..Default::default()
    };
    match s.app.open_request(&session.principal, &input).await {
        Ok((id, _)) => Redirect::to(&format!("/requests/{id}?done=created")).into_response(),
        Err(e) => {
            let tr = Tr(session.lang);
            let customer = s
                .app
                .customer_360(&session.principal, input.customer_id, None)
                .await
                .ok();
            let page = NewPage {
                c: Chrome::for_session(&session, "requests"),
                customer,
                asset_id: input.asset_id,
                types: ServiceType::ALL.iter().map(|t| t.code()).collect(),
                priorities: Priority::ALL.iter().map(|p| p.code()).collect(),
                subject: input.subject,
                description: input.description,
                service_type: input.service_type,
                errors: messages(e, &tr),
                customer_q,
                choices: vec![],
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response()
        }
    }
}

// ---- the request page -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    c: Chrome,
    d: RequestDetail,
    customer: Option<Customer360>,
    asset: Option<(Asset, WarrantyView)>,
    staff: Vec<StaffProfile>,
    priorities: Vec<&'static str>,
    errors: Vec<String>,
    can_work: bool,
    /// The offers that apply to the customer now.
    offers: Vec<aftercare_app::campaign_model::ApplicableOffer>,
    offer_customer: i64,
    offer_request: Option<i64>,
    /// Vouchers given from this request.
    vouchers: Vec<aftercare_app::care_model::Voucher>,
    today: jiff::civil::Date,
    /// Every service type's checklist, for the visit report.
    standards: Vec<(ServiceType, Vec<String>)>,
    /// The warranty claim filed on it, as the reader may see it.
    claim: Option<aftercare_app::claims_model::Claim>,
    /// The reader may file a warranty claim on it (a partner outlet's request, none yet).
    can_claim: bool,
}

impl RequestPage {
    fn claim_yuan(&self, m: impl crate::pages::claims::Fen) -> String {
        aftercare_domain::catalog::format_money(m.fen_of())
    }
    fn standard(&self, t: &ServiceType) -> Vec<String> {
        standard_in(&self.standards, *t)
    }
    fn voucher_value(&self, v: &aftercare_app::care_model::Voucher) -> String {
        crate::pages::care::voucher_value(v)
    }
    fn voucher_state(&self, v: &aftercare_app::care_model::Voucher) -> String {
        crate::pages::care::voucher_state(&self.c.tr, v, self.today)
    }
    fn why(&self, w: &aftercare_domain::offer::Why) -> String {
        crate::pages::campaigns::why_text(&self.c.tr, w)
    }
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    /// A message as the reader sees it: a system message in their language, the rest as
    /// written.
    fn message_text(&self, m: &aftercare_app::desk_model::RequestMessage) -> String {
        if m.kind != "system" {
            return m.body.clone();
        }
        let Ok(serde_json::Value::Object(v)) = serde_json::from_str(&m.body) else {
            return m.body.clone();
        };
        let code = v.get("t").and_then(|t| t.as_str()).unwrap_or_default();
        let mut text = self.c.tr.t(&format!("sysmsg.{code}"));
        for (k, val) in &v {
            if let Some(s) = val.as_str() {
                text = text.replace(&format!("{{{k}}}"), s);
            }
        }
        text
    }
    fn opt_when(&self, at: &Option<jiff::Timestamp>) -> String {
        at.as_ref().map(Instant::local).unwrap_or_default()
    }
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
    fn remaining(&self) -> String {
        match self.d.sla.remaining_seconds {
            Some(s) => {
                let (sign, s) = if s < 0 { ("-", -s) } else { ("", s) };
                format!("{sign}{}h{:02}m", s / 3600, (s % 3600) / 60)
            }
            None => String::new(),
        }
    }
    fn is_complaint(&self) -> bool {
        self.d.request.service_type == ServiceType::Complaint
    }
    /// The steps of a return the signed-in person may take: approving and rejecting are
    /// for those who manage the desk.
    fn rma_next(&self, x: &Rma) -> Vec<String> {
        let decide = self.c.can("desk");
        x.status
            .next(x.kind)
            .iter()
            .filter(|n| decide || !matches!(n.code(), "approved" | "rejected"))
            .map(|n| n.code().to_string())
            .collect()
    }
    fn is_asset(&self, id: &AssetId) -> bool {
        self.d.request.asset_id == Some(*id)
    }
    fn types(&self) -> Vec<&'static str> {
        ServiceType::ALL.iter().map(|t| t.code()).collect()
    }
    /// A history value in the reader's language: the codes of a status, priority or type
    /// change are translated; names and amounts show as they are.
    fn hist_value(&self, kind: &str, v: &str) -> String {
        let prefix = match kind {
            "status" => "rstatus",
            "priority" => "priority",
            "service_type" | "type_confirmed" => "stype",
            "created" => "rchannel",
            // "name (matched)": the name, and why routing chose them in words.
            "assigned" => {
                if let Some((name, why)) = v
                    .strip_suffix(')')
                    .and_then(|v| v.rsplit_once(" ("))
                    .filter(|(_, why)| matches!(*why, "account_manager" | "matched" | "escalation"))
                {
                    return format!("{name}（{}）", self.c.tr.k("routed", why));
                }
                return v.to_owned();
            }
            _ => return v.to_owned(),
        };
        self.c.tr.k(prefix, v)
    }
    fn said(&self, e: &aftercare_app::model::TimelineEntry) -> String {
        crate::timeline_text::summary(&self.c.tr, &e.kind, &e.summary, e.params.as_ref())
    }
    fn actor(&self, label: &str) -> String {
        crate::kit::page::actor_label(&self.c.tr, label)
    }
    /// The type the text read as, while no agent has settled it.
    fn open_suggestion(&self) -> Option<(ServiceType, i64)> {
        let r = &self.d.request;
        r.suggested_type
            .filter(|_| !r.type_confirmed)
            .map(|t| (t, r.suggested_confidence.unwrap_or(0)))
    }
    fn is_assignee(&self, id: &UserId) -> bool {
        self.d.request.assignee_id == Some(*id)
    }
    fn technicians(&self) -> Vec<&StaffProfile> {
        self.staff.iter().filter(|s| s.active).collect()
    }
}

async fn request_view(
    s: &AppState,
    session: &Session,
    id: RequestId,
    errors: Vec<String>,
) -> Result<RequestPage, AppError> {
    let p = &session.principal;
    let d = s.app.request_detail(p, id).await?;
    let customer = s
        .app
        .customer_360(p, d.request.customer_id, None)
        .await
        .ok();
    let tr = Tr(session.lang);
    let asset = match (d.request.asset_id, &customer) {
        (Some(a), Some(c)) => c
            .assets
            .iter()
            .find(|x| x.id == a)
            .map(|x| (x.clone(), warranty_view(&tr, x.warranty.as_ref()))),
        _ => None,
    };
    let staff = s.app.staff_profiles(p).await?;
    // Warranty claims: filed by the partner outlet the request belongs to (or a manager
    // for it), once a visit was reported.
    let claim = s.app.claim_of_request(p, d.request.id).await?;
    let partner_request = match d.request.outlet_id {
        Some(o) => s
            .app
            .outlets(p)
            .await?
            .iter()
            .any(|x| x.id == o && x.kind == "partner"),
        None => false,
    };
    let me_partner = staff.iter().any(|x| x.user_id == p.user.id && x.partner);
    let can_claim = claim.is_none()
        && partner_request
        && (me_partner || p.role.allows(Permission::ManageDesk))
        && p.role.allows(Permission::WorkRequests)
        && d.visits.iter().any(|v| v.status.code() == "done");
    // Offers are for those who work the request and may see the customer.
    let offers = match &customer {
        Some(c) if c.customer.erased_at.is_none() => {
            s.app.offers_on(p, c).await.unwrap_or_default()
        }
        _ => vec![],
    };
    let offer_customer = d.request.customer_id.get();
    let offer_request = Some(d.request.id.get());
    let vouchers = match &customer {
        Some(c) => s
            .app
            .care_on(p, c)
            .await
            .map(|c| c.vouchers)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.request_id == Some(d.request.id.get()))
            .collect(),
        None => vec![],
    };
    Ok(RequestPage {
        c: Chrome::for_session(session, "requests"),
        d,
        customer,
        asset,
        staff,
        priorities: Priority::ALL.iter().map(|p| p.code()).collect(),
        errors,
        can_work: p.require(Permission::WorkRequests).is_ok(),
        offers,
        offer_customer,
        offer_request,
        vouchers,
        today: s.app.clock.today(),
        standards: s.app.standards(p).await?,
        claim,
        can_claim,
    })
}

/// A service type's checklist among all of them.
fn standard_in(all: &[(ServiceType, Vec<String>)], t: ServiceType) -> Vec<String> {
    all.iter()
        .find(|(k, _)| *k == t)
        .map(|(_, items)| items.clone())
        .unwrap_or_default()
}

/// The arrival time of a visit report form: the time typed, on the day nearest the visit's
/// start (a visit booked for 23:40 was reached at 00:10 the next day). A time that does not
/// read as one goes to the service as typed, which refuses it with its reason.
fn arrival_of(f: &crate::kit::page::FormData) -> Option<String> {
    let typed = f.s("arrived_time");
    let time = typed.trim();
    if time.is_empty() {
        return None;
    }
    let starts = f.s("visit_starts").trim().parse::<jiff::Timestamp>();
    let read = match (starts, time.parse::<jiff::civil::Time>()) {
        (Ok(starts), Ok(t)) => aftercare_domain::calendar::china_time_near(starts, t),
        _ => None,
    };
    Some(read.map_or_else(|| time.to_string(), |at| at.to_string()))
}

/// The checklist marks of a visit report form: every item sent, done where ticked.
fn checklist_of(f: &crate::kit::page::FormData) -> Vec<aftercare_domain::standards::ChecklistMark> {
    use aftercare_domain::standards::MAX_ITEMS;
    // One more than any standard has: the report is refused as too long, cheaply.
    let done: std::collections::HashSet<usize> = f
        .all("done")
        .iter()
        .take(MAX_ITEMS + 1)
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    f.all("checklist")
        .into_iter()
        .take(MAX_ITEMS + 1)
        .enumerate()
        .map(|(i, item)| aftercare_domain::standards::ChecklistMark {
            item,
            done: done.contains(&i),
        })
        .collect()
}

/// The request page again, with the errors of a form sent from it.
pub(crate) async fn request_with_errors(
    s: &AppState,
    session: &Session,
    id: RequestId,
    errors: Vec<String>,
) -> Response {
    match request_view(s, session, id, errors).await {
        Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn request_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<RequestId>,
) -> Response {
    match request_view(&s, &session, id, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

/// A request as a service order (服务单) to print: the customer, the item and its
/// warranty, the fault, every visit's report, the costs and lines to sign.
#[derive(Template)]
#[template(path = "request_print.html")]
struct PrintPage {
    c: Chrome,
    d: RequestDetail,
    customer: Option<Customer360>,
    asset: Option<(Asset, WarrantyView)>,
}

impl PrintPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
}

async fn print_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<RequestId>,
) -> Response {
    match request_view(&s, &session, id, vec![]).await {
        Ok(p) => render(PrintPage {
            c: p.c,
            d: p.d,
            customer: p.customer,
            asset: p.asset,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

/// After a form on the request page: back to it, or the page again with what was wrong.
async fn after(
    s: &AppState,
    session: &Session,
    id: RequestId,
    r: Result<(), AppError>,
) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/requests/{id}?done=saved")).into_response(),
        Err(e) => {
            let tr = Tr(session.lang);
            let status = match &e {
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                AppError::NotFound(_) => return page_error(e, session.lang),
                AppError::Forbidden => return page_error(e, session.lang),
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            match request_view(s, session, id, messages(e, &tr)).await {
                Ok(p) => (status, render(p)).into_response(),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

fn version(f: &crate::kit::page::FormData) -> i64 {
    f.s("version").trim().parse().unwrap_or(0)
}

async fn transition_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = TransitionInput {
        status: f.s("status"),
        version: version(&f),
        root_cause: f.opt("root_cause"),
        remedy: f.opt("remedy"),
        note: f.opt("note"),
    };
    let r = s.app.transition(&session.principal, id, &input).await;
    after(&s, &session, id, r).await
}

async fn update_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = RequestPatch {
        version: version(&f),
        priority: f.opt("priority"),
        assignee_id: f.opt("assignee_id").and_then(|a| a.parse().ok()),
        parts_cost: f.opt("parts_cost"),
        labour_cost: f.opt("labour_cost"),
        root_cause: f.opt("root_cause"),
        remedy: f.opt("remedy"),
        escalate: f.opt("escalate").map(|_| true),
        service_type: f.opt("service_type"),
        asset_id: f.opt("asset_id").and_then(|a| a.parse().ok()),
    };
    let r = s.app.patch_request(&session.principal, id, &input).await;
    after(&s, &session, id, r).await
}

/// A reply or note with files: a multipart form, so the CSRF token is checked here.
async fn message_submit(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<RequestId>,
    req: axum::extract::Request,
) -> Response {
    let up = match crate::kit::page::form_with_files(req).await {
        Ok(up) => up,
        Err(status) => return page_error(too_big_or_bad(status), session.lang),
    };
    let (f, files) = (up.form, up.files);
    if let Some(status) = up.refused {
        return after(&s, &session, id, Err(too_big_or_bad(status))).await;
    }
    if f.get("_csrf") != Some(session.csrf.as_str()) {
        return (StatusCode::FORBIDDEN, Tr(session.lang).t("error.csrf")).into_response();
    }
    let input = MessageInput {
        kind: f.s("kind"),
        body: f.s("body"),
        attachments: files,
    };
    let r = s.app.add_message(&session.principal, id, &input).await;
    after(&s, &session, id, r).await
}

/// A form that could not be read: too large (or too many files), or malformed.
pub(crate) fn too_big_or_bad(status: StatusCode) -> AppError {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "attachments_too_many"
    } else {
        "form_unreadable"
    };
    AppError::Invalid(aftercare_domain::Invalid::one("files", code))
}

async fn visit_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = VisitInput {
        technician_id: f.s("technician_id").trim().parse().unwrap_or_default(),
        starts_at: f.s("starts_at"),
        ends_at: f.s("ends_at"),
        address: f.opt("address"),
    };
    let r = s
        .app
        .book_visit(&session.principal, id, &input)
        .await
        .map(|_| ());
    after(&s, &session, id, r).await
}

async fn report_submit(
    State(s): State<AppState>,
    Path(id): Path<VisitId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let request_id: RequestId = f.s("request_id").trim().parse().unwrap_or_default();
    let input = VisitReportInput {
        work_done: f.s("work_done"),
        parts: f.opt("parts"),
        minutes_spent: f.s("minutes_spent").trim().parse().unwrap_or(0),
        confirmed_by: f.s("confirmed_by"),
        checklist: checklist_of(&f),
        arrived_at: arrival_of(&f),
    };
    let r = s.app.report_visit(&session.principal, id, &input).await;
    // From the technician's day, back to the day.
    let day = f.s("day");
    if r.is_ok() && aftercare_domain::error::parse_date(&day).is_ok() {
        let technician = f.s("technician").trim().parse::<i64>().unwrap_or_default();
        let who = if technician > 0 {
            format!("&technician={technician}")
        } else {
            String::new()
        };
        return Redirect::to(&format!("/visits/day?date={day}{who}&done=saved")).into_response();
    }
    after(&s, &session, request_id, r).await
}

async fn rma_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = aftercare_app::rma::RmaInput {
        kind: f.s("kind"),
        reason: f.s("reason"),
    };
    let r = s
        .app
        .create_rma(&session.principal, id, &input)
        .await
        .map(|_| ());
    after(&s, &session, id, r).await
}

async fn rma_step_submit(
    State(s): State<AppState>,
    Path(id): Path<RmaId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let request_id: RequestId = f.s("request_id").trim().parse().unwrap_or_default();
    let input = aftercare_app::rma::RmaStepInput {
        status: f.s("status"),
        note: f.opt("note"),
        received_on: f.opt("received_on"),
        replacement_serial: f.opt("replacement_serial"),
        refund_amount: f.opt("refund_amount"),
    };
    let r = s
        .app
        .rma_step(&session.principal, id, &input)
        .await
        .map(|_| ());
    after(&s, &session, request_id, r).await
}

/// Sets a customer's value tier by hand (until tiers are computed); their future
/// requests follow it.
async fn tier_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = TierInput { tier: f.s("tier") };
    match s
        .app
        .set_customer_tier(&session.principal, id, &input)
        .await
    {
        Ok(()) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn lang_submit(
    State(s): State<AppState>,
    Path(id): Path<CustomerId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    match s
        .app
        .set_customer_lang(&session.principal, id, &f.s("lang"))
        .await
    {
        Ok(()) => Redirect::to(&format!("/customers/{id}?done=saved")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn cancel_visit_submit(
    State(s): State<AppState>,
    Path(id): Path<VisitId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let request_id: RequestId = f.s("request_id").trim().parse().unwrap_or_default();
    let r = s
        .app
        .cancel_visit(&session.principal, id, f.opt("reason").as_deref())
        .await;
    after(&s, &session, request_id, r).await
}

async fn attachment_download(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    match s.app.attachment(&session.principal, id).await {
        Ok((meta, bytes)) => crate::api::desk::attachment_response(&meta, bytes),
        Err(e) => page_error(e, session.lang),
    }
}

// ---- visits ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits.html")]
struct VisitsPage {
    c: Chrome,
    technician: UserId,
    staff: Vec<StaffProfile>,
    visits: Vec<Visit>,
    /// When the signed-in person's calendar subscription was made, if they have one.
    feed_since: Option<jiff::Timestamp>,
    /// The subscription address, right after it was made (it is shown once).
    feed_url: Option<String>,
}

impl VisitsPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VisitsQ {
    technician: Option<UserId>,
}

async fn visits_view(
    s: &AppState,
    session: &Session,
    technician: Option<UserId>,
    feed_url: Option<String>,
) -> Response {
    let technician = technician.unwrap_or(session.principal.user.id);
    let p = &session.principal;
    let all = VisitQuery::default();
    let r = tokio::try_join!(
        s.app.visits_of(p, technician, &all),
        s.app.staff_profiles(p),
        s.app.calendar_feed_since(p)
    );
    match r {
        Ok((visits, staff, feed_since)) => render(VisitsPage {
            c: Chrome::for_session(session, "visits"),
            technician,
            staff,
            visits,
            feed_since,
            feed_url,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

async fn visits_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<VisitsQ>,
) -> Response {
    visits_view(&s, &session, q.technician, None).await
}

// ---- a technician's day -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "day.html")]
struct DayPage {
    c: Chrome,
    technician: UserId,
    staff: Vec<StaffProfile>,
    /// The day shown, in China, and the days before and after it.
    day: jiff::civil::Date,
    prev: jiff::civil::Date,
    next: jiff::civil::Date,
    today: bool,
    visits: Vec<Visit>,
    can_work: bool,
    standards: Vec<(ServiceType, Vec<String>)>,
}

impl DayPage {
    fn standard(&self, t: &ServiceType) -> Vec<String> {
        standard_in(&self.standards, *t)
    }
    fn time(&self, at: &jiff::Timestamp) -> String {
        at.to_zoned(aftercare_domain::calendar::china())
            .strftime("%H:%M")
            .to_string()
    }
    fn day_label(&self) -> String {
        crate::kit::page::day_label(self.day, &self.c.tr)
    }
    /// A phone number as people read it: 138 0013 8000.
    fn phone_label(&self, phone: &str) -> String {
        aftercare_domain::contact::PhoneNumber::parse(phone)
            .map(|p| p.display())
            .unwrap_or_else(|_| phone.to_string())
    }
    /// A phone number as a `tel:` link takes it: digits and a leading plus only.
    fn tel(&self, phone: &str) -> String {
        phone
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
    /// The address opened in the phone's map app (AMap's URI, which also opens in a
    /// browser), for directions.
    fn map_href(&self, address: &str) -> String {
        format!(
            "https://uri.amap.com/search?keyword={}",
            form_urlencoded::byte_serialize(address.as_bytes()).collect::<String>()
        )
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DayQ {
    technician: Option<UserId>,
    date: Option<String>,
}

/// A technician's day on a phone: the visits of one day in order, each with the
/// customer's phone to call, the address to navigate to, the fault and the report form.
async fn day_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<DayQ>,
) -> Response {
    let p = &session.principal;
    let today = s.app.clock.today();
    let day = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(d) => match aftercare_domain::error::parse_date(d) {
            Ok(d) => d,
            Err(code) => {
                let inv = aftercare_domain::Invalid::one("date", code);
                return page_error(AppError::Invalid(inv), session.lang);
            }
        },
    };
    let technician = q.technician.unwrap_or(p.user.id);
    let tz = aftercare_domain::calendar::china();
    let start = |d: jiff::civil::Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().to_string())
            .unwrap_or_default()
    };
    let next = day.tomorrow().unwrap_or(day);
    let prev = day.yesterday().unwrap_or(day);
    let range = VisitQuery {
        from: Some(start(day)),
        to: Some(start(next)),
    };
    match tokio::try_join!(
        s.app.visits_of(p, technician, &range),
        s.app.staff_profiles(p),
        s.app.standards(p)
    ) {
        Ok((mut visits, staff, standards)) => {
            // Visits that began the day before and run into this one are not this day's.
            visits.retain(|v| v.starts_at.to_zoned(tz.clone()).date() == day);
            visits.sort_by_key(|v| (v.starts_at, v.id.get()));
            render(DayPage {
                c: Chrome::for_session(&session, "visits"),
                technician,
                staff: staff
                    .into_iter()
                    .filter(|s| {
                        s.active
                            && matches!(
                                s.role,
                                aftercare_domain::account::Role::Technician
                                    | aftercare_domain::account::Role::Agent
                            )
                    })
                    .collect(),
                day,
                prev,
                next,
                today: day == today,
                visits,
                can_work: p.role.allows(Permission::WorkRequests),
                standards,
            })
        }
        Err(e) => page_error(e, session.lang),
    }
}

/// Makes (or remakes) the signed-in person's calendar subscription and shows its address.
async fn feed_submit(State(s): State<AppState>, CsrfForm(session, _): CsrfForm) -> Response {
    match s.app.create_calendar_feed(&session.principal).await {
        Ok(url) => visits_view(&s, &session, None, Some(url)).await,
        Err(e) => page_error(e, session.lang),
    }
}

async fn feed_revoke(State(s): State<AppState>, CsrfForm(session, _): CsrfForm) -> Response {
    match s.app.revoke_calendar_feed(&session.principal).await {
        Ok(()) => Redirect::to("/visits").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// A calendar subscription: calendar apps fetch it without signing in, by its secret.
async fn calendar_feed(State(s): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(secret) = file.strip_suffix(".ics") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s.app.calendar_by_secret(secret).await {
        Ok(ics) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            ics,
        )
            .into_response(),
        Err(AppError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "calendar feed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

// ---- articles -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "articles.html")]
struct ArticlesPage {
    c: Chrome,
    articles: Vec<Article>,
    /// What the form shows: the article being changed, or what was typed when it was
    /// refused.
    edit: Option<Article>,
    /// The article being changed (none: a new one).
    editing: Option<ArticleId>,
    errors: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ArticlesQ {
    edit: Option<ArticleId>,
}

async fn articles_view(
    s: &AppState,
    session: &Session,
    edit: Option<ArticleId>,
    errors: Vec<String>,
) -> Result<ArticlesPage, AppError> {
    let articles = s.app.articles(&session.principal, "").await?;
    let editing = edit;
    let edit = edit.and_then(|id| articles.iter().find(|a| a.id == id).cloned());
    Ok(ArticlesPage {
        c: Chrome::for_session(session, "articles"),
        articles,
        edit,
        editing,
        errors,
    })
}

async fn articles_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<ArticlesQ>,
) -> Response {
    match articles_view(&s, &session, q.edit, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn article_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let input = aftercare_app::portal::ArticleInput {
        kind: f.s("kind"),
        product_id: f.opt("product_id").and_then(|p| p.parse().ok()),
        title_zh_hans: f.s("title_zh_hans"),
        title_zh_hant: f.s("title_zh_hant"),
        title_en: f.s("title_en"),
        body_zh_hans: f.s("body_zh_hans"),
        body_zh_hant: f.s("body_zh_hant"),
        body_en: f.s("body_en"),
        published: f.opt("published").is_some(),
    };
    let id: Option<ArticleId> = f.opt("id").and_then(|i| i.parse().ok());
    let r = match id {
        Some(id) => s.app.update_article(&session.principal, id, &input).await,
        None => s
            .app
            .create_article(&session.principal, &input)
            .await
            .map(|_| ()),
    };
    match r {
        Ok(()) => Redirect::to("/articles").into_response(),
        Err(e) => {
            let tr = Tr(session.lang);
            match articles_view(&s, &session, id, messages(e, &tr)).await {
                Ok(mut p) => {
                    // The form keeps what was typed.
                    p.edit = Some(Article {
                        id: id.unwrap_or(ArticleId(0)),
                        kind: input.kind,
                        product_id: input.product_id,
                        title_zh_hans: input.title_zh_hans,
                        title_zh_hant: input.title_zh_hant,
                        title_en: input.title_en,
                        body_zh_hans: input.body_zh_hans,
                        body_zh_hant: input.body_zh_hant,
                        body_en: input.body_en,
                        published: input.published,
                        updated_at: s.app.clock.now(),
                    });
                    (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response()
                }
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

// ---- complaint measures ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "complaints.html")]
struct ComplaintsPage {
    c: Chrome,
    r: ComplaintReport,
}

impl ComplaintsPage {
    fn mins(&self, m: &Option<i64>) -> String {
        match m {
            Some(m) if *m >= 60 => format!("{}h{:02}m", m / 60, m % 60),
            Some(m) => format!("{m}m"),
            None => "—".into(),
        }
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "—".into())
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PeriodQ {
    from: Option<String>,
    to: Option<String>,
}

async fn complaints_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<PeriodQ>,
) -> Response {
    match s
        .app
        .complaint_report(&session.principal, q.from.as_deref(), q.to.as_deref())
        .await
    {
        Ok(r) => render(ComplaintsPage {
            c: Chrome::for_session(&session, "requests"),
            r,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

// ---- notifications --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    c: Chrome,
    items: Vec<Notification>,
}

impl NotificationsPage {
    fn when(&self, at: impl Instant) -> String {
        at.local()
    }
}

async fn notifications_page(State(s): State<AppState>, session: Session) -> Response {
    match s.app.notifications(&session.principal).await {
        Ok(items) => render(NotificationsPage {
            c: Chrome::for_session(&session, "notifications"),
            items,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

async fn notifications_read(State(s): State<AppState>, CsrfForm(session, _): CsrfForm) -> Response {
    match s.app.mark_notifications_read(&session.principal).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::arrival_of;
    use crate::kit::page::FormData;

    fn arrival(starts: &str, time: &str) -> Option<String> {
        let body = format!("visit_starts={starts}&arrived_time={time}");
        arrival_of(&FormData::parse(body.as_bytes()))
    }

    #[test]
    fn an_arrival_time_is_read_on_the_day_nearest_the_visit() {
        // 23:40 in China on the 7th; the technician got there at 00:10 on the 8th.
        let starts = "2026-12-07T15:40:00Z";
        assert_eq!(
            arrival(starts, "00:10").as_deref(),
            Some("2026-12-07T16:10:00Z")
        );
        assert_eq!(
            arrival(starts, "23:35").as_deref(),
            Some("2026-12-07T15:35:00Z")
        );
        // Nothing typed, nothing sent; what does not read as a time goes on as typed for
        // the service to refuse, and so does a time without the visit's start.
        assert_eq!(arrival(starts, "%20"), None);
        assert_eq!(arrival(starts, "25:99").as_deref(), Some("25:99"));
        assert_eq!(arrival("", "09:00").as_deref(), Some("09:00"));
    }
}
