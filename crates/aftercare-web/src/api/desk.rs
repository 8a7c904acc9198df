//! The service desk's part of the REST API: requests, their messages and moves, visits,
//! SLA configuration, staff profiles and notifications.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::kit::json::Path;
use crate::kit::json::{ApiJson, ApiQuery, ApiResult, Created, idempotent};
use aftercare_app::desk::*;
use aftercare_app::desk_model::*;
use aftercare_app::model::Page;
use aftercare_domain::ids::*;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, open_request))
        .routes(routes!(queue_counts))
        .routes(routes!(get_request, patch_request))
        .routes(routes!(request_by_number))
        .routes(routes!(transition_request))
        .routes(routes!(add_message))
        .routes(routes!(get_attachment))
        .routes(routes!(book_visit))
        .routes(routes!(report_visit))
        .routes(routes!(technician_visits))
        .routes(routes!(technician_calendar))
        .routes(routes!(sla_sweep))
        .routes(routes!(list_calendars, create_calendar))
        .routes(routes!(update_calendar))
        .routes(routes!(add_calendar_days))
        .routes(routes!(list_sla_policies, create_sla_policy))
        .routes(routes!(list_staff_profiles))
        .routes(routes!(set_staff_profile))
        .routes(routes!(set_customer_tier))
        .routes(routes!(set_customer_language))
        .routes(routes!(list_notifications))
        .routes(routes!(mail_inbound))
        .routes(routes!(list_articles, create_article))
        .routes(routes!(update_article))
        .routes(routes!(create_rma))
        .routes(routes!(rma_step))
        .routes(routes!(complaint_report))
        .routes(routes!(cancel_visit))
        .routes(routes!(mark_notifications_read))
        .routes(routes!(unread_notifications))
        .routes(routes!(service_dashboard))
        .routes(routes!(list_message_texts, create_message_text))
        .routes(routes!(update_message_text))
        .routes(routes!(promise_check))
        .routes(routes!(request_replies))
        .routes(routes!(list_views, save_view))
        .routes(routes!(delete_view))
}

/// The promise check: each time a library text promises ("24小时上门", "reply within 2
/// hours"), how the latest 5,000 requests of the last 90 days kept it; `flagged` when more
/// than one in ten took longer (with at least 20 measured).
#[utoipa::path(get, path = "/api/v1/message-texts/promise-check", tag = "service desk",
    responses((status = 200, body = Vec<PromiseCheck>)))]
async fn promise_check(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<PromiseCheck>>> {
    Ok(Json(s.app.promise_checks(&c.principal).await?))
}

/// The message library: every text for desk managers, the approved ones for the rest.
#[utoipa::path(get, path = "/api/v1/message-texts", tag = "service desk",
    responses((status = 200, body = Vec<MessageText>)))]
