//! The fits reproduce the published parameters on the CDNOW sample (`tests/data`, with its
//! source and licence in `tests/data/README.md`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_insight::clv::{History, Purchase, clv, fit_bgnbd, fit_gamma_gamma, summarize};
use jiff::civil::date;

fn cdnow() -> Vec<Purchase> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/CDNOW_sample.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let d = f[2];
            Purchase {
                customer: f[1].parse().unwrap(),
                day: date(
                    d[..4].parse().unwrap(),
                    d[4..6].parse().unwrap(),
                    d[6..8].parse().unwrap(),
                ),
                amount: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// Within 1 %: closer than the two significant figures the published values are checked to.
fn two_figures(actual: f64, published: f64) -> bool {
    (actual - published).abs() / published.abs() < 0.01
}

#[test]
fn bg_nbd_on_cdnow_reproduces_the_published_parameters() {
    let data = summarize(&cdnow(), date(1997, 9, 30), 7.0);
    assert_eq!(data.len(), 2357);
    let m = fit_bgnbd(&data).unwrap();
    eprintln!("{m:?}");
    for (name, got, want) in [
        ("r", m.r, 0.243),
        ("alpha", m.alpha, 4.414),
        ("a", m.a, 0.793),
        ("b", m.b, 2.426),
    ] {
        assert!(two_figures(got, want), "{name}: {got} vs published {want}");
    }
    assert!(
        (m.log_likelihood - (-9582.4)).abs() < 1.0,
        "log-likelihood {}",
        m.log_likelihood
    );
}

#[test]
fn gamma_gamma_on_cdnow_reproduces_the_published_parameters() {
    let data = summarize(&cdnow(), date(1997, 9, 30), 7.0);
    let m = fit_gamma_gamma(&data).unwrap();
    eprintln!("{m:?}");
    for (name, got, want) in [
        ("p", m.p, 6.25),
        ("q", m.q, 3.74),
        ("gamma", m.gamma, 15.44),
    ] {
        assert!(two_figures(got, want), "{name}: {got} vs published {want}");
    }
}

#[test]
fn conditional_expectation_matches_the_papers_worked_example() {
    // Fader, Hardie & Lee (2005), section 5: a customer with x = 2, t_x = 30.43 and
    // T = 38.86 weeks is expected to make 1.226 purchases in the next 39 weeks.
    let data = summarize(&cdnow(), date(1997, 9, 30), 7.0);
    let m = fit_bgnbd(&data).unwrap();
    let h = History {
        customer: 0,
        x: 2.0,
        t_x: 30.43,
        t: 38.86,
        monetary: 0.0,
    };
    let e = m.expected_purchases(&h, 39.0);
    eprintln!("E[Y(39)] = {e}");
    assert!((e - 1.226).abs() < 0.01, "{e}");
}

#[test]
fn clv_grows_with_spend_and_shrinks_with_the_discount_rate() {
    let data = summarize(&cdnow(), date(1997, 9, 30), 7.0);
    let (bg, gg) = (fit_bgnbd(&data).unwrap(), fit_gamma_gamma(&data).unwrap());
    let h = History {
        customer: 0,
        x: 4.0,
        t_x: 30.0,
        t: 38.0,
        monetary: 30.0,
    };
    let big = History {
        monetary: 60.0,
        ..h
    };
    let v = clv(&bg, &gg, &h, 12, 4.33, 0.3, 0.01);
    assert!(v > 0.0);
    assert!(clv(&bg, &gg, &big, 12, 4.33, 0.3, 0.01) > v);
    assert!(clv(&bg, &gg, &h, 12, 4.33, 0.3, 0.05) < v);
}

#[test]
fn holdout_repeat_purchases_are_predicted_within_fifteen_percent() {
    // Calibration 1997-01-01 .. 1997-09-30, holdout the 39 weeks up to 1998-06-30, as in
    // Fader, Hardie & Lee (2005).
    use aftercare_insight::holdout::{Followed, checkpoints, validate};
    let purchases = cdnow();
    let end = date(1997, 9, 30);
    let data = summarize(&purchases, end, 7.0);
    let bg = fit_bgnbd(&data).unwrap();
    let points = checkpoints(39.0, 39);
    assert_eq!(points.len(), 39);
    // Repeat purchases after the end, same-day purchases counted once, up to each week.
    let mut days: std::collections::BTreeMap<i64, std::collections::BTreeSet<jiff::civil::Date>> =
        Default::default();
    for p in purchases.iter().filter(|p| p.day > end) {
        days.entry(p.customer).or_default().insert(p.day);
    }
    let cohort: Vec<Followed> = data
        .iter()
        .map(|h| Followed {
            history: *h,
            after: points
                .iter()
                .map(|t| {
                    let until = end + jiff::Span::new().days((t * 7.0) as i64);
                    days.get(&h.customer)
                        .map_or(0, |d| d.iter().filter(|d| **d <= until).count())
                        as f64
                })
                .collect(),
        })
        .collect();
    let (groups, track) = validate(&bg, &cohort, &points);
    let total = track.last().unwrap();
    eprintln!(
        "holdout: actual {} predicted {:.1}",
        total.actual, total.predicted
    );
    for g in &groups {
        eprintln!(
            "x = {}: {} customers, actual {:.3}, predicted {:.3}",
            g.x, g.customers, g.actual, g.predicted
        );
    }
    // The sample's 2,357 customers bought again on 1,882 days in the holdout weeks; the
    // model expects 1,653 (12 % fewer, mostly among those with one or two repeat
    // purchases in calibration). Recorded in docs/benchmarks.md.
    assert_eq!(total.actual, 1882.0);
    assert!((total.predicted - total.actual).abs() / total.actual < 0.15);
    assert_eq!(groups.iter().map(|g| g.customers).sum::<usize>(), 2357);
    // Those who bought more often before buy more often after, as predicted.
    assert!(groups[0].actual < groups[3].actual && groups[0].predicted < groups[3].predicted);
}
