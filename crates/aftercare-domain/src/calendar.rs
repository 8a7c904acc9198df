//! Business calendars and the SLA clock: working hours per weekday in a time zone, public
//! holidays, and the make-up working days (调休) of the Chinese calendar, on which a
//! weekend day is worked.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeSet;

/// China Standard Time (Asia/Shanghai): the days and hours people in China read, for
/// dates shown, request numbers and "the day a request was opened".
pub fn china() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::UTC)
}

/// The calendar day in China of an instant.
pub fn china_date(t: Timestamp) -> Date {
    t.to_zoned(china()).date()
}

/// The instant a time of day typed for something that happened near `near` means, in
/// China: that time on the day before, the day of or the day after `near`'s day, whichever
/// is nearest. A technician who types 00:10 as the arrival for a visit booked at 23:40
/// arrived the next day; one who types 23:50 for a visit booked at 00:05, the day before.
pub fn china_time_near(near: Timestamp, time: Time) -> Option<Timestamp> {
    let day = china_date(near);
    [day.yesterday().ok(), Some(day), day.tomorrow().ok()]
        .into_iter()
        .flatten()
        .filter_map(|d| d.to_datetime(time).to_zoned(china()).ok())
        .map(|z| z.timestamp())
        .min_by_key(|t| (t.as_second() - near.as_second()).abs())
}

/// Working time within one day: from `start` to `end`, local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub start: Time,
    pub end: Time,
}

/// When work is done.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    pub tz: TimeZone,
    /// Shifts per weekday, Monday first.
    pub week: [Vec<Shift>; 7],
    /// Days off even if their weekday is worked.
    pub holidays: BTreeSet<Date>,
    /// Days worked even if their weekday is not (调休); they keep Monday's hours.
    pub makeup_workdays: BTreeSet<Date>,
}

/// How far ahead a calendar is searched for working time before giving up (a calendar
/// with no working time at all would otherwise never end).
const SEARCH_DAYS: i32 = 3 * 366;

fn shift(a: (i8, i8), b: (i8, i8)) -> Shift {
    Shift {
        start: Time::constant(a.0, a.1, 0, 0),
        end: Time::constant(b.0, b.1, 0, 0),
    }
}

impl BusinessCalendar {
    /// Monday to Friday, 9:00–12:00 and 13:30–18:00, Asia/Shanghai, no holidays yet.
    pub fn china_office() -> Self {
        let day = vec![shift((9, 0), (12, 0)), shift((13, 30), (18, 0))];
        BusinessCalendar {
            tz: china(),
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                vec![],
                vec![],
            ],
            holidays: BTreeSet::new(),
            makeup_workdays: BTreeSet::new(),
        }
    }

    /// Every hour of every day, in UTC: a 24×7 service.
    pub fn always() -> Self {
        let all = vec![Shift {
            start: Time::MIN,
            end: Time::MAX,
        }];
        BusinessCalendar {
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| all.clone()),
            holidays: BTreeSet::new(),
            makeup_workdays: BTreeSet::new(),
        }
    }

    /// The shifts worked on a day.
    pub fn shifts(&self, d: Date) -> &[Shift] {
        if self.holidays.contains(&d) {
            &[]
        } else if self.makeup_workdays.contains(&d) {
            &self.week[0]
        } else {
            &self.week[d.weekday().to_monday_zero_offset() as usize]
        }
    }

    fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.tz.clone()).date()
    }

    /// The working periods of a day as instants.
    fn periods(&self, d: Date) -> Vec<(Timestamp, Timestamp)> {
        self.shifts(d)
            .iter()
            .filter_map(|s| {
                let a = d
                    .to_datetime(s.start)
                    .to_zoned(self.tz.clone())
                    .ok()?
                    .timestamp();
                // `Time::MAX` stands for the end of the day.
                let b = if s.end == Time::MAX {
                    d.tomorrow()
                        .ok()?
                        .to_datetime(Time::MIN)
                        .to_zoned(self.tz.clone())
                        .ok()?
                        .timestamp()
                } else {
                    d.to_datetime(s.end)
                        .to_zoned(self.tz.clone())
                        .ok()?
                        .timestamp()
                };
                (a < b).then_some((a, b))
            })
            .collect()
    }

    /// A day's working time cut into slots of `len` seconds (what does not fill a whole
    /// slot at the end of a shift is left out), for booking visits.
    pub fn slots(&self, d: Date, len: i64) -> Vec<(Timestamp, Timestamp)> {
        let mut out = Vec::new();
        if len <= 0 {
            return out;
        }
        for (a, b) in self.periods(d) {
            let mut s = a;
            while let Ok(e) = s.checked_add(len.seconds()) {
                if e > b {
                    break;
                }
                out.push((s, e));
                s = e;
            }
        }
        out
    }

    /// Working seconds between two instants (0 if `to` is not after `from`).
    pub fn working_seconds(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let (mut d, last) = (self.local_date(from), self.local_date(to));
        let mut total = 0;
        while d <= last {
            for (a, b) in self.periods(d) {
                let (s, e) = (a.max(from), b.min(to));
                if s < e {
                    total += (e - s).get_seconds();
                }
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        total
    }

    /// The instant `seconds` of working time after `from`; `None` if the calendar has no
    /// working time within about three years.
    pub fn add_working_seconds(&self, from: Timestamp, seconds: i64) -> Option<Timestamp> {
        let mut left = seconds.max(0);
        let mut d = self.local_date(from);
        for _ in 0..SEARCH_DAYS {
            for (a, b) in self.periods(d) {
                let s = a.max(from);
                if s >= b {
                    continue;
                }
                let avail = (b - s).get_seconds();
                if left <= avail {
                    return s.checked_add(left.seconds()).ok();
                }
                left -= avail;
            }
            d = d.tomorrow().ok()?;
        }
        None
    }
}

/// What happened to a request's clock, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockEvent {
    Start(Timestamp),
    Pause(Timestamp),
    Resume(Timestamp),
    Stop(Timestamp),
}

