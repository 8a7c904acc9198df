//! The `DeskStore` port over SQL: requests, their messages and history, SLA configuration,
//! staff profiles, visits and notifications.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::model::Page;
use aftercare_app::ports::*;
use aftercare_domain::calendar::china_date;
use aftercare_domain::request::{Priority, RequestStatus, request_number};
use async_trait::async_trait;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

const REQ_COLS: &str = "r.id, r.number, r.customer_id, c.name AS customer_name, r.asset_id, r.order_id, \
    r.service_type, r.phase, r.status, r.priority, r.channel, r.subject, r.description, r.tier, r.city, \
    r.outlet_id, r.assignee_id, u.name AS assignee_name, r.routed, r.sla_policy_id, r.response_due, \
    r.responded_at, r.resolution_due, r.resolution_left, r.warn_at, r.warn_seconds, r.warned, \
    r.response_breached, r.resolution_breached, r.sla_next, r.escalated, r.charge, r.charge_reason, \
    r.parts_cost, r.labour_cost, r.root_cause, r.remedy, r.rating, r.rating_comment, r.rated_at, \
    r.resolved_at, r.closed_at, r.created_at, r.updated_at, r.version";

const REQ_FROM: &str = "FROM requests r JOIN customers c ON c.id = r.customer_id \
    LEFT JOIN users u ON u.id = r.assignee_id";

#[derive(sqlx::FromRow)]
struct ReqRec {
    id: i64,
    number: String,
    customer_id: i64,
    customer_name: String,
    asset_id: Option<i64>,
    order_id: Option<i64>,
    service_type: String,
    phase: String,
    status: String,
    priority: String,
    channel: String,
    subject: String,
    description: String,
    tier: String,
    city: Option<String>,
    outlet_id: Option<i64>,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    routed: Option<String>,
    sla_policy_id: Option<i64>,
    response_due: Option<String>,
    responded_at: Option<String>,
    resolution_due: Option<String>,
    resolution_left: Option<i64>,
    warn_at: Option<String>,
    warn_seconds: i64,
    warned: i64,
    response_breached: i64,
    resolution_breached: i64,
    sla_next: Option<String>,
    escalated: i64,
    charge: Option<String>,
    charge_reason: Option<String>,
    parts_cost: i64,
    labour_cost: i64,
    root_cause: Option<String>,
    remedy: Option<String>,
    rating: Option<i64>,
    rating_comment: Option<String>,
    rated_at: Option<String>,
    resolved_at: Option<String>,
    closed_at: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
}

impl From<ReqRec> for ServiceRequest {
    fn from(r: ReqRec) -> Self {
        ServiceRequest {
            id: r.id,
            number: r.number,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            asset_id: r.asset_id,
            order_id: r.order_id,
            service_type: r.service_type,
            phase: r.phase,
            status: r.status,
            priority: r.priority,
            channel: r.channel,
            subject: r.subject,
            description: r.description,
            tier: r.tier,
            city: r.city,
            outlet_id: r.outlet_id,
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_name,
            routed: r.routed,
            sla_policy_id: r.sla_policy_id,
            response_due: r.response_due,
            responded_at: r.responded_at,
            resolution_due: r.resolution_due,
            resolution_left: r.resolution_left,
            warn_at: r.warn_at,
            warn_seconds: r.warn_seconds,
            warned: r.warned != 0,
            response_breached: r.response_breached != 0,
            resolution_breached: r.resolution_breached != 0,
            sla_next: r.sla_next,
            escalated: r.escalated != 0,
            charge: r.charge,
            charge_reason: r.charge_reason,
            parts_cost: r.parts_cost,
            labour_cost: r.labour_cost,
            root_cause: r.root_cause,
            remedy: r.remedy,
            rating: r.rating,
            rating_comment: r.rating_comment,
            rated_at: r.rated_at,
            resolved_at: r.resolved_at,
            closed_at: r.closed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

const ROW_COLS: &str = "r.id, r.number, r.customer_id, c.name AS customer_name, r.subject, r.service_type, \
    r.status, r.priority, r.tier, r.assignee_id, u.name AS assignee_name, r.response_due, r.responded_at, \
    r.resolution_due, r.warned, r.response_breached, r.resolution_breached, r.created_at, r.priority_rank";

#[derive(sqlx::FromRow)]
struct RowRec {
    id: i64,
    number: String,
    customer_id: i64,
    customer_name: String,
    subject: String,
    service_type: String,
    status: String,
    priority: String,
    tier: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    response_due: Option<String>,
    responded_at: Option<String>,
    resolution_due: Option<String>,
    warned: i64,
    response_breached: i64,
    resolution_breached: i64,
    created_at: String,
    priority_rank: i64,
}

impl From<RowRec> for RequestRow {
    fn from(r: RowRec) -> Self {
        RequestRow {
            id: r.id,
            number: r.number,
            customer_id: r.customer_id,
            customer_name: r.customer_name,
            subject: r.subject,
            service_type: r.service_type,
            status: r.status,
            priority: r.priority,
            tier: r.tier,
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_name,
            response_due: r.response_due,
            responded_at: r.responded_at,
            resolution_due: r.resolution_due,
            warned: r.warned != 0,
            response_breached: r.response_breached != 0,
            resolution_breached: r.resolution_breached != 0,
            created_at: r.created_at,
        }
    }
}

const VISIT_COLS: &str = "v.id, v.request_id, r.number AS request_number, r.subject, c.name AS customer_name, \
    v.technician_id, u.name AS technician_name, v.starts_at, v.ends_at, v.status, v.address, v.work_done, \
    v.parts, v.minutes_spent, v.confirmed_by, v.reported_at \
    FROM visits v JOIN requests r ON r.id = v.request_id JOIN customers c ON c.id = r.customer_id \
    JOIN users u ON u.id = v.technician_id";

#[derive(sqlx::FromRow)]
struct VisitRec {
    id: i64,
    request_id: i64,
    request_number: String,
    subject: String,
    customer_name: String,
    technician_id: i64,
    technician_name: String,
    starts_at: String,
    ends_at: String,
    status: String,
    address: Option<String>,
    work_done: Option<String>,
    parts: Option<String>,
    minutes_spent: Option<i64>,
    confirmed_by: Option<String>,
    reported_at: Option<String>,
}

impl From<VisitRec> for Visit {
    fn from(v: VisitRec) -> Self {
        Visit {
            id: v.id,
            request_id: v.request_id,
            request_number: v.request_number,
            subject: v.subject,
            customer_name: v.customer_name,
            technician_id: v.technician_id,
            technician_name: v.technician_name,
            starts_at: v.starts_at,
            ends_at: v.ends_at,
            status: v.status,
            address: v.address,
            work_done: v.work_done,
            parts: v.parts,
            minutes_spent: v.minutes_spent,
            confirmed_by: v.confirmed_by,
            reported_at: v.reported_at,
        }
    }
}

fn rank(priority: &str) -> i64 {
    Priority::parse(priority).map(Priority::rank).unwrap_or(2)
}

fn active(status: &str) -> bool {
    RequestStatus::parse(status).is_ok_and(RequestStatus::is_active)
}

/// The local (Shanghai) day of a stored stamp, for usage-archive entries.
fn local_day(now: &str) -> String {
    now.parse::<jiff::Timestamp>()
        .map(|t| china_date(t).to_string())
        .unwrap_or_else(|_| now.chars().take(10).collect())
}

impl SqlStore {
    /// Writes what a change of a request brings with it, in its transaction.
    #[allow(clippy::too_many_arguments)]
    async fn apply_effects(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        request_id: i64,
        customer_id: i64,
        number: &str,
        fx: &Effects,
        now: &str,
    ) -> Result<(), StoreError> {
        for (kind, from, to) in &fx.history {
            exec(
                &mut *tx,
                "INSERT INTO request_history (request_id, at, kind, from_value, to_value, actor_label) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    V::I(request_id),
                    now.into(),
                    kind.into(),
                    from.into(),
                    to.into(),
                    (&actor.label).into(),
                ],
            )
            .await?;
        }
        for (kind, summary) in &fx.timeline {
            self.timeline_add(
                &mut *tx,
                customer_id,
                now,
                kind,
                None,
                Some(request_id),
                &summary.replace("{number}", number),
                actor,
            )
            .await?;
        }
        if let Some(m) = &fx.message {
            let mid = insert_id(
                &mut *tx,
                "INSERT INTO request_messages (request_id, kind, author_id, author_label, body, channel, message_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    V::I(request_id),
                    (&m.kind).into(),
                    V::OptI(m.author_id),
                    (&m.author_label).into(),
                    (&m.body).into(),
                    (&m.channel).into(),
                    (&m.message_id).into(),
                    now.into(),
                ],
            )
            .await?;
            for a in &m.attachments {
                exec(
                    &mut *tx,
                    "INSERT INTO attachments (request_id, message_id, filename, content_type, size, sha256, content, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        V::I(request_id),
                        V::I(mid),
                        (&a.filename).into(),
                        (&a.content_type).into(),
                        V::I(a.content.len() as i64),
                        hex::encode(Sha256::digest(&a.content)).into(),
                        V::B(a.content.clone()),
                        now.into(),
                    ],
                )
                .await?;
            }
        }
        for m in &fx.mails {
            exec(
                &mut *tx,
                "INSERT INTO outbox (recipient, subject, body, request_id, status, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                &[
                    (&m.to).into(),
                    m.subject.replace("{number}", number).into(),
                    m.body.replace("{number}", number).into(),
                    V::I(request_id),
                    now.into(),
                ],
            )
            .await?;
        }
        for (user, kind) in &fx.notify {
            exec(
                &mut *tx,
                "INSERT INTO notifications (user_id, request_id, kind, created_at) VALUES ($1, $2, $3, $4)",
                &[V::I(*user), V::I(request_id), kind.into(), now.into()],
            )
            .await?;
        }
        if let Some((asset, kind, note)) = &fx.asset_event {
            exec(
                &mut *tx,
                "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    V::I(*asset),
                    local_day(now).into(),
                    kind.into(),
                    note.into(),
                    V::OptI(actor.user_id),
                    now.into(),
                ],
            )
            .await?;
        }
        if let Some(message_id) = &fx.received_mail {
            exec(
                &mut *tx,
                "INSERT INTO mail_received (message_id, request_id, received_at) VALUES ($1, $2, $3)",
                &[message_id.into(), V::I(request_id), now.into()],
            )
            .await?;
        }
        Ok(())
    }
}

