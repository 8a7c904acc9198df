//! The warranty status of one item on one day, computed from its policy and its history.
//! Never stored: a stored status goes stale the day after it is written.

use crate::Date;
use crate::catalog::{VoidCondition, WarrantyPolicy};
use jiff::ToSpan;
use serde::Serialize;

/// What is known about one item that matters to its warranty.
#[derive(Debug, Clone)]
pub struct AssetFacts {
    pub purchased_on: Date,
    /// The day the customer received it; windows run from here when known.
    pub delivered_on: Option<Date>,
    /// Days on which repairs under warranty were done.
    pub repairs: Vec<Date>,
    /// Conditions recorded against the item, with the day each was found.
    pub voids: Vec<(VoidCondition, Date)>,
    /// The day the item left the customer under 三包: exchanged for a new one, or
    /// returned. From then on it has no guarantees left (the new item has its own).
    pub left: Option<(Departure, Date)>,
}

/// How an item left the customer's hands under 三包.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Departure {
    /// Exchanged for a new item.
    ExchangedOut,
    /// Returned for its price.
    Returned,
}

impl Departure {
    /// The usage-archive entry that records it.
    pub fn code(self) -> &'static str {
        match self {
            Departure::ExchangedOut => "exchanged_out",
            Departure::Returned => "returned",
        }
    }

    pub fn from_code(code: &str) -> Option<Departure> {
        match code {
            "exchanged_out" => Some(Departure::ExchangedOut),
            "returned" => Some(Departure::Returned),
            _ => None,
        }
    }
}

/// One of the three guarantees on the day asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remedy {
    pub applies: bool,
    /// The last day it applies (or applied); `None` when the policy never offers it.
    pub until: Option<Date>,
    pub reason: Reason,
}

/// Why a guarantee applies or not, in terms the interface can explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// Inside its window.
    WithinWindow,
    /// Repairs in the repair period reached the policy's limit: exchange instead of repair.
    RepairLimitReached { repairs: u32, limit: u32 },
    /// The window ended on `ended_on`.
    WindowEnded { ended_on: Date },
    /// The policy does not offer this guarantee.
    NotOffered,
    /// A voiding condition was recorded.
    Voided {
        condition: VoidCondition,
        since: Date,
    },
    /// The day asked about is before the item was received.
    NotYetReceived,
    /// The item was exchanged or returned: its guarantees ended that day.
    LeftService { how: Departure, on: Date },
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::WithinWindow => "within_window",
            Reason::RepairLimitReached { .. } => "repair_limit_reached",
            Reason::WindowEnded { .. } => "window_ended",
            Reason::NotOffered => "not_offered",
            Reason::Voided { .. } => "voided",
            Reason::NotYetReceived => "not_yet_received",
            Reason::LeftService { how, .. } => how.code(),
        }
    }
}

/// The overall state, for badges and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    InWarranty,
    Expired,
    Void,
}

impl Coverage {
    pub fn code(self) -> &'static str {
        match self {
            Coverage::InWarranty => "in_warranty",
            Coverage::Expired => "expired",
            Coverage::Void => "void",
        }
    }
}

/// Which guarantees apply on `on`, until when, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarrantyStatus {
    pub on: Date,
    /// The day windows are counted from: delivery if known, else purchase.
    pub starts: Date,
    pub coverage: Coverage,
    #[serde(rename = "return")]
    pub return_: Remedy,
    pub exchange: Remedy,
    pub repair: Remedy,
    /// Repairs done in the repair period up to `on`.
    pub repairs_used: u32,
}

