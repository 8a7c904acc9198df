//! Service requests: their types, phases and the state machine every request follows.

use crate::customer::code_enum;
use serde::Serialize;

code_enum!(
    /// What the customer asks for.
    ServiceType, "service_type_unknown", {
        Consultation => "consultation",
        Demonstration => "demonstration",
        Delivery => "delivery",
        Installation => "installation",
        Commissioning => "commissioning",
        Repair => "repair",
        Exchange => "exchange",
        Return => "return",
        TechnicalSupport => "technical_support",
        Upgrade => "upgrade",
        Training => "training",
        Maintenance => "maintenance",
        Complaint => "complaint",
    }
);

code_enum!(
    /// When in the product's life the request comes (seed 004: service across the life).
    ServicePhase, "phase_unknown", {
        PreSale => "pre_sale",
        InSale => "in_sale",
        AfterSale => "after_sale",
    }
);

impl ServicePhase {
    /// The phase a request is in when nobody says: consultations and demonstrations come
    /// before a sale unless they concern something bought; delivery, installation,
    /// commissioning and training complete a sale; repairs, maintenance, exchanges,
    /// returns, support, upgrades and complaints come after one, with or without an order
    /// on record.
    pub fn default_for(ty: ServiceType, concerns_a_purchase: bool) -> ServicePhase {
        use ServiceType::*;
        match ty {
            Consultation | Demonstration if !concerns_a_purchase => ServicePhase::PreSale,
            Consultation | Demonstration => ServicePhase::AfterSale,
            Delivery | Installation | Commissioning | Training => ServicePhase::InSale,
            Repair | Exchange | Return | TechnicalSupport | Upgrade | Maintenance | Complaint => {
                ServicePhase::AfterSale
            }
        }
    }
}

code_enum!(
    /// Where a request stands.
    RequestStatus, "status_unknown", {
        New => "new",
        Triaged => "triaged",
        Assigned => "assigned",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        WaitingCustomer => "waiting_customer",
        WaitingParts => "waiting_parts",
        Resolved => "resolved",
        Closed => "closed",
        Reopened => "reopened",
        Cancelled => "cancelled",
    }
);

code_enum!(
    /// How urgent a request is; SLA policies and queues use it.
    Priority, "priority_unknown", {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl Priority {
    /// One step more urgent (escalation); urgent stays urgent.
    pub fn raised(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }

    /// For sorting: urgent first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Urgent => 0,
            Priority::High => 1,
            Priority::Normal => 2,
            Priority::Low => 3,
        }
    }
}

code_enum!(
    /// Where a request came in.
    RequestChannel, "channel_unknown", {
        Staff => "staff",
        Phone => "phone",
        Portal => "portal",
        Email => "email",
        Api => "api",
        Visit => "visit",
    }
);

code_enum!(
    /// Where a technician's visit stands.
    VisitStatus, "visit_status_unknown", {
        Booked => "booked",
        Done => "done",
        Cancelled => "cancelled",
    }
);

/// The number people see: `SR-2026-000123`, the year it was opened and a sequence.
pub fn request_number(year: i16, seq: i64) -> String {
    format!("SR-{year}-{seq:06}")
}

/// Finds a request number in text such as a mail subject (`Re: [SR-2026-000123] 空调不制冷`).
pub fn find_request_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find("SR-") {
        let s = i + off;
        let rest = &b[s + 3..];
        let year = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if year == 4 && rest.get(4) == Some(&b'-') {
            let seq = rest[5..].iter().take_while(|c| c.is_ascii_digit()).count();
            if seq >= 6 {
                return Some(text[s..s + 3 + 5 + seq].to_string());
            }
        }
        i = s + 3;
    }
    None
}

/// A refused transition, with what would have been allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("a request that is {} cannot become {}", from.code(), to.code())]
pub struct TransitionRefused {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub allowed: Vec<RequestStatus>,
}

impl TransitionRefused {
    pub const CODE: &'static str = "transition_not_allowed";
}