/// An SLA clock: a target in working seconds, counted over a calendar, paused while the
/// request waits for the customer.
#[derive(Debug, Clone)]
pub struct SlaClock {
    pub target_seconds: i64,
    pub events: Vec<ClockEvent>,
}

/// Where a clock stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub elapsed_seconds: i64,
    pub running: bool,
    /// When the target is (or was) reached if the clock keeps running from now.
    pub due: Option<Timestamp>,
    pub breached: bool,
}

impl SlaClock {
    pub fn read(&self, cal: &BusinessCalendar, now: Timestamp) -> ClockReading {
        let mut elapsed = 0;
        let mut running_since: Option<Timestamp> = None;
        for e in &self.events {
            match *e {
                ClockEvent::Start(t) | ClockEvent::Resume(t) if t <= now => {
                    running_since.get_or_insert(t);
                }
                ClockEvent::Pause(t) | ClockEvent::Stop(t) if t <= now => {
                    if let Some(s) = running_since.take() {
                        elapsed += cal.working_seconds(s, t);
                    }
                }
                _ => {}
            }
        }
        let running = running_since.is_some();
        if let Some(s) = running_since {
            elapsed += cal.working_seconds(s, now);
        }
        let due = if running {
            cal.add_working_seconds(now, self.target_seconds - elapsed)
        } else {
            None
        };
        ClockReading {
            elapsed_seconds: elapsed,
            running,
            due,
            breached: elapsed > self.target_seconds,
        }
    }
}

/// A calendar as configured and stored: plain strings, checked by [`CalendarSpec::build`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CalendarSpec {
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// Seven entries, Monday first; each a list of `HH:MM-HH:MM` shifts (empty: day off).
    pub week: Vec<Vec<String>>,
    /// Public holidays, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Weekend days worked instead (调休), `YYYY-MM-DD`; they keep Monday's hours.
    #[serde(default)]
    pub makeup_workdays: Vec<String>,
}

impl CalendarSpec {
    /// Monday to Friday, 9:00–12:00 and 13:30–18:00 in Shanghai.
    pub fn china_office() -> Self {
        let day = vec!["09:00-12:00".to_string(), "13:30-18:00".to_string()];
        let mut week = vec![day; 5];
        week.extend([vec![], vec![]]);
        CalendarSpec {
            time_zone: "Asia/Shanghai".into(),
            week,
            holidays: vec![],
            makeup_workdays: vec![],
        }
    }

    /// Checks every part and builds the calendar; errors name the entry (`week[2][0]`).
    pub fn build(&self) -> Result<BusinessCalendar, crate::Invalid> {
        let mut inv = crate::Invalid::default();
        let tz = inv.check(
            "time_zone",
            TimeZone::get(self.time_zone.trim()).map_err(|_| "time_zone_unknown"),
        );
        if self.week.len() != 7 {
            inv.push("week", "week_needs_seven_days");
        }
        let mut week: [Vec<Shift>; 7] = Default::default();
        for (d, shifts) in self.week.iter().take(7).enumerate() {
            for (i, s) in shifts.iter().enumerate() {
                if let Some(sh) = inv.check(format!("week[{d}][{i}]"), parse_shift(s)) {
                    week[d].push(sh);
                }
            }
            week[d].sort_by_key(|s| s.start);
            if week[d].windows(2).any(|w| w[1].start < w[0].end) {
                inv.push(format!("week[{d}]"), "shifts_overlap");
            }
        }
        // A week without a working hour would never let an SLA clock run: every target
        // would be "never", quietly.
        if self.week.len() == 7 && self.week.iter().all(|d| d.is_empty()) {
            inv.push("week", "calendar_without_hours");
        }
        let days = |inv: &mut crate::Invalid, field: &str, list: &[String]| {
            list.iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    inv.check(format!("{field}[{i}]"), crate::error::parse_date(d))
                })
                .collect::<BTreeSet<Date>>()
        };
        let holidays = days(&mut inv, "holidays", &self.holidays);
        let makeup_workdays = days(&mut inv, "makeup_workdays", &self.makeup_workdays);
        inv.into_result()?;
        Ok(BusinessCalendar {
            tz: tz.unwrap_or(TimeZone::UTC),
            week,
            holidays,
            makeup_workdays,
        })
    }
}

