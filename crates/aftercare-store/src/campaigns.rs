//! The `CampaignStore` port over SQL: campaigns, their members, and the contact budget.

use crate::db::*;
use crate::store::SqlStore;
use crate::value::segment_where;
use aftercare_app::StoreError;
use aftercare_app::campaign_model::*;
use aftercare_app::ports::{CampaignStore, StoreResult, stamp};
use aftercare_app::service::Actor;
use aftercare_app::value_model::SegmentFilter;
use aftercare_domain::campaign::{CampaignStatus, ContactBudget, Outcome};
use aftercare_domain::{CustomerId, UserId};
use async_trait::async_trait;
use jiff::civil::Date;
use serde_json::json;

const CAMPAIGN_COLS: &str = "k.id, k.name, k.trigger_kind, k.segment_name, k.audience, k.lead_days, \
     k.text_id, t.name AS text_name, k.subject_zh_hans, k.subject_zh_hant, k.subject_en, \
     k.holdout_percent, k.voucher_kind, k.voucher_value, k.voucher_days, k.voucher_max, k.seed, k.window_days, k.steps, k.status, k.started_at, k.stopped_at, k.swept_at, k.sweep_after, k.owner_name, \
     k.created_at, k.version FROM campaigns k JOIN message_texts t ON t.id = k.text_id";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    trigger_kind: String,
    segment_name: Option<String>,
    audience: Option<String>,
    lead_days: i64,
    text_id: i64,
    text_name: String,
    subject_zh_hans: String,
    subject_zh_hant: String,
    subject_en: String,
    holdout_percent: i64,
    voucher_kind: Option<String>,
    voucher_value: i64,
    voucher_days: i64,
    voucher_max: Option<i64>,
    seed: i64,
    window_days: i64,
    steps: String,
    status: String,
    started_at: Option<String>,
    stopped_at: Option<String>,
    swept_at: Option<String>,
    sweep_after: i64,
    owner_name: String,
    created_at: String,
    version: i64,
}

impl Row {
    fn campaign(self) -> Result<Campaign, StoreError> {
        let c = Cells::of("campaigns", self.id);
        Ok(Campaign {
            id: self.id,
            trigger: c.code("trigger_kind", &self.trigger_kind)?,
            status: c.code("status", &self.status)?,
            started_at: c.opt_at("started_at", self.started_at.as_deref())?,
            stopped_at: c.opt_at("stopped_at", self.stopped_at.as_deref())?,
            swept_at: c.opt_at("swept_at", self.swept_at.as_deref())?,
            sweep_after: self.sweep_after,
            created_at: c.at("created_at", &self.created_at)?,
            name: self.name,
            segment_name: self.segment_name,
            audience: self.audience,
            lead_days: self.lead_days.max(0) as u32,
            text_id: self.text_id,
            text_name: self.text_name,
            subject_zh_hans: self.subject_zh_hans,
            subject_zh_hant: self.subject_zh_hant,
            subject_en: self.subject_en,
            holdout_percent: self.holdout_percent.max(0) as u32,
            voucher: c
                .opt_code::<aftercare_domain::care::VoucherKind>(
                    "voucher_kind",
                    self.voucher_kind.as_deref(),
                )?
                .map(|kind| CampaignVoucher {
                    kind,
                    value: self.voucher_value,
                    days: self.voucher_days.clamp(0, 366) as u32,
                    max_discount: self.voucher_max,
                }),
            seed: self.seed,
            window_days: self.window_days.max(0) as u32,
            steps: c.json("steps", &self.steps)?,
            owner_name: self.owner_name,
            version: self.version,
        })
    }
}

/// (customer id, name, email, consent, language) read with every recipient.
pub(crate) type Who = (i64, String, Option<String>, String, Option<String>);

pub(crate) fn recipient(w: Who, occurrence: String, at: jiff::Timestamp) -> Recipient {
    Recipient {
        customer_id: CustomerId(w.0),
        name: w.1,
        email: w.2,
        consent: w.3,
        lang: w.4,
        occurrence,
        at,
        product_name: None,
        ends_on: None,
        due_on: None,
        request_number: None,
        improvement: None,
    }
}

/// Customers the campaign may address: not merged away, not erased.
pub(crate) const REACHABLE: &str = "c.merged_into IS NULL AND c.erased_at IS NULL";