impl RequestStatus {
    /// The statuses a request in this status may move to.
    pub fn next(self) -> &'static [RequestStatus] {
        use RequestStatus::*;
        match self {
            New => &[Triaged, Assigned, Cancelled],
            Triaged => &[Assigned, Cancelled],
            Assigned => &[
                Scheduled,
                InProgress,
                WaitingCustomer,
                WaitingParts,
                Resolved,
                Cancelled,
            ],
            Scheduled => &[InProgress, Assigned, WaitingCustomer, Cancelled],
            InProgress => &[Scheduled, WaitingCustomer, WaitingParts, Resolved],
            WaitingCustomer => &[InProgress, Assigned, Resolved, Cancelled],
            WaitingParts => &[InProgress, Scheduled, Resolved],
            Resolved => &[Closed, Reopened],
            Closed => &[Reopened],
            Reopened => &[Assigned, InProgress, Resolved],
            Cancelled => &[],
        }
    }

    /// Checks a move and returns the new status, or why not.
    pub fn transition(self, to: RequestStatus) -> Result<RequestStatus, TransitionRefused> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionRefused {
                from: self,
                to,
                allowed: self.next().to_vec(),
            })
        }
    }

    /// Whether the resolution clock stops in this status: while the customer is asked
    /// for something, the wait is theirs, not the service's.
    pub fn pauses_sla(self) -> bool {
        self == RequestStatus::WaitingCustomer
    }

    /// Whether the request still needs work (it is in the working queues).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            RequestStatus::Resolved | RequestStatus::Closed | RequestStatus::Cancelled
        )
    }

    /// Whether nothing more happens to the request unless it is reopened.
    pub fn is_final(self) -> bool {
        matches!(self, RequestStatus::Closed | RequestStatus::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repair_without_an_order_is_after_sale_and_an_installation_within_one() {
        use ServicePhase::*;
        for ty in [
            "repair",
            "maintenance",
            "complaint",
            "exchange",
            "technical_support",
        ] {
            let t = ServiceType::parse(ty).unwrap();
            assert_eq!(ServicePhase::default_for(t, false), AfterSale, "{ty}");
        }
        for ty in ["installation", "delivery", "commissioning", "training"] {
            let t = ServiceType::parse(ty).unwrap();
            assert_eq!(ServicePhase::default_for(t, false), InSale, "{ty}");
        }
        let c = ServiceType::Consultation;
        assert_eq!(ServicePhase::default_for(c, false), PreSale);
        assert_eq!(ServicePhase::default_for(c, true), AfterSale);
    }
    use RequestStatus::*;

    #[test]
    fn a_request_goes_from_new_to_closed_the_usual_way() {
        let mut s = New;
        for to in [
            Triaged,
            Assigned,
            Scheduled,
            InProgress,
            WaitingParts,
            InProgress,
            Resolved,
            Closed,
        ] {
            s = s.transition(to).unwrap();
        }
        assert!(s.is_final());
    }

    #[test]
    fn an_illegal_move_is_refused_with_what_is_allowed() {
        let e = New.transition(Resolved).unwrap_err();
        assert_eq!(e.allowed, vec![Triaged, Assigned, Cancelled]);
        assert_eq!(
            e.to_string(),
            "a request that is new cannot become resolved"
        );
    }

    #[test]
    fn cancelled_is_the_end_and_closed_can_only_reopen() {
        assert!(Cancelled.next().is_empty());
        assert_eq!(Closed.next(), &[Reopened]);
        assert!(Closed.transition(InProgress).is_err());
        assert_eq!(Closed.transition(Reopened), Ok(Reopened));
    }

    #[test]
    fn no_status_moves_to_itself_or_to_new() {
        for s in RequestStatus::ALL {
            assert!(!s.next().contains(s), "{s:?}");
            assert!(!s.next().contains(&New), "{s:?}");
        }
    }

    #[test]
    fn every_status_but_new_can_be_reached() {
        for target in RequestStatus::ALL.iter().filter(|s| **s != New) {
            assert!(
                RequestStatus::ALL.iter().any(|s| s.next().contains(target)),
                "{target:?}"
            );
        }
    }

    #[test]
    fn only_waiting_for_the_customer_pauses_the_clock() {
        let paused: Vec<_> = RequestStatus::ALL
            .iter()
            .filter(|s| s.pauses_sla())
            .collect();
        assert_eq!(paused, vec![&WaitingCustomer]);
    }

    #[test]
    fn numbers_are_formatted_and_found_in_subjects() {
        assert_eq!(request_number(2026, 123), "SR-2026-000123");
        assert_eq!(request_number(2026, 1_234_567), "SR-2026-1234567");
        assert_eq!(
            find_request_number("回复：[SR-2026-000123] 空调不制冷").as_deref(),
            Some("SR-2026-000123")
        );
        assert_eq!(find_request_number("SR-26-000123 and SR-2026-12"), None);
        assert_eq!(
            find_request_number("SR-x SR-2027-0000042").as_deref(),
            Some("SR-2027-0000042")
        );
    }

    #[test]
    fn priority_rises_to_urgent_and_stays() {
        assert_eq!(Priority::Low.raised(), Priority::Normal);
        assert_eq!(Priority::High.raised(), Priority::Urgent);
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
    }

    #[test]
    fn service_types_and_phases_round_trip() {
        for t in ServiceType::ALL {
            assert_eq!(ServiceType::parse(t.code()), Ok(*t));
        }
        assert_eq!(
            ServicePhase::parse("after_sale"),
            Ok(ServicePhase::AfterSale)
        );
        assert_eq!(ServiceType::parse("haircut"), Err("service_type_unknown"));
    }
}
