//! The outbox of mail to send, and the inbound mails already taken in.

use super::*;
use async_trait::async_trait;

/// The outbox of mail to send, and the inbound mails already taken in.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait OutboxStore: Send + Sync {
    /// Queued mails due for (another) attempt at `now`.
    async fn outbox_due(&self, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>>;
    /// Claims a due mail for sending until `lease_until` (another deliverer skips it; a
    /// claim whose deliverer died is taken over once its lease ends). False: not claimed.
    async fn outbox_claim(
        &self,
        id: i64,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> StoreResult<bool>;
    /// Records an attempt: sent, or failed with the error and when to try again (`None`:
    /// give up).
    async fn outbox_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// The request (id, number) an inbound mail with this Message-ID became, if it was
    /// taken in already.
    async fn mail_received(&self, message_id: &str) -> StoreResult<Option<(RequestId, String)>>;
}
