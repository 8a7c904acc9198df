//! Campaigns: a library text sent to a saved segment or on an event, each occurrence to a
//! customer once, with a holdout group kept out to measure the uplift, under one contact
//! budget per customer.
//!
//! How an occurrence is decided, in order: no address on the channel, no consent to it,
//! drawn into the holdout, over the contact budget, else sent. The first two leave the
//! customer out of the comparison (the holdout is drawn among those the campaign could
//! reach); the budget holds back members of the contacted group, who stay in it (the
//! comparison is of who was meant to be contacted, not of who happened to be).

use crate::campaign_model::*;
use crate::care_model::Voucher;
use crate::desk_model::MessageText;
use crate::error::AppError;
use crate::jobs::changes;
use crate::ports::*;
use crate::service::{App, Principal};
use crate::value_model::SegmentFilter;
use aftercare_domain::Date;
use aftercare_domain::account::Permission;
use aftercare_domain::calendar::{china, china_date};
use aftercare_domain::campaign::{
    CallbackResult, CampaignStatus, Channel, Condition, ContactBudget, MAX_HOLDOUT_PERCENT, Move,
    Outcome, Step, Trigger, check_steps, in_holdout, next_move, next_yearly, occurrence_bits,
};
use aftercare_domain::care::{VoucherKind, VoucherSource, maintenance_due, voucher_code};
use aftercare_domain::error::required_text;
use aftercare_domain::lang::Lang;
use aftercare_domain::message::{check_fields, fill};
use aftercare_domain::{CustomerId, Invalid};
use aftercare_insight::uplift::uplift;
use jiff::ToSpan;
use std::collections::{HashMap, HashSet};

/// Recipients read and decided at a time.
const CHUNK: u32 = 1000;
/// A dry run looks this many days back for events.
const DRY_RUN_DAYS: i64 = 30;
/// Rows a dry run lists.
const DRY_RUN_ROWS: usize = 200;
/// A segment or the items of a warranty campaign are looked through this often (events
/// are read every round).
const SWEEP_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// Decisions one campaign makes in one round at most.
const DECISIONS_PER_ROUND: u64 = 20_000;
/// Occurrences decided and written in one transaction.
const ENROL_CHUNK: usize = 1000;
/// A request campaign mails what was resolved at most this long ago.
const RESOLVED_RECENTLY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
/// Change-log events a request campaign round reads.
const EVENTS_PER_ROUND: u32 = 2000;

/// What one campaign round did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignRound {
    /// Quiet hours: nothing was looked at.
    pub quiet: bool,
    pub events: usize,
    pub counts: OutcomeCounts,
    /// Campaigns whose part failed (logged); the others went on.
    pub failed: usize,
    /// A campaign stopped short at the round's limit: run another round at once.
    pub more: bool,
    /// Occurrences written (new, or no longer held back by the budget).
    pub written: u64,
    /// Journeys moved on a step.
    pub journeys: u64,
}

/// Journeys one campaign moves in one round at most.
const JOURNEYS_PER_ROUND: u64 = 20_000;
/// Journeys read and moved at a time.
const JOURNEY_CHUNK: u32 = 500;
/// A step the contact budget holds back is tried again this much later.
const PRESSURE_RETRY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// What one due journey does now: its move, with what its step sends (decided against the
/// customer's addresses, consents and contact budget).
#[allow(clippy::too_many_arguments)]
pub fn journey_move(
    c: &Campaign,
    j: &DueJourney,
    facts: JourneyFacts,
    texts: &HashMap<i64, MessageText>,
    budget: &ContactBudget,
    sent: &mut HashMap<CustomerId, u32>,
    now: jiff::Timestamp,
    public_url: &str,
) -> JourneyMove {
    let did = |k: Condition| match k {
        Condition::Opened => facts.opened || facts.clicked,
        Condition::Clicked => facts.clicked,
        Condition::Answered => facts.answered,
        Condition::Bought => facts.bought,
        Condition::Requested => facts.requested,
    };
    let mv = |to: usize, due_at, end, send| JourneyMove {
        id: j.id,
        customer_id: j.recipient.customer_id,
        from: j.step,
        from_due: j.due_at,
        to,
        due_at,
        end,
        send,
    };
    match next_move(&c.steps, j.step, did) {
        Move::End { stopped } => mv(
            j.step,
            now,
            Some(if stopped { "stopped" } else { "done" }),
            None,
        ),
        Move::Wait { days, next } => mv(
            next,
            now + jiff::SignedDuration::from_hours(24 * i64::from(days)),
            None,
            None,
        ),
        Move::Send {
            channel,
            text_id,
            next,
        } => {
            // A text withdrawn meanwhile sends nothing, spends nothing; the journey goes on.
            let Some(text) = texts.get(&text_id) else {
                return mv(next, now, None, None);
            };
            let r = &j.recipient;
            let consents = |k: &str| r.consent.split(',').any(|c| c.trim() == k);
            let blank = |v: Option<&str>| v.is_none_or(|v| v.trim().is_empty());
            let outcome = match channel {
                Channel::Email if blank(r.email.as_deref()) => Outcome::NoAddress,
                Channel::Email if !consents("email") => Outcome::NoConsent,
                Channel::Callback if blank(j.phone.as_deref()) => Outcome::NoAddress,
                Channel::Callback if !consents("phone") => Outcome::NoConsent,
                Channel::Portal if !j.portal => Outcome::NoAddress,
                _ => {
                    let n = sent.entry(r.customer_id).or_default();
                    if budget.allows(*n) {
                        *n += 1;
                        Outcome::Sent
                    } else {
                        Outcome::Pressure
                    }
                }
            };
            let mut send = StepSend {
                // The send's own step, past any branch taken on the way.
                step: next - 1,
                channel,
                outcome,
                mail: None,
                portal: None,
                callback: None,
            };
            if outcome == Outcome::Sent {
                let link = format!("{public_url}/c/{}", j.token);
                let (subject, body) = compose(c, text, r, None, &link);
                match channel {
                    Channel::Email => {
                        send.mail = Some(CampaignMail {
                            to: r.email.clone().unwrap_or_default(),
                            subject,
                            body,
                        })
                    }
                    Channel::Portal => send.portal = Some((subject, body)),
                    Channel::Callback => {
                        send.callback = Some((j.phone.clone().unwrap_or_default(), body))
                    }
                }
            }
            if outcome == Outcome::Pressure {
                // Tried again once the budget has room: the same step, a day later.
                mv(j.step, now + PRESSURE_RETRY, None, Some(send))
            } else {
                mv(next, now, None, Some(send))
            }
        }
    }
}

/// The fields a campaign text is filled in with, for one recipient (and their voucher).
fn fields_of(r: &Recipient, v: Option<&Voucher>, link: &str) -> Vec<(&'static str, String)> {
    let day = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        ("customer_name", r.name.clone()),
        (
            "request_number",
            r.request_number.clone().unwrap_or_default(),
        ),
        ("product_name", r.product_name.clone().unwrap_or_default()),
        ("warranty_end", day(r.ends_on)),
        ("maintenance_due", day(r.due_on)),
        (
            "voucher_code",
            v.map(|v| v.code.clone()).unwrap_or_default(),
        ),
        (
            "voucher_value",
            v.map(|v| voucher_value_text(v.kind, v.value))
                .unwrap_or_default(),
        ),
        ("voucher_until", day(v.map(|v| v.valid_until))),
        ("campaign_link", link.to_string()),
        ("improvement", r.improvement.clone().unwrap_or_default()),
    ]
}

/// A voucher's value as a customer reads it: ¥50.00, or 15%.
pub fn voucher_value_text(kind: VoucherKind, value: i64) -> String {
    match kind {
        VoucherKind::Amount => format!("¥{}", aftercare_domain::catalog::format_money(value)),
        VoucherKind::Percent => format!("{value}%"),
    }
}

/// The fields a trigger fills in: the customer's name always; the item and its warranty's
/// end for items, the request's number for requests.
pub fn fields_for(t: Trigger) -> &'static [&'static str] {
    match t {
        Trigger::Segment | Trigger::DateComing => &["customer_name"],
        Trigger::WarrantyEnding => &["customer_name", "product_name", "warranty_end"],
        Trigger::RequestResolved => &["customer_name", "request_number"],
        Trigger::BacklogShipped => &["customer_name", "improvement"],
        Trigger::NeedFound => &["customer_name"],
        Trigger::MaintenanceDue => &["customer_name", "product_name", "maintenance_due"],
    }
}

/// The field every campaign fills in: the link that leads to the portal and tells the
/// campaign the customer followed it.
pub const LINK_FIELD: &str = "campaign_link";

