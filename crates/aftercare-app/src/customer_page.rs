//! The customer page: a customer's 360 with their value, expert standing, care and the
//! offers that apply to them beside it, read in two batches (docs/decisions/0023): the
//! 360's, then everything else the page shows of the customer.

use crate::campaign_model::ApplicableOffer;
use crate::care_model::CustomerCare;
use crate::error::AppError;
use crate::model::Customer360;
use crate::ports;
use crate::service::{App, Principal};
use crate::value::model_from;
use crate::value_model::{ModelView, ValueView};
use aftercare_domain::ids::CustomerId;

/// What the customer page shows.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    pub v: Customer360,
    /// The customer's value and the model behind it; `None` when it cannot be read (the
    /// page shows the rest without it).
    pub value: Option<(ValueView, Option<ModelView>)>,
    /// The field the customer knows about, and since when.
    pub expert: Option<(Option<String>, String)>,
    /// Offers that apply to the customer today (none for an erased or merged customer).
    pub offers: Vec<ApplicableOffer>,
    pub care: CustomerCare,
}

impl<S> App<S>
where
    S: ?Sized + ports::Store,
{
    /// The customer page of `id` as the caller may see it, with `cursor` paging the
    /// timeline. What each part shows is what the part's own call gives
    /// ([`App::customer_360`], [`App::customer_value`], [`App::expert`],
    /// [`App::offers_on`], [`App::care_on`]); they are read together instead of one
    /// statement at a time.
    pub async fn customer_page(
        &self,
        p: &Principal,
        id: CustomerId,
        cursor: Option<&str>,
    ) -> Result<CustomerPage, AppError> {
        // Permission (and a partner outlet's claim on the customer) before the rest.
        let v = self.customer_360(p, id, cursor).await?;
        let r = self.store.customer_page_reads(id).await?;
        // An erased or merged customer is offered nothing.
        let offered = v.customer.erased_at.is_none() && v.customer.merged_into.is_none();
        let (value, offers, care) = tokio::join!(
            self.value_view_from(id, r.tier, r.value, r.value_settings.as_deref(), r.stages),
            async {
                if offered && !r.offers.is_empty() {
                    self.offers_applying(p, &v.customer, &v.assets, &r.offers, &r.offer_responses)
                        .await
                } else {
                    Ok(vec![])
                }
            },
            self.care_from(p, &v.assets, &r.schedules, r.contracts, r.vouchers),
        );
        // The value panel is left out when it cannot be read, as on its own.
        let value = value
            .ok()
            .map(|view| (view, model_from(r.model).ok().flatten()));
        Ok(CustomerPage {
            value,
            expert: r.expert,
            offers: offers?,
            care: care?,
            v,
        })
    }
}
