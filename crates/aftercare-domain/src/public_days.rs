//! Public holidays and make-up working days (调休) as the State Council announces them each
//! year: the table this release carries, and the files an administrator loads for a year
//! the release does not know yet — a CSV (`date,kind[,name]`) or an iCalendar file such as
//! the "中国节假日" calendars that calendar apps subscribe to.

use crate::Invalid;
use jiff::ToSpan;
use jiff::civil::Date;
use std::collections::BTreeSet;

/// Mainland China's public days: 2025 and 2026 as the State Council notices arranged them
/// (`chinesecalendar` 1.11.0, PyPI, MIT), and 2027's statutory days until its notice is
/// out (`holidays` 0.109, PyPI, MIT); see `data/README.md`.
const CHINA_TABLE: &str = include_str!("../data/china-public-days.csv");

/// At most this many lines are read from a loaded file: a year's notice is a few dozen
/// days, and a file of a million lines is a mistake, not a calendar.
pub const MAX_LINES: usize = 20_000;

/// One event of an iCalendar file may span at most this many days (the longest holiday,
/// Spring Festival, is nine).
const MAX_EVENT_DAYS: i32 = 31;

/// Days off and days worked instead, as announced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublicDays {
    pub holidays: BTreeSet<Date>,
    pub makeup_workdays: BTreeSet<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Holiday,
    Workday,
}

impl PublicDays {
    /// The table this release carries for mainland China.
    pub fn china() -> Self {
        Self::parse(CHINA_TABLE).unwrap_or_default()
    }

    /// The years the table covers, first and last.
    pub fn years(&self) -> Option<(i16, i16)> {
        let all = self.holidays.iter().chain(&self.makeup_workdays);
        let first = all.clone().min()?.year();
        let last = all.max()?.year();
        Some((first, last))
    }

    /// Reads a CSV or an iCalendar file. Errors name the line (`days[12]`) and the reason;
    /// a file with an error yields nothing.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let text = text.trim_start_matches('\u{feff}');
        let out = if text.trim_start().starts_with("BEGIN:VCALENDAR") {
            parse_ics(text)?
        } else {
            parse_csv(text)?
        };
        if out.holidays.is_empty() && out.makeup_workdays.is_empty() {
            return Err(Invalid::one("days", "days_none_found"));
        }
        if let Some(d) = out.holidays.intersection(&out.makeup_workdays).next() {
            return Err(Invalid::one(format!("days[{d}]"), "day_both_kinds"));
        }
        Ok(out)
    }

    fn add(&mut self, d: Date, kind: Kind) {
        match kind {
            Kind::Holiday => self.holidays.insert(d),
            Kind::Workday => self.makeup_workdays.insert(d),
        };
    }
}

/// `holiday`, `workday` and the words the notices and calendar files use for them.
fn kind_of(word: &str) -> Option<Kind> {
    let w = word.trim().to_lowercase();
    const HOLIDAY: &[&str] = &["holiday", "休", "假", "放假", "休息", "day off", "off"];
    const WORKDAY: &[&str] = &[
        "workday",
        "班",
        "上班",
        "补班",
        "調休上班",
        "调休上班",
        "work",
    ];
    if HOLIDAY.contains(&w.as_str()) {
        Some(Kind::Holiday)
    } else if WORKDAY.contains(&w.as_str()) {
        Some(Kind::Workday)
    } else {
        None
    }
}

fn parse_csv(text: &str) -> Result<PublicDays, Invalid> {
    let mut out = PublicDays::default();
    let mut inv = Invalid::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if n > MAX_LINES {
            return Err(Invalid::one("days", "days_too_many"));
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line.split([',', '\t', ';']).map(str::trim);
        let date = cells.next().unwrap_or_default();
        let kind = cells.next().unwrap_or_default();
        // A header line names its columns.
        if n == 1 && (date.eq_ignore_ascii_case("date") || date == "日期") {
            continue;
        }
        let d = inv.check(format!("days[{n}]"), crate::error::parse_date(date));
        let k = inv.check(
            format!("days[{n}]"),
            kind_of(kind).ok_or("day_kind_unknown"),
        );
        if let (Some(d), Some(k)) = (d, k) {
            out.add(d, k);
        }
    }
    inv.into_result()?;
    Ok(out)
}

