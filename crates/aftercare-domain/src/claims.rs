//! Warranty claims (三包索赔): a partner outlet asks the brand to pay for a repair, an
//! exchange or a return it performed free under 三包. A claim stands on the item's 三包
//! decision on the day the request was opened and on the visit report; the brand approves
//! it, approves part of it with a reason, or sends it back with a reason to be corrected.

use crate::Invalid;
use crate::customer::code_enum;
use crate::request::ServiceType;
use crate::warranty::Charge;

/// The largest amount one line of a claim may ask for, in fen (¥100,000).
pub const MAX_AMOUNT: i64 = 10_000_000;

code_enum!(
    /// Where a claim stands.
    ClaimStatus, "claim_status_unknown", {
        Submitted => "submitted",
        Approved => "approved",
        PartlyApproved => "partly_approved",
        Returned => "returned",
    }
);

code_enum!(
    /// What the brand decides on a submitted claim.
    ClaimDecision, "claim_decision_unknown", {
        Approve => "approve",
        PartlyApprove => "partly_approve",
        Return => "return",
    }
);

/// What a claim is checked against.
#[derive(Debug, Clone)]
pub struct ClaimFacts {
    pub service_type: ServiceType,
    /// The request belongs to a partner outlet.
    pub partner: bool,
    /// The 三包 decision taken the day the request was opened, with its reason code.
    pub charge: Option<Charge>,
    pub charge_reason: Option<String>,
    /// A visit on the request has been reported done.
    pub reported_visit: bool,
    /// That report names parts used.
    pub parts_reported: bool,
}

/// What a claim asks for, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub parts: i64,
    pub labour: i64,
}

impl Amounts {
    pub fn total(&self) -> i64 {
        self.parts + self.labour
    }
}

/// Checks a claim before it is filed: the service was free under 三包 that day, a partner
/// did it, the visit was reported, and the amounts are what the report supports.
pub fn check_claim(f: &ClaimFacts, a: &Amounts) -> Result<(), Invalid> {
    let mut inv = Invalid::default();
    if !matches!(
        f.service_type,
        ServiceType::Repair | ServiceType::Exchange | ServiceType::Return
    ) {
        inv.push("request_id", "claim_service_type");
    }
    if !f.partner {
        inv.push("request_id", "claim_outlet_not_partner");
    }
    match f.charge {
        None => inv.push("request_id", "claim_no_warranty_decision"),
        Some(Charge::Chargeable) => inv.push(
            "request_id",
            if f.charge_reason.as_deref() == Some("warranty_void") {
                "claim_warranty_void"
            } else {
                "claim_warranty_expired"
            },
        ),
        Some(Charge::Partial)
            if f.charge_reason.as_deref() == Some("parts_covered_labour_charged")
                && a.labour > 0 =>
        {
            inv.push("labour_amount", "claim_labour_not_covered")
        }
        Some(_) => {}
    }
    if !f.reported_visit {
        inv.push("request_id", "claim_without_visit_report");
    }
    for (field, v) in [("parts_amount", a.parts), ("labour_amount", a.labour)] {
        if !(0..=MAX_AMOUNT).contains(&v) {
            inv.push(field, "out_of_range");
        }
    }
    if a.parts > 0 && !f.parts_reported {
        inv.push("parts_amount", "claim_parts_not_reported");
    }
    if a.parts >= 0 && a.labour >= 0 && a.total() == 0 {
        inv.push("parts_amount", "claim_amount_zero");
    }
    inv.into_result()
}