/// Computes the status of an item on day `on`. Only history up to and including `on` counts,
/// so the same facts answer "what applied then?" for any past day.
pub fn status(policy: &WarrantyPolicy, facts: &AssetFacts, on: Date) -> WarrantyStatus {
    let starts = facts.delivered_on.unwrap_or(facts.purchased_on);
    let last_day = |days: u32| starts.checked_add((days as i64).days()).ok();
    let return_until = (policy.return_days > 0)
        .then(|| last_day(policy.return_days))
        .flatten();
    let exchange_until = (policy.exchange_days > 0)
        .then(|| last_day(policy.exchange_days))
        .flatten();
    let repair_until = (policy.repair_months > 0)
        .then(|| {
            starts
                .checked_add((policy.repair_months as i64).months())
                .ok()
        })
        .flatten();
    let repairs_used = facts
        .repairs
        .iter()
        .filter(|d| **d <= on && **d >= starts && repair_until.is_none_or(|u| **d <= u))
        .count() as u32;
    let void = facts
        .voids
        .iter()
        .filter(|(c, d)| *d <= on && policy.void_conditions.contains(c))
        .min_by_key(|(_, d)| *d)
        .copied();

    let window = |until: Option<Date>| -> Remedy {
        match until {
            None => Remedy {
                applies: false,
                until: None,
                reason: Reason::NotOffered,
            },
            Some(_) if on < starts => Remedy {
                applies: false,
                until,
                reason: Reason::NotYetReceived,
            },
            Some(u) if on <= u => Remedy {
                applies: true,
                until,
                reason: Reason::WithinWindow,
            },
            Some(u) => Remedy {
                applies: false,
                until,
                reason: Reason::WindowEnded { ended_on: u },
            },
        }
    };

    let return_ = window(return_until);
    let mut exchange = window(exchange_until);
    let mut repair = window(repair_until);
    let limit_reached = policy.repair_limit > 0 && repairs_used >= policy.repair_limit;
    if limit_reached && repair.applies {
        // 三包: after the limit of repairs, a further fault in the repair period earns an
        // exchange for the same model, for the rest of the repair period.
        let reason = Reason::RepairLimitReached {
            repairs: repairs_used,
            limit: policy.repair_limit,
        };
        exchange = Remedy {
            applies: true,
            until: repair_until,
            reason: reason.clone(),
        };
        repair = Remedy {
            applies: false,
            until: repair_until,
            reason,
        };
    }

    let mut return_ = return_;
    if let Some((condition, since)) = void {
        let voided = |r: Remedy| Remedy {
            applies: false,
            until: r.until,
            reason: if r.applies || matches!(r.reason, Reason::RepairLimitReached { .. }) {
                Reason::Voided { condition, since }
            } else {
                r.reason
            },
        };
        return_ = voided(return_);
        exchange = voided(exchange);
        repair = voided(repair);
    }
    let left = facts.left.filter(|(_, d)| *d <= on);
    if let Some((how, on)) = left {
        let gone = |r: Remedy| Remedy {
            applies: false,
            until: r.until,
            reason: Reason::LeftService { how, on },
        };
        return_ = gone(return_);
        exchange = gone(exchange);
        repair = gone(repair);
    }
    let coverage = if void.is_some() && left.is_none() {
        Coverage::Void
    } else if return_.applies || exchange.applies || repair.applies {
        Coverage::InWarranty
    } else {
        Coverage::Expired
    };
    WarrantyStatus {
        on,
        starts,
        coverage,
        return_,
        exchange,
        repair,
        repairs_used,
    }
}

crate::customer::code_enum!(
    /// Who pays for an after-sale request. Free: covered, parts and labour. Partial: a
    /// lesser remedy is free (a repair instead of the exchange asked for), or parts are
    /// covered and labour is charged.
    Charge, "charge_unknown", {
        Free => "free",
        Partial => "partial",
        Chargeable => "chargeable",
    }
);

/// The decision on a request and the reason, as a code the interface explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChargeDecision {
    pub charge: Charge,
    pub reason: &'static str,
}