/// The lines of an iCalendar file with folded lines joined (RFC 5545 §3.1).
fn unfolded(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ => lines.push((i + 1, raw.to_string())),
        }
    }
    lines
}

/// The China day of a date value: `20260101`, or a date-time, `20260101T090000` (local,
/// as a calendar in China writes it) or `20251231T160000Z` (UTC: 1 January in China).
fn ics_date(v: &str) -> Result<Date, &'static str> {
    let v = v.trim();
    if let Some(utc) = v.strip_suffix('Z') {
        let dt =
            jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", utc).map_err(|_| "date_invalid")?;
        let t = dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| "date_invalid")?
            .timestamp();
        return Ok(crate::calendar::china_date(t));
    }
    let digits = v.get(..8).ok_or("date_invalid")?;
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i16>().ok());
    match (num(0..4), num(4..6), num(6..8)) {
        (Some(y), Some(m), Some(d)) => Date::new(y, m as i8, d as i8).map_err(|_| "date_invalid"),
        _ => Err("date_invalid"),
    }
}

/// The kind an event states: Apple's `X-APPLE-SPECIAL-DAY`, else a word in brackets at the
/// end of its summary ("春节(休)", "Spring Festival(Holiday)", "国庆节（班）"), else its
/// description.
fn event_kind(special: Option<&str>, summary: &str, description: &str) -> Option<Kind> {
    match special.map(str::trim) {
        Some("WORK-HOLIDAY") => return Some(Kind::Holiday),
        Some("ALTERNATE-WORKDAY") => return Some(Kind::Workday),
        _ => {}
    }
    let bracketed = summary
        .trim()
        .trim_end_matches([')', '）'])
        .rsplit(['(', '（'])
        .next()
        .filter(|_| summary.contains(['(', '（']));
    bracketed.and_then(kind_of).or_else(|| kind_of(description))
}

