//! The message library: approved texts in three languages with fields, kept by desk
//! managers, offered to agents as canned replies filled in for the request at hand (and,
//! later, to campaigns: one voice on every touchpoint).

use crate::desk_model::*;
use crate::error::AppError;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::RequestId;
use aftercare_domain::account::Permission;
use aftercare_domain::calendar::china;
use aftercare_domain::error::required_text;
use aftercare_domain::lang::Lang;
use aftercare_domain::message::{check_fields, fill};
use aftercare_domain::promise::{Kept, Promise, PromiseKind, kept, promises};
use aftercare_domain::request::VisitStatus;

/// The promise check looks this many days back…
pub const PROMISE_DAYS: i64 = 90;
/// …at the latest this many requests.
pub const PROMISE_SAMPLE: u32 = 5000;

/// A library text's statuses.
pub const TEXT_STATUSES: &[&str] = &["draft", "approved", "retired"];
const MAX_BODY: usize = 4000;

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts,
{
    /// The library: everything for desk managers, the approved texts for the rest.
    pub async fn message_texts(&self, p: &Principal) -> Result<Vec<MessageText>, AppError> {
        p.require(Permission::Read)?;
        let all = p.role.allows(Permission::ManageDesk);
        Ok(self
            .store
            .message_texts(if all { None } else { Some("approved") })
            .await?)
    }

    /// The promise check: every time a library text promises ("24小时上门", "2 hours to
    /// reply"), against up to [`PROMISE_SAMPLE`] requests opened over [`PROMISE_DAYS`] days
    /// and at least the promised time ago (so that each could have kept it or not): how
    /// many took longer (wall-clock time, as the customer reads it). Visits are measured
    /// on the requests that had one done. The brand's figures: for those who keep the
    /// library, analyse or run campaigns, not for a partner outlet's staff.
    pub async fn promise_checks(&self, p: &Principal) -> Result<Vec<PromiseCheck>, AppError> {
        p.require(Permission::ManageDesk)
            .or_else(|_| p.require(Permission::Analyze))
            .or_else(|_| p.require(Permission::Campaigns))?;
        if self.partner_outlet(p).await?.is_some() {
            return Err(AppError::Forbidden);
        }
        let texts = self.message_texts(p).await?;
        let found: Vec<(&MessageText, Vec<Promise>)> = texts
            .iter()
            .filter(|t| t.status != "retired")
            .map(|t| {
                // The same promise in three languages is one promise.
                let mut ps: Vec<Promise> = Vec::new();
                for body in [&t.body_zh_hans, &t.body_zh_hant, &t.body_en] {
                    for x in promises(body) {
                        if !ps
                            .iter()
                            .any(|q| q.kind == x.kind && q.minutes == x.minutes)
                        {
                            ps.push(x);
                        }
                    }
                }
                (t, ps)
            })
            .filter(|(_, ps)| !ps.is_empty())
            .collect();
        let now = self.clock.now();
        let minutes = |a: jiff::Timestamp, b: jiff::Timestamp| b.duration_since(a).as_secs() / 60;
        // One read per promised time: the requests old enough to have kept it.
        let mut samples: std::collections::HashMap<u32, Vec<RequestTimes>> =
            std::collections::HashMap::new();
        let mut out = Vec::new();
        for (t, ps) in found {
            for x in ps {
                if let std::collections::hash_map::Entry::Vacant(e) = samples.entry(x.minutes) {
                    let until = now - jiff::SignedDuration::from_mins(i64::from(x.minutes));
                    let since = until - jiff::SignedDuration::from_hours(24 * PROMISE_DAYS);
                    e.insert(
                        self.store
                            .request_times(since, until, PROMISE_SAMPLE)
                            .await?,
                    );
                }
                let times = samples.get(&x.minutes).map(Vec::as_slice).unwrap_or(&[]);
                let mut k = Kept::default();
                for r in times {
                    let done = match x.kind {
                        PromiseKind::Response => r.responded,
                        PromiseKind::Resolution => r.resolved,
                        PromiseKind::Visit => match r.first_visit {
                            Some(v) => Some(v),
                            None => continue,
                        },
                    };
                    if let Some(ok) = kept(
                        x.minutes,
                        done.map(|d| minutes(r.opened, d)),
                        minutes(r.opened, now),
                    ) {
                        k.measured += 1;
                        k.broken += u64::from(!ok);
                    }
                }
                out.push(PromiseCheck {
                    text_id: t.id,
                    text_name: t.name.clone(),
                    kind: x.kind,
                    minutes: x.minutes,
                    phrase: x.phrase,
                    measured: k.measured,
                    broken: k.broken,
                    share: k.share(),
                    flagged: k.flagged(),
                });
            }
        }
        Ok(out)
    }

    fn checked_text(&self, i: &MessageTextInput) -> Result<(String, String), AppError> {
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&i.name, 60));
        for (field, body) in [
            ("body_zh_hans", &i.body_zh_hans),
            ("body_zh_hant", &i.body_zh_hant),
            ("body_en", &i.body_en),
        ] {
            if let Some(b) = inv.check(field, required_text(body, MAX_BODY)) {
                inv.check(field, check_fields(&b));
            }
        }
        let status = i.status.as_deref().map(str::trim).unwrap_or("draft");
        if !TEXT_STATUSES.contains(&status) {
            inv.push("status", "text_status_unknown");
        }
        inv.into_result()?;
        Ok((name.unwrap_or_default(), status.to_string()))
    }

    pub async fn create_message_text(
        &self,
        p: &Principal,
        i: &MessageTextInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::ManageDesk)?;
        let (name, status) = self.checked_text(i)?;
        let t = MessageText {
            id: 0,
            name,
            body_zh_hans: i.body_zh_hans.trim().to_string(),
            body_zh_hant: i.body_zh_hant.trim().to_string(),
            body_en: i.body_en.trim().to_string(),
            status,
            owner_name: p.user.name.clone(),
            updated_at: self.clock.now(),
            version: 1,
        };
        Ok(self
            .store
            .save_message_text(&p.actor(), &t, Some(p.user.id), self.clock.now())
            .await?)
    }

    pub async fn update_message_text(
        &self,
        p: &Principal,
        id: i64,
        i: &MessageTextInput,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let (name, status) = self.checked_text(i)?;
        let Some(mut t) = self.store.message_text(id).await? else {
            return Err(AppError::NotFound("message_text"));
        };
        t.name = name;
        t.body_zh_hans = i.body_zh_hans.trim().to_string();
        t.body_zh_hant = i.body_zh_hant.trim().to_string();
        t.body_en = i.body_en.trim().to_string();
        t.status = status;
        // The version read is required: without it a change would overwrite whatever
        // someone else saved meanwhile.
        t.version = i
            .version
            .ok_or_else(|| AppError::from(Invalid::one("version", "required")))?;
        self.store
            .save_message_text(&p.actor(), &t, None, self.clock.now())
            .await
            .map_err(AppError::from_store("message_text"))?;
        Ok(())
    }

    /// The approved texts whose name or words contain `q`, filled in for a request in
    /// its customer's language: the customer's name, the request number, the next booked
    /// visit's time and the agent's name.
    pub async fn replies_for(
        &self,
        p: &Principal,
        id: RequestId,
        q: Option<&str>,
    ) -> Result<Vec<FilledReply>, AppError> {
        p.require(Permission::WorkRequests)?;
        // The request as the caller may see it (a partner's staff: their outlet's only).
        let d = self.request_detail(p, id).await?;
        let r = &d.request;
        let customer = self.store.customer(r.customer_id).await?;
        let lang =
            crate::customer_mail::mail_lang(customer.as_ref().and_then(|c| c.lang.as_deref()));
        let visit = d
            .visits
            .iter()
            .filter(|v| v.status == VisitStatus::Booked)
            .min_by_key(|v| v.starts_at)
            .map(|v| {
                v.starts_at
                    .to_zoned(china())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let values = [
            ("customer_name", r.customer_name.as_str()),
            ("request_number", r.number.as_str()),
            ("visit_time", visit.as_str()),
            ("agent_name", p.user.name.as_str()),
        ];
        let q = q.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
        let texts = self.store.message_texts(Some("approved")).await?;
        Ok(texts
            .into_iter()
            .filter(|t| {
                q.as_deref().is_none_or(|q| {
                    [&t.name, &t.body_zh_hans, &t.body_zh_hant, &t.body_en]
                        .iter()
                        .any(|s| s.to_lowercase().contains(q))
                })
            })
            .take(20)
            .map(|t| {
                let body = match lang {
                    Lang::ZhHans => &t.body_zh_hans,
                    Lang::ZhHant => &t.body_zh_hant,
                    Lang::En => &t.body_en,
                };
                FilledReply {
                    id: t.id,
                    name: t.name.clone(),
                    lang: lang.code().to_string(),
                    text: fill(body, &values),
                }
            })
            .collect())
    }
}
