//! Customer lifetime value from purchase history: the BG/NBD model of how often customers
//! buy and when they stop (Fader, Hardie & Lee 2005), and the Gamma-Gamma model of how much
//! they spend (Fader, Hardie & Lee 2005, "RFM and CLV"), both fitted by maximum likelihood.

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use jiff::civil::Date;
use serde::Serialize;
use statrs::function::gamma::ln_gamma;

/// One purchase: who, which day, how much (in any unit of money).
#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub customer: i64,
    pub day: Date,
    pub amount: f64,
}

/// A customer's history as the models see it, in time units (weeks, say) from the first
/// purchase: `x` repeat purchases, the last at `t_x`, observed for `t` in all.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct History {
    pub customer: i64,
    pub x: f64,
    pub t_x: f64,
    pub t: f64,
    /// Mean value of the repeat purchases (0 without any).
    pub monetary: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("no customers to fit")]
    Empty,
    #[error("no customer made a repeat purchase")]
    NoRepeat,
    #[error("the optimiser failed: {0}")]
    Optimiser(String),
    /// A parameter ended far outside what any customer base gives (CDNOW: r 0.24, α 4.4,
    /// a 0.79, b 2.4; p 6.3, q 3.7, γ 15): the data do not pin the model down.
    #[error("the parameter {0} ran away to {1:.3e}")]
    RanAway(&'static str, f64),
}

impl FitError {
    /// The reason as a code people get in their language (`value.fit.<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            FitError::Empty => "empty",
            FitError::NoRepeat => "no_repeat",
            FitError::Optimiser(_) => "optimiser",
            FitError::RanAway(..) => "ran_away",
        }
    }
}

/// Gamma-Gamma's fit is usable when the mean spend it implies exists (q > 1) and is of the
/// order of the spend seen. p far out alone is not a failure: it is the limit where each
/// customer spends the same every time (a fixed list price), where the model trusts each
/// customer's own mean; γ is a scale in the unit of money.
fn spend_sane(p: f64, q: f64, gamma: f64, repeat: &[History]) -> Result<(), FitError> {
    if !(q > 1.0 && q.is_finite()) {
        return Err(FitError::RanAway("q", q));
    }
    let implied = p * gamma / (q - 1.0);
    let seen = repeat.iter().map(|h| h.monetary).sum::<f64>() / repeat.len().max(1) as f64;
    let ratio = implied / seen;
    if !(0.1..=10.0).contains(&ratio) || !ratio.is_finite() {
        return Err(FitError::RanAway("mean spend", implied));
    }
    Ok(())
}

/// A parameter outside this range stopped near the edge of the search (e^±12): the
/// likelihood kept improving towards zero or infinity, so the data do not pin it down.
pub const SANE_PARAMETERS: std::ops::RangeInclusive<f64> = 1.7e-5..=5.9e4;

fn sane(params: &[(&'static str, f64)]) -> Result<(), FitError> {
    match params
        .iter()
        .find(|(_, v)| !v.is_finite() || !SANE_PARAMETERS.contains(v))
    {
        Some((name, v)) => Err(FitError::RanAway(name, *v)),
        None => Ok(()),
    }
}

/// Summarises purchases up to and including `end` (the calibration period). Purchases on
/// the same day count as one purchase of their total value; `unit_days` is the time unit
/// (7 for weeks). Customers whose first purchase is after `end` are left out.
pub fn summarize(purchases: &[Purchase], end: Date, unit_days: f64) -> Vec<History> {
    let mut by_customer: std::collections::BTreeMap<i64, std::collections::BTreeMap<Date, f64>> =
        Default::default();
    for p in purchases.iter().filter(|p| p.day <= end) {
        *by_customer
            .entry(p.customer)
            .or_default()
            .entry(p.day)
            .or_default() += p.amount;
    }
    let days = |a: Date, b: Date| (b - a).get_days() as f64;
    by_customer
        .into_iter()
        .filter_map(|(customer, days_spent)| {
            let first = *days_spent.keys().next()?;
            let last = *days_spent.keys().next_back()?;
            let repeats: Vec<f64> = days_spent.values().skip(1).copied().collect();
            let x = repeats.len() as f64;
            Some(History {
                customer,
                x,
                t_x: days(first, last) / unit_days,
                t: days(first, end) / unit_days,
                monetary: if repeats.is_empty() {
                    0.0
                } else {
                    repeats.iter().sum::<f64>() / x
                },
            })
        })
        .collect()
}

/// Fitted BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// The log-likelihood at the optimum.
    pub log_likelihood: f64,
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The BG/NBD log-likelihood of one history.
fn bgnbd_ll(r: f64, alpha: f64, a: f64, b: f64, h: &History) -> f64 {
    let x = h.x;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_beta(a, b + x) - ln_beta(a, b);
    let a3 = -(r + x) * (alpha + h.t).ln();
    let alive = a2 + a3;
    let total = if x > 0.0 {
        let a4 = ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b) - (r + x) * (alpha + h.t_x).ln();
        let m = alive.max(a4);
        m + ((alive - m).exp() + (a4 - m).exp()).ln()
    } else {
        alive
    };
    a1 + total
}

/// The BG/NBD log-likelihood of a customer base at the given parameters.
pub fn bgnbd_log_likelihood(r: f64, alpha: f64, a: f64, b: f64, data: &[History]) -> f64 {
    parallel_sum(data, |h| bgnbd_ll(r, alpha, a, b, h))
}

/// Sums `f` over the histories, on every core when there are enough of them to be worth it
/// (the optimiser evaluates the likelihood hundreds of times).
fn parallel_sum(data: &[History], f: impl Fn(&History) -> f64 + Sync) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || data.len() < 20_000 {
        return data.iter().map(&f).sum();
    }
    let per = data.len().div_ceil(cores);
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = data
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(f).sum::<f64>()))
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().unwrap_or(f64::NAN))
            .sum()
    })
}