impl SqlStore {
    /// `update_requests` for many requests at once (the SLA sweep): one multi-row UPDATE
    /// per chunk, checked against each row's version, then the audit rows, change-log
    /// events, history and notifications of the rows written, in multi-row INSERTs.
    async fn update_many(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        items: &[(ServiceRequest, Effects)],
        now: &str,
    ) -> Result<Vec<bool>, StoreError> {
        let backend = self.db.backend;
        // Column types, for the casts PostgreSQL needs on VALUES of parameters.
        const INT: &[&str] = &[
            "asset_id",
            "active",
            "priority_rank",
            "assignee_id",
            "outlet_id",
            "resolution_left",
            "warn_seconds",
            "warned",
            "response_breached",
            "resolution_breached",
            "escalated",
            "parts_cost",
            "labour_cost",
            "rating",
        ];
        let cast = |col: &str, p: String| {
            if INT.contains(&col) {
                format!("CAST({p} AS BIGINT)")
            } else {
                format!("CAST({p} AS TEXT)")
            }
        };
        let mut written = std::collections::HashSet::new();
        if backend == Backend::Sqlite {
            // SQLite plans UPDATE … FROM (VALUES …) as a scan of the table (seconds per
            // chunk at millions of rows); one prepared UPDATE by primary key per row, in
            // this one transaction, costs microseconds each.
            let sets: Vec<String> = MUTABLE
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ${}", i + 1))
                .collect();
            let n = MUTABLE.len();
            let sql = format!(
                "UPDATE requests SET {}, updated_at = ${}, version = version + 1 WHERE id = ${} AND version = ${}",
                sets.join(", "),
                n + 1,
                n + 2,
                n + 3
            );
            for (r, _) in items {
                let mut vals = request_args(r);
                vals.push(now.into());
                vals.push(V::I(r.id));
                vals.push(V::I(r.version));
                if exec(&mut *tx, &sql, &vals).await? == 1 {
                    written.insert(r.id);
                }
            }
        }
        let per = 30_000 / (MUTABLE.len() + 3);
        let chunks = if backend == Backend::Postgres {
            items.chunks(per.min(500)).collect::<Vec<_>>()
        } else {
            vec![]
        };
        for chunk in chunks {
            // `updated_at` comes first in the text, so its value is bound first (SQLite's
            // `?` bind in order of appearance).
            let mut vals: Vec<V> = vec![now.into()];
            let updated_at = ph(backend, 1);
            let mut rows = Vec::with_capacity(chunk.len());
            for (r, _) in chunk {
                let mut cells = Vec::with_capacity(MUTABLE.len() + 3);
                vals.push(V::I(r.id));
                cells.push(format!("CAST({} AS BIGINT)", ph(backend, vals.len())));
                vals.push(V::I(r.version));
                cells.push(format!("CAST({} AS BIGINT)", ph(backend, vals.len())));
                for (col, v) in MUTABLE.iter().zip(request_args(r)) {
                    vals.push(v);
                    cells.push(cast(col, ph(backend, vals.len())));
                }
                rows.push(format!("({})", cells.join(", ")));
            }
            // VALUES columns are column1, column2, … in both databases.
            let names: Vec<String> = std::iter::once("column1 AS id".to_string())
                .chain(std::iter::once("column2 AS ver".to_string()))
                .chain(
                    MUTABLE
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("column{} AS {c}", i + 3)),
                )
                .collect();
            let sets: Vec<String> = MUTABLE.iter().map(|c| format!("{c} = v.{c}")).collect();
            let sql = format!(
                "UPDATE requests SET {}, updated_at = {}, version = requests.version + 1 \
                 FROM (SELECT {} FROM (VALUES {}) AS t) AS v \
                 WHERE requests.id = v.id AND requests.version = v.ver RETURNING requests.id",
                sets.join(", "),
                updated_at,
                names.join(", "),
                rows.join(", ")
            );
            let ids: Vec<i64> = sqlx::query_scalar_with::<_, i64, _>(&sql, args(&vals))
                .fetch_all(&mut *tx)
                .await
                .map_err(backend_err)?;
            written.extend(ids);
        }
        if backend == Backend::Postgres {
            // Change-log ids commit in order (see `log`).
            exec(
                &mut *tx,
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7220611)) AS l",
                &[],
            )
            .await?;
        }
        let (mut audit, mut events, mut history, mut notes) = (vec![], vec![], vec![], vec![]);
        for (r, fx) in items.iter().filter(|(r, _)| written.contains(&r.id)) {
            let after = audit_of(r);
            audit.push(vec![
                now.into(),
                V::OptI(actor.user_id),
                (&actor.label).into(),
                "update".into(),
                "request".into(),
                V::I(r.id),
                V::OptT(None),
                after.to_string().into(),
            ]);
            events.push(vec![
                now.into(),
                "request.update".into(),
                "request".into(),
                V::I(r.id),
                json!({ "actor": actor.label, "after": after })
                    .to_string()
                    .into(),
            ]);
            for (kind, from, to) in &fx.history {
                history.push(vec![
                    V::I(r.id),
                    now.into(),
                    kind.into(),
                    from.into(),
                    to.into(),
                    (&actor.label).into(),
                ]);
            }
            for (user, kind) in &fx.notify {
                notes.push(vec![V::I(*user), V::I(r.id), kind.into(), now.into()]);
            }
            // The rarer effects go their usual way.
            let rest = Effects {
                timeline: fx.timeline.clone(),
                message: fx.message.clone(),
                mails: fx.mails.clone(),
                asset_event: fx.asset_event.clone(),
                received_mail: fx.received_mail.clone(),
                ..Default::default()
            };
            if !rest.timeline.is_empty()
                || rest.message.is_some()
                || !rest.mails.is_empty()
                || rest.asset_event.is_some()
                || rest.received_mail.is_some()
            {
                self.apply_effects(&mut *tx, actor, r.id, r.customer_id, &r.number, &rest, now)
                    .await?;
            }
        }
        bulk_insert(
            &mut *tx,
            backend,
            "audit_log",
            &[
                "at",
                "actor_id",
                "actor_label",
                "action",
                "entity",
                "entity_id",
                "before_json",
                "after_json",
            ],
            &audit,
        )
        .await?;
        bulk_insert(
            &mut *tx,
            backend,
            "events",
            &["at", "kind", "entity", "entity_id", "payload"],
            &events,
        )
        .await?;
        bulk_insert(
            &mut *tx,
            backend,
            "request_history",
            &[
                "request_id",
                "at",
                "kind",
                "from_value",
                "to_value",
                "actor_label",
            ],
            &history,
        )
        .await?;
        bulk_insert(
            &mut *tx,
            backend,
            "notifications",
            &["user_id", "request_id", "kind", "created_at"],
            &notes,
        )
        .await?;
        Ok(items.iter().map(|(r, _)| written.contains(&r.id)).collect())
    }
}

