//! Service-level agreements: which policy applies to a request, and the clocks that run
//! against its targets. The clocks count working time over a business calendar; the
//! resolution clock pauses while the request waits for the customer.

use crate::calendar::BusinessCalendar;
use crate::customer::ValueTier;
use crate::request::{Priority, ServiceType};
use jiff::Timestamp;

/// A policy's matching criteria and targets. `None` criteria match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRule {
    pub id: i64,
    pub tier: Option<ValueTier>,
    pub priority: Option<Priority>,
    pub service_type: Option<ServiceType>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    /// Warn this many working minutes before the resolution target.
    pub warn_minutes: i64,
}

/// The most specific rule that matches (most criteria given); ties go to the lowest id.
pub fn pick_rule(
    rules: &[SlaRule],
    tier: ValueTier,
    priority: Priority,
    service_type: ServiceType,
) -> Option<&SlaRule> {
    rules
        .iter()
        .filter(|r| {
            r.tier.is_none_or(|t| t == tier)
                && r.priority.is_none_or(|p| p == priority)
                && r.service_type.is_none_or(|s| s == service_type)
        })
        .min_by_key(|r| {
            let given = r.tier.is_some() as i32
                + r.priority.is_some() as i32
                + r.service_type.is_some() as i32;
            (-given, r.id)
        })
}

/// Where a request's clocks stand, as stored with the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaTrack {
    pub response_due: Option<Timestamp>,
    pub responded_at: Option<Timestamp>,
    /// `None` while the clock is paused or stopped.
    pub resolution_due: Option<Timestamp>,
    /// Working seconds left on the resolution clock when it was paused or stopped
    /// (negative: it was already late by that much).
    pub resolution_left: Option<i64>,
    /// When to warn that the resolution target is near; `None` once warned or paused.
    pub warn_at: Option<Timestamp>,
    pub warn_seconds: i64,
    pub warned: bool,
    pub response_breached: bool,
    pub resolution_breached: bool,
}

/// Something the sweep found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaEvent {
    /// The resolution target is near.
    Warning,
    ResponseBreached,
    ResolutionBreached,
}

/// How a target came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Met,
    Breached,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Met => "met",
            Outcome::Breached => "breached",
        }
    }
}

impl SlaTrack {
    /// Starts both clocks at `at` for a rule.
    pub fn start(cal: &BusinessCalendar, at: Timestamp, rule: &SlaRule) -> Self {
        let mut t = SlaTrack {
            response_due: cal.add_working_seconds(at, rule.first_response_minutes * 60),
            warn_seconds: rule.warn_minutes * 60,
            ..Default::default()
        };
        t.run_from(cal, at, rule.resolution_minutes * 60);
        t
    }

    fn run_from(&mut self, cal: &BusinessCalendar, at: Timestamp, left: i64) {
        self.resolution_left = None;
        if left <= 0 {
            // Already late: due now, and the sweep reports it if it has not yet.
            self.resolution_due = Some(at);
            self.warn_at = None;
            return;
        }
        self.resolution_due = cal.add_working_seconds(at, left);
        self.warn_at = if self.warned || self.warn_seconds <= 0 {
            None
        } else {
            cal.add_working_seconds(at, (left - self.warn_seconds).max(0))
        };
    }

    /// The first public answer to the customer.
    pub fn respond(&mut self, at: Timestamp) {
        if self.responded_at.is_none() {
            self.responded_at = Some(at);
            if self.response_due.is_some_and(|d| at > d) {
                self.response_breached = true;
            }
        }
    }

    /// Stops the resolution clock, keeping what is left (waiting for the customer, or
    /// resolved).
    pub fn pause(&mut self, cal: &BusinessCalendar, at: Timestamp) {
        if let Some(due) = self.resolution_due.take() {
            let left = if at <= due {
                cal.working_seconds(at, due)
            } else {
                -cal.working_seconds(due, at)
            };
            self.resolution_left = Some(left);
            self.warn_at = None;
        }
    }

    /// Starts the resolution clock again with what was left.
    pub fn resume(&mut self, cal: &BusinessCalendar, at: Timestamp) {
        if self.resolution_due.is_none()
            && let Some(left) = self.resolution_left
        {
            self.run_from(cal, at, left);
        }
    }

    /// Resolution: the clock stops, the targets get their outcome. Resolving also answers
    /// the customer if nobody had.
    pub fn resolve(&mut self, cal: &BusinessCalendar, at: Timestamp) {
        self.respond(at);
        if self.resolution_due.is_some_and(|d| at > d) {
            self.resolution_breached = true;
        }
        self.pause(cal, at);
    }