/// Applies a decision to a submitted claim asking `claimed`: the new status and the amount
/// approved. A part approval names an amount below the claim and a reason; sending back
/// names a reason.
pub fn decide(
    status: ClaimStatus,
    claimed: i64,
    decision: ClaimDecision,
    amount: Option<i64>,
    has_note: bool,
) -> Result<(ClaimStatus, Option<i64>), Invalid> {
    let mut inv = Invalid::default();
    if status != ClaimStatus::Submitted {
        inv.push("decision", "claim_not_open");
        return Err(inv);
    }
    let out = match decision {
        ClaimDecision::Approve => (ClaimStatus::Approved, Some(claimed)),
        ClaimDecision::PartlyApprove => {
            match amount {
                None => inv.push("approved_amount", "required"),
                Some(a) if !(0..claimed).contains(&a) => {
                    inv.push("approved_amount", "claim_partial_amount")
                }
                Some(_) => {}
            }
            if !has_note {
                inv.push("note", "required");
            }
            (ClaimStatus::PartlyApproved, amount)
        }
        ClaimDecision::Return => {
            if !has_note {
                inv.push("note", "required");
            }
            (ClaimStatus::Returned, None)
        }
    };
    inv.into_result().map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ClaimFacts {
        ClaimFacts {
            service_type: ServiceType::Repair,
            partner: true,
            charge: Some(Charge::Free),
            charge_reason: Some("repair_window".into()),
            reported_visit: true,
            parts_reported: true,
        }
    }

    fn codes(r: Result<(), Invalid>) -> Vec<(String, &'static str)> {
        r.err()
            .map(|i| i.0.into_iter().map(|e| (e.field, e.code)).collect())
            .unwrap_or_default()
    }

    const A: Amounts = Amounts {
        parts: 12_000,
        labour: 8_000,
    };

    #[test]
    fn a_free_repair_reported_by_a_partner_may_be_claimed() {
        assert_eq!(check_claim(&facts(), &A), Ok(()));
        assert_eq!(A.total(), 20_000);
    }

    #[test]
    fn a_claim_outside_sanbao_is_refused_with_the_reason() {
        let mut f = facts();
        f.charge = Some(Charge::Chargeable);
        f.charge_reason = Some("warranty_expired".into());
        assert_eq!(
            codes(check_claim(&f, &A)),
            vec![("request_id".into(), "claim_warranty_expired")]
        );
        f.charge_reason = Some("warranty_void".into());
        assert_eq!(
            codes(check_claim(&f, &A)),
            vec![("request_id".into(), "claim_warranty_void")]
        );
        // Parts covered, labour charged: only the parts may be claimed.
        f.charge = Some(Charge::Partial);
        f.charge_reason = Some("parts_covered_labour_charged".into());
        assert_eq!(
            codes(check_claim(&f, &A)),
            vec![("labour_amount".into(), "claim_labour_not_covered")]
        );
        let parts_only = Amounts {
            parts: 12_000,
            labour: 0,
        };
        assert_eq!(check_claim(&f, &parts_only), Ok(()));
        f.charge = None;
        assert_eq!(
            codes(check_claim(&f, &A)),
            vec![("request_id".into(), "claim_no_warranty_decision")]
        );
    }

    #[test]
    fn the_visit_report_and_the_amounts_must_bear_the_claim_out() {
        let mut f = facts();
        f.reported_visit = false;
        f.parts_reported = false;
        f.partner = false;
        f.service_type = ServiceType::Consultation;
        assert_eq!(
            codes(check_claim(&f, &A)),
            vec![
                ("request_id".into(), "claim_service_type"),
                ("request_id".into(), "claim_outlet_not_partner"),
                ("request_id".into(), "claim_without_visit_report"),
                ("parts_amount".into(), "claim_parts_not_reported"),
            ]
        );
        let zero = Amounts {
            parts: 0,
            labour: 0,
        };
        assert_eq!(
            codes(check_claim(&facts(), &zero)),
            vec![("parts_amount".into(), "claim_amount_zero")]
        );
        let wild = Amounts {
            parts: -1,
            labour: MAX_AMOUNT + 1,
        };
        assert_eq!(
            codes(check_claim(&facts(), &wild)),
            vec![
                ("parts_amount".into(), "out_of_range"),
                ("labour_amount".into(), "out_of_range"),
            ]
        );
    }

    #[test]
    fn decisions() {
        use ClaimDecision::*;
        use ClaimStatus::*;
        assert_eq!(
            decide(Submitted, 20_000, Approve, None, false),
            Ok((Approved, Some(20_000)))
        );
        assert_eq!(
            decide(Submitted, 20_000, PartlyApprove, Some(15_000), true),
            Ok((PartlyApproved, Some(15_000)))
        );
        let fields =
            |r: Result<(ClaimStatus, Option<i64>), Invalid>| -> Vec<(String, &'static str)> {
                r.unwrap_err()
                    .0
                    .into_iter()
                    .map(|e| (e.field, e.code))
                    .collect()
            };
        assert_eq!(
            fields(decide(
                Submitted,
                20_000,
                PartlyApprove,
                Some(20_000),
                false
            )),
            vec![
                ("approved_amount".into(), "claim_partial_amount"),
                ("note".into(), "required")
            ]
        );
        assert_eq!(
            fields(decide(Submitted, 20_000, Return, None, false)),
            vec![("note".into(), "required")]
        );
        assert_eq!(
            decide(Submitted, 20_000, Return, None, true),
            Ok((Returned, None))
        );
        assert_eq!(
            fields(decide(Approved, 20_000, Approve, None, true)),
            vec![("decision".into(), "claim_not_open")]
        );
    }
}
