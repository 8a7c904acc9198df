//! Campaigns: who a campaign reaches, who is kept out to measure it, and how often a
//! customer may be contacted at all.

use crate::customer::code_enum;

code_enum!(
    /// What starts a campaign for a customer; each occurrence reaches a customer once.
    /// `segment`: everyone in a saved segment (also those who join it later; a segment of
    /// dormant or at-risk customers makes a win-back campaign), once each;
    /// `warranty_ending`: an item's repair guarantee ends within the lead days, once per
    /// item and end; `request_resolved`: a service request was resolved, once per request;
    /// `maintenance_due`: an item is due for maintenance within the lead days, once per
    /// item and due date; `date_coming`: one of the customer's important dates (a
    /// birthday) comes within the lead days, once per date and year; `backlog_shipped`: an
    /// improvement of the backlog shipped, to each customer whose feedback asked for it,
    /// once per improvement; `need_found`: feedback of a customer showed an inducible need,
    /// once per feedback.
    Trigger, "trigger_unknown", {
        Segment => "segment",
        WarrantyEnding => "warranty_ending",
        RequestResolved => "request_resolved",
        MaintenanceDue => "maintenance_due",
        DateComing => "date_coming",
        BacklogShipped => "backlog_shipped",
        NeedFound => "need_found",
    }
);

code_enum!(
    /// A campaign's life: built, running, paused (nothing new goes out, members are kept),
    /// stopped (for good).
    CampaignStatus, "campaign_status_unknown", {
        Draft => "draft",
        Running => "running",
        Paused => "paused",
        Stopped => "stopped",
    }
);

impl CampaignStatus {
    /// Whether a campaign may go from `self` to `to`.
    pub fn may_become(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, to),
            (Draft, Running)
                | (Running, Paused)
                | (Paused, Running)
                | (Draft | Running | Paused, Stopped)
        )
    }
}

code_enum!(
    /// What became of one occurrence for one customer: `sent` (mailed); `held_out`
    /// (drawn into the holdout group, deliberately not contacted); `no_consent` (no
    /// consent to the campaign's channel); `no_address` (no address on it); `pressure`
    /// (held back: the customer's contact budget for the period was spent).
    Outcome, "outcome_unknown", {
        Sent => "sent",
        HeldOut => "held_out",
        NoConsent => "no_consent",
        NoAddress => "no_address",
        Pressure => "pressure",
    }
);

code_enum!(
    /// How a campaign step reaches the customer: `email` (through the outbox, with the
    /// consent to email), `portal` (a message in their portal account), `callback` (a
    /// call-back task for an agent, with a script, with the consent to phone).
    Channel, "step_channel_unknown", {
        Email => "email",
        Portal => "portal",
        Callback => "callback",
    }
);

code_enum!(
    /// What a customer may have done since a campaign first reached them: `opened` (read
    /// its portal message or followed its link), `clicked` (followed its link), `answered`
    /// (reached by its call-back, or wrote to the service), `bought` (placed an order),
    /// `requested` (opened a service request).
    Condition, "condition_unknown", {
        Opened => "opened",
        Clicked => "clicked",
        Answered => "answered",
        Bought => "bought",
        Requested => "requested",
    }
);

code_enum!(
    /// What came of a call-back: the customer was `reached`, did not answer, `declined`
    /// to talk, the number was wrong; `cancelled` when its campaign stopped first.
    CallbackResult, "callback_result_unknown", {
        Reached => "reached",
        NoAnswer => "no_answer",
        Declined => "declined",
        WrongNumber => "wrong_number",
        Cancelled => "cancelled",
    }
);

/// One step of a campaign after its first message. Steps run in order; a branch only
/// jumps forward, so a customer's journey ends after at most as many steps as there are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Wait this many days (1–90).
    Wait { days: u32 },
    /// Send an approved library text on a channel.
    Send { channel: Channel, text_id: i64 },
    /// If the customer did this since the first message, go on at step `to` (numbered
    /// from 1, later than this one); else go on with the next step.
    Branch { condition: Condition, to: u32 },
    /// End the journey here; with a condition, only if the customer did it.
    Stop {
        #[serde(default)]
        condition: Option<Condition>,
    },
}

/// Steps a campaign may have at most.
pub const MAX_STEPS: usize = 10;

