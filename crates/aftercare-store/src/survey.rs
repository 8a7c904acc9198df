//! The `SurveyStore` port over SQL: survey settings, the signing key, occasions from the
//! change log, surveys with their mails (queued in the same transaction), answers and the
//! rows behind the score trends.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::ports::StoreResult;
use aftercare_app::service::Actor;
use aftercare_app::survey::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;

const SURVEY_SELECT: &str = "SELECT s.id, s.customer_id, c.name AS customer_name, s.occasion, s.subject_ref, \
    s.request_id, s.order_id, s.product_id, p.name AS product_name, s.outlet_id, s.service_type, s.sent_to, \
    s.created_at, s.expires_at, s.reminded_at, s.answered_at, s.csat, s.nps, s.ces, s.answers, s.comment, \
    s.feedback_id, c.lang AS customer_lang FROM surveys s JOIN customers c ON c.id = s.customer_id \
    LEFT JOIN products p ON p.id = s.product_id WHERE 1 = 1";

#[derive(sqlx::FromRow)]
struct SurveyRec {
    id: i64,
    customer_id: i64,
    customer_name: String,
    occasion: String,
    subject_ref: String,
    request_id: Option<i64>,
    order_id: Option<i64>,
    product_id: Option<i64>,
    product_name: Option<String>,
    outlet_id: Option<i64>,
    service_type: Option<String>,
    sent_to: Option<String>,
    created_at: String,
    expires_at: String,
    reminded_at: Option<String>,
    answered_at: Option<String>,
    csat: Option<i64>,
    nps: Option<i64>,
    ces: Option<i64>,
    answers: Option<String>,
    comment: Option<String>,
    feedback_id: Option<i64>,
    customer_lang: Option<String>,
}

impl TryFrom<SurveyRec> for Survey {
    type Error = StoreError;

    fn try_from(r: SurveyRec) -> Result<Self, StoreError> {
        let c = Cells::of("surveys", r.id);
        Ok(Survey {
            id: SurveyId(r.id),
            customer_id: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            customer_lang: r.customer_lang,
            occasion: r.occasion,
            subject_ref: r.subject_ref,
            request_id: r.request_id.map(RequestId),
            order_id: r.order_id.map(OrderId),
            product_id: r.product_id.map(ProductId),
            product_name: r.product_name,
            outlet_id: r.outlet_id.map(OutletId),
            service_type: r.service_type,
            sent_to: r.sent_to,
            created_at: c.at("created_at", &r.created_at)?,
            expires_at: c.at("expires_at", &r.expires_at)?,
            reminded_at: c.opt_at("reminded_at", r.reminded_at.as_deref())?,
            answered_at: c.opt_at("answered_at", r.answered_at.as_deref())?,
            csat: r.csat,
            nps: r.nps,
            ces: r.ces,
            answers: r
                .answers
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or_else(|| json!({})),
            comment: r.comment,
            feedback_id: r.feedback_id.map(FeedbackId),
        })
    }
}

#[async_trait]
impl SurveyStore for SqlStore {
    async fn survey_settings(&self) -> StoreResult<Option<String>> {
        self.settings_row("survey_settings").await
    }

