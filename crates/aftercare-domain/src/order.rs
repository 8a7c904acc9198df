//! Orders: what was sold, through which channel, on what terms.

use crate::customer::code_enum;

code_enum!(
    /// The channel an order came through.
    SalesChannel, "channel_unknown", {
        Store => "store",
        Ecommerce => "ecommerce",
        Agent => "agent",
        Direct => "direct",
    }
);

code_enum!(
    /// Where an order stands.
    OrderStatus, "status_unknown", {
        Placed => "placed",
        Paid => "paid",
        Delivered => "delivered",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl SalesChannel {
    /// The touchpoint a sale through this channel counts as on the customer's timeline.
    pub fn touchpoint(self) -> crate::customer::Touchpoint {
        use crate::customer::Touchpoint;
        match self {
            SalesChannel::Store | SalesChannel::Agent => Touchpoint::PointOfSale,
            SalesChannel::Ecommerce => Touchpoint::Web,
            SalesChannel::Direct => Touchpoint::DirectSales,
        }
    }
}

/// One line of an order, as validated.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderLine {
    pub product_id: crate::ProductId,
    pub quantity: u32,
    pub unit_price: i64,
    pub discount: i64,
    /// Serial numbers of the items sold; for serialised products one per unit.
    pub serials: Vec<String>,
}

impl OrderLine {
    /// The line's amount after its discount, never below zero.
    pub fn amount(&self) -> i64 {
        (self.unit_price * self.quantity as i64 - self.discount).max(0)
    }
}

/// The order's total: lines less the order-level discount, never below zero.
pub fn order_total(lines: &[OrderLine], order_discount: i64) -> i64 {
    (lines.iter().map(OrderLine::amount).sum::<i64>() - order_discount).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_subtract_line_and_order_discounts() {
        let lines = vec![
            OrderLine {
                product_id: crate::ProductId(1),
                quantity: 2,
                unit_price: 100_00,
                discount: 10_00,
                serials: vec![],
            },
            OrderLine {
                product_id: crate::ProductId(2),
                quantity: 1,
                unit_price: 50_00,
                discount: 0,
                serials: vec![],
            },
        ];
        assert_eq!(order_total(&lines, 20_00), 220_00);
        assert_eq!(order_total(&lines, 1_000_00), 0);
    }
}
