//! Mail in and out. In: a decoded message becomes a reply on the request its subject
//! names (`[SR-2026-000123]`), when it comes from that request's customer, or else a new
//! request (from a new customer if the sender is unknown). Out: the outbox, filled in the
//! transactions of what caused each mail, is delivered with retries.

use crate::desk::RequestInput;
use crate::desk_model::ServiceRequest;
use crate::error::AppError;
use crate::input::{CustomerInput, EmailInput};
use crate::ports;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::RequestId;
use aftercare_domain::account::Permission;
use aftercare_domain::contact::Email;
use aftercare_domain::request::{RequestChannel, ServiceType, find_request_number};
use aftercare_insight::text::TYPE_CONFIDENT;
use serde::Serialize;
use utoipa::ToSchema;

/// What became of an inbound mail.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct MailOutcome {
    pub request_id: RequestId,
    pub number: String,
    /// True when it was added to an existing request, false when it opened one.
    pub threaded: bool,
    /// True when the sender was not known and a customer was created for them.
    pub new_customer: bool,
    /// True when this mail (same Message-ID) was taken in before: nothing was changed.
    pub duplicate: bool,
}

/// Waits before the attempts after a failure: 1 min, 5 min, 30 min, 2 h, then 6 h.
const RETRY_MINUTES: &[i64] = &[1, 5, 30, 120, 360, 360, 360, 360];

/// Outbox delivery: how many were sent and how many failed this round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::DeskPorts
        + ports::OutboxStore
        + ports::ChangeLog
        + ports::FeedbackStore,
{
    /// Takes in one raw mail as a mail server delivers it (the API's inbound mail): the
    /// caller's permission is checked before the mail is read.
    pub async fn mail_in_raw(&self, p: &Principal, raw: &[u8]) -> Result<MailOutcome, AppError> {
        p.require(Permission::WorkRequests)?;
        let parser = self.mail_parser.as_ref().ok_or(AppError::Unreadable {
            code: "mail_unreadable",
            detail: "no mail reader configured".into(),
        })?;
        let mail = parser.parse(raw).map_err(|detail| AppError::Unreadable {
            code: "mail_unreadable",
            detail,
        })?;
        self.receive_mail(&mail).await
    }

    /// Takes in a parsed mail, for the command line and the mailbox poller (which have no
    /// signed-in user); [`App::mail_in_raw`] is the API's way in.
    pub async fn receive_mail(&self, mail: &InboundMail) -> Result<MailOutcome, AppError> {
        // Mail is kept as received, less the control characters (a NUL above all) that a
        // sender's software may leave in and no database should store.
        let cleaned = cleaned(mail);
        let mail = &cleaned;
        // The same mail delivered again (a mailbox polled again after a crash, a mail
        // server retrying) changes nothing.
        let message_id = mail
            .message_id
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| m.chars().take(500).collect::<String>());
        if let Some(mid) = &message_id
            && let Some((request_id, number)) = self.store.mail_received(mid).await?
        {
            return Ok(MailOutcome {
                request_id,
                number,
                threaded: false,
                new_customer: false,
                duplicate: true,
            });
        }
        // Attachments get the same checks as any other (type, content, size); what fails
        // them is named in the message instead of kept.
        let mut mail = mail.clone();
        mail.message_id = message_id.clone();
        let mut refused = Vec::new();
        mail.attachments.retain(|a| {
            match crate::desk::check_attachment(&a.filename, &a.content_type, &a.content) {
                Ok(()) => true,
                Err(code) => {
                    refused.push(format!("{} ({code})", a.filename));
                    false
                }
            }
        });
        if !refused.is_empty() {
            mail.body = format!("{}\n\n[not kept: {}]", mail.body, refused.join(", "));
        }
        let mail = &mail;
        let actor = Actor::system(&format!("mail:{}", mail.from_email));
        let sender = Email::parse(&mail.from_email)
            .map_err(|c| aftercare_domain::Invalid::one("from", c))?;
        let key = sender.match_key();
        let body = if mail.body.trim().is_empty() {
            "(—)".to_string()
        } else {
            mail.body.clone()
        };
        let author = mail
            .from_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| mail.from_email.clone());
        let thread = self.threaded_request(mail, &key).await?;
        if let Thread::Into(r) = thread {
            let outcome = MailOutcome {
                request_id: r.id,
                number: r.number.clone(),
                threaded: true,
                new_customer: false,
                duplicate: false,
            };
            self.customer_message(
                &actor,
                *r,
                &author,
                body,
                "email",
                mail.message_id.clone(),
                mail.attachments.clone(),
            )
            .await?;
            return Ok(outcome);
        }
        let (customer, new_customer) = match self.store.customer_by_email(&key).await? {
            Some(c) => (c, false),
            None => {
                let draft = CustomerInput {
                    name: author.chars().take(100).collect(),
                    emails: vec![EmailInput {
                        address: mail.from_email.clone(),
                        primary: true,
                    }],
                    source: Some("email".into()),
                    ..Default::default()
                }
                .validate()?;
                let ids = self
                    .store
                    .create_customers(&actor, &[draft], self.now())
                    .await?;
                let id = ids
                    .first()
                    .copied()
                    .ok_or_else(|| AppError::Internal("no customer id".into()))?;
                // Written to in the language they wrote in.
                let lang = crate::customer_mail::guess_lang(&format!("{} {body}", mail.subject));
                self.store
                    .set_customer_lang(&actor, id, Some(lang.code()), true, self.now())
                    .await?;
                (id, true)
            }
        };
        let subject: String = if mail.subject.trim().is_empty() {
            body.chars().take(60).collect()
        } else {
            mail.subject.trim().chars().take(200).collect()
        };
        // The type the text reads as, when the model is sure enough; a consultation (the
        // least committal) when not. The agent sees the suggestion and confirms or changes.
        let suggested = self.suggest_type(&subject, &body).await?;
        let service_type = suggested
            .filter(|s| s.confidence >= TYPE_CONFIDENT)
            .map_or(ServiceType::Consultation, |s| s.service_type);
        let input = RequestInput {
            customer_id: customer,
            service_type: service_type.code().into(),
            channel: Some("email".into()),
            subject,
            description: body.chars().take(20_000).collect(),
            ..Default::default()
        };
        // The mail's files, on a message of their own: its text is the request's
        // description already.
        let first = (!mail.attachments.is_empty()).then(|| NewMessage {
            kind: "customer".into(),
            author_id: None,
            author_label: author.clone(),
            body: String::new(),
            channel: "email".into(),
            message_id: mail.message_id.clone(),
            attachments: mail.attachments.clone(),
        });
        let (id, number) = self
            .open_request_as(
                &actor,
                &input,
                RequestChannel::Email,
                first,
                message_id,
                suggested,
            )
            .await?;
        // The subject named a request that does not exist: the agent is told, on the new
        // request, in their own language.
        if let Thread::UnknownNumber(named) = thread
            && let Some(r) = self.store.request(id).await?
        {
            let fx = crate::ports::Effects {
                message: Some(NewMessage {
                    kind: "system".into(),
                    author_id: None,
                    author_label: "Aftercare".into(),
                    body: system_message("mail_unknown_request", &[("number", &named)]),
                    channel: "email".into(),
                    message_id: None,
                    attachments: vec![],
                }),
                ..Default::default()
            };
            self.store
                .update_requests(&actor, &[(r, fx)], self.clock.now())
                .await?;
        }
        Ok(MailOutcome {
            request_id: id,
            number,
            threaded: false,
            new_customer,
            duplicate: false,
        })
    }

    /// The request a mail answers: named in its subject, and sent by that request's
    /// customer (anyone else opens a request of their own).
    async fn threaded_request(
        &self,
        mail: &InboundMail,
        sender_key: &str,
    ) -> Result<Thread, AppError> {
        let Some(number) = find_request_number(&mail.subject) else {
            return Ok(Thread::New);
        };
        let Some(id) = self.store.request_id_by_number(&number).await? else {
            return Ok(Thread::UnknownNumber(number));
        };
        let Some(r) = self.store.request(id).await? else {
            return Ok(Thread::UnknownNumber(number));
        };
        // A finished request is not reopened by mail: the mail opens a new one.
        if r.status.is_final() {
            return Ok(Thread::New);
        }
        let theirs = self.store.customer_emails(r.customer_id).await?;
        Ok(if theirs.iter().any(|e| e == sender_key) {
            Thread::Into(Box::new(r))
        } else {
            Thread::New
        })
    }

    /// Sends what is due in the outbox; failures are retried later with growing waits and
    /// given up after the last.
    pub async fn deliver_outbox(&self, mailer: &dyn Mailer) -> Result<Delivery, AppError> {
        let mut d = Delivery::default();
        let now = self.clock.now();
        // A claim lasts ten minutes: long enough for a slow server, short enough that a
        // crashed deliverer's mails go out soon after.
        let lease = now + jiff::SignedDuration::from_mins(10);
        for m in self.store.outbox_due(now, 100).await? {
            if !self.store.outbox_claim(m.id, now, lease).await? {
                continue; // someone else is sending it
            }
            match mailer.send(&m.to, &m.subject, &m.body).await {
                Ok(()) => {
                    self.store.outbox_attempt(m.id, None, None, now).await?;
                    d.sent += 1;
                }
                Err(e) => {
                    let retry = RETRY_MINUTES
                        .get(m.attempts as usize)
                        .map(|min| now + jiff::SignedDuration::from_mins(*min));
                    tracing::warn!(to = %m.to, error = %e, "mail not sent");
                    self.store
                        .outbox_attempt(m.id, Some(&e), retry, now)
                        .await?;
                    d.failed += 1;
                }
            }
        }
        Ok(d)
    }
}