    async fn set_survey_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        self.save_settings_row("survey_settings", actor, json, now)
            .await
    }

    async fn secret(&self, name: &str, fresh: &str, now: jiff::Timestamp) -> StoreResult<String> {
        let now = &aftercare_app::ports::stamp(now);
        let read = "SELECT value FROM app_secrets WHERE name = $1";
        if let Some((v,)) = fetch_opt::<_, (String,)>(&self.db.write, read, &[name.into()]).await? {
            return Ok(v);
        }
        // Two processes asking at once: the first insert wins and both read it back.
        exec(
            &self.db.write,
            "INSERT INTO app_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[name.into(), fresh.into(), now.into()],
        )
        .await?;
        fetch_opt::<_, (String,)>(&self.db.write, read, &[name.into()])
            .await?
            .map(|r| r.0)
            .ok_or(StoreError::NotFound)
    }

    async fn survey_occasions(
        &self,
        requests: &[i64],
        orders: &[i64],
    ) -> StoreResult<Vec<SurveyOccasion>> {
        let mut out = Vec::new();
        for chunk in requests.chunks(200) {
            let mut sql = Sql::new(
                "SELECT r.id, r.number, r.resolved_at, r.customer_id, c.name, a.product_id, r.outlet_id, r.service_type, \
                 c.primary_email, c.consent, c.lang FROM requests r JOIN customers c ON c.id = r.customer_id \
                 LEFT JOIN assets a ON a.id = r.asset_id \
                 WHERE r.status = 'resolved' AND r.resolved_at IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.request_id = r.id AND s.occasion = 'resolved')",
            );
            in_list(&mut sql, "r.id", chunk);
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                i64,
                String,
                String,
                i64,
                String,
                Option<i64>,
                Option<i64>,
                String,
                Option<String>,
                String,
                Option<String>,
            )> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (
                id,
                number,
                at,
                customer,
                name,
                product,
                outlet,
                service_type,
                email,
                consent,
                lang,
            ) in rows
            {
                out.push(SurveyOccasion {
                    occasion: "resolved",
                    subject_ref: format!("request:{id}"),
                    at: Cells::of("requests", id).at("resolved_at", &at)?,
                    customer_id: CustomerId(customer),
                    customer_name: name,
                    request_id: Some(RequestId(id)),
                    request_number: Some(number),
                    order_id: None,
                    product_id: product.map(ProductId),
                    outlet_id: outlet.map(OutletId),
                    service_type: Some(service_type),
                    email,
                    consent,
                    lang,
                });
            }
        }
        for chunk in orders.chunks(200) {
            let mut sql = Sql::new(
                // The day of the order, not when it was recorded: an import of old orders
                // is not a purchase to survey.
                "SELECT o.id, o.ordered_on || 'T12:00:00Z', o.customer_id, c.name, \
                 (SELECT MIN(i.product_id) FROM order_items i WHERE i.order_id = o.id), o.outlet_id, \
                 c.primary_email, c.consent, c.lang FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE o.status <> 'cancelled' \
                 AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.order_id = o.id AND s.occasion = 'purchase')",
            );
            in_list(&mut sql, "o.id", chunk);
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                i64,
                String,
                i64,
                String,
                Option<i64>,
                Option<i64>,
                Option<String>,
                String,
                Option<String>,
            )> = fetch_all(&self.db.write, &sql.text, &sql.args).await?;
            for (id, at, customer, name, product, outlet, email, consent, lang) in rows {
                out.push(SurveyOccasion {
                    occasion: "purchase",
                    subject_ref: format!("order:{id}"),
                    at: Cells::of("orders", id).at("ordered_on", &at)?,
                    customer_id: CustomerId(customer),
                    customer_name: name,
                    request_id: None,
                    request_number: None,
                    order_id: Some(OrderId(id)),
                    product_id: product.map(ProductId),
                    outlet_id: outlet.map(OutletId),
                    service_type: None,
                    email,
                    consent,
                    lang,
                });
            }
        }
        // In the order they happened, so the quiet period keeps the first.
        out.sort_by_key(|o| o.at);
        Ok(out)
    }

    async fn last_survey_at(
        &self,
        customer_id: CustomerId,
    ) -> StoreResult<Option<jiff::Timestamp>> {
        let at = fetch_opt::<_, (Option<String>,)>(
            &self.db.write,
            "SELECT MAX(created_at) FROM surveys WHERE customer_id = $1",
            &[V::I(customer_id.get())],
        )
        .await?
        .and_then(|r| r.0);
        Cells::of("customers", customer_id.get()).opt_at("last survey", at.as_deref())
    }

    async fn create_survey(
        &self,
        o: &SurveyOccasion,
        sent_to: Option<&str>,
        expires_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<SurveyId>> {
        let expires_at = &aftercare_app::ports::stamp(expires_at);
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        if scalar(
            &mut *tx,
            "SELECT id FROM surveys WHERE subject_ref = $1",
            &[(&o.subject_ref).into()],
        )
        .await?
        .is_some()
        {
            return Ok(None);
        }
        let id = insert_id(
            &mut *tx,
            "INSERT INTO surveys (customer_id, occasion, subject_ref, request_id, order_id, product_id, outlet_id, \
             service_type, sent_to, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                V::I(o.customer_id.get()),
                o.occasion.into(),
                (&o.subject_ref).into(),
                V::OptI(o.request_id.map(RequestId::get)),
                V::OptI(o.order_id.map(OrderId::get)),
                V::OptI(o.product_id.map(ProductId::get)),
                V::OptI(o.outlet_id.map(OutletId::get)),
                V::OptT(o.service_type.clone()),
                sent_to.into(),
                now.into(),
                expires_at.into(),
            ],
        )
        .await?;
        let after = json!({ "customer_id": o.customer_id, "occasion": o.occasion, "subject": o.subject_ref, "mailed": sent_to.is_some() });
        self.log(
            &mut tx,
            &Actor::system("surveys"),
            "create",
            "survey",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(SurveyId(id)))
    }

    async fn queue_survey_mail(
        &self,
        survey_id: SurveyId,
        mail: &SurveyMail,
        reminder: bool,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        crate::outbox::queue_mail(&mut tx, &mail.to, &mail.subject, &mail.body, None, now).await?;
        if reminder {
            exec(
                &mut *tx,
                "UPDATE surveys SET reminded_at = $1 WHERE id = $2",
                &[now.into(), V::I(survey_id.get())],
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)
    }

    async fn surveys_to_remind(
        &self,
        before: jiff::Timestamp,
        now: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Survey>> {
        let before = &aftercare_app::ports::stamp(before);
        let now = &aftercare_app::ports::stamp(now);
        let rows: Vec<SurveyRec> = fetch_all(
            &self.db.write,
            &format!(
                "{SURVEY_SELECT} AND s.answered_at IS NULL AND s.reminded_at IS NULL AND s.sent_to IS NOT NULL \
                 AND s.created_at < $1 AND s.expires_at > $2 ORDER BY s.id LIMIT $3"
            ),
            &[before.into(), now.into(), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn survey(&self, id: SurveyId) -> StoreResult<Option<Survey>> {
        let r: Option<SurveyRec> = fetch_opt(
            &self.db.write,
            &format!("{SURVEY_SELECT} AND s.id = $1"),
            &[V::I(id.get())],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn answer_survey(
        &self,
        id: SurveyId,
        a: &SurveyAnswer,
        now: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let answers = serde_json::to_string(&a.answers).unwrap_or_else(|_| "{}".into());
        let n = exec(
            &mut *tx,
            "UPDATE surveys SET answered_at = $1, csat = $2, nps = $3, ces = $4, answers = $5, comment = $6 \
             WHERE id = $7 AND answered_at IS NULL",
            &[
                now.into(),
                V::OptI(a.csat),
                V::OptI(a.nps),
                V::OptI(a.ces),
                answers.into(),
                V::OptT(a.comment.clone()),
                V::I(id.get()),
            ],
        )
        .await?;
        if n == 0 {
            return Ok(false);
        }
        let customer = scalar(
            &mut *tx,
            "SELECT customer_id FROM surveys WHERE id = $1",
            &[V::I(id.get())],
        )
        .await?;
        let after = json!({ "customer_id": customer, "csat": a.csat, "nps": a.nps, "ces": a.ces });
        self.log(
            &mut tx,
            &Actor::system("customer"),
            "answer",
            "survey",
            id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(true)
    }

    async fn link_survey_feedback(&self, id: SurveyId, feedback_id: FeedbackId) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE surveys SET feedback_id = $1 WHERE id = $2",
            &[V::I(feedback_id.get()), V::I(id.get())],
        )
        .await?;
        Ok(())
    }

    async fn open_surveys(
        &self,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<Survey>> {
        let now = &aftercare_app::ports::stamp(now);
        let rows: Vec<SurveyRec> = fetch_all(
            &self.db.read,
            &format!(
                "{SURVEY_SELECT} AND s.customer_id = $1 AND s.answered_at IS NULL AND s.expires_at > $2 \
                 ORDER BY s.id DESC LIMIT 20"
            ),
            &[V::I(customer_id.get()), now.into()],
        )
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn survey_answers(
        &self,
        group: Option<&str>,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<AnswerRow>> {
        let from = &aftercare_app::ports::stamp(from);
        let to = &aftercare_app::ports::stamp(to);
        let key = match group {
            Some("product") => "COALESCE(p.name, '-')",
            Some("outlet") => "COALESCE(o.name, '-')",
            Some("service_type") => "COALESCE(s.service_type, s.occasion)",
            _ => "'all'",
        };
        let rows: Vec<(i64, String, String, Option<i64>, Option<i64>, Option<i64>)> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT s.id, {key}, s.answered_at, s.csat, s.nps, s.ces FROM surveys s \
                 LEFT JOIN products p ON p.id = s.product_id LEFT JOIN outlets o ON o.id = s.outlet_id \
                 WHERE s.answered_at >= $1 AND s.answered_at < $2 ORDER BY s.answered_at"
            ),
            &[from.into(), to.into()],
        )
        .await?;
        rows.into_iter()
            .map(|(id, group, at, csat, nps, ces)| {
                let at = Cells::of("surveys", id).at("answered_at", &at)?;
                Ok((group, at, csat, nps, ces))
            })
            .collect()
    }
}
