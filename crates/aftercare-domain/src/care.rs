//! Care after the sale that the customer pays for or is given: service contracts sold as
//! products (an extended warranty, a care plan) that make covered requests free until
//! they end; maintenance schedules per product; vouchers that pay part of an order.

use crate::Date;
use crate::customer::code_enum;
use crate::request::ServiceType;
use crate::warranty::{Charge, ChargeDecision};
use jiff::ToSpan;

/// What a care plan sells: which services it covers, for how long, on which items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTerms {
    /// Length of cover in months (1–120).
    pub months: u32,
    /// Cover begins when the item's repair guarantee ends (an extended warranty), rather
    /// than on the day it is sold (a care plan running beside the guarantee).
    pub extends_warranty: bool,
    /// The services it makes free.
    pub covers: Vec<ServiceType>,
}

/// The days a contract covers, both included.
pub fn contract_period(
    terms: &PlanTerms,
    sold_on: Date,
    repair_until: Option<Date>,
) -> (Date, Date) {
    let starts = match repair_until {
        Some(until) if terms.extends_warranty && until >= sold_on => {
            until.checked_add(1.day()).unwrap_or(until)
        }
        _ => sold_on,
    };
    // The day before the same day `months` later; when that day does not exist (31 March
    // plus a month), month arithmetic clamps to the month's last day, which is then the
    // last day covered.
    let ends = match starts.checked_add(i64::from(terms.months).months()) {
        Ok(e) if e.day() < starts.day() => e,
        Ok(e) => e.checked_sub(1.day()).unwrap_or(e),
        Err(_) => starts,
    };
    (starts, ends)
}

/// One contract on an item, as far as who pays is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub starts: Date,
    pub ends: Date,
    pub covers: Vec<ServiceType>,
    /// Cancelled contracts cover nothing.
    pub active: bool,
}

impl Cover {
    pub fn covers(&self, service: ServiceType, on: Date) -> bool {
        self.active && self.starts <= on && on <= self.ends && self.covers.contains(&service)
    }
}

/// Who pays once the item's contracts are taken into account: a service the warranty
/// would charge (in full or in part) is free when a contract covers it on the day the
/// request was opened. A voided warranty voids the contracts on the item too: the
/// conditions that void one (tampering, misuse) void the other.
pub fn charge_with_contracts(
    decision: ChargeDecision,
    service: ServiceType,
    on: Date,
    contracts: &[Cover],
) -> ChargeDecision {
    if decision.charge == Charge::Free || decision.reason == "warranty_void" {
        return decision;
    }
    if contracts.iter().any(|c| c.covers(service, on)) {
        ChargeDecision {
            charge: Charge::Free,
            reason: "service_contract",
        }
    } else {
        decision
    }
}

/// The day maintenance is next due: `every_months` after the item was last serviced,
/// installed or, failing both, received.
pub fn maintenance_due(every_months: u32, received: Date, last_service: Option<Date>) -> Date {
    let from = last_service.map_or(received, |s| s.max(received));
    from.checked_add(i64::from(every_months).months())
        .unwrap_or(from)
}

code_enum!(
    /// How a voucher pays: a sum off the order, or a share of it.
    VoucherKind, "voucher_kind_unknown", {
        Amount => "amount",
        Percent => "percent",
    }
);

code_enum!(
    /// Why a voucher was given: to make up for a service failure, or by a campaign.
    VoucherSource, "voucher_source_unknown", {
        Recovery => "recovery",
        Campaign => "campaign",
    }
);

/// What a voucher takes off an order of `total` fen: its amount, or its share rounded
/// down to the fen (at most `max`, when the share has a ceiling), never more than the
/// order.
pub fn voucher_discount(kind: VoucherKind, value: i64, max: Option<i64>, total: i64) -> i64 {
    let off = match kind {
        VoucherKind::Amount => value,
        VoucherKind::Percent => total.saturating_mul(value.clamp(0, 100)) / 100,
    };
    off.min(max.unwrap_or(i64::MAX)).clamp(0, total.max(0))
}

/// Why a voucher cannot be used on a day, as the code the interface explains.
pub fn voucher_unusable(
    valid_from: Date,
    valid_until: Date,
    redeemed: bool,
    cancelled: bool,
    on: Date,
) -> Option<&'static str> {
    if cancelled {
        Some("voucher_cancelled")
    } else if redeemed {
        Some("voucher_used")
    } else if on < valid_from {
        Some("voucher_not_yet_valid")
    } else if on > valid_until {
        Some("voucher_expired")
    } else {
        None
    }
}

