//! The `QualityStore` port over SQL: scorecards' monthly figures, summed per person,
//! outlet and kind of request by one grouped statement per source, and quality reviews.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::ports::{Actor, QualityStore, StoreResult, stamp};
use aftercare_app::quality_model::*;
use aftercare_domain::scorecard::Counts;
use aftercare_domain::{AssetId, OutletId, RequestId, UserId};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

/// The counters of a cell, in the table's order.
const COUNTERS: &str = "requests, response_n, response_ok, resolved, resolved_ok, fix_n, first_fix, \
     repair_n, repeats, rated, satisfied, nps_n, promoters, detractors, ces_n, ces_sum, complaints, \
     visits_timed, visits_on_time, checklist_items, checklist_done";

/// The key columns of a cell.
const KEYS: &str = "month, user_id, outlet_id, service_type, category_id, tier";

#[derive(sqlx::FromRow)]
struct CellRow {
    month: Option<String>,
    user_id: i64,
    outlet_id: i64,
    service_type: String,
    category_id: i64,
    tier: String,
    requests: i64,
    response_n: i64,
    response_ok: i64,
    resolved: i64,
    resolved_ok: i64,
    fix_n: i64,
    first_fix: i64,
    repair_n: i64,
    repeats: i64,
    rated: i64,
    satisfied: i64,
    nps_n: i64,
    promoters: i64,
    detractors: i64,
    ces_n: i64,
    ces_sum: i64,
    complaints: i64,
    visits_timed: i64,
    visits_on_time: i64,
    checklist_items: i64,
    checklist_done: i64,
}

impl From<CellRow> for Cell {
    fn from(r: CellRow) -> Cell {
        Cell {
            month: r.month,
            user_id: r.user_id,
            outlet_id: r.outlet_id,
            service_type: r.service_type,
            category_id: r.category_id,
            tier: r.tier,
            counts: Counts {
                requests: r.requests,
                response_n: r.response_n,
                response_ok: r.response_ok,
                resolved: r.resolved,
                resolved_ok: r.resolved_ok,
                fix_n: r.fix_n,
                first_fix: r.first_fix,
                repair_n: r.repair_n,
                repeats: r.repeats,
                rated: r.rated,
                satisfied: r.satisfied,
                nps_n: r.nps_n,
                promoters: r.promoters,
                detractors: r.detractors,
                ces_n: r.ces_n,
                ces_sum: r.ces_sum,
                complaints: r.complaints,
                visits_timed: r.visits_timed,
                visits_on_time: r.visits_on_time,
                checklist_items: r.checklist_items,
                checklist_done: r.checklist_done,
            },
        }
    }
}

fn counts_values(c: &Counts) -> [i64; 21] {
    [
        c.requests,
        c.response_n,
        c.response_ok,
        c.resolved,
        c.resolved_ok,
        c.fix_n,
        c.first_fix,
        c.repair_n,
        c.repeats,
        c.rated,
        c.satisfied,
        c.nps_n,
        c.promoters,
        c.detractors,
        c.ces_n,
        c.ces_sum,
        c.complaints,
        c.visits_timed,
        c.visits_on_time,
        c.checklist_items,
        c.checklist_done,
    ]
}

/// `SUM(CASE WHEN cond THEN 1 ELSE 0 END)`.
fn count_if(cond: &str) -> String {
    format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)")
}

/// The request key columns of a cell, from the requests aliased `r`.
const R_KEYS: &str = "COALESCE(r.assignee_id, 0), COALESCE(r.outlet_id, 0), r.service_type, \
     COALESCE(r.category_id, 0), r.tier";
const R_GROUP: &str = "COALESCE(r.assignee_id, 0), COALESCE(r.outlet_id, 0), r.service_type, \
     COALESCE(r.category_id, 0), r.tier";

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    request_id: i64,
    request_number: String,
    user_id: i64,
    user_name: String,
    period: String,
    reason: String,
    status: String,
    scores: Option<String>,
    score: Option<i64>,
    comment: Option<String>,
    reviewer_name: Option<String>,
    reviewed_at: Option<String>,
    answer: Option<String>,
    answered_at: Option<String>,
    checklists: Option<String>,
    version: i64,
}