/// Checks a campaign's steps, naming the step (`steps[2].days`) and the reason.
pub fn check_steps(steps: &[Step]) -> Result<(), crate::Invalid> {
    let mut inv = crate::Invalid::default();
    if steps.len() > MAX_STEPS {
        inv.push("steps", "too_many_steps");
    }
    for (i, s) in steps.iter().enumerate() {
        match s {
            Step::Wait { days } if !(1..=90).contains(days) => {
                inv.push(format!("steps[{i}].days"), "out_of_range");
            }
            Step::Branch { to, .. } => {
                // Numbered from 1: step i is number i + 1; a jump goes past it.
                let to = *to as usize;
                if to <= i + 1 || to > steps.len() {
                    inv.push(format!("steps[{i}].to"), "step_not_ahead");
                }
            }
            _ => {}
        }
    }
    inv.into_result()
}

/// What a journey does next, from step `at` (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Wait this many days, then go on at `next`.
    Wait { days: u32, next: usize },
    /// Send, then go on at `next`.
    Send {
        channel: Channel,
        text_id: i64,
        next: usize,
    },
    /// The journey ends: its steps ran out, or a stop was reached (`stopped`).
    End { stopped: bool },
}

/// The next thing to do from step `at`, given what the customer did: branches and stops
/// are decided on the way, so the answer is always a wait, a send or the end.
pub fn next_move(steps: &[Step], mut at: usize, did: impl Fn(Condition) -> bool) -> Move {
    // Forward only: each pass moves `at` on by at least one.
    while let Some(s) = steps.get(at) {
        match s {
            Step::Wait { days } => {
                return Move::Wait {
                    days: *days,
                    next: at + 1,
                };
            }
            Step::Send { channel, text_id } => {
                return Move::Send {
                    channel: *channel,
                    text_id: *text_id,
                    next: at + 1,
                };
            }
            Step::Branch { condition, to } => {
                let to = (*to as usize).saturating_sub(1);
                at = if did(*condition) && to > at {
                    to
                } else {
                    at + 1
                };
            }
            Step::Stop { condition } => {
                if condition.is_none_or(&did) {
                    return Move::End { stopped: true };
                }
                at += 1;
            }
        }
    }
    Move::End { stopped: false }
}

/// At most this share of a campaign's audience may be held out.
pub const MAX_HOLDOUT_PERCENT: u32 = 50;

impl Trigger {
    /// Whether the trigger reacts to events of the change log (a request resolved, an
    /// improvement shipped, feedback analysed), within seconds of them.
    pub fn on_events(self) -> bool {
        matches!(
            self,
            Trigger::RequestResolved | Trigger::BacklogShipped | Trigger::NeedFound
        )
    }

    /// Whether the trigger looks ahead a number of days (`lead_days`).
    pub fn looks_ahead(self) -> bool {
        matches!(
            self,
            Trigger::WarrantyEnding | Trigger::MaintenanceDue | Trigger::DateComing
        )
    }
}

/// The next day on or after `from` that a yearly date (a birthday) falls on: 29 February
/// falls on 28 February in other years.
pub fn next_yearly(day: crate::Date, from: crate::Date) -> crate::Date {
    let on = |year: i16| {
        jiff::civil::Date::new(year, day.month(), day.day())
            .or_else(|_| jiff::civil::Date::new(year, day.month(), day.day() - 1))
            .unwrap_or(from)
    };
    let this = on(from.year());
    if this >= from {
        this
    } else {
        on(from.year().saturating_add(1))
    }
}

/// Whether `customer` falls into the holdout group of the campaign drawn with `seed`.
///
/// The draw is a hash of the campaign's random seed and the customer, uniform on [0, 1):
/// random across customers, yet the same each time it is asked, so a dry run shows the
/// very group the campaign keeps, and a customer stays in one group for every occurrence.
pub fn in_holdout(seed: u64, customer: i64, percent: u32) -> bool {
    if percent == 0 {
        return false;
    }
    // SplitMix64's finaliser: a bijection that spreads nearby inputs over the range.
    let mut z = seed ^ (customer as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits as a fraction.
    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
    u < f64::from(percent.min(100)) / 100.0
}

/// SplitMix64's finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 bits drawn for one occurrence of a campaign with `seed`: the same for the same
/// occurrence every time (a campaign voucher's code, decided again after a pause, or by
/// another server, comes out the same), unguessable without the seed.
pub fn occurrence_bits(seed: u64, customer: i64, occurrence: &str) -> u64 {
    // FNV-1a over the occurrence, then mixed with the customer and the seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in occurrence.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(seed ^ splitmix((customer as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ h))
}

/// How often one customer may be contacted, across campaigns and surveys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ContactBudget {
    /// At most this many messages per customer (1–50)…
    pub max_messages: u32,
    /// …within this many days (1–365).
    pub period_days: u32,
    /// No message leaves between these hours, China time (0–23; equal: no quiet hours).
    /// The window may wrap midnight: 21 to 8 is the night.
    pub quiet_from: u32,
    pub quiet_to: u32,
}