fn parse_ics(text: &str) -> Result<PublicDays, Invalid> {
    let mut out = PublicDays::default();
    let mut inv = Invalid::default();
    let lines = unfolded(text);
    if lines.len() > MAX_LINES {
        return Err(Invalid::one("days", "days_too_many"));
    }
    #[derive(Default)]
    struct Event {
        line: usize,
        start: Option<String>,
        end: Option<String>,
        summary: String,
        description: String,
        special: Option<String>,
    }
    let mut event: Option<Event> = None;
    for (n, line) in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        // `DTSTART;VALUE=DATE` is `DTSTART` with a parameter.
        let name = name
            .split(';')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match (name.as_str(), value, event.as_mut()) {
            ("BEGIN", "VEVENT", _) => {
                event = Some(Event {
                    line: n,
                    ..Default::default()
                })
            }
            ("DTSTART", v, Some(e)) => e.start = Some(v.to_string()),
            ("DTEND", v, Some(e)) => e.end = Some(v.to_string()),
            ("SUMMARY", v, Some(e)) => e.summary = v.to_string(),
            ("DESCRIPTION", v, Some(e)) => e.description = v.to_string(),
            ("X-APPLE-SPECIAL-DAY", v, Some(e)) => e.special = Some(v.to_string()),
            ("END", "VEVENT", Some(_)) => {
                let Some(e) = event.take() else { continue };
                let field = format!("days[{}]", e.line);
                let start = inv.check(
                    field.clone(),
                    e.start.as_deref().ok_or("date_invalid").and_then(ics_date),
                );
                // DTEND of an all-day event is the day after the last; without it the
                // event is one day.
                let end = match e.end.as_deref() {
                    Some(v) => inv.check(field.clone(), ics_date(v)),
                    None => start.and_then(|s| s.tomorrow().ok()),
                };
                let kind = inv.check(
                    field.clone(),
                    event_kind(e.special.as_deref(), &e.summary, &e.description)
                        .ok_or("day_kind_unknown"),
                );
                let (Some(start), Some(end), Some(kind)) = (start, end, kind) else {
                    continue;
                };
                if end <= start || start.saturating_add(MAX_EVENT_DAYS.days()) < end {
                    inv.push(field, "day_range_invalid");
                    continue;
                }
                let mut d = start;
                while d < end {
                    out.add(d, kind);
                    d = match d.tomorrow() {
                        Ok(next) => next,
                        Err(_) => break,
                    };
                }
            }
            _ => {}
        }
    }
    inv.into_result()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn the_table_carries_2025_and_2026_with_their_makeup_days_and_2027s_statutory_days() {
        let t = PublicDays::china();
        assert_eq!(t.years(), Some((2025, 2027)));
        // 2027: New Year's Eve and the first three days of Spring Festival, by law.
        for d in 5..=8 {
            assert!(t.holidays.contains(&date(2027, 2, d)));
        }
        assert!(t.holidays.contains(&date(2027, 10, 3)));
        assert!(!t.makeup_workdays.iter().any(|d| d.year() == 2027));
        // The 2026 notice: National Day 1–7 October, worked on Sunday 20 September and
        // Saturday 10 October; Spring Festival 15–23 February.
        for d in 1..=7 {
            assert!(t.holidays.contains(&date(2026, 10, d)));
        }
        assert!(t.makeup_workdays.contains(&date(2026, 9, 20)));
        assert!(t.makeup_workdays.contains(&date(2026, 10, 10)));
        assert!(t.holidays.contains(&date(2026, 2, 23)));
        assert!(!t.holidays.contains(&date(2026, 2, 24)));
        assert_eq!(t.makeup_workdays.len(), 11);
    }

    #[test]
    fn a_subscribed_calendar_file_says_what_the_table_says() {
        // `chinese-days` 1.5.7 (npm, MIT): the 2026 file calendar apps subscribe to,
        // written independently of the table.
        let ics = PublicDays::parse(include_str!("../data/chinese-days-2026.ics")).unwrap();
        let t = PublicDays::china();
        let in_2026 = |s: &BTreeSet<Date>| -> BTreeSet<Date> {
            s.iter().filter(|d| d.year() == 2026).copied().collect()
        };
        assert_eq!(ics.makeup_workdays, in_2026(&t.makeup_workdays));
        assert_eq!(ics.holidays, in_2026(&t.holidays));
    }

    #[test]
    fn a_csv_takes_the_words_people_write() {
        let p = PublicDays::parse("日期,类型\n2027-01-01,休\n2027-02-06,班\n2027-02-07,holiday\n")
            .unwrap();
        assert_eq!(p.holidays.len(), 2);
        assert!(p.makeup_workdays.contains(&date(2027, 2, 6)));
    }

    #[test]
    fn a_bad_line_is_named_and_nothing_is_taken() {
        let e = PublicDays::parse(
            "date,kind\n2027-01-01,holiday\n2027-13-01,holiday\n2027-01-02,maybe\n",
        )
        .unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| (f.field.as_str(), f.code)).collect();
        assert_eq!(
            fields,
            [("days[3]", "date_invalid"), ("days[4]", "day_kind_unknown")]
        );
        assert_eq!(
            PublicDays::parse("date,kind\n").unwrap_err().0[0].code,
            "days_none_found"
        );
        assert_eq!(
            PublicDays::parse("2027-01-01,休\n2027-01-01,班\n")
                .unwrap_err()
                .0[0]
                .code,
            "day_both_kinds"
        );
    }

    #[test]
    fn an_event_without_a_kind_or_with_a_year_long_range_is_refused() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20280101\r\nSUMMARY:元旦(休)\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270301\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let e = PublicDays::parse(ics).unwrap_err();
        let codes: Vec<_> = e.0.iter().map(|f| (f.field.as_str(), f.code)).collect();
        assert_eq!(
            codes,
            [
                ("days[2]", "day_range_invalid"),
                ("days[7]", "day_kind_unknown")
            ]
        );
    }

    #[test]
    fn a_utc_date_time_is_the_day_it_is_in_china() {
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261231T160000Z\nDTEND:20270101T160000Z\nSUMMARY:元旦(休)\nEND:VEVENT\nEND:VCALENDAR\n";
        let p = PublicDays::parse(ics).unwrap();
        assert_eq!(
            p.holidays.iter().copied().collect::<Vec<_>>(),
            [date(2027, 1, 1)]
        );
    }

    #[test]
    fn folded_lines_and_full_width_brackets_are_read() {
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2027\n 0206\nSUMMARY:春节（班）\nEND:VEVENT\nEND:VCALENDAR\n";
        let p = PublicDays::parse(ics).unwrap();
        assert!(p.makeup_workdays.contains(&date(2027, 2, 6)));
    }
}
