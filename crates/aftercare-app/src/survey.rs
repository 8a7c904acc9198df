//! Surveys (C6): CSAT (1–5), NPS (0–10), CES (1–7) and custom questions after a resolved
//! service request or a purchase; sent by email (with consent) through a signed, expiring
//! link and shown in the portal; reminded once; answered without signing in. A comment
//! becomes a feedback item; the scores make the trends by product, outlet, service type
//! and month.

use crate::error::AppError;
use crate::feedback::Captured;
use crate::jobs::changes;
use crate::ports;
pub use crate::ports::SurveyStore;
use crate::service::{Actor, App, Principal};
pub use crate::survey_model::*;
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::feedback::FeedbackSource;
use aftercare_domain::ids::*;
use hmac::{Hmac, Mac};
use jiff::civil::Date;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Change-log events read per sending round.
const EVENTS_PER_ROUND: u32 = 2_000;

/// Mean CSAT and CES and NPS per group and month (China time), months in order.
pub fn scores(rows: &[AnswerRow]) -> Vec<ScoreRow> {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Acc {
        n: i64,
        csat: (f64, i64),
        ces: (f64, i64),
        nps: (i64, i64, i64),
    }
    let china = aftercare_domain::calendar::china();
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for (group, at, csat, nps, ces) in rows {
        let month = at.to_zoned(china.clone()).strftime("%Y-%m").to_string();
        let a = acc.entry((group.clone(), month)).or_default();
        a.n += 1;
        if let Some(c) = csat {
            a.csat.0 += *c as f64;
            a.csat.1 += 1;
        }
        if let Some(c) = ces {
            a.ces.0 += *c as f64;
            a.ces.1 += 1;
        }
        if let Some(n) = nps {
            a.nps.2 += 1;
            if *n >= 9 {
                a.nps.0 += 1;
            } else if *n <= 6 {
                a.nps.1 += 1;
            }
        }
    }
    let mean = |(sum, n): (f64, i64)| (n > 0).then(|| (sum / n as f64 * 100.0).round() / 100.0);
    acc.into_iter()
        .map(|((group, period), a)| ScoreRow {
            group,
            period,
            answers: a.n,
            csat: mean(a.csat),
            ces: mean(a.ces),
            nps: (a.nps.2 > 0)
                .then(|| ((a.nps.0 - a.nps.1) as f64 * 1000.0 / a.nps.2 as f64).round() / 10.0),
        })
        .collect()
}