const REVIEW_COLS: &str = "q.id, q.request_id, r.number AS request_number, q.user_id, u.name AS user_name, \
     q.period, q.reason, q.status, q.scores, q.score, q.comment, v.name AS reviewer_name, q.reviewed_at, \
     q.answer, q.answered_at, q.version, \
     (SELECT MAX(x.checklist) FROM visits x WHERE x.request_id = q.request_id AND x.checklist IS NOT NULL) AS checklists \
     FROM quality_reviews q JOIN requests r ON r.id = q.request_id JOIN users u ON u.id = q.user_id \
     LEFT JOIN users v ON v.id = q.reviewer_id";

impl ReviewRow {
    fn review(self) -> Result<Review, StoreError> {
        let c = Cells::of("quality_reviews", self.id);
        let scores: Vec<(String, i64)> = match self.scores.as_deref() {
            Some(j) => c.json("scores", j)?,
            None => vec![],
        };
        let marks: Vec<aftercare_domain::standards::ChecklistMark> =
            match self.checklists.as_deref() {
                Some(j) => c.json("checklist", j)?,
                None => vec![],
            };
        Ok(Review {
            id: self.id,
            request_id: RequestId(self.request_id),
            request_number: self.request_number,
            user_id: UserId(self.user_id),
            user_name: self.user_name,
            period: self.period,
            reason: self.reason,
            status: self.status,
            scores,
            score: self.score,
            comment: self.comment,
            reviewer_name: self.reviewer_name,
            reviewed_at: c.opt_at("reviewed_at", self.reviewed_at.as_deref())?,
            answer: self.answer,
            answered_at: c.opt_at("answered_at", self.answered_at.as_deref())?,
            missed_items: marks
                .into_iter()
                .filter(|m| !m.done)
                .map(|m| m.item)
                .collect(),
            version: self.version,
        })
    }
}

impl SqlStore {
    /// Summing months one writer at a time: on PostgreSQL a second rebuild of a month
    /// would not see the first one's new rows to delete them, and add its own beside them.
    /// (SQLite has one writer anyway.)
    async fn lock_scorecards(&self, tx: &mut crate::store::Tx) -> StoreResult<()> {
        if self.db.backend == Backend::Postgres {
            exec(
                &mut **tx,
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7220612)) AS l",
                &[],
            )
            .await?;
        }
        Ok(())
    }
}

