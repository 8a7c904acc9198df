//! The `OfferStore` port.

use super::Actor;
use crate::campaign_model::*;
use crate::ports::StoreResult;
use aftercare_domain::CustomerId;
use async_trait::async_trait;

#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Stores a new offer (`o.id == 0`, version 1) or changes one whose version is still
    /// `o.version`; returns its id.
    async fn save_offer(&self, actor: &Actor, o: &Offer) -> StoreResult<i64>;
    async fn offer(&self, id: i64) -> StoreResult<Option<Offer>>;
    /// Every offer (or only the active ones), by name.
    async fn offers(&self, active_only: bool) -> StoreResult<Vec<Offer>>;
    /// Records a response, with a timeline entry for the customer, in one transaction.
    async fn record_offer_response(&self, actor: &Actor, r: &OfferResponseRow) -> StoreResult<i64>;
    /// A customer's responses, newest first.
    async fn offer_responses(&self, customer_id: CustomerId) -> StoreResult<Vec<OfferResponseRow>>;
    /// Every response since `since`, and the orders of the customers who accepted one.
    async fn offer_activity(&self, since: jiff::Timestamp) -> StoreResult<OfferActivity>;
}