fn sign(key: &str, id: i64, expires: i64) -> Result<String, AppError> {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes())
        .map_err(|e| AppError::Internal(format!("survey key: {e}")))?;
    mac.update(format!("survey:{id}:{expires}").as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn consents_to_email(consent: &str) -> bool {
    consent.split(',').any(|c| c.trim() == "email")
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::DeskPorts
        + ports::ChangeLog
        + ports::FeedbackStore
        + ports::SurveyStore
        + ports::CampaignStore,
{
    /// The settings in force (the defaults until changed).
    pub async fn survey_settings_now(&self) -> Result<SurveySettings, AppError> {
        Ok(match self.store.survey_settings().await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored survey settings: {e}")))?,
            None => SurveySettings::default(),
        })
    }

    pub async fn survey_settings(&self, p: &Principal) -> Result<SurveySettings, AppError> {
        p.require(Permission::Read)?;
        self.survey_settings_now().await
    }

    pub async fn set_survey_settings(
        &self,
        p: &Principal,
        s: &SurveySettings,
    ) -> Result<SurveySettings, AppError> {
        p.require(Permission::ManageDesk)?;
        s.check()?;
        let json = serde_json::to_string(s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store
            .set_survey_settings(&p.actor(), &json, self.now())
            .await?;
        Ok(s.clone())
    }

    /// The installation's signing key for survey links, read (or made) once per process.
    async fn survey_key(&self) -> Result<String, AppError> {
        self.survey_key
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
                Ok::<_, AppError>(
                    self.store
                        .secret("survey_link", &hex::encode(fresh), self.now())
                        .await?,
                )
            })
            .await
            .cloned()
    }

    /// The link that opens a survey without signing in, valid until it expires.
    pub async fn survey_link(&self, s: &Survey) -> Result<String, AppError> {
        self.link_for(s.id, s.expires_at).await
    }

    async fn link_for(
        &self,
        id: SurveyId,
        expires_at: jiff::Timestamp,
    ) -> Result<String, AppError> {
        let expires = expires_at.as_second();
        let sig = sign(&self.survey_key().await?, id.get(), expires)?;
        Ok(format!("{}/s/{id}.{expires}.{sig}", self.public_url))
    }

    fn survey_mail(
        &self,
        lang: Option<&str>,
        name: &str,
        link: &str,
        expires_days: u32,
        reminder: bool,
    ) -> (String, String) {
        let lang = crate::customer_mail::mail_lang(lang);
        crate::customer_mail::survey(lang, name, link, expires_days, reminder)
    }

    /// One sending round: every resolved request and new order the change log reports
    /// since the last round gets a survey, unless it is too old or the customer had one
    /// within the quiet period; it is mailed when the customer agreed to email. Then
    /// unanswered surveys past the reminder delay are reminded once.
    pub async fn survey_round(&self) -> Result<SurveyRound, AppError> {
        let s = self.survey_settings_now().await?;
        let mut round = SurveyRound::default();
        let now = self.clock.now();
        let batch = self
            .read_changes(changes::SURVEY, EVENTS_PER_ROUND, changes::SURVEY_READS)
            .await?;
        round.events = batch.span();
        round.more = batch.full(EVENTS_PER_ROUND);
        let found = if batch.is_empty() {
            vec![]
        } else {
            self.store
                .survey_occasions(
                    &changes::ids_of(&batch.events, "request"),
                    &changes::ids_of_kind(&batch.events, "order.create"),
                )
                .await?
        };
        let oldest = now - jiff::SignedDuration::from_hours(24 * i64::from(s.max_age_days));
        let quiet_since = now - jiff::SignedDuration::from_hours(24 * i64::from(s.quiet_days));
        let expires = now + jiff::SignedDuration::from_hours(24 * i64::from(s.expires_days));
        for o in found {
            let wanted = match o.occasion {
                "resolved" => s.after_resolution,
                _ => s.after_purchase,
            };
            if !wanted {
                continue;
            }
            if o.at < oldest {
                round.old += 1;
                continue;
            }
            // Rated in the portal already: the stars were the answer. The survey is kept,
            // answered with them, so that CSAT counts them, and nothing is sent.
            if let Some(rid) = o.request_id
                && let Some(stars) = self.store.request(rid).await?.and_then(|r| r.rating)
            {
                if let Some(id) = self.store.create_survey(&o, None, expires, now).await? {
                    let answer = SurveyAnswer {
                        csat: Some(stars),
                        nps: None,
                        ces: None,
                        answers: Default::default(),
                        comment: None,
                    };
                    self.store.answer_survey(id, &answer, now).await?;
                }
                round.rated += 1;
                continue;
            }
            if let Some(at) = self.store.last_survey_at(o.customer_id).await?
                && s.quiet_days > 0
                && at > quiet_since
            {
                round.quiet += 1;
                continue;
            }
            let to = o.email.as_deref().filter(|_| consents_to_email(&o.consent));
            // One contact budget across campaigns and surveys: a customer who had their
            // messages for the period gets the survey in the portal, not by mail.
            let mut to = to;
            if to.is_some() {
                let budget = self.store.contact_budget().await?.unwrap_or_default();
                let since =
                    now - jiff::SignedDuration::from_hours(24 * i64::from(budget.period_days));
                let sent = self
                    .store
                    .contacts_since(&[o.customer_id], since)
                    .await?
                    .first()
                    .map_or(0, |c| c.1);
                if !budget.allows(sent) {
                    round.pressure += 1;
                    to = None;
                }
            }
            let Some(id) = self.store.create_survey(&o, to, expires, now).await? else {
                continue;
            };
            round.created += 1;
            if let Some(to) = to {
                let link = self.link_for(id, expires).await?;
                let (subject, body) = self.survey_mail(
                    o.lang.as_deref(),
                    &o.customer_name,
                    &link,
                    s.expires_days,
                    false,
                );
                let mail = SurveyMail {
                    to: to.to_owned(),
                    subject,
                    body,
                };
                self.store.queue_survey_mail(id, &mail, false, now).await?;
                round.mailed += 1;
            }
        }
        self.consumed(changes::SURVEY, &batch).await?;
        if s.reminder_days > 0 {
            let before = now - jiff::SignedDuration::from_hours(24 * i64::from(s.reminder_days));
            for survey in self.store.surveys_to_remind(before, now, 200).await? {
                let Some(to) = survey.sent_to.clone() else {
                    continue;
                };
                let link = self.survey_link(&survey).await?;
                let (subject, body) = self.survey_mail(
                    survey.customer_lang.as_deref(),
                    &survey.customer_name,
                    &link,
                    s.expires_days,
                    true,
                );
                let mail = SurveyMail { to, subject, body };
                self.store
                    .queue_survey_mail(survey.id, &mail, true, now)
                    .await?;
                round.reminded += 1;
            }
        }
        Ok(round)
    }

    /// The survey a link opens: a wrong or altered link is not found; an expired one is
    /// returned marked expired.
    pub async fn survey_by_token(&self, token: &str) -> Result<SurveyForm, AppError> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(AppError::NotFound("survey"));
        };
        let (Ok(id), Ok(expires)) = (id.parse::<SurveyId>(), expires.parse::<i64>()) else {
            return Err(AppError::NotFound("survey"));
        };
        let key = self.survey_key().await?;
        let mut mac = HmacSha256::new_from_slice(key.as_bytes())
            .map_err(|e| AppError::Internal(format!("survey key: {e}")))?;
        mac.update(format!("survey:{id}:{expires}").as_bytes());
        let sig = hex::decode(sig).map_err(|_| AppError::NotFound("survey"))?;
        mac.verify_slice(&sig)
            .map_err(|_| AppError::NotFound("survey"))?;
        let survey = self
            .store
            .survey(id)
            .await?
            .ok_or(AppError::NotFound("survey"))?;
        if survey.expires_at.as_second() != expires {
            return Err(AppError::NotFound("survey"));
        }
        let expired = self.clock.now().as_second() > expires;
        let settings = self.survey_settings_now().await?;
        Ok(SurveyForm {
            survey,
            settings,
            expired,
        })
    }

    /// Records a customer's answers from a survey link. A comment (and the answers to
    /// custom questions) becomes a feedback item linked to the customer, the request,
    /// the product and the outlet.
    pub async fn answer_survey(&self, token: &str, a: &SurveyAnswer) -> Result<Survey, AppError> {
        let form = self.survey_by_token(token).await?;
        if form.expired {
            return Err(AppError::Conflict {
                code: "survey_expired",
                field: None,
            });
        }
        if form.survey.answered_at.is_some() {
            return Err(AppError::Conflict {
                code: "survey_answered",
                field: None,
            });
        }
        let mut inv = Invalid::default();
        for (field, v, lo, hi) in [
            ("csat", a.csat, 1, 5),
            ("nps", a.nps, 0, 10),
            ("ces", a.ces, 1, 7),
        ] {
            if v.is_some_and(|v| !(lo..=hi).contains(&v)) {
                inv.push(field, "score_range");
            }
        }
        let comment = inv
            .check(
                "comment",
                aftercare_domain::error::optional_text(a.comment.as_deref(), 2000),
            )
            .flatten();
        let mut answers = std::collections::BTreeMap::new();
        for (k, v) in &a.answers {
            if !form.settings.questions.iter().any(|q| &q.id == k) {
                inv.push(format!("answers.{k}"), "question_unknown");
                continue;
            }
            match aftercare_domain::error::optional_text(Some(v), 1000) {
                Ok(Some(t)) => {
                    answers.insert(k.clone(), t);
                }
                Ok(None) => {}
                Err(c) => inv.push(format!("answers.{k}"), c),
            }
        }
        if inv.is_empty()
            && a.csat.is_none()
            && a.nps.is_none()
            && a.ces.is_none()
            && comment.is_none()
            && answers.is_empty()
        {
            inv.push("csat", "answer_required");
        }
        inv.into_result()?;
        let clean = SurveyAnswer {
            csat: a.csat,
            nps: a.nps,
            ces: a.ces,
            answers: answers.clone(),
            comment: comment.clone(),
        };
        let id = form.survey.id;
        if !self.store.answer_survey(id, &clean, self.now()).await? {
            return Err(AppError::Conflict {
                code: "survey_answered",
                field: None,
            });
        }
        // One answer: the CSAT is the request's rating too, unless it was rated already.
        if let (Some(rid), Some(stars)) = (form.survey.request_id, a.csat) {
            let rating = crate::desk::RatingInput {
                stars,
                comment: None,
            };
            let by = Actor::system("survey");
            match self
                .rate_request(form.survey.customer_id, &by, rid, &rating)
                .await
            {
                Ok(()) | Err(AppError::Conflict { .. }) | Err(AppError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut text: Vec<String> = comment.into_iter().collect();
        for q in &form.settings.questions {
            if let Some(v) = answers.get(&q.id) {
                text.push(format!("{}：{v}", q.zh_hans));
            }
        }
        if !text.is_empty() {
            let s = &form.survey;
            let said = Captured {
                origin: format!("survey:{id}"),
                rating: None,
                source: FeedbackSource::Survey,
                body: text.join("\n"),
                customer_id: Some(s.customer_id),
                product_id: s.product_id,
                asset_id: None,
                request_id: s.request_id,
                outlet_id: s.outlet_id,
                at: self.now(),
            };
            let (feedback, _) = self.take_in(&Actor::system("survey"), said, a.csat).await?;
            self.store.link_survey_feedback(id, feedback).await?;
        }
        self.store
            .survey(id)
            .await?
            .ok_or(AppError::NotFound("survey"))
    }

    /// The surveys a signed-in portal customer has not answered yet, with their links.
    pub async fn portal_surveys(
        &self,
        account: &crate::ports::PortalAccount,
    ) -> Result<Vec<(Survey, String)>, AppError> {
        let mut out = Vec::new();
        for s in self
            .store
            .open_surveys(account.customer_id, self.now())
            .await?
        {
            let link = self.survey_link(&s).await?;
            out.push((s, link));
        }
        Ok(out)
    }

    pub async fn survey(&self, p: &Principal, id: SurveyId) -> Result<Survey, AppError> {
        p.require(Permission::Read)?;
        self.store
            .survey(id)
            .await?
            .ok_or(AppError::NotFound("survey"))
    }

    /// NPS, CSAT and CES by month, per product, outlet or service type.
    pub async fn survey_scores(
        &self,
        p: &Principal,
        q: &ScoreQuery,
    ) -> Result<Vec<ScoreRow>, AppError> {
        p.require(Permission::Read)?;
        let (group, from, to) = self.score_query(q)?;
        self.scores_between(group.as_deref(), from, to).await
    }

    /// The group and the days of a score query (a year back to today by default), every
    /// wrong field named at once.
    pub(crate) fn score_query(
        &self,
        q: &ScoreQuery,
    ) -> Result<(Option<String>, Date, Date), AppError> {
        let mut inv = Invalid::default();
        let group = q
            .group
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "none");
        if group.is_some_and(|g| !matches!(g, "product" | "outlet" | "service_type")) {
            inv.push("group", "group_unknown");
        }
        match self.period_or(
            q.from.as_deref(),
            q.to.as_deref(),
            jiff::Span::new().years(1),
        ) {
            Ok((from, to)) => inv
                .into_result()
                .map(|_| (group.map(str::to_owned), from, to))
                .map_err(Into::into),
            Err(AppError::Invalid(more)) => {
                inv.0.extend(more.0);
                Err(inv.into())
            }
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn scores_between(
        &self,
        group: Option<&str>,
        from: Date,
        to: Date,
    ) -> Result<Vec<ScoreRow>, AppError> {
        let (start, end) = crate::desk::day_bounds(from, to)?;
        Ok(scores(&self.store.survey_answers(group, start, end).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_is_promoters_minus_detractors_per_month_in_china_time() {
        let row = |at: &str, nps: i64| {
            (
                "all".to_owned(),
                at.parse().unwrap(),
                Some(4),
                Some(nps),
                Some(6),
            )
        };
        // 2026-05-31T17:00Z is already June in China.
        let rows = vec![
            row("2026-05-31T15:00:00Z", 10),
            row("2026-05-31T17:00:00Z", 9),
            row("2026-06-02T01:00:00Z", 3),
            row("2026-06-03T01:00:00Z", 7),
        ];
        let s = scores(&rows);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].period.as_str(), s[0].nps), ("2026-05", Some(100.0)));
        assert_eq!(
            (s[1].period.as_str(), s[1].answers, s[1].nps),
            ("2026-06", 3, Some(0.0))
        );
        assert_eq!(s[1].csat, Some(4.0));
    }

    #[test]
    fn settings_are_checked() {
        assert!(SurveySettings::default().check().is_ok());
        let bad = SurveySettings {
            quiet_days: 400,
            csat: false,
            nps: false,
            ces: false,
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["quiet_days", "questions"]);
    }
}