/// A request's customer and number, which its effects (timeline, mails) need.
async fn customer_and_number(
    tx: &mut AnyConnection,
    request_id: i64,
) -> Result<(i64, String), StoreError> {
    sqlx::query_as_with(
        "SELECT customer_id, number FROM requests WHERE id = $1",
        args(&[V::I(request_id)]),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(backend_err)
}

fn request_args(r: &ServiceRequest) -> Vec<V> {
    vec![
        (&r.service_type).into(),
        (&r.phase).into(),
        V::OptI(r.asset_id),
        (&r.status).into(),
        active(&r.status).into(),
        (&r.priority).into(),
        V::I(rank(&r.priority)),
        V::OptI(r.assignee_id),
        (&r.routed).into(),
        V::OptI(r.outlet_id),
        (&r.response_due).into(),
        (&r.responded_at).into(),
        (&r.resolution_due).into(),
        V::OptI(r.resolution_left),
        (&r.warn_at).into(),
        V::I(r.warn_seconds),
        r.warned.into(),
        r.response_breached.into(),
        r.resolution_breached.into(),
        (&r.sla_next).into(),
        r.escalated.into(),
        (&r.charge).into(),
        (&r.charge_reason).into(),
        V::I(r.parts_cost),
        V::I(r.labour_cost),
        (&r.root_cause).into(),
        (&r.remedy).into(),
        V::OptI(r.rating),
        (&r.rating_comment).into(),
        (&r.rated_at).into(),
        (&r.resolved_at).into(),
        (&r.closed_at).into(),
    ]
}

/// The columns `request_args` binds, in its order.
const MUTABLE: &[&str] = &[
    "service_type",
    "phase",
    "asset_id",
    "status",
    "active",
    "priority",
    "priority_rank",
    "assignee_id",
    "routed",
    "outlet_id",
    "response_due",
    "responded_at",
    "resolution_due",
    "resolution_left",
    "warn_at",
    "warn_seconds",
    "warned",
    "response_breached",
    "resolution_breached",
    "sla_next",
    "escalated",
    "charge",
    "charge_reason",
    "parts_cost",
    "labour_cost",
    "root_cause",
    "remedy",
    "rating",
    "rating_comment",
    "rated_at",
    "resolved_at",
    "closed_at",
];

fn audit_of(r: &ServiceRequest) -> serde_json::Value {
    json!({
        "number": r.number, "status": r.status, "priority": r.priority,
        "assignee_id": r.assignee_id, "escalated": r.escalated, "charge": r.charge,
        "parts_cost": r.parts_cost, "labour_cost": r.labour_cost, "rating": r.rating,
        "customer_id": r.customer_id,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Adds the WHERE clauses of a request filter; returns the ORDER BY to use and whether
/// it sorts by urgency (else by due time, or newest first).
fn filter_sql(q: &RequestFilter, sql: &mut Sql) -> Result<(), StoreError> {
    sql.push(" WHERE 1 = 1");
    match q.queue.as_deref() {
        Some("mine") | Some("team") | Some("all") => {
            sql.push(" AND r.active = 1");
        }
        Some("unassigned") => {
            sql.push(" AND r.active = 1 AND r.assignee_id IS NULL");
        }
        Some("breaching") => {
            sql.push(" AND r.active = 1 AND r.resolution_due < ")
                .bind(q.due_before.clone().unwrap_or_default());
        }
        _ => {}
    }
    if let Some(a) = q.assignee_id {
        sql.push(" AND r.assignee_id = ").bind(a);
    }
    if let Some(o) = q.outlet_id {
        sql.push(" AND r.outlet_id = ").bind(o);
    }
    if let Some(c) = q.customer_id {
        sql.push(" AND r.customer_id = ").bind(c);
    }
    if let Some(s) = &q.status {
        sql.push(" AND r.status = ").bind(s.clone());
    }
    Ok(())
}

enum Order {
    Urgency,
    Due,
    Newest,
}

fn order_of(q: &RequestFilter) -> Order {
    match q.queue.as_deref() {
        Some("breaching") => Order::Due,
        Some(_) => Order::Urgency,
        None => Order::Newest,
    }
}

#[async_trait]
impl DeskStore for SqlStore {
    async fn desk_config(&self) -> StoreResult<DeskConfig> {
        #[derive(sqlx::FromRow)]
        struct C {
            id: i64,
            name: String,
            spec: String,
        }
        #[derive(sqlx::FromRow)]
        struct P {
            id: i64,
            name: String,
            tier: Option<String>,
            priority: Option<String>,
            service_type: Option<String>,
            calendar_id: i64,
            first_response_minutes: i64,
            resolution_minutes: i64,
            warn_minutes: i64,
            notify_manager: i64,
            raise_priority: i64,
            reassign: i64,
        }
        let cs: Vec<C> = fetch_all(
            &self.db.read,
            "SELECT id, name, spec FROM calendars ORDER BY id",
            &[],
        )
        .await?;
        let ps: Vec<P> = fetch_all(
            &self.db.read,
            "SELECT id, name, tier, priority, service_type, calendar_id, first_response_minutes, \
             resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign \
             FROM sla_policies WHERE active = 1 ORDER BY id",
            &[],
        )
        .await?;
        let mut calendars = Vec::new();
        for c in cs {
            let mut body: CalendarBody = serde_json::from_str(&c.spec).map_err(|e| {
                StoreError::Backend(format!("calendar {} is not readable: {e}", c.id))
            })?;
            body.name = c.name;
            calendars.push(Calendar { id: c.id, body });
        }
        Ok(DeskConfig {
            calendars,
            policies: ps
                .into_iter()
                .map(|p| SlaPolicy {
                    id: p.id,
                    name: p.name,
                    tier: p.tier,
                    priority: p.priority,
                    service_type: p.service_type,
                    calendar_id: p.calendar_id,
                    first_response_minutes: p.first_response_minutes,
                    resolution_minutes: p.resolution_minutes,
                    warn_minutes: p.warn_minutes,
                    notify_manager: p.notify_manager != 0,
                    raise_priority: p.raise_priority != 0,
                    reassign: p.reassign != 0,
                })
                .collect(),
        })
    }

    async fn create_calendar(
        &self,
        actor: &Actor,
        c: &CalendarBody,
        now: &str,
    ) -> StoreResult<i64> {
        let spec = serde_json::to_string(c).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO calendars (name, spec) VALUES ($1, $2) RETURNING id",
            &[(&c.name).into(), spec.clone().into()],
        )
        .await?;
        let after = json!({"name": c.name, "spec": c});
        self.log(
            &mut tx,
            actor,
            "create",
            "calendar",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn update_calendar(
        &self,
        actor: &Actor,
        id: i64,
        c: &CalendarBody,
        now: &str,
    ) -> StoreResult<()> {
        let spec = serde_json::to_string(c).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let n = exec(
            &mut *tx,
            "UPDATE calendars SET name = $1, spec = $2 WHERE id = $3",
            &[(&c.name).into(), spec.into(), V::I(id)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let after = json!({"name": c.name, "spec": c});
        self.log(
            &mut tx,
            actor,
            "update",
            "calendar",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn create_sla_policy(&self, actor: &Actor, p: &SlaPolicy, now: &str) -> StoreResult<i64> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, \
             resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                (&p.name).into(),
                (&p.tier).into(),
                (&p.priority).into(),
                (&p.service_type).into(),
                V::I(p.calendar_id),
                V::I(p.first_response_minutes),
                V::I(p.resolution_minutes),
                V::I(p.warn_minutes),
                p.notify_manager.into(),
                p.raise_priority.into(),
                p.reassign.into(),
            ],
        )
        .await?;
        let after = serde_json::to_value(p).unwrap_or_default();
        self.log(
            &mut tx,
            actor,
            "create",
            "sla_policy",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn set_staff_profile(
        &self,
        actor: &Actor,
        p: &StaffProfile,
        now: &str,
    ) -> StoreResult<()> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        exec(
            &mut *tx,
            "INSERT INTO staff_profiles (user_id, outlet_id, skills, regions, capacity, auto_assign) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET \
             outlet_id = excluded.outlet_id, skills = excluded.skills, regions = excluded.regions, \
             capacity = excluded.capacity, auto_assign = excluded.auto_assign",
            &[
                V::I(p.user_id),
                V::OptI(p.outlet_id),
                p.skills.join(",").into(),
                p.regions.join(",").into(),
                V::I(p.capacity),
                p.auto_assign.into(),
            ],
        )
        .await?;
        let after = serde_json::to_value(p).unwrap_or_default();
        self.log(
            &mut tx,
            actor,
            "update",
            "staff_profile",
            p.user_id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn staff_profiles(&self) -> StoreResult<Vec<StaffProfile>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            name: String,
            role: String,
            active: i64,
            outlet_id: Option<i64>,
            skills: Option<String>,
            regions: Option<String>,
            capacity: Option<i64>,
            auto_assign: Option<i64>,
            load: i64,
        }
        // Load is counted up to a little over the largest capacity, so a huge backlog
        // costs no more than a full person.
        let rows: Vec<Q> = fetch_all(
            &self.db.read,
            "SELECT u.id, u.name, u.role, u.active, p.outlet_id, p.skills, p.regions, p.capacity, p.auto_assign, \
             (SELECT COUNT(*) FROM (SELECT 1 FROM requests r WHERE r.assignee_id = u.id AND r.active = 1 LIMIT 1001) l) AS load \
             FROM users u LEFT JOIN staff_profiles p ON p.user_id = u.id \
             WHERE u.role IN ('admin', 'manager', 'agent', 'technician') ORDER BY u.name, u.id",
            &[],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|q| StaffProfile {
                user_id: q.id,
                name: q.name,
                role: q.role.clone(),
                active: q.active != 0,
                outlet_id: q.outlet_id,
                skills: split_list(q.skills.as_deref().unwrap_or("")),
                regions: split_list(q.regions.as_deref().unwrap_or("")),
                capacity: q.capacity.unwrap_or(20),
                // Without a profile, agents and technicians take work; admins do not.
                auto_assign: q
                    .auto_assign
                    .map(|a| a != 0)
                    .unwrap_or(q.role == "agent" || q.role == "technician"),
                load: q.load,
            })
            .collect())
    }

    async fn service_facts(&self, customer_id: i64) -> StoreResult<Option<ServiceFacts>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            name: String,
            tier: Option<String>,
            city: Option<String>,
            account_manager_id: Option<i64>,
            primary_email: Option<String>,
        }
        let q: Option<Q> = fetch_opt(
            &self.db.read,
            &format!(
                "SELECT c.name, {} AS tier, c.city, c.account_manager_id, c.primary_email \
                 FROM customers c WHERE c.id = $1",
                crate::value::TIER_IN_FORCE
            ),
            &[V::I(customer_id)],
        )
        .await?;
        Ok(q.map(|q| ServiceFacts {
            name: q.name,
            tier: q.tier,
            city: q.city,
            account_manager_id: q.account_manager_id,
            email: q.primary_email,
        }))
    }

    async fn staff_outlet(&self, user_id: i64) -> StoreResult<Option<(i64, String)>> {
        sqlx::query_as_with::<_, (i64, String), _>(
            "SELECT o.id, o.kind FROM staff_profiles p JOIN outlets o ON o.id = p.outlet_id WHERE p.user_id = $1",
            args(&[V::I(user_id)]),
        )
        .fetch_optional(&self.db.read)
        .await
        .map_err(backend_err)
    }

    async fn set_customer_tier(
        &self,
        actor: &Actor,
        customer_id: i64,
        tier: &str,
        now: &str,
    ) -> StoreResult<()> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let before: Option<Option<String>> = sqlx::query_scalar_with::<_, Option<String>, _>(
            &format!(
                "SELECT {} FROM customers c WHERE c.id = $1",
                crate::value::TIER_IN_FORCE
            ),
            args(&[V::I(customer_id)]),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_err)?;
        let Some(before) = before else {
            return Err(StoreError::NotFound);
        };
        if before.as_deref() == Some(tier) {
            // Set by hand: it stays even when scoring would say otherwise.
            exec(
                &mut *tx,
                "UPDATE customers SET tier_pinned = 1 WHERE id = $1",
                &[V::I(customer_id)],
            )
            .await?;
            tx.commit().await.map_err(backend_err)?;
            return Ok(());
        }
        exec(
            &mut *tx,
            "UPDATE customers SET tier = $1, tier_pinned = 1, updated_at = $2 WHERE id = $3",
            &[tier.into(), now.into(), V::I(customer_id)],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "update",
            "customer_tier",
            customer_id,
            Some(&json!({ "tier": before })),
            Some(&json!({ "tier": tier })),
            now,
        )
        .await?;
        self.timeline_add(
            &mut tx,
            customer_id,
            now,
            "tier",
            None,
            None,
            &format!("tier {} → {tier}", before.as_deref().unwrap_or("-")),
            actor,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn create_request(
        &self,
        actor: &Actor,
        r: &ServiceRequest,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<(i64, String)> {
        let (me, actor, now, r, fx) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            r.clone(),
            fx.clone(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, r, fx) =
                    (me.clone(), actor.clone(), now.clone(), r.clone(), fx.clone());
                Box::pin(async move {
                    // The year people in China see on the calendar when it was opened.
                    let year: i16 = r
                        .created_at
                        .parse::<jiff::Timestamp>()
                        .map(|t| china_date(t).year())
                        .unwrap_or(2026);
                    let seq = insert_id(
                        &mut *tx,
                        "INSERT INTO request_numbers (year, last) VALUES ($1, 1) \
                         ON CONFLICT (year) DO UPDATE SET last = request_numbers.last + 1 RETURNING last",
                        &[V::I(year as i64)],
                    )
                    .await?;
                    let number = request_number(year, seq);
                    let mut cols = vec![
                        "number",
                        "customer_id",
                        "order_id",
                        "channel",
                        "subject",
                        "description",
                        "tier",
                        "city",
                        "sla_policy_id",
                        "created_by",
                        "created_at",
                        "updated_at",
                    ];
                    let mut vals: Vec<V> = vec![
                        number.clone().into(),
                        V::I(r.customer_id),
                        V::OptI(r.order_id),
                        (&r.channel).into(),
                        (&r.subject).into(),
                        (&r.description).into(),
                        (&r.tier).into(),
                        (&r.city).into(),
                        V::OptI(r.sla_policy_id),
                        V::OptI(actor.user_id),
                        now.clone().into(),
                        now.clone().into(),
                    ];
                    cols.extend_from_slice(MUTABLE);
                    vals.extend(request_args(&r));
                    let params: Vec<String> = (1..=vals.len()).map(|i| format!("${i}")).collect();
                    let id = insert_id(
                        &mut *tx,
                        &format!(
                            "INSERT INTO requests ({}) VALUES ({}) RETURNING id",
                            cols.join(", "),
                            params.join(", ")
                        ),
                        &vals,
                    )
                    .await?;
                    let mut after = audit_of(&r);
                    after["number"] = json!(number);
                    after["customer_id"] = json!(r.customer_id);
                    after["service_type"] = json!(r.service_type);
                    me.log(&mut *tx, &actor, "create", "request", id, None, Some(&after), &now)
                        .await?;
                    me.apply_effects(&mut *tx, &actor, id, r.customer_id, &number, &fx, &now)
                        .await?;
                    Ok((id, number))
                })
            })
            .await
    }

    async fn update_requests(
        &self,
        actor: &Actor,
        items: &[(ServiceRequest, Effects)],
        now: &str,
    ) -> StoreResult<Vec<bool>> {
        let (me, actor, now, items) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            std::sync::Arc::new(items.to_vec()),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, items) =
                    (me.clone(), actor.clone(), now.clone(), items.clone());
                Box::pin(async move {
                    let sets: Vec<String> = MUTABLE
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c} = ${}", i + 1))
                        .collect();
                    let n = MUTABLE.len();
                    let sql = format!(
                        "UPDATE requests SET {}, updated_at = ${}, version = version + 1 \
                         WHERE id = ${} AND version = ${}",
                        sets.join(", "),
                        n + 1,
                        n + 2,
                        n + 3
                    );
                    if items.len() > 1 {
                        return me.update_many(&mut *tx, &actor, &items, &now).await;
                    }
                    let mut out = Vec::with_capacity(items.len());
                    for (r, fx) in items.iter() {
                        let mut vals = request_args(r);
                        vals.push(now.clone().into());
                        vals.push(V::I(r.id));
                        vals.push(V::I(r.version));
                        if exec(&mut *tx, &sql, &vals).await? == 0 {
                            out.push(false);
                            continue;
                        }
                        let after = audit_of(r);
                        me.log(
                            &mut *tx,
                            &actor,
                            "update",
                            "request",
                            r.id,
                            None,
                            Some(&after),
                            &now,
                        )
                        .await?;
                        me.apply_effects(
                            &mut *tx,
                            &actor,
                            r.id,
                            r.customer_id,
                            &r.number,
                            fx,
                            &now,
                        )
                        .await?;
                        out.push(true);
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn request(&self, id: i64) -> StoreResult<Option<ServiceRequest>> {
        let r: Option<ReqRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {REQ_COLS} {REQ_FROM} WHERE r.id = $1"),
            &[V::I(id)],
        )
        .await?;
        Ok(r.map(Into::into))
    }

    async fn request_id_by_number(&self, number: &str) -> StoreResult<Option<i64>> {
        scalar(
            &self.db.read,
            "SELECT id FROM requests WHERE number = $1",
            &[number.into()],
        )
        .await
    }

    async fn requests(&self, q: &RequestFilter) -> StoreResult<Page<RequestRow>> {
        let mut sql = Sql::new(&format!("SELECT {ROW_COLS} {REQ_FROM}"));
        filter_sql(q, &mut sql)?;
        let order = order_of(q);
        if let Some(c) = &q.cursor {
            let (sort, id) = decode_cursor(c)?;
            match order {
                Order::Urgency => {
                    let (rank, created) = sort.split_once('|').ok_or(StoreError::Conflict {
                        code: "cursor_invalid",
                        field: Some("cursor".into()),
                    })?;
                    let rank: i64 = rank.parse().map_err(|_| StoreError::Conflict {
                        code: "cursor_invalid",
                        field: Some("cursor".into()),
                    })?;
                    sql.push(" AND (r.priority_rank, r.created_at, r.id) > (")
                        .bind(rank)
                        .push(", ")
                        .bind(created.to_string())
                        .push(", ")
                        .bind(id)
                        .push(")");
                }
                Order::Due => {
                    sql.push(" AND (r.resolution_due, r.id) > (")
                        .bind(sort)
                        .push(", ")
                        .bind(id)
                        .push(")");
                }
                Order::Newest => {
                    sql.push(" AND (r.created_at, r.id) < (")
                        .bind(sort)
                        .push(", ")
                        .bind(id)
                        .push(")");
                }
            }
        }
        sql.push(match order {
            Order::Urgency => " ORDER BY r.priority_rank, r.created_at, r.id",
            Order::Due => " ORDER BY r.resolution_due, r.id",
            Order::Newest => " ORDER BY r.created_at DESC, r.id DESC",
        });
        let limit = q.limit.clamp(1, 200);
        sql.push(" LIMIT ").bind(limit as i64 + 1);
        let mut rows: Vec<RowRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| match order {
                Order::Urgency => {
                    encode_cursor(&format!("{}|{}", r.priority_rank, r.created_at), r.id)
                }
                Order::Due => encode_cursor(r.resolution_due.as_deref().unwrap_or(""), r.id),
                Order::Newest => encode_cursor(&r.created_at, r.id),
            })
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        })
    }

    async fn count_requests(&self, q: &RequestFilter, cap: i64) -> StoreResult<i64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM (SELECT 1 FROM requests r");
        filter_sql(q, &mut sql)?;
        sql.push(" LIMIT ").bind(cap).push(") t");
        Ok(scalar(&self.db.read, &sql.text, &sql.args)
            .await?
            .unwrap_or(0))
    }

    async fn messages(&self, request_id: i64) -> StoreResult<Vec<RequestMessage>> {
        #[derive(sqlx::FromRow)]
        struct M {
            id: i64,
            kind: String,
            author_label: String,
            body: String,
            channel: String,
            created_at: String,
        }
        #[derive(sqlx::FromRow)]
        struct A {
            id: i64,
            message_id: Option<i64>,
            filename: String,
            content_type: String,
            size: i64,
        }
        let ms: Vec<M> = fetch_all(
            &self.db.read,
            "SELECT id, kind, author_label, body, channel, created_at FROM request_messages \
             WHERE request_id = $1 ORDER BY id",
            &[V::I(request_id)],
        )
        .await?;
        let atts: Vec<A> = fetch_all(
            &self.db.read,
            "SELECT id, message_id, filename, content_type, size FROM attachments WHERE request_id = $1 ORDER BY id",
            &[V::I(request_id)],
        )
        .await?;
        Ok(ms
            .into_iter()
            .map(|m| RequestMessage {
                attachments: atts
                    .iter()
                    .filter(|a| a.message_id == Some(m.id))
                    .map(|a| AttachmentMeta {
                        id: a.id,
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                    })
                    .collect(),
                id: m.id,
                kind: m.kind,
                author: m.author_label,
                body: m.body,
                channel: m.channel,
                created_at: m.created_at,
            })
            .collect())
    }

    async fn history(&self, request_id: i64) -> StoreResult<Vec<HistoryEntry>> {
        #[derive(sqlx::FromRow)]
        struct H {
            at: String,
            kind: String,
            from_value: Option<String>,
            to_value: Option<String>,
            actor_label: String,
        }
        let hs: Vec<H> = fetch_all(
            &self.db.read,
            "SELECT at, kind, from_value, to_value, actor_label FROM request_history \
             WHERE request_id = $1 ORDER BY id",
            &[V::I(request_id)],
        )
        .await?;
        Ok(hs
            .into_iter()
            .map(|h| HistoryEntry {
                at: h.at,
                kind: h.kind,
                from: h.from_value,
                to: h.to_value,
                actor: h.actor_label,
            })
            .collect())
    }

    async fn attachment(&self, id: i64) -> StoreResult<Option<(i64, AttachmentMeta, Vec<u8>)>> {
        #[derive(sqlx::FromRow)]
        struct A {
            id: i64,
            request_id: i64,
            filename: String,
            content_type: String,
            size: i64,
            content: Vec<u8>,
        }
        let a: Option<A> = fetch_opt(
            &self.db.read,
            "SELECT id, request_id, filename, content_type, size, content FROM attachments WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        Ok(a.map(|a| {
            (
                a.request_id,
                AttachmentMeta {
                    id: a.id,
                    filename: a.filename,
                    content_type: a.content_type,
                    size: a.size,
                },
                a.content,
            )
        }))
    }

    async fn sla_due(&self, now: &str, limit: u32) -> StoreResult<Vec<ServiceRequest>> {
        let rs: Vec<ReqRec> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT {REQ_COLS} {REQ_FROM} WHERE r.sla_next <= $1 ORDER BY r.sla_next, r.id LIMIT $2"
            ),
            &[now.into(), V::I(limit as i64)],
        )
        .await?;
        Ok(rs.into_iter().map(Into::into).collect())
    }

    async fn book_visit(&self, actor: &Actor, v: &NewVisit, now: &str) -> StoreResult<i64> {
        let (me, actor, now, v) = (self.clone(), actor.clone(), now.to_string(), v.clone());
        let pg = self.db.backend == Backend::Postgres;
        self.db
            .write_job(move |tx| {
                let (me, actor, now, v) = (me.clone(), actor.clone(), now.clone(), v.clone());
                Box::pin(async move {
                    if pg {
                        // Two bookings of one technician must not both pass the clash check:
                        // they queue on a lock per technician. (SQLite has one writer.)
                        exec(
                            &mut *tx,
                            "SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS l",
                            &[V::I(7_220_612_000_000 + v.technician_id)],
                        )
                        .await?;
                    }
                    let clash = scalar(
                        &mut *tx,
                        "SELECT id FROM visits WHERE technician_id = $1 AND status = 'booked' \
                         AND starts_at < $2 AND ends_at > $3 LIMIT 1",
                        &[V::I(v.technician_id), (&v.ends_at).into(), (&v.starts_at).into()],
                    )
                    .await?;
                    if clash.is_some() {
                        return Err(StoreError::Conflict {
                            code: "visit_clash",
                            field: Some("starts_at".into()),
                        });
                    }
                    let id = insert_id(
                        &mut *tx,
                        "INSERT INTO visits (request_id, technician_id, starts_at, ends_at, status, address, created_at) \
                         VALUES ($1, $2, $3, $4, 'booked', $5, $6) RETURNING id",
                        &[
                            V::I(v.request_id),
                            V::I(v.technician_id),
                            (&v.starts_at).into(),
                            (&v.ends_at).into(),
                            (&v.address).into(),
                            now.clone().into(),
                        ],
                    )
                    .await?;
                    let after = json!({"request_id": v.request_id, "technician_id": v.technician_id,
                        "starts_at": v.starts_at, "ends_at": v.ends_at});
                    me.log(&mut *tx, &actor, "create", "visit", id, None, Some(&after), &now)
                        .await?;
                    Ok(id)
                })
            })
            .await
    }

    async fn visits(&self, q: &VisitFilter) -> StoreResult<Vec<Visit>> {
        let mut sql = Sql::new(&format!("SELECT {VISIT_COLS} WHERE 1 = 1"));
        if let Some(r) = q.request_id {
            sql.push(" AND v.request_id = ").bind(r);
        }
        if let Some(t) = q.technician_id {
            sql.push(" AND v.technician_id = ").bind(t);
        }
        if let Some(f) = &q.from {
            sql.push(" AND v.ends_at > ").bind(f.clone());
        }
        if let Some(t) = &q.to {
            sql.push(" AND v.starts_at < ").bind(t.clone());
        }
        sql.push(" ORDER BY v.starts_at, v.id LIMIT 1000");
        let vs: Vec<VisitRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(vs.into_iter().map(Into::into).collect())
    }

    async fn visit(&self, id: i64) -> StoreResult<Option<Visit>> {
        let v: Option<VisitRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {VISIT_COLS} WHERE v.id = $1"),
            &[V::I(id)],
        )
        .await?;
        Ok(v.map(Into::into))
    }

    async fn update_visit(
        &self,
        actor: &Actor,
        v: &Visit,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<()> {
        let (me, actor, now, v, fx) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            v.clone(),
            fx.clone(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, v, fx) =
                    (me.clone(), actor.clone(), now.clone(), v.clone(), fx.clone());
                Box::pin(async move {
                    let n = exec(
                        &mut *tx,
                        "UPDATE visits SET status = $1, work_done = $2, parts = $3, minutes_spent = $4, \
                         confirmed_by = $5, reported_at = $6 WHERE id = $7 AND status = 'booked'",
                        &[
                            (&v.status).into(),
                            (&v.work_done).into(),
                            (&v.parts).into(),
                            V::OptI(v.minutes_spent),
                            (&v.confirmed_by).into(),
                            (&v.reported_at).into(),
                            V::I(v.id),
                        ],
                    )
                    .await?;
                    if n == 0 {
                        // Reported (or cancelled) meanwhile: a repair must count once.
                        return Err(StoreError::Conflict {
                            code: "visit_not_booked",
                            field: None,
                        });
                    }
                    let customer_id = scalar(
                        &mut *tx,
                        "SELECT customer_id FROM requests WHERE id = $1",
                        &[V::I(v.request_id)],
                    )
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let after = serde_json::to_value(&v).unwrap_or_default();
                    me.log(&mut *tx, &actor, "update", "visit", v.id, None, Some(&after), &now)
                        .await?;
                    me.apply_effects(
                        &mut *tx,
                        &actor,
                        v.request_id,
                        customer_id,
                        &v.request_number,
                        &fx,
                        &now,
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn notifications(&self, user_id: i64, limit: u32) -> StoreResult<Vec<Notification>> {
        #[derive(sqlx::FromRow)]
        struct N {
            id: i64,
            request_id: Option<i64>,
            number: Option<String>,
            kind: String,
            detail: Option<String>,
            created_at: String,
            read_at: Option<String>,
        }
        let ns: Vec<N> = fetch_all(
            &self.db.read,
            "SELECT n.id, n.request_id, r.number, n.kind, n.detail, n.created_at, n.read_at FROM notifications n \
             LEFT JOIN requests r ON r.id = n.request_id WHERE n.user_id = $1 ORDER BY n.id DESC LIMIT $2",
            &[V::I(user_id), V::I(limit as i64)],
        )
        .await?;
        Ok(ns
            .into_iter()
            .map(|n| Notification {
                id: n.id,
                request_id: n.request_id,
                request_number: n.number,
                kind: n.kind,
                detail: n.detail,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect())
    }

    async fn complaints_between(&self, from: &str, to: &str) -> StoreResult<Vec<ComplaintFacts>> {
        #[derive(sqlx::FromRow)]
        struct C {
            created_at: String,
            responded_at: Option<String>,
            resolved_at: Option<String>,
            response_breached: i64,
            resolution_breached: i64,
            escalated: i64,
            root_cause: Option<String>,
        }
        let rows: Vec<C> = fetch_all(
            &self.db.read,
            "SELECT created_at, responded_at, resolved_at, response_breached, resolution_breached, escalated, root_cause \
             FROM requests WHERE service_type = 'complaint' AND created_at >= $1 AND created_at < $2 \
             ORDER BY created_at LIMIT 200000",
            &[from.into(), to.into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|c| ComplaintFacts {
                created_at: c.created_at,
                responded_at: c.responded_at,
                resolved_at: c.resolved_at,
                response_breached: c.response_breached != 0,
                resolution_breached: c.resolution_breached != 0,
                escalated: c.escalated != 0,
                root_cause: c.root_cause,
            })
            .collect())
    }

    async fn mark_notifications_read(&self, user_id: i64, now: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
            &[now.into(), V::I(user_id)],
        )
        .await
        .map(|_| ())
    }

    async fn notify(
        &self,
        users: &[i64],
        kind: &str,
        detail: Option<&str>,
        now: &str,
    ) -> StoreResult<()> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        for u in users {
            exec(
                &mut *tx,
                "INSERT INTO notifications (user_id, kind, detail, created_at) VALUES ($1, $2, $3, $4)",
                &[V::I(*u), kind.into(), detail.into(), now.into()],
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn outbox_due(&self, now: &str, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        #[derive(sqlx::FromRow)]
        struct O {
            id: i64,
            recipient: String,
            subject: String,
            body: String,
            attempts: i64,
        }
        let rows: Vec<O> = fetch_all(
            &self.db.read,
            "SELECT id, recipient, subject, body, attempts FROM outbox \
             WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
            &[now.into(), V::I(limit as i64)],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|o| OutboxMail {
                id: o.id,
                to: o.recipient,
                subject: o.subject,
                body: o.body,
                attempts: o.attempts,
            })
            .collect())
    }

    async fn outbox_claim(&self, id: i64, now: &str, lease_until: &str) -> StoreResult<bool> {
        let n = exec(
            &self.db.write,
            "UPDATE outbox SET status = 'sending', next_attempt_at = $1 \
             WHERE id = $2 AND status IN ('pending', 'sending') AND next_attempt_at <= $3",
            &[lease_until.into(), V::I(id), now.into()],
        )
        .await?;
        Ok(n == 1)
    }

    async fn outbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<&str>,
        now: &str,
    ) -> StoreResult<()> {
        let status = match (error, retry_at) {
            (None, _) => "sent",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        exec(
            &self.db.write,
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), sent_at = $4 WHERE id = $5",
            &[
                status.into(),
                error.into(),
                retry_at.into(),
                V::OptT((status == "sent").then(|| now.to_string())),
                V::I(id),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn customer_by_email(&self, email_key: &str) -> StoreResult<Option<i64>> {
        scalar(
            &self.db.read,
            "SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id \
             WHERE e.match_key = $1 AND c.merged_into IS NULL ORDER BY e.is_primary DESC, e.customer_id LIMIT 1",
            &[email_key.into()],
        )
        .await
    }

    async fn mail_received(&self, message_id: &str) -> StoreResult<Option<(i64, String)>> {
        fetch_opt(
            &self.db.write,
            "SELECT r.id, r.number FROM mail_received m JOIN requests r ON r.id = m.request_id \
             WHERE m.message_id = $1",
            &[message_id.into()],
        )
        .await
    }

    async fn customer_emails(&self, customer_id: i64) -> StoreResult<Vec<String>> {
        sqlx::query_scalar_with::<_, String, _>(
            "SELECT match_key FROM customer_emails WHERE customer_id = $1",
            args(&[V::I(customer_id)]),
        )
        .fetch_all(&self.db.read)
        .await
        .map_err(backend_err)
    }

    async fn create_rma(
        &self,
        actor: &Actor,
        request_id: i64,
        asset_id: i64,
        kind: &str,
        reason: &str,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<i64> {
        let (me, actor, kind, reason, fx, now) = (
            self.clone(),
            actor.clone(),
            kind.to_string(),
            reason.to_string(),
            fx.clone(),
            now.to_string(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, kind, reason, fx, now) = (
                    me.clone(),
                    actor.clone(),
                    kind.clone(),
                    reason.clone(),
                    fx.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    // One open authorisation per item at a time.
                    let open = scalar(
                        &mut *tx,
                        "SELECT id FROM rmas WHERE asset_id = $1 AND status IN ('requested', 'approved', 'received') LIMIT 1",
                        &[V::I(asset_id)],
                    )
                    .await?;
                    if open.is_some() {
                        return Err(StoreError::Conflict {
                            code: "rma_open_for_item",
                            field: Some("kind".into()),
                        });
                    }
                    let id = insert_id(
                        &mut *tx,
                        "INSERT INTO rmas (request_id, asset_id, kind, status, reason, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'requested', $4, $5, $5) RETURNING id",
                        &[V::I(request_id), V::I(asset_id), (&kind).into(), (&reason).into(), (&now).into()],
                    )
                    .await?;
                    let after = json!({"request_id": request_id, "asset_id": asset_id, "kind": kind, "status": "requested"});
                    me.log(&mut *tx, &actor, "create", "rma", id, None, Some(&after), &now).await?;
                    let (customer, number) = customer_and_number(&mut *tx, request_id).await?;
                    me.apply_effects(&mut *tx, &actor, request_id, customer, &number, &fx, &now)
                        .await?;
                    Ok(id)
                })
            })
            .await
    }

    async fn rma(&self, id: i64) -> StoreResult<Option<Rma>> {
        Ok(self.rmas_where("r.id = $1", id).await?.into_iter().next())
    }

    async fn rmas(&self, request_id: i64) -> StoreResult<Vec<Rma>> {
        self.rmas_where("r.request_id = $1", request_id).await
    }

    async fn update_rma(
        &self,
        actor: &Actor,
        r: &Rma,
        from: &str,
        decided_by: Option<i64>,
        replacement: Option<(i64, String, String)>,
        fx: &Effects,
        now: &str,
    ) -> StoreResult<Option<i64>> {
        let (me, actor, r, from, replacement, fx, now) = (
            self.clone(),
            actor.clone(),
            r.clone(),
            from.to_string(),
            replacement.clone(),
            fx.clone(),
            now.to_string(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, r, from, replacement, fx, now) = (
                    me.clone(),
                    actor.clone(),
                    r.clone(),
                    from.clone(),
                    replacement.clone(),
                    fx.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    let (customer, number) = customer_and_number(&mut *tx, r.request_id).await?;
                    let mut new_asset = None;
                    if let Some((product, serial, day)) = &replacement {
                        if scalar(&mut *tx, "SELECT id FROM assets WHERE serial = $1", &[serial.into()])
                            .await?
                            .is_some()
                        {
                            return Err(StoreError::Conflict {
                                code: "serial_taken",
                                field: Some("replacement_serial".into()),
                            });
                        }
                        let id = insert_id(
                            &mut *tx,
                            "INSERT INTO assets (serial, product_id, customer_id, purchased_on, delivered_on, created_at) \
                             VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
                            &[serial.into(), V::I(*product), V::I(customer), day.into(), (&now).into()],
                        )
                        .await?;
                        for (asset, note) in [
                            (id, format!("{number}: replaces {}", r.serial)),
                            (r.asset_id, format!("{number}: exchanged for {serial}")),
                        ] {
                            exec(
                                &mut *tx,
                                "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                                 VALUES ($1, $2, 'note', $3, $4, $5)",
                                &[V::I(asset), day.into(), note.into(), V::OptI(actor.user_id), (&now).into()],
                            )
                            .await?;
                        }
                        let after = json!({"serial": serial, "product_id": product, "customer_id": customer, "replaces": r.asset_id});
                        me.log(&mut *tx, &actor, "create", "asset", id, None, Some(&after), &now).await?;
                        new_asset = Some(id);
                    }
                    let n = exec(
                        &mut *tx,
                        "UPDATE rmas SET status = $1, decided_by = COALESCE($2, decided_by), decision_note = $3, \
                         received_on = $4, replacement_asset_id = COALESCE($5, replacement_asset_id), refund_amount = $6, \
                         updated_at = $7 WHERE id = $8 AND status = $9",
                        &[
                            (&r.status).into(),
                            V::OptI(decided_by),
                            (&r.decision_note).into(),
                            (&r.received_on).into(),
                            V::OptI(new_asset),
                            V::OptI(r.refund_amount),
                            (&now).into(),
                            V::I(r.id),
                            (&from).into(),
                        ],
                    )
                    .await?;
                    if n == 0 {
                        return Err(StoreError::Conflict {
                            code: "rma_changed",
                            field: None,
                        });
                    }
                    let after = json!({"status": r.status, "refund_amount": r.refund_amount, "replacement_asset_id": new_asset});
                    me.log(&mut *tx, &actor, "update", "rma", r.id, None, Some(&after), &now).await?;
                    me.apply_effects(&mut *tx, &actor, r.request_id, customer, &number, &fx, &now)
                        .await?;
                    Ok(new_asset)
                })
            })
            .await
    }
}

impl SqlStore {
    async fn rmas_where(&self, cond: &str, v: i64) -> StoreResult<Vec<Rma>> {
        #[derive(sqlx::FromRow)]
        struct RmaRec {
            id: i64,
            request_id: i64,
            asset_id: i64,
            serial: String,
            kind: String,
            status: String,
            reason: String,
            decided_by: Option<String>,
            decision_note: Option<String>,
            received_on: Option<String>,
            replacement_asset_id: Option<i64>,
            replacement_serial: Option<String>,
            refund_amount: Option<i64>,
            created_at: String,
            updated_at: String,
        }
        let rows: Vec<RmaRec> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT r.id, r.request_id, r.asset_id, a.serial, r.kind, r.status, r.reason, u.name AS decided_by, \
                 r.decision_note, r.received_on, r.replacement_asset_id, b.serial AS replacement_serial, \
                 r.refund_amount, r.created_at, r.updated_at FROM rmas r JOIN assets a ON a.id = r.asset_id \
                 LEFT JOIN assets b ON b.id = r.replacement_asset_id LEFT JOIN users u ON u.id = r.decided_by \
                 WHERE {cond} ORDER BY r.id"
            ),
            &[V::I(v)],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Rma {
                id: r.id,
                request_id: r.request_id,
                asset_id: r.asset_id,
                serial: r.serial,
                kind: r.kind,
                status: r.status,
                reason: r.reason,
                decided_by: r.decided_by,
                decision_note: r.decision_note,
                received_on: r.received_on,
                replacement_asset_id: r.replacement_asset_id,
                replacement_serial: r.replacement_serial,
                refund_amount: r.refund_amount,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }
}
