//! Service-desk rows shared by the desk's ports over SQL: requests, visits and returns as
//! read back, a request's writes with their effects (messages, history, timeline,
//! notifications, mail), and the queue filters.

use crate::db::*;
use crate::store::{SqlStore, timeline_to};
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::ports::*;
use aftercare_domain::calendar::china_date;
use aftercare_domain::{
    AssetId, CustomerId, Money, OrderId, OutletId, RequestId, RmaId, UserId, VisitId,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

pub(crate) const REQ_COLS: &str = "r.id, r.number, r.customer_id, c.name AS customer_name, r.asset_id, r.order_id, \
    r.service_type, r.suggested_type, r.suggested_confidence, r.type_confirmed, r.phase, r.status, r.priority, r.channel, r.subject, r.description, r.tier, r.city, \
    r.outlet_id, r.assignee_id, u.name AS assignee_name, r.routed, r.sla_policy_id, r.response_due, \
    r.responded_at, r.resolution_due, r.resolution_left, r.warn_at, r.warn_seconds, r.warned, \
    r.response_breached, r.resolution_breached, r.sla_next, r.escalated, r.charge, r.charge_reason, \
    r.parts_cost, r.labour_cost, r.root_cause, r.remedy, r.rating, r.rating_comment, r.rated_at, \
    r.resolved_at, r.closed_at, r.created_at, r.updated_at, r.version, r.category_id";

pub(crate) const REQ_FROM: &str = "FROM requests r JOIN customers c ON c.id = r.customer_id \
    LEFT JOIN users u ON u.id = r.assignee_id";

#[derive(sqlx::FromRow)]
pub(crate) struct ReqRec {
    pub(crate) category_id: Option<i64>,
    pub(crate) id: i64,
    pub(crate) number: String,
    pub(crate) customer_id: i64,
    pub(crate) customer_name: String,
    pub(crate) asset_id: Option<i64>,
    pub(crate) order_id: Option<i64>,
    pub(crate) service_type: String,
    pub(crate) suggested_type: Option<String>,
    pub(crate) suggested_confidence: Option<i64>,
    pub(crate) type_confirmed: i64,
    pub(crate) phase: String,
    pub(crate) status: String,
    pub(crate) priority: String,
    pub(crate) channel: String,
    pub(crate) subject: String,
    pub(crate) description: String,
    pub(crate) tier: String,
    pub(crate) city: Option<String>,
    pub(crate) outlet_id: Option<i64>,
    pub(crate) assignee_id: Option<i64>,
    pub(crate) assignee_name: Option<String>,
    pub(crate) routed: Option<String>,
    pub(crate) sla_policy_id: Option<i64>,
    pub(crate) response_due: Option<String>,
    pub(crate) responded_at: Option<String>,
    pub(crate) resolution_due: Option<String>,
    pub(crate) resolution_left: Option<i64>,
    pub(crate) warn_at: Option<String>,
    pub(crate) warn_seconds: i64,
    pub(crate) warned: i64,
    pub(crate) response_breached: i64,
    pub(crate) resolution_breached: i64,
    pub(crate) sla_next: Option<String>,
    pub(crate) escalated: i64,
    pub(crate) charge: Option<String>,
    pub(crate) charge_reason: Option<String>,
    pub(crate) parts_cost: i64,
    pub(crate) labour_cost: i64,
    pub(crate) root_cause: Option<String>,
    pub(crate) remedy: Option<String>,
    pub(crate) rating: Option<i64>,
    pub(crate) rating_comment: Option<String>,
    pub(crate) rated_at: Option<String>,
    pub(crate) resolved_at: Option<String>,
    pub(crate) closed_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) version: i64,
}

impl TryFrom<ReqRec> for ServiceRequest {
    type Error = StoreError;

