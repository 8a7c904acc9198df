//! The `VisitStore` port over SQL: field visits.

use crate::db::*;
use crate::request_rows::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::ports::*;
use aftercare_domain::VisitId;
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

#[async_trait]
impl VisitStore for SqlStore {
    async fn set_calendar_feed(
        &self,
        actor: &Actor,
        user_id: aftercare_domain::UserId,
        token_hash: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "DELETE FROM calendar_feeds WHERE user_id = $1",
            &[V::I(user_id.get())],
        )
        .await?;
        if let Some(hash) = token_hash {
            exec(
                &mut *tx,
                "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
                &[V::I(user_id.get()), hash.into(), (&now).into()],
            )
            .await?;
        }
        let action = if token_hash.is_some() {
            "create_calendar_feed"
        } else {
            "revoke_calendar_feed"
        };
        self.log(
            &mut tx,
            actor,
            action,
            "user",
            user_id.get(),
            None,
            None,
            &now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn calendar_feed_user(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<aftercare_domain::UserId>> {
        Ok(scalar(
            &self.db.read,
            "SELECT user_id FROM calendar_feeds WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await?
        .map(aftercare_domain::UserId))
    }

    async fn calendar_feed_since(
        &self,
        user_id: aftercare_domain::UserId,
    ) -> StoreResult<Option<Timestamp>> {
        let at: Option<(String,)> = fetch_opt(
            &self.db.read,
            "SELECT created_at FROM calendar_feeds WHERE user_id = $1",
            &[V::I(user_id.get())],
        )
        .await?;
        at.map(|(at,)| Cells::of("calendar_feeds", user_id.get()).at("created_at", &at))
            .transpose()
    }

    async fn book_visit(
        &self,
        actor: &Actor,
        v: &NewVisit,
        now: Timestamp,
    ) -> StoreResult<VisitId> {
        let (me, actor, now, v) = (self.clone(), actor.clone(), stamp(now), v.clone());
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
                            &[V::I(7_220_612_000_000 + v.technician_id.get())],
                        )
                        .await?;
                    }
                    let clash = scalar(
                        &mut *tx,
                        "SELECT id FROM visits WHERE technician_id = $1 AND status = 'booked' \
                         AND starts_at < $2 AND ends_at > $3 LIMIT 1",
                        &[v.technician_id.into(), v.ends_at.into(), v.starts_at.into()],
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
                            v.request_id.into(),
                            v.technician_id.into(),
                            v.starts_at.into(),
                            v.ends_at.into(),
                            (&v.address).into(),
                            now.clone().into(),
                        ],
                    )
                    .await?;
                    let after = json!({"request_id": v.request_id, "technician_id": v.technician_id,
                        "starts_at": v.starts_at, "ends_at": v.ends_at});
                    me.log(&mut *tx, &actor, "create", "visit", id, None, Some(&after), &now)
                        .await?;
                    Ok(VisitId(id))
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
        if let Some(o) = q.outlet_id {
            sql.push(" AND r.outlet_id = ").bind(o);
        }
        if let Some(f) = q.from {
            sql.push(" AND v.ends_at > ").bind(f);
        }
        if let Some(t) = q.to {
            sql.push(" AND v.starts_at < ").bind(t);
        }
        sql.push(" ORDER BY v.starts_at, v.id LIMIT 1000");
        let vs: Vec<VisitRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        vs.into_iter().map(TryInto::try_into).collect()
    }

    async fn visit(&self, id: VisitId) -> StoreResult<Option<Visit>> {
        let v: Option<VisitRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {VISIT_COLS} WHERE v.id = $1"),
            &[id.into()],
        )
        .await?;
        v.map(TryInto::try_into).transpose()
    }

    async fn update_visit(
        &self,
        actor: &Actor,
        v: &Visit,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (me, actor, now, v, fx) = (
            self.clone(),
            actor.clone(),
            stamp(now),
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
                         confirmed_by = $5, reported_at = $6, checklist = $7, arrived_at = $8, on_time = $9, \
                         checklist_items = $10, checklist_done = $11 WHERE id = $12 AND status = 'booked'",
                        &[
                            v.status.into(),
                            (&v.work_done).into(),
                            (&v.parts).into(),
                            V::OptI(v.minutes_spent),
                            (&v.confirmed_by).into(),
                            v.reported_at.into(),
                            V::OptT(
                                (!v.checklist.is_empty())
                                    .then(|| serde_json::to_string(&v.checklist).unwrap_or_default()),
                            ),
                            v.arrived_at.into(),
                            V::OptI(v.on_time.map(i64::from)),
                            V::I(v.checklist.len() as i64),
                            V::I(v.checklist.iter().filter(|m| m.done).count() as i64),
                            v.id.into(),
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
                    // One more visit done on the request: its month's figures change.
                    if v.status == aftercare_domain::request::VisitStatus::Done {
                        exec(
                            &mut *tx,
                            "UPDATE requests SET visits_done = visits_done + 1, updated_at = $1 WHERE id = $2",
                            &[now.clone().into(), v.request_id.into()],
                        )
                        .await?;
                    }
                    let customer_id = scalar(
                        &mut *tx,
                        "SELECT customer_id FROM requests WHERE id = $1",
                        &[v.request_id.into()],
                    )
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let after = serde_json::to_value(&v).unwrap_or_default();
                    me.log(&mut *tx, &actor, "update", "visit", v.id.get(), None, Some(&after), &now)
                        .await?;
                    me.apply_effects(
                        &mut *tx,
                        &actor,
                        v.request_id.get(),
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
}
