//! What the care-plan and voucher use cases and their port exchange.

use aftercare_domain::care::{VoucherKind, VoucherSource};
use aftercare_domain::request::ServiceType;
use aftercare_domain::{CustomerId, Money};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A product sold as a service contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CarePlan {
    pub id: i64,
    /// The product sold: an order line of it makes a contract.
    pub product_id: i64,
    pub product_name: String,
    /// Only items of this category may be covered (any item when none).
    pub category_id: Option<i64>,
    /// Length of cover, in months.
    pub months: u32,
    /// Cover begins when the item's repair guarantee ends (an extended warranty).
    pub extends_warranty: bool,
    /// The services a contract makes free.
    pub covers: Vec<ServiceType>,
    pub active: bool,
    pub owner_name: String,
    pub created_at: Timestamp,
    pub version: i64,
}

/// A care plan to create or change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarePlanInput {
    /// The product sold as the plan (one plan per product).
    pub product_id: i64,
    /// Items of this category only (default: any item).
    #[serde(default)]
    pub category_id: Option<i64>,
    /// 1–120.
    pub months: u32,
    #[serde(default)]
    pub extends_warranty: bool,
    /// Service type codes, at least one: repair, maintenance, installation…
    pub covers: Vec<String>,
    #[serde(default)]
    pub active: Option<bool>,
    /// Required when changing a plan: the version read.
    #[serde(default)]
    pub version: Option<i64>,
}

/// One item covered by a care plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceContract {
    pub id: i64,
    pub plan_id: i64,
    /// The plan's product.
    pub plan_name: String,
    pub customer_id: CustomerId,
    pub asset_id: i64,
    pub serial: String,
    pub product_name: String,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
    pub starts_on: Date,
    pub ends_on: Date,
    pub covers: Vec<ServiceType>,
    pub cancelled_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A contract an order makes, decided before the order is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractDraft {
    pub plan_id: i64,
    pub asset_id: i64,
    pub starts_on: Date,
    pub ends_on: Date,
    /// What the plan covered when it was sold.
    pub covers: Vec<ServiceType>,
}

/// How often a product is due for maintenance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaintenanceSchedule {
    pub product_id: i64,
    pub product_name: String,
    pub every_months: u32,
}

/// A schedule to set: none removes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceInput {
    pub product_id: i64,
    /// 1–120, or none to remove the schedule.
    #[serde(default)]
    pub every_months: Option<u32>,
}

/// When an item is next due for maintenance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaintenanceDue {
    pub asset_id: i64,
    pub serial: String,
    pub product_name: String,
    pub every_months: u32,
    pub last_service: Option<Date>,
    pub due_on: Date,
    pub overdue: bool,
}

/// An item with a maintenance schedule, and its owner, for the maintenance-due trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledItem {
    pub asset_id: i64,
    pub every_months: u32,
    /// Delivery, else purchase.
    pub received: Date,
    /// The last service or installation.
    pub last_service: Option<Date>,
    pub recipient: crate::campaign_model::Recipient,
}

/// A voucher.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Voucher {
    pub id: i64,
    /// What the customer quotes at the till.
    pub code: String,
    pub customer_id: CustomerId,
    pub kind: VoucherKind,
    /// Fen for an amount, a percentage for a share.
    pub value: i64,
    /// A share's ceiling, in fen (given by staff with a limit).
    pub max_discount: Option<i64>,
    pub valid_from: Date,
    pub valid_until: Date,
    pub source: VoucherSource,
    pub request_id: Option<i64>,
    pub request_number: Option<String>,
    pub campaign_id: Option<i64>,
    pub campaign_name: Option<String>,
    pub reason: String,
    pub issued_by: String,
    pub issued_at: Timestamp,
    /// The order that used it.
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
    /// What it took off that order.
    pub discount: Money,
    pub redeemed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub version: i64,
}

/// A voucher to give from a request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherInput {
    /// amount or percent.
    pub kind: String,
    /// Yuan for an amount (up to 2 decimals), a whole percentage (1–100) for a share.
    pub value: String,
    /// Days it stays valid from today, 1–366 (default 90).
    #[serde(default)]
    pub valid_days: Option<u32>,
    /// Why it was given, at most 200 characters.
    pub reason: String,
}

/// A voucher cancelled, with the version read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionInput {
    pub version: i64,
}

/// A voucher an order uses, checked before the order is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherUse {
    pub voucher_id: i64,
    /// Fen taken off the order.
    pub discount: i64,
}

/// What a customer holds: contracts, vouchers, maintenance due.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CustomerCare {
    pub contracts: Vec<ServiceContract>,
    pub vouchers: Vec<Voucher>,
    pub maintenance: Vec<MaintenanceDue>,
}