fn parse_shift(s: &str) -> Result<Shift, &'static str> {
    let (a, b) = s.trim().split_once('-').ok_or("shift_invalid")?;
    let t = |x: &str| -> Result<Time, &'static str> {
        let x = x.trim();
        if x == "24:00" {
            return Ok(Time::MAX);
        }
        let (h, m) = x.split_once(':').ok_or("shift_invalid")?;
        let (h, m): (i8, i8) = (
            h.parse().map_err(|_| "shift_invalid")?,
            m.parse().map_err(|_| "shift_invalid")?,
        );
        Time::new(h, m, 0, 0).map_err(|_| "shift_invalid")
    };
    let (start, end) = (t(a)?, t(b)?);
    if start >= end {
        return Err("shift_ends_before_start");
    }
    Ok(Shift { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(cal: &BusinessCalendar, d: Date, h: i8, m: i8) -> Timestamp {
        d.at(h, m, 0, 0)
            .to_zoned(cal.tz.clone())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn a_time_of_day_is_read_on_the_day_nearest_the_instant_it_is_near() {
        let cal = BusinessCalendar::china_office();
        let (d, next, before) = (date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 6));
        // (near, time typed, the day it is read on)
        let cases = [
            ((14, 0), (13, 55), d, "the same day, before"),
            ((9, 0), (10, 30), d, "the same day, after"),
            ((23, 58), (0, 3), next, "across midnight, forwards"),
            ((0, 5), (23, 50), before, "across midnight, backwards"),
            (
                (12, 0),
                (0, 0),
                d,
                "twelve hours either side: the day itself",
            ),
        ];
        for ((nh, nm), (h, m), day, what) in cases {
            let typed = Time::constant(h, m, 0, 0);
            let read = china_time_near(at(&cal, d, nh, nm), typed);
            assert_eq!(read, Some(at(&cal, day, h, m)), "{what}");
        }
    }

    #[test]
    fn working_time_carries_over_the_night_to_the_next_morning() {
        let cal = BusinessCalendar::china_office();
        let d = date(2026, 11, 25); // a Wednesday
        let due = cal.add_working_seconds(at(&cal, d, 17, 30), 3600).unwrap();
        assert_eq!(due, at(&cal, date(2026, 11, 26), 9, 30));
        assert_eq!(cal.working_seconds(at(&cal, d, 17, 30), due), 3600);
    }

    #[test]
    fn the_lunch_break_does_not_count() {
        let cal = BusinessCalendar::china_office();
        let d = date(2026, 11, 25);
        assert_eq!(
            cal.add_working_seconds(at(&cal, d, 11, 30), 3600),
            Some(at(&cal, d, 14, 0))
        );
    }

    #[test]
    fn a_weekend_is_skipped() {
        let cal = BusinessCalendar::china_office();
        let friday = date(2026, 11, 27);
        let due = cal
            .add_working_seconds(at(&cal, friday, 17, 0), 2 * 3600)
            .unwrap();
        assert_eq!(due, at(&cal, date(2026, 11, 30), 10, 0));
    }

    #[test]
    fn a_public_holiday_is_skipped_and_a_makeup_workday_is_worked() {
        let mut cal = BusinessCalendar::china_office();
        // National Day 2026: Thursday 1 October off; Saturday 10 October worked instead.
        cal.holidays.insert(date(2026, 10, 1));
        cal.makeup_workdays.insert(date(2026, 10, 10));
        let wed = date(2026, 9, 30);
        assert_eq!(
            cal.add_working_seconds(at(&cal, wed, 17, 0), 2 * 3600),
            Some(at(&cal, date(2026, 10, 2), 10, 0))
        );
        let fri = date(2026, 10, 9);
        assert_eq!(
            cal.add_working_seconds(at(&cal, fri, 17, 0), 2 * 3600),
            Some(at(&cal, date(2026, 10, 10), 10, 0))
        );
        assert_eq!(
            cal.working_seconds(
                at(&cal, date(2026, 10, 10), 0, 0),
                at(&cal, date(2026, 10, 11), 0, 0)
            ),
            7 * 3600 + 1800
        );
    }

    #[test]
    fn instants_are_read_in_the_calendars_time_zone() {
        let cal = BusinessCalendar::china_office();
        // 01:00 UTC is 09:00 in Shanghai.
        let t: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
        let due = cal.add_working_seconds(t, 1800).unwrap();
        assert_eq!(due.to_string(), "2026-11-25T01:30:00Z");
    }

    #[test]
    fn a_calendar_that_changes_its_clocks_counts_real_hours() {
        let mut cal = BusinessCalendar::always();
        cal.tz = TimeZone::get("America/New_York").unwrap();
        // 8 March 2026: clocks go from 02:00 to 03:00; the local day has 23 hours.
        let d = date(2026, 3, 8);
        assert_eq!(
            cal.working_seconds(at(&cal, d, 0, 0), at(&cal, date(2026, 3, 9), 0, 0)),
            23 * 3600
        );
    }

    #[test]
    fn the_clock_pauses_while_waiting_for_the_customer() {
        let cal = BusinessCalendar::china_office();
        let d = date(2026, 11, 25);
        let clock = SlaClock {
            target_seconds: 4 * 3600,
            events: vec![
                ClockEvent::Start(at(&cal, d, 9, 0)),
                ClockEvent::Pause(at(&cal, d, 10, 0)),
                ClockEvent::Resume(at(&cal, d, 15, 0)),
            ],
        };
        let r = clock.read(&cal, at(&cal, d, 16, 0));
        assert_eq!(r.elapsed_seconds, 2 * 3600);
        assert!(r.running && !r.breached);
        assert_eq!(r.due, Some(at(&cal, d, 18, 0)));
        let paused = clock.read(&cal, at(&cal, d, 12, 0));
        assert_eq!(paused.elapsed_seconds, 3600);
        assert!(!paused.running);
        assert_eq!(paused.due, None);
    }

    #[test]
    fn a_clock_past_its_target_is_breached_and_a_stopped_one_stays_put() {
        let cal = BusinessCalendar::always();
        let t0: Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
        let clock = SlaClock {
            target_seconds: 3600,
            events: vec![
                ClockEvent::Start(t0),
                ClockEvent::Stop(t0.checked_add(2.hours()).unwrap()),
            ],
        };
        let r = clock.read(&cal, t0.checked_add(10.hours()).unwrap());
        assert_eq!(r.elapsed_seconds, 7200);
        assert!(r.breached && !r.running);
    }

    #[test]
    fn a_calendar_without_working_time_never_falls_due() {
        let mut cal = BusinessCalendar::china_office();
        cal.week = std::array::from_fn(|_| vec![]);
        assert_eq!(
            cal.add_working_seconds("2026-11-25T00:00:00Z".parse().unwrap(), 60),
            None
        );
    }

    #[test]
    fn a_spec_builds_or_names_what_is_wrong() {
        let cal = CalendarSpec::china_office().build().unwrap();
        assert_eq!(cal.week[0].len(), 2);
        assert!(cal.week[6].is_empty());
        let bad = CalendarSpec {
            time_zone: "Mars/Olympus".into(),
            week: vec![vec!["18:00-09:00".into()], vec!["9-5".into()]],
            holidays: vec!["2026-13-01".into()],
            makeup_workdays: vec![],
        };
        let fields: Vec<_> = bad
            .build()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert!(fields.contains(&("time_zone".into(), "time_zone_unknown")));
        assert!(fields.contains(&("week".into(), "week_needs_seven_days")));
        assert!(fields.contains(&("week[0][0]".into(), "shift_ends_before_start")));
        assert!(fields.contains(&("week[1][0]".into(), "shift_invalid")));
        assert!(fields.contains(&("holidays[0]".into(), "date_invalid")));
    }

    #[test]
    fn a_day_is_cut_into_whole_slots() {
        let cal = CalendarSpec::china_office().build().unwrap();
        // Monday 2026-11-23: 9–11, (11–12 too short), 13:30–15:30, 15:30–17:30.
        let s = cal.slots(date(2026, 11, 23), 2 * 3600);
        let starts: Vec<String> = s
            .iter()
            .map(|(a, _)| a.to_zoned(cal.tz.clone()).strftime("%H:%M").to_string())
            .collect();
        assert_eq!(starts, ["09:00", "13:30", "15:30"]);
        assert!(
            cal.slots(date(2026, 11, 28), 2 * 3600).is_empty(),
            "Saturday"
        );
    }
}
