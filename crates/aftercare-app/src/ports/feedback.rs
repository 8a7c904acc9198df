//! The `FeedbackStore` port.

use super::Actor;
use crate::feedback_model::*;
use crate::model::Page;
use crate::ports::StoreResult;
use aftercare_domain::feedback::{Ladder, Need, Sentiment};
use aftercare_domain::ids::*;
use aftercare_domain::{CustomerId, ProductId};
use async_trait::async_trait;

#[async_trait]
pub trait FeedbackStore: Send + Sync {
    /// Stores an item (and its backlog entry, created if new). Returns its id and whether
    /// it is new: an origin taken in before gives the earlier item's id and false.
    async fn insert_feedback(
        &self,
        actor: &Actor,
        r: &FeedbackRecord,
        now: jiff::Timestamp,
    ) -> StoreResult<(FeedbackId, bool)>;
    /// Stores items as [`Self::insert_feedback`] does, all in one transaction: each one's
    /// id and whether it is new, in order.
    async fn insert_feedbacks(
        &self,
        actor: &Actor,
        records: &[FeedbackRecord],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<(FeedbackId, bool)>>;
    async fn feedback_item(&self, id: FeedbackId) -> StoreResult<Option<FeedbackItem>>;
    async fn feedback(&self, q: &FeedbackQuery, limit: u32) -> StoreResult<Page<FeedbackItem>>;
    /// Changes labels (each change kept), marks the item corrected and moves it to
    /// `backlog` (created if new; none leaves it out).
    async fn correct_feedback(
        &self,
        actor: &Actor,
        id: FeedbackId,
        changes: &[(&'static str, Option<String>, String)],
        backlog: Option<(Option<ProductId>, String, &'static str)>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn corrections(&self, id: FeedbackId) -> StoreResult<Vec<Correction>>;
    /// The corrected items: (body, sentiment, ladder, need).
    async fn corrected_examples(&self) -> StoreResult<Vec<(String, Sentiment, Ladder, Need)>>;
    async fn dictionary(&self) -> StoreResult<Vec<DictionaryWord>>;
    /// False when the word was there already.
    async fn add_dictionary_word(
        &self,
        actor: &Actor,
        word: &str,
        kind: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<bool>;
    /// The backlog of a product (`Some`), of feedback about no product (`Some(None)`), or
    /// all (`None`), ranked by customers then value touched.
    async fn backlog(
        &self,
        product: Option<Option<ProductId>>,
        status: Option<&str>,
    ) -> StoreResult<Vec<Improvement>>;
    async fn improvement(&self, id: ImprovementId) -> StoreResult<Option<Improvement>>;
    async fn set_improvement_status(
        &self,
        actor: &Actor,
        id: ImprovementId,
        status: &str,
        note: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn raised_by(&self, improvement_id: ImprovementId) -> StoreResult<Vec<RaisedBy>>;
    async fn set_expert(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        field: Option<&str>,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn unset_expert(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()>;
    /// (field, since) of a member of the alliance.
    async fn expert(
        &self,
        customer_id: CustomerId,
    ) -> StoreResult<Option<(Option<String>, String)>>;
    /// What these requests said (their subject and description, the comment left with a
    /// rating, customers' messages) and what these contacts of the given touchpoints
    /// noted, as stored.
    async fn said(
        &self,
        requests: &[i64],
        interactions: &[i64],
        touchpoints: &[&str],
    ) -> StoreResult<Vec<Said>>;
    /// Which of these origins a feedback item already has.
    async fn known_origins(&self, origins: &[&str]) -> StoreResult<Vec<String>>;
    /// Changes when a correction or a dictionary word is stored: (last correction's id,
    /// number of words).
    async fn text_model_version(&self) -> StoreResult<(i64, i64)>;
}
