//! Scorecards: what a person's or an outlet's service came to over a period, measure by
//! measure, against targets, with the case mix taken into account.
//!
//! Case mix: a rate is compared with what it would have been had the person handled each
//! of their requests as well as everyone handled requests of the same service type,
//! product line and customer tier in the period (indirect standardisation). The adjusted
//! rate is the overall rate moved by the difference: `overall + (observed - expected)`.
//! Someone taking the hard requests is no longer ranked below someone taking the easy
//! ones for that alone.

use std::collections::HashMap;
use std::ops::AddAssign;

/// Below this many cases a measure says "not enough data" rather than a percentage.
pub const MIN_SAMPLE: i64 = 10;

/// A repair of the same item within this many days of the last one's resolution is a
/// repeat: the first did not hold.
pub const REPEAT_DAYS: i64 = 30;
/// A visit counts as on time when the technician arrived at most this many minutes after
/// the booked start.
pub const ON_TIME_GRACE_MINUTES: i64 = 15;

/// Whether a repair opened at `now` repeats one resolved at `resolved`.
pub fn repeats(resolved: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    resolved <= now && now.duration_since(resolved).as_secs() <= REPEAT_DAYS * 86_400
}

/// Whether a technician arriving at `arrived` was on time for a visit booked at `starts`.
pub fn on_time(starts: jiff::Timestamp, arrived: jiff::Timestamp) -> bool {
    arrived.duration_since(starts).as_secs() <= ON_TIME_GRACE_MINUTES * 60
}

/// What one group of requests came to: the counts every measure is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: i64,
    /// Requests with a first-response target, and those answered within it.
    pub response_n: i64,
    pub response_ok: i64,
    /// Requests resolved, and those resolved within the target.
    pub resolved: i64,
    pub resolved_ok: i64,
    /// Resolved requests that needed a visit, and those fixed at the first.
    pub fix_n: i64,
    pub first_fix: i64,
    /// Resolved repairs, and those the same item came back for within 30 days.
    pub repair_n: i64,
    pub repeats: i64,
    /// Requests the customer rated, and those rated 4 or 5 stars.
    pub rated: i64,
    pub satisfied: i64,
    /// Survey answers: NPS (promoters 9–10, detractors 0–6) and customer effort (sum).
    pub nps_n: i64,
    pub promoters: i64,
    pub detractors: i64,
    pub ces_n: i64,
    pub ces_sum: i64,
    /// Complaints laid at their door.
    pub complaints: i64,
    /// Visits with an arrival time, and those on time.
    pub visits_timed: i64,
    pub visits_on_time: i64,
    /// Service standard items marked, and those done.
    pub checklist_items: i64,
    pub checklist_done: i64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.requests += o.requests;
        self.response_n += o.response_n;
        self.response_ok += o.response_ok;
        self.resolved += o.resolved;
        self.resolved_ok += o.resolved_ok;
        self.fix_n += o.fix_n;
        self.first_fix += o.first_fix;
        self.repair_n += o.repair_n;
        self.repeats += o.repeats;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
        self.nps_n += o.nps_n;
        self.promoters += o.promoters;
        self.detractors += o.detractors;
        self.ces_n += o.ces_n;
        self.ces_sum += o.ces_sum;
        self.complaints += o.complaints;
        self.visits_timed += o.visits_timed;
        self.visits_on_time += o.visits_on_time;
        self.checklist_items += o.checklist_items;
        self.checklist_done += o.checklist_done;
    }
}

