//! The `FeedbackStore` port over SQL: feedback items and their corrections, the
//! dictionary, the improvement backlog, the customer alliance and capture from the
//! change log.

use crate::customer_rows::split_list;
use crate::db::*;
use crate::store::{SqlStore, timeline_to};
use aftercare_app::StoreError;
use aftercare_app::feedback::*;
use aftercare_app::model::Page;
use aftercare_app::ports::StoreResult;
use aftercare_app::service::Actor;
use aftercare_domain::feedback::{Ladder, Need, Sentiment};
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;

const ITEM_SELECT: &str = "SELECT f.id, f.source, f.origin, f.customer_id, c.name AS customer_name, \
    CAST(CASE WHEN e.customer_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS expert, f.product_id, p.name AS product_name, \
    f.asset_id, f.request_id, f.outlet_id, f.rating, f.body, f.received_at, f.analysis, f.analysis_error, \
    f.script, f.keywords, f.topic, f.sentiment, f.sentiment_score, f.ladder, f.need, f.evidence, \
    f.confidence, f.corrected, f.improvement_id, f.uncertain \
    FROM feedback_items f LEFT JOIN customers c ON c.id = f.customer_id \
    LEFT JOIN customer_experts e ON e.customer_id = f.customer_id \
    LEFT JOIN products p ON p.id = f.product_id WHERE 1 = 1";

#[derive(sqlx::FromRow)]
struct ItemRec {
    id: i64,
    source: String,
    origin: Option<String>,
    customer_id: Option<i64>,
    customer_name: Option<String>,
    expert: i64,
    product_id: Option<i64>,
    product_name: Option<String>,
    asset_id: Option<i64>,
    request_id: Option<i64>,
    outlet_id: Option<i64>,
    rating: Option<i64>,
    body: String,
    received_at: String,
    analysis: String,
    analysis_error: Option<String>,
    script: Option<String>,
    keywords: Option<String>,
    topic: Option<String>,
    sentiment: Option<String>,
    sentiment_score: Option<f64>,
    ladder: Option<String>,
    need: Option<String>,
    evidence: Option<String>,
    confidence: Option<String>,
    corrected: i64,
    improvement_id: Option<i64>,
    uncertain: i64,
}

fn json_or(s: Option<&str>, empty: serde_json::Value) -> serde_json::Value {
    s.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(empty)
}

impl TryFrom<ItemRec> for FeedbackItem {
    type Error = StoreError;

    fn try_from(r: ItemRec) -> Result<Self, StoreError> {
        let c = Cells::of("feedback_items", r.id);
        Ok(FeedbackItem {
            id: FeedbackId(r.id),
            source: c.code("source", &r.source)?,
            origin: r.origin,
            customer_id: r.customer_id.map(CustomerId),
            customer_name: r.customer_name,
            expert: r.expert != 0,
            product_id: r.product_id.map(ProductId),
            product_name: r.product_name,
            asset_id: r.asset_id.map(AssetId),
            request_id: r.request_id.map(RequestId),
            outlet_id: r.outlet_id.map(OutletId),
            rating: r.rating,
            body: r.body,
            received_at: c.at("received_at", &r.received_at)?,
            analysis: r.analysis,
            analysis_error: r.analysis_error,
            script: r.script,
            keywords: r
                .keywords
                .and_then(|k| serde_json::from_str(&k).ok())
                .unwrap_or_default(),
            topic: r.topic,
            sentiment: c.opt_code("sentiment", r.sentiment.as_deref())?,
            sentiment_score: r.sentiment_score,
            ladder: c.opt_code("ladder", r.ladder.as_deref())?,
            need: c.opt_code("need", r.need.as_deref())?,
            evidence: json_or(r.evidence.as_deref(), json!({})),
            confidence: json_or(r.confidence.as_deref(), json!({})),
            corrected: r.corrected != 0,
            improvement_id: r.improvement_id.map(ImprovementId),
            uncertain: r.uncertain != 0 && r.corrected == 0,
        })
    }
}