/// A fresh token for the link of one occurrence's messages: 128 random bits, kept with its
/// journey (written with the first mail, in one transaction), so nothing about the
/// campaign or the customer can be read from it or worked out from another.
pub fn new_link_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether a campaign follows the customers it mails: it has steps, or its first message
/// carries the link whose clicks it counts. Otherwise no journey is kept.
pub fn follows(c: &Campaign, text: &MessageText) -> bool {
    !c.steps.is_empty()
        || [
            &c.subject_zh_hans,
            &c.subject_zh_hant,
            &c.subject_en,
            &text.body_zh_hans,
            &text.body_zh_hant,
            &text.body_en,
        ]
        .iter()
        .any(|s| names_any(s, &[LINK_FIELD]))
}

/// Whether a text names one of these fields (`{product_name}`).
fn names_any(text: &str, fields: &[&str]) -> bool {
    fields.iter().any(|f| text.contains(&format!("{{{f}}}")))
}

/// Whether a text names a field of the library other than these: one that would reach
/// the customer blank.
fn names_other(text: &str, fields: &[&str]) -> bool {
    aftercare_domain::message::FIELDS
        .iter()
        .any(|f| !fields.contains(f) && names_any(text, &[f]))
}

/// The fields a campaign's voucher fills in.
pub const VOUCHER_FIELDS: &[&str] = &["voucher_code", "voucher_value", "voucher_until"];

/// The subject and text of a campaign in the recipient's language, filled in.
pub fn compose(
    c: &Campaign,
    text: &MessageText,
    r: &Recipient,
    v: Option<&Voucher>,
    link: &str,
) -> (String, String) {
    let lang = crate::customer_mail::mail_lang(r.lang.as_deref());
    let (subject, body) = match lang {
        Lang::ZhHans => (&c.subject_zh_hans, &text.body_zh_hans),
        Lang::ZhHant => (&c.subject_zh_hant, &text.body_zh_hant),
        Lang::En => (&c.subject_en, &text.body_en),
    };
    let fields = fields_of(r, v, link);
    let values: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (fill(subject, &values), fill(body, &values))
}

/// The voucher a campaign gives one occurrence, sent on `today`.
fn campaign_voucher(c: &Campaign, r: &Recipient, today: Date) -> Option<Voucher> {
    let g = c.voucher?;
    let until = today
        .checked_add(i64::from(g.days.max(1) - 1).days())
        .unwrap_or(today);
    Some(Voucher {
        id: 0,
        code: voucher_code(occurrence_bits(
            c.seed as u64,
            r.customer_id.get(),
            &r.occurrence,
        )),
        customer_id: r.customer_id,
        kind: g.kind,
        value: g.value,
        max_discount: g.max_discount,
        valid_from: today,
        valid_until: until,
        source: VoucherSource::Campaign,
        request_id: None,
        request_number: None,
        campaign_id: Some(c.id),
        campaign_name: Some(c.name.clone()),
        reason: c.name.clone(),
        issued_by: c.owner_name.clone(),
        issued_at: jiff::Timestamp::UNIX_EPOCH,
        order_id: None,
        order_number: None,
        discount: aftercare_domain::Money::ZERO,
        redeemed_at: None,
        cancelled_at: None,
        version: 1,
    })
}

/// Decides each recipient's occurrence (see the module's description). `sent` holds the
/// messages each customer had in the budget's period, and counts the ones decided here,
/// so that campaigns decided one after another share one budget.
pub fn decide(
    c: &Campaign,
    text: &MessageText,
    budget: &ContactBudget,
    recipients: &[Recipient],
    sent: &mut HashMap<CustomerId, u32>,
    now: jiff::Timestamp,
    public_url: &str,
) -> Vec<Enrolment> {
    let today = china_date(now);
    // Read once, not per recipient: whether the mail gets a journey and its link.
    let follow = follows(c, text);
    recipients
        .iter()
        .map(|r| {
            let outcome = if r.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
                Outcome::NoAddress
            } else if !r.consent.split(',').any(|c| c.trim() == "email") {
                Outcome::NoConsent
            } else if in_holdout(c.seed as u64, r.customer_id.get(), c.holdout_percent) {
                Outcome::HeldOut
            } else {
                let n = sent.entry(r.customer_id).or_default();
                if budget.allows(*n) {
                    *n += 1;
                    Outcome::Sent
                } else {
                    Outcome::Pressure
                }
            };
            let voucher = (outcome == Outcome::Sent)
                .then(|| campaign_voucher(c, r, today))
                .flatten()
                .map(|v| Voucher {
                    issued_at: now,
                    ..v
                });
            // A journey (and its link) only where there is something to follow: steps, or a
            // link to count the clicks of.
            let token = (outcome == Outcome::Sent && follow).then(new_link_token);
            let mail = (outcome == Outcome::Sent).then(|| {
                let link = token
                    .as_ref()
                    .map(|t| format!("{public_url}/c/{t}"))
                    .unwrap_or_default();
                let (subject, body) = compose(c, text, r, voucher.as_ref(), &link);
                CampaignMail {
                    to: r.email.clone().unwrap_or_default(),
                    subject,
                    body,
                }
            });
            Enrolment {
                customer_id: r.customer_id,
                occurrence: r.occurrence.clone(),
                outcome,
                token,
                fields: OccurrenceFields::of(r),
                mail,
                voucher,
            }
        })
        .collect()
}