    fn try_from(r: ReqRec) -> Result<Self, StoreError> {
        let c = Cells::of("requests", r.id);
        Ok(ServiceRequest {
            id: RequestId(r.id),
            number: r.number,
            customer_id: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            asset_id: r.asset_id.map(AssetId),
            category_id: r.category_id,
            order_id: r.order_id.map(OrderId),
            service_type: c.code("service_type", &r.service_type)?,
            suggested_type: c.opt_code("suggested_type", r.suggested_type.as_deref())?,
            suggested_confidence: r.suggested_confidence,
            type_confirmed: r.type_confirmed != 0,
            phase: c.code("phase", &r.phase)?,
            status: c.code("status", &r.status)?,
            priority: c.code("priority", &r.priority)?,
            channel: c.code("channel", &r.channel)?,
            subject: r.subject,
            description: r.description,
            tier: c.code("tier", &r.tier)?,
            city: r.city,
            outlet_id: r.outlet_id.map(OutletId),
            assignee_id: r.assignee_id.map(UserId),
            assignee_name: r.assignee_name,
            routed: r.routed,
            sla_policy_id: r.sla_policy_id,
            response_due: c.opt_at("response_due", r.response_due.as_deref())?,
            responded_at: c.opt_at("responded_at", r.responded_at.as_deref())?,
            resolution_due: c.opt_at("resolution_due", r.resolution_due.as_deref())?,
            resolution_left: r.resolution_left,
            warn_at: c.opt_at("warn_at", r.warn_at.as_deref())?,
            warn_seconds: r.warn_seconds,
            warned: r.warned != 0,
            response_breached: r.response_breached != 0,
            resolution_breached: r.resolution_breached != 0,
            sla_next: c.opt_at("sla_next", r.sla_next.as_deref())?,
            escalated: r.escalated != 0,
            charge: c.opt_code("charge", r.charge.as_deref())?,
            charge_reason: r.charge_reason,
            parts_cost: Money(r.parts_cost),
            labour_cost: Money(r.labour_cost),
            root_cause: r.root_cause,
            remedy: r.remedy,
            rating: r.rating,
            rating_comment: r.rating_comment,
            rated_at: c.opt_at("rated_at", r.rated_at.as_deref())?,
            resolved_at: c.opt_at("resolved_at", r.resolved_at.as_deref())?,
            closed_at: c.opt_at("closed_at", r.closed_at.as_deref())?,
            created_at: c.at("created_at", &r.created_at)?,
            updated_at: c.at("updated_at", &r.updated_at)?,
            version: r.version,
        })
    }
}

pub(crate) const ROW_COLS: &str = "r.id, r.number, r.customer_id, c.name AS customer_name, r.subject, r.service_type, \
    r.status, r.priority, r.tier, r.assignee_id, u.name AS assignee_name, r.response_due, r.responded_at, \
    r.resolution_due, r.warned, r.response_breached, r.resolution_breached, r.created_at, r.priority_rank";

#[derive(sqlx::FromRow)]
pub(crate) struct RowRec {
    pub(crate) id: i64,
    pub(crate) number: String,
    pub(crate) customer_id: i64,
    pub(crate) customer_name: String,
    pub(crate) subject: String,
    pub(crate) service_type: String,
    pub(crate) status: String,
    pub(crate) priority: String,
    pub(crate) tier: String,
    pub(crate) assignee_id: Option<i64>,
    pub(crate) assignee_name: Option<String>,
    pub(crate) response_due: Option<String>,
    pub(crate) responded_at: Option<String>,
    pub(crate) resolution_due: Option<String>,
    pub(crate) warned: i64,
    pub(crate) response_breached: i64,
    pub(crate) resolution_breached: i64,
    pub(crate) created_at: String,
    pub(crate) priority_rank: i64,
}

impl TryFrom<RowRec> for RequestRow {
    type Error = StoreError;

    fn try_from(r: RowRec) -> Result<Self, StoreError> {
        let c = Cells::of("requests", r.id);
        Ok(RequestRow {
            id: RequestId(r.id),
            number: r.number,
            customer_id: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            subject: r.subject,
            service_type: c.code("service_type", &r.service_type)?,
            status: c.code("status", &r.status)?,
            priority: c.code("priority", &r.priority)?,
            tier: c.code("tier", &r.tier)?,
            assignee_id: r.assignee_id.map(UserId),
            assignee_name: r.assignee_name,
            response_due: c.opt_at("response_due", r.response_due.as_deref())?,
            responded_at: c.opt_at("responded_at", r.responded_at.as_deref())?,
            resolution_due: c.opt_at("resolution_due", r.resolution_due.as_deref())?,
            warned: r.warned != 0,
            response_breached: r.response_breached != 0,
            resolution_breached: r.resolution_breached != 0,
            created_at: c.at("created_at", &r.created_at)?,
        })
    }
}

pub(crate) const VISIT_COLS: &str = "v.id, v.request_id, r.number AS request_number, r.subject, \
    r.description AS fault, c.name AS customer_name, c.primary_phone AS customer_phone, \
    v.technician_id, u.name AS technician_name, v.starts_at, v.ends_at, v.status, v.address, v.work_done, \
    v.parts, v.minutes_spent, v.confirmed_by, v.reported_at, r.service_type, v.checklist, v.arrived_at, v.on_time \
    FROM visits v JOIN requests r ON r.id = v.request_id JOIN customers c ON c.id = r.customer_id \
    JOIN users u ON u.id = v.technician_id";

