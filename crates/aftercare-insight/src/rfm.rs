//! RFM: recency, frequency and monetary value, each scored 1–5 by quintile among all
//! customers (5 is best: the most recent, the most frequent, the biggest spenders).

use crate::clv::Purchase;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RfmScore {
    pub customer: i64,
    /// Days from the last purchase to the day of scoring.
    pub recency_days: i64,
    /// Purchases (distinct days) in the window.
    pub frequency: u32,
    /// Money spent in the window.
    pub monetary: f64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

/// Scores every customer with a purchase in the window of `window_days` before `as_of`
/// (inclusive; `None` for all history). Purchases after `as_of` are ignored.
pub fn rfm(purchases: &[Purchase], as_of: Date, window_days: Option<u32>) -> Vec<RfmScore> {
    let from =
        window_days.and_then(|d| as_of.checked_sub(jiff::Span::new().days(d as i64 - 1)).ok());
    let mut by: BTreeMap<i64, (Date, BTreeMap<Date, ()>, f64)> = BTreeMap::new();
    for p in purchases
        .iter()
        .filter(|p| p.day <= as_of && from.is_none_or(|f| p.day >= f))
    {
        let e = by
            .entry(p.customer)
            .or_insert((p.day, BTreeMap::new(), 0.0));
        e.0 = e.0.max(p.day);
        e.1.insert(p.day, ());
        e.2 += p.amount;
    }
    let rows: Vec<(i64, i64, u32, f64)> = by
        .into_iter()
        .map(|(c, (last, days, spend))| {
            (
                c,
                (as_of - last).get_days() as i64,
                days.len() as u32,
                spend,
            )
        })
        .collect();
    // Recency: fewer days is better, so it is ranked on the negated value.
    let r = quintiles(&rows.iter().map(|x| -(x.1 as f64)).collect::<Vec<_>>());
    let f = quintiles(&rows.iter().map(|x| x.2 as f64).collect::<Vec<_>>());
    let m = quintiles(&rows.iter().map(|x| x.3).collect::<Vec<_>>());
    rows.iter()
        .enumerate()
        .map(
            |(i, &(customer, recency_days, frequency, monetary))| RfmScore {
                customer,
                recency_days,
                frequency,
                monetary,
                r: r[i],
                f: f[i],
                m: m[i],
            },
        )
        .collect()
}

/// Quintile scores 1–5 by rank, higher values scoring higher. Equal values share the
/// average of their ranks, so ties always get the same score.
pub fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg_rank = (i + j + 2) as f64 / 2.0;
        let score = ((5.0 * avg_rank / n as f64).ceil() as u8).clamp(1, 5);
        for k in i..=j {
            scores[order[k]] = score;
        }
        i = j + 1;
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn ten_distinct_values_fall_two_to_a_quintile() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quintiles(&v), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn the_boundary_between_quintiles_is_exact() {
        // Five values: one per quintile; the 20 % boundary falls exactly on rank 1.
        assert_eq!(
            quintiles(&[50.0, 10.0, 40.0, 20.0, 30.0]),
            vec![5, 1, 4, 2, 3]
        );
    }

    #[test]
    fn equal_values_share_a_score_and_all_equal_is_the_middle() {
        assert_eq!(quintiles(&[7.0; 6]), vec![3; 6]);
        let s = quintiles(&[1.0, 2.0, 2.0, 2.0, 9.0]);
        assert_eq!(s[1], s[2]);
        assert_eq!(s[2], s[3]);
        assert_eq!(s, vec![1, 3, 3, 3, 5]);
    }

    #[test]
    fn nobody_to_score_is_nothing() {
        assert!(quintiles(&[]).is_empty());
    }

    #[test]
    fn recent_frequent_big_spenders_score_five_and_the_window_is_honoured() {
        let p = |customer, day, amount| Purchase {
            customer,
            day,
            amount,
        };
        let today = date(2026, 11, 25);
        let purchases = vec![
            p(1, date(2026, 11, 24), 500.0),
            p(1, date(2026, 10, 1), 500.0),
            p(1, date(2026, 9, 1), 500.0),
            p(2, date(2026, 6, 1), 10.0),
            p(3, date(2026, 8, 1), 100.0),
            p(3, date(2026, 8, 1), 100.0),
            p(4, date(2025, 1, 1), 9999.0),
            p(5, date(2026, 11, 30), 1.0),
        ];
        let s = rfm(&purchases, today, Some(365));
        let one = s.iter().find(|x| x.customer == 1).unwrap();
        assert_eq!(
            (one.recency_days, one.frequency, one.monetary),
            (1, 3, 1500.0)
        );
        assert_eq!((one.r, one.f, one.m), (5, 5, 5));
        let three = s.iter().find(|x| x.customer == 3).unwrap();
        assert_eq!(three.frequency, 1, "two purchases on one day are one visit");
        assert!(
            s.iter().all(|x| x.customer != 4),
            "outside the 365-day window"
        );
        assert!(s.iter().all(|x| x.customer != 5), "after the scoring day");
        let two = s.iter().find(|x| x.customer == 2).unwrap();
        assert!(two.r < three.r && three.r < one.r);
        assert!(two.m < three.m && three.m < one.m);
        assert_eq!(two.f, three.f, "equal frequencies share a score");
    }

    #[test]
    fn a_window_starts_on_its_first_day() {
        let p = |day| Purchase {
            customer: 1,
            day,
            amount: 1.0,
        };
        let today = date(2026, 11, 25);
        assert_eq!(rfm(&[p(date(2026, 11, 16))], today, Some(10)).len(), 1);
        assert_eq!(rfm(&[p(date(2026, 11, 15))], today, Some(10)).len(), 0);
    }
}
