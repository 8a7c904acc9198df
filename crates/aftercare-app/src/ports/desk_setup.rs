//! The service desk's set-up: calendars, SLA policies, staff profiles, and what routing and SLA need to know of customers and staff.

use super::*;
use crate::desk_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// The service desk's set-up: calendars, SLA policies, staff profiles, and what routing and SLA need to know of customers and staff.
#[async_trait]
#[allow(clippy::too_many_arguments)]
pub trait DeskSetupStore: Send + Sync {
    async fn desk_config(&self) -> StoreResult<DeskConfig>;
    async fn create_calendar(
        &self,
        actor: &Actor,
        c: &CalendarBody,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    async fn update_calendar(
        &self,
        actor: &Actor,
        id: i64,
        c: &CalendarBody,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Adds public holidays and make-up working days to a calendar, in one transaction
    /// (two loads at once both land). Returns how many of each were new.
    async fn add_calendar_days(
        &self,
        actor: &Actor,
        id: i64,
        days: &aftercare_domain::public_days::PublicDays,
        now: jiff::Timestamp,
    ) -> StoreResult<(usize, usize)>;
    /// Stores a policy (its id is ignored).
    async fn create_sla_policy(
        &self,
        actor: &Actor,
        p: &SlaPolicy,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    async fn set_staff_profile(
        &self,
        actor: &Actor,
        p: &StaffProfile,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Every active staff member who can take requests, with their profile (defaults when
    /// none is set) and current load.
    async fn staff_profiles(&self) -> StoreResult<Vec<StaffProfile>>;
    /// A person's saved views of the queue, by name.
    async fn saved_views(&self, user_id: UserId) -> StoreResult<Vec<SavedView>>;
    /// Saves a view under its name, replacing one of the same name. Refuses a person's
    /// 51st view with `Conflict("saved_views_full")`.
    async fn save_view(
        &self,
        user_id: UserId,
        name: &str,
        query: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    /// The message library, by name; `status` narrows it.
    async fn message_texts(&self, status: Option<&str>) -> StoreResult<Vec<MessageText>>;
    async fn message_text(&self, id: i64) -> StoreResult<Option<MessageText>>;
    /// Stores a new text (`id` 0) or changes one still at `t.version` (else
    /// `Conflict("version_conflict")`); returns its id.
    async fn save_message_text(
        &self,
        actor: &Actor,
        t: &MessageText,
        owner: Option<UserId>,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    /// Deletes one of a person's views; `NotFound` if it is not theirs.
    async fn delete_view(&self, user_id: UserId, id: i64) -> StoreResult<()>;
    async fn service_facts(&self, customer_id: CustomerId) -> StoreResult<Option<ServiceFacts>>;
    /// The outlet a staff member works at, with its kind (own or partner), if any.
    async fn staff_outlet(&self, user_id: UserId) -> StoreResult<Option<(OutletId, String)>>;
    async fn set_customer_tier(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        tier: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
}