const IMPROVEMENT_SELECT: &str = "SELECT i.id, i.product_id, p.name AS product_name, i.topic, i.kind, i.status, \
    i.note, COUNT(f.id) AS items, COUNT(DISTINCT f.customer_id) AS customers, \
    COUNT(DISTINCT e.customer_id) AS experts, \
    CAST(COALESCE((SELECT SUM(v.clv) FROM customer_values v WHERE v.customer_id IN \
        (SELECT DISTINCT f2.customer_id FROM feedback_items f2 WHERE f2.improvement_id = i.id)), 0) AS DOUBLE PRECISION) \
        AS touched_value, \
    CAST(SUM(CASE WHEN f.sentiment = 'negative' THEN 1 ELSE 0 END) AS BIGINT) AS negative, \
    i.created_at, i.updated_at, i.shipped_at \
    FROM improvements i LEFT JOIN products p ON p.id = i.product_id \
    LEFT JOIN feedback_items f ON f.improvement_id = i.id \
    LEFT JOIN customer_experts e ON e.customer_id = f.customer_id WHERE 1 = 1";

const IMPROVEMENT_GROUP: &str = " GROUP BY i.id, i.product_id, p.name, i.topic, i.kind, i.status, i.note, \
    i.created_at, i.updated_at, i.shipped_at";

#[derive(sqlx::FromRow)]
struct ImprovementRec {
    id: i64,
    product_id: Option<i64>,
    product_name: Option<String>,
    topic: String,
    kind: String,
    status: String,
    note: Option<String>,
    items: i64,
    customers: i64,
    experts: i64,
    touched_value: f64,
    negative: Option<i64>,
    created_at: String,
    updated_at: String,
    shipped_at: Option<String>,
}

impl TryFrom<ImprovementRec> for Improvement {
    type Error = StoreError;

    fn try_from(r: ImprovementRec) -> Result<Self, StoreError> {
        let c = Cells::of("improvements", r.id);
        Ok(Improvement {
            id: ImprovementId(r.id),
            product_id: r.product_id.map(ProductId),
            product_name: r.product_name,
            topic: r.topic,
            kind: r.kind,
            status: c.code("status", &r.status)?,
            note: r.note,
            items: r.items,
            customers: r.customers,
            experts: r.experts,
            value: r.touched_value,
            negative: r.negative.unwrap_or(0),
            created_at: c.at("created_at", &r.created_at)?,
            updated_at: c.at("updated_at", &r.updated_at)?,
            shipped_at: c.opt_at("shipped_at", r.shipped_at.as_deref())?,
        })
    }
}

