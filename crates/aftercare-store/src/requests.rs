//! The `RequestStore` port over SQL: service requests, their messages, history and attachments.

use crate::db::*;
use crate::request_rows::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::model::Page;
use aftercare_app::ports::*;
use aftercare_domain::RequestId;
use aftercare_domain::calendar::china_date;
use aftercare_domain::ids::*;
use aftercare_domain::request::request_number;
use async_trait::async_trait;

/// Sorting by resolution due puts requests without one last, on both databases (SQLite
/// sorts NULL first, PostgreSQL last).
const NO_DUE: &str = "9999-12-31";
const DUE_KEY: &str = "COALESCE(r.resolution_due, '9999-12-31')";

/// Draws the next number of the year in `vals[0]` and inserts the request with it, in one
/// round trip: `cols` and the rest of `vals` are the request's other columns. Returns its
/// id and number. The number is `request_number(year, seq)`, written in SQL because it is
/// made where it is drawn (`SR-2026-000123`, more digits past 999,999); the store's tests
/// hold the two to the same.
async fn numbered_insert(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    cols: &[&str],
    vals: Vec<V>,
) -> Result<(i64, String), StoreError> {
    let params: Vec<String> = (2..=vals.len()).map(|i| format!("${i}")).collect();
    const DRAW: &str = "INSERT INTO request_numbers (year, last) VALUES ($1, 1) \
                        ON CONFLICT (year) DO UPDATE SET last = request_numbers.last + 1";
    match backend {
        Backend::Sqlite => {
            // Two statements in one query (decision 0023's path): the second reads the
            // number the first drew, in the same transaction.
            use futures_util::TryStreamExt;
            let sql = format!(
                "{DRAW};\nINSERT INTO requests (number, {}) VALUES \
                 ((SELECT printf('SR-%d-%06d', year, last) FROM request_numbers WHERE year = $1), {}) \
                 RETURNING id, number",
                cols.join(", "),
                params.join(", ")
            );
            #[allow(deprecated)]
            let mut results = sqlx::query_with(&sql, args(&vals)).fetch_many(&mut *tx);
            let mut row = None;
            while let Some(r) = results.try_next().await.map_err(backend_err)? {
                if let sqlx::Either::Right(r) = r {
                    row = Some(r);
                }
            }
            let row = row.ok_or_else(|| StoreError::Backend("no request inserted".into()))?;
            <(i64, String) as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)
                .map_err(backend_err)
        }
        Backend::Postgres => {
            // One statement: the number drawn in a data-modifying WITH query.
            let sql = format!(
                "WITH n AS ({DRAW} RETURNING last) \
                 INSERT INTO requests (number, {}) \
                 SELECT 'SR-' || $1 || '-' || lpad(n.last::text, greatest(6, length(n.last::text)), '0'), {} \
                 FROM n RETURNING id, number",
                cols.join(", "),
                params.join(", ")
            );
            sqlx::query_as_with::<_, (i64, String), _>(&sql, args(&vals))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend_err)
        }
    }
}
use jiff::Timestamp;
use serde_json::json;

#[async_trait]
impl RequestStore for SqlStore {
    async fn create_request(
        &self,
        actor: &Actor,
        r: &ServiceRequest,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<(RequestId, String)> {
        let (me, actor, now, r, fx) = (
            self.clone(),
            actor.clone(),
            stamp(now),
            r.clone(),
            fx.clone(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, r, fx) = (
                    me.clone(),
                    actor.clone(),
                    now.clone(),
                    r.clone(),
                    fx.clone(),
                );
                Box::pin(async move {
                    // The year people in China see on the calendar when it was opened.
                    let year: i16 = china_date(r.created_at).year();
                    let mut cols = vec![
                        "customer_id",
                        "order_id",
                        "channel",
                        "subject",
                        "description",
                        "tier",
                        "city",
                        "sla_policy_id",
                        "category_id",
                        "created_by",
                        "created_at",
                        "updated_at",
                    ];
                    let mut vals: Vec<V> = vec![
                        V::I(year.into()),
                        r.customer_id.into(),
                        r.order_id.into(),
                        r.channel.into(),
                        (&r.subject).into(),
                        (&r.description).into(),
                        r.tier.into(),
                        (&r.city).into(),
                        V::OptI(r.sla_policy_id),
                        V::OptI(r.category_id),
                        V::OptI(actor.user_id.map(UserId::get)),
                        now.clone().into(),
                        now.clone().into(),
                    ];
                    cols.extend_from_slice(MUTABLE);
                    vals.extend(request_args(&r));
                    let (id, number) =
                        numbered_insert(&mut *tx, me.db.backend, &cols, vals).await?;
                    debug_assert_eq!(
                        Some(number.as_str()),
                        number
                            .rsplit('-')
                            .next()
                            .and_then(|n| n.parse().ok())
                            .map(|seq| request_number(year, seq))
                            .as_deref()
                    );
                    let mut after = audit_of(&r);
                    after["number"] = json!(number);
                    after["customer_id"] = json!(r.customer_id);
                    after["service_type"] = json!(r.service_type);
                    let mut w = Writes::default();
                    me.log_to(
                        &mut *tx,
                        &mut w,
                        &actor,
                        "create",
                        "request",
                        id,
                        None,
                        Some(&after),
                        &now,
                    )
                    .await?;
                    me.effects_to(
                        &mut *tx,
                        &mut w,
                        &actor,
                        id,
                        r.customer_id.get(),
                        &number,
                        &fx,
                        &now,
                    )
                    .await?;
                    w.run(me.db.backend, tx).await?;
                    Ok((RequestId(id), number))
                })
            })
            .await
    }