struct BgNbdCost<'a>(&'a [History]);

impl CostFunction for BgNbdCost<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    // Parameters are searched on a log scale, where every real number is a valid value.
    // The cost is the mean negative log-likelihood per customer, so that the optimiser's
    // tolerance means the same whether there are two thousand customers or fifty thousand.
    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        if out_of_bounds(p) {
            return Ok(f64::MAX);
        }
        let [r, alpha, a, b] = [p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp()];
        let ll = bgnbd_log_likelihood(r, alpha, a, b, self.0);
        Ok(if ll.is_finite() {
            -ll / self.0.len() as f64
        } else {
            f64::MAX
        })
    }
}

/// Parameters are kept within e^±12 (about 6e-6 to 160,000). Data with no sign of
/// dropout or of differences between customers pushes the maximum likelihood to 0 or
/// infinity, where the arithmetic breaks down; at the bound the fit still describes such
/// data (almost no dropout, almost equal rates) with finite numbers.
const LOG_BOUND: f64 = 12.0;

fn out_of_bounds(p: &[f64]) -> bool {
    p.iter().any(|v| !(-LOG_BOUND..=LOG_BOUND).contains(v))
}

fn simplex(start: &[f64]) -> Vec<Vec<f64>> {
    let mut s = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut v = start.to_vec();
        v[i] += 0.5;
        s.push(v);
    }
    s
}

fn minimise<C>(cost: C, start: &[f64]) -> Result<Vec<f64>, FitError>
where
    C: CostFunction<Param = Vec<f64>, Output = f64>,
{
    let solver = NelderMead::new(simplex(start))
        .with_sd_tolerance(1e-10)
        .map_err(|e| FitError::Optimiser(e.to_string()))?;
    let res = Executor::new(cost, solver)
        .configure(|s| s.max_iters(5000))
        .run()
        .map_err(|e| FitError::Optimiser(e.to_string()))?;
    res.state()
        .get_best_param()
        .cloned()
        .ok_or_else(|| FitError::Optimiser("no result".into()))
}

/// Fits BG/NBD by maximum likelihood.
pub fn fit_bgnbd(data: &[History]) -> Result<BgNbd, FitError> {
    if data.is_empty() {
        return Err(FitError::Empty);
    }
    let p = minimise(BgNbdCost(data), &[0.0, 0.0, 0.0, 0.0])?;
    let [r, alpha, a, b] = [p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp()];
    // r and α (or a and b) far out together is a population that is alike (the Gamma or
    // Beta collapses onto its mean), which the mean still describes. A dropout near 0 is
    // what a young customer base shows (nobody has stopped yet) and harmless over a
    // finite horizon. A purchase rate driven to an edge is a model the data do not pin
    // down, and its predictions are worthless.
    sane(&[
        ("r", r.min(1.0)),
        ("alpha", alpha.min(1.0)),
        ("r/alpha", r / alpha),
    ])?;
    Ok(BgNbd {
        r,
        alpha,
        a,
        b,
        log_likelihood: bgnbd_log_likelihood(r, alpha, a, b, data),
    })
}