async fn list_message_texts(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<MessageText>>> {
    Ok(Json(s.app.message_texts(&c.principal).await?))
}

/// Add a text to the message library (desk managers). Fields in braces:
/// `{customer_name}`, `{request_number}`, `{visit_time}`, `{agent_name}`,
/// `{product_name}`, `{warranty_end}`, `{maintenance_due}`, `{voucher_code}`,
/// `{voucher_value}`, `{voucher_until}` (the last six filled in by campaigns).
#[utoipa::path(post, path = "/api/v1/message-texts", tag = "service desk",
    request_body = MessageTextInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_message_text(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<MessageTextInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_message_text(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Change a library text: its words, or its status (approve, retire). Send the version
/// read; a text changed since is refused (409).
#[utoipa::path(put, path = "/api/v1/message-texts/{id}", tag = "service desk",
    params(("id" = i64, Path, description = "The text's id")), request_body = MessageTextInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_message_text(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MessageTextInput>,
) -> ApiResult<StatusCode> {
    s.app.update_message_text(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct RepliesQuery {
    /// Words in the text's name or body.
    pub q: Option<String>,
}

/// Canned replies for a request: the approved library texts (matching `q`), filled in
/// for this request in its customer's language.
#[utoipa::path(get, path = "/api/v1/requests/{id}/replies", tag = "service desk",
    params(("id" = i64, Path, description = "The request's id"), RepliesQuery),
    responses((status = 200, body = Vec<FilledReply>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn request_replies(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiQuery(q): ApiQuery<RepliesQuery>,
) -> ApiResult<Json<Vec<FilledReply>>> {
    Ok(Json(
        s.app.replies_for(&c.principal, id, q.q.as_deref()).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardUnit {
    /// `week` (the default: the last 12 weeks) or `month` (the last 12 months).
    pub unit: Option<String>,
}

/// The service dashboard: open, breaching and breached requests now; per week or month,
/// requests opened and resolved, SLA attainment, complaints, CSAT, NPS and loyalty moves.
/// A partner outlet's staff get their outlet's figures.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "service desk", params(DashboardUnit),
    responses((status = 200, body = aftercare_app::dashboard::ServiceDashboard),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn service_dashboard(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<DashboardUnit>,
) -> ApiResult<Json<aftercare_app::dashboard::ServiceDashboard>> {
    let months = match q.unit.as_deref() {
        None | Some("week") => false,
        Some("month") => true,
        Some(_) => {
            return Err(
                aftercare_app::AppError::Invalid(aftercare_domain::Invalid::one(
                    "unit",
                    "unit_unknown",
                ))
                .into(),
            );
        }
    };
    Ok(Json(s.app.service_dashboard(&c.principal, months).await?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Unread {
    /// Unread notifications, counted up to 100.
    pub unread: i64,
}

/// How many of the caller's notifications are unread (the top bar's badge).
#[utoipa::path(get, path = "/api/v1/notifications/unread", tag = "service desk",
    responses((status = 200, body = Unread)))]
async fn unread_notifications(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Unread>> {
    let unread = s.app.unread_notifications(&c.principal).await?;
    Ok(Json(Unread { unread }))
}

/// The caller's saved views of the request queue.
#[utoipa::path(get, path = "/api/v1/views", tag = "service desk",
    responses((status = 200, body = Vec<SavedView>)))]
async fn list_views(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<SavedView>>> {
    Ok(Json(s.app.saved_views(&c.principal).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewInput {
    /// At most 60 characters; a view of the same name is replaced.
    pub name: String,
    /// The filters as a query string of `GET /api/v1/requests`, e.g.
    /// `queue=all&service_type=complaint&sla=warned`.
    pub query: String,
}

/// Save a view of the request queue for the caller (at most 50 per person).
#[utoipa::path(post, path = "/api/v1/views", tag = "service desk", request_body = ViewInput,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn save_view(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<ViewInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let (q, _) = crate::kit::page::request_query_from(&input.query);
    let encoded = crate::kit::page::request_query_string(&q);
    let id = s
        .app
        .save_view(&c.principal, &input.name, &q, &encoded)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Delete one of the caller's saved views.
#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "service desk",
    params(("id" = i64, Path, description = "The view's id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_view(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_view(&c.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "service desk",
    responses((status = 204)))]
async fn mark_notifications_read(State(s): State<AppState>, c: ApiCaller) -> ApiResult<StatusCode> {
    s.app.mark_notifications_read(&c.principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CancelInput {
    /// Why, for the history and the customer's mail.
    pub reason: Option<String>,
}

/// Cancel a booked visit; the technician's time is free again and a scheduled request
/// goes back to assigned.
#[utoipa::path(post, path = "/api/v1/visits/{id}/cancel", tag = "field service", params(("id" = i64, Path, description = "The visit's id")), request_body = CancelInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn cancel_visit(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<VisitId>,
    ApiJson(input): ApiJson<CancelInput>,
) -> ApiResult<StatusCode> {
    s.app
        .cancel_visit(&c.principal, id, input.reason.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub(crate) struct PeriodQuery {
    /// First day, YYYY-MM-DD (default 29 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default today).
    pub to: Option<String>,
}

/// How fast complaints were handled in a period: time to first response and to
/// resolution (median, 90th percentile), shares within SLA, escalations, root causes.
#[utoipa::path(get, path = "/api/v1/reports/complaints", tag = "service desk", params(PeriodQuery),
    responses((status = 200, body = ComplaintReport), (status = 422, body = ErrorBody)))]
async fn complaint_report(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<ComplaintReport>> {
    s.app
        .complaint_report(&c.principal, q.from.as_deref(), q.to.as_deref())
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Ask for a return, exchange or goodwill refund of the request's item. Returns and
/// exchanges must be within the 三包 windows on the day the request was opened
/// (`return_window_closed`, `exchange_not_due`); one open authorisation per item.
#[utoipa::path(post, path = "/api/v1/requests/{id}/rmas", tag = "service desk", params(("id" = i64, Path, description = "The request's id")), request_body = aftercare_app::rma::RmaInput,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rma(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<aftercare_app::rma::RmaInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_rma(&c.principal, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// Move an authorisation on: approved or rejected (managers), received, completed (with
/// the replacement's serial for an exchange, the refund amount otherwise).
#[utoipa::path(post, path = "/api/v1/rmas/{id}/steps", tag = "service desk", params(("id" = i64, Path, description = "The return's id")), request_body = aftercare_app::rma::RmaStepInput,
    responses((status = 200, body = Rma), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rma_step(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RmaId>,
    ApiJson(input): ApiJson<aftercare_app::rma::RmaStepInput>,
) -> ApiResult<Json<Rma>> {
    s.app
        .rma_step(&c.principal, id, &input)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct ArticleQuery {
    /// Words that must all appear in the title or text (any language).
    q: Option<String>,
}

/// Manuals, FAQs and articles (drafts included), newest first.
#[utoipa::path(get, path = "/api/v1/articles", tag = "portal", params(ArticleQuery),
    responses((status = 200, body = Vec<Article>)))]
async fn list_articles(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ArticleQuery>,
) -> ApiResult<Json<Vec<Article>>> {
    s.app
        .articles(&c.principal, q.q.as_deref().unwrap_or(""))
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Write an article in three languages; published ones are found in the portal's help.
#[utoipa::path(post, path = "/api/v1/articles", tag = "portal", request_body = aftercare_app::portal::ArticleInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn create_article(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<aftercare_app::portal::ArticleInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_article(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// Replace an article.
#[utoipa::path(put, path = "/api/v1/articles/{id}", tag = "portal", params(("id" = i64, Path, description = "The article's id")), request_body = aftercare_app::portal::ArticleInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_article(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<ArticleId>,
    ApiJson(input): ApiJson<aftercare_app::portal::ArticleInput>,
) -> ApiResult<StatusCode> {
    s.app.update_article(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take in one raw mail (RFC 822, any charset) as a mail server delivers it: a reply to
/// the request its subject names when it comes from that request's customer, otherwise a
/// new request (and a new customer for an unknown sender). Up to 1 MB; larger mails go
/// through `aftercare mail-in`.
#[utoipa::path(post, path = "/api/v1/mail/inbound", tag = "service desk",
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 200, body = aftercare_app::mail::MailOutcome), (status = 422, body = ErrorBody)))]
async fn mail_inbound(
    State(s): State<AppState>,
    c: ApiCaller,
    body: axum::body::Bytes,
) -> ApiResult<Json<aftercare_app::mail::MailOutcome>> {
    s.app
        .mail_in_raw(&c.principal, &body)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// List service requests: a queue (mine, team, unassigned, breaching, all) ordered by
/// urgency then age, or every request newest first; narrowed by status, type, priority,
/// customer tier, assignee, outlet, SLA state and words, and sorted by `sort`.
#[utoipa::path(get, path = "/api/v1/requests", tag = "service desk", params(RequestQuery),
    responses((status = 200, body = Page<RequestRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_requests(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<Page<RequestRow>>> {
    s.app
        .requests(&c.principal, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Open a service request. The SLA policy, who pays (from the item's warranty) and the
/// assignee (routing) are decided here.
#[utoipa::path(post, path = "/api/v1/requests", tag = "service desk", request_body = RequestInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn open_request(
    State(s): State<AppState>,
    c: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<RequestInput>,
) -> ApiResult<Response> {
    idempotent(&s, &c, &headers, "request", &input, || async {
        s.app
            .open_request(&c.principal, &input)
            .await
            .map(|(id, _)| id)
            .map_err(ApiError::from)
    })
    .await
}

/// The size of each queue, counted up to 1000 (`capped` beyond).
#[utoipa::path(get, path = "/api/v1/requests/counts", tag = "service desk",
    responses((status = 200, body = Vec<QueueCount>)))]
async fn queue_counts(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<QueueCount>>> {
    s.app
        .queue_counts(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One request with its SLA, allowed next statuses, messages, history and visits.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "service desk", params(("id" = i64, Path, description = "The request's id")),
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody)))]
async fn get_request(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
) -> ApiResult<Json<RequestDetail>> {
    s.app
        .request_detail(&c.principal, id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// A request by its number, e.g. SR-2026-000123.
#[utoipa::path(get, path = "/api/v1/requests/by-number/{number}", tag = "service desk",
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody)))]
async fn request_by_number(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(number): Path<String>,
) -> ApiResult<Json<RequestDetail>> {
    s.app
        .request_by_number(&c.principal, &number)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Change assignee (0: let routing choose), priority, costs, complaint findings, or
/// escalate. Quote the version read.
#[utoipa::path(patch, path = "/api/v1/requests/{id}", tag = "service desk", params(("id" = i64, Path, description = "The request's id")), request_body = RequestPatch,
    responses((status = 200, body = RequestDetail), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_request(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<RequestPatch>,
) -> ApiResult<Json<RequestDetail>> {
    s.app.patch_request(&c.principal, id, &input).await?;
    get_request(State(s), c, Path(id)).await
}

/// Move a request to another status. Illegal moves are refused
/// (`transition_not_allowed`); resolving a complaint needs root cause and remedy.
#[utoipa::path(post, path = "/api/v1/requests/{id}/transitions", tag = "service desk", params(("id" = i64, Path, description = "The request's id")), request_body = TransitionInput,
    responses((status = 200, body = RequestDetail), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transition_request(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<TransitionInput>,
) -> ApiResult<Json<RequestDetail>> {
    s.app.transition(&c.principal, id, &input).await?;
    get_request(State(s), c, Path(id)).await
}

/// Add a public reply (mailed to the customer; the first one meets the response target)
/// or an internal note, with attachments (images, PDF, office files; 10 MB each).
#[utoipa::path(post, path = "/api/v1/requests/{id}/messages", tag = "service desk", params(("id" = i64, Path, description = "The request's id")), request_body = MessageInput,
    responses((status = 201, body = RequestDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_message(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<MessageInput>,
) -> ApiResult<(StatusCode, Json<RequestDetail>)> {
    s.app.add_message(&c.principal, id, &input).await?;
    let Json(d) = get_request(State(s), c, Path(id)).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Download an attachment.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "service desk",
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
async fn get_attachment(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (meta, bytes) = s.app.attachment(&c.principal, id).await?;
    Ok(attachment_response(&meta, bytes))
}

/// A stored file as a download; never rendered inline (it came from outside).
pub(crate) fn attachment_response(meta: &AttachmentMeta, bytes: Vec<u8>) -> Response {
    let encoded: String = meta
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, meta.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Book a technician's visit for a request; a time that overlaps another booked visit of
/// the same technician is refused (`visit_clash`).
#[utoipa::path(post, path = "/api/v1/requests/{id}/visits", tag = "field service", params(("id" = i64, Path, description = "The request's id")), request_body = VisitInput,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn book_visit(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<RequestId>,
    ApiJson(input): ApiJson<VisitInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.book_visit(&c.principal, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// Report a visit: work done, parts, time spent, who confirmed it for the customer.
#[utoipa::path(post, path = "/api/v1/visits/{id}/report", tag = "field service", params(("id" = i64, Path, description = "The visit's id")), request_body = VisitReportInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_visit(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<VisitId>,
    ApiJson(input): ApiJson<VisitReportInput>,
) -> ApiResult<StatusCode> {
    s.app.report_visit(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A technician's visits in a period.
#[utoipa::path(get, path = "/api/v1/technicians/{id}/visits", tag = "field service", params(("id" = i64, Path, description = "The user's id"), VisitQuery),
    responses((status = 200, body = Vec<Visit>), (status = 422, body = ErrorBody)))]
async fn technician_visits(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<UserId>,
    ApiQuery(q): ApiQuery<VisitQuery>,
) -> ApiResult<Json<Vec<Visit>>> {
    s.app
        .visits_of(&c.principal, id, &q)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// A technician's visits as an iCalendar feed, for any calendar application.
#[utoipa::path(get, path = "/api/v1/technicians/{id}/visits.ics", tag = "field service", params(("id" = i64, Path, description = "The user's id")),
    responses((status = 200, description = "iCalendar (RFC 5545)", content_type = "text/calendar")))]
async fn technician_calendar(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<UserId>,
) -> ApiResult<Response> {
    let ics = s.app.visits_ics(&c.principal, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        ics,
    )
        .into_response())
}

/// Run the SLA sweep now (it also runs every 30 seconds in the server): warnings,
/// breaches, escalations.
#[utoipa::path(post, path = "/api/v1/sla/sweep", tag = "service desk",
    responses((status = 200, body = SweepReport), (status = 403, body = ErrorBody)))]
async fn sla_sweep(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<SweepReport>> {
    c.principal
        .require(aftercare_domain::account::Permission::ManageDesk)?;
    s.app.sla_sweep().await.map(Json).map_err(ApiError::from)
}

/// Business calendars: working hours per weekday, time zone, holidays, make-up workdays.
#[utoipa::path(get, path = "/api/v1/calendars", tag = "service desk",
    responses((status = 200, body = Vec<Calendar>)))]
async fn list_calendars(State(s): State<AppState>, c: ApiCaller) -> ApiResult<Json<Vec<Calendar>>> {
    s.app
        .calendars(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create a business calendar.
#[utoipa::path(post, path = "/api/v1/calendars", tag = "service desk", request_body = CalendarBody,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn create_calendar(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<CalendarBody>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_calendar(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Replace a business calendar (holidays of a new year, changed hours).
#[utoipa::path(put, path = "/api/v1/calendars/{id}", tag = "service desk", request_body = CalendarBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_calendar(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CalendarBody>,
) -> ApiResult<StatusCode> {
    s.app.update_calendar(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Load a year's public holidays and make-up working days (调休) into a calendar, from the
/// State Council's notice typed as CSV (`date,kind` with `holiday`/`workday` or 休/班 per
/// line) or from an iCalendar file (the "中国节假日" calendars of calendar apps). Days
/// already there stay; a day given as the other kind moves. A file with an error adds
/// nothing and its errors name the line (`days[12]`).
#[utoipa::path(post, path = "/api/v1/calendars/{id}/days", tag = "service desk",
    request_body(content((String = "text/csv"), (String = "text/calendar"))),
    responses((status = 200, body = DaysAdded), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_calendar_days(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<DaysAdded>> {
    s.app
        .add_calendar_days(&c.principal, id, &body)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// SLA policies; the most specific one matching tier, priority and service type applies.
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "service desk",
    responses((status = 200, body = Vec<SlaPolicy>)))]
async fn list_sla_policies(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<SlaPolicy>>> {
    s.app
        .sla_policies(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Create an SLA policy.
#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "service desk", request_body = SlaPolicyInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)))]
async fn create_sla_policy(
    State(s): State<AppState>,
    c: ApiCaller,
    ApiJson(input): ApiJson<SlaPolicyInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s.app.create_sla_policy(&c.principal, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Staff who take requests: skills, regions, outlet, capacity and current load.
#[utoipa::path(get, path = "/api/v1/staff-profiles", tag = "service desk",
    responses((status = 200, body = Vec<StaffProfile>)))]
async fn list_staff_profiles(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<StaffProfile>>> {
    s.app
        .staff_profiles(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Set who takes which requests: a staff member's skills, regions, outlet and capacity.
#[utoipa::path(put, path = "/api/v1/staff-profiles/{user_id}", tag = "service desk", params(("user_id" = i64, Path, description = "The user's id")), request_body = StaffProfileInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_staff_profile(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(user_id): Path<UserId>,
    ApiJson(input): ApiJson<StaffProfileInput>,
) -> ApiResult<StatusCode> {
    s.app
        .set_staff_profile(&c.principal, user_id, &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a customer's value tier by hand (high, medium, low); future requests follow it.
#[utoipa::path(put, path = "/api/v1/customers/{id}/tier", tag = "customers", params(("id" = i64, Path, description = "The customer's id")), request_body = TierInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_customer_tier(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<TierInput>,
) -> ApiResult<StatusCode> {
    s.app.set_customer_tier(&c.principal, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct LanguageInput {
    /// `zh-Hans`, `zh-Hant` or `en`; empty: not known (mail in simplified Chinese).
    pub lang: String,
}

/// Set the language a customer gets mail in: request receipts, visit bookings,
/// resolutions and surveys are written in it.
#[utoipa::path(put, path = "/api/v1/customers/{id}/language", tag = "customers", params(("id" = i64, Path, description = "The customer's id")), request_body = LanguageInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_customer_language(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<CustomerId>,
    ApiJson(input): ApiJson<LanguageInput>,
) -> ApiResult<StatusCode> {
    s.app
        .set_customer_lang(&c.principal, id, &input.lang)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's latest notifications: assignments, SLA warnings and breaches, escalations.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "service desk",
    responses((status = 200, body = Vec<Notification>)))]
async fn list_notifications(
    State(s): State<AppState>,
    c: ApiCaller,
) -> ApiResult<Json<Vec<Notification>>> {
    s.app
        .notifications(&c.principal)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