    /// The next instant the sweep has something to check, if any.
    pub fn next_check(&self) -> Option<Timestamp> {
        let response = self
            .response_due
            .filter(|_| self.responded_at.is_none() && !self.response_breached);
        let warn = self.warn_at.filter(|_| !self.warned);
        let resolution = self.resolution_due.filter(|_| !self.resolution_breached);
        [response, warn, resolution].into_iter().flatten().min()
    }

    /// What has happened by `now` that was not reported yet; marks it reported.
    pub fn sweep(&mut self, now: Timestamp) -> Vec<SlaEvent> {
        let mut out = Vec::new();
        if self.responded_at.is_none()
            && !self.response_breached
            && self.response_due.is_some_and(|d| d <= now)
        {
            self.response_breached = true;
            out.push(SlaEvent::ResponseBreached);
        }
        if !self.resolution_breached && self.resolution_due.is_some_and(|d| d <= now) {
            self.resolution_breached = true;
            self.warned = true;
            self.warn_at = None;
            out.push(SlaEvent::ResolutionBreached);
        } else if !self.warned && self.warn_at.is_some_and(|w| w <= now) {
            self.warned = true;
            self.warn_at = None;
            out.push(SlaEvent::Warning);
        }
        out
    }

    pub fn response_outcome(&self) -> Outcome {
        if self.response_breached {
            Outcome::Breached
        } else if self.responded_at.is_some() {
            Outcome::Met
        } else {
            Outcome::Pending
        }
    }

    /// Met only once resolved in time; pending while running or paused.
    pub fn resolution_outcome(&self, resolved: bool) -> Outcome {
        if self.resolution_breached {
            Outcome::Breached
        } else if resolved {
            Outcome::Met
        } else {
            Outcome::Pending
        }
    }

