//! Returns, exchanges and refunds (RMA): what the customer is entitled to under 三包 on
//! the day they asked, and the steps an authorisation goes through.

use crate::customer::code_enum;
use crate::warranty::{Coverage, Departure, Reason, WarrantyStatus};

code_enum!(
    /// What is authorised: the item back for the price (return), the item back for a new
    /// one (exchange), or money back without the item (a goodwill refund).
    RmaKind, "rma_kind_unknown", {
        Return => "return",
        Exchange => "exchange",
        Refund => "refund",
    }
);

code_enum!(
    /// Where an authorisation stands.
    RmaStatus, "rma_status_unknown", {
        Requested => "requested",
        Approved => "approved",
        Rejected => "rejected",
        Received => "received",
        Completed => "completed",
    }
);

impl RmaStatus {
    /// The statuses it may move to.
    pub fn next(self, kind: RmaKind) -> &'static [RmaStatus] {
        use RmaStatus::*;
        match (self, kind) {
            (Requested, _) => &[Approved, Rejected],
            // A refund without the item needs nothing back.
            (Approved, RmaKind::Refund) => &[Completed],
            (Approved, _) => &[Received],
            (Received, _) => &[Completed],
            (Rejected | Completed, _) => &[],
        }
    }
}

/// Whether the customer is entitled to this under 三包 on the day they asked; the error
/// says why not. A goodwill refund is never an entitlement: it is the company's choice,
/// so it is always open to a manager's decision.
pub fn entitled(kind: RmaKind, w: &WarrantyStatus) -> Result<(), &'static str> {
    // An item already exchanged or returned is not the customer's to give back again.
    if let Reason::LeftService { how, .. } = w.return_.reason {
        return Err(match how {
            Departure::ExchangedOut => "item_exchanged",
            Departure::Returned => "item_returned",
        });
    }
    if w.coverage == Coverage::Void && kind != RmaKind::Refund {
        return Err("warranty_void");
    }
    match kind {
        RmaKind::Return if w.return_.applies => Ok(()),
        RmaKind::Return => Err("return_window_closed"),
        RmaKind::Exchange if w.exchange.applies => Ok(()),
        RmaKind::Exchange => Err("exchange_not_due"),
        RmaKind::Refund => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::WarrantyPolicy;
    use crate::warranty::{AssetFacts, status};
    use jiff::civil::date;

    fn on(d: jiff::civil::Date, repairs: Vec<jiff::civil::Date>) -> WarrantyStatus {
        let facts = AssetFacts {
            purchased_on: date(2026, 1, 10),
            delivered_on: None,
            repairs,
            voids: vec![],
            left: None,
        };
        status(&WarrantyPolicy::statutory(), &facts, d)
    }

    #[test]
    fn an_item_exchanged_once_is_not_exchanged_returned_or_refunded_again() {
        let facts = AssetFacts {
            purchased_on: date(2026, 1, 10),
            delivered_on: None,
            repairs: vec![],
            voids: vec![],
            left: Some((Departure::ExchangedOut, date(2026, 1, 12))),
        };
        let w = status(&WarrantyPolicy::statutory(), &facts, date(2026, 1, 13));
        for kind in [RmaKind::Exchange, RmaKind::Return, RmaKind::Refund] {
            assert_eq!(entitled(kind, &w), Err("item_exchanged"));
        }
    }

    #[test]
    fn the_windows_decide_returns_and_exchanges() {
        assert_eq!(
            entitled(RmaKind::Return, &on(date(2026, 1, 17), vec![])),
            Ok(())
        );
        assert_eq!(
            entitled(RmaKind::Return, &on(date(2026, 1, 18), vec![])),
            Err("return_window_closed")
        );
        assert_eq!(
            entitled(RmaKind::Exchange, &on(date(2026, 1, 25), vec![])),
            Ok(())
        );
        assert_eq!(
            entitled(RmaKind::Exchange, &on(date(2026, 3, 1), vec![])),
            Err("exchange_not_due")
        );
        // After two repairs in the repair period, an exchange is due again.
        let repaired = vec![date(2026, 2, 1), date(2026, 4, 1)];
        assert_eq!(
            entitled(RmaKind::Exchange, &on(date(2026, 5, 1), repaired)),
            Ok(())
        );
        assert_eq!(
            entitled(RmaKind::Refund, &on(date(2030, 1, 1), vec![])),
            Ok(())
        );
    }

    #[test]
    fn steps_follow_the_kind() {
        use RmaStatus::*;
        assert_eq!(Approved.next(RmaKind::Refund), &[Completed]);
        assert_eq!(Approved.next(RmaKind::Exchange), &[Received]);
        assert!(Completed.next(RmaKind::Return).is_empty());
        assert_eq!(Requested.next(RmaKind::Return), &[Approved, Rejected]);
    }
}