/// Decides who pays for a service on an item, from its warranty status on the day the
/// request was opened.
pub fn decide_charge(
    service: crate::request::ServiceType,
    status: &WarrantyStatus,
) -> ChargeDecision {
    use crate::request::ServiceType as T;
    let d = |charge, reason| ChargeDecision { charge, reason };
    if status.coverage == Coverage::Void {
        return d(Charge::Chargeable, "warranty_void");
    }
    match service {
        T::Return if status.return_.applies => d(Charge::Free, "return_window"),
        T::Exchange if status.exchange.applies => d(Charge::Free, "exchange_window"),
        T::Return if status.exchange.applies => d(Charge::Partial, "exchange_instead"),
        T::Return | T::Exchange if status.repair.applies => d(Charge::Partial, "repair_instead"),
        T::Repair | T::TechnicalSupport | T::Commissioning | T::Installation | T::Delivery
            if status.repair.applies =>
        {
            d(Charge::Free, "repair_window")
        }
        T::Repair if status.exchange.applies => d(Charge::Free, "exchange_due"),
        T::Maintenance | T::Upgrade if status.coverage == Coverage::InWarranty => {
            d(Charge::Partial, "parts_covered_labour_charged")
        }
        T::Consultation | T::Demonstration | T::Training | T::Complaint => {
            d(Charge::Free, "no_charge_service")
        }
        _ => d(Charge::Chargeable, "warranty_expired"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn facts(purchased: Date) -> AssetFacts {
        AssetFacts {
            purchased_on: purchased,
            delivered_on: None,
            repairs: vec![],
            voids: vec![],
            left: None,
        }
    }

    #[test]
    fn an_exchanged_or_returned_item_has_no_guarantee_left_from_that_day() {
        for how in [Departure::ExchangedOut, Departure::Returned] {
            let f = AssetFacts {
                left: Some((how, date(2026, 11, 5))),
                ..facts(date(2026, 11, 1))
            };
            // The day before, everything applied; from that day, nothing does.
            let before = status(&policy(), &f, date(2026, 11, 4));
            assert!(before.return_.applies && before.exchange.applies && before.repair.applies);
            let s = status(&policy(), &f, date(2026, 11, 5));
            assert_eq!(s.coverage, Coverage::Expired);
            for r in [&s.return_, &s.exchange, &s.repair] {
                assert!(!r.applies);
                assert_eq!(r.reason.code(), how.code());
            }
        }
    }

    fn policy() -> WarrantyPolicy {
        WarrantyPolicy::statutory()
    }

    #[test]
    fn return_applies_through_the_seventh_day_after_receipt_and_not_the_eighth() {
        let f = facts(date(2026, 11, 1));
        let s = status(&policy(), &f, date(2026, 11, 8));
        assert!(s.return_.applies);
        assert_eq!(s.return_.until, Some(date(2026, 11, 8)));
        let s = status(&policy(), &f, date(2026, 11, 9));
        assert!(!s.return_.applies);
        assert_eq!(
            s.return_.reason,
            Reason::WindowEnded {
                ended_on: date(2026, 11, 8)
            }
        );
        assert!(s.exchange.applies);
    }

    #[test]
    fn return_applies_on_the_day_of_receipt() {
        let s = status(&policy(), &facts(date(2026, 11, 1)), date(2026, 11, 1));
        assert!(s.return_.applies && s.exchange.applies && s.repair.applies);
        assert_eq!(s.coverage, Coverage::InWarranty);
    }

    #[test]
    fn nothing_applies_before_the_item_is_received() {
        let mut f = facts(date(2026, 11, 1));
        f.delivered_on = Some(date(2026, 11, 5));
        let s = status(&policy(), &f, date(2026, 11, 3));
        assert_eq!(s.return_.reason, Reason::NotYetReceived);
        assert!(!s.repair.applies);
    }

    #[test]
    fn exchange_window_ends_on_the_fifteenth_day() {
        let f = facts(date(2026, 11, 1));
        assert!(status(&policy(), &f, date(2026, 11, 16)).exchange.applies);
        let s = status(&policy(), &f, date(2026, 11, 17));
        assert!(!s.exchange.applies);
        assert_eq!(
            s.exchange.reason,
            Reason::WindowEnded {
                ended_on: date(2026, 11, 16)
            }
        );
        assert!(s.repair.applies);
    }

    #[test]
    fn windows_count_from_delivery_when_it_is_known() {
        let mut f = facts(date(2026, 11, 1));
        f.delivered_on = Some(date(2026, 11, 10));
        let s = status(&policy(), &f, date(2026, 11, 17));
        assert!(s.return_.applies);
        assert_eq!(s.return_.until, Some(date(2026, 11, 17)));
        assert_eq!(s.starts, date(2026, 11, 10));
    }

    #[test]
    fn repair_runs_to_the_same_day_a_year_later_and_then_expires() {
        let f = facts(date(2025, 11, 25));
        let s = status(&policy(), &f, date(2026, 11, 25));
        assert!(s.repair.applies);
        assert_eq!(s.repair.until, Some(date(2026, 11, 25)));
        let s = status(&policy(), &f, date(2026, 11, 26));
        assert!(!s.repair.applies);
        assert_eq!(s.coverage, Coverage::Expired);
        assert_eq!(
            s.repair.reason,
            Reason::WindowEnded {
                ended_on: date(2026, 11, 25)
            }
        );
    }

    #[test]
    fn repair_period_from_the_end_of_a_month_ends_on_the_last_day_of_the_month() {
        let mut p = policy();
        p.repair_months = 1;
        let f = facts(date(2026, 1, 31));
        let s = status(&p, &f, date(2026, 2, 28));
        assert!(s.repair.applies);
        assert_eq!(s.repair.until, Some(date(2026, 2, 28)));
        assert!(!status(&p, &f, date(2026, 3, 1)).repair.applies);
    }

    #[test]
    fn leap_day_purchase_repair_ends_on_28_february() {
        let f = facts(date(2028, 2, 29));
        assert_eq!(
            status(&policy(), &f, date(2028, 3, 1)).repair.until,
            Some(date(2029, 2, 28))
        );
    }

    #[test]
    fn after_the_repair_limit_an_exchange_replaces_further_repairs() {
        let mut f = facts(date(2026, 1, 1));
        f.repairs = vec![date(2026, 3, 1), date(2026, 6, 1)];
        let s = status(&policy(), &f, date(2026, 5, 31));
        assert_eq!(s.repairs_used, 1);
        assert!(s.repair.applies && !s.exchange.applies);
        let s = status(&policy(), &f, date(2026, 6, 1));
        assert_eq!(s.repairs_used, 2);
        assert!(!s.repair.applies);
        assert!(s.exchange.applies);
        assert_eq!(s.exchange.until, Some(date(2027, 1, 1)));
        assert_eq!(
            s.exchange.reason,
            Reason::RepairLimitReached {
                repairs: 2,
                limit: 2
            }
        );
        assert!(!status(&policy(), &f, date(2027, 1, 2)).exchange.applies);
    }

    #[test]
    fn repairs_outside_the_repair_period_do_not_count_towards_the_limit() {
        let mut f = facts(date(2025, 1, 1));
        f.repairs = vec![date(2025, 6, 1), date(2026, 6, 1)];
        let mut p = policy();
        p.repair_months = 24;
        let s = status(&p, &f, date(2026, 6, 1));
        assert!(!s.repair.applies);
        p.repair_months = 12;
        let s = status(&p, &f, date(2025, 12, 31));
        assert_eq!(s.repairs_used, 1);
    }

    #[test]
    fn no_repair_limit_means_repairs_go_on() {
        let mut p = policy();
        p.repair_limit = 0;
        let mut f = facts(date(2026, 1, 1));
        f.repairs = vec![date(2026, 2, 1); 5];
        let s = status(&p, &f, date(2026, 3, 1));
        assert!(s.repair.applies);
        assert!(!s.exchange.applies);
    }

    #[test]
    fn a_recorded_void_condition_ends_every_guarantee_from_its_day() {
        let mut f = facts(date(2026, 11, 1));
        f.voids = vec![(VoidCondition::Misuse, date(2026, 11, 3))];
        let s = status(&policy(), &f, date(2026, 11, 2));
        assert_eq!(s.coverage, Coverage::InWarranty);
        let s = status(&policy(), &f, date(2026, 11, 3));
        assert_eq!(s.coverage, Coverage::Void);
        for r in [&s.return_, &s.exchange, &s.repair] {
            assert!(!r.applies);
            assert_eq!(
                r.reason,
                Reason::Voided {
                    condition: VoidCondition::Misuse,
                    since: date(2026, 11, 3)
                }
            );
        }
    }

    #[test]
    fn every_void_condition_voids_under_the_statutory_policy() {
        for &c in VoidCondition::ALL {
            let mut f = facts(date(2026, 11, 1));
            f.voids = vec![(c, date(2026, 11, 1))];
            assert_eq!(
                status(&policy(), &f, date(2026, 11, 1)).coverage,
                Coverage::Void,
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_condition_the_policy_does_not_list_does_not_void() {
        let mut p = policy();
        p.void_conditions = vec![VoidCondition::Misuse];
        let mut f = facts(date(2026, 11, 1));
        f.voids = vec![(VoidCondition::CommercialUse, date(2026, 11, 2))];
        assert_eq!(
            status(&p, &f, date(2026, 11, 5)).coverage,
            Coverage::InWarranty
        );
    }

    #[test]
    fn the_earliest_of_several_void_conditions_is_reported() {
        let mut f = facts(date(2026, 11, 1));
        f.voids = vec![
            (VoidCondition::UnauthorizedRepair, date(2026, 11, 9)),
            (VoidCondition::SerialTampered, date(2026, 11, 4)),
        ];
        let s = status(&policy(), &f, date(2026, 11, 10));
        assert_eq!(
            s.repair.reason,
            Reason::Voided {
                condition: VoidCondition::SerialTampered,
                since: date(2026, 11, 4)
            }
        );
    }

    #[test]
    fn an_expired_window_keeps_its_own_reason_after_a_void() {
        let mut f = facts(date(2026, 1, 1));
        f.voids = vec![(VoidCondition::Misuse, date(2026, 6, 1))];
        let s = status(&policy(), &f, date(2026, 6, 2));
        assert_eq!(
            s.return_.reason,
            Reason::WindowEnded {
                ended_on: date(2026, 1, 8)
            }
        );
        assert!(matches!(s.repair.reason, Reason::Voided { .. }));
    }

    #[test]
    fn a_policy_without_returns_never_offers_them() {
        let mut p = policy();
        p.return_days = 0;
        let s = status(&p, &facts(date(2026, 11, 1)), date(2026, 11, 1));
        assert_eq!(
            s.return_,
            Remedy {
                applies: false,
                until: None,
                reason: Reason::NotOffered
            }
        );
    }

    #[test]
    fn who_pays_follows_the_status_on_the_day() {
        use crate::request::ServiceType as T;
        let p = policy();
        let bought = date(2026, 1, 10);
        let f = facts(bought);
        let on = |d| status(&p, &f, d);
        let charge = |t, d| decide_charge(t, &on(d)).charge;
        assert_eq!(charge(T::Return, date(2026, 1, 17)), Charge::Free);
        assert_eq!(
            decide_charge(T::Return, &on(date(2026, 1, 18))).reason,
            "exchange_instead"
        );
        assert_eq!(charge(T::Exchange, date(2026, 1, 25)), Charge::Free);
        assert_eq!(
            decide_charge(T::Exchange, &on(date(2026, 1, 26))).reason,
            "repair_instead"
        );
        assert_eq!(charge(T::Repair, date(2027, 1, 10)), Charge::Free);
        assert_eq!(charge(T::Repair, date(2027, 1, 11)), Charge::Chargeable);
        assert_eq!(charge(T::Maintenance, date(2026, 6, 1)), Charge::Partial);
        assert_eq!(charge(T::Consultation, date(2030, 1, 1)), Charge::Free);
        let mut voided = facts(bought);
        voided.voids = vec![(p.void_conditions[0], date(2026, 3, 1))];
        assert_eq!(
            decide_charge(T::Repair, &status(&p, &voided, date(2026, 3, 2))).reason,
            "warranty_void"
        );
    }
}
