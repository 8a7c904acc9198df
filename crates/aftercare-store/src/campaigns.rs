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
     k.holdout_percent, k.voucher_kind, k.voucher_value, k.voucher_days, k.voucher_max, k.seed, k.window_days, k.status, k.started_at, k.stopped_at, k.swept_at, k.sweep_after, k.owner_name, \
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
             owner_id, owner_name, created_at, updated_at, version, voucher_kind, voucher_value, voucher_days, voucher_max) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, 1, $17, $18, $19, $20) RETURNING id",
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
            ],
        )
        .await?;
        let after = json!({
            "name": c.name, "trigger": c.trigger.code(), "segment": c.segment_name,
            "text_id": c.text_id, "holdout_percent": c.holdout_percent,
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
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT r.id, r.number, r.resolved_at, c.id, c.name, c.primary_email, c.consent, c.lang \
                 FROM requests r JOIN customers c ON c.id = r.customer_id \
                 WHERE r.resolved_at IS NOT NULL AND {REACHABLE}"
            ));
            in_list(&mut sql, "r.id", chunk);
            sql.push(" ORDER BY r.id");
            out.extend(resolved_rows(
                fetch_all(&self.db.read, &sql.text, &sql.args).await?,
            )?);
        }
        Ok(out)
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
        for chunk in members.chunks(100) {
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
        let mut a = CampaignActivity::default();
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