impl Default for ContactBudget {
    fn default() -> Self {
        ContactBudget {
            max_messages: 4,
            period_days: 30,
            quiet_from: 21,
            quiet_to: 8,
        }
    }
}

impl ContactBudget {
    pub fn check(&self) -> Result<(), crate::Invalid> {
        let mut inv = crate::Invalid::default();
        if !(1..=50).contains(&self.max_messages) {
            inv.push("max_messages", "out_of_range");
        }
        if !(1..=365).contains(&self.period_days) {
            inv.push("period_days", "out_of_range");
        }
        if self.quiet_from > 23 {
            inv.push("quiet_from", "out_of_range");
        }
        if self.quiet_to > 23 {
            inv.push("quiet_to", "out_of_range");
        }
        inv.into_result()
    }

    /// Whether `hour` (0–23, China time) is in the quiet hours.
    pub fn is_quiet(&self, hour: u32) -> bool {
        let (from, to) = (self.quiet_from, self.quiet_to);
        if from == to {
            false
        } else if from < to {
            (from..to).contains(&hour)
        } else {
            hour >= from || hour < to
        }
    }

    /// Whether one more message fits when `sent` went out in the period.
    pub fn allows(&self, sent: u32) -> bool {
        sent < self.max_messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holdout_is_the_share_asked_for_and_the_same_each_time() {
        for percent in [0, 10, 25, 50] {
            let n = 20_000;
            let held = (1..=n).filter(|c| in_holdout(42, *c, percent)).count();
            let share = held as f64 / n as f64;
            assert!(
                (share - f64::from(percent) / 100.0).abs() < 0.01,
                "{percent} %: {share}"
            );
        }
        assert_eq!(in_holdout(7, 1234, 10), in_holdout(7, 1234, 10));
        // Another campaign draws another group.
        let a: Vec<bool> = (1..=1000).map(|c| in_holdout(1, c, 50)).collect();
        let b: Vec<bool> = (1..=1000).map(|c| in_holdout(2, c, 50)).collect();
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!((400..600).contains(&same), "{same} of 1000 alike");
        // Nearby customers are not drawn alike: no runs from consecutive ids.
        let runs = a.windows(2).filter(|w| w[0] != w[1]).count();
        assert!((400..600).contains(&runs), "{runs} changes");
    }

    #[test]
    fn quiet_hours_may_wrap_midnight() {
        let night = ContactBudget::default();
        assert!(night.is_quiet(21) && night.is_quiet(23) && night.is_quiet(0) && night.is_quiet(7));
        assert!(!night.is_quiet(8) && !night.is_quiet(20));
        let lunch = ContactBudget {
            quiet_from: 12,
            quiet_to: 14,
            ..night
        };
        assert!(lunch.is_quiet(12) && lunch.is_quiet(13) && !lunch.is_quiet(14));
        let none = ContactBudget {
            quiet_from: 9,
            quiet_to: 9,
            ..night
        };
        assert!((0..24).all(|h| !none.is_quiet(h)));
    }

    #[test]
    fn the_budget_counts_and_checks_its_fields() {
        let b = ContactBudget::default();
        assert!(b.allows(3) && !b.allows(4));
        let bad = ContactBudget {
            max_messages: 0,
            period_days: 400,
            quiet_from: 24,
            quiet_to: 3,
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["max_messages", "period_days", "quiet_from"]);
    }

    #[test]
    fn a_campaign_moves_only_forward_or_between_running_and_paused() {
        use CampaignStatus::*;
        assert!(Draft.may_become(Running) && Running.may_become(Paused));
        assert!(Paused.may_become(Running) && Paused.may_become(Stopped));
        assert!(!Stopped.may_become(Running) && !Draft.may_become(Paused));
        assert!(!Running.may_become(Draft));
    }

    #[test]
    fn yearly_dates_come_round_and_leap_days_fall_on_the_28th() {
        let d = |s: &str| s.parse::<crate::Date>().unwrap();
        assert_eq!(
            next_yearly(d("1990-12-20"), d("2026-12-06")),
            d("2026-12-20")
        );
        assert_eq!(
            next_yearly(d("1990-12-06"), d("2026-12-06")),
            d("2026-12-06")
        );
        assert_eq!(
            next_yearly(d("1990-03-01"), d("2026-12-06")),
            d("2027-03-01")
        );
        assert_eq!(
            next_yearly(d("2000-02-29"), d("2026-12-06")),
            d("2027-02-28")
        );
        assert_eq!(
            next_yearly(d("2000-02-29"), d("2027-12-06")),
            d("2028-02-29")
        );
    }

    #[test]
    fn journeys_wait_send_branch_forward_and_stop() {
        use Condition::*;
        let steps = vec![
            Step::Wait { days: 3 },
            Step::Stop {
                condition: Some(Bought),
            },
            Step::Branch {
                condition: Opened,
                to: 6,
            },
            Step::Send {
                channel: Channel::Email,
                text_id: 7,
            },
            Step::Stop { condition: None },
            Step::Send {
                channel: Channel::Callback,
                text_id: 8,
            },
        ];
        assert!(check_steps(&steps).is_ok());
        let nothing = |_: Condition| false;
        assert_eq!(
            next_move(&steps, 0, nothing),
            Move::Wait { days: 3, next: 1 }
        );
        // Nothing done: the reminder mail, then the end.
        assert_eq!(
            next_move(&steps, 1, nothing),
            Move::Send {
                channel: Channel::Email,
                text_id: 7,
                next: 4
            }
        );
        assert_eq!(next_move(&steps, 4, nothing), Move::End { stopped: true });
        // Opened: straight to the call-back.
        assert_eq!(
            next_move(&steps, 1, |c| c == Opened),
            Move::Send {
                channel: Channel::Callback,
                text_id: 8,
                next: 6
            }
        );
        assert_eq!(next_move(&steps, 6, nothing), Move::End { stopped: false });
        // Bought: the journey stops.
        assert_eq!(
            next_move(&steps, 1, |c| c == Bought || c == Opened),
            Move::End { stopped: true }
        );
        assert_eq!(next_move(&[], 0, nothing), Move::End { stopped: false });
    }

    #[test]
    fn steps_are_checked_by_number_and_jump_only_forward() {
        let bad = vec![
            Step::Wait { days: 0 },
            Step::Branch {
                condition: Condition::Clicked,
                to: 2,
            },
            Step::Branch {
                condition: Condition::Clicked,
                to: 9,
            },
            Step::Wait { days: 91 },
        ];
        let fields: Vec<String> = check_steps(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "steps[0].days",
                "steps[1].to",
                "steps[2].to",
                "steps[3].days"
            ]
        );
        let many = vec![Step::Wait { days: 1 }; MAX_STEPS + 1];
        assert_eq!(check_steps(&many).unwrap_err().0[0].field, "steps");
    }

    #[test]
    fn steps_read_and_write_as_tagged_json() {
        let s: Vec<Step> = serde_json::from_str(
            r#"[{"kind":"wait","days":2},{"kind":"send","channel":"portal","text_id":3},
                {"kind":"branch","condition":"clicked","to":4},{"kind":"stop"}]"#,
        )
        .unwrap();
        assert_eq!(s[3], Step::Stop { condition: None });
        assert!(serde_json::from_str::<Vec<Step>>(r#"[{"kind":"jump"}]"#).is_err());
        assert!(
            serde_json::from_str::<Vec<Step>>(r#"[{"kind":"send","channel":"fax","text_id":3}]"#)
                .is_err()
        );
    }

    #[test]
    fn occurrence_bits_are_stable_and_differ_by_occurrence() {
        let a = occurrence_bits(7, 42, "segment");
        assert_eq!(a, occurrence_bits(7, 42, "segment"));
        assert_ne!(a, occurrence_bits(7, 42, "asset:1:2027-01-01"));
        assert_ne!(a, occurrence_bits(8, 42, "segment"));
        assert_ne!(a, occurrence_bits(7, 43, "segment"));
    }
}