#[derive(sqlx::FromRow)]
pub(crate) struct VisitRec {
    pub(crate) id: i64,
    pub(crate) request_id: i64,
    pub(crate) request_number: String,
    pub(crate) subject: String,
    pub(crate) fault: String,
    pub(crate) customer_name: String,
    pub(crate) customer_phone: Option<String>,
    pub(crate) technician_id: i64,
    pub(crate) technician_name: String,
    pub(crate) starts_at: String,
    pub(crate) ends_at: String,
    pub(crate) status: String,
    pub(crate) address: Option<String>,
    pub(crate) work_done: Option<String>,
    pub(crate) parts: Option<String>,
    pub(crate) minutes_spent: Option<i64>,
    pub(crate) confirmed_by: Option<String>,
    pub(crate) reported_at: Option<String>,
    pub(crate) service_type: String,
    pub(crate) checklist: Option<String>,
    pub(crate) arrived_at: Option<String>,
    pub(crate) on_time: Option<i64>,
}

impl TryFrom<VisitRec> for Visit {
    type Error = StoreError;

    fn try_from(v: VisitRec) -> Result<Self, StoreError> {
        let c = Cells::of("visits", v.id);
        Ok(Visit {
            id: VisitId(v.id),
            request_id: RequestId(v.request_id),
            request_number: v.request_number,
            subject: v.subject,
            fault: v.fault,
            customer_name: v.customer_name,
            customer_phone: v.customer_phone,
            technician_id: UserId(v.technician_id),
            technician_name: v.technician_name,
            starts_at: c.at("starts_at", &v.starts_at)?,
            ends_at: c.at("ends_at", &v.ends_at)?,
            status: c.code("status", &v.status)?,
            address: v.address,
            work_done: v.work_done,
            parts: v.parts,
            minutes_spent: v.minutes_spent,
            confirmed_by: v.confirmed_by,
            reported_at: c.opt_at("reported_at", v.reported_at.as_deref())?,
            service_type: c.code("service_type", &v.service_type)?,
            checklist: match v.checklist.as_deref() {
                Some(j) => c.json("checklist", j)?,
                None => vec![],
            },
            arrived_at: c.opt_at("arrived_at", v.arrived_at.as_deref())?,
            on_time: v.on_time.map(|x| x != 0),
        })
    }
}

/// The local (Shanghai) day of a stored stamp, for usage-archive entries.
pub(crate) fn local_day(now: &str) -> String {
    now.parse::<jiff::Timestamp>()
        .map(|t| china_date(t).to_string())
        .unwrap_or_else(|_| now.chars().take(10).collect())
}

impl SqlStore {
    /// Writes what a change of a request brings with it, in its transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_effects(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        request_id: i64,
        customer_id: i64,
        number: &str,
        fx: &Effects,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut w = Writes::default();
        self.effects_to(
            &mut *tx,
            &mut w,
            actor,
            request_id,
            customer_id,
            number,
            fx,
            now,
        )
        .await?;
        w.run(self.db.backend, tx).await
    }

    /// [`Self::apply_effects`] into `w`, which the caller runs with its other writes; only
    /// a message, whose attachments need its id, is written at once.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn effects_to(
        &self,
        tx: &mut AnyConnection,
        w: &mut Writes,
        actor: &Actor,
        request_id: i64,
        customer_id: i64,
        number: &str,
        fx: &Effects,
        now: &str,
    ) -> Result<(), StoreError> {
        if let Some(earlier) = fx.repeat_of {
            // Its item came back for repair: its month's scorecard figures change.
            w.add(
                "UPDATE requests SET repeated = 1, updated_at = $1 WHERE id = $2",
                vec![now.into(), V::I(earlier.get())],
            );
        }
        for (kind, from, to) in &fx.history {
            w.add_apart(
                "INSERT INTO request_history (request_id, at, kind, from_value, to_value, actor_label) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    V::I(request_id),
                    now.into(),
                    kind.into(),
                    from.into(),
                    to.into(),
                    (&actor.label).into(),
                ],
            );
        }
        for (kind, summary) in &fx.timeline {
            timeline_to(
                w,
                customer_id,
                now,
                kind,
                None,
                Some(request_id),
                &summary.replace("{number}", number),
                actor,
            );
        }
        if let Some(m) = &fx.message {
            let mid = insert_id(
                &mut *tx,
                "INSERT INTO request_messages (request_id, kind, author_id, author_label, body, channel, message_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    V::I(request_id),
                    (&m.kind).into(),
                    V::OptI(m.author_id.map(UserId::get)),
                    (&m.author_label).into(),
                    (&m.body).into(),
                    (&m.channel).into(),
                    (&m.message_id).into(),
                    now.into(),
                ],
            )
            .await?;
            for a in &m.attachments {
                w.add_apart(
                    "INSERT INTO attachments (request_id, message_id, filename, content_type, size, sha256, content, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    vec![
                        V::I(request_id),
                        V::I(mid),
                        (&a.filename).into(),
                        (&a.content_type).into(),
                        V::I(a.content.len() as i64),
                        hex::encode(Sha256::digest(&a.content)).into(),
                        V::B(a.content.clone()),
                        now.into(),
                    ],
                );
            }
        }
        for m in &fx.mails {
            crate::outbox::queue_mail_to(
                w,
                &m.to,
                &m.subject.replace("{number}", number),
                &m.body.replace("{number}", number),
                Some(request_id),
                now,
            );
        }
        for (user, kind) in &fx.notify {
            w.add_apart(
                "INSERT INTO notifications (user_id, request_id, kind, created_at) VALUES ($1, $2, $3, $4)",
                vec![(*user).into(), V::I(request_id), kind.into(), now.into()],
            );
        }
        if let Some((asset, kind, note)) = &fx.asset_event {
            w.add_apart(
                "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    (*asset).into(),
                    local_day(now).into(),
                    kind.into(),
                    note.into(),
                    V::OptI(actor.user_id.map(UserId::get)),
                    now.into(),
                ],
            );
        }
        if let Some(message_id) = &fx.received_mail {
            w.add_apart(
                "INSERT INTO mail_received (message_id, request_id, received_at) VALUES ($1, $2, $3)",
                vec![message_id.into(), V::I(request_id), now.into()],
            );
        }
        Ok(())
    }
}