/// A voucher's code: eight characters from an alphabet without look-alikes (no 0/O,
/// 1/I/L), read from 40 random bits, so a customer can say it on the phone.
pub fn voucher_code(bits: u64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut n = bits;
    (0..8)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn terms(extends: bool) -> PlanTerms {
        PlanTerms {
            months: 12,
            extends_warranty: extends,
            covers: vec![ServiceType::Repair, ServiceType::Maintenance],
        }
    }

    #[test]
    fn an_extended_warranty_starts_the_day_after_the_guarantee_ends() {
        let until = Some(d("2027-01-10"));
        assert_eq!(
            contract_period(&terms(true), d("2026-12-01"), until),
            (d("2027-01-11"), d("2028-01-10"))
        );
        // Sold after the guarantee ended: it starts that day.
        assert_eq!(
            contract_period(&terms(true), d("2027-03-01"), until),
            (d("2027-03-01"), d("2028-02-29"))
        );
        // A care plan runs from the sale.
        assert_eq!(
            contract_period(&terms(false), d("2026-12-01"), until),
            (d("2026-12-01"), d("2027-11-30"))
        );
        // Month ends: the last day of the shorter month is covered.
        let month = PlanTerms {
            months: 1,
            ..terms(false)
        };
        assert_eq!(
            contract_period(&month, d("2027-01-31"), None),
            (d("2027-01-31"), d("2027-02-28"))
        );
        assert_eq!(
            contract_period(&terms(false), d("2028-02-29"), None),
            (d("2028-02-29"), d("2029-02-28"))
        );
    }

    #[test]
    fn a_contract_makes_a_charged_service_free_only_inside_its_days() {
        let cover = Cover {
            starts: d("2027-01-11"),
            ends: d("2028-01-10"),
            covers: vec![ServiceType::Repair],
            active: true,
        };
        let charged = ChargeDecision {
            charge: Charge::Chargeable,
            reason: "warranty_expired",
        };
        let on = |day: &str, service| {
            charge_with_contracts(charged, service, d(day), std::slice::from_ref(&cover))
        };
        assert_eq!(on("2027-01-10", ServiceType::Repair), charged);
        assert_eq!(
            on("2027-01-11", ServiceType::Repair),
            ChargeDecision {
                charge: Charge::Free,
                reason: "service_contract"
            }
        );
        assert_eq!(on("2028-01-10", ServiceType::Repair).charge, Charge::Free);
        assert_eq!(on("2028-01-11", ServiceType::Repair), charged);
        assert_eq!(
            on("2027-06-01", ServiceType::Installation),
            charged,
            "not covered"
        );
        let void = ChargeDecision {
            charge: Charge::Chargeable,
            reason: "warranty_void",
        };
        assert_eq!(
            charge_with_contracts(
                void,
                ServiceType::Repair,
                d("2027-06-01"),
                std::slice::from_ref(&cover)
            ),
            void
        );
        let cancelled = Cover {
            active: false,
            ..cover
        };
        assert_eq!(
            charge_with_contracts(charged, ServiceType::Repair, d("2027-06-01"), &[cancelled]),
            charged
        );
    }

    #[test]
    fn maintenance_is_due_months_after_the_last_service() {
        assert_eq!(maintenance_due(6, d("2026-01-31"), None), d("2026-07-31"));
        assert_eq!(
            maintenance_due(6, d("2026-01-31"), Some(d("2026-08-31"))),
            d("2027-02-28")
        );
        // A service recorded before the item arrived (a data slip) does not count.
        assert_eq!(
            maintenance_due(12, d("2026-03-01"), Some(d("2025-01-01"))),
            d("2027-03-01")
        );
    }

    #[test]
    fn a_voucher_takes_off_at_most_the_order() {
        assert_eq!(
            voucher_discount(VoucherKind::Amount, 50_00, None, 300_00),
            50_00
        );
        assert_eq!(
            voucher_discount(VoucherKind::Amount, 500_00, None, 300_00),
            300_00
        );
        assert_eq!(
            voucher_discount(VoucherKind::Percent, 15, None, 199_99),
            29_99
        );
        assert_eq!(
            voucher_discount(VoucherKind::Percent, 100, None, 199_99),
            199_99
        );
        // A share with a ceiling: 20 % of ¥50,000 is ¥200 at most.
        assert_eq!(
            voucher_discount(VoucherKind::Percent, 20, Some(200_00), 50_000_00),
            200_00
        );
        let (from, until) = (d("2026-12-01"), d("2026-12-31"));
        assert_eq!(
            voucher_unusable(from, until, false, false, d("2026-12-31")),
            None
        );
        assert_eq!(
            voucher_unusable(from, until, false, false, d("2027-01-01")),
            Some("voucher_expired")
        );
        assert_eq!(
            voucher_unusable(from, until, true, false, d("2026-12-05")),
            Some("voucher_used")
        );
        assert_eq!(
            voucher_unusable(from, until, false, false, d("2026-11-30")),
            Some("voucher_not_yet_valid")
        );
    }

    #[test]
    fn voucher_codes_are_eight_unambiguous_characters() {
        let a = voucher_code(0x0012_3456_789a);
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| !"01OIL".contains(c)));
        assert_ne!(a, voucher_code(0x0012_3456_789b));
    }
}
