//! Uplift of a campaign: what its contacted group did, against the holdout group kept out
//! of it, with a confidence interval for the difference.
//!
//! The difference of two means with Welch's standard error, `sqrt(s₁²/n₁ + s₂²/n₂)`, and a
//! 95 % normal interval. For a rate (bought again or not) the values are 0 and 1 and the
//! same formula is the usual two-proportion interval. Under [`MIN_GROUP`] in either group
//! the normal approximation is not trusted and no interval is given.

use serde::{Deserialize, Serialize};

/// Below this many customers in a group no interval is given.
pub const MIN_GROUP: usize = 30;
/// The 97.5 % quantile of the standard normal distribution.
const Z_975: f64 = 1.959_963_984_540_054;

/// One measure compared between the contacted and the holdout group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Uplift {
    /// Mean per customer in the contacted group.
    pub contacted: f64,
    /// Mean per customer in the holdout group.
    pub holdout: f64,
    /// `contacted − holdout`.
    pub difference: f64,
    /// The 95 % interval of the difference; `None` when a group is too small.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Uplift {
    /// Whether the interval excludes zero: the campaign made a difference.
    pub fn is_clear(&self) -> bool {
        matches!((self.low, self.high), (Some(l), Some(h)) if l > 0.0 || h < 0.0)
    }
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var)
}

/// Compares a measure's values per customer in the two groups.
pub fn uplift(contacted: &[f64], holdout: &[f64]) -> Uplift {
    let (m1, v1) = mean_var(contacted);
    let (m2, v2) = mean_var(holdout);
    let difference = m1 - m2;
    let (low, high) = if contacted.len() >= MIN_GROUP && holdout.len() >= MIN_GROUP {
        let se = (v1 / contacted.len() as f64 + v2 / holdout.len() as f64).sqrt();
        (Some(difference - Z_975 * se), Some(difference + Z_975 * se))
    } else {
        (None, None)
    };
    Uplift {
        contacted: m1,
        holdout: m2,
        difference,
        low,
        high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(yes: usize, n: usize) -> Vec<f64> {
        (0..n).map(|i| if i < yes { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn a_rate_is_compared_with_the_two_proportion_interval() {
        // 120 of 900 bought again against 8 of 100: worked by hand,
        // p₁ = 0.1333, p₂ = 0.08, s₁² = 0.1157 (n−1), s₂² = 0.0743,
        // se = sqrt(0.1157/900 + 0.0743/100) = 0.02948, ±1.96 se = ±0.0578.
        let u = uplift(&rate(120, 900), &rate(8, 100));
        assert!((u.difference - 0.05333).abs() < 1e-4);
        assert!((u.low.unwrap() - (-0.00444)).abs() < 5e-4, "{u:?}");
        assert!((u.high.unwrap() - 0.11111).abs() < 5e-4, "{u:?}");
        assert!(!u.is_clear(), "the interval holds zero");
        let big = uplift(&rate(1200, 9000), &rate(80, 1000));
        assert!(big.is_clear(), "ten times the customers: {big:?}");
    }

    #[test]
    fn small_groups_get_no_interval() {
        let u = uplift(&[100.0; 50], &[0.0; 10]);
        assert_eq!((u.contacted, u.holdout, u.difference), (100.0, 0.0, 100.0));
        assert_eq!((u.low, u.high), (None, None));
        assert!(!u.is_clear());
        let empty = uplift(&[], &[]);
        assert_eq!(empty.difference, 0.0);
    }
}