/// Where a received mail goes.
enum Thread {
    /// Added to this request: its number is in the subject and the sender is its customer.
    Into(Box<ServiceRequest>),
    /// A new request, whose agent is told that the subject's number does not exist.
    UnknownNumber(String),
    /// A new request.
    New,
}

/// The body of a system message: a code and its values, as JSON, which each reader sees
/// in their own language (`sysmsg.<code>`, with `{name}` filled in).
pub fn system_message(code: &str, values: &[(&str, &str)]) -> String {
    let mut m = serde_json::Map::new();
    m.insert("t".into(), code.into());
    for (k, v) in values {
        m.insert((*k).into(), (*v).into());
    }
    serde_json::Value::Object(m).to_string()
}

/// The mail without stray control characters in the text a person reads.
fn cleaned(mail: &InboundMail) -> InboundMail {
    use aftercare_domain::error::without_control_characters as clean;
    InboundMail {
        from_email: clean(&mail.from_email).into_owned(),
        from_name: mail.from_name.as_deref().map(|n| clean(n).into_owned()),
        subject: clean(&mail.subject).into_owned(),
        body: clean(&mail.body).into_owned(),
        body_undecodable: mail.body_undecodable,
        message_id: mail.message_id.as_deref().map(|m| clean(m).into_owned()),
        in_reply_to: mail.in_reply_to.as_deref().map(|m| clean(m).into_owned()),
        attachments: mail
            .attachments
            .iter()
            .map(|a| crate::ports::NewAttachment {
                filename: clean(&a.filename).into_owned(),
                content_type: clean(&a.content_type).into_owned(),
                content: a.content.clone(),
            })
            .collect(),
    }
}
