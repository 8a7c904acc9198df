//! The `OutboxStore` port over SQL: the outbox and the inbound mails taken in.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::ports::*;
use aftercare_domain::RequestId;
use async_trait::async_trait;
use sqlx::AnyConnection;

/// The statement that queues a mail in the outbox, with [`mail_args`].
const QUEUE_MAIL: &str = "INSERT INTO outbox (recipient, subject, body, request_id, status, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 'pending', $5, $5)";

fn mail_args(to: &str, subject: &str, body: &str, request_id: Option<i64>, now: &str) -> Vec<V> {
    vec![
        to.into(),
        subject.into(),
        body.into(),
        V::OptI(request_id),
        now.into(),
    ]
}

/// Queues one mail in the outbox, in the caller's transaction: the delivery job sends it.
pub(crate) async fn queue_mail(
    tx: &mut AnyConnection,
    to: &str,
    subject: &str,
    body: &str,
    request_id: Option<i64>,
    now: &str,
) -> StoreResult<()> {
    exec(
        &mut *tx,
        QUEUE_MAIL,
        &mail_args(to, subject, body, request_id, now),
    )
    .await
    .map(drop)
}

/// [`queue_mail`] into writes the caller runs with its others.
pub(crate) fn queue_mail_to(
    w: &mut Writes,
    to: &str,
    subject: &str,
    body: &str,
    request_id: Option<i64>,
    now: &str,
) {
    w.add_apart(QUEUE_MAIL, mail_args(to, subject, body, request_id, now));
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn outbox_due(&self, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        let now = &aftercare_app::ports::stamp(now);
        #[derive(sqlx::FromRow)]
        struct O {
            id: i64,
            recipient: String,
            subject: String,
            body: String,
            attempts: i64,
        }
        let rows: Vec<O> = fetch_all(
            &self.db.read,
            "SELECT id, recipient, subject, body, attempts FROM outbox \
             WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
            &[now.into(), V::I(limit as i64)],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|o| OutboxMail {
                id: o.id,
                to: o.recipient,
                subject: o.subject,
                body: o.body,
                attempts: o.attempts,
            })
            .collect())
    }

    async fn outbox_claim(
        &self,
        id: i64,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let now = &aftercare_app::ports::stamp(now);
        let n = exec(
            &self.db.write,
            "UPDATE outbox SET status = 'sending', next_attempt_at = $1 \
             WHERE id = $2 AND status IN ('pending', 'sending') AND next_attempt_at <= $3",
            &[lease_until.into(), V::I(id), now.into()],
        )
        .await?;
        Ok(n == 1)
    }

    async fn outbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let status = match (error, retry_at) {
            (None, _) => "sent",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        exec(
            &self.db.write,
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), sent_at = $4 WHERE id = $5",
            &[
                status.into(),
                error.into(),
                retry_at.into(),
                V::OptT((status == "sent").then(|| now.to_string())),
                V::I(id),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn mail_received(&self, message_id: &str) -> StoreResult<Option<(RequestId, String)>> {
        let found: Option<(i64, String)> = fetch_opt(
            &self.db.write,
            "SELECT r.id, r.number FROM mail_received m JOIN requests r ON r.id = m.request_id \
             WHERE m.message_id = $1",
            &[message_id.into()],
        )
        .await?;
        Ok(found.map(|(id, number)| (RequestId(id), number)))
    }
}