impl SqlStore {
    /// `update_requests` for many requests at once (the SLA sweep): one multi-row UPDATE
    /// per chunk, checked against each row's version, then the audit rows, change-log
    /// events, history and notifications of the rows written, in multi-row INSERTs.
    pub(crate) async fn update_many(
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
            "suggested_confidence",
            "type_confirmed",
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
                vals.push(r.id.into());
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
                vals.push(r.id.into());
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
            written.extend(ids.into_iter().map(RequestId));
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
                V::OptI(actor.user_id.map(UserId::get)),
                (&actor.label).into(),
                "update".into(),
                "request".into(),
                r.id.into(),
                V::OptT(None),
                after.to_string().into(),
            ]);
            events.push(vec![
                now.into(),
                "request.update".into(),
                "request".into(),
                r.id.into(),
                json!({ "actor": actor.label, "after": after })
                    .to_string()
                    .into(),
            ]);
            for (kind, from, to) in &fx.history {
                history.push(vec![
                    r.id.into(),
                    now.into(),
                    kind.into(),
                    from.into(),
                    to.into(),
                    (&actor.label).into(),
                ]);
            }
            for (user, kind) in &fx.notify {
                notes.push(vec![(*user).into(), r.id.into(), kind.into(), now.into()]);
            }
            // The rarer effects go their usual way.
            let rest = Effects {
                repeat_of: fx.repeat_of,
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
                self.apply_effects(
                    &mut *tx,
                    actor,
                    r.id.get(),
                    r.customer_id.get(),
                    &r.number,
                    &rest,
                    now,
                )
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
pub(crate) async fn customer_and_number(
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

pub(crate) fn request_args(r: &ServiceRequest) -> Vec<V> {
    vec![
        r.service_type.into(),
        r.phase.into(),
        r.asset_id.into(),
        r.status.into(),
        r.status.is_active().into(),
        r.priority.into(),
        V::I(r.priority.rank()),
        r.assignee_id.into(),
        (&r.routed).into(),
        r.outlet_id.into(),
        r.response_due.into(),
        r.responded_at.into(),
        r.resolution_due.into(),
        V::OptI(r.resolution_left),
        r.warn_at.into(),
        V::I(r.warn_seconds),
        r.warned.into(),
        r.response_breached.into(),
        r.resolution_breached.into(),
        r.sla_next.into(),
        r.escalated.into(),
        r.charge.into(),
        (&r.charge_reason).into(),
        r.parts_cost.into(),
        r.labour_cost.into(),
        (&r.root_cause).into(),
        (&r.remedy).into(),
        V::OptI(r.rating),
        (&r.rating_comment).into(),
        r.rated_at.into(),
        r.resolved_at.into(),
        r.closed_at.into(),
        r.suggested_type.into(),
        V::OptI(r.suggested_confidence),
        r.type_confirmed.into(),
    ]
}

/// The columns `request_args` binds, in its order.
pub(crate) const MUTABLE: &[&str] = &[
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
    "suggested_type",
    "suggested_confidence",
    "type_confirmed",
];

pub(crate) fn audit_of(r: &ServiceRequest) -> serde_json::Value {
    json!({
        "number": r.number, "status": r.status, "priority": r.priority,
        "assignee_id": r.assignee_id, "escalated": r.escalated, "charge": r.charge,
        "parts_cost": r.parts_cost, "labour_cost": r.labour_cost, "rating": r.rating,
        "customer_id": r.customer_id,
    })
}

pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Adds the WHERE clauses of a request filter; returns the ORDER BY to use and whether
/// it sorts by urgency (else by due time, or newest first).
pub(crate) fn filter_sql(q: &RequestFilter, sql: &mut Sql) -> Result<(), StoreError> {
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
                .bind(q.due_before.map(stamp).unwrap_or_default());
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
    if let Some(s) = q.status {
        sql.push(" AND r.status = ").bind(s);
    }
    if let Some(t) = q.service_type {
        sql.push(" AND r.service_type = ").bind(t);
    }
    if let Some(p) = q.priority {
        sql.push(" AND r.priority = ").bind(p);
    }
    if let Some(t) = q.tier {
        sql.push(" AND r.tier = ").bind(t);
    }
    if q.unassigned {
        sql.push(" AND r.assignee_id IS NULL");
    }
    match q.sla {
        Some(SlaState::Breached) => {
            sql.push(" AND (r.response_breached = 1 OR r.resolution_breached = 1)");
        }
        Some(SlaState::Warned) => {
            sql.push(" AND r.warned = 1 AND r.response_breached = 0 AND r.resolution_breached = 0");
        }
        Some(SlaState::OnTrack) => {
            sql.push(" AND r.warned = 0 AND r.response_breached = 0 AND r.resolution_breached = 0");
        }
        None => {}
    }
    for (col, (from, until)) in [("created_at", q.opened), ("resolved_at", q.resolved)] {
        if let Some(t) = from {
            sql.push(&format!(" AND r.{col} >= ")).bind(stamp(t));
        }
        if let Some(t) = until {
            sql.push(&format!(" AND r.{col} < ")).bind(stamp(t));
        }
    }
    if let Some(t) = &q.text {
        // The number as typed (SR-20261205-0001, any case), or the words in the subject
        // or the customer's name.
        // Lower-cased on both sides: PostgreSQL's LIKE minds case, SQLite's does not.
        let pattern = like_contains(&t.to_lowercase());
        sql.push(" AND (r.number = ")
            .bind(t.to_uppercase())
            .push(" OR LOWER(r.subject) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR EXISTS (SELECT 1 FROM customers qc WHERE qc.id = r.customer_id AND LOWER(qc.name) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\'))");
    }
    Ok(())
}

pub(crate) enum Order {
    Urgency,
    Due,
    Newest,
    Oldest,
}

pub(crate) fn order_of(q: &RequestFilter) -> Order {
    match q.sort {
        Some(RequestSort::Urgency) => return Order::Urgency,
        Some(RequestSort::Due) => return Order::Due,
        Some(RequestSort::Newest) => return Order::Newest,
        Some(RequestSort::Oldest) => return Order::Oldest,
        None => {}
    }
    match q.queue.as_deref() {
        Some("breaching") => Order::Due,
        Some(_) => Order::Urgency,
        None => Order::Newest,
    }
}

impl SqlStore {
    pub(crate) async fn rmas_where(&self, cond: &str, v: i64) -> StoreResult<Vec<Rma>> {
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
        rows.into_iter()
            .map(|r| {
                let c = Cells::of("rmas", r.id);
                Ok(Rma {
                    id: RmaId(r.id),
                    request_id: RequestId(r.request_id),
                    asset_id: AssetId(r.asset_id),
                    serial: r.serial,
                    kind: c.code("kind", &r.kind)?,
                    status: c.code("status", &r.status)?,
                    reason: r.reason,
                    decided_by: r.decided_by,
                    decision_note: r.decision_note,
                    received_on: r.received_on,
                    replacement_asset_id: r.replacement_asset_id.map(AssetId),
                    replacement_serial: r.replacement_serial,
                    refund_amount: r.refund_amount.map(Money),
                    created_at: c.at("created_at", &r.created_at)?,
                    updated_at: c.at("updated_at", &r.updated_at)?,
                })
            })
            .collect()
    }
}
