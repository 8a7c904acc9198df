//! Care plans sold as products, the contracts they make and who pays because of them;
//! maintenance schedules and the due dates they give; vouchers given from a request or a
//! campaign and used once on an order.

use crate::care_model::*;
use crate::error::AppError;
use crate::input::{OrderDraft, OrderInput};
use crate::model::{Asset, Customer360};
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::account::Permission;
use aftercare_domain::care::{
    Cover, PlanTerms, VoucherKind, VoucherSource, charge_with_contracts, contract_period,
    maintenance_due, voucher_code, voucher_discount, voucher_unusable,
};
use aftercare_domain::catalog::parse_money;
use aftercare_domain::error::required_text;
use aftercare_domain::request::ServiceType;
use aftercare_domain::warranty::{ChargeDecision, WarrantyStatus};
use aftercare_domain::{AssetId, CustomerId, Date, Invalid, Money, OrderId, RequestId};
use jiff::ToSpan;
use std::collections::HashMap;

/// No voucher is worth more than this (fen): a slip of the keyboard, not a gift.
pub const MAX_VOUCHER_AMOUNT: i64 = 100_000_00;
/// Staff who do not run the desk may give at most this much (fen) off an order…
pub const RECOVERY_AMOUNT_CAP: i64 = 200_00;
/// …or this share of it.
pub const RECOVERY_PERCENT_CAP: i64 = 20;

/// Whether a voucher is more than staff who do not run the desk may give.
pub fn over_limit(kind: VoucherKind, value: i64) -> bool {
    match kind {
        VoucherKind::Amount => value > RECOVERY_AMOUNT_CAP,
        VoucherKind::Percent => value > RECOVERY_PERCENT_CAP,
    }
}

/// The usage-archive entries that count as a service for maintenance schedules.
fn is_service(kind: &str) -> bool {
    matches!(kind, "service" | "installed")
}

/// When each item of `assets` with a schedule is next due.
pub fn maintenance_of(
    assets: &[Asset],
    schedules: &[MaintenanceSchedule],
    today: Date,
) -> Vec<MaintenanceDue> {
    let every: HashMap<i64, u32> = schedules
        .iter()
        .map(|s| (s.product_id, s.every_months))
        .collect();
    assets
        .iter()
        .filter(|a| !a.left_customer())
        .filter_map(|a| {
            let months = *every.get(&a.product_id.get())?;
            let last = a
                .events
                .iter()
                .filter(|e| is_service(&e.kind))
                .map(|e| e.day)
                .max();
            let due_on = maintenance_due(months, a.delivered_on.unwrap_or(a.purchased_on), last);
            Some(MaintenanceDue {
                asset_id: a.id.get(),
                serial: a.serial.clone(),
                product_name: a.product_name.clone(),
                every_months: months,
                last_service: last,
                due_on,
                overdue: due_on < today,
            })
        })
        .collect()
}

fn cover_of(c: &ServiceContract) -> Cover {
    Cover {
        starts: c.starts_on,
        ends: c.ends_on,
        covers: c.covers.clone(),
        active: c.cancelled_at.is_none(),
    }
}