#[async_trait]
impl CampaignStore for SqlStore {
    async fn create_campaign(
        &self,
        actor: &Actor,
        c: &Campaign,
        owner: Option<UserId>,
    ) -> StoreResult<i64> {
        let now = &stamp(c.created_at);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO campaigns (name, trigger_kind, segment_name, audience, lead_days, text_id, \
             subject_zh_hans, subject_zh_hant, subject_en, holdout_percent, seed, window_days, status, \
             owner_id, owner_name, created_at, updated_at, version, voucher_kind, voucher_value, voucher_days, voucher_max, steps) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, 1, $17, $18, $19, $20, $21) RETURNING id",
            &[
                (&c.name).into(),
                c.trigger.code().into(),
                (&c.segment_name).into(),
                (&c.audience).into(),
                V::I(i64::from(c.lead_days)),
                V::I(c.text_id),
                (&c.subject_zh_hans).into(),
                (&c.subject_zh_hant).into(),
                (&c.subject_en).into(),
                V::I(i64::from(c.holdout_percent)),
                V::I(c.seed),
                V::I(i64::from(c.window_days)),
                c.status.code().into(),
                V::OptI(owner.map(UserId::get)),
                (&c.owner_name).into(),
                now.into(),
                V::OptT(c.voucher.map(|v| v.kind.code().to_string())),
                V::I(c.voucher.map_or(0, |v| v.value)),
                V::I(c.voucher.map_or(0, |v| i64::from(v.days))),
                V::OptI(c.voucher.and_then(|v| v.max_discount)),
                V::T(serde_json::to_string(&c.steps).map_err(|e| StoreError::Backend(e.to_string()))?),
            ],
        )
        .await?;
        let after = json!({
            "name": c.name, "trigger": c.trigger.code(), "segment": c.segment_name,
            "text_id": c.text_id, "holdout_percent": c.holdout_percent, "steps": c.steps,
        });
        self.log(
            &mut tx,
            actor,
            "create",
            "campaign",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn campaign(&self, id: i64) -> StoreResult<Option<Campaign>> {
        let row: Option<Row> = fetch_opt(
            &self.db.read,
            &format!("SELECT {CAMPAIGN_COLS} WHERE k.id = $1"),
            &[V::I(id)],
        )
        .await?;
        row.map(Row::campaign).transpose()
    }

    async fn campaigns(&self) -> StoreResult<Vec<(Campaign, OutcomeCounts)>> {
        let rows: Vec<Row> = fetch_all(
            &self.db.read,
            &format!("SELECT {CAMPAIGN_COLS} ORDER BY k.id DESC"),
            &[],
        )
        .await?;
        let counts: Vec<(i64, String, i64)> = fetch_all(
            &self.db.read,
            "SELECT campaign_id, outcome, COUNT(*) FROM campaign_members GROUP BY campaign_id, outcome",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|r| {
                let id = r.id;
                let mut n = OutcomeCounts::default();
                for (_, outcome, count) in counts.iter().filter(|c| c.0 == id) {
                    let o: Outcome = Cells::of("campaign_members", id).code("outcome", outcome)?;
                    n.add(o, (*count).max(0) as u64);
                }
                Ok((r.campaign()?, n))
            })
            .collect()
    }

    async fn set_campaign_status(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        to: CampaignStatus,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE campaigns SET status = $1, updated_at = $2, version = version + 1, \
             started_at = CASE WHEN $1 = 'running' THEN COALESCE(started_at, $2) ELSE started_at END, \
             stopped_at = CASE WHEN $1 = 'stopped' THEN $2 ELSE stopped_at END \
             WHERE id = $3 AND version = $4",
            &[to.code().into(), now.into(), V::I(id), V::I(version)],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "campaigns", id).await);
        }
        if to == CampaignStatus::Stopped {
            // Nothing more goes out: journeys end, call-backs not made yet are called off.
            exec(
                &mut *tx,
                "UPDATE campaign_journeys SET state = 'stopped', ended_at = $1 \
                 WHERE campaign_id = $2 AND state = 'active'",
                &[now.into(), V::I(id)],
            )
            .await?;
            exec(
                &mut *tx,
                "UPDATE callback_tasks SET result = 'cancelled', done_at = $1, version = version + 1 \
                 WHERE campaign_id = $2 AND result IS NULL",
                &[now.into(), V::I(id)],
            )
            .await?;
        }
        let after = json!({ "status": to.code() });
        self.log(
            &mut tx,
            actor,
            "update",
            "campaign",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn running_campaigns(&self) -> StoreResult<Vec<Campaign>> {
        let rows: Vec<Row> = fetch_all(
            &self.db.write,
            &format!("SELECT {CAMPAIGN_COLS} WHERE k.status = 'running' ORDER BY k.id"),
            &[],
        )
        .await?;
        rows.into_iter().map(Row::campaign).collect()
    }

    async fn mark_swept(
        &self,
        id: i64,
        now: jiff::Timestamp,
        upto: Option<i64>,
    ) -> StoreResult<()> {
        let (sql, vals) = match upto {
            None => (
                "UPDATE campaigns SET swept_at = $1, sweep_after = 0 WHERE id = $2",
                vec![stamp(now).into(), V::I(id)],
            ),
            Some(after) => (
                "UPDATE campaigns SET sweep_after = $1 WHERE id = $2",
                vec![V::I(after), V::I(id)],
            ),
        };
        exec(&self.db.write, sql, &vals).await.map(drop)
    }

    async fn segment_recipients(
        &self,
        f: &SegmentFilter,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>> {
        // The segment's own conditions (tier in force and the rest) over the same join.
        let mut sql = Sql::new(
            "SELECT c.id, c.name, c.primary_email, c.consent, c.lang \
             FROM customer_values v JOIN customers c ON c.id = v.customer_id",
        );
        segment_where(&mut sql, f);
        sql.push(&format!(" AND {REACHABLE} AND c.id > "))
            .bind(V::I(after))
            .push(" ORDER BY c.id LIMIT ")
            .bind(V::I(i64::from(limit)));
        let rows: Vec<Who> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        // When is the caller's to say: the round's now.
        Ok(rows
            .into_iter()
            .map(|w| recipient(w, "segment".into(), jiff::Timestamp::UNIX_EPOCH))
            .collect())
    }

    async fn important_dates(&self, after: i64, limit: u32) -> StoreResult<Vec<ImportantDate>> {
        #[derive(sqlx::FromRow)]
        struct D {
            date_id: i64,
            day: String,
            id: i64,
            name: String,
            primary_email: Option<String>,
            consent: String,
            lang: Option<String>,
        }
        let rows: Vec<D> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT d.id AS date_id, d.day, c.id, c.name, c.primary_email, c.consent, c.lang \
                 FROM customer_dates d JOIN customers c ON c.id = d.customer_id \
                 WHERE d.id > $1 AND {REACHABLE} ORDER BY d.id LIMIT $2"
            ),
            &[V::I(after), V::I(i64::from(limit))],
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for d in rows {
            out.push(ImportantDate {
                id: d.date_id,
                day: d.day.trim().parse::<Date>().ok(),
                recipient: recipient(
                    (d.id, d.name, d.primary_email, d.consent, d.lang),
                    format!("date:{}", d.date_id),
                    jiff::Timestamp::UNIX_EPOCH,
                ),
            });
        }
        Ok(out)
    }

    async fn birthdays(&self, after: i64, limit: u32) -> StoreResult<Vec<ImportantDate>> {
        #[derive(sqlx::FromRow)]
        struct B {
            birthday: String,
            id: i64,
            name: String,
            primary_email: Option<String>,
            consent: String,
            lang: Option<String>,
        }
        let rows: Vec<B> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT c.birthday, c.id, c.name, c.primary_email, c.consent, c.lang FROM customers c \
                 WHERE c.id > $1 AND c.birthday IS NOT NULL AND {REACHABLE} ORDER BY c.id LIMIT $2"
            ),
            &[V::I(after), V::I(i64::from(limit))],
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for b in rows {
            out.push(ImportantDate {
                id: b.id,
                day: b.birthday.trim().parse::<Date>().ok(),
                recipient: recipient(
                    (b.id, b.name, b.primary_email, b.consent, b.lang),
                    "birthday".into(),
                    jiff::Timestamp::UNIX_EPOCH,
                ),
            });
        }
        Ok(out)
    }

    async fn assets_starting(
        &self,
        policy_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<StartingAsset>> {
        #[derive(sqlx::FromRow)]
        struct A {
            asset_id: i64,
            starts: String,
            product_name: String,
            id: i64,
            name: String,
            primary_email: Option<String>,
            consent: String,
            lang: Option<String>,
        }
        let rows: Vec<A> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT a.id AS asset_id, COALESCE(a.delivered_on, a.purchased_on) AS starts, p.name AS product_name, \
                 c.id, c.name, c.primary_email, c.consent, c.lang \
                 FROM assets a JOIN products p ON p.id = a.product_id \
                 JOIN product_categories pc ON pc.id = p.category_id \
                 JOIN customers c ON c.id = a.customer_id \
                 WHERE COALESCE(p.policy_id, pc.policy_id) = $1 \
                 AND COALESCE(a.delivered_on, a.purchased_on) >= $2 AND COALESCE(a.delivered_on, a.purchased_on) <= $3 \
                 AND {REACHABLE} \
                 AND NOT EXISTS (SELECT 1 FROM asset_events e WHERE e.asset_id = a.id \
                     AND e.kind IN ('exchanged_out', 'returned', 'void')) \
                 ORDER BY a.id"
            ),
            &[V::I(policy_id), from.to_string().into(), to.to_string().into()],
        )
        .await?;
        rows.into_iter()
            .map(|a| {
                let starts = Cells::of("assets", a.asset_id).date("purchased_on", &a.starts)?;
                let mut r = recipient(
                    (a.id, a.name, a.primary_email, a.consent, a.lang),
                    format!("asset:{}", a.asset_id),
                    jiff::Timestamp::UNIX_EPOCH,
                );
                r.product_name = Some(a.product_name);
                Ok(StartingAsset {
                    asset_id: a.asset_id,
                    starts,
                    recipient: r,
                })
            })
            .collect()
    }

    async fn resolved_request_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>> {
        let query = format!(
            "SELECT r.id, r.number, r.resolved_at, c.id, c.name, c.primary_email, c.consent, c.lang \
             FROM requests r JOIN customers c ON c.id = r.customer_id \
             WHERE r.resolved_at IS NOT NULL AND {REACHABLE}"
        );
        self.recipients_of(&query, "r.id", ids, "r.id", resolved_rows)
            .await
    }

    async fn shipped_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>> {
        self.recipients_of(SHIPPED, "i.id", ids, "i.id, c.id", shipped_rows)
            .await
    }

    async fn shipped_for_feedback(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>> {
        self.recipients_of(SHIPPED, "f.id", ids, "i.id, c.id", shipped_rows)
            .await
    }

    async fn shipped_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>> {
        let rows = fetch_all(
            &self.db.read,
            &format!(
                "{SHIPPED} AND i.shipped_at >= $1 AND i.shipped_at <= $2 ORDER BY i.shipped_at, i.id, c.id LIMIT $3"
            ),
            &[stamp(from).into(), stamp(to).into(), V::I(i64::from(limit))],
        )
        .await?;
        shipped_rows(rows)
    }

    async fn need_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>> {
        self.recipients_of(NEEDS, "f.id", ids, "f.id", need_rows)
            .await
    }

    async fn needs_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>> {
        let rows = fetch_all(
            &self.db.read,
            &format!(
                "{NEEDS} AND f.received_at >= $1 AND f.received_at <= $2 ORDER BY f.received_at, f.id LIMIT $3"
            ),
            &[stamp(from).into(), stamp(to).into(), V::I(i64::from(limit))],
        )
        .await?;
        need_rows(rows)
    }

    async fn resolved_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>> {
        let rows = fetch_all(
            &self.db.read,
            &format!(
                "SELECT r.id, r.number, r.resolved_at, c.id, c.name, c.primary_email, c.consent, c.lang \
                 FROM requests r JOIN customers c ON c.id = r.customer_id \
                 WHERE r.resolved_at >= $1 AND r.resolved_at <= $2 AND {REACHABLE} \
                 ORDER BY r.resolved_at, r.id LIMIT $3"
            ),
            &[stamp(from).into(), stamp(to).into(), V::I(i64::from(limit))],
        )
        .await?;
        resolved_rows(rows)
    }

    async fn decided(
        &self,
        campaign_id: i64,
        keys: &[(CustomerId, String)],
    ) -> StoreResult<Vec<(CustomerId, String)>> {
        let mut out = Vec::new();
        let ids: Vec<i64> = keys.iter().map(|k| k.0.get()).collect();
        for chunk in ids.chunks(IN_CHUNK) {
            // Held back by the budget is not decided for good: it is decided again while
            // the occurrence lasts.
            let mut sql = Sql::new(
                "SELECT customer_id, occurrence FROM campaign_members \
                 WHERE outcome <> 'pressure' AND campaign_id = ",
            );
            sql.bind(V::I(campaign_id));
            in_list(&mut sql, "customer_id", chunk);
            let rows: Vec<(i64, String)> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            out.extend(
                rows.into_iter()
                    .map(|(c, o)| (CustomerId(c), o))
                    .filter(|k| keys.contains(k)),
            );
        }
        Ok(out)
    }

    async fn contacts_since(
        &self,
        customers: &[CustomerId],
        since: jiff::Timestamp,
    ) -> StoreResult<Vec<(CustomerId, u32)>> {
        let since = stamp(since);
        let mut out = Vec::new();
        let ids: Vec<i64> = customers.iter().map(|c| c.get()).collect();
        for chunk in ids.chunks(IN_CHUNK) {
            let mut sql = Sql::new(
                "SELECT customer_id, COUNT(*) FROM (SELECT customer_id FROM campaign_members WHERE outcome = 'sent' AND at >= ",
            );
            sql.bind(since.as_str());
            in_list(&mut sql, "customer_id", chunk);
            sql.push(" UNION ALL SELECT customer_id FROM surveys WHERE sent_to IS NOT NULL AND created_at >= ")
                .bind(since.as_str());
            in_list(&mut sql, "customer_id", chunk);
            sql.push(" UNION ALL SELECT customer_id FROM campaign_sends WHERE outcome = 'sent' AND at >= ")
                .bind(since.as_str());
            in_list(&mut sql, "customer_id", chunk);
            sql.push(") x GROUP BY customer_id");
            let rows: Vec<(i64, i64)> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            out.extend(
                rows.into_iter()
                    .map(|(c, n)| (CustomerId(c), n.clamp(0, i64::from(u32::MAX)) as u32)),
            );
        }
        Ok(out)
    }

    async fn enrol(
        &self,
        campaign: &Campaign,
        members: &[Enrolment],
        now: jiff::Timestamp,
    ) -> StoreResult<u64> {
        let now = &stamp(now);
        let backend = self.db.backend;
        let mut written = 0;
        // One occurrence once, even if the caller named it twice.
        let mut seen = std::collections::HashSet::new();
        let members: Vec<&Enrolment> = members
            .iter()
            .filter(|m| seen.insert((m.customer_id, m.occurrence.as_str())))
            .collect();
        let mut tx = self.begin().await?;
        for chunk in members.chunks(500) {
            // Decided already (by another server, or an earlier round): not returned, so
            // skipped, mail and all; only an occurrence the budget held back is decided
            // again. Multi-row statements: a large campaign writes its members in bulk.
            let mut sql = String::from(
                "INSERT INTO campaign_members (campaign_id, customer_id, occurrence, outcome, at) VALUES ",
            );
            let mut vals = Vec::with_capacity(chunk.len() * 5);
            for (r, m) in chunk.iter().enumerate() {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                let row = [
                    V::I(campaign.id),
                    V::I(m.customer_id.get()),
                    V::T(m.occurrence.clone()),
                    V::T(m.outcome.code().into()),
                    V::T(now.clone()),
                ];
                for (c, v) in row.into_iter().enumerate() {
                    vals.push(v);
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&ph(backend, vals.len()));
                }
                sql.push(')');
            }
            sql.push_str(
                " ON CONFLICT (campaign_id, customer_id, occurrence) \
                 DO UPDATE SET outcome = excluded.outcome, at = excluded.at \
                 WHERE campaign_members.outcome = 'pressure' AND excluded.outcome <> 'pressure' \
                 RETURNING customer_id, occurrence",
            );
            let rows: Vec<(i64, String)> = fetch_all(&mut *tx, &sql, &vals).await?;
            written += rows.len() as u64;
            let done: std::collections::HashSet<(i64, &str)> =
                rows.iter().map(|(c, o)| (*c, o.as_str())).collect();
            let (mut mails, mut entries) = (vec![], vec![]);
            for m in chunk {
                let Some(mail) = &m.mail else { continue };
                if !done.contains(&(m.customer_id.get(), m.occurrence.as_str())) {
                    continue;
                }
                mails.push(vec![
                    V::T(mail.to.clone()),
                    V::T(mail.subject.clone()),
                    V::T(mail.body.clone()),
                    V::OptI(None),
                    V::T("pending".into()),
                    V::T(now.clone()),
                    V::T(now.clone()),
                ]);
                // The customer's timeline: the campaign's name, by nobody in person.
                entries.push(vec![
                    V::I(m.customer_id.get()),
                    V::T(now.clone()),
                    V::T("campaign".into()),
                    V::OptT(None),
                    V::OptI(Some(campaign.id)),
                    V::T(campaign.name.clone()),
                    V::OptI(None),
                ]);
            }
            let vouchers: Vec<Vec<V>> = chunk
                .iter()
                .filter(|m| done.contains(&(m.customer_id.get(), m.occurrence.as_str())))
                .filter_map(|m| m.voucher.as_ref())
                .map(crate::care::voucher_values)
                .collect();
            // A code its customer already holds (one chance in 10^11) is not given twice.
            bulk_insert_then(
                &mut tx,
                backend,
                "vouchers",
                crate::care::VOUCHER_COLUMNS,
                &vouchers,
                " ON CONFLICT (customer_id, code) DO NOTHING",
            )
            .await?;
            bulk_insert(
                &mut tx,
                backend,
                "outbox",
                &[
                    "recipient",
                    "subject",
                    "body",
                    "request_id",
                    "status",
                    "next_attempt_at",
                    "created_at",
                ],
                &mails,
            )
            .await?;
            self.timeline_bulk(&mut tx, entries).await?;
            // Each customer mailed starts on the campaign's steps (a campaign without any
            // keeps the journey for its link).
            let state = if campaign.steps.is_empty() {
                "done"
            } else {
                "active"
            };
            let journeys: Vec<Vec<V>> = chunk
                .iter()
                .filter(|m| done.contains(&(m.customer_id.get(), m.occurrence.as_str())))
                .filter_map(|m| {
                    m.token.as_ref().map(|t| {
                        vec![
                            V::I(campaign.id),
                            V::I(m.customer_id.get()),
                            V::T(m.occurrence.clone()),
                            V::T(serde_json::to_string(&m.fields).unwrap_or_else(|_| "{}".into())),
                            V::T(t.clone()),
                            V::I(0),
                            V::T(now.clone()),
                            V::T(state.into()),
                            V::T(now.clone()),
                            V::OptT((state == "done").then(|| now.clone())),
                        ]
                    })
                })
                .collect();
            bulk_insert_then(
                &mut tx,
                backend,
                "campaign_journeys",
                &[
                    "campaign_id",
                    "customer_id",
                    "occurrence",
                    "fields",
                    "token",
                    "step",
                    "due_at",
                    "state",
                    "started_at",
                    "ended_at",
                ],
                &journeys,
                " ON CONFLICT (campaign_id, customer_id, occurrence) DO NOTHING",
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(written)
    }

    async fn campaign_activity(
        &self,
        campaign_id: i64,
        since: jiff::Timestamp,
    ) -> StoreResult<CampaignActivity> {
        let since = stamp(since);
        let members: Vec<(i64, i64, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, customer_id, outcome, at FROM campaign_members WHERE campaign_id = $1 ORDER BY id",
            &[V::I(campaign_id)],
        )
        .await?;
        let of_members =
            "customer_id IN (SELECT customer_id FROM campaign_members WHERE campaign_id = $1)";
        let orders: Vec<(i64, String, String, i64)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT customer_id, created_at, ordered_on, total FROM orders \
                 WHERE status <> 'cancelled' AND created_at >= $2 AND {of_members}"
            ),
            &[V::I(campaign_id), since.as_str().into()],
        )
        .await?;
        let requests: Vec<(i64, String, String)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT customer_id, created_at, service_type FROM requests \
                 WHERE created_at >= $2 AND {of_members}"
            ),
            &[V::I(campaign_id), since.as_str().into()],
        )
        .await?;
        let clv: Vec<(i64, f64)> = fetch_all(
            &self.db.read,
            &format!("SELECT customer_id, clv FROM customer_values WHERE {of_members}"),
            &[V::I(campaign_id)],
        )
        .await?;
        let moves: Vec<(i64, String, Option<String>, String)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT customer_id, at, from_stage, to_stage FROM loyalty_history \
                 WHERE at >= $2 AND {of_members}"
            ),
            &[V::I(campaign_id), since.as_str().into()],
        )
        .await?;
        let mut a = CampaignActivity {
            clv: clv.into_iter().map(|(c, v)| (CustomerId(c), v)).collect(),
            ..CampaignActivity::default()
        };
        for (customer, at, from, to) in moves {
            let c = Cells::of("loyalty_history", customer);
            let rank = |s: &str| {
                c.code::<aftercare_domain::value::LoyaltyStage>("to_stage", s)
                    .map(|s| s.rank())
            };
            let to = rank(&to)?;
            let from = from.as_deref().map(rank).transpose()?;
            a.stage_moves
                .push((CustomerId(customer), c.at("at", &at)?, from, to));
        }
        for (id, customer, outcome, at) in members {
            let c = Cells::of("campaign_members", id);
            a.members.push(MemberActivity {
                customer_id: CustomerId(customer),
                outcome: c.code("outcome", &outcome)?,
                at: c.at("at", &at)?,
            });
        }
        for (customer, at, on, total) in orders {
            let c = Cells::of("orders", customer);
            a.orders.push((
                CustomerId(customer),
                c.at("created_at", &at)?,
                c.date("ordered_on", &on)?,
                total,
            ));
        }
        for (customer, at, service_type) in requests {
            a.requests.push((
                CustomerId(customer),
                Cells::of("requests", customer).at("created_at", &at)?,
                service_type == "complaint",
            ));
        }
        Ok(a)
    }

    async fn touchpoint_counts(&self) -> StoreResult<Vec<(String, i64, i64, f64, f64, i64, i64)>> {
        let rows: Vec<(String, i64, i64, f64, f64, i64)> = fetch_all(
            &self.db.read,
            "SELECT COALESCE(c.source, '-'), COUNT(*), COUNT(v.customer_id), \
             CAST(COALESCE(SUM(v.clv), 0) AS DOUBLE PRECISION), \
             CAST(COALESCE(SUM(v.revenue), 0) AS DOUBLE PRECISION), \
             COALESCE(SUM(CASE WHEN v.stage IN ('trusting', 'accepting', 'dependent') THEN 1 ELSE 0 END), 0) \
             FROM customers c LEFT JOIN customer_values v ON v.customer_id = c.id \
             WHERE c.merged_into IS NULL GROUP BY 1 ORDER BY 2 DESC",
            &[],
        )
        .await?;
        let complaints: Vec<(String, i64)> = fetch_all(
            &self.db.read,
            "SELECT COALESCE(c.source, '-'), COUNT(*) FROM requests r \
             JOIN customers c ON c.id = r.customer_id \
             WHERE r.service_type = 'complaint' AND c.merged_into IS NULL GROUP BY 1",
            &[],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, n, scored, clv, revenue, loyal)| {
                let k = complaints.iter().find(|c| c.0 == t).map_or(0, |c| c.1);
                (t, n, scored, clv, revenue, loyal, k)
            })
            .collect())
    }

    async fn contact_budget(&self) -> StoreResult<Option<ContactBudget>> {
        let Some(json) = self.settings_row("contact_budget").await? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                table: "contact_budget",
                id: 1,
                column: "settings",
                value: json,
            })
    }

    async fn set_contact_budget(
        &self,
        actor: &Actor,
        b: &ContactBudget,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(b).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.save_settings_row("contact_budget", actor, &json, now)
            .await
    }

    async fn due_journeys(
        &self,
        campaign_id: i64,
        now: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueJourney>> {
        #[derive(sqlx::FromRow)]
        struct J {
            jid: i64,
            step: i64,
            due_at: String,
            started_at: String,
            token: String,
            occurrence: String,
            fields: String,
            id: i64,
            name: String,
            primary_email: Option<String>,
            consent: String,
            lang: Option<String>,
            primary_phone: Option<String>,
            portal: i64,
        }
        let rows: Vec<J> = fetch_all(
            &self.db.write,
            &format!(
                "SELECT j.id AS jid, j.step, j.due_at, j.started_at, j.token, j.occurrence, j.fields, \
                 c.id, c.name, c.primary_email, c.consent, c.lang, c.primary_phone, \
                 (SELECT COUNT(*) FROM portal_accounts pa WHERE pa.customer_id = c.id) AS portal \
                 FROM campaign_journeys j JOIN customers c ON c.id = j.customer_id \
                 WHERE j.campaign_id = $1 AND j.state = 'active' AND j.due_at <= $2 AND {REACHABLE} \
                 ORDER BY j.due_at, j.id LIMIT $3"
            ),
            &[V::I(campaign_id), stamp(now).into(), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter()
            .map(|j| {
                let c = Cells::of("campaign_journeys", j.jid);
                let fields: OccurrenceFields = c.json("fields", &j.fields)?;
                let mut recipient = recipient(
                    (j.id, j.name, j.primary_email, j.consent, j.lang),
                    j.occurrence,
                    now,
                );
                fields.apply(&mut recipient);
                Ok(DueJourney {
                    id: j.jid,
                    step: j.step.max(0) as usize,
                    due_at: c.at("due_at", &j.due_at)?,
                    started_at: c.at("started_at", &j.started_at)?,
                    token: j.token,
                    phone: j.primary_phone,
                    portal: j.portal > 0,
                    recipient,
                })
            })
            .collect()
    }

    async fn journey_facts(&self, ids: &[i64]) -> StoreResult<Vec<(i64, JourneyFacts)>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            // What the customer did from the moment the journey started: orders placed
            // (not cancelled), requests opened, messages they wrote on a request.
            let mut sql = Sql::new(
                "SELECT j.id, \
                 CASE WHEN j.opened_at IS NULL THEN 0 ELSE 1 END, \
                 CASE WHEN j.clicked_at IS NULL THEN 0 ELSE 1 END, \
                 CASE WHEN j.answered_at IS NOT NULL OR EXISTS (SELECT 1 FROM request_messages m \
                     JOIN requests r ON r.id = m.request_id WHERE r.customer_id = j.customer_id \
                     AND m.kind = 'customer' AND m.created_at >= j.started_at) THEN 1 ELSE 0 END, \
                 CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = j.customer_id \
                     AND o.status <> 'cancelled' AND o.created_at >= j.started_at) THEN 1 ELSE 0 END, \
                 CASE WHEN EXISTS (SELECT 1 FROM requests r WHERE r.customer_id = j.customer_id \
                     AND r.created_at >= j.started_at) THEN 1 ELSE 0 END \
                 FROM campaign_journeys j WHERE 1 = 1",
            );
            in_list(&mut sql, "j.id", chunk);
            let rows: Vec<(i64, i64, i64, i64, i64, i64)> =
                fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            out.extend(rows.into_iter().map(|(id, o, c, a, b, r)| {
                (
                    id,
                    JourneyFacts {
                        opened: o > 0,
                        clicked: c > 0,
                        answered: a > 0,
                        bought: b > 0,
                        requested: r > 0,
                    },
                )
            }));
        }
        Ok(out)
    }

    async fn move_journeys(
        &self,
        campaign: &Campaign,
        moves: &[JourneyMove],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let mut moved = Vec::new();
        for m in moves {
            // Only from where it was read: a journey another server moved is left alone,
            // and what its step sends is not sent twice.
            let n = exec(
                &mut *tx,
                "UPDATE campaign_journeys SET step = $1, due_at = $2, \
                 state = COALESCE($3, state), ended_at = CASE WHEN $3 IS NULL THEN ended_at ELSE $4 END \
                 WHERE id = $5 AND step = $6 AND due_at = $7 AND state = 'active'",
                &[
                    V::I(m.to as i64),
                    stamp(m.due_at).into(),
                    V::OptT(m.end.map(str::to_string)),
                    now.into(),
                    V::I(m.id),
                    V::I(m.from as i64),
                    stamp(m.from_due).into(),
                ],
            )
            .await?;
            if n == 0 {
                continue;
            }
            moved.push(m.id);
            let Some(send) = &m.send else { continue };
            let customer = m.customer_id.get();
            // A step the budget holds back day after day is recorded once.
            exec(
                &mut *tx,
                "INSERT INTO campaign_sends (journey_id, campaign_id, customer_id, step, channel, outcome, at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $6 <> 'pressure' OR NOT EXISTS \
                 (SELECT 1 FROM campaign_sends WHERE journey_id = $1 AND step = $4 AND outcome = 'pressure')",
                &[
                    V::I(m.id),
                    V::I(campaign.id),
                    V::I(customer),
                    V::I(send.step as i64),
                    send.channel.code().into(),
                    send.outcome.code().into(),
                    now.into(),
                ],
            )
            .await?;
            if let Some(mail) = &send.mail {
                exec(
                    &mut *tx,
                    "INSERT INTO outbox (recipient, subject, body, status, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'pending', $4, $4)",
                    &[(&mail.to).into(), (&mail.subject).into(), (&mail.body).into(), now.into()],
                )
                .await?;
            }
            if let Some((subject, body)) = &send.portal {
                exec(
                    &mut *tx,
                    "INSERT INTO portal_messages (customer_id, campaign_id, journey_id, subject, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        V::I(customer),
                        V::I(campaign.id),
                        V::I(m.id),
                        subject.into(),
                        body.into(),
                        now.into(),
                    ],
                )
                .await?;
            }
            if let Some((phone, script)) = &send.callback {
                exec(
                    &mut *tx,
                    "INSERT INTO callback_tasks (customer_id, campaign_id, journey_id, phone, script, created_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1)",
                    &[
                        V::I(customer),
                        V::I(campaign.id),
                        V::I(m.id),
                        phone.into(),
                        script.into(),
                        now.into(),
                    ],
                )
                .await?;
            }
            if send.mail.is_some() || send.portal.is_some() {
                self.timeline_bulk(
                    &mut tx,
                    vec![vec![
                        V::I(customer),
                        V::T(now.clone()),
                        V::T("campaign".into()),
                        V::OptT(None),
                        V::OptI(Some(campaign.id)),
                        V::T(campaign.name.clone()),
                        V::OptI(None),
                    ]],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(moved)
    }

    async fn journey_stats(&self, campaign_id: i64) -> StoreResult<JourneyStats> {
        let (active, done, stopped, opened, clicked, answered): (i64, i64, i64, i64, i64, i64) =
            fetch_opt(
                &self.db.read,
                "SELECT \
                 COALESCE(SUM(CASE WHEN state = 'active' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'stopped' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN opened_at IS NOT NULL OR clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
                 FROM campaign_journeys WHERE campaign_id = $1",
                &[V::I(campaign_id)],
            )
            .await?
            .unwrap_or_default();
        let sends: Vec<(i64, String, i64)> = fetch_all(
            &self.db.read,
            "SELECT step, outcome, COUNT(*) FROM campaign_sends WHERE campaign_id = $1 \
             GROUP BY step, outcome ORDER BY step",
            &[V::I(campaign_id)],
        )
        .await?;
        let n = |x: i64| x.max(0) as u64;
        let mut steps: Vec<StepCounts> = Vec::new();
        for (step, outcome, count) in sends {
            let o: Outcome = Cells::of("campaign_sends", step).code("outcome", &outcome)?;
            let number = (step.max(0) + 1) as u32;
            if steps.last().is_none_or(|s| s.step != number) {
                steps.push(StepCounts {
                    step: number,
                    counts: OutcomeCounts::default(),
                });
            }
            if let Some(s) = steps.last_mut() {
                s.counts.add(o, n(count));
            }
        }
        Ok(JourneyStats {
            active: n(active),
            done: n(done),
            stopped: n(stopped),
            opened: n(opened),
            clicked: n(clicked),
            answered: n(answered),
            steps,
        })
    }

    async fn follow_link(&self, token: &str, now: jiff::Timestamp) -> StoreResult<bool> {
        let now = stamp(now);
        let n = exec(
            &self.db.write,
            "UPDATE campaign_journeys SET clicked_at = COALESCE(clicked_at, $1), \
             opened_at = COALESCE(opened_at, $1) WHERE token = $2",
            &[now.as_str().into(), token.into()],
        )
        .await?;
        Ok(n > 0)
    }

    async fn portal_messages(
        &self,
        customer: CustomerId,
        limit: u32,
    ) -> StoreResult<Vec<PortalMessage>> {
        let rows: Vec<(i64, String, String, String, Option<String>)> = fetch_all(
            &self.db.read,
            "SELECT id, subject, body, created_at, read_at FROM portal_messages \
             WHERE customer_id = $1 ORDER BY id DESC LIMIT $2",
            &[V::I(customer.get()), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter().map(portal_message).collect()
    }

    async fn read_portal_message(
        &self,
        customer: CustomerId,
        id: i64,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<PortalMessage>> {
        let now = stamp(now);
        let mut tx = self.begin().await?;
        let journey: Option<(Option<i64>,)> = fetch_opt(
            &mut *tx,
            "SELECT journey_id FROM portal_messages WHERE id = $1 AND customer_id = $2",
            &[V::I(id), V::I(customer.get())],
        )
        .await?;
        let Some((journey,)) = journey else {
            return Ok(None);
        };
        exec(
            &mut *tx,
            "UPDATE portal_messages SET read_at = COALESCE(read_at, $1) WHERE id = $2",
            &[now.as_str().into(), V::I(id)],
        )
        .await?;
        if let Some(j) = journey {
            exec(
                &mut *tx,
                "UPDATE campaign_journeys SET opened_at = COALESCE(opened_at, $1) WHERE id = $2",
                &[now.as_str().into(), V::I(j)],
            )
            .await?;
        }
        let row: Option<(i64, String, String, String, Option<String>)> = fetch_opt(
            &mut *tx,
            "SELECT id, subject, body, created_at, read_at FROM portal_messages WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        row.map(portal_message).transpose()
    }

    async fn callback_tasks(&self, open: bool, limit: u32) -> StoreResult<Vec<CallbackTask>> {
        // Open: to call now. Not while the campaign is paused or stopped, nor once the
        // customer withdrew the consent to be phoned, was merged away or erased.
        let filter = if open {
            "t.result IS NULL AND (k.id IS NULL OR k.status = 'running') \
             AND c.merged_into IS NULL AND c.erased_at IS NULL \
             AND (',' || REPLACE(c.consent, ' ', '') || ',') LIKE '%,phone,%' ORDER BY t.id"
        } else {
            "t.result IS NOT NULL ORDER BY t.done_at DESC, t.id DESC"
        };
        let rows: Vec<CallbackRow> = fetch_all(
            &self.db.read,
            &format!("{CALLBACK_SELECT} WHERE {filter} LIMIT $1"),
            &[V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter().map(CallbackRow::task).collect()
    }

    async fn callback_task(&self, id: i64) -> StoreResult<Option<CallbackTask>> {
        let row: Option<CallbackRow> = fetch_opt(
            &self.db.write,
            &format!("{CALLBACK_SELECT} WHERE t.id = $1"),
            &[V::I(id)],
        )
        .await?;
        row.map(CallbackRow::task).transpose()
    }

    async fn record_callback(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        result: aftercare_domain::campaign::CallbackResult,
        note: Option<&str>,
        by: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE callback_tasks SET result = $1, note = $2, done_by_id = $3, done_by = $4, \
             done_at = $5, version = version + 1 WHERE id = $6 AND version = $7 AND result IS NULL",
            &[
                result.code().into(),
                V::OptT(note.map(str::to_string)),
                V::OptI(actor.user_id.map(UserId::get)),
                by.into(),
                now.into(),
                V::I(id),
                V::I(version),
            ],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "callback_tasks", id).await);
        }
        if result == aftercare_domain::campaign::CallbackResult::Reached {
            exec(
                &mut *tx,
                "UPDATE campaign_journeys SET answered_at = COALESCE(answered_at, $1) \
                 WHERE id = (SELECT journey_id FROM callback_tasks WHERE id = $2)",
                &[now.into(), V::I(id)],
            )
            .await?;
        }
        let after = json!({ "result": result.code(), "note": note });
        self.log(
            &mut tx,
            actor,
            "update",
            "callback",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }
}

type ResolvedRow = (
    i64,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn resolved_rows(rows: Vec<ResolvedRow>) -> StoreResult<Vec<Recipient>> {
    rows.into_iter()
        .map(|(id, number, at, customer, name, email, consent, lang)| {
            let at = Cells::of("requests", id).at("resolved_at", &at)?;
            let mut r = recipient(
                (customer, name, email, consent, lang),
                format!("request:{id}"),
                at,
            );
            r.request_number = Some(number);
            Ok(r)
        })
        .collect()
}

fn portal_message(
    (id, subject, body, created_at, read_at): (i64, String, String, String, Option<String>),
) -> StoreResult<PortalMessage> {
    let c = Cells::of("portal_messages", id);
    Ok(PortalMessage {
        id,
        created_at: c.at("created_at", &created_at)?,
        read_at: c.opt_at("read_at", read_at.as_deref())?,
        subject,
        body,
    })
}

const CALLBACK_SELECT: &str = "SELECT t.id, t.customer_id, c.name AS customer_name, t.campaign_id, \
     k.name AS campaign_name, t.phone, t.script, t.created_at, t.result, t.note, t.done_by, t.done_at, t.version \
     FROM callback_tasks t JOIN customers c ON c.id = t.customer_id \
     LEFT JOIN campaigns k ON k.id = t.campaign_id";

#[derive(sqlx::FromRow)]
struct CallbackRow {
    id: i64,
    customer_id: i64,
    customer_name: String,
    campaign_id: Option<i64>,
    campaign_name: Option<String>,
    phone: String,
    script: String,
    created_at: String,
    result: Option<String>,
    note: Option<String>,
    done_by: Option<String>,
    done_at: Option<String>,
    version: i64,
}

impl CallbackRow {
    fn task(self) -> StoreResult<CallbackTask> {
        let c = Cells::of("callback_tasks", self.id);
        Ok(CallbackTask {
            id: self.id,
            customer_id: CustomerId(self.customer_id),
            customer_name: self.customer_name,
            campaign_id: self.campaign_id,
            campaign_name: self.campaign_name,
            phone: self.phone,
            script: self.script,
            created_at: c.at("created_at", &self.created_at)?,
            result: c.opt_code("result", self.result.as_deref())?,
            note: self.note,
            done_by: self.done_by,
            done_at: c.opt_at("done_at", self.done_at.as_deref())?,
            version: self.version,
        })
    }
}

impl SqlStore {
    /// The recipients `query` (a SELECT ending in its WHERE conditions) finds for these ids
    /// of `col`, a chunk of ids at a time, each chunk's rows ordered by `order` and read by
    /// `rows`.
    async fn recipients_of<R>(
        &self,
        query: &str,
        col: &str,
        ids: &[i64],
        order: &str,
        rows: fn(Vec<R>) -> StoreResult<Vec<Recipient>>,
    ) -> StoreResult<Vec<Recipient>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let mut sql = Sql::new(query);
            in_list(&mut sql, col, chunk);
            sql.push(&format!(" ORDER BY {order}"));
            out.extend(rows(fetch_all(&self.db.read, &sql.text, &sql.args).await?)?);
        }
        Ok(out)
    }
}

/// Shipped improvements with each customer whose feedback asked for them.
const SHIPPED: &str = "SELECT DISTINCT i.id, i.shipped_at, i.topic, p.name AS product_name, \
     c.id AS customer_id, c.name, c.primary_email, c.consent, c.lang \
     FROM improvements i JOIN feedback_items f ON f.improvement_id = i.id \
     JOIN customers c ON c.id = f.customer_id LEFT JOIN products p ON p.id = i.product_id \
     WHERE i.status = 'shipped' AND i.shipped_at IS NOT NULL \
     AND c.merged_into IS NULL AND c.erased_at IS NULL";

type ShippedRow = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn shipped_rows(rows: Vec<ShippedRow>) -> StoreResult<Vec<Recipient>> {
    rows.into_iter()
        .map(
            |(id, shipped_at, topic, product, customer, name, email, consent, lang)| {
                let at = Cells::of("improvements", id).at("shipped_at", &shipped_at)?;
                let mut r = recipient(
                    (customer, name, email, consent, lang),
                    format!("improvement:{id}"),
                    at,
                );
                r.product_name = product;
                r.improvement = Some(topic);
                Ok(r)
            },
        )
        .collect()
}

/// Analysed feedback of a customer that shows an inducible need.
const NEEDS: &str = "SELECT f.id, f.received_at, p.name AS product_name, \
     c.id AS customer_id, c.name, c.primary_email, c.consent, c.lang \
     FROM feedback_items f JOIN customers c ON c.id = f.customer_id \
     LEFT JOIN products p ON p.id = f.product_id \
     WHERE f.need = 'inducible' AND f.analysis = 'analysed' \
     AND c.merged_into IS NULL AND c.erased_at IS NULL";

type NeedRow = (
    i64,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn need_rows(rows: Vec<NeedRow>) -> StoreResult<Vec<Recipient>> {
    rows.into_iter()
        .map(
            |(id, received_at, product, customer, name, email, consent, lang)| {
                let at = Cells::of("feedback_items", id).at("received_at", &received_at)?;
                let mut r = recipient(
                    (customer, name, email, consent, lang),
                    format!("feedback:{id}"),
                    at,
                );
                r.product_name = product;
                Ok(r)
            },
        )
        .collect()
}