impl BgNbd {
    /// The probability that a customer with this history is still active at the end of it.
    pub fn p_alive(&self, h: &History) -> f64 {
        if h.x == 0.0 {
            return 1.0;
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let ratio = (a / (b + h.x - 1.0)) * ((alpha + h.t) / (alpha + h.t_x)).powf(r + h.x);
        1.0 / (1.0 + ratio)
    }
}

impl BgNbd {
    /// The expected number of purchases in the next `t` time units by a customer with this
    /// history (Fader, Hardie & Lee 2005, equation 10).
    pub fn expected_purchases(&self, h: &History, t: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let (x, t_x, big_t) = (h.x, h.t_x, h.t);
        let z = t / (alpha + big_t + t);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let tail = 1.0
            - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let alive_odds = if x > 0.0 {
            (a / (b + x - 1.0)) * ((alpha + big_t) / (alpha + t_x)).powf(r + x)
        } else {
            0.0
        };
        head * tail / (1.0 + alive_odds)
    }
}

/// The Gauss hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1, by its power series
/// (the only case the model needs; the series converges there).
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 0..10_000 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

/// Customer lifetime value over `periods` future periods of `period` time units each:
/// expected purchases in each period × expected spend × margin, discounted per period.
pub fn clv(
    bg: &BgNbd,
    gg: &GammaGamma,
    h: &History,
    periods: u32,
    period: f64,
    margin: f64,
    discount_rate: f64,
) -> f64 {
    clv_and_purchases(bg, gg, h, periods, period, margin, discount_rate).0
}

/// [`clv`] and the expected purchases over all the periods, from one pass.
pub fn clv_and_purchases(
    bg: &BgNbd,
    gg: &GammaGamma,
    h: &History,
    periods: u32,
    period: f64,
    margin: f64,
    discount_rate: f64,
) -> (f64, f64) {
    let spend = gg.expected_spend(h);
    let (mut value, mut before) = (0.0, 0.0);
    for i in 1..=periods {
        let i = f64::from(i);
        let upto = bg.expected_purchases(h, i * period);
        value += (upto - before) * spend * margin / (1.0 + discount_rate).powf(i);
        before = upto;
    }
    (value, before)
}

/// Fitted Gamma-Gamma spend parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
    pub log_likelihood: f64,
}

fn gg_ll(p: f64, q: f64, g: f64, h: &History) -> f64 {
    let (x, m) = (h.x, h.monetary);
    ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
        + q * g.ln()
        + (p * x - 1.0) * m.ln()
        + (p * x) * x.ln()
        - (p * x + q) * (g + m * x).ln()
}

struct GgCost<'a>(&'a [History]);

impl CostFunction for GgCost<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, v: &Self::Param) -> Result<f64, argmin::core::Error> {
        if out_of_bounds(v) {
            return Ok(f64::MAX);
        }
        let [p, q, g] = [v[0].exp(), v[1].exp(), v[2].exp()];
        let ll = parallel_sum(self.0, |h| gg_ll(p, q, g, h));
        Ok(if ll.is_finite() {
            -ll / self.0.len() as f64
        } else {
            f64::MAX
        })
    }
}

/// Fits Gamma-Gamma on the customers with at least one repeat purchase.
pub fn fit_gamma_gamma(data: &[History]) -> Result<GammaGamma, FitError> {
    let repeat: Vec<History> = data
        .iter()
        .filter(|h| h.x > 0.0 && h.monetary > 0.0)
        .copied()
        .collect();
    if repeat.is_empty() {
        return Err(FitError::NoRepeat);
    }
    let v = minimise(GgCost(&repeat), &[0.0, 0.0, 0.0])?;
    let [p, q, gamma] = [v[0].exp(), v[1].exp(), v[2].exp()];
    spend_sane(p, q, gamma, &repeat)?;
    let log_likelihood = repeat.iter().map(|h| gg_ll(p, q, gamma, h)).sum();
    Ok(GammaGamma {
        p,
        q,
        gamma,
        log_likelihood,
    })
}

