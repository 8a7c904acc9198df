//! Holdout validation of BG/NBD, as the literature checks it (Fader, Hardie & Lee 2005,
//! figures 2–4): fit on a calibration period, then compare the repeat purchases the model
//! expects of each customer in the following period with those they made, by number of
//! repeat purchases in calibration (the conditional expectations) and over time (the
//! tracking of cumulative repeat purchases).

use crate::clv::{BgNbd, History};
use serde::{Deserialize, Serialize};

/// A customer of the calibration cohort: the calibration history, and the repeat purchases
/// made after the calibration end up to each checkpoint (cumulative, one per checkpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    pub history: History,
    pub after: Vec<f64>,
}

/// Customers who made `x` repeat purchases in calibration (`x` = [`TOP_GROUP`] stands for
/// that many or more): how many, and their mean repeat purchases in the holdout period,
/// made and expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrequencyGroup {
    pub x: u32,
    pub customers: usize,
    pub actual: f64,
    pub predicted: f64,
}

/// Cumulative repeat purchases of the cohort `t` time units after the calibration end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackPoint {
    pub t: f64,
    pub actual: f64,
    pub predicted: f64,
}

/// The last frequency group holds this many repeat purchases and more.
pub const TOP_GROUP: u32 = 7;

/// The conditional expectations at the last checkpoint, and the tracking at every one
/// (`checkpoints`: time units after the calibration end, ascending).
pub fn validate(
    bg: &BgNbd,
    cohort: &[Followed],
    checkpoints: &[f64],
) -> (Vec<FrequencyGroup>, Vec<TrackPoint>) {
    let last = checkpoints.len().saturating_sub(1);
    let mut groups: Vec<FrequencyGroup> = (0..=TOP_GROUP)
        .map(|x| FrequencyGroup {
            x,
            customers: 0,
            actual: 0.0,
            predicted: 0.0,
        })
        .collect();
    let mut track: Vec<TrackPoint> = checkpoints
        .iter()
        .map(|&t| TrackPoint {
            t,
            actual: 0.0,
            predicted: 0.0,
        })
        .collect();
    for c in cohort {
        for (k, point) in track.iter_mut().enumerate() {
            point.actual += c.after.get(k).copied().unwrap_or(0.0);
            point.predicted += bg.expected_purchases(&c.history, point.t);
        }
        let g = &mut groups[(c.history.x as u32).min(TOP_GROUP) as usize];
        g.customers += 1;
        g.actual += c.after.get(last).copied().unwrap_or(0.0);
        g.predicted += checkpoints
            .last()
            .map_or(0.0, |t| bg.expected_purchases(&c.history, *t));
    }
    for g in groups.iter_mut().filter(|g| g.customers > 0) {
        g.actual /= g.customers as f64;
        g.predicted /= g.customers as f64;
    }
    (groups, track)
}

/// Checkpoints every `step` time units after the calibration end up to `horizon`, at most
/// `max` of them, the last one on the horizon.
pub fn checkpoints(horizon: f64, max: usize) -> Vec<f64> {
    if horizon <= 0.0 || max == 0 {
        return vec![];
    }
    let step = (horizon / max as f64).ceil().max(1.0);
    let mut out: Vec<f64> = (1..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t < horizon)
        .collect();
    out.push(horizon);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_end_on_the_horizon() {
        assert_eq!(checkpoints(5.0, 10), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            checkpoints(39.0, 13),
            (1..=13).map(|k| f64::from(k * 3)).collect::<Vec<_>>()
        );
        assert_eq!(checkpoints(10.5, 4), [3.0, 6.0, 9.0, 10.5]);
        assert!(checkpoints(0.0, 4).is_empty());
    }

    #[test]
    fn groups_average_and_tracking_sums() {
        let bg = BgNbd {
            r: 0.24,
            alpha: 4.4,
            a: 0.79,
            b: 2.4,
            log_likelihood: 0.0,
        };
        let h = |x: f64| History {
            customer: 1,
            x,
            t_x: 20.0,
            t: 39.0,
            monetary: 0.0,
        };
        let cohort = [
            Followed {
                history: h(0.0),
                after: vec![0.0, 1.0],
            },
            Followed {
                history: h(0.0),
                after: vec![1.0, 1.0],
            },
            Followed {
                history: h(9.0),
                after: vec![2.0, 5.0],
            },
        ];
        let (groups, track) = validate(&bg, &cohort, &[10.0, 39.0]);
        assert_eq!((groups[0].customers, groups[0].actual), (2, 1.0));
        assert_eq!((groups[7].customers, groups[7].actual), (1, 5.0));
        assert_eq!(groups[3].customers, 0);
        assert_eq!((track[0].actual, track[1].actual), (3.0, 7.0));
        assert!(track[0].predicted < track[1].predicted);
        assert!(groups[7].predicted > groups[0].predicted);
    }
}
