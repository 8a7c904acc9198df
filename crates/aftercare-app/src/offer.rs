//! Offers at the desk: which offers apply to a customer's items now and why, filled in
//! from the message library in the customer's language; what the customer answered; and
//! what the accepted ones sold.
//!
//! Attribution: an order is the offer's when the customer accepted it at most the offer's
//! window before the order, and, for an offer that sells a product, the order holds that
//! product. An order that follows several acceptances is the latest one's (last touch).

use crate::campaign_model::*;
use crate::desk_model::MessageText;
use crate::error::AppError;
use crate::model::{Asset, Customer, Customer360};
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::account::Permission;
use aftercare_domain::calendar::china_date;
use aftercare_domain::error::required_text;
use aftercare_domain::message::fill;
use aftercare_domain::offer::{ItemFacts, OfferKind, OfferResponse, Why, applies};
use aftercare_domain::{CustomerId, Invalid};
use jiff::ToSpan;
use std::collections::{BTreeMap, HashMap};

/// Sales are reported over this many days back.
const REPORT_DAYS: i64 = 365;

/// The sales of each group (offer, agent, outlet) from the responses and the orders.
pub fn offer_sales(
    offers: &[Offer],
    a: &OfferActivity,
    group: impl Fn(&OfferResponseRow) -> Option<String>,
) -> Vec<OfferSales> {
    let window: HashMap<i64, (u32, Option<i64>)> = offers
        .iter()
        .map(|o| (o.id, (o.window_days, o.product_id)))
        .collect();
    let mut out: BTreeMap<String, OfferSales> = BTreeMap::new();
    for r in &a.responses {
        let Some(name) = group(r) else { continue };
        let s = out.entry(name.clone()).or_insert_with(|| OfferSales {
            name,
            ..OfferSales::default()
        });
        match r.response {
            OfferResponse::Offered => s.offered += 1,
            OfferResponse::Accepted => s.accepted += 1,
            OfferResponse::Declined => s.declined += 1,
        }
    }
    // Each order to the latest acceptance it follows within that offer's window.
    for (customer, at, on, total, products) in &a.orders {
        let latest = a
            .responses
            .iter()
            .filter(|r| r.response == OfferResponse::Accepted && r.customer_id == *customer)
            .filter(|r| {
                window.get(&r.offer_id).is_some_and(|(days, product)| {
                    // Recorded after the acceptance and placed within the window from its
                    // day: an import of old orders is nobody's.
                    let day = china_date(r.at);
                    let last = day.checked_add(i64::from(*days).days()).unwrap_or(day);
                    r.at <= *at
                        && *on >= day
                        && *on <= last
                        && product.is_none_or(|p| products.contains(&p))
                })
            })
            .max_by_key(|r| (r.at, r.id));
        if let Some(r) = latest
            && let Some(name) = group(r)
            && let Some(s) = out.get_mut(&name)
        {
            s.orders += 1;
            s.revenue += total;
        }
    }
    out.into_values().collect()
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts + OfferStore,
{
    /// Every offer for those who keep them; the active ones for the rest of the staff.
    pub async fn offers(&self, p: &Principal) -> Result<Vec<Offer>, AppError> {
        p.require(Permission::Read)?;
        let all = p.role.allows(Permission::Campaigns);
        Ok(self.store.offers(!all).await?)
    }

    /// Creates an offer (`id` none) or changes one (with the version read).
    pub async fn save_offer(
        &self,
        p: &Principal,
        id: Option<i64>,
        i: &OfferInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::Campaigns)?;
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&i.name, 80));
        let kind = inv.check("kind", OfferKind::parse(&i.kind));
        let within_days = i.within_days.unwrap_or(60);
        let min_repairs = i.min_repairs.unwrap_or(2);
        let months = i.months.unwrap_or(12);
        let window_days = i.window_days.unwrap_or(30);
        for (field, v, lo, hi) in [
            ("within_days", within_days, 1, 365),
            ("min_repairs", min_repairs, 0, 20),
            ("months", months, 0, 240),
            ("window_days", window_days, 1, 365),
        ] {
            if !(lo..=hi).contains(&v) {
                inv.push(field, "out_of_range");
            }
        }
        if kind == Some(OfferKind::Upgrade) && min_repairs == 0 && months == 0 {
            inv.push("months", "offer_never_applies");
        }
        if kind == Some(OfferKind::Maintenance) && months == 0 {
            inv.push("months", "offer_never_applies");
        }
        if let Some(c) = i.category_id
            && !self.category_known(c).await?
        {
            inv.push("category_id", "category_unknown");
        }
        let text = self.store.message_text(i.text_id).await?;
        // An offer keeps its text when it is changed otherwise (retired, say), even if the
        // text was withdrawn since; a new text must be approved.
        let kept = match id {
            Some(id) => self
                .store
                .offer(id)
                .await?
                .is_some_and(|o| o.text_id == i.text_id),
            None => false,
        };
        match &text {
            None => inv.push("text_id", "text_unknown"),
            Some(t) if t.status != "approved" && !kept => inv.push("text_id", "text_not_approved"),
            Some(_) => {}
        }
        let mut product_name = None;
        if let Some(pid) = i.product_id {
            match self.store.product(aftercare_domain::ProductId(pid)).await? {
                None => inv.push("product_id", "product_unknown"),
                Some(pr) => product_name = Some(pr.name),
            }
        }
        if id.is_some() && i.version.is_none() {
            inv.push("version", "required");
        }
        inv.into_result()?;
        let (Some(name), Some(kind), Some(text)) = (name, kind, text) else {
            return Err(AppError::Internal("offer checked without values".into()));
        };
        let o = Offer {
            id: id.unwrap_or(0),
            name,
            kind,
            category_id: i.category_id,
            within_days,
            min_repairs,
            months,
            text_id: text.id,
            text_name: text.name,
            product_id: i.product_id,
            product_name,
            window_days,
            active: i.active.unwrap_or(true),
            owner_name: p.user.name.clone(),
            created_at: self.clock.now(),
            version: i.version.unwrap_or(1),
        };
        self.store
            .save_offer(&p.actor(), &o)
            .await
            .map_err(AppError::from_store("offer"))
    }

    /// The active offers that apply to the customer's items today, each with why and the
    /// library text filled in for them, and what they answered last time.
    pub async fn offers_for(
        &self,
        p: &Principal,
        customer_id: CustomerId,
    ) -> Result<Vec<ApplicableOffer>, AppError> {
        // The customer as the caller may see them.
        let customer = self.customer(p, customer_id).await?;
        let offers = self.store.offers(true).await?;
        if offers.is_empty() {
            return Ok(vec![]);
        }
        let mut assets = self.store.assets_of(customer_id).await?;
        self.fill_warranties(&mut assets).await?;
        let responses = self.store.offer_responses(customer_id).await?;
        self.offers_applying(p, &customer, &assets, &offers, &responses)
            .await
    }

    /// [`App::offers_for`] from a customer 360 the caller has read (which is where the
    /// check that they may see the customer was made), as the customer and request pages
    /// have it: the customer and their items, with warranties, are not read again.
    pub async fn offers_on(
        &self,
        p: &Principal,
        v: &Customer360,
    ) -> Result<Vec<ApplicableOffer>, AppError> {
        p.require(Permission::Read)?;
        let offers = self.store.offers(true).await?;
        if offers.is_empty() {
            return Ok(vec![]);
        }
        let responses = self.store.offer_responses(v.customer.id).await?;
        self.offers_applying(p, &v.customer, &v.assets, &offers, &responses)
            .await
    }

    /// Which of `offers` apply to the customer's items, with `responses`, what the
    /// customer answered to offers (newest first).
    pub(crate) async fn offers_applying(
        &self,
        p: &Principal,
        customer: &Customer,
        assets: &[Asset],
        offers: &[Offer],
        responses: &[OfferResponseRow],
    ) -> Result<Vec<ApplicableOffer>, AppError> {
        let today = self.clock.today();
        let lang = crate::customer_mail::mail_lang(customer.lang.as_deref());
        let mut texts: HashMap<i64, Option<MessageText>> = HashMap::new();
        let mut out = Vec::new();
        for o in offers {
            let rule = o.rule();
            for a in assets {
                let facts = ItemFacts {
                    category_id: a.category_id.get(),
                    starts: a.delivered_on.unwrap_or(a.purchased_on),
                    // A voided guarantee is not extended.
                    repair_until: a
                        .warranty
                        .as_ref()
                        .filter(|w| w.repair.applies)
                        .and_then(|w| w.repair.until),
                    repairs: a.events.iter().filter(|e| e.kind == "repair").count() as u32,
                    last_service: a
                        .events
                        .iter()
                        .filter(|e| matches!(e.kind.as_str(), "service" | "installed"))
                        .map(|e| e.day)
                        .max(),
                    gone: a.left_customer(),
                };
                let Some(why) = applies(&rule, &facts, today) else {
                    continue;
                };
                // Consumables are offered once per customer, not once per item.
                let per_customer = why == Why::Owns;
                if per_customer && out.iter().any(|x: &ApplicableOffer| x.offer_id == o.id) {
                    continue;
                }
                let asset_id = (!per_customer).then_some(a.id);
                if let std::collections::hash_map::Entry::Vacant(e) = texts.entry(o.text_id) {
                    e.insert(self.store.message_text(o.text_id).await?);
                }
                // A text withdrawn or being rewritten is not read to customers.
                let Some(Some(t)) = texts
                    .get(&o.text_id)
                    .map(|t| t.as_ref().filter(|t| t.status == "approved"))
                else {
                    continue;
                };
                let body = match lang {
                    aftercare_domain::lang::Lang::ZhHans => &t.body_zh_hans,
                    aftercare_domain::lang::Lang::ZhHant => &t.body_zh_hant,
                    aftercare_domain::lang::Lang::En => &t.body_en,
                };
                let until = match why {
                    Why::WarrantyEnds { until } => until.to_string(),
                    _ => String::new(),
                };
                let text = fill(
                    body,
                    &[
                        ("customer_name", customer.name.as_str()),
                        ("product_name", a.product_name.as_str()),
                        ("warranty_end", until.as_str()),
                        ("agent_name", p.user.name.as_str()),
                    ],
                );
                let last = responses
                    .iter()
                    .find(|r| r.offer_id == o.id && r.asset_id == asset_id.map(|x| x.get()));
                out.push(ApplicableOffer {
                    offer_id: o.id,
                    name: o.name.clone(),
                    kind: o.kind,
                    asset_id,
                    product_name: (!per_customer).then(|| a.product_name.clone()),
                    why,
                    text,
                    last_response: last.map(|r| r.response),
                    last_at: last.map(|r| r.at),
                });
            }
        }
        Ok(out)
    }

    /// Records what the customer said to an offer.
    pub async fn record_offer(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        i: &OfferResponseInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WorkRequests)?;
        self.customer(p, customer_id).await?;
        let mut inv = Invalid::default();
        let response = inv.check("response", OfferResponse::parse(&i.response));
        match self.store.offer(i.offer_id).await? {
            Some(o) if o.active => {}
            _ => inv.push("offer_id", "offer_unknown"),
        }
        if let Some(aid) = i.asset_id
            && !self
                .store
                .assets_of(customer_id)
                .await?
                .iter()
                .any(|a| a.id.get() == aid)
        {
            inv.push("asset_id", "asset_not_customers");
        }
        let mut outlet_id = None;
        if let Some(rid) = i.request_id {
            // The request as the caller may see it: a partner's staff, their outlet's only.
            match self
                .request_detail(p, aftercare_domain::RequestId(rid))
                .await
            {
                Ok(d) if d.request.customer_id == customer_id => {
                    outlet_id = d.request.outlet_id.map(|o| o.get());
                }
                Ok(_) | Err(AppError::NotFound(_)) => {
                    inv.push("request_id", "request_not_customers")
                }
                Err(e) => return Err(e),
            }
        }
        // Said away from a request: the outlet the agent works for, if any.
        if outlet_id.is_none() {
            outlet_id = self.partner_outlet(p).await?.map(|o| o.get());
        }
        inv.into_result()?;
        let Some(response) = response else {
            return Err(AppError::Internal(
                "response checked without a value".into(),
            ));
        };
        let row = OfferResponseRow {
            id: 0,
            offer_id: i.offer_id,
            customer_id,
            asset_id: i.asset_id,
            request_id: i.request_id,
            response,
            user_id: Some(p.user.id.get()),
            user_name: p.user.name.clone(),
            outlet_id,
            at: self.clock.now(),
        };
        Ok(self.store.record_offer_response(&p.actor(), &row).await?)
    }

    /// What the offers sold over the last year: by offer, by agent, by outlet.
    pub async fn offer_report(&self, p: &Principal) -> Result<OfferReport, AppError> {
        p.require(Permission::Campaigns)
            .or_else(|_| p.require(Permission::Analyze))?;
        // Sales by the brand's agents and every outlet are the brand's to read.
        if self.partner_outlet(p).await?.is_some() {
            return Err(AppError::Forbidden);
        }
        let offers = self.store.offers(false).await?;
        let since = self.clock.now() - jiff::SignedDuration::from_hours(24 * REPORT_DAYS);
        let a = self.store.offer_activity(since).await?;
        let names: HashMap<i64, String> = offers.iter().map(|o| (o.id, o.name.clone())).collect();
        let outlets: HashMap<i64, String> = self
            .store
            .outlets()
            .await?
            .into_iter()
            .map(|o| (o.id.get(), o.name))
            .collect();
        Ok(OfferReport {
            by_offer: offer_sales(&offers, &a, |r| names.get(&r.offer_id).cloned()),
            by_agent: offer_sales(&offers, &a, |r| Some(r.user_name.clone())),
            by_outlet: offer_sales(&offers, &a, |r| {
                r.outlet_id.and_then(|o| outlets.get(&o).cloned())
            }),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn day(s: &str) -> jiff::civil::Date {
        s.parse().unwrap()
    }

    fn offer(id: i64, product: Option<i64>) -> Offer {
        Offer {
            id,
            name: format!("offer {id}"),
            kind: OfferKind::WarrantyExtension,
            category_id: None,
            within_days: 60,
            min_repairs: 2,
            months: 12,
            text_id: 1,
            text_name: "t".into(),
            product_id: product,
            product_name: None,
            window_days: 30,
            active: true,
            owner_name: "m".into(),
            created_at: at("2026-01-01T00:00:00Z"),
            version: 1,
        }
    }

    fn response(
        id: i64,
        offer: i64,
        customer: i64,
        r: OfferResponse,
        when: &str,
    ) -> OfferResponseRow {
        OfferResponseRow {
            id,
            offer_id: offer,
            customer_id: CustomerId(customer),
            asset_id: None,
            request_id: None,
            response: r,
            user_id: Some(1),
            user_name: if id % 2 == 0 { "甲" } else { "乙" }.into(),
            outlet_id: None,
            at: at(when),
        }
    }

    #[test]
    fn an_order_is_the_latest_acceptance_s_within_the_window_and_of_its_product() {
        use OfferResponse::*;
        let offers = [offer(1, Some(500)), offer(2, None)];
        let a = OfferActivity {
            responses: vec![
                response(1, 1, 7, Accepted, "2026-12-01T00:00:00Z"),
                response(2, 2, 7, Accepted, "2026-12-03T00:00:00Z"),
                response(3, 1, 8, Declined, "2026-12-01T00:00:00Z"),
                response(4, 1, 9, Offered, "2026-12-01T00:00:00Z"),
            ],
            orders: vec![
                // Holds offer 1's product, but offer 2 was accepted later: offer 2's.
                (
                    CustomerId(7),
                    at("2026-12-04T00:00:00Z"),
                    day("2026-12-04"),
                    80_000,
                    vec![500],
                ),
                // Before any acceptance: nobody's.
                (
                    CustomerId(7),
                    at("2026-11-30T00:00:00Z"),
                    day("2026-11-30"),
                    10_000,
                    vec![500],
                ),
                // Recorded after, placed long before (an import): nobody's.
                (
                    CustomerId(7),
                    at("2026-12-05T00:00:00Z"),
                    day("2025-03-01"),
                    15_000,
                    vec![],
                ),
                // After offer 2's window: nobody's.
                (
                    CustomerId(7),
                    at("2027-01-03T00:00:00Z"),
                    day("2027-01-03"),
                    20_000,
                    vec![],
                ),
                // Declined: nobody's.
                (
                    CustomerId(8),
                    at("2026-12-02T00:00:00Z"),
                    day("2026-12-02"),
                    30_000,
                    vec![500],
                ),
            ],
        };
        let by_offer = offer_sales(&offers, &a, |r| Some(format!("offer {}", r.offer_id)));
        let one = &by_offer[0];
        assert_eq!(
            (
                one.offered,
                one.accepted,
                one.declined,
                one.orders,
                one.revenue
            ),
            (1, 1, 1, 0, 0)
        );
        let two = &by_offer[1];
        assert_eq!((two.accepted, two.orders, two.revenue), (1, 1, 80_000));
        // Offer 1 alone: its product's order within its window is its own.
        let only_one = OfferActivity {
            responses: a.responses[..1].to_vec(),
            orders: a.orders.clone(),
        };
        let s = offer_sales(&offers, &only_one, |r| Some(r.user_name.clone()));
        assert_eq!(
            (s[0].name.as_str(), s[0].orders, s[0].revenue),
            ("乙", 1, 80_000)
        );
    }
}