/// The rates that are adjusted for case mix: (code, cases, successes).
pub fn mix_rates(c: &Counts) -> [(&'static str, i64, i64); 4] {
    [
        ("response_in_sla", c.response_n, c.response_ok),
        ("resolution_in_sla", c.resolved, c.resolved_ok),
        ("first_time_fix", c.fix_n, c.first_fix),
        ("repeat_repair", c.repair_n, c.repeats),
    ]
}

/// A kind of request for case mix: service type, product category, customer tier.
pub type MixKey = (String, i64, String);

/// The expected rate of each case-mixed measure for someone's requests, from everyone's
/// rates per kind of request: Σ cases × rate of that kind / Σ cases. None where they have
/// no cases.
pub fn expected(
    mine: &HashMap<MixKey, Counts>,
    everyone: &HashMap<MixKey, Counts>,
) -> HashMap<&'static str, f64> {
    let mut num: HashMap<&'static str, f64> = HashMap::new();
    let mut den: HashMap<&'static str, i64> = HashMap::new();
    for (key, c) in mine {
        let Some(all) = everyone.get(key) else {
            continue;
        };
        for ((code, n, _), (_, all_n, all_ok)) in mix_rates(c).into_iter().zip(mix_rates(all)) {
            if n == 0 || all_n == 0 {
                continue;
            }
            *num.entry(code).or_default() += n as f64 * all_ok as f64 / all_n as f64;
            *den.entry(code).or_default() += n;
        }
    }
    num.into_iter()
        .filter_map(|(k, v)| den.get(k).filter(|d| **d > 0).map(|d| (k, v / *d as f64)))
        .collect()
}

/// How a measure reads: higher is better, or lower is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One measure of a scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub code: &'static str,
    /// The value (a rate 0–1, an NPS −100–100, an average); none: not enough data.
    pub value: Option<f64>,
    /// The cases it stands on.
    pub n: i64,
    /// What the case mix predicts, and the rate adjusted for it (rates that are mixed).
    pub expected: Option<f64>,
    pub adjusted: Option<f64>,
    pub target: Option<f64>,
    pub better: Better,
}

impl Measure {
    /// Whether it meets its target (none without a value or a target).
    pub fn meets(&self) -> Option<bool> {
        let v = self.adjusted.or(self.value)?;
        let t = self.target?;
        Some(match self.better {
            Better::Higher => v >= t,
            Better::Lower => v <= t,
        })
    }
}

fn rate(n: i64, ok: i64) -> Option<f64> {
    (n >= MIN_SAMPLE).then(|| ok as f64 / n as f64)
}

/// Targets per measure code.
pub type Targets = HashMap<String, f64>;

/// The measures of a set of counts, with the case mix of `mine` against `everyone` and
/// the overall rates of `overall` (everyone's counts summed).
pub fn measures(
    c: &Counts,
    expected: &HashMap<&'static str, f64>,
    overall: &Counts,
    targets: &Targets,
) -> Vec<Measure> {
    let target = |code: &str| targets.get(code).copied();
    let mut out = Vec::new();
    for ((code, n, ok), (_, all_n, all_ok)) in mix_rates(c).into_iter().zip(mix_rates(overall)) {
        let value = rate(n, ok);
        let exp = expected.get(code).copied().filter(|_| value.is_some());
        let adjusted = match (value, exp) {
            (Some(v), Some(e)) if all_n > 0 => {
                Some((all_ok as f64 / all_n as f64 + v - e).clamp(0.0, 1.0))
            }
            _ => None,
        };
        out.push(Measure {
            code,
            value,
            n,
            expected: exp,
            adjusted,
            target: target(code),
            better: if code == "repeat_repair" {
                Better::Lower
            } else {
                Better::Higher
            },
        });
    }
    let plain = |code: &'static str, n: i64, value: Option<f64>, better| Measure {
        code,
        value,
        n,
        expected: None,
        adjusted: None,
        target: target(code),
        better,
    };
    out.push(plain(
        "visits_on_time",
        c.visits_timed,
        rate(c.visits_timed, c.visits_on_time),
        Better::Higher,
    ));
    out.push(plain(
        "standards_kept",
        c.checklist_items,
        rate(c.checklist_items, c.checklist_done),
        Better::Higher,
    ));
    out.push(plain(
        "csat",
        c.rated,
        rate(c.rated, c.satisfied),
        Better::Higher,
    ));
    out.push(plain(
        "nps",
        c.nps_n,
        (c.nps_n >= MIN_SAMPLE)
            .then(|| 100.0 * (c.promoters - c.detractors) as f64 / c.nps_n as f64),
        Better::Higher,
    ));
    out.push(plain(
        "ces",
        c.ces_n,
        (c.ces_n >= MIN_SAMPLE).then(|| c.ces_sum as f64 / c.ces_n as f64),
        Better::Lower,
    ));
    // A count, not a rate: always known.
    out.push(plain(
        "complaints",
        c.requests,
        Some(c.complaints as f64),
        Better::Lower,
    ));
    out
}