    /// Seconds until the resolution target (negative when late), for queues.
    pub fn resolution_remaining(&self, now: Timestamp) -> Option<i64> {
        self.resolution_due
            .map(|d| (d - now).total(jiff::Unit::Second).unwrap_or(0.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarSpec;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rule(id: i64, tier: Option<ValueTier>, ty: Option<ServiceType>) -> SlaRule {
        SlaRule {
            id,
            tier,
            priority: None,
            service_type: ty,
            first_response_minutes: 60,
            resolution_minutes: 8 * 60,
            warn_minutes: 60,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = vec![
            rule(1, None, None),
            rule(2, Some(ValueTier::High), None),
            rule(3, Some(ValueTier::High), Some(ServiceType::Repair)),
        ];
        let pick = |t, s| pick_rule(&rules, t, Priority::Normal, s).map(|r| r.id);
        assert_eq!(pick(ValueTier::High, ServiceType::Repair), Some(3));
        assert_eq!(pick(ValueTier::High, ServiceType::Consultation), Some(2));
        assert_eq!(pick(ValueTier::Low, ServiceType::Repair), Some(1));
        assert_eq!(
            pick_rule(&[], ValueTier::Low, Priority::Low, ServiceType::Repair),
            None
        );
    }

    fn office() -> BusinessCalendar {
        let mut spec = CalendarSpec::china_office();
        spec.holidays = vec!["2026-10-01".into(), "2026-10-02".into()];
        spec.makeup_workdays = vec!["2026-10-10".into()];
        spec.build().unwrap()
    }

    #[test]
    fn a_request_opened_friday_evening_is_due_on_monday() {
        // Friday 2026-11-27 17:30 Shanghai; 8 working hours = 0.5 h Friday + 7.5 h Monday.
        let t = SlaTrack::start(&office(), ts("2026-11-27T09:30:00Z"), &rule(1, None, None));
        // First response: 30 min Friday, 30 min Monday from 9:00 → Monday 9:30 local.
        assert_eq!(t.response_due, Some(ts("2026-11-30T01:30:00Z")));
        // Monday: 9–12 (3 h) + 13:30–18:00 (4.5 h) = 7.5 h → Monday 18:00 local.
        assert_eq!(t.resolution_due, Some(ts("2026-11-30T10:00:00Z")));
        // Warn one working hour before: Monday 17:00 local.
        assert_eq!(t.warn_at, Some(ts("2026-11-30T09:00:00Z")));
    }

    #[test]
    fn holidays_are_skipped_and_a_makeup_saturday_is_worked() {
        // Wednesday 2026-09-30 17:00 local: 1 h that day, then Oct 1–2 holidays, the
        // weekend Oct 3–4, Monday Oct 5 … (no make-up day in between).
        let t = SlaTrack::start(&office(), ts("2026-09-30T09:00:00Z"), &rule(1, None, None));
        // 7 h left → Monday Oct 5: 9–12 (3), 13:30–17:30 (4) → 17:30 local.
        assert_eq!(t.resolution_due, Some(ts("2026-10-05T09:30:00Z")));
        // Friday Oct 9 17:00 local: 1 h, then Saturday Oct 10 is a make-up workday.
        let t = SlaTrack::start(&office(), ts("2026-10-09T09:00:00Z"), &rule(1, None, None));
        assert_eq!(t.resolution_due, Some(ts("2026-10-10T09:30:00Z")));
    }

    #[test]
    fn waiting_for_the_customer_stops_the_resolution_clock_only() {
        let cal = office();
        // Monday 2026-11-23 09:00 local: a 7.5 h day, then 0.5 h on Tuesday.
        let mut t = SlaTrack::start(&cal, ts("2026-11-23T01:00:00Z"), &rule(1, None, None));
        assert_eq!(t.resolution_due, Some(ts("2026-11-24T01:30:00Z")));
        // Paused at 10:00 local with 7 h left, resumed Tuesday 09:00 local.
        t.pause(&cal, ts("2026-11-23T02:00:00Z"));
        assert_eq!(t.resolution_due, None);
        assert_eq!(t.resolution_left, Some(7 * 3600));
        assert_eq!(
            t.next_check(),
            t.response_due,
            "the response clock still runs"
        );
        t.resume(&cal, ts("2026-11-24T01:00:00Z"));
        // Tuesday: 9–12 (3) + 13:30–17:30 (4) = 7 h → 17:30 local.
        assert_eq!(t.resolution_due, Some(ts("2026-11-24T09:30:00Z")));
        assert_eq!(t.warn_at, Some(ts("2026-11-24T08:30:00Z")));
    }

    #[test]
    fn the_sweep_warns_then_reports_breaches_once() {
        let cal = BusinessCalendar::always();
        let mut t = SlaTrack::start(&cal, ts("2026-11-23T00:00:00Z"), &rule(1, None, None));
        assert_eq!(t.next_check(), Some(ts("2026-11-23T01:00:00Z")));
        assert_eq!(t.sweep(ts("2026-11-23T00:59:00Z")), vec![]);
        assert_eq!(
            t.sweep(ts("2026-11-23T01:00:00Z")),
            vec![SlaEvent::ResponseBreached]
        );
        assert_eq!(t.next_check(), Some(ts("2026-11-23T07:00:00Z")));
        assert_eq!(t.sweep(ts("2026-11-23T07:10:00Z")), vec![SlaEvent::Warning]);
        assert_eq!(t.sweep(ts("2026-11-23T07:20:00Z")), vec![]);
        assert_eq!(
            t.sweep(ts("2026-11-23T08:00:00Z")),
            vec![SlaEvent::ResolutionBreached]
        );
        assert_eq!(t.next_check(), None);
        assert_eq!(t.sweep(ts("2026-11-24T00:00:00Z")), vec![]);
        assert_eq!(t.response_outcome(), Outcome::Breached);
        assert_eq!(t.resolution_outcome(false), Outcome::Breached);
    }

    #[test]
    fn a_sweep_that_comes_late_reports_the_breach_not_the_warning() {
        let cal = BusinessCalendar::always();
        let mut t = SlaTrack::start(&cal, ts("2026-11-23T00:00:00Z"), &rule(1, None, None));
        t.respond(ts("2026-11-23T00:10:00Z"));
        assert_eq!(
            t.sweep(ts("2026-11-24T00:00:00Z")),
            vec![SlaEvent::ResolutionBreached]
        );
        assert_eq!(t.response_outcome(), Outcome::Met);
    }

    #[test]
    fn resolving_in_time_meets_both_targets_and_stops_the_clock() {
        let cal = BusinessCalendar::always();
        let mut t = SlaTrack::start(&cal, ts("2026-11-23T00:00:00Z"), &rule(1, None, None));
        t.resolve(&cal, ts("2026-11-23T00:30:00Z"));
        assert_eq!(t.response_outcome(), Outcome::Met);
        assert_eq!(t.resolution_outcome(true), Outcome::Met);
        assert_eq!(t.next_check(), None);
        // Reopened a day later: the 7.5 h that were left run again.
        t.resume(&cal, ts("2026-11-24T00:00:00Z"));
        assert_eq!(t.resolution_due, Some(ts("2026-11-24T07:30:00Z")));
    }

    #[test]
    fn a_late_pause_remembers_the_lateness() {
        let cal = BusinessCalendar::always();
        let mut t = SlaTrack::start(&cal, ts("2026-11-23T00:00:00Z"), &rule(1, None, None));
        t.respond(ts("2026-11-23T00:05:00Z"));
        t.pause(&cal, ts("2026-11-23T09:00:00Z"));
        assert_eq!(t.resolution_left, Some(-3600));
        t.resume(&cal, ts("2026-11-23T10:00:00Z"));
        assert_eq!(t.resolution_due, Some(ts("2026-11-23T10:00:00Z")));
        assert_eq!(
            t.sweep(ts("2026-11-23T10:00:00Z")),
            vec![SlaEvent::ResolutionBreached]
        );
    }
}