impl GammaGamma {
    /// The expected mean spend of a customer with this history (the population mean when
    /// the customer has no repeat purchase).
    pub fn expected_spend(&self, h: &History) -> f64 {
        let (p, q, g) = (self.p, self.q, self.gamma);
        if q <= 1.0 {
            // The fitted spread of spend has no finite mean: the customer's own average
            // is the best estimate left.
            return h.monetary;
        }
        let population = p * g / (q - 1.0);
        if h.x == 0.0 {
            return population;
        }
        let w = (q - 1.0) / (p * h.x + q - 1.0);
        w * population + (1.0 - w) * h.monetary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn same_day_purchases_count_once_and_later_ones_are_left_out() {
        let p = |customer, day, amount| Purchase {
            customer,
            day,
            amount,
        };
        let h = summarize(
            &[
                p(1, date(2026, 1, 1), 10.0),
                p(1, date(2026, 1, 1), 5.0),
                p(1, date(2026, 1, 15), 20.0),
                p(1, date(2026, 1, 29), 40.0),
                p(1, date(2026, 3, 1), 99.0),
                p(2, date(2026, 2, 26), 7.0),
            ],
            date(2026, 2, 26),
            7.0,
        );
        assert_eq!(
            h[0],
            History {
                customer: 1,
                x: 2.0,
                t_x: 4.0,
                t: 8.0,
                monetary: 30.0
            }
        );
        assert_eq!(
            h[1],
            History {
                customer: 2,
                x: 0.0,
                t_x: 0.0,
                t: 0.0,
                monetary: 0.0
            }
        );
    }

    #[test]
    fn a_customer_without_repeat_purchases_is_alive() {
        let m = BgNbd {
            r: 0.24,
            alpha: 4.4,
            a: 0.79,
            b: 2.4,
            log_likelihood: 0.0,
        };
        assert_eq!(
            m.p_alive(&History {
                customer: 1,
                x: 0.0,
                t_x: 0.0,
                t: 30.0,
                monetary: 0.0
            }),
            1.0
        );
        let recent = m.p_alive(&History {
            customer: 1,
            x: 3.0,
            t_x: 29.0,
            t: 30.0,
            monetary: 0.0,
        });
        let lapsed = m.p_alive(&History {
            customer: 1,
            x: 3.0,
            t_x: 2.0,
            t: 30.0,
            monetary: 0.0,
        });
        assert!(recent > 0.8, "{recent}");
        assert!(lapsed < 0.1, "{lapsed}");
    }

    #[test]
    fn hypergeometric_series_matches_known_values() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        let z: f64 = 0.5;
        assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        assert_eq!(hyp2f1(3.0, 4.0, 5.0, 0.0), 1.0);
    }

    #[test]
    fn nobody_is_expected_to_buy_in_no_time_and_more_in_more_time() {
        let m = BgNbd {
            r: 0.24,
            alpha: 4.4,
            a: 0.79,
            b: 2.4,
            log_likelihood: 0.0,
        };
        let h = History {
            customer: 1,
            x: 2.0,
            t_x: 30.43,
            t: 38.86,
            monetary: 0.0,
        };
        assert!(m.expected_purchases(&h, 0.0).abs() < 1e-12);
        assert!(m.expected_purchases(&h, 39.0) < m.expected_purchases(&h, 78.0));
    }

    #[test]
    fn parameters_that_run_away_are_refused() {
        // A purchase rate driven to the edge: a million purchases a week.
        assert_eq!(
            sane(&[("r", 0.24), ("r/alpha", 1e6)]),
            Err(FitError::RanAway("r/alpha", 1e6))
        );
        assert!(sane(&[("r", 0.24), ("r/alpha", 0.055)]).is_ok());
        assert!(sane(&[("r", f64::NAN)]).is_err());
        assert_eq!(FitError::RanAway("p", 1e9).code(), "ran_away");
        // Spend: CDNOW's p 6.25, q 3.74, γ 15.44 imply a mean of $35 where about $39 is
        // seen; q at or below 1 has no mean; a mean far from what is seen is refused.
        let seen = |m: f64| History {
            customer: 1,
            x: 2.0,
            t_x: 10.0,
            t: 20.0,
            monetary: m,
        };
        assert!(spend_sane(6.25, 3.74, 15.44, &[seen(39.0)]).is_ok());
        assert!(spend_sane(1.6e5, 3.74, 15.44 / 1.6e5 * 6.25, &[seen(39.0)]).is_ok());
        assert_eq!(
            spend_sane(6.25, 0.9, 15.44, &[seen(39.0)]),
            Err(FitError::RanAway("q", 0.9))
        );
        assert!(spend_sane(6.25, 3.74, 15_440.0, &[seen(39.0)]).is_err());
    }

    #[test]
    fn nothing_to_fit_is_an_error() {
        assert_eq!(fit_bgnbd(&[]), Err(FitError::Empty));
        assert_eq!(fit_gamma_gamma(&[]), Err(FitError::NoRepeat));
    }
}
