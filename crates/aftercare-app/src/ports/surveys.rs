//! The `SurveyStore` port.

use super::Actor;
use crate::ports::StoreResult;
use crate::survey_model::*;
use aftercare_domain::CustomerId;
use aftercare_domain::ids::*;
use async_trait::async_trait;

#[async_trait]
pub trait SurveyStore: Send + Sync {
    async fn survey_settings(&self) -> StoreResult<Option<String>>;
    async fn set_survey_settings(
        &self,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// The value of a named secret, made from `fresh` the first time it is asked for.
    async fn secret(&self, name: &str, fresh: &str, now: jiff::Timestamp) -> StoreResult<String>;
    /// Of these requests and orders, the resolved requests and the orders that are not
    /// cancelled, without a survey yet.
    async fn survey_occasions(
        &self,
        requests: &[i64],
        orders: &[i64],
    ) -> StoreResult<Vec<SurveyOccasion>>;
    /// When the customer's last survey was made.
    async fn last_survey_at(&self, customer_id: CustomerId)
    -> StoreResult<Option<jiff::Timestamp>>;
    /// Stores a survey and queues its mail, in one transaction; `None` if one exists
    /// for the same occasion.
    async fn create_survey(
        &self,
        o: &SurveyOccasion,
        sent_to: Option<&str>,
        expires_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<SurveyId>>;
    async fn queue_survey_mail(
        &self,
        survey_id: SurveyId,
        mail: &SurveyMail,
        reminder: bool,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// Mailed, unanswered, unreminded surveys made before `before` that are still valid at `now`.
    async fn surveys_to_remind(
        &self,
        before: jiff::Timestamp,
        now: jiff::Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Survey>>;
    async fn survey(&self, id: SurveyId) -> StoreResult<Option<Survey>>;
    /// Records the answers; false when it was answered already.
    async fn answer_survey(
        &self,
        id: SurveyId,
        a: &SurveyAnswer,
        now: jiff::Timestamp,
    ) -> StoreResult<bool>;
    async fn link_survey_feedback(&self, id: SurveyId, feedback_id: FeedbackId) -> StoreResult<()>;
    /// A customer's unanswered, unexpired surveys.
    async fn open_surveys(
        &self,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<Survey>>;
    /// Surveys answered between two instants: (group, answered_at, csat, nps, ces), the
    /// group being the product's or outlet's name or the service type ("all" without).
    async fn survey_answers(
        &self,
        group: Option<&str>,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> StoreResult<Vec<AnswerRow>>;
}
