//! What the use cases return: plain data, serialisable, documented for the API.

use aftercare_domain::catalog::{AfterSalesStrategy, VoidCondition};
use aftercare_domain::customer::{ConsentChannel, CustomerKind, Touchpoint, ValueTier};
use aftercare_domain::ids::*;
use aftercare_domain::order::{OrderStatus, SalesChannel};
use aftercare_domain::{AssetId, CustomerId, Date, Money, OrderId, OutletId, ProductId, UserId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: aftercare_domain::account::Role,
    /// Preferred interface language (zh-Hans, zh-Hant, en); none means the browser's.
    pub lang: Option<String>,
    pub active: bool,
}

/// A page of a list and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A customer as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub name: String,
    pub company: Option<String>,
    pub primary_phone: Option<String>,
    pub primary_email: Option<String>,
    pub city: Option<String>,
    pub tags: Vec<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhoneView {
    /// E.164, e.g. +8613800138000.
    pub number: String,
    /// As people write it, e.g. 138 0013 8000.
    pub display: String,
    pub label: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmailView {
    pub address: String,
    pub primary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub label: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub street: String,
    pub postcode: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FamilyView {
    pub name: String,
    pub relation: String,
    pub birthday: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DateView {
    pub label: String,
    pub date: String,
}

/// Everything recorded about one customer's profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub birthday: Option<Date>,
    pub account_manager_id: Option<UserId>,
    pub account_manager_name: Option<String>,
    /// Value tier; absent until set or computed.
    pub tier: Option<ValueTier>,
    pub habits: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    /// The touchpoint the customer came from.
    pub source: Option<Touchpoint>,
    /// The customer's number in the system used before Aftercare.
    pub external_ref: Option<String>,
    /// The code the customer gives friends; a customer created with it is credited to
    /// them (`referral_code` on `POST /customers`).
    pub referral_code: Option<String>,
    /// Channels the customer agreed to be contacted on.
    pub consent: Vec<ConsentChannel>,
    pub tags: Vec<String>,
    pub phones: Vec<PhoneView>,
    pub emails: Vec<EmailView>,
    pub addresses: Vec<AddressView>,
    pub family: Vec<FamilyView>,
    pub important_dates: Vec<DateView>,
    /// Set when this record was merged into another.
    pub merged_into: Option<CustomerId>,
    /// Set when the customer's personal information was erased at their request: the
    /// record stays, without identity, and can no longer change.
    pub erased_at: Option<Timestamp>,
    /// The language they get mail in (zh-Hans, zh-Hant, en); none: not known yet.
    pub lang: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Increases with every change; send it back on update to avoid lost updates.
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    pub id: PolicyId,
    pub name: String,
    pub return_days: i64,
    pub exchange_days: i64,
    pub repair_months: i64,
    pub repair_limit: i64,
    pub void_conditions: Vec<VoidCondition>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub policy_id: Option<PolicyId>,
    /// Requests for items in this line (or below it) go only to certified people.
    pub certification_required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub category_id: CategoryId,
    pub category_name: String,
    /// The product's own policy, else its category's.
    pub policy_id: Option<PolicyId>,
    pub price: Money,
    pub currency: String,
    /// Whether each unit carries a serial number and becomes an asset when sold.
    pub serialized: bool,
    pub strategy: AfterSalesStrategy,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outlet {
    pub id: OutletId,
    pub name: String,
    /// own or partner.
    pub kind: String,
    pub city: Option<String>,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    /// Cities it serves: requests there go to it when nobody chose an outlet. None: it
    /// takes only requests given to it.
    pub regions: Vec<String>,
    /// Product categories it serves; none: every product line.
    pub categories: Vec<CategoryId>,
    /// The working calendar its SLA targets are counted in.
    pub calendar_id: Option<i64>,
    /// The most active requests it takes; none: no limit.
    pub capacity: Option<i64>,
    /// Its own first-response target, in working minutes (a partner's SLA).
    pub response_minutes: Option<i64>,
    /// Its own resolution target, in working minutes.
    pub resolution_minutes: Option<i64>,
    /// Retired outlets take no new work and are offered nowhere.
    pub active: bool,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderItem {
    pub id: i64,
    pub product_id: ProductId,
    pub sku: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub amount: Money,
    pub serials: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: OrderId,
    /// As people see it, e.g. SO-2026-000123.
    pub number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub channel: SalesChannel,
    pub outlet_id: Option<OutletId>,
    pub outlet_name: Option<String>,
    pub ordered_on: Date,
    pub status: OrderStatus,
    pub currency: String,
    /// Order-level discount.
    pub discount: Money,
    pub total: Money,
    pub payment_terms: Option<String>,
    pub special_needs: Option<String>,
    pub items: Vec<OrderItem>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderRow {
    pub id: OrderId,
    pub number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub channel: SalesChannel,
    pub ordered_on: Date,
    pub status: OrderStatus,
    pub currency: String,
    pub total: Money,
}

/// An entry of an item's usage archive.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetEvent {
    pub id: i64,
    pub day: jiff::civil::Date,
    /// installed, service, repair, note or void; exchanged_out, replaces or returned when a
    /// 三包 exchange or return moved the item.
    pub kind: String,
    pub void_condition: Option<aftercare_domain::catalog::VoidCondition>,
    pub note: Option<String>,
    pub created_at: jiff::Timestamp,
}

/// A serial-numbered product in a customer's hands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Asset {
    pub id: AssetId,
    pub serial: String,
    pub product_id: ProductId,
    pub product_name: String,
    pub sku: String,
    /// The product's category (what offers and maintenance rules are written for).
    pub category_id: CategoryId,
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    pub order_number: Option<String>,
    pub purchased_on: jiff::civil::Date,
    pub delivered_on: Option<jiff::civil::Date>,
    pub installed_on: Option<jiff::civil::Date>,
    pub installed_by: Option<String>,
    pub location: Option<String>,
    /// The warranty (三包) status today, computed from policy and history.
    #[schema(value_type = Object)]
    pub warranty: Option<aftercare_domain::warranty::WarrantyStatus>,
    pub events: Vec<AssetEvent>,
}

impl Asset {
    /// Whether the item left the customer under 三包 (exchanged for a new one, or
    /// returned): nothing more is offered, scheduled or covered for it.
    pub fn left_customer(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.kind.as_str(), "exchanged_out" | "returned"))
    }

    /// What the 三包 rules read of the item: its days and, from its usage archive read
    /// oldest first, the repairs, the conditions that void guarantees, and the day it left
    /// the customer (the latest departure, when there are several). The store refuses a
    /// void without its condition as a damaged row.
    pub fn warranty_facts(&self) -> aftercare_domain::warranty::AssetFacts {
        use aftercare_domain::warranty::{AssetFacts, Departure};
        let mut f = AssetFacts {
            purchased_on: self.purchased_on,
            delivered_on: self.delivered_on,
            repairs: vec![],
            voids: vec![],
            left: None,
        };
        // Oldest first, as the warranty's own read gives them: of two voids on one day the
        // first recorded names the reason.
        let mut events: Vec<&AssetEvent> = self.events.iter().collect();
        events.sort_by_key(|e| (e.day, e.id));
        for e in events {
            if e.kind == "repair" {
                f.repairs.push(e.day);
            } else if let Some(how) = Departure::from_code(&e.kind) {
                f.left = Some((how, e.day));
            } else if let Some(v) = e.void_condition.filter(|_| e.kind == "void") {
                f.voids.push((v, e.day));
            }
        }
        f
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    pub customer_id: CustomerId,
    pub at: String,
    /// interaction, order, asset, change, merge.
    pub kind: String,
    pub touchpoint: Option<String>,
    pub ref_id: Option<i64>,
    pub summary: String,
    /// The desk's entries' parameters (number, service type, who, SLA outcomes…), from
    /// which pages say them in the reader's language; none for people's own words.
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
    pub actor_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// Who: a person's email, or a system job's name (`sla`, `survey`, `portal:…`).
    pub actor: String,
    /// The person's name, when the actor is a member of staff.
    pub actor_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// One row of the change log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeEvent {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub entity: String,
    pub entity_id: i64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// Two customers that look like the same person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicatePair {
    pub a: CustomerRow,
    pub b: CustomerRow,
    /// phone or email.
    pub reason: String,
    pub value: String,
}

/// The customer 360: profile, products in use, orders and the latest timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer360 {
    pub customer: Customer,
    pub assets: Vec<Asset>,
    pub orders: Vec<OrderRow>,
    pub timeline: Page<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    /// Shown once, at creation.
    pub token: String,
}