/// A campaign's results from its members' activity: the counts, what the mailed members
/// bought within the window after their first mail (attributed), and each measure's
/// uplift against the holdout.
///
/// An order counts from the moment of the contact and by the day it was placed: an order
/// recorded after the contact but placed before it (an import of old orders) does not.
pub fn results(window_days: u32, a: &CampaignActivity) -> CampaignResults {
    let mut counts = OutcomeCounts::default();
    for m in &a.members {
        counts.add(m.outcome, 1);
    }
    let window = i64::from(window_days);
    let mut orders: HashMap<CustomerId, Vec<(jiff::Timestamp, jiff::civil::Date, i64)>> =
        HashMap::new();
    for (c, at, on, total) in &a.orders {
        orders.entry(*c).or_default().push((*at, *on, *total));
    }
    let mut requests: HashMap<CustomerId, Vec<(jiff::Timestamp, bool)>> = HashMap::new();
    for (c, at, complaint) in &a.requests {
        requests.entry(*c).or_default().push((*at, *complaint));
    }
    let clv: HashMap<CustomerId, f64> = a.clv.iter().copied().collect();
    let mut moves: HashMap<CustomerId, Vec<(jiff::Timestamp, Option<usize>, usize)>> =
        HashMap::new();
    for (c, at, from, to) in &a.stage_moves {
        moves.entry(*c).or_default().push((*at, *from, *to));
    }
    let bought_after = |m: &MemberActivity| -> Vec<i64> {
        let day = china_date(m.at);
        let last = day.checked_add(window.days()).unwrap_or(day);
        orders
            .get(&m.customer_id)
            .into_iter()
            .flatten()
            .filter(|(at, on, _)| *at >= m.at && *on >= day && *on <= last)
            .map(|(_, _, t)| *t)
            .collect()
    };
    let earliest =
        |into: &mut HashMap<(CustomerId, bool), MemberActivity>, key, m: &MemberActivity| {
            let e = into.entry(key).or_insert_with(|| m.clone());
            if m.at < e.at {
                *e = m.clone();
            }
        };
    // Each customer once per group, from their first occurrence: a customer reached
    // twice does not weigh double. Attribution runs from their first mail.
    let mut first: HashMap<(CustomerId, bool), MemberActivity> = HashMap::new();
    let mut mailed: HashMap<(CustomerId, bool), MemberActivity> = HashMap::new();
    for m in &a.members {
        let held = match m.outcome {
            Outcome::HeldOut => true,
            Outcome::Sent | Outcome::Pressure => false,
            Outcome::NoConsent | Outcome::NoAddress => continue,
        };
        earliest(&mut first, (m.customer_id, held), m);
        if m.outcome == Outcome::Sent {
            earliest(&mut mailed, (m.customer_id, false), m);
        }
    }
    let (mut attributed_orders, mut attributed_revenue) = (0u64, 0i64);
    for m in mailed.values() {
        let bought = bought_after(m);
        attributed_orders += bought.len() as u64;
        attributed_revenue += bought.iter().sum::<i64>();
    }
    // (bought, revenue, requests, complaints, CLV, moved up) per customer, per group.
    let mut groups: [Vec<[f64; 6]>; 2] = [vec![], vec![]];
    let mut keys: Vec<_> = first.keys().copied().collect();
    keys.sort_unstable_by_key(|(c, h)| (c.get(), *h));
    for key in keys {
        let m = &first[&key];
        let bought = bought_after(m);
        let until = m.at + jiff::SignedDuration::from_hours(24 * window);
        let asked: Vec<bool> = requests
            .get(&m.customer_id)
            .into_iter()
            .flatten()
            .filter(|(at, _)| *at >= m.at && *at <= until)
            .map(|(_, c)| *c)
            .collect();
        // Up by the end of the window from where they stood at the contact: a move up
        // taken back within the window does not count.
        let mut within: Vec<&(jiff::Timestamp, Option<usize>, usize)> = moves
            .get(&m.customer_id)
            .into_iter()
            .flatten()
            .filter(|(at, _, _)| *at >= m.at && *at <= until)
            .collect();
        within.sort_by_key(|(at, _, _)| *at);
        let moved_up = match (within.first(), within.last()) {
            (Some((_, from, first_to)), Some((_, _, last_to))) => {
                *last_to > from.unwrap_or(*first_to)
            }
            _ => false,
        };
        groups[usize::from(key.1)].push([
            f64::from(u8::from(!bought.is_empty())),
            bought.iter().sum::<i64>() as f64,
            asked.len() as f64,
            asked.iter().filter(|c| **c).count() as f64,
            clv.get(&m.customer_id).copied().unwrap_or(0.0),
            f64::from(u8::from(moved_up)),
        ]);
    }
    let measure = |i: usize| {
        let col = |g: &Vec<[f64; 6]>| g.iter().map(|r| r[i]).collect::<Vec<_>>();
        uplift(&col(&groups[0]), &col(&groups[1]))
    };
    CampaignResults {
        contacted: groups[0].len() as u64,
        held_out: groups[1].len() as u64,
        counts,
        attributed_orders,
        attributed_revenue,
        purchase_rate: measure(0),
        revenue: measure(1),
        requests: measure(2),
        complaints: measure(3),
        clv: measure(4),
        stage_up: measure(5),
        journeys: JourneyStats::default(),
    }
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + CampaignStore
        + CareStore
        + ValueStore
        + CatalogueStore
        + DeskSetupStore
        + ChangeLog,
{
    fn may_see_campaigns(p: &Principal) -> Result<(), AppError> {
        p.require(Permission::Campaigns)
            .or_else(|_| p.require(Permission::Analyze))
    }

    pub async fn campaigns(
        &self,
        p: &Principal,
    ) -> Result<Vec<(Campaign, OutcomeCounts)>, AppError> {
        Self::may_see_campaigns(p)?;
        Ok(self.store.campaigns().await?)
    }

    pub async fn campaign(&self, p: &Principal, id: i64) -> Result<Campaign, AppError> {
        Self::may_see_campaigns(p)?;
        self.store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound("campaign"))
    }

    pub async fn create_campaign(&self, p: &Principal, i: &CampaignInput) -> Result<i64, AppError> {
        p.require(Permission::Campaigns)?;
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&i.name, 80));
        let trigger = inv.check("trigger", Trigger::parse(&i.trigger));
        let mut subjects = Vec::new();
        for (field, s) in [
            ("subject_zh_hans", &i.subject_zh_hans),
            ("subject_zh_hant", &i.subject_zh_hant),
            ("subject_en", &i.subject_en),
        ] {
            let s = inv.check(field, required_text(s, 120));
            if let Some(s) = &s {
                inv.check(field, check_fields(s));
            }
            subjects.push(s.unwrap_or_default());
        }
        let holdout_percent = i.holdout_percent.unwrap_or(10);
        if holdout_percent > MAX_HOLDOUT_PERCENT {
            inv.push("holdout_percent", "out_of_range");
        }
        let window_days = i.window_days.unwrap_or(30);
        if !(1..=365).contains(&window_days) {
            inv.push("window_days", "out_of_range");
        }
        let lead_days = match trigger {
            Some(Trigger::DateComing) => {
                let d = i.lead_days.unwrap_or(7);
                if d > 60 {
                    inv.push("lead_days", "out_of_range");
                }
                d
            }
            Some(t) if t.looks_ahead() => {
                let d = i.lead_days.unwrap_or(30);
                if !(1..=180).contains(&d) {
                    inv.push("lead_days", "out_of_range");
                }
                d
            }
            _ => 0,
        };
        let voucher = match i.voucher_kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => {
                let kind = inv.check("voucher_kind", VoucherKind::parse(k));
                let raw = i.voucher_value.as_deref().unwrap_or("").trim();
                let value = match kind {
                    Some(VoucherKind::Amount) => {
                        match aftercare_domain::catalog::parse_money(raw) {
                            Ok(v) if v > 0 && v <= crate::care::MAX_VOUCHER_AMOUNT => Some(v),
                            Ok(_) => {
                                inv.push("voucher_value", "out_of_range");
                                None
                            }
                            Err(code) => {
                                inv.push("voucher_value", code);
                                None
                            }
                        }
                    }
                    Some(VoucherKind::Percent) => match raw.parse::<i64>() {
                        Ok(v) if (1..=100).contains(&v) => Some(v),
                        _ => {
                            inv.push("voucher_value", "percent_out_of_range");
                            None
                        }
                    },
                    None => None,
                };
                let days = i.voucher_days.unwrap_or(30);
                if !(1..=366).contains(&days) {
                    inv.push("voucher_days", "out_of_range");
                }
                // Those who do not run the desk give what an agent may give, per customer.
                let capped = !p.role.allows(Permission::ManageDesk);
                if let (Some(k), Some(v)) = (kind, value)
                    && capped
                    && crate::care::over_limit(k, v)
                {
                    inv.push("voucher_value", "over_your_limit");
                }
                kind.zip(value).map(|(kind, value)| CampaignVoucher {
                    kind,
                    value,
                    days,
                    max_discount: (capped && kind == VoucherKind::Percent)
                        .then_some(crate::care::RECOVERY_AMOUNT_CAP),
                })
            }
        };
        let mut segment = None;
        if trigger == Some(Trigger::Segment) {
            match i.segment_id {
                None => inv.push("segment_id", "required"),
                Some(id) => match self.store.segments().await?.into_iter().find(|s| s.0 == id) {
                    None => inv.push("segment_id", "segment_unknown"),
                    Some((_, name, filter, _)) => segment = Some((name, filter)),
                },
            }
        }
        let text = self.store.message_text(i.text_id).await?;
        match &text {
            None => inv.push("text_id", "text_unknown"),
            Some(t) if t.status != "approved" => inv.push("text_id", "text_not_approved"),
            Some(_) => {}
        }
        // A field the trigger cannot fill would reach the customer empty.
        if let Some(tr) = trigger {
            let mut fillable = fields_for(tr).to_vec();
            fillable.push(LINK_FIELD);
            if voucher.is_some()
                || i.voucher_kind
                    .as_deref()
                    .is_some_and(|k| !k.trim().is_empty())
            {
                fillable.extend_from_slice(VOUCHER_FIELDS);
            }
            let unfillable = |s: &str| names_other(s, &fillable);
            for (field, s) in [
                ("subject_zh_hans", &i.subject_zh_hans),
                ("subject_zh_hant", &i.subject_zh_hant),
                ("subject_en", &i.subject_en),
            ] {
                if unfillable(s) {
                    inv.push(field, "field_not_for_trigger");
                }
            }
            if let Some(t) = &text
                && [&t.body_zh_hans, &t.body_zh_hant, &t.body_en]
                    .iter()
                    .any(|b| unfillable(b))
            {
                inv.push("text_id", "field_not_for_trigger");
            }
        }
        if let Err(e) = check_steps(&i.steps) {
            inv.0.extend(e.0);
        }
        // Too many steps are refused as such; their texts are not looked up one by one.
        let steps = if i.steps.len() > aftercare_domain::campaign::MAX_STEPS {
            &[][..]
        } else {
            &i.steps[..]
        };
        // Later messages reuse the subjects, without the first mail's voucher.
        if steps.iter().any(|s| matches!(s, Step::Send { .. })) {
            for (field, subject) in [
                ("subject_zh_hans", &i.subject_zh_hans),
                ("subject_zh_hant", &i.subject_zh_hant),
                ("subject_en", &i.subject_en),
            ] {
                if names_any(subject, VOUCHER_FIELDS) {
                    inv.push(field, "field_not_for_trigger");
                }
            }
        }
        // A later step knows the customer, the occurrence and the link; a voucher goes
        // with the first message only.
        let mut step_fields = trigger.map(fields_for).unwrap_or(&[]).to_vec();
        step_fields.push(LINK_FIELD);
        let mut texts_seen: HashMap<i64, Option<MessageText>> = HashMap::new();
        for (n, step) in steps.iter().enumerate() {
            if let Step::Send { text_id, .. } = step {
                let text = match texts_seen.get(text_id) {
                    Some(t) => t.clone(),
                    None => {
                        let t = self.store.message_text(*text_id).await?;
                        texts_seen.insert(*text_id, t.clone());
                        t
                    }
                };
                match text {
                    None => inv.push(format!("steps[{n}].text_id"), "text_unknown"),
                    Some(t) if t.status != "approved" => {
                        inv.push(format!("steps[{n}].text_id"), "text_not_approved")
                    }
                    Some(t) => {
                        let unfillable = [&t.body_zh_hans, &t.body_zh_hant, &t.body_en]
                            .iter()
                            .any(|b| names_other(b, &step_fields));
                        if unfillable {
                            inv.push(format!("steps[{n}].text_id"), "field_not_for_trigger");
                        }
                    }
                }
            }
        }
        inv.into_result()?;
        let (Some(name), Some(trigger), Some(text)) = (name, trigger, text) else {
            return Err(AppError::Internal("campaign checked without values".into()));
        };
        let now = self.clock.now();
        let [zh_hans, zh_hant, en]: [String; 3] = subjects
            .try_into()
            .map_err(|_| AppError::Internal("three subjects".into()))?;
        let c = Campaign {
            id: 0,
            name,
            trigger,
            segment_name: segment.as_ref().map(|s| s.0.clone()),
            audience: segment.map(|s| s.1),
            lead_days,
            text_id: text.id,
            text_name: text.name,
            subject_zh_hans: zh_hans,
            subject_zh_hant: zh_hant,
            subject_en: en,
            holdout_percent,
            voucher,
            seed: rand::random::<i64>(),
            window_days,
            steps: i.steps.clone(),
            status: CampaignStatus::Draft,
            started_at: None,
            stopped_at: None,
            swept_at: None,
            sweep_after: 0,
            owner_name: p.user.name.clone(),
            created_at: now,
            version: 1,
        };
        Ok(self
            .store
            .create_campaign(&p.actor(), &c, Some(p.user.id))
            .await?)
    }

    /// Starts, pauses, resumes or stops a campaign. A campaign starts only with its text
    /// still approved.
    pub async fn set_campaign_status(
        &self,
        p: &Principal,
        id: i64,
        i: &CampaignStatusInput,
    ) -> Result<Campaign, AppError> {
        p.require(Permission::Campaigns)?;
        let to = CampaignStatus::parse(&i.status).map_err(|c| Invalid::one("status", c))?;
        let c = self.campaign(p, id).await?;
        if c.status == to {
            return Ok(c);
        }
        if !c.status.may_become(to) {
            return Err(AppError::Conflict {
                code: "campaign_status_invalid",
                field: Some("status".into()),
            });
        }
        if to == CampaignStatus::Running {
            let text = self.store.message_text(c.text_id).await?;
            if text.is_none_or(|t| t.status != "approved") {
                return Err(Invalid::one("text_id", "text_not_approved").into());
            }
            for (n, step) in c.steps.iter().enumerate() {
                if let Step::Send { text_id, .. } = step {
                    let t = self.store.message_text(*text_id).await?;
                    if t.is_none_or(|t| t.status != "approved") {
                        return Err(Invalid::one(
                            format!("steps[{n}].text_id"),
                            "text_not_approved",
                        )
                        .into());
                    }
                }
            }
        }
        self.store
            .set_campaign_status(&p.actor(), id, i.version, to, self.clock.now())
            .await
            .map_err(AppError::from_store("campaign"))?;
        self.campaign(p, id).await
    }

    pub async fn contact_budget_now(&self) -> Result<ContactBudget, AppError> {
        Ok(self.store.contact_budget().await?.unwrap_or_default())
    }

    pub async fn contact_budget(&self, p: &Principal) -> Result<ContactBudget, AppError> {
        Self::may_see_campaigns(p)?;
        self.contact_budget_now().await
    }

    pub async fn set_contact_budget(
        &self,
        p: &Principal,
        b: &ContactBudget,
    ) -> Result<(), AppError> {
        p.require(Permission::Campaigns)?;
        b.check()?;
        Ok(self
            .store
            .set_contact_budget(&p.actor(), b, self.clock.now())
            .await?)
    }

    /// The messages each recipient had within the budget's period, as a map to count on.
    async fn sent_map(
        &self,
        budget: &ContactBudget,
        recipients: &[Recipient],
        sent: &mut HashMap<CustomerId, u32>,
    ) -> Result<(), AppError> {
        let since =
            self.clock.now() - jiff::SignedDuration::from_hours(24 * i64::from(budget.period_days));
        let unknown: Vec<CustomerId> = recipients
            .iter()
            .map(|r| r.customer_id)
            .filter(|c| !sent.contains_key(c))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in unknown.chunks(CHUNK as usize) {
            for c in chunk {
                sent.insert(*c, 0);
            }
            for (c, n) in self.store.contacts_since(chunk, since).await? {
                sent.insert(c, n);
            }
        }
        Ok(())
    }

    /// The days an item's guarantee may end on for a reminder `lead_days` ahead, from
    /// `first` to `last`: the items whose guarantee started that many months before.
    async fn warranty_recipients(
        &self,
        first: jiff::civil::Date,
        last: jiff::civil::Date,
    ) -> Result<Vec<Recipient>, AppError> {
        let mut out = Vec::new();
        for policy in self.store.policies().await? {
            if policy.repair_months <= 0 {
                continue;
            }
            let months = policy.repair_months.months();
            // Month arithmetic clamps (31 Mar + 1 month = 30 Apr), so the start window is
            // widened by a few days and each item's end checked exactly.
            let (Ok(from), Ok(to)) = (
                first
                    .checked_sub(months)
                    .and_then(|d| d.checked_sub(3.days())),
                last.checked_sub(months)
                    .and_then(|d| d.checked_add(3.days())),
            ) else {
                continue;
            };
            for a in self
                .store
                .assets_starting(policy.id.get(), from, to)
                .await?
            {
                let Ok(ends) = a.starts.checked_add(months) else {
                    continue;
                };
                if ends < first || ends > last {
                    continue;
                }
                let mut r = a.recipient;
                r.at = self.clock.now();
                r.ends_on = Some(ends);
                r.occurrence = format!("asset:{}:{ends}", a.asset_id);
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The occurrences of a looking-ahead trigger that fall from `first` to `last`.
    async fn ahead_recipients(
        &self,
        t: Trigger,
        first: Date,
        last: Date,
    ) -> Result<Vec<Recipient>, AppError> {
        match t {
            Trigger::WarrantyEnding => self.warranty_recipients(first, last).await,
            Trigger::MaintenanceDue => self.maintenance_recipients(first, last).await,
            Trigger::DateComing => self.date_recipients(first, last).await,
            Trigger::Segment
            | Trigger::RequestResolved
            | Trigger::BacklogShipped
            | Trigger::NeedFound => Ok(vec![]),
        }
    }

    /// Items due for maintenance from `first` to `last`, once per item and due date.
    async fn maintenance_recipients(
        &self,
        first: Date,
        last: Date,
    ) -> Result<Vec<Recipient>, AppError> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.scheduled_items(after, CHUNK * 5).await?;
            let Some(l) = page.last() else { break };
            after = l.asset_id;
            let full = page.len() == (CHUNK * 5) as usize;
            for it in page {
                let due = maintenance_due(it.every_months, it.received, it.last_service);
                if due < first || due > last {
                    continue;
                }
                let mut r = it.recipient;
                r.at = self.clock.now();
                r.due_on = Some(due);
                r.occurrence = format!("maintenance:{}:{due}", it.asset_id);
                out.push(r);
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Important dates and birthdays that come round from `first` to `last`, once per date
    /// and year.
    async fn date_recipients(&self, first: Date, last: Date) -> Result<Vec<Recipient>, AppError> {
        let mut out = Vec::new();
        // A birthday kept both on the profile and among the dates is greeted once.
        let mut seen: HashSet<(CustomerId, Date)> = HashSet::new();
        for birthdays in [true, false] {
            let mut after = 0;
            loop {
                let page = if birthdays {
                    self.store.birthdays(after, CHUNK * 5).await?
                } else {
                    self.store.important_dates(after, CHUNK * 5).await?
                };
                let Some(l) = page.last() else { break };
                after = l.id;
                let full = page.len() == (CHUNK * 5) as usize;
                for d in page {
                    // A day that is not a date is skipped, not fatal to the campaign.
                    let Some(day) = d.day else { continue };
                    let next = next_yearly(day, first);
                    if next > last || !seen.insert((d.recipient.customer_id, next)) {
                        continue;
                    }
                    let mut r = d.recipient;
                    r.at = self.clock.now();
                    r.occurrence = if birthdays {
                        format!("birthday:{}", next.year())
                    } else {
                        format!("date:{}:{}", d.id, next.year())
                    };
                    out.push(r);
                }
                if !full {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Every recipient of a segment campaign, read in chunks.
    async fn segment_audience(&self, c: &Campaign) -> Result<Vec<Recipient>, AppError> {
        let filter: SegmentFilter = c
            .audience
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .ok_or_else(|| AppError::Internal(format!("campaign {} has no audience", c.id)))?;
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.segment_recipients(&filter, after, CHUNK).await?;
            let Some(last) = page.last() else { break };
            after = last.customer_id.get();
            let done = page.len() < CHUNK as usize;
            let now = self.clock.now();
            out.extend(page.into_iter().map(|r| Recipient { at: now, ..r }));
            if done {
                break;
            }
        }
        Ok(out)
    }

    async fn approved_text(&self, c: &Campaign) -> Result<Option<MessageText>, AppError> {
        Ok(self
            .store
            .message_text(c.text_id)
            .await?
            .filter(|t| t.status == "approved"))
    }

    /// Who the campaign would reach and how, without sending or writing anything: the
    /// segment as it is now, or the events of the last 30 days.
    pub async fn dry_run(&self, p: &Principal, id: i64) -> Result<DryRun, AppError> {
        p.require(Permission::Campaigns)?;
        let c = self.campaign(p, id).await?;
        let text = self
            .store
            .message_text(c.text_id)
            .await?
            .ok_or(AppError::NotFound("message_text"))?;
        let to = self.clock.now();
        let from = to - jiff::SignedDuration::from_hours(24 * DRY_RUN_DAYS);
        let recipients = match c.trigger {
            Trigger::Segment => self.segment_audience(&c).await?,
            Trigger::WarrantyEnding | Trigger::MaintenanceDue | Trigger::DateComing => {
                let lead = i64::from(c.lead_days).days();
                let first = china_date(from).checked_add(lead).map_err(internal)?;
                let last = china_date(to).checked_add(lead).map_err(internal)?;
                self.ahead_recipients(c.trigger, first, last).await?
            }
            Trigger::RequestResolved => self.store.resolved_between(from, to, 100_000).await?,
            Trigger::BacklogShipped => self.store.shipped_between(from, to, 100_000).await?,
            Trigger::NeedFound => self.store.needs_between(from, to, 100_000).await?,
        };
        let budget = self.contact_budget_now().await?;
        let mut sent = HashMap::new();
        self.sent_map(&budget, &recipients, &mut sent).await?;
        let decided = decide(
            &c,
            &text,
            &budget,
            &recipients,
            &mut sent,
            self.clock.now(),
            &self.public_url,
        );
        let mut counts = OutcomeCounts::default();
        for e in &decided {
            counts.add(e.outcome, 1);
        }
        let rows = decided
            .into_iter()
            .zip(&recipients)
            .take(DRY_RUN_ROWS)
            .map(|(e, r)| DryRunRow {
                customer_id: r.customer_id,
                name: r.name.clone(),
                occurrence: r.occurrence.clone(),
                outcome: e.outcome,
                subject: e.mail.as_ref().map(|m| m.subject.clone()),
                body: e.mail.map(|m| m.body),
            })
            .collect();
        Ok(DryRun {
            from,
            to,
            counts,
            rows,
        })
    }

    /// Decides and writes the recipients not decided yet, counting what became of them;
    /// false when the campaign was paused or stopped meanwhile (the rest is left).
    async fn enrol_new(
        &self,
        c: &Campaign,
        text: &MessageText,
        budget: &ContactBudget,
        recipients: Vec<Recipient>,
        sent: &mut HashMap<CustomerId, u32>,
        round: &mut CampaignRound,
    ) -> Result<bool, AppError> {
        for chunk in recipients.chunks(ENROL_CHUNK) {
            let running = self
                .store
                .campaign(c.id)
                .await?
                .is_some_and(|k| k.status == CampaignStatus::Running);
            if !running {
                return Ok(false);
            }
            let keys: Vec<(CustomerId, String)> = chunk
                .iter()
                .map(|r| (r.customer_id, r.occurrence.clone()))
                .collect();
            let done: HashSet<(CustomerId, String)> =
                self.store.decided(c.id, &keys).await?.into_iter().collect();
            let fresh: Vec<Recipient> = chunk
                .iter()
                .filter(|r| !done.contains(&(r.customer_id, r.occurrence.clone())))
                .cloned()
                .collect();
            if fresh.is_empty() {
                continue;
            }
            // The budget matters only to those who would be mailed: not to the
            // unreachable, nor to the holdout.
            let may_be_mailed: Vec<Recipient> = fresh
                .iter()
                .filter(|r| {
                    r.email.as_deref().is_some_and(|e| !e.trim().is_empty())
                        && r.consent.split(',').any(|c| c.trim() == "email")
                        && !in_holdout(c.seed as u64, r.customer_id.get(), c.holdout_percent)
                })
                .cloned()
                .collect();
            self.sent_map(budget, &may_be_mailed, sent).await?;
            let decided = decide(
                c,
                text,
                budget,
                &fresh,
                sent,
                self.clock.now(),
                &self.public_url,
            );
            round.written += self.store.enrol(c, &decided, self.clock.now()).await?;
            for e in &decided {
                round.counts.add(e.outcome, 1);
            }
        }
        Ok(true)
    }

    /// One campaign's part of a round: at most [`DECISIONS_PER_ROUND`] decisions, so that
    /// a round stays short (the job's lease outlives it) and a pause or stop takes effect
    /// between chunks. A sweep that stopped short is taken up again next round.
    async fn run_campaign(
        &self,
        c: &Campaign,
        budget: &ContactBudget,
        happened: &[Recipient],
        sent: &mut HashMap<CustomerId, u32>,
        round: &mut CampaignRound,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let sweep = !c.trigger.on_events();
        // A sweep under way goes on at once; a finished one waits its turn; an event
        // campaign waits for its events. Nothing is read before.
        if sweep && c.sweep_after == 0 && c.swept_at.is_some_and(|at| now - SWEEP_EVERY < at) {
            return Ok(());
        }
        if !sweep && happened.is_empty() {
            return Ok(());
        }
        let Some(text) = self.approved_text(c).await? else {
            tracing::warn!(
                campaign = c.id,
                "campaign text no longer approved: nothing sent"
            );
            return Ok(());
        };
        // Progress is what was written: an occurrence the budget still holds back is
        // decided again without being written, and must not fill the round.
        let start = round.written;
        let mut complete = true;
        let mut upto = None;
        match c.trigger {
            Trigger::Segment => {
                let filter: SegmentFilter = c
                    .audience
                    .as_deref()
                    .and_then(|a| serde_json::from_str(a).ok())
                    .ok_or_else(|| {
                        AppError::Internal(format!("campaign {} has no audience", c.id))
                    })?;
                // From where the last round stopped.
                let mut after = c.sweep_after;
                loop {
                    let page = self.store.segment_recipients(&filter, after, CHUNK).await?;
                    let full = page.len() == CHUNK as usize;
                    let page: Vec<Recipient> = page
                        .into_iter()
                        .map(|r| Recipient { at: now, ..r })
                        .collect();
                    let Some(last) = page.last().map(|r| r.customer_id.get()) else {
                        break;
                    };
                    if !self.enrol_new(c, &text, budget, page, sent, round).await? {
                        // Paused or stopped: a resumed campaign goes on from here.
                        complete = false;
                        upto = Some(after);
                        break;
                    }
                    after = last;
                    if !full {
                        break;
                    }
                    if round.written - start >= DECISIONS_PER_ROUND {
                        complete = false;
                        upto = Some(after);
                        round.more = true;
                        break;
                    }
                }
            }
            Trigger::WarrantyEnding | Trigger::MaintenanceDue | Trigger::DateComing => {
                let today = china_date(now);
                let last = today
                    .checked_add(i64::from(c.lead_days).days())
                    .map_err(internal)?;
                let recipients = self.ahead_recipients(c.trigger, today, last).await?;
                for chunk in recipients.chunks(CHUNK as usize) {
                    if !self
                        .enrol_new(c, &text, budget, chunk.to_vec(), sent, round)
                        .await?
                    {
                        complete = false;
                        break;
                    }
                    if round.written - start >= DECISIONS_PER_ROUND {
                        complete = false;
                        round.more = true;
                        break;
                    }
                }
            }
            // What happened since the campaign started, and lately: a request resolved
            // while the campaign was paused and touched again later is not mailed days late,
            // nor is old feedback taken in today.
            Trigger::RequestResolved | Trigger::BacklogShipped | Trigger::NeedFound => {
                let recent = now - RESOLVED_RECENTLY;
                let fresh = happened
                    .iter()
                    .filter(|r| c.started_at.is_some_and(|s| r.at >= s) && r.at >= recent)
                    .cloned()
                    .collect();
                self.enrol_new(c, &text, budget, fresh, sent, round).await?;
            }
        }
        if sweep && complete {
            self.store.mark_swept(c.id, now, None).await?;
        } else if let Some(after) = upto {
            self.store.mark_swept(c.id, now, Some(after)).await?;
        }
        Ok(())
    }

    /// One round of every running campaign: segment members not reached yet, items whose
    /// guarantee ends within the lead days, requests resolved since the last round. In
    /// the quiet hours nothing is looked at (the change log waits for the next round).
    pub async fn campaign_round(&self) -> Result<CampaignRound, AppError> {
        let budget = self.contact_budget_now().await?;
        let now = self.clock.now();
        let hour = now.to_zoned(china()).hour();
        let mut round = CampaignRound::default();
        if budget.is_quiet(hour as u32) {
            round.quiet = true;
            return Ok(round);
        }
        let campaigns = self.store.running_campaigns().await?;
        let mut sent = HashMap::new();
        let batch = self
            .read_changes(changes::CAMPAIGN, EVENTS_PER_ROUND, changes::CAMPAIGN_READS)
            .await?;
        round.events = batch.span();
        round.more |= batch.full(EVENTS_PER_ROUND);
        // What the events brought, per event trigger a running campaign has.
        let mut happened: HashMap<Trigger, Vec<Recipient>> = HashMap::new();
        for t in [
            Trigger::RequestResolved,
            Trigger::BacklogShipped,
            Trigger::NeedFound,
        ] {
            if batch.is_empty() || !campaigns.iter().any(|c| c.trigger == t) {
                continue;
            }
            let found = match t {
                Trigger::RequestResolved => {
                    self.store
                        .resolved_request_recipients(&changes::ids_of(&batch.events, "request"))
                        .await?
                }
                Trigger::BacklogShipped => self.shipped_now(&batch.events).await?,
                _ => self.needs_now(&batch.events, now).await?,
            };
            happened.insert(t, found);
        }
        // One campaign that fails (a corrupt audience, say) is logged and skipped; the
        // others go on, and so does the change log.
        for c in &campaigns {
            let ran = match self
                .run_campaign(
                    c,
                    &budget,
                    happened.get(&c.trigger).map_or(&[], Vec::as_slice),
                    &mut sent,
                    &mut round,
                )
                .await
            {
                Ok(()) => self.run_journeys(c, &budget, &mut sent, &mut round).await,
                Err(e) => Err(e),
            };
            if let Err(e) = ran {
                tracing::warn!(campaign = c.id, error = %e, "campaign round failed");
                round.failed += 1;
            }
        }
        self.consumed(changes::CAMPAIGN, &batch).await?;
        Ok(round)
    }

    /// Who an improvement shipped reaches, from this round's events: the customers whose
    /// feedback is linked to an improvement just marked shipped, and those whose feedback
    /// was just linked to one already shipped; each at the time of its event.
    async fn shipped_now(
        &self,
        events: &[crate::model::ChangeEvent],
    ) -> Result<Vec<Recipient>, AppError> {
        let when = event_times(events);
        let mut out = self
            .store
            .shipped_recipients(&changes::ids_of(events, "improvement"))
            .await?;
        for r in &mut out {
            if let Some(at) = record_of(&r.occurrence, "improvement:")
                .and_then(|id| when.get(&("improvement", id)))
            {
                r.at = *at;
            }
        }
        let newest = events.iter().filter_map(|e| e.at.parse().ok()).max();
        for mut r in self
            .store
            .shipped_for_feedback(&changes::ids_of(events, "feedback"))
            .await?
        {
            if let Some(at) = newest {
                r.at = at;
            }
            out.push(r);
        }
        Ok(out)
    }

    /// Who an inducible need found reaches, from this round's events: the customer of
    /// feedback received in the last 30 days (old reviews taken in today are not followed
    /// up), at the time the need was found; once a day per customer, however many messages
    /// showed it.
    async fn needs_now(
        &self,
        events: &[crate::model::ChangeEvent],
        now: jiff::Timestamp,
    ) -> Result<Vec<Recipient>, AppError> {
        let when = event_times(events);
        let oldest = now - jiff::SignedDuration::from_hours(24 * NEED_FEEDBACK_DAYS);
        let mut out = Vec::new();
        for mut r in self
            .store
            .need_recipients(&changes::ids_of(events, "feedback"))
            .await?
        {
            if r.at < oldest {
                continue;
            }
            if let Some(at) =
                record_of(&r.occurrence, "feedback:").and_then(|id| when.get(&("feedback", id)))
            {
                r.at = *at;
            }
            r.occurrence = format!("need:{}", china_date(r.at));
            out.push(r);
        }
        Ok(out)
    }

    /// Moves a campaign's due journeys on: waits, sends on each channel (under the consent
    /// and the contact budget), branches and stops. At most [`JOURNEYS_PER_ROUND`]; a
    /// journey moved by another server meanwhile is left to it.
    async fn run_journeys(
        &self,
        c: &Campaign,
        budget: &ContactBudget,
        sent: &mut HashMap<CustomerId, u32>,
        round: &mut CampaignRound,
    ) -> Result<(), AppError> {
        if c.steps.is_empty() {
            return Ok(());
        }
        // Texts are read once something is due: an idle round reads only the due list.
        let mut texts: Option<HashMap<i64, MessageText>> = None;
        let start = round.journeys;
        loop {
            let now = self.clock.now();
            let due = self.store.due_journeys(c.id, now, JOURNEY_CHUNK).await?;
            if due.is_empty() {
                break;
            }
            if texts.is_none() {
                let mut read = HashMap::new();
                for step in &c.steps {
                    if let Step::Send { text_id, .. } = step
                        && !read.contains_key(text_id)
                        && let Some(t) = self.store.message_text(*text_id).await?
                        && t.status == "approved"
                    {
                        read.insert(*text_id, t);
                    }
                }
                texts = Some(read);
            }
            let Some(step_texts) = texts.as_ref() else {
                break;
            };
            let running = self
                .store
                .campaign(c.id)
                .await?
                .is_some_and(|k| k.status == CampaignStatus::Running);
            if !running {
                break;
            }
            let ids: Vec<i64> = due.iter().map(|j| j.id).collect();
            let facts: HashMap<i64, JourneyFacts> =
                self.store.journey_facts(&ids).await?.into_iter().collect();
            let recipients: Vec<Recipient> = due.iter().map(|j| j.recipient.clone()).collect();
            self.sent_map(budget, &recipients, sent).await?;
            let moves: Vec<JourneyMove> = due
                .iter()
                .map(|j| {
                    let f = facts.get(&j.id).copied().unwrap_or_default();
                    journey_move(c, j, f, step_texts, budget, sent, now, &self.public_url)
                })
                .collect();
            let moved: HashSet<i64> = self
                .store
                .move_journeys(c, &moves, now)
                .await?
                .into_iter()
                .collect();
            round.journeys += moved.len() as u64;
            // What this server wrote; a move another server made first is its to count.
            for m in moves.iter().filter(|m| moved.contains(&m.id)) {
                if let Some(s) = &m.send {
                    round.counts.add(s.outcome, 1);
                }
            }
            if due.len() < JOURNEY_CHUNK as usize {
                break;
            }
            // Everything read was moved by another server, or held back to a later day:
            // read again only if something moved.
            if moved.is_empty() {
                break;
            }
            if round.journeys - start >= JOURNEYS_PER_ROUND {
                round.more = true;
                break;
            }
        }
        Ok(())
    }

    /// Records that a campaign's link was followed. The link leads to the portal whether
    /// or not its token is known, so it tells a stranger nothing.
    pub async fn follow_campaign_link(&self, token: &str) -> Result<(), AppError> {
        let well_formed = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if well_formed {
            self.store.follow_link(token, self.clock.now()).await?;
        }
        Ok(())
    }

    /// The messages in a customer's portal account, newest first.
    pub async fn portal_inbox(&self, a: &PortalAccount) -> Result<Vec<PortalMessage>, AppError> {
        Ok(self.store.portal_messages(a.customer_id, 100).await?)
    }

    /// One of the customer's portal messages, marked read.
    pub async fn portal_read_message(
        &self,
        a: &PortalAccount,
        id: i64,
    ) -> Result<PortalMessage, AppError> {
        self.store
            .read_portal_message(a.customer_id, id, self.clock.now())
            .await?
            .ok_or(AppError::NotFound("portal_message"))
    }

    /// Call-back tasks for agents: the open ones (oldest first), or the last done ones.
    pub async fn callback_tasks(
        &self,
        p: &Principal,
        open: bool,
    ) -> Result<Vec<CallbackTask>, AppError> {
        p.require(Permission::WorkRequests)?;
        Ok(self.store.callback_tasks(open, 200).await?)
    }

    /// Records what came of a call-back.
    pub async fn record_callback(
        &self,
        p: &Principal,
        id: i64,
        i: &CallbackInput,
    ) -> Result<CallbackTask, AppError> {
        p.require(Permission::WorkRequests)?;
        let mut inv = Invalid::default();
        let result = inv.check("result", CallbackResult::parse(i.result.trim()));
        if result == Some(CallbackResult::Cancelled) {
            inv.push("result", "callback_result_unknown");
        }
        let note = inv
            .check(
                "note",
                aftercare_domain::error::optional_text(i.note.as_deref(), 500),
            )
            .flatten();
        inv.into_result()?;
        let Some(result) = result else {
            return Err(AppError::Internal(
                "callback checked without a result".into(),
            ));
        };
        let task = self
            .store
            .callback_task(id)
            .await?
            .ok_or(AppError::NotFound("callback"))?;
        if task.result.is_some() {
            return Err(AppError::Conflict {
                code: "callback_done",
                field: Some("result".into()),
            });
        }
        self.store
            .record_callback(
                &p.actor(),
                id,
                i.version,
                result,
                note.as_deref(),
                &p.user.name,
                self.clock.now(),
            )
            .await
            .map_err(AppError::from_store("callback"))?;
        self.store
            .callback_task(id)
            .await?
            .ok_or(AppError::NotFound("callback"))
    }

    /// The touchpoints compared: customers each brought, their value, how loyal they
    /// became and how often they complain.
    pub async fn touchpoints(&self, p: &Principal) -> Result<Vec<TouchpointRow>, AppError> {
        Self::may_see_campaigns(p)?;
        Ok(self
            .store
            .touchpoint_counts()
            .await?
            .into_iter()
            .map(
                |(touchpoint, customers, scored, clv, revenue, loyal, complaints)| {
                    let per = |x: f64, n: i64| if n > 0 { x / n as f64 } else { 0.0 };
                    TouchpointRow {
                        touchpoint,
                        customers,
                        scored,
                        mean_clv: per(clv, scored),
                        revenue,
                        loyal_share: per(loyal as f64, scored),
                        complaints_per_customer: per(complaints as f64, customers),
                    }
                },
            )
            .collect())
    }

    /// What a campaign did, against its holdout group.
    pub async fn campaign_results(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<CampaignResults, AppError> {
        let c = self.campaign(p, id).await?;
        let since = c.started_at.unwrap_or(c.created_at);
        let a = self.store.campaign_activity(id, since).await?;
        Ok(CampaignResults {
            journeys: self.store.journey_stats(id).await?,
            ..results(c.window_days, &a)
        })
    }
}

/// Feedback older than this many days is not followed up for the need it shows.
const NEED_FEEDBACK_DAYS: i64 = 30;

/// When each (entity, id) the events name last changed.
fn event_times(
    events: &[crate::model::ChangeEvent],
) -> HashMap<(&'static str, i64), jiff::Timestamp> {
    let mut out = HashMap::new();
    for e in events {
        let entity = match e.entity.as_str() {
            "improvement" => "improvement",
            "feedback" => "feedback",
            _ => continue,
        };
        if let Ok(at) = e.at.parse() {
            out.insert((entity, e.entity_id), at);
        }
    }
    out
}

/// The record an occurrence names (`feedback:12` → 12).
fn record_of(occurrence: &str, prefix: &str) -> Option<i64> {
    occurrence.strip_prefix(prefix)?.parse().ok()
}

fn internal(e: jiff::Error) -> AppError {
    AppError::Internal(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn campaign(holdout_percent: u32) -> Campaign {
        Campaign {
            id: 1,
            name: "保修到期提醒".into(),
            trigger: Trigger::WarrantyEnding,
            segment_name: None,
            audience: None,
            lead_days: 30,
            text_id: 1,
            text_name: "延保".into(),
            subject_zh_hans: "{customer_name}，保修将到期".into(),
            subject_zh_hant: "{customer_name}，保固將到期".into(),
            subject_en: "{customer_name}, your warranty ends".into(),
            holdout_percent,
            voucher: None,
            seed: 99,
            window_days: 30,
            steps: vec![],
            status: CampaignStatus::Running,
            started_at: Some(at("2026-12-01T00:00:00Z")),
            stopped_at: None,
            swept_at: None,
            sweep_after: 0,
            owner_name: "市场部".into(),
            created_at: at("2026-12-01T00:00:00Z"),
            version: 2,
        }
    }

    fn text() -> MessageText {
        MessageText {
            id: 1,
            name: "延保".into(),
            body_zh_hans: "您的{product_name}于 {warranty_end} 到期。".into(),
            body_zh_hant: "您的{product_name}於 {warranty_end} 到期。".into(),
            body_en: "Your {product_name} is covered until {warranty_end}.".into(),
            status: "approved".into(),
            owner_name: "市场部".into(),
            updated_at: at("2026-12-01T00:00:00Z"),
            version: 1,
        }
    }

    fn who(id: i64, email: Option<&str>, consent: &str, lang: Option<&str>) -> Recipient {
        Recipient {
            customer_id: CustomerId(id),
            name: format!("客户{id}"),
            email: email.map(str::to_string),
            consent: consent.into(),
            lang: lang.map(str::to_string),
            occurrence: format!("asset:{id}:2027-01-01"),
            at: at("2026-12-02T00:00:00Z"),
            product_name: Some("空调".into()),
            ends_on: Some("2027-01-01".parse().unwrap()),
            due_on: None,
            request_number: None,
            improvement: None,
        }
    }

    #[test]
    fn occurrences_are_decided_address_consent_holdout_then_budget() {
        let c = campaign(0);
        let budget = ContactBudget {
            max_messages: 1,
            ..ContactBudget::default()
        };
        let rs = [
            who(1, None, "email", None),
            who(2, Some("b@example.cn"), "sms,wechat", None),
            who(3, Some("c@example.cn"), "sms, email", Some("zh-Hant")),
            who(4, Some("d@example.cn"), "email", Some("en")),
        ];
        // Customer 4 had their one message this month already.
        let mut sent = HashMap::from([(CustomerId(3), 0), (CustomerId(4), 1)]);
        let d = decide(
            &c,
            &text(),
            &budget,
            &rs,
            &mut sent,
            at("2026-12-01T00:00:00Z"),
            "https://svc.example.cn",
        );
        let outcomes: Vec<Outcome> = d.iter().map(|e| e.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::NoAddress,
                Outcome::NoConsent,
                Outcome::Sent,
                Outcome::Pressure
            ]
        );
        let mail = d[2].mail.as_ref().unwrap();
        assert_eq!(mail.subject, "客户3，保固將到期");
        assert_eq!(mail.body, "您的空调於 2027-01-01 到期。");
        assert!(d[3].mail.is_none());
        // The message just decided counts against the budget of the next campaign.
        assert_eq!(sent[&CustomerId(3)], 1);
        let again = decide(
            &c,
            &text(),
            &budget,
            &rs[2..3],
            &mut sent,
            at("2026-12-01T00:00:00Z"),
            "https://svc.example.cn",
        );
        assert_eq!(again[0].outcome, Outcome::Pressure);
    }

    #[test]
    fn the_holdout_is_drawn_among_the_reachable_and_gets_nothing() {
        let c = campaign(50);
        let rs: Vec<Recipient> = (1..=200)
            .map(|i| who(i, Some("x@example.cn"), "email", None))
            .collect();
        let mut sent = HashMap::new();
        let d = decide(
            &c,
            &text(),
            &ContactBudget::default(),
            &rs,
            &mut sent,
            at("2026-12-01T00:00:00Z"),
            "https://svc.example.cn",
        );
        for e in &d {
            let held = in_holdout(99, e.customer_id.get(), 50);
            assert_eq!(e.outcome == Outcome::HeldOut, held);
            assert_eq!(e.mail.is_none(), held);
        }
        let held = d.iter().filter(|e| e.outcome == Outcome::HeldOut).count();
        assert!((70..130).contains(&held), "{held}");
    }

    fn day(s: &str) -> jiff::civil::Date {
        s.parse().unwrap()
    }

    fn member(id: i64, outcome: Outcome, when: &str) -> MemberActivity {
        MemberActivity {
            customer_id: CustomerId(id),
            outcome,
            at: at(when),
        }
    }

    #[test]
    fn orders_in_the_window_after_a_mail_are_attributed() {
        let a = CampaignActivity {
            members: vec![
                member(1, Outcome::Sent, "2026-12-02T00:00:00Z"),
                member(2, Outcome::Sent, "2026-12-02T00:00:00Z"),
                member(3, Outcome::HeldOut, "2026-12-02T00:00:00Z"),
                member(4, Outcome::NoConsent, "2026-12-02T00:00:00Z"),
                member(5, Outcome::Pressure, "2026-12-02T00:00:00Z"),
                member(5, Outcome::Sent, "2026-12-10T00:00:00Z"),
                // Reached twice: counted once, from the first contact.
                member(1, Outcome::Sent, "2026-12-20T00:00:00Z"),
            ],
            orders: vec![
                // Within 30 days of the mail: the campaign's.
                (
                    CustomerId(1),
                    at("2026-12-10T00:00:00Z"),
                    day("2026-12-10"),
                    100_000,
                ),
                // Before the mail: not.
                (
                    CustomerId(2),
                    at("2026-12-01T23:00:00Z"),
                    day("2026-12-02"),
                    50_000,
                ),
                // Recorded after the mail but placed long before (an import): not.
                (
                    CustomerId(2),
                    at("2026-12-03T00:00:00Z"),
                    day("2025-06-01"),
                    60_000,
                ),
                // After the window: not.
                (
                    CustomerId(2),
                    at("2027-01-02T00:00:00Z"),
                    day("2027-01-02"),
                    70_000,
                ),
                // The holdout bought too: not attributed, but it counts against the uplift.
                (
                    CustomerId(3),
                    at("2026-12-05T00:00:00Z"),
                    day("2026-12-05"),
                    40_000,
                ),
                // Not reachable: in neither group.
                (
                    CustomerId(4),
                    at("2026-12-05T00:00:00Z"),
                    day("2026-12-05"),
                    90_000,
                ),
                // Held back by the budget first, mailed later: counts from the mail.
                (
                    CustomerId(5),
                    at("2026-12-06T00:00:00Z"),
                    day("2026-12-06"),
                    20_000,
                ),
                (
                    CustomerId(5),
                    at("2026-12-12T00:00:00Z"),
                    day("2026-12-12"),
                    30_000,
                ),
            ],
            requests: vec![(CustomerId(5), at("2026-12-03T00:00:00Z"), true)],
            clv: vec![(CustomerId(1), 90_000.0), (CustomerId(3), 30_000.0)],
            stage_moves: vec![
                // Up within the window: counts; down, before the contact, or up and back
                // down again: not.
                (CustomerId(5), at("2026-12-05T00:00:00Z"), Some(0), 1),
                (CustomerId(1), at("2026-12-05T00:00:00Z"), Some(2), 1),
                (CustomerId(2), at("2026-12-01T00:00:00Z"), Some(0), 1),
                (CustomerId(2), at("2026-12-06T00:00:00Z"), Some(1), 2),
                (CustomerId(2), at("2026-12-08T00:00:00Z"), Some(2), 1),
                (CustomerId(3), at("2026-12-04T00:00:00Z"), Some(1), 2),
            ],
        };
        let r = results(30, &a);
        assert_eq!((r.attributed_orders, r.attributed_revenue), (2, 130_000));
        assert_eq!((r.contacted, r.held_out), (3, 1));
        assert_eq!(
            (
                r.counts.sent,
                r.counts.held_out,
                r.counts.no_consent,
                r.counts.pressure
            ),
            (4, 1, 1, 1)
        );
        // Contacted, each from their first contact: customer 1 (100,000) and customer 5
        // (both orders, 50,000) of 3 bought; holdout: 1 of 1.
        assert!((r.purchase_rate.contacted - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.purchase_rate.holdout, 1.0);
        assert!((r.revenue.contacted - 150_000.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.revenue.holdout, 40_000.0);
        assert!((r.complaints.contacted - 1.0 / 3.0).abs() < 1e-12);
        // CLV as scored: customer 1's 90,000 over three contacted (2 and 5 unscored: 0).
        assert!((r.clv.contacted - 30_000.0).abs() < 1e-9);
        assert_eq!(r.clv.holdout, 30_000.0);
        assert!((r.stage_up.contacted - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.stage_up.holdout, 1.0);
        assert_eq!(
            r.purchase_rate.low, None,
            "groups this small get no interval"
        );
    }

    fn journey(step: usize, email: Option<&str>, consent: &str) -> DueJourney {
        DueJourney {
            id: 7,
            step,
            due_at: at("2026-12-05T02:00:00Z"),
            started_at: at("2026-12-01T00:00:00Z"),
            token: "ab".repeat(16),
            recipient: who(3, email, consent, None),
            phone: Some("13700000000".into()),
            portal: false,
        }
    }

    #[test]
    fn a_journey_waits_sends_on_its_channel_and_is_held_back_by_the_budget() {
        let mut c = campaign(0);
        c.steps = vec![
            Step::Wait { days: 3 },
            Step::Send {
                channel: Channel::Email,
                text_id: 1,
            },
            Step::Send {
                channel: Channel::Callback,
                text_id: 1,
            },
            Step::Send {
                channel: Channel::Portal,
                text_id: 1,
            },
        ];
        let texts = HashMap::from([(1, text())]);
        let now = at("2026-12-05T02:00:00Z");
        let budget = ContactBudget {
            max_messages: 1,
            ..ContactBudget::default()
        };
        let url = "https://svc.example.cn";
        let mut sent = HashMap::new();
        let facts = JourneyFacts::default();
        let j = journey(0, Some("c@example.cn"), "email");
        let m = journey_move(&c, &j, facts, &texts, &budget, &mut sent, now, url);
        assert_eq!((m.from, m.to, m.send.clone()), (0, 1, None));
        assert_eq!(m.due_at, at("2026-12-08T02:00:00Z"));
        // The mail carries the journey's own link.
        let m = journey_move(
            &c,
            &journey(1, Some("c@example.cn"), "email"),
            facts,
            &texts,
            &budget,
            &mut sent,
            now,
            url,
        );
        let s = m.send.unwrap();
        assert_eq!(s.outcome, Outcome::Sent);
        assert_eq!(s.mail.unwrap().to, "c@example.cn");
        assert_eq!((m.to, m.due_at), (2, now));
        // No consent to be phoned: nothing, and on to the next step.
        let m = journey_move(
            &c,
            &journey(2, Some("c@example.cn"), "email"),
            facts,
            &texts,
            &budget,
            &mut sent,
            now,
            url,
        );
        assert_eq!(m.send.as_ref().unwrap().outcome, Outcome::NoConsent);
        assert!(m.send.unwrap().callback.is_none());
        assert_eq!(m.to, 3);
        // No portal account: nothing; with one, the budget (one message) is spent.
        let m = journey_move(
            &c,
            &journey(3, None, "email,phone"),
            facts,
            &texts,
            &budget,
            &mut sent,
            now,
            url,
        );
        assert_eq!(m.send.unwrap().outcome, Outcome::NoAddress);
        let mut j = journey(3, None, "email,phone");
        j.portal = true;
        let m = journey_move(&c, &j, facts, &texts, &budget, &mut sent, now, url);
        assert_eq!(m.send.as_ref().unwrap().outcome, Outcome::Pressure);
        assert!(m.send.unwrap().portal.is_none());
        assert_eq!((m.from, m.to), (3, 3), "the same step, tried again");
        assert_eq!(m.due_at, at("2026-12-06T02:00:00Z"));
        // With room in the budget, the call-back carries the script for the customer.
        let mut sent = HashMap::new();
        let m = journey_move(
            &c,
            &journey(2, None, "phone"),
            facts,
            &texts,
            &budget,
            &mut sent,
            now,
            url,
        );
        let (phone, script) = m.send.unwrap().callback.unwrap();
        assert_eq!(phone, "13700000000");
        assert!(script.contains("空调"), "{script}");
        // Past the last step, the journey is done.
        let m = journey_move(
            &c,
            &journey(4, None, "phone"),
            facts,
            &texts,
            &budget,
            &mut sent,
            now,
            url,
        );
        assert_eq!(m.end, Some("done"));
    }
}
