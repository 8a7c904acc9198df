//! Order and asset rows.

use crate::db::Cells;
use aftercare_app::StoreError;
use aftercare_app::model::*;
use aftercare_domain::ids::*;
use aftercare_domain::{CustomerId, Money, OrderId, ProductId};

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRec {
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub channel: String,
    pub outlet_id: Option<i64>,
    pub outlet_name: Option<String>,
    pub ordered_on: String,
    pub status: String,
    pub currency: String,
    pub discount: i64,
    pub total: i64,
    pub payment_terms: Option<String>,
    pub special_needs: Option<String>,
    pub created_at: String,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct OrderRowRec {
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub channel: String,
    pub ordered_on: String,
    pub status: String,
    pub currency: String,
    pub total: i64,
}

impl TryFrom<OrderRowRec> for OrderRow {
    type Error = StoreError;

    fn try_from(r: OrderRowRec) -> Result<Self, StoreError> {
        let c = Cells::of("orders", r.id);
        Ok(OrderRow {
            id: OrderId(r.id),
            number: r.number,
            customer_id: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            channel: c.code("channel", &r.channel)?,
            ordered_on: c.date("ordered_on", &r.ordered_on)?,
            status: c.code("status", &r.status)?,
            currency: r.currency,
            total: Money(r.total),
        })
    }
}

impl OrderRec {
    /// The order with its items, read separately.
    pub(crate) fn with_items(self, items: Vec<OrderItem>) -> Result<Order, StoreError> {
        let c = Cells::of("orders", self.id);
        Ok(Order {
            id: OrderId(self.id),
            number: self.number,
            customer_id: CustomerId(self.customer_id),
            customer_name: self.customer_name,
            channel: c.code("channel", &self.channel)?,
            outlet_id: self.outlet_id.map(OutletId),
            outlet_name: self.outlet_name,
            ordered_on: c.date("ordered_on", &self.ordered_on)?,
            status: c.code("status", &self.status)?,
            currency: self.currency,
            discount: Money(self.discount),
            total: Money(self.total),
            payment_terms: self.payment_terms,
            special_needs: self.special_needs,
            items,
            created_at: c.at("created_at", &self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ItemRec {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub amount: i64,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct AssetRec {
    pub id: i64,
    pub serial: String,
    pub product_id: i64,
    pub product_name: String,
    pub sku: String,
    pub category_id: i64,
    pub customer_id: i64,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
    pub purchased_on: String,
    pub delivered_on: Option<String>,
    pub installed_on: Option<String>,
    pub installed_by: Option<String>,
    pub location: Option<String>,
}

pub(crate) const ASSET_COLS: &str = "a.id, a.serial, a.product_id, p.name AS product_name, p.sku, p.category_id, a.customer_id, \
     a.order_id, o.number AS order_number, a.purchased_on, a.delivered_on, a.installed_on, a.installed_by, a.location";
pub(crate) const ASSET_FROM: &str =
    "FROM assets a JOIN products p ON p.id = a.product_id LEFT JOIN orders o ON o.id = a.order_id";

impl TryFrom<AssetRec> for Asset {
    type Error = StoreError;

    fn try_from(r: AssetRec) -> Result<Self, StoreError> {
        let c = Cells::of("assets", r.id);
        Ok(Asset {
            id: AssetId(r.id),
            serial: r.serial,
            product_id: ProductId(r.product_id),
            product_name: r.product_name,
            sku: r.sku,
            category_id: CategoryId(r.category_id),
            customer_id: CustomerId(r.customer_id),
            order_id: r.order_id.map(OrderId),
            order_number: r.order_number,
            purchased_on: c.date("purchased_on", &r.purchased_on)?,
            delivered_on: c.opt_date("delivered_on", r.delivered_on.as_deref())?,
            installed_on: c.opt_date("installed_on", r.installed_on.as_deref())?,
            installed_by: r.installed_by,
            location: r.location,
            warranty: None,
            events: vec![],
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct AssetEventRec {
    pub id: i64,
    pub day: String,
    pub kind: String,
    pub void_condition: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

impl TryFrom<AssetEventRec> for AssetEvent {
    type Error = StoreError;

    fn try_from(r: AssetEventRec) -> Result<Self, StoreError> {
        let c = Cells::of("asset_events", r.id);
        // A void without its condition is a damaged row (the 三包 rules rest on it), never
        // a void silently left out of the warranty.
        let void_condition = if r.kind == "void" {
            Some(c.code(
                "void_condition",
                r.void_condition.as_deref().unwrap_or_default(),
            )?)
        } else {
            c.opt_code("void_condition", r.void_condition.as_deref())?
        };
        Ok(AssetEvent {
            id: r.id,
            day: c.date("day", &r.day)?,
            kind: r.kind,
            void_condition,
            note: r.note,
            created_at: c.at("created_at", &r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ProductRec {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub category_id: i64,
    pub category_name: String,
    pub policy_id: Option<i64>,
    pub price: i64,
    pub currency: String,
    pub serialized: i64,
    pub strategy: String,
    pub active: i64,
    pub created_at: String,
    pub name_sort: String,
}

pub(crate) const PRODUCT_COLS: &str = "p.id, p.sku, p.name, p.category_id, c.name AS category_name, \
     COALESCE(p.policy_id, c.policy_id) AS policy_id, p.price, p.currency, p.serialized, p.strategy, p.active, \
     p.created_at, p.name_sort";

impl TryFrom<ProductRec> for Product {
    type Error = StoreError;

    fn try_from(r: ProductRec) -> Result<Self, StoreError> {
        let c = Cells::of("products", r.id);
        Ok(Product {
            id: ProductId(r.id),
            sku: r.sku,
            name: r.name,
            category_id: CategoryId(r.category_id),
            category_name: r.category_name,
            policy_id: r.policy_id.map(PolicyId),
            price: Money(r.price),
            currency: r.currency,
            serialized: r.serialized != 0,
            strategy: c.code("strategy", &r.strategy)?,
            active: r.active != 0,
            created_at: c.at("created_at", &r.created_at)?,
        })
    }
}