/// The statement [`QualityStore::last_repair`] reads.
pub(crate) fn last_repair_sql(asset: AssetId) -> Sql {
    Sql::with(
        "SELECT id, resolved_at FROM requests WHERE asset_id = $1 AND service_type = 'repair' \
         AND resolved_at IS NOT NULL ORDER BY resolved_at DESC, id DESC LIMIT 1",
        vec![V::I(asset.get())],
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct LastRepairRec {
    id: i64,
    resolved_at: String,
}

/// The last repair from the rows of [`last_repair_sql`].
pub(crate) fn last_repair_from(
    rows: Vec<LastRepairRec>,
) -> StoreResult<Option<(RequestId, Timestamp)>> {
    rows.into_iter()
        .next()
        .map(|r| {
            Ok((
                RequestId(r.id),
                Cells::of("requests", r.id).at("resolved_at", &r.resolved_at)?,
            ))
        })
        .transpose()
}

#[async_trait]
impl QualityStore for SqlStore {
    async fn last_repair(&self, asset: AssetId) -> StoreResult<Option<(RequestId, Timestamp)>> {
        let sql = last_repair_sql(asset);
        last_repair_from(fetch_all(&self.db.read, &sql.text, &sql.args).await?)
    }

    async fn request_span(&self) -> StoreResult<Option<(Timestamp, Timestamp)>> {
        let row: Option<(Option<String>, Option<String>)> = fetch_opt(
            &self.db.read,
            "SELECT MIN(created_at), MAX(created_at) FROM requests",
            &[],
        )
        .await?;
        let c = Cells::of("requests", 0);
        match row {
            Some((Some(a), Some(b))) => {
                Ok(Some((c.at("created_at", &a)?, c.at("created_at", &b)?)))
            }
            _ => Ok(None),
        }
    }

    async fn scorecard_builds(&self) -> StoreResult<Vec<(String, Timestamp)>> {
        let rows: Vec<(String, String)> = fetch_all(
            &self.db.read,
            "SELECT month, built_at FROM scorecard_builds ORDER BY month",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|(m, at)| Ok((m, Cells::of("scorecard_builds", 0).at("built_at", &at)?)))
            .collect()
    }

    async fn changed_since(&self, since: Timestamp) -> StoreResult<Vec<Timestamp>> {
        // To the hour: a few rows per busy hour, whatever changed in it.
        let since = stamp(since);
        let rows: Vec<(String,)> = fetch_all(
            &self.db.read,
            "SELECT DISTINCT substr(r.created_at, 1, 13) FROM requests r WHERE r.updated_at >= $1 \
             UNION SELECT DISTINCT substr(r.created_at, 1, 13) FROM surveys s \
             JOIN requests r ON r.id = s.request_id WHERE s.answered_at >= $1 \
             UNION SELECT DISTINCT substr(r.created_at, 1, 13) FROM visits v \
             JOIN requests r ON r.id = v.request_id WHERE v.reported_at >= $1",
            &[since.into()],
        )
        .await?;
        rows.into_iter()
            .map(|(h,)| {
                format!("{h}:00:00Z")
                    .parse()
                    .map_err(|_| StoreError::Corrupt {
                        table: "requests",
                        id: 0,
                        column: "created_at",
                        value: h,
                    })
            })
            .collect()
    }

    async fn complaint_candidates(
        &self,
        from: Timestamp,
        to: Timestamp,
        lookback: Timestamp,
    ) -> StoreResult<Vec<ComplaintCandidate>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            complaint_id: i64,
            complaint_outlet_id: i64,
            complaint_number: String,
            root_cause: Option<String>,
            complaint_at: String,
            request_id: i64,
            resolved_at: String,
            user_id: i64,
            outlet_id: i64,
            service_type: String,
            category_id: i64,
            tier: String,
        }
        let rows: Vec<Q> = fetch_all(
            &self.db.read,
            // Per complaint, the same customer's latest request resolved before it (the
            // index on customer and resolution time finds it in a step or two); the app
            // decides whether it is recent enough to count.
            "SELECT c.id AS complaint_id, COALESCE(c.outlet_id, 0) AS complaint_outlet_id, \
             c.number AS complaint_number, c.root_cause, \
             c.created_at AS complaint_at, q.id AS request_id, \
             q.resolved_at, COALESCE(q.assignee_id, 0) AS user_id, COALESCE(q.outlet_id, 0) AS outlet_id, \
             q.service_type, COALESCE(q.category_id, 0) AS category_id, q.tier \
             FROM requests c JOIN requests q ON q.id = (SELECT p.id FROM requests p \
             WHERE p.customer_id = c.customer_id AND p.resolved_at IS NOT NULL \
             AND p.resolved_at <= c.created_at AND p.resolved_at >= $3 AND p.id <> c.id \
             AND p.service_type <> 'complaint' ORDER BY p.resolved_at DESC, p.id DESC LIMIT 1) \
             WHERE c.service_type = 'complaint' AND c.created_at >= $1 AND c.created_at < $2",
            &[stamp(from).into(), stamp(to).into(), stamp(lookback).into()],
        )
        .await?;
        rows.into_iter()
            .map(|q| {
                let c = Cells::of("requests", q.complaint_id);
                Ok(ComplaintCandidate {
                    complaint_id: q.complaint_id,
                    complaint_outlet_id: q.complaint_outlet_id,
                    complaint_number: q.complaint_number,
                    root_cause: q.root_cause,
                    complaint_at: c.at("created_at", &q.complaint_at)?,
                    request_id: q.request_id,
                    resolved_at: c.at("resolved_at", &q.resolved_at)?,
                    user_id: q.user_id,
                    outlet_id: q.outlet_id,
                    service_type: q.service_type,
                    category_id: q.category_id,
                    tier: q.tier,
                })
            })
            .collect()
    }

    async fn rebuild_month(
        &self,
        month: &str,
        from: Timestamp,
        to: Timestamp,
        extra: &[Cell],
        now: Timestamp,
    ) -> StoreResult<()> {
        let (from, to, now) = (stamp(from), stamp(to), stamp(now));
        let mut tx = self.begin().await?;
        self.lock_scorecards(&mut tx).await?;
        exec(
            &mut *tx,
            "DELETE FROM scorecard_cells WHERE month = $1",
            &[month.into()],
        )
        .await?;
        let zeros = |n: usize| vec!["0"; n].join(", ");
        // Requests opened in the month.
        let requests = format!(
            "INSERT INTO scorecard_cells ({KEYS}, {COUNTERS}) \
             SELECT $1, {R_KEYS}, COUNT(*), \
             {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} \
             FROM requests r WHERE r.created_at >= $2 AND r.created_at < $3 GROUP BY {R_GROUP}",
            count_if("r.response_due IS NOT NULL"),
            count_if(
                "r.response_due IS NOT NULL AND r.responded_at IS NOT NULL AND r.response_breached = 0"
            ),
            count_if("r.resolved_at IS NOT NULL"),
            count_if("r.resolved_at IS NOT NULL AND r.resolution_breached = 0"),
            count_if("r.resolved_at IS NOT NULL AND r.visits_done >= 1"),
            count_if("r.resolved_at IS NOT NULL AND r.visits_done = 1"),
            count_if("r.resolved_at IS NOT NULL AND r.service_type = 'repair'"),
            count_if("r.resolved_at IS NOT NULL AND r.service_type = 'repair' AND r.repeated = 1"),
            count_if("r.rating IS NOT NULL"),
            count_if("r.rating >= 4"),
            zeros(10),
        );
        exec(
            &mut *tx,
            &requests,
            &[month.into(), from.clone().into(), to.clone().into()],
        )
        .await?;
        // Survey answers about them.
        let surveys = format!(
            "INSERT INTO scorecard_cells ({KEYS}, {COUNTERS}) \
             SELECT $1, {R_KEYS}, {}, {}, {}, {}, {}, COALESCE(SUM(s.ces), 0), {} \
             FROM surveys s JOIN requests r ON r.id = s.request_id \
             WHERE r.created_at >= $2 AND r.created_at < $3 AND s.answered_at IS NOT NULL GROUP BY {R_GROUP}",
            zeros(11),
            count_if("s.nps IS NOT NULL"),
            count_if("s.nps >= 9"),
            count_if("s.nps <= 6"),
            count_if("s.ces IS NOT NULL"),
            zeros(5),
        );
        exec(
            &mut *tx,
            &surveys,
            &[month.into(), from.clone().into(), to.clone().into()],
        )
        .await?;
        // Visits on them, for the technician who made each.
        let visits = format!(
            "INSERT INTO scorecard_cells ({KEYS}, {COUNTERS}) \
             SELECT $1, v.technician_id, COALESCE(r.outlet_id, 0), r.service_type, COALESCE(r.category_id, 0), r.tier, \
             {}, {}, {}, COALESCE(SUM(v.checklist_items), 0), COALESCE(SUM(v.checklist_done), 0) \
             FROM visits v JOIN requests r ON r.id = v.request_id \
             WHERE r.created_at >= $2 AND r.created_at < $3 AND v.status = 'done' \
             GROUP BY v.technician_id, COALESCE(r.outlet_id, 0), r.service_type, COALESCE(r.category_id, 0), r.tier",
            zeros(17),
            count_if("v.on_time IS NOT NULL"),
            count_if("v.on_time = 1"),
        );
        exec(&mut *tx, &visits, &[month.into(), from.into(), to.into()]).await?;
        for c in extra {
            let mut vals: Vec<V> = vec![
                month.into(),
                V::I(c.user_id),
                V::I(c.outlet_id),
                (&c.service_type).into(),
                V::I(c.category_id),
                (&c.tier).into(),
            ];
            vals.extend(counts_values(&c.counts).map(V::I));
            let params: Vec<String> = (1..=vals.len()).map(|i| format!("${i}")).collect();
            exec(
                &mut *tx,
                &format!(
                    "INSERT INTO scorecard_cells ({KEYS}, {COUNTERS}) VALUES ({})",
                    params.join(", ")
                ),
                &vals,
            )
            .await?;
        }
        exec(
            &mut *tx,
            "DELETE FROM scorecard_builds WHERE month = $1",
            &[month.into()],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO scorecard_builds (month, built_at) VALUES ($1, $2)",
            &[month.into(), now.into()],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn mark_refreshed(&self, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.lock_scorecards(&mut tx).await?;
        exec(
            &mut *tx,
            "DELETE FROM scorecard_builds WHERE month = '*'",
            &[],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO scorecard_builds (month, built_at) VALUES ('*', $1)",
            &[stamp(at).into()],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn scorecard_cells(
        &self,
        from: &str,
        to: &str,
        user: Option<UserId>,
        by_month: bool,
    ) -> StoreResult<Vec<Cell>> {
        let sums: Vec<String> = COUNTERS
            .split(", ")
            // PostgreSQL sums bigints as numeric: cast back.
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .collect();
        let month = if by_month { "month" } else { "NULL" };
        let mut sql = Sql::new(&format!(
            "SELECT {month} AS month, user_id, outlet_id, service_type, category_id, tier, {} \
             FROM scorecard_cells WHERE month >= ",
            sums.join(", ")
        ));
        sql.bind(from).push(" AND month <= ").bind(to);
        if let Some(u) = user {
            sql.push(" AND user_id = ").bind(u.get());
        }
        sql.push(" GROUP BY ");
        if by_month {
            sql.push("month, ");
        }
        sql.push("user_id, outlet_id, service_type, category_id, tier");
        let rows: Vec<CellRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(rows.into_iter().map(Cell::from).collect())
    }

    async fn outlet_times(
        &self,
        outlet: OutletId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<OutletTimes>> {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = fetch_all(
            &self.db.read,
            "SELECT id, created_at, responded_at, resolved_at FROM requests \
             WHERE outlet_id = $1 AND created_at >= $2 AND created_at < $3",
            &[V::I(outlet.get()), stamp(from).into(), stamp(to).into()],
        )
        .await?;
        rows.into_iter()
            .map(|(id, c, resp, res)| {
                let cells = Cells::of("requests", id);
                Ok(OutletTimes {
                    created_at: cells.at("created_at", &c)?,
                    responded_at: cells.opt_at("responded_at", resp.as_deref())?,
                    resolved_at: cells.opt_at("resolved_at", res.as_deref())?,
                })
            })
            .collect()
    }

    async fn review_candidates(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<ReviewCandidate>> {
        let rows: Vec<(i64, i64, Option<i64>)> = fetch_all(
            &self.db.read,
            "SELECT id, assignee_id, rating FROM requests WHERE resolved_at >= $1 AND resolved_at < $2 \
             AND assignee_id IS NOT NULL AND service_type <> 'complaint' ORDER BY id",
            &[stamp(from).into(), stamp(to).into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, user, rating)| ReviewCandidate {
                request_id: RequestId(id),
                user_id: UserId(user),
                rating,
            })
            .collect())
    }

    async fn create_reviews(&self, reviews: &[NewReview], now: Timestamp) -> StoreResult<usize> {
        let now = stamp(now);
        let mut tx = self.begin().await?;
        let mut n = 0;
        for r in reviews {
            let exists = scalar(
                &mut *tx,
                "SELECT id FROM quality_reviews WHERE request_id = $1",
                &[V::I(r.request_id.get())],
            )
            .await?;
            if exists.is_some() {
                continue;
            }
            exec(
                &mut *tx,
                "INSERT INTO quality_reviews (request_id, user_id, period, reason, status, created_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5)",
                &[
                    V::I(r.request_id.get()),
                    V::I(r.user_id.get()),
                    (&r.period).into(),
                    (&r.reason).into(),
                    now.clone().into(),
                ],
            )
            .await?;
            n += 1;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(n)
    }

    async fn reviews(
        &self,
        period: Option<&str>,
        status: Option<&str>,
        user: Option<UserId>,
    ) -> StoreResult<Vec<Review>> {
        let mut sql = Sql::new(&format!("SELECT {REVIEW_COLS} WHERE 1 = 1"));
        if let Some(p) = period {
            sql.push(" AND q.period = ").bind(p);
        }
        if let Some(s) = status {
            sql.push(" AND q.status = ").bind(s);
        }
        if let Some(u) = user {
            sql.push(" AND q.user_id = ").bind(u.get());
        }
        sql.push(" ORDER BY q.status DESC, q.id LIMIT 1000");
        let rows: Vec<ReviewRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(ReviewRow::review).collect()
    }

    async fn review(&self, id: i64) -> StoreResult<Option<Review>> {
        let row: Option<ReviewRow> = fetch_opt(
            &self.db.read,
            &format!("SELECT {REVIEW_COLS} WHERE q.id = $1"),
            &[V::I(id)],
        )
        .await?;
        row.map(ReviewRow::review).transpose()
    }

    async fn save_review(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        scores: &[(String, i64)],
        score: i64,
        comment: Option<&str>,
        reviewer: UserId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let scores_json = serde_json::to_string(scores).unwrap_or_default();
        let n = exec(
            &mut *tx,
            "UPDATE quality_reviews SET status = 'done', scores = $1, score = $2, comment = $3, \
             reviewer_id = $4, reviewed_at = $5, version = version + 1 WHERE id = $6 AND version = $7",
            &[
                scores_json.into(),
                V::I(score),
                comment.into(),
                V::I(reviewer.get()),
                now.into(),
                V::I(id),
                V::I(version),
            ],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "quality_reviews", id).await);
        }
        let after = json!({ "score": score, "scores": scores });
        self.log(
            &mut tx,
            actor,
            "update",
            "quality_review",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn answer_review(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        answer: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE quality_reviews SET answer = $1, answered_at = $2, version = version + 1 \
             WHERE id = $3 AND version = $4",
            &[answer.into(), now.into(), V::I(id), V::I(version)],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "quality_reviews", id).await);
        }
        self.log(
            &mut tx,
            actor,
            "answer",
            "quality_review",
            id,
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn review_scores(&self, from: &str, to: &str) -> StoreResult<Vec<(UserId, i64, i64)>> {
        let rows: Vec<(i64, i64, i64)> = fetch_all(
            &self.db.read,
            "SELECT user_id, COUNT(*), CAST(SUM(score) AS BIGINT) FROM quality_reviews \
             WHERE status = 'done' AND period >= $1 AND period <= $2 GROUP BY user_id",
            &[from.into(), to.into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(u, n, s)| (UserId(u), n, s))
            .collect())
    }

    async fn overview_facts(
        &self,
        bounds: &[Timestamp],
        days: &[jiff::civil::Date],
        by: &str,
    ) -> StoreResult<OverviewFacts> {
        if bounds.len() < 2 || days.len() != bounds.len() {
            return Ok(OverviewFacts::default());
        }
        let stamps: Vec<String> = bounds.iter().map(|b| stamp(*b)).collect();
        let day_texts: Vec<String> = days.iter().map(ToString::to_string).collect();
        // `CASE WHEN col < b1 THEN 0 WHEN col < b2 THEN 1 … END`, and the window filter.
        let bucket = |sql: &mut Sql, col: &str, b: &[String]| {
            // PostgreSQL types small literals as int4: cast to what is read.
            sql.push("CAST(CASE");
            for (i, v) in b.iter().enumerate().skip(1) {
                sql.push(&format!(" WHEN {col} < ")).bind(v.as_str());
                sql.push(&format!(" THEN {}", i - 1));
            }
            sql.push(" END AS BIGINT)");
        };
        let window = |sql: &mut Sql, col: &str, b: &[String]| {
            sql.push(&format!(" {col} >= "))
                .bind(b[0].as_str())
                .push(&format!(" AND {col} < "))
                .bind(b[b.len() - 1].as_str());
        };
        let mut f = OverviewFacts::default();

        // Awareness: new customers (by touchpoint), or a line's or outlet's first buyers.
        let mut sql = Sql::new("SELECT ");
        if by == "all" {
            bucket(&mut sql, "c.created_at", &stamps);
            sql.push(
                " AS m, CAST(0 AS BIGINT) AS g, COALESCE(c.source, '') AS t, COUNT(*) AS n \
                 FROM customers c WHERE c.merged_into IS NULL AND",
            );
            window(&mut sql, "c.created_at", &stamps);
            sql.push(" GROUP BY 1, 3");
        } else {
            let key = if by == "line" {
                "p.category_id"
            } else {
                "o.outlet_id"
            };
            let join = if by == "line" {
                " JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id"
            } else {
                ""
            };
            bucket(&mut sql, "f.first", &day_texts);
            sql.push(&format!(
                " AS m, f.g AS g, '' AS t, COUNT(*) AS n FROM (SELECT o.customer_id, {key} AS g, \
                 MIN(o.ordered_on) AS first FROM orders o{join} WHERE {key} IS NOT NULL \
                 AND o.status <> 'cancelled' \
                 GROUP BY o.customer_id, {key}) f WHERE"
            ));
            window(&mut sql, "f.first", &day_texts);
            sql.push(" GROUP BY 1, 2");
        }
        let rows: Vec<(i64, i64, String, i64)> =
            fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        f.reached = rows
            .into_iter()
            .map(|(m, g, t, n)| (m as usize, g, t, n))
            .collect();

        // Reputation: resolved requests' experiences, and survey NPS answers.
        let key = match by {
            "line" => "COALESCE(r.category_id, 0)",
            "outlet" => "COALESCE(r.outlet_id, 0)",
            _ => "CAST(0 AS BIGINT)",
        };
        let mut sql = Sql::new("SELECT ");
        bucket(&mut sql, "r.resolved_at", &stamps);
        sql.push(&format!(
            " AS m, {key} AS g, r.rating, r.resolution_breached, \
             CAST(CASE WHEN r.service_type = 'complaint' THEN 1 ELSE 0 END AS BIGINT) AS complaint, COUNT(*) AS n \
             FROM requests r WHERE"
        ));
        window(&mut sql, "r.resolved_at", &stamps);
        sql.push(" GROUP BY 1, 2, 3, 4, 5");
        let rows: Vec<(i64, i64, Option<i64>, i64, i64, i64)> =
            fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        f.experiences = rows
            .into_iter()
            .map(|(m, g, rating, breached, complaint, n)| {
                (m as usize, g, rating, breached != 0, complaint != 0, n)
            })
            .collect();
        let key = match by {
            "line" => "COALESCE(p.category_id, 0)",
            "outlet" => "COALESCE(s.outlet_id, 0)",
            _ => "CAST(0 AS BIGINT)",
        };
        let mut sql = Sql::new("SELECT ");
        bucket(&mut sql, "s.answered_at", &stamps);
        sql.push(&format!(
            " AS m, {key} AS g, s.nps, COUNT(*) AS n FROM surveys s \
             LEFT JOIN products p ON p.id = s.product_id WHERE s.nps IS NOT NULL AND"
        ));
        window(&mut sql, "s.answered_at", &stamps);
        sql.push(" GROUP BY 1, 2, 3");
        let rows: Vec<(i64, i64, i64, i64)> =
            fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        f.nps = rows
            .into_iter()
            .map(|(m, g, nps, n)| (m as usize, g, nps, n))
            .collect();

        // Loyalty: who bought, and who had bought before.
        let (key, join) = match by {
            "line" => (
                "p.category_id",
                " JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id",
            ),
            "outlet" => ("COALESCE(o.outlet_id, 0)", ""),
            _ => ("CAST(0 AS BIGINT)", ""),
        };
        let mut sql = Sql::new("SELECT ");
        bucket(&mut sql, "o.ordered_on", &day_texts);
        sql.push(&format!(
            " AS m, {key} AS g, COUNT(DISTINCT o.customer_id) AS buyers, \
             COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM orders e WHERE e.customer_id = o.customer_id \
             AND e.ordered_on < o.ordered_on AND e.status <> 'cancelled') THEN o.customer_id END) AS again \
             FROM orders o{join} WHERE o.status <> 'cancelled' AND"
        ));
        window(&mut sql, "o.ordered_on", &day_texts);
        sql.push(" GROUP BY 1, 2");
        let rows: Vec<(i64, i64, i64, i64)> =
            fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        f.buyers = rows
            .into_iter()
            .map(|(m, g, b, a)| (m as usize, g, b, a))
            .collect();
        if by == "all" {
            let mut sql = Sql::new("SELECT ");
            bucket(&mut sql, "h.at", &stamps);
            sql.push(" AS m, h.to_stage, COUNT(*) AS n FROM loyalty_history h WHERE");
            window(&mut sql, "h.at", &stamps);
            sql.push(" GROUP BY 1, 2");
            let rows: Vec<(i64, String, i64)> =
                fetch_all(&self.db.read, &sql.text, &sql.args).await?;
            f.stage_entries = rows
                .into_iter()
                .map(|(m, s, n)| (m as usize, s, n))
                .collect();
        }
        let funnel_sql = match by {
            "line" => {
                "SELECT p.category_id AS g, v.stage, COUNT(DISTINCT v.customer_id) AS n \
                 FROM customer_values v JOIN orders o ON o.customer_id = v.customer_id \
                 JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id \
                 WHERE o.status <> 'cancelled' GROUP BY 1, 2"
            }
            "outlet" => {
                "SELECT o.outlet_id AS g, v.stage, COUNT(DISTINCT v.customer_id) AS n \
                 FROM customer_values v JOIN orders o ON o.customer_id = v.customer_id \
                 WHERE o.outlet_id IS NOT NULL AND o.status <> 'cancelled' GROUP BY 1, 2"
            }
            _ => {
                "SELECT CAST(0 AS BIGINT) AS g, stage, COUNT(*) AS n FROM customer_values GROUP BY 1, 2"
            }
        };
        f.funnel = fetch_all(&self.db.read, funnel_sql, &[]).await?;
        Ok(f)
    }
}