    async fn update_requests(
        &self,
        actor: &Actor,
        items: &[(ServiceRequest, Effects)],
        now: Timestamp,
    ) -> StoreResult<Vec<bool>> {
        let (me, actor, now, items) = (
            self.clone(),
            actor.clone(),
            stamp(now),
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
                        vals.push(r.id.into());
                        vals.push(V::I(r.version));
                        if exec(&mut *tx, &sql, &vals).await? == 0 {
                            out.push(false);
                            continue;
                        }
                        let after = audit_of(r);
                        let mut w = Writes::default();
                        me.log_to(
                            &mut *tx,
                            &mut w,
                            &actor,
                            "update",
                            "request",
                            r.id.get(),
                            None,
                            Some(&after),
                            &now,
                        )
                        .await?;
                        me.effects_to(
                            &mut *tx,
                            &mut w,
                            &actor,
                            r.id.get(),
                            r.customer_id.get(),
                            &r.number,
                            fx,
                            &now,
                        )
                        .await?;
                        w.run(me.db.backend, &mut *tx).await?;
                        out.push(true);
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn opening_reads(&self, q: &OpeningQuery) -> StoreResult<OpeningReads> {
        let [calendars, policies] = crate::desk_setup::desk_config_sql();
        let mut stmts = vec![
            crate::desk_setup::service_facts_sql(q.customer_id),
            crate::network::outlets_sql(),
            crate::desk_setup::staff_sql(),
            calendars,
            policies,
        ];
        if let Some(o) = q.order_id {
            stmts.push(Sql::with(
                "SELECT customer_id FROM orders WHERE id = $1",
                vec![V::I(o.get())],
            ));
        }
        let asset = q.asset_id;
        if let Some(a) = asset {
            stmts.extend(crate::orders::asset_sql(a));
            stmts.push(crate::catalogue::product_of_asset_sql(a));
            stmts.push(crate::catalogue::categories_sql());
            if q.who_pays {
                stmts.push(crate::orders::asset_policy_sql(a));
                stmts.push(crate::care::contracts_sql(None, Some(a.get())));
            }
            if q.last_repair {
                stmts.push(crate::quality::last_repair_sql(a));
            }
        }
        let mut sets = fetch_sets(self.db.backend, &self.db.read, stmts).await?;
        let mut reads = OpeningReads {
            facts: crate::desk_setup::service_facts_from(sets.next()?),
            outlets: crate::network::outlets_from(sets.next()?)?,
            staff: crate::desk_setup::staff_from(sets.next()?)?,
            config: crate::desk_setup::desk_config_from(sets.next()?, sets.next()?)?,
            ..OpeningReads::default()
        };
        if q.order_id.is_some() {
            reads.order_customer = sets
                .next::<OrderCustomer>()?
                .pop()
                .map(|r| CustomerId(r.customer_id));
        }
        if asset.is_some() {
            reads.asset = crate::orders::asset_from(sets.next()?, sets.next()?)?;
            reads.product = crate::catalogue::product_from(sets.next()?)?;
            reads.categories = crate::catalogue::categories_from(sets.next()?);
            if q.who_pays {
                reads.policy = crate::orders::policies_from(sets.next()?)?
                    .pop()
                    .map(|(_, p)| p);
                reads.contracts = crate::care::contracts_from(sets.next()?)?;
            }
            if q.last_repair {
                reads.last_repair = crate::quality::last_repair_from(sets.next()?)?;
            }
        }
        Ok(reads)
    }

    async fn request(&self, id: RequestId) -> StoreResult<Option<ServiceRequest>> {
        let r: Option<ReqRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {REQ_COLS} {REQ_FROM} WHERE r.id = $1"),
            &[id.into()],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn request_id_by_number(&self, number: &str) -> StoreResult<Option<RequestId>> {
        let id: Option<i64> = scalar(
            &self.db.read,
            "SELECT id FROM requests WHERE number = $1",
            &[number.into()],
        )
        .await?;
        Ok(id.map(RequestId))
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
                    sql.push(&format!(" AND ({DUE_KEY}, r.id) > ("))
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
                Order::Oldest => {
                    sql.push(" AND (r.created_at, r.id) > (")
                        .bind(sort)
                        .push(", ")
                        .bind(id)
                        .push(")");
                }
            }
        }
        match order {
            Order::Urgency => sql.push(" ORDER BY r.priority_rank, r.created_at, r.id"),
            Order::Due => sql.push(&format!(" ORDER BY {DUE_KEY}, r.id")),
            Order::Newest => sql.push(" ORDER BY r.created_at DESC, r.id DESC"),
            Order::Oldest => sql.push(" ORDER BY r.created_at, r.id"),
        };
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
                Order::Due => encode_cursor(r.resolution_due.as_deref().unwrap_or(NO_DUE), r.id),
                Order::Newest | Order::Oldest => encode_cursor(&r.created_at, r.id),
            })
        } else {
            None
        };
        Ok(Page {
            items: rows
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
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

    async fn service_trend(
        &self,
        since: jiff::Timestamp,
        outlet: Option<OutletId>,
    ) -> StoreResult<aftercare_app::dashboard::TrendRows> {
        let since = stamp(since);
        let (mut args, outlet_cond) = (vec![V::T(since)], String::new());
        let outlet_cond = match outlet {
            Some(o) => {
                args.push(V::I(o.get()));
                " AND outlet_id = $2".to_string()
            }
            None => outlet_cond,
        };
        let opened: Vec<(String, i64, i64)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT substr(created_at, 1, 13) AS h, COUNT(*), \
                 SUM(CASE WHEN service_type = 'complaint' THEN 1 ELSE 0 END) \
                 FROM requests WHERE created_at >= $1{outlet_cond} GROUP BY substr(created_at, 1, 13)"
            ),
            &args,
        )
        .await?;
        let resolved: Vec<(String, i64, i64)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT substr(resolved_at, 1, 13) AS h, COUNT(*), \
                 SUM(CASE WHEN response_breached = 0 AND resolution_breached = 0 THEN 1 ELSE 0 END) \
                 FROM requests WHERE resolved_at >= $1{outlet_cond} GROUP BY substr(resolved_at, 1, 13)"
            ),
            &args,
        )
        .await?;
        let answers: Vec<(String, i64, i64, i64, i64, i64)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT substr(answered_at, 1, 13) AS h, COUNT(csat), CAST(COALESCE(SUM(csat), 0) AS BIGINT), COUNT(nps), \
                 SUM(CASE WHEN nps >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) \
                 FROM surveys WHERE answered_at >= $1{outlet_cond} GROUP BY substr(answered_at, 1, 13)"
            ),
            &args,
        )
        .await?;
        // Loyalty stages are the customer's, not an outlet's: a partner sees none.
        let moves: Vec<(String, Option<String>, String, i64)> = if outlet.is_some() {
            Vec::new()
        } else {
            fetch_all(
                &self.db.read,
                "SELECT substr(at, 1, 13) AS h, from_stage, to_stage, COUNT(*) FROM loyalty_history \
                 WHERE at >= $1 GROUP BY substr(at, 1, 13), from_stage, to_stage",
                &args,
            )
            .await?
        };
        Ok(aftercare_app::dashboard::TrendRows {
            opened,
            resolved,
            answers,
            moves,
        })
    }

    async fn messages(&self, request_id: RequestId) -> StoreResult<Vec<RequestMessage>> {
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
            &[request_id.into()],
        )
        .await?;
        let atts: Vec<A> = fetch_all(
            &self.db.read,
            "SELECT id, message_id, filename, content_type, size FROM attachments WHERE request_id = $1 ORDER BY id",
            &[request_id.into()],
        )
        .await?;
        ms.into_iter()
            .map(|m| {
                Ok(RequestMessage {
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
                    created_at: Cells::of("request_messages", m.id)
                        .at("created_at", &m.created_at)?,
                })
            })
            .collect()
    }

    async fn history(&self, request_id: RequestId) -> StoreResult<Vec<HistoryEntry>> {
        #[derive(sqlx::FromRow)]
        struct H {
            id: i64,
            at: String,
            kind: String,
            from_value: Option<String>,
            to_value: Option<String>,
            actor_label: String,
            actor_name: Option<String>,
        }
        let hs: Vec<H> = fetch_all(
            &self.db.read,
            "SELECT h.id, h.at, h.kind, h.from_value, h.to_value, h.actor_label, u.name AS actor_name \
             FROM request_history h LEFT JOIN users u ON u.email = h.actor_label \
             WHERE h.request_id = $1 ORDER BY h.id",
            &[request_id.into()],
        )
        .await?;
        hs.into_iter()
            .map(|h| {
                Ok(HistoryEntry {
                    at: Cells::of("request_history", h.id).at("at", &h.at)?,
                    kind: h.kind,
                    from: h.from_value,
                    to: h.to_value,
                    actor: h.actor_label,
                    actor_name: h.actor_name,
                })
            })
            .collect()
    }

    async fn attachment(
        &self,
        id: i64,
    ) -> StoreResult<Option<(RequestId, AttachmentMeta, Vec<u8>)>> {
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
                RequestId(a.request_id),
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

    async fn sla_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ServiceRequest>> {
        let rs: Vec<ReqRec> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT {REQ_COLS} {REQ_FROM} WHERE r.sla_next <= $1 ORDER BY r.sla_next, r.id LIMIT $2"
            ),
            &[now.into(), V::I(limit as i64)],
        )
        .await?;
        rs.into_iter().map(TryInto::try_into).collect()
    }

    async fn request_times(
        &self,
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<RequestTimes>> {
        let rows: Vec<(i64, String, Option<String>, Option<String>, Option<String>)> = fetch_all(
            &self.db.read,
            "SELECT r.id, r.created_at, r.responded_at, r.resolved_at, \
             (SELECT MIN(v.starts_at) FROM visits v WHERE v.request_id = r.id AND v.status = 'done') \
             FROM requests r WHERE r.created_at >= $1 AND r.created_at <= $2 AND r.status <> 'cancelled' \
             ORDER BY r.created_at DESC, r.id DESC LIMIT $3",
            &[since.into(), until.into(), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter()
            .map(|(id, opened, responded, resolved, visit)| {
                let c = Cells::of("requests", id);
                Ok(RequestTimes {
                    opened: c.at("created_at", &opened)?,
                    responded: c.opt_at("responded_at", responded.as_deref())?,
                    resolved: c.opt_at("resolved_at", resolved.as_deref())?,
                    first_visit: c.opt_at("visits.starts_at", visit.as_deref())?,
                })
            })
            .collect()
    }

    async fn complaints_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<ComplaintFacts>> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        #[derive(sqlx::FromRow)]
        struct C {
            id: i64,
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
            "SELECT id, created_at, responded_at, resolved_at, response_breached, resolution_breached, escalated, root_cause \
             FROM requests WHERE service_type = 'complaint' AND created_at >= $1 AND created_at < $2 \
             ORDER BY created_at LIMIT 200000",
            &[from.into(), to.into()],
        )
        .await?;
        rows.into_iter()
            .map(|c| {
                let cells = Cells::of("requests", c.id);
                Ok(ComplaintFacts {
                    created_at: cells.at("created_at", &c.created_at)?,
                    responded_at: cells.opt_at("responded_at", c.responded_at.as_deref())?,
                    resolved_at: cells.opt_at("resolved_at", c.resolved_at.as_deref())?,
                    response_breached: c.response_breached != 0,
                    resolution_breached: c.resolution_breached != 0,
                    escalated: c.escalated != 0,
                    root_cause: c.root_cause,
                })
            })
            .collect()
    }
}

/// The customer of the order a request is opened on.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct OrderCustomer {
    customer_id: i64,
}