/// The default targets: what a good service desk reaches.
pub fn default_targets() -> Targets {
    [
        ("response_in_sla", 0.90),
        ("resolution_in_sla", 0.85),
        ("first_time_fix", 0.80),
        ("repeat_repair", 0.05),
        ("visits_on_time", 0.90),
        ("standards_kept", 0.95),
        ("csat", 0.90),
        ("nps", 30.0),
        ("ces", 3.0),
        ("quality_score", 80.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The rubric a quality review scores, each criterion 0–5: the diagnosis was right, the
/// customer was kept informed, the service standard was kept, the records are complete,
/// the problem stayed solved.
pub const RUBRIC: &[&str] = &[
    "diagnosis",
    "communication",
    "standards",
    "records",
    "outcome",
];

/// A review's score (0–100) from its criteria, each 0–5, every one of the rubric given.
/// Errors name `scores.<criterion>`.
pub fn review_score(scores: &[(String, i64)]) -> Result<i64, crate::Invalid> {
    let mut inv = crate::Invalid::default();
    for (k, v) in scores {
        if !RUBRIC.contains(&k.as_str()) {
            inv.push(format!("scores.{k}"), "criterion_unknown");
        } else if !(0..=5).contains(v) {
            inv.push(format!("scores.{k}"), "out_of_range");
        }
    }
    for c in RUBRIC {
        if !scores.iter().any(|(k, _)| k == c) {
            inv.push(format!("scores.{c}"), "required");
        }
    }
    inv.into_result()?;
    let sum: i64 = scores.iter().map(|(_, v)| v).sum();
    Ok((sum * 100 + (5 * RUBRIC.len() as i64) / 2) / (5 * RUBRIC.len() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, cat: i64, tier: &str) -> MixKey {
        (t.to_string(), cat, tier.to_string())
    }

    fn resolved(n: i64, ok: i64) -> Counts {
        Counts {
            requests: n,
            resolved: n,
            resolved_ok: ok,
            ..Counts::default()
        }
    }

    /// Worked by hand. Everyone: installations resolve in time 90 of 100 (0.9), repairs of
    /// compressors 30 of 60 (0.5). Overall 120 of 160 = 0.75.
    /// Li takes 10 installations (9 in time) and 40 compressor repairs (22 in time):
    /// observed 31/50 = 0.62, expected (10 x 0.9 + 40 x 0.5) / 50 = 29/50 = 0.58,
    /// adjusted 0.75 + 0.62 - 0.58 = 0.79: better than average on hard work.
    /// Wang takes 40 installations (34 in time) and 10 repairs (2 in time):
    /// observed 36/50 = 0.72, expected (40 x 0.9 + 10 x 0.5) / 50 = 0.82,
    /// adjusted 0.75 + 0.72 - 0.82 = 0.65: worse, though his raw rate is higher.
    #[test]
    fn case_mix_on_a_hand_worked_example() {
        let everyone: HashMap<MixKey, Counts> = [
            (key("installation", 1, "medium"), resolved(100, 90)),
            (key("repair", 2, "medium"), resolved(60, 30)),
        ]
        .into();
        let mut overall = Counts::default();
        for c in everyone.values() {
            overall += *c;
        }
        let li: HashMap<MixKey, Counts> = [
            (key("installation", 1, "medium"), resolved(10, 9)),
            (key("repair", 2, "medium"), resolved(40, 22)),
        ]
        .into();
        let wang: HashMap<MixKey, Counts> = [
            (key("installation", 1, "medium"), resolved(40, 34)),
            (key("repair", 2, "medium"), resolved(10, 2)),
        ]
        .into();
        let sum = |m: &HashMap<MixKey, Counts>| {
            let mut s = Counts::default();
            for c in m.values() {
                s += *c;
            }
            s
        };
        let targets = default_targets();
        let li_m = measures(&sum(&li), &expected(&li, &everyone), &overall, &targets);
        let wang_m = measures(&sum(&wang), &expected(&wang, &everyone), &overall, &targets);
        let get = |ms: &[Measure]| {
            ms.iter()
                .find(|m| m.code == "resolution_in_sla")
                .cloned()
                .unwrap()
        };
        let (l, w) = (get(&li_m), get(&wang_m));
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(close(l.value, 0.62) && close(l.expected, 0.58) && close(l.adjusted, 0.79));
        assert!(close(w.value, 0.72) && close(w.expected, 0.82) && close(w.adjusted, 0.65));
        assert_eq!(l.n, 50);
        // Against the 85% target: neither meets it; ranked by adjusted rate, Li is first.
        assert_eq!((l.meets(), w.meets()), (Some(false), Some(false)));
        assert!(l.adjusted > w.adjusted && l.value < w.value);
    }

    #[test]
    fn every_measure_from_counts() {
        let c = Counts {
            requests: 40,
            response_n: 20,
            response_ok: 19,
            resolved: 20,
            resolved_ok: 17,
            fix_n: 10,
            first_fix: 8,
            repair_n: 10,
            repeats: 1,
            rated: 10,
            satisfied: 9,
            nps_n: 10,
            promoters: 6,
            detractors: 1,
            ces_n: 10,
            ces_sum: 25,
            complaints: 2,
            visits_timed: 10,
            visits_on_time: 7,
            checklist_items: 50,
            checklist_done: 48,
        };
        let ms = measures(&c, &HashMap::new(), &c, &default_targets());
        let v = |code: &str| {
            let m = ms.iter().find(|m| m.code == code).unwrap();
            (m.value.map(|x| (x * 1000.0).round() / 1000.0), m.meets())
        };
        assert_eq!(v("response_in_sla"), (Some(0.95), Some(true)));
        assert_eq!(v("resolution_in_sla"), (Some(0.85), Some(true)));
        assert_eq!(v("first_time_fix"), (Some(0.8), Some(true)));
        assert_eq!(v("repeat_repair"), (Some(0.1), Some(false)));
        assert_eq!(v("visits_on_time"), (Some(0.7), Some(false)));
        assert_eq!(v("standards_kept"), (Some(0.96), Some(true)));
        assert_eq!(v("csat"), (Some(0.9), Some(true)));
        assert_eq!(v("nps"), (Some(50.0), Some(true)));
        assert_eq!(v("ces"), (Some(2.5), Some(true)));
        assert_eq!(v("complaints"), (Some(2.0), None));
    }

    #[test]
    fn repeats_and_punctuality() {
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let resolved = t("2026-11-01T02:00:00Z");
        assert!(repeats(resolved, t("2026-12-01T02:00:00Z")));
        assert!(!repeats(resolved, t("2026-12-01T02:00:01Z")));
        assert!(!repeats(resolved, t("2026-10-31T02:00:00Z")));
        let starts = t("2026-11-24T02:00:00Z");
        assert!(on_time(starts, t("2026-11-24T01:50:00Z")));
        assert!(on_time(starts, t("2026-11-24T02:15:00Z")));
        assert!(!on_time(starts, t("2026-11-24T02:15:01Z")));
    }

    #[test]
    fn a_review_scores_every_criterion() {
        let full: Vec<(String, i64)> = RUBRIC.iter().map(|c| (c.to_string(), 4)).collect();
        assert_eq!(review_score(&full), Ok(80));
        let mut mixed = full.clone();
        mixed[0].1 = 5;
        mixed[1].1 = 2;
        // 5 + 2 + 4 + 4 + 4 = 19 of 25.
        assert_eq!(review_score(&mixed), Ok(76));
        let bad = review_score(&[("diagnosis".into(), 6), ("charm".into(), 3)]).unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("scores.diagnosis", "out_of_range"),
                ("scores.charm", "criterion_unknown"),
                ("scores.communication", "required"),
                ("scores.standards", "required"),
                ("scores.records", "required"),
                ("scores.outcome", "required"),
            ]
        );
    }

    #[test]
    fn too_few_cases_is_not_enough_data() {
        let c = resolved(9, 9);
        let ms = measures(&c, &HashMap::new(), &c, &default_targets());
        let m = ms.iter().find(|m| m.code == "resolution_in_sla").unwrap();
        assert_eq!((m.value, m.n, m.meets()), (None, 9, None));
        let ms = measures(&resolved(10, 9), &HashMap::new(), &c, &default_targets());
        let m = ms.iter().find(|m| m.code == "resolution_in_sla").unwrap();
        assert_eq!(m.value, Some(0.9));
    }
}
