//! Offers at the desk: which of the company's offers apply to a customer's item today,
//! and why, so that the agent in front of the customer can make the second sale.

use crate::Date;
use crate::customer::code_enum;
use jiff::ToSpan;
use serde::Serialize;

code_enum!(
    /// What an offer is for: `warranty_extension` (before the repair guarantee ends),
    /// `upgrade` (an item repaired again and again, or old), `consumables` (for owners of
    /// a category of products), `maintenance` (an item not serviced for a while).
    OfferKind, "offer_kind_unknown", {
        WarrantyExtension => "warranty_extension",
        Upgrade => "upgrade",
        Consumables => "consumables",
        Maintenance => "maintenance",
    }
);

code_enum!(
    /// What the customer said when the agent made the offer.
    OfferResponse, "offer_response_unknown", {
        Offered => "offered",
        Accepted => "accepted",
        Declined => "declined",
    }
);

/// When an offer applies to an item. Which fields count depends on the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferRule {
    pub kind: OfferKind,
    /// Only items of this category (all items when `None`).
    pub category_id: Option<i64>,
    /// Extension: this many days before the repair guarantee ends (1–365).
    pub within_days: u32,
    /// Upgrade: repaired at least this many times (0: not by repairs).
    pub min_repairs: u32,
    /// Upgrade: at least this many months old (0: not by age). Maintenance: serviced
    /// every this many months.
    pub months: u32,
}

/// What is known about one item for offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFacts {
    pub category_id: i64,
    /// When its guarantees started (delivery, else purchase).
    pub starts: Date,
    /// The last day of its repair guarantee, if it has one.
    pub repair_until: Option<Date>,
    /// Repairs done on it.
    pub repairs: u32,
    /// The last time it was serviced or installed.
    pub last_service: Option<Date>,
    /// It left the customer (exchanged or returned): nothing applies.
    pub gone: bool,
}

/// Why an offer applies, with what the agent can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Why {
    /// The repair guarantee ends on this day.
    WarrantyEnds { until: Date },
    /// Repaired this many times.
    Repaired { times: u32 },
    /// This many months old.
    Aged { months: i64 },
    /// The customer owns an item of the offer's category.
    Owns,
    /// Not serviced for this many months.
    ServiceDue { months: i64 },
}

/// Whole months from `from` to `to` (0 when `to` is earlier).
pub fn months_between(from: Date, to: Date) -> i64 {
    from.until((jiff::Unit::Month, to))
        .map(|s| i64::from(s.get_months()))
        .unwrap_or(0)
        .max(0)
}

/// Whether the rule applies to the item on `today`, and why.
pub fn applies(rule: &OfferRule, item: &ItemFacts, today: Date) -> Option<Why> {
    if item.gone || rule.category_id.is_some_and(|c| c != item.category_id) {
        return None;
    }
    match rule.kind {
        OfferKind::WarrantyExtension => {
            let until = item.repair_until?;
            let first = until.checked_sub(i64::from(rule.within_days).days()).ok()?;
            (today >= first && today <= until).then_some(Why::WarrantyEnds { until })
        }
        OfferKind::Upgrade => {
            if rule.min_repairs > 0 && item.repairs >= rule.min_repairs {
                return Some(Why::Repaired {
                    times: item.repairs,
                });
            }
            let months = months_between(item.starts, today);
            (rule.months > 0 && months >= i64::from(rule.months)).then_some(Why::Aged { months })
        }
        OfferKind::Consumables => Some(Why::Owns),
        OfferKind::Maintenance => {
            let since = item.last_service.unwrap_or(item.starts).max(item.starts);
            let months = months_between(since, today);
            (rule.months > 0 && months >= i64::from(rule.months))
                .then_some(Why::ServiceDue { months })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn item() -> ItemFacts {
        ItemFacts {
            category_id: 3,
            starts: d("2026-01-10"),
            repair_until: Some(d("2027-01-10")),
            repairs: 0,
            last_service: None,
            gone: false,
        }
    }

    fn rule(kind: OfferKind) -> OfferRule {
        OfferRule {
            kind,
            category_id: None,
            within_days: 60,
            min_repairs: 2,
            months: 6,
        }
    }

    #[test]
    fn an_extension_is_offered_in_the_days_before_the_guarantee_ends() {
        let r = rule(OfferKind::WarrantyExtension);
        assert_eq!(applies(&r, &item(), d("2026-11-10")), None, "61 days ahead");
        assert_eq!(
            applies(&r, &item(), d("2026-11-11")),
            Some(Why::WarrantyEnds {
                until: d("2027-01-10")
            })
        );
        assert!(applies(&r, &item(), d("2027-01-10")).is_some());
        assert_eq!(applies(&r, &item(), d("2027-01-11")), None, "ended");
        let none = ItemFacts {
            repair_until: None,
            ..item()
        };
        assert_eq!(applies(&r, &none, d("2026-12-01")), None);
    }

    #[test]
    fn an_upgrade_follows_repairs_or_age_and_nothing_follows_a_returned_item() {
        let r = rule(OfferKind::Upgrade);
        let repaired = ItemFacts {
            repairs: 2,
            ..item()
        };
        assert_eq!(
            applies(&r, &repaired, d("2026-03-01")),
            Some(Why::Repaired { times: 2 })
        );
        assert_eq!(applies(&r, &item(), d("2026-07-09")), None, "5 months");
        assert_eq!(
            applies(&r, &item(), d("2026-07-10")),
            Some(Why::Aged { months: 6 })
        );
        let gone = ItemFacts {
            gone: true,
            ..repaired
        };
        assert_eq!(applies(&r, &gone, d("2026-07-10")), None);
    }

    #[test]
    fn consumables_and_maintenance_are_for_their_category() {
        let mut r = rule(OfferKind::Consumables);
        r.category_id = Some(3);
        assert_eq!(applies(&r, &item(), d("2026-02-01")), Some(Why::Owns));
        r.category_id = Some(4);
        assert_eq!(applies(&r, &item(), d("2026-02-01")), None);
        let m = rule(OfferKind::Maintenance);
        let serviced = ItemFacts {
            last_service: Some(d("2026-05-01")),
            ..item()
        };
        assert_eq!(applies(&m, &serviced, d("2026-10-31")), None);
        assert_eq!(
            applies(&m, &serviced, d("2026-11-01")),
            Some(Why::ServiceDue { months: 6 })
        );
    }
}