/// The order's care-plan lines and voucher, checked against the store.
pub(crate) struct OrderCare {
    pub contracts: Vec<ContractDraft>,
    pub voucher: Option<VoucherUse>,
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts,
{
    // ---- care plans -----------------------------------------------------------------

    pub async fn care_plans(&self, p: &Principal) -> Result<Vec<CarePlan>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.care_plans(false).await?)
    }

    /// Creates a plan (`id` none) or changes one (with the version read).
    pub async fn save_care_plan(
        &self,
        p: &Principal,
        id: Option<i64>,
        i: &CarePlanInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WriteCatalog)?;
        let mut inv = Invalid::default();
        let product = self
            .store
            .product(aftercare_domain::ProductId(i.product_id))
            .await?;
        match &product {
            None => inv.push("product_id", "product_unknown"),
            Some(pr) if pr.serialized => inv.push("product_id", "plan_product_serialized"),
            Some(_) => {}
        }
        let others = self.store.care_plans(false).await?;
        if others
            .iter()
            .any(|x| x.product_id == i.product_id && Some(x.id) != id)
        {
            inv.push("product_id", "plan_exists_for_product");
        }
        if !(1..=120).contains(&i.months) {
            inv.push("months", "out_of_range");
        }
        let mut covers = Vec::new();
        for (n, c) in i.covers.iter().enumerate() {
            match ServiceType::parse(c) {
                Ok(t) if !covers.contains(&t) => covers.push(t),
                Ok(_) => {}
                Err(code) => inv.push(format!("covers[{n}]"), code),
            }
        }
        if i.covers.is_empty() {
            inv.push("covers", "required");
        }
        if let Some(c) = i.category_id
            && !self.category_known(c).await?
        {
            inv.push("category_id", "category_unknown");
        }
        if let Some(id) = id {
            if i.version.is_none() {
                inv.push("version", "required");
            }
            if !others.iter().any(|x| x.id == id) {
                return Err(AppError::NotFound("care_plan"));
            }
        }
        inv.into_result()?;
        let Some(product) = product else {
            return Err(AppError::Internal("plan checked without product".into()));
        };
        let plan = CarePlan {
            id: id.unwrap_or(0),
            product_id: i.product_id,
            product_name: product.name,
            category_id: i.category_id,
            months: i.months,
            extends_warranty: i.extends_warranty,
            covers,
            active: i.active.unwrap_or(true),
            owner_name: p.user.name.clone(),
            created_at: self.clock.now(),
            version: i.version.unwrap_or(1),
        };
        self.store
            .save_care_plan(&p.actor(), &plan)
            .await
            .map_err(AppError::from_store("care_plan"))
    }

    /// The latest contracts sold, for the care page.
    pub async fn recent_contracts(&self, p: &Principal) -> Result<Vec<ServiceContract>, AppError> {
        p.require(Permission::Read)?;
        if self.partner_outlet(p).await?.is_some() {
            return Err(AppError::Forbidden);
        }
        Ok(self.store.recent_contracts(100).await?)
    }

    pub async fn cancel_contract(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        self.store
            .cancel_contract(&p.actor(), id, self.clock.now())
            .await
            .map_err(AppError::from_store("contract"))
    }

    // ---- maintenance schedules ------------------------------------------------------

    pub async fn maintenance_schedules(
        &self,
        p: &Principal,
    ) -> Result<Vec<MaintenanceSchedule>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.maintenance_schedules().await?)
    }

    pub async fn set_maintenance(
        &self,
        p: &Principal,
        i: &MaintenanceInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WriteCatalog)?;
        let mut inv = Invalid::default();
        match self
            .store
            .product(aftercare_domain::ProductId(i.product_id))
            .await?
        {
            None => inv.push("product_id", "product_unknown"),
            Some(pr) if !pr.serialized => inv.push("product_id", "product_not_serialized"),
            Some(_) => {}
        }
        if i.every_months.is_some_and(|m| !(1..=120).contains(&m)) {
            inv.push("every_months", "out_of_range");
        }
        inv.into_result()?;
        self.store
            .set_maintenance(&p.actor(), i.product_id, i.every_months, self.clock.now())
            .await
            .map_err(AppError::from_store("product"))
    }

    /// A customer's contracts, vouchers and the maintenance their items are due for.
    pub async fn customer_care(
        &self,
        p: &Principal,
        customer_id: CustomerId,
    ) -> Result<CustomerCare, AppError> {
        // The customer as the caller may see them.
        self.customer(p, customer_id).await?;
        let assets = self.store.assets_of(customer_id).await?;
        self.care_of(p, customer_id, &assets).await
    }

    /// [`App::customer_care`] from a customer 360 the caller has read (which is where the
    /// check that they may see the customer was made), as the customer and request pages
    /// have it: the customer's items are not read again.
    pub async fn care_on(&self, p: &Principal, v: &Customer360) -> Result<CustomerCare, AppError> {
        p.require(Permission::Read)?;
        self.care_of(p, v.customer.id, &v.assets).await
    }

    /// A customer's care, from their items as read, for a caller allowed to see them.
    async fn care_of(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        assets: &[Asset],
    ) -> Result<CustomerCare, AppError> {
        let (schedules, contracts, vouchers) = tokio::try_join!(
            self.store.maintenance_schedules(),
            self.store.contracts(Some(customer_id), None),
            self.store.vouchers_of(customer_id),
        )?;
        self.care_from(p, assets, &schedules, contracts, vouchers)
            .await
    }

    /// A customer's care from what was read of it: what of it the caller may see, and
    /// when their items are due for maintenance.
    pub(crate) async fn care_from(
        &self,
        p: &Principal,
        assets: &[Asset],
        schedules: &[MaintenanceSchedule],
        contracts: Vec<ServiceContract>,
        vouchers: Vec<Voucher>,
    ) -> Result<CustomerCare, AppError> {
        let partner = self.partner_outlet(p).await?.is_some();
        Ok(CustomerCare {
            contracts: visible_contracts(partner, contracts),
            vouchers: self.visible_vouchers(p, partner, vouchers).await?,
            maintenance: maintenance_of(assets, schedules, self.clock.today()),
        })
    }

    /// One item's contracts and when it is due for maintenance.
    pub async fn asset_care(
        &self,
        p: &Principal,
        asset: &Asset,
    ) -> Result<(Vec<ServiceContract>, Option<MaintenanceDue>), AppError> {
        // The item as its owner may be seen by the caller.
        self.customer(p, asset.customer_id).await?;
        let schedules = self.store.maintenance_schedules().await?;
        let due = maintenance_of(std::slice::from_ref(asset), &schedules, self.clock.today());
        let contracts = self.store.contracts(None, Some(asset.id.get())).await?;
        let partner = self.partner_outlet(p).await?.is_some();
        Ok((
            visible_contracts(partner, contracts),
            due.into_iter().next(),
        ))
    }

    /// Who pays for `service` on an item, with its warranty on the day the request was
    /// opened and the contracts on it.
    pub(crate) async fn decide_who_pays(
        &self,
        asset_id: AssetId,
        service: ServiceType,
        w: &WarrantyStatus,
    ) -> Result<ChargeDecision, AppError> {
        let contracts = self.store.contracts(None, Some(asset_id.get())).await?;
        Ok(who_pays(service, w, &contracts))
    }

    // ---- vouchers -------------------------------------------------------------------

    /// Gives the customer of a request a voucher to make up for a service failure. Staff
    /// who do not run the desk may give at most [`RECOVERY_AMOUNT_CAP`] or
    /// [`RECOVERY_PERCENT_CAP`] %.
    pub async fn issue_voucher(
        &self,
        p: &Principal,
        request_id: RequestId,
        i: &VoucherInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WorkRequests)?;
        // The request as the caller may see it.
        let r = self.request_detail(p, request_id).await?.request;
        let mut inv = Invalid::default();
        // Not for a customer erased, or merged into another (whose vouchers they now are).
        let customer = self.customer(p, r.customer_id).await?;
        if customer.erased_at.is_some() {
            inv.push("customer_id", "customer_erased");
        } else if customer.merged_into.is_some() {
            inv.push("customer_id", "customer_merged");
        }
        let kind = inv.check("kind", VoucherKind::parse(&i.kind));
        let value = match kind {
            Some(VoucherKind::Amount) => inv.check("value", parse_money(&i.value)).and_then(|v| {
                if v <= 0 || v > MAX_VOUCHER_AMOUNT {
                    inv.push("value", "out_of_range");
                    None
                } else {
                    Some(v)
                }
            }),
            Some(VoucherKind::Percent) => match i.value.trim().parse::<i64>() {
                Ok(v) if (1..=100).contains(&v) => Some(v),
                _ => {
                    inv.push("value", "percent_out_of_range");
                    None
                }
            },
            None => None,
        };
        let capped = !p.role.allows(Permission::ManageDesk);
        if let (Some(k), Some(v)) = (kind, value)
            && capped
            && over_limit(k, v)
        {
            inv.push("value", "over_your_limit");
        }
        let days = i.valid_days.unwrap_or(90);
        if !(1..=366).contains(&days) {
            inv.push("valid_days", "out_of_range");
        }
        let reason = inv.check("reason", required_text(&i.reason, 200));
        inv.into_result()?;
        let (Some(kind), Some(value), Some(reason)) = (kind, value, reason) else {
            return Err(AppError::Internal("voucher checked without values".into()));
        };
        let today = self.clock.today();
        let until = today
            .checked_add(i64::from(days - 1).days())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let v = Voucher {
            id: 0,
            code: voucher_code(rand::random()),
            customer_id: r.customer_id,
            kind,
            value,
            // A capped share is capped in money too: 20 % of a large order is not ¥200.
            max_discount: (capped && kind == VoucherKind::Percent).then_some(RECOVERY_AMOUNT_CAP),
            valid_from: today,
            valid_until: until,
            source: VoucherSource::Recovery,
            request_id: Some(request_id.get()),
            request_number: Some(r.number.clone()),
            campaign_id: None,
            campaign_name: None,
            reason,
            issued_by: p.user.name.clone(),
            issued_at: self.clock.now(),
            order_id: None,
            order_number: None,
            discount: Money::ZERO,
            redeemed_at: None,
            cancelled_at: None,
            version: 1,
        };
        let ids = self.store.issue_vouchers(&p.actor(), &[v]).await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }

    pub async fn voucher(&self, p: &Principal, id: i64) -> Result<Voucher, AppError> {
        let v = self
            .store
            .voucher(id)
            .await?
            .ok_or(AppError::NotFound("voucher"))?;
        // The voucher as its customer may be seen by the caller; a partner outlet's staff,
        // only those given from their outlet's requests.
        self.customer(p, v.customer_id).await?;
        let partner = self.partner_outlet(p).await?.is_some();
        let mut shown = self.visible_vouchers(p, partner, vec![v]).await?;
        shown.pop().ok_or(AppError::NotFound("voucher"))
    }

    /// Vouchers as the caller may see them: all, for the brand's staff; for a partner
    /// outlet's staff, those given from requests they may see, without the orders that
    /// used them (what a customer buys is the brand's). `partner`: the caller is a partner
    /// outlet's staff.
    async fn visible_vouchers(
        &self,
        p: &Principal,
        partner: bool,
        vs: Vec<Voucher>,
    ) -> Result<Vec<Voucher>, AppError> {
        if !partner {
            return Ok(vs);
        }
        let mut out = Vec::new();
        for v in vs {
            let Some(rid) = v.request_id else { continue };
            match self.request_detail(p, RequestId(rid)).await {
                Ok(_) => out.push(Voucher {
                    order_id: None,
                    order_number: None,
                    ..v
                }),
                Err(AppError::NotFound(_) | AppError::Forbidden) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Cancels an unused voucher (a mistake, a voucher given twice): those who run the
    /// desk only.
    pub async fn cancel_voucher(
        &self,
        p: &Principal,
        id: i64,
        version: i64,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let v = self.voucher(p, id).await?;
        if v.order_id.is_some() {
            return Err(AppError::Conflict {
                code: "voucher_used",
                field: Some("voucher".into()),
            });
        }
        self.store
            .cancel_voucher(&p.actor(), id, version, self.clock.now())
            .await
            .map_err(AppError::from_store("voucher"))
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + CareStore + CatalogueStore + CustomerStore + OrderStore,
{
    /// Records an order: its care-plan lines make contracts, its voucher is used.
    pub async fn create_order(
        &self,
        p: &Principal,
        input: &OrderInput,
    ) -> Result<OrderId, AppError> {
        p.require(Permission::WriteCustomers)?;
        let mut d = self.prepare_order(input).await?;
        let covered: Vec<Option<i64>> = input.items.iter().map(|i| i.asset_id).collect();
        let care = self
            .order_care(&mut d, &covered, input.voucher_code.as_deref())
            .await?;
        d.contracts = care.contracts;
        d.voucher = care.voucher;
        let ids = self
            .store
            .create_orders(&p.actor(), &[d], self.now())
            .await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }

    // ---- orders: plans sold, vouchers used --------------------------------------------

    /// The contracts an order's care-plan lines make and the voucher it uses, checked:
    /// each plan line covers one item of the customer that the plan may cover (the one
    /// given, or their only such item), and the voucher is the customer's, unused and
    /// valid on the day the order is placed. The voucher's discount is added to the
    /// order's.
    pub(crate) async fn order_care(
        &self,
        d: &mut OrderDraft,
        covered: &[Option<i64>],
        voucher_code: Option<&str>,
    ) -> Result<OrderCare, AppError> {
        let mut inv = Invalid::default();
        // Every plan, withdrawn ones too: a withdrawn plan's product is not sold as if it
        // were an ordinary product, without the contract it promises.
        let plans: HashMap<i64, CarePlan> = self
            .store
            .care_plans(false)
            .await?
            .into_iter()
            .map(|pl| (pl.product_id, pl))
            .collect();
        let mut contracts = Vec::new();
        let needs_items = d
            .lines
            .iter()
            .any(|l| plans.contains_key(&l.product_id.get()));
        let mut owned = if needs_items {
            self.store.assets_of(d.customer_id).await?
        } else {
            vec![]
        };
        if needs_items {
            self.fill_warranties(&mut owned).await?;
        }
        let mut category_of: HashMap<i64, i64> = HashMap::new();
        for a in &owned {
            if let std::collections::hash_map::Entry::Vacant(e) =
                category_of.entry(a.product_id.get())
                && let Some(pr) = self.store.product(a.product_id).await?
            {
                e.insert(pr.category_id.get());
            }
        }
        for (n, line) in d.lines.iter().enumerate() {
            let given = covered.get(n).copied().flatten();
            let Some(plan) = plans.get(&line.product_id.get()) else {
                if given.is_some() {
                    inv.push(format!("items[{n}].asset_id"), "not_a_care_plan");
                }
                continue;
            };
            if !plan.active {
                inv.push(format!("items[{n}].product_id"), "plan_retired");
                continue;
            }
            if line.quantity != 1 {
                inv.push(format!("items[{n}].quantity"), "care_plan_one_item");
                continue;
            }
            // Still with the customer, and with a warranty that is not void (what voids
            // the warranty voids the contract).
            let eligible: Vec<&Asset> = owned
                .iter()
                .filter(|a| !a.left_customer())
                .filter(|a| {
                    a.warranty
                        .as_ref()
                        .is_none_or(|w| w.coverage != aftercare_domain::warranty::Coverage::Void)
                })
                .filter(|a| {
                    plan.category_id
                        .is_none_or(|c| category_of.get(&a.product_id.get()) == Some(&c))
                })
                .collect();
            let item = match given {
                Some(id) => match eligible.iter().find(|a| a.id.get() == id) {
                    Some(a) => *a,
                    None => {
                        let code = if owned.iter().any(|a| a.id.get() == id) {
                            "item_not_coverable"
                        } else {
                            "asset_not_customers"
                        };
                        inv.push(format!("items[{n}].asset_id"), code);
                        continue;
                    }
                },
                None => match eligible.as_slice() {
                    [one] => *one,
                    [] => {
                        inv.push(format!("items[{n}].asset_id"), "no_item_to_cover");
                        continue;
                    }
                    _ => {
                        inv.push(format!("items[{n}].asset_id"), "which_item");
                        continue;
                    }
                },
            };
            let repair_until = item
                .warranty
                .as_ref()
                .filter(|w| w.repair.applies)
                .and_then(|w| w.repair.until);
            let terms = PlanTerms {
                months: plan.months,
                extends_warranty: plan.extends_warranty,
                covers: plan.covers.clone(),
            };
            let (starts_on, ends_on) = contract_period(&terms, d.ordered_on, repair_until);
            // One contract at a time on an item: not twice in one order, nor over one in
            // force for any of the same days.
            let field = format!("items[{n}].asset_id");
            if contracts
                .iter()
                .any(|c: &ContractDraft| c.asset_id == item.id.get())
            {
                inv.push(field, "duplicate");
                continue;
            }
            let overlaps = self
                .store
                .contracts(None, Some(item.id.get()))
                .await?
                .iter()
                .any(|k| {
                    k.cancelled_at.is_none() && k.starts_on <= ends_on && starts_on <= k.ends_on
                });
            if overlaps {
                inv.push(field, "item_already_covered");
                continue;
            }
            contracts.push(ContractDraft {
                plan_id: plan.id,
                asset_id: item.id.get(),
                starts_on,
                ends_on,
                covers: plan.covers.clone(),
            });
        }
        let mut voucher = None;
        if let Some(code) = voucher_code.map(str::trim).filter(|c| !c.is_empty()) {
            let code = code.to_uppercase();
            match self.store.voucher_by_code(d.customer_id, &code).await? {
                None => inv.push("voucher_code", "voucher_unknown"),
                Some(v) => {
                    let today = self.clock.today();
                    match voucher_unusable(
                        v.valid_from,
                        v.valid_until,
                        v.order_id.is_some(),
                        v.cancelled_at.is_some(),
                        today,
                    ) {
                        Some(why) => inv.push("voucher_code", why),
                        None => {
                            let off = voucher_discount(v.kind, v.value, v.max_discount, d.total());
                            if off == 0 {
                                inv.push("voucher_code", "voucher_nothing_to_take_off");
                            }
                            d.discount += off;
                            voucher = Some(VoucherUse {
                                voucher_id: v.id,
                                discount: off,
                            });
                        }
                    }
                }
            }
        }
        inv.into_result()?;
        Ok(OrderCare { contracts, voucher })
    }
}

/// Contracts as the caller may see them: a partner outlet's staff (`partner`) see what is
/// covered, not the orders that sold it.
fn visible_contracts(partner: bool, ks: Vec<ServiceContract>) -> Vec<ServiceContract> {
    if !partner {
        return ks;
    }
    ks.into_iter()
        .map(|k| ServiceContract {
            order_id: None,
            order_number: None,
            ..k
        })
        .collect()
}

/// Who pays for `service` on an item with warranty `w` and these contracts on it.
pub(crate) fn who_pays(
    service: ServiceType,
    w: &WarrantyStatus,
    contracts: &[ServiceContract],
) -> ChargeDecision {
    let d = aftercare_domain::warranty::decide_charge(service, w);
    let covers: Vec<Cover> = contracts.iter().map(cover_of).collect();
    charge_with_contracts(d, service, w.on, &covers)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::AssetEvent;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn asset(id: i64, product: i64, events: &[(&str, &str)]) -> Asset {
        Asset {
            id: AssetId(id),
            serial: format!("SN{id}"),
            product_id: aftercare_domain::ProductId(product),
            product_name: "净水器".into(),
            sku: "W1".into(),
            category_id: aftercare_domain::ids::CategoryId(1),
            customer_id: CustomerId(1),
            order_id: None,
            order_number: None,
            purchased_on: d("2026-01-05"),
            delivered_on: Some(d("2026-01-10")),
            installed_on: None,
            installed_by: None,
            location: None,
            warranty: None,
            events: events
                .iter()
                .enumerate()
                .map(|(n, (kind, day))| AssetEvent {
                    id: n as i64,
                    day: d(day),
                    kind: (*kind).into(),
                    void_condition: None,
                    note: None,
                    created_at: jiff::Timestamp::UNIX_EPOCH,
                })
                .collect(),
        }
    }

    #[test]
    fn due_dates_follow_the_last_service_and_skip_unscheduled_or_returned_items() {
        let schedules = [MaintenanceSchedule {
            product_id: 5,
            product_name: "净水器".into(),
            every_months: 6,
        }];
        let assets = [
            asset(1, 5, &[]),
            asset(
                2,
                5,
                &[("installed", "2026-01-12"), ("service", "2026-08-01")],
            ),
            asset(3, 6, &[]),
            asset(4, 5, &[("returned", "2026-02-01")]),
        ];
        let due = maintenance_of(&assets, &schedules, d("2026-08-01"));
        let got: Vec<(i64, Date, bool)> = due
            .iter()
            .map(|m| (m.asset_id, m.due_on, m.overdue))
            .collect();
        assert_eq!(
            got,
            vec![(1, d("2026-07-10"), true), (2, d("2027-02-01"), false)]
        );
    }
}
