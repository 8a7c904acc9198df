//! The `CampaignStore` port.

use super::Actor;
use crate::campaign_model::*;
use crate::ports::StoreResult;
use crate::value_model::SegmentFilter;
use aftercare_domain::CustomerId;
use aftercare_domain::campaign::{CampaignStatus, ContactBudget};
use async_trait::async_trait;
use jiff::civil::Date;

#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait CampaignStore: Send + Sync {
    /// Stores a new campaign (status draft, version 1); `c.id` is ignored.
    async fn create_campaign(
        &self,
        actor: &Actor,
        c: &Campaign,
        owner: Option<aftercare_domain::UserId>,
    ) -> StoreResult<i64>;
    async fn campaign(&self, id: i64) -> StoreResult<Option<Campaign>>;
    /// Every campaign, newest first, with its outcome counts.
    async fn campaigns(&self) -> StoreResult<Vec<(Campaign, OutcomeCounts)>>;
    /// Moves a campaign to `to` when its version is still `version`.
    async fn set_campaign_status(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        to: CampaignStatus,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn running_campaigns(&self) -> StoreResult<Vec<Campaign>>;
    /// Records how far a sweep of a campaign's segment or items went: through (`None`:
    /// swept now, the next one starts afresh) or up to a customer, to go on from.
    async fn mark_swept(&self, id: i64, now: jiff::Timestamp, upto: Option<i64>)
    -> StoreResult<()>;
    /// The customers of a segment with their addresses, by id, after `after`, at most
    /// `limit`.
    async fn segment_recipients(
        &self,
        f: &SegmentFilter,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>>;
    /// Items still with their owner under this warranty policy whose guarantee started
    /// from `from` to `to` (both included).
    async fn assets_starting(
        &self,
        policy_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<StartingAsset>>;
    /// Customers' important dates (birthdays and the like), with their customers, from the
    /// date after `after`, at most `limit`, by id.
    async fn important_dates(&self, after: i64, limit: u32) -> StoreResult<Vec<ImportantDate>>;
    /// Customers' birthdays, as important dates whose id is the customer's, from the
    /// customer after `after`, at most `limit`, by id.
    async fn birthdays(&self, after: i64, limit: u32) -> StoreResult<Vec<ImportantDate>>;
    /// Of these requests, the resolved ones, with their customers.
    async fn resolved_request_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>>;
    /// Of these improvements, the shipped ones, with each customer whose feedback asked for
    /// them (`at`: when shipped).
    async fn shipped_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>>;
    /// Of these feedback items, those linked to a shipped improvement, with their customer
    /// (one per improvement and customer).
    async fn shipped_for_feedback(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>>;
    /// Improvements shipped between two instants, with the customers who asked.
    async fn shipped_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>>;
    /// Of these feedback items, those of a customer that show an inducible need (`at`:
    /// when received).
    async fn need_recipients(&self, ids: &[i64]) -> StoreResult<Vec<Recipient>>;
    /// Feedback received between two instants that shows an inducible need.
    async fn needs_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>>;
    /// Requests resolved between two instants, with their customers.
    async fn resolved_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Recipient>>;
    /// Of these occurrences of a campaign, those already decided.
    async fn decided(
        &self,
        campaign_id: i64,
        keys: &[(CustomerId, String)],
    ) -> StoreResult<Vec<(CustomerId, String)>>;
    /// Messages each of these customers was sent since `since`: campaign mails and
    /// surveys. Customers without any are left out.
    async fn contacts_since(
        &self,
        customers: &[CustomerId],
        since: jiff::Timestamp,
    ) -> StoreResult<Vec<(CustomerId, u32)>>;
    /// Writes the decided occurrences and queues their mails (with a timeline entry), in
    /// one transaction; an occurrence decided already (by another server) is skipped with
    /// its mail. Returns how many were written.
    async fn enrol(
        &self,
        campaign: &Campaign,
        members: &[Enrolment],
        now: jiff::Timestamp,
    ) -> StoreResult<u64>;
    /// Members, and their orders and requests since `since`.
    async fn campaign_activity(
        &self,
        campaign_id: i64,
        since: jiff::Timestamp,
    ) -> StoreResult<CampaignActivity>;
    /// Customers per acquisition touchpoint (`-`: not known): (touchpoint, customers,
    /// scored, sum of CLV, revenue, scored at the trusting stage or beyond, complaints).
    async fn touchpoint_counts(&self) -> StoreResult<Vec<(String, i64, i64, f64, f64, i64, i64)>>;
    async fn contact_budget(&self) -> StoreResult<Option<ContactBudget>>;
    async fn set_contact_budget(
        &self,
        actor: &Actor,
        b: &ContactBudget,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Journeys of a campaign due for their next step at `now`, oldest due first.
    async fn due_journeys(
        &self,
        campaign_id: i64,
        now: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueJourney>>;
    /// What the customers of these journeys did since each started.
    async fn journey_facts(&self, ids: &[i64]) -> StoreResult<Vec<(i64, JourneyFacts)>>;
    /// Moves journeys on, each only if it is still active at the step and due time it
    /// was read at (another server may have moved it), with what its step sent: the mail
    /// queued, the portal message or call-back task made, the send recorded (a step the
    /// budget holds back, once), in one transaction. Returns the journeys moved.
    async fn move_journeys(
        &self,
        campaign: &Campaign,
        moves: &[JourneyMove],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>>;
    async fn journey_stats(&self, campaign_id: i64) -> StoreResult<JourneyStats>;
    /// Records that the link of the journey with this token was followed (which also
    /// opens it). False: no such journey.
    async fn follow_link(&self, token: &str, now: jiff::Timestamp) -> StoreResult<bool>;
    /// A customer's portal messages, newest first.
    async fn portal_messages(
        &self,
        customer: CustomerId,
        limit: u32,
    ) -> StoreResult<Vec<PortalMessage>>;
    /// Marks a customer's portal message read (and its journey opened), returning it.
    async fn read_portal_message(
        &self,
        customer: CustomerId,
        id: i64,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<PortalMessage>>;
    /// Call-back tasks: the open ones oldest first, or the done ones newest first.
    async fn callback_tasks(&self, open: bool, limit: u32) -> StoreResult<Vec<CallbackTask>>;
    async fn callback_task(&self, id: i64) -> StoreResult<Option<CallbackTask>>;
    /// Records what came of an open call-back when its version is still `version`
    /// (`reached` also marks its journey answered).
    async fn record_callback(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        result: aftercare_domain::campaign::CallbackResult,
        note: Option<&str>,
        by: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
}