/// The backlog entry of (product, topic, kind), created when new.
async fn improvement_for(
    tx: &mut AnyConnection,
    (product, topic, kind): &(Option<ProductId>, String, &'static str),
    now: &str,
) -> Result<i64, StoreError> {
    let find = "SELECT id FROM improvements WHERE COALESCE(product_id, 0) = $1 AND topic = $2 AND kind = $3";
    let key = [
        V::I(product.map_or(0, ProductId::get)),
        V::T(topic.clone()),
        V::T((*kind).into()),
    ];
    if let Some(id) = scalar(&mut *tx, find, &key).await? {
        return Ok(id);
    }
    insert_id(
        &mut *tx,
        "INSERT INTO improvements (product_id, topic, kind, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'new', $4, $4) RETURNING id",
        &[
            V::from(*product),
            V::T(topic.clone()),
            V::T((*kind).into()),
            now.into(),
        ],
    )
    .await
}

/// What a new item's statement needs to know first, read in one statement: the item
/// already taken in from `origin`, if any, else the field of the first linked record that
/// does not exist, if any.
async fn known_and_missing(
    tx: &mut AnyConnection,
    origin: Option<&str>,
    links: &[(&'static str, &str, Option<i64>)],
) -> Result<(Option<i64>, Option<&'static str>), StoreError> {
    let mut sql = Sql::default();
    if let Some(origin) = origin {
        sql.push("SELECT CAST(-1 AS BIGINT) AS k, id FROM feedback_items WHERE origin = ")
            .bind(origin);
    }
    for (i, (_, table, id)) in links.iter().enumerate() {
        let Some(id) = id else { continue };
        if !sql.text.is_empty() {
            sql.push(" UNION ALL ");
        }
        sql.push(&format!(
            "SELECT CAST({i} AS BIGINT) AS k, id FROM {table} WHERE id = "
        ))
        .bind(*id);
    }
    if sql.text.is_empty() {
        return Ok((None, None));
    }
    let found: Vec<(i64, i64)> = fetch_all(&mut *tx, &sql.text, &sql.args).await?;
    if let Some((_, id)) = found.iter().find(|(k, _)| *k < 0) {
        return Ok((Some(*id), None));
    }
    let missing = links
        .iter()
        .enumerate()
        .find(|(i, (_, _, id))| {
            id.is_some()
                && !found
                    .iter()
                    .any(|(k, _)| usize::try_from(*k).ok() == Some(*i))
        })
        .map(|(_, (field, _, _))| *field);
    Ok((None, missing))
}

fn short(body: &str) -> String {
    let mut s: String = body.chars().take(60).collect();
    if body.chars().count() > 60 {
        s.push('…');
    }
    s
}

impl SqlStore {
    /// Stores one feedback item in the caller's transaction: see
    /// [`FeedbackStore::insert_feedback`]. An origin taken in before writes nothing.
    async fn insert_feedback_in(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        r: &FeedbackRecord,
        now: &str,
    ) -> StoreResult<(FeedbackId, bool)> {
        let (known, missing) = known_and_missing(
            &mut *tx,
            r.origin.as_deref(),
            &[
                (
                    "customer_id",
                    "customers",
                    r.customer_id.map(CustomerId::get),
                ),
                ("product_id", "products", r.product_id.map(ProductId::get)),
                ("asset_id", "assets", r.asset_id.map(AssetId::get)),
                ("request_id", "requests", r.request_id.map(RequestId::get)),
                ("outlet_id", "outlets", r.outlet_id.map(OutletId::get)),
            ],
        )
        .await?;
        if let Some(id) = known {
            return Ok((FeedbackId(id), false));
        }
        if let Some(field) = missing {
            return Err(StoreError::Conflict {
                code: "reference_not_found",
                field: Some(field.into()),
            });
        }
        let improvement = match &r.backlog {
            Some(key) => Some(improvement_for(&mut *tx, key, now).await?),
            None => None,
        };
        let (status, error) = match &r.analysis {
            Ok(_) => ("analysed", None),
            Err(e) => ("failed", Some(e.clone())),
        };
        let a = r.analysis.as_ref().ok();
        let id = insert_id(
            &mut *tx,
            "INSERT INTO feedback_items (source, origin, customer_id, product_id, asset_id, request_id, outlet_id, \
             rating, body, received_at, analysis, analysis_error, script, keywords, topic, sentiment, \
             sentiment_score, ladder, need, evidence, confidence, improvement_id, created_by, uncertain) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) \
             RETURNING id",
            &[
                r.source.code().into(),
                V::OptT(r.origin.clone()),
                V::OptI(r.customer_id.map(CustomerId::get)),
                V::OptI(r.product_id.map(ProductId::get)),
                V::OptI(r.asset_id.map(AssetId::get)),
                V::OptI(r.request_id.map(RequestId::get)),
                V::OptI(r.outlet_id.map(OutletId::get)),
                V::OptI(r.rating),
                (&r.body).into(),
                r.received_at.into(),
                status.into(),
                V::OptT(error),
                V::OptT(a.map(|a| a.script.code().into())),
                V::OptT(a.map(|a| json!(a.keywords).to_string())),
                V::OptT(a.and_then(|a| a.topic.clone())),
                V::OptT(a.map(|a| a.sentiment.label.code().into())),
                V::OptF(a.map(|a| a.sentiment_score)),
                V::OptT(a.map(|a| a.ladder.label.code().into())),
                V::OptT(a.map(|a| a.need.label.code().into())),
                V::OptT(a.map(|a| {
                    json!({"sentiment": a.sentiment.evidence, "ladder": a.ladder.evidence, "need": a.need.evidence})
                        .to_string()
                })),
                V::OptT(a.map(|a| {
                    json!({"sentiment": a.sentiment.confidence, "ladder": a.ladder.confidence, "need": a.need.confidence})
                        .to_string()
                })),
                V::OptI(improvement),
                actor.label.clone().into(),
                V::I(i64::from(r.uncertain)),
            ],
        )
        .await
        .map_err(|e| match e {
            // Two writers took in the same origin at once: the other one won.
            StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict {
                code: "feedback_duplicate",
                field: Some("origin".into()),
            },
            e => e,
        })?;
        let after = json!({
            "customer_id": r.customer_id, "product_id": r.product_id, "source": r.source.code(),
            "analysis": status, "sentiment": a.map(|a| a.sentiment.label.code()),
        });
        let mut w = Writes::default();
        self.log_to(
            &mut *tx,
            &mut w,
            actor,
            "create",
            "feedback",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        if let Some(customer) = r.customer_id {
            timeline_to(
                &mut w,
                customer.get(),
                now,
                "feedback",
                None,
                Some(id),
                &short(&r.body),
                actor,
            );
        }
        w.run(self.db.backend, tx).await?;
        Ok((FeedbackId(id), true))
    }
}

/// Whether a customer is an expert (a field they know, and since when).
pub(crate) fn expert_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        "SELECT field, since FROM customer_experts WHERE customer_id = $1",
        vec![V::I(customer_id.get())],
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ExpertRec {
    pub(crate) field: Option<String>,
    pub(crate) since: String,
}

#[async_trait]
impl FeedbackStore for SqlStore {
    async fn insert_feedback(
        &self,
        actor: &Actor,
        r: &FeedbackRecord,
        now: jiff::Timestamp,
    ) -> StoreResult<(FeedbackId, bool)> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let found = self.insert_feedback_in(&mut tx, actor, r, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(found)
    }

    async fn insert_feedbacks(
        &self,
        actor: &Actor,
        records: &[FeedbackRecord],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<(FeedbackId, bool)>> {
        // One write job: on SQLite it queues with the desk's own writes and shares their
        // commit, rather than holding the writer in a transaction of its own.
        let now = aftercare_app::ports::stamp(now);
        let (me, actor, records) = (
            self.clone(),
            actor.clone(),
            std::sync::Arc::new(records.to_vec()),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, records) =
                    (me.clone(), actor.clone(), now.clone(), records.clone());
                Box::pin(async move {
                    let mut out = Vec::with_capacity(records.len());
                    for r in records.iter() {
                        out.push(me.insert_feedback_in(tx, &actor, r, &now).await?);
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn feedback_item(&self, id: FeedbackId) -> StoreResult<Option<FeedbackItem>> {
        let r: Option<ItemRec> = fetch_opt(
            &self.db.read,
            &format!("{ITEM_SELECT} AND f.id = $1"),
            &[V::I(id.get())],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn feedback(&self, q: &FeedbackQuery, limit: u32) -> StoreResult<Page<FeedbackItem>> {
        let mut sql = Sql::new(ITEM_SELECT);
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        for (col, v) in [
            ("f.customer_id", q.customer_id.map(CustomerId::get)),
            ("f.product_id", q.product_id.map(ProductId::get)),
            ("f.outlet_id", q.outlet_id.map(OutletId::get)),
            ("f.improvement_id", q.improvement_id.map(ImprovementId::get)),
        ] {
            if let Some(v) = v {
                sql.push(&format!(" AND {col} = ")).bind(V::I(v));
            }
        }
        for (col, v) in [
            ("f.source", &q.source),
            ("f.sentiment", &q.sentiment),
            ("f.ladder", &q.ladder),
            ("f.need", &q.need),
        ] {
            if let Some(v) = text(v) {
                sql.push(&format!(" AND {col} = ")).bind(V::T(v));
            }
        }
        match q.uncertain {
            Some(true) => {
                sql.push(" AND f.uncertain = 1 AND f.corrected = 0");
            }
            Some(false) => {
                sql.push(" AND (f.uncertain = 0 OR f.corrected = 1)");
            }
            None => {}
        }
        match q.failed {
            Some(true) => {
                sql.push(" AND f.analysis = 'failed'");
            }
            Some(false) => {
                sql.push(" AND f.analysis = 'analysed'");
            }
            None => {}
        }
        match q.expert {
            Some(true) => {
                sql.push(" AND e.customer_id IS NOT NULL");
            }
            Some(false) => {
                sql.push(" AND e.customer_id IS NULL");
            }
            None => {}
        }
        if let Some(c) = q.cursor.as_deref().and_then(|c| c.parse::<i64>().ok()) {
            sql.push(" AND f.id < ").bind(V::I(c));
        }
        sql.push(" ORDER BY f.id DESC LIMIT ")
            .bind(V::I(i64::from(limit) + 1));
        let mut rows: Vec<ItemRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| r.id.to_string())
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

    async fn correct_feedback(
        &self,
        actor: &Actor,
        id: FeedbackId,
        changes: &[(&'static str, Option<String>, String)],
        backlog: Option<(Option<ProductId>, String, &'static str)>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        if scalar(
            &mut *tx,
            "SELECT id FROM feedback_items WHERE id = $1",
            &[V::I(id.get())],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound);
        }
        let improvement = match &backlog {
            Some(key) => Some(improvement_for(&mut tx, key, now).await?),
            None => None,
        };
        for (label, from, to) in changes {
            // `label` is one of three column names chosen by the caller, never user text.
            let column = match *label {
                "sentiment" => "sentiment",
                "ladder" => "ladder",
                _ => "need",
            };
            exec(
                &mut *tx,
                &format!("UPDATE feedback_items SET {column} = $1 WHERE id = $2"),
                &[to.into(), V::I(id.get())],
            )
            .await?;
            exec(
                &mut *tx,
                "INSERT INTO feedback_corrections (feedback_id, label, from_value, to_value, by_id, by_label, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[V::I(id.get()), (*label).into(), V::OptT(from.clone()), to.into(), V::OptI(actor.user_id.map(UserId::get)), actor.label.clone().into(), now.into()],
            )
            .await?;
        }
        exec(
            &mut *tx,
            "UPDATE feedback_items SET corrected = 1, analysis = 'analysed', improvement_id = $1 WHERE id = $2",
            &[V::OptI(improvement), V::I(id.get())],
        )
        .await?;
        let after = json!({ "changes": changes.iter().map(|(l, _, t)| json!({"label": l, "to": t})).collect::<Vec<_>>() });
        self.log(
            &mut tx,
            actor,
            "correct",
            "feedback",
            id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn corrections(&self, id: FeedbackId) -> StoreResult<Vec<Correction>> {
        let rows: Vec<(i64, String, Option<String>, String, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, label, from_value, to_value, by_label, at FROM feedback_corrections WHERE feedback_id = $1 ORDER BY id",
            &[V::I(id.get())],
        )
        .await?;
        rows.into_iter()
            .map(|(id, label, from_value, to_value, by, at)| {
                Ok(Correction {
                    at: Cells::of("feedback_corrections", id).at("at", &at)?,
                    label,
                    from_value,
                    to_value,
                    by,
                })
            })
            .collect()
    }

    async fn corrected_examples(&self) -> StoreResult<Vec<(String, Sentiment, Ladder, Need)>> {
        let rows: Vec<(i64, String, String, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, body, sentiment, ladder, need FROM feedback_items WHERE corrected = 1 \
             AND sentiment IS NOT NULL AND ladder IS NOT NULL AND need IS NOT NULL ORDER BY id",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|(id, body, s, l, n)| {
                let c = Cells::of("feedback_items", id);
                Ok((
                    body,
                    c.code("sentiment", &s)?,
                    c.code("ladder", &l)?,
                    c.code("need", &n)?,
                ))
            })
            .collect()
    }

    async fn dictionary(&self) -> StoreResult<Vec<DictionaryWord>> {
        let rows: Vec<(String, String, String, String)> = fetch_all(
            &self.db.read,
            "SELECT word, kind, added_by, added_at FROM text_words ORDER BY word",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|(word, kind, added_by, added_at)| {
                Ok(DictionaryWord {
                    added_at: added_at.parse().map_err(|_| StoreError::Corrupt {
                        table: "text_words",
                        id: 0,
                        column: "added_at",
                        value: added_at.clone(),
                    })?,
                    word,
                    kind,
                    added_by,
                })
            })
            .collect()
    }

    async fn add_dictionary_word(
        &self,
        actor: &Actor,
        word: &str,
        kind: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        if scalar(
            &mut *tx,
            "SELECT 1 FROM text_words WHERE word = $1",
            &[word.into()],
        )
        .await?
        .is_some()
        {
            return Ok(false);
        }
        exec(
            &mut *tx,
            "INSERT INTO text_words (word, kind, added_by, added_at) VALUES ($1, $2, $3, $4)",
            &[
                word.into(),
                kind.into(),
                actor.label.clone().into(),
                now.into(),
            ],
        )
        .await?;
        let after = json!({ "word": word, "kind": kind });
        self.log(
            &mut tx,
            actor,
            "create",
            "text_word",
            0,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(true)
    }

    async fn backlog(
        &self,
        product: Option<Option<ProductId>>,
        status: Option<&str>,
    ) -> StoreResult<Vec<Improvement>> {
        let mut sql = Sql::new(IMPROVEMENT_SELECT);
        match product {
            Some(Some(p)) => {
                sql.push(" AND i.product_id = ").bind(V::I(p.get()));
            }
            Some(None) => {
                sql.push(" AND i.product_id IS NULL");
            }
            None => {}
        }
        if let Some(s) = status {
            sql.push(" AND i.status = ").bind(V::T(s.into()));
        }
        sql.push(IMPROVEMENT_GROUP);
        // An entry all of whose feedback moved elsewhere by correction, untouched by
        // staff, is no longer anything.
        sql.push(" HAVING COUNT(f.id) > 0 OR i.status <> 'new'");
        sql.push(" ORDER BY customers DESC, touched_value DESC, items DESC, i.id LIMIT 500");
        let rows: Vec<ImprovementRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn improvement(&self, id: ImprovementId) -> StoreResult<Option<Improvement>> {
        let r: Option<ImprovementRec> = fetch_opt(
            &self.db.read,
            &format!("{IMPROVEMENT_SELECT} AND i.id = $1{IMPROVEMENT_GROUP}"),
            &[V::I(id.get())],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn set_improvement_status(
        &self,
        actor: &Actor,
        id: ImprovementId,
        status: &str,
        note: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let before: Option<(String, Option<String>)> = fetch_opt(
            &mut *tx,
            "SELECT status, note FROM improvements WHERE id = $1",
            &[V::I(id.get())],
        )
        .await?;
        let Some((old, old_note)) = before else {
            return Err(StoreError::NotFound);
        };
        exec(
            &mut *tx,
            "UPDATE improvements SET status = $1, note = COALESCE($2, note), updated_at = $3, \
             shipped_at = CASE WHEN $1 = 'shipped' THEN COALESCE(shipped_at, $3) ELSE shipped_at END WHERE id = $4",
            &[status.into(), note.into(), now.into(), V::I(id.get())],
        )
        .await?;
        let before = json!({ "status": old, "note": old_note });
        let after = json!({ "status": status, "note": note });
        self.log(
            &mut tx,
            actor,
            "update",
            "improvement",
            id.get(),
            Some(&before),
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn raised_by(&self, improvement_id: ImprovementId) -> StoreResult<Vec<RaisedBy>> {
        let rows: Vec<(i64, String, Option<String>, Option<String>, String, i64, String)> = fetch_all(
            &self.db.read,
            "SELECT c.id, c.name, c.primary_phone, c.primary_email, c.consent, \
             CAST(CASE WHEN e.customer_id IS NULL THEN 0 ELSE 1 END AS BIGINT), MIN(f.received_at) \
             FROM feedback_items f JOIN customers c ON c.id = f.customer_id \
             LEFT JOIN customer_experts e ON e.customer_id = c.id \
             WHERE f.improvement_id = $1 \
             GROUP BY c.id, c.name, c.primary_phone, c.primary_email, c.consent, e.customer_id ORDER BY c.id",
            &[V::I(improvement_id.get())],
        )
        .await?;
        rows.into_iter()
            .map(
                |(customer_id, name, phone, email, consent, expert, first_said)| {
                    let c = Cells::of("customers", customer_id);
                    Ok(RaisedBy {
                        customer_id: CustomerId(customer_id),
                        name,
                        phone,
                        email,
                        consent: split_list(&consent)
                            .iter()
                            .map(|x| c.code("consent", x))
                            .collect::<Result<_, _>>()?,
                        expert: expert != 0,
                        first_said: c.at("first_said", &first_said)?,
                    })
                },
            )
            .collect()
    }

    async fn set_expert(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        field: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        if scalar(
            &mut *tx,
            "SELECT id FROM customers WHERE id = $1",
            &[V::I(customer_id.get())],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound);
        }
        let was = scalar(
            &mut *tx,
            "SELECT 1 FROM customer_experts WHERE customer_id = $1",
            &[V::I(customer_id.get())],
        )
        .await?;
        if was.is_some() {
            exec(
                &mut *tx,
                "UPDATE customer_experts SET field = $1 WHERE customer_id = $2",
                &[field.into(), V::I(customer_id.get())],
            )
            .await?;
        } else {
            exec(
                &mut *tx,
                "INSERT INTO customer_experts (customer_id, field, since, added_by) VALUES ($1, $2, $3, $4)",
                &[V::I(customer_id.get()), field.into(), now.into(), actor.label.clone().into()],
            )
            .await?;
            self.timeline_add(
                &mut tx,
                customer_id.get(),
                now,
                "expert",
                None,
                None,
                "customer alliance: expert",
                actor,
            )
            .await?;
        }
        let after = json!({ "customer_id": customer_id, "expert": true, "field": field });
        self.log(
            &mut tx,
            actor,
            "update",
            "customer_expert",
            customer_id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn unset_expert(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let n = exec(
            &mut *tx,
            "DELETE FROM customer_experts WHERE customer_id = $1",
            &[V::I(customer_id.get())],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let after = json!({ "customer_id": customer_id, "expert": false });
        self.log(
            &mut tx,
            actor,
            "update",
            "customer_expert",
            customer_id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn expert(
        &self,
        customer_id: CustomerId,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        let sql = expert_sql(customer_id);
        let r: Option<ExpertRec> = fetch_opt(&self.db.read, &sql.text, &sql.args).await?;
        Ok(r.map(|r| (r.field, r.since)))
    }

    async fn text_model_version(&self) -> StoreResult<(i64, i64)> {
        let corrections = scalar(
            &self.db.write,
            "SELECT COALESCE(MAX(id), 0) FROM feedback_corrections",
            &[],
        )
        .await?
        .unwrap_or(0);
        let words = scalar(&self.db.write, "SELECT COUNT(*) FROM text_words", &[])
            .await?
            .unwrap_or(0);
        Ok((corrections, words))
    }

    async fn said(
        &self,
        requests: &[i64],
        interactions: &[i64],
        touchpoints: &[&str],
    ) -> StoreResult<Vec<Said>> {
        let mut out: Vec<Said> = Vec::new();
        for chunk in requests.chunks(200) {
            let mut sql = Sql::new(
                "SELECT r.id, r.service_type, r.subject, r.description, r.customer_id, r.asset_id, r.outlet_id, r.created_at \
                 FROM requests r WHERE 1 = 1",
            );
            in_list(&mut sql, "r.id", chunk);
            let rows: Vec<(
                i64,
                String,
                String,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                String,
            )> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (id, service_type, subject, description, customer_id, asset_id, outlet_id, at) in
                rows
            {
                let c = Cells::of("requests", id);
                out.push(Said::Request {
                    id: RequestId(id),
                    service_type: c.code("service_type", &service_type)?,
                    subject,
                    description,
                    customer_id: CustomerId(customer_id),
                    asset_id: asset_id.map(AssetId),
                    outlet_id: outlet_id.map(OutletId),
                    at: c.at("created_at", &at)?,
                });
            }
            let mut sql = Sql::new(
                "SELECT r.id, r.rating, r.rating_comment, r.customer_id, r.asset_id, r.outlet_id, \
                 COALESCE(r.rated_at, r.updated_at) \
                 FROM requests r WHERE r.rating_comment IS NOT NULL AND r.rating_comment <> ''",
            );
            in_list(&mut sql, "r.id", chunk);
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                i64,
                Option<i64>,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                String,
            )> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (request_id, rating, comment, customer_id, asset_id, outlet_id, at) in rows {
                out.push(Said::Rating {
                    request_id: RequestId(request_id),
                    rating,
                    comment,
                    customer_id: CustomerId(customer_id),
                    asset_id: asset_id.map(AssetId),
                    outlet_id: outlet_id.map(OutletId),
                    at: Cells::of("requests", request_id).at("rated_at", &at)?,
                });
            }
            let mut sql = Sql::new(
                "SELECT m.id, m.body, m.request_id, r.customer_id, r.asset_id, r.outlet_id, m.created_at \
                 FROM request_messages m JOIN requests r ON r.id = m.request_id \
                 WHERE m.kind = 'customer' AND m.body <> r.description",
            );
            in_list(&mut sql, "m.request_id", chunk);
            let rows: Vec<(i64, String, i64, i64, Option<i64>, Option<i64>, String)> =
                fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (id, body, request_id, customer_id, asset_id, outlet_id, at) in rows {
                out.push(Said::Message {
                    at: Cells::of("request_messages", id).at("created_at", &at)?,
                    id,
                    request_id: RequestId(request_id),
                    body,
                    customer_id: CustomerId(customer_id),
                    asset_id: asset_id.map(AssetId),
                    outlet_id: outlet_id.map(OutletId),
                });
            }
        }
        if touchpoints.is_empty() {
            return Ok(out);
        }
        for chunk in interactions.chunks(200) {
            let mut sql = Sql::new(
                "SELECT id, customer_id, touchpoint, subject, body, at FROM interactions WHERE 1 = 1",
            );
            in_list(&mut sql, "touchpoint", touchpoints);
            in_list(&mut sql, "id", chunk);
            let rows: Vec<(i64, i64, String, String, Option<String>, String)> =
                fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (id, customer_id, touchpoint, subject, body, at) in rows {
                out.push(Said::Contact {
                    at: Cells::of("interactions", id).at("at", &at)?,
                    id,
                    customer_id: CustomerId(customer_id),
                    touchpoint,
                    subject,
                    body,
                });
            }
        }
        Ok(out)
    }

    async fn known_origins(&self, origins: &[&str]) -> StoreResult<Vec<String>> {
        let mut known = Vec::new();
        for chunk in origins.chunks(200) {
            let mut sql = Sql::new("SELECT origin FROM feedback_items WHERE 1 = 1");
            in_list(&mut sql, "origin", chunk);
            let rows: Vec<(String,)> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            known.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(known)
    }
}
