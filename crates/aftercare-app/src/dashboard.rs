//! The service dashboard: what is open and breaching now, and how the service does over
//! weeks and months — requests opened and resolved, SLA attainment, complaints, CSAT and
//! NPS from the surveys, and customers' moves between loyalty stages.

pub use crate::desk_model::TrendRows;
use crate::error::AppError;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::account::Permission;
use aftercare_domain::calendar::china;
use aftercare_domain::value::LoyaltyStage;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Open work now; each number links to the requests behind it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeskNow {
    pub open: i64,
    pub breaching: i64,
    pub breached: i64,
    pub unassigned: i64,
    pub complaints_open: i64,
    /// Counting stopped at 10,000: the counts are "at least".
    pub capped: bool,
}

/// One week or month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendBucket {
    /// First day (China).
    pub from: Date,
    /// Last day (China).
    pub to: Date,
    pub opened: i64,
    pub complaints: i64,
    pub resolved: i64,
    /// Resolved within both SLA targets.
    pub resolved_in_time: i64,
    /// Share resolved in time, percent; none without resolved requests.
    pub sla_attainment: Option<f64>,
    /// Mean CSAT (1–5) of the surveys answered.
    pub csat: Option<f64>,
    pub csat_answers: i64,
    /// Net promoter score, −100 to 100.
    pub nps: Option<f64>,
    pub nps_answers: i64,
    /// Customers who moved to a higher loyalty stage, and to a lower one.
    pub stage_up: i64,
    pub stage_down: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceDashboard {
    pub now: DeskNow,
    /// `week` or `month`.
    pub unit: String,
    /// Oldest first; the last is the current week or month, so far.
    pub buckets: Vec<TrendBucket>,
}

/// Weeks or months shown.
pub const BUCKETS: usize = 12;
const CAP: i64 = 10_000;

/// The first day of each of the last `BUCKETS` weeks (Monday) or months, up to `today`.
pub fn bucket_starts(today: Date, months: bool) -> Vec<Date> {
    let mut starts = Vec::with_capacity(BUCKETS);
    let last = if months {
        today.first_of_month()
    } else {
        today
            .checked_sub((today.weekday().to_monday_zero_offset() as i64).days())
            .unwrap_or(today)
    };
    for i in (0..BUCKETS as i64).rev() {
        let d = if months {
            last.checked_sub(i.months())
        } else {
            last.checked_sub((7 * i).days())
        };
        if let Ok(d) = d {
            starts.push(d);
        }
    }
    starts
}

/// The China day of a UTC hour `2026-11-23T17` (17:00 UTC is 01:00 the next day).
fn china_day(hour: &str) -> Option<Date> {
    let t: jiff::Timestamp = format!("{hour}:00:00Z").parse().ok()?;
    Some(t.to_zoned(china()).date())
}

/// Folds hourly rows into buckets.
pub fn fold(rows: &TrendRows, starts: &[Date], today: Date) -> Vec<TrendBucket> {
    let mut buckets: Vec<TrendBucket> = starts
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let to = starts
                .get(i + 1)
                .and_then(|n| n.yesterday().ok())
                .unwrap_or(today);
            TrendBucket {
                from: *from,
                to,
                opened: 0,
                complaints: 0,
                resolved: 0,
                resolved_in_time: 0,
                sla_attainment: None,
                csat: None,
                csat_answers: 0,
                nps: None,
                nps_answers: 0,
                stage_up: 0,
                stage_down: 0,
            }
        })
        .collect();
    let index = |hour: &str| -> Option<usize> {
        let d = china_day(hour)?;
        let i = starts.partition_point(|s| *s <= d);
        (i > 0 && d <= today).then(|| i - 1)
    };
    for (h, n, c) in &rows.opened {
        if let Some(b) = index(h).and_then(|i| buckets.get_mut(i)) {
            b.opened += n;
            b.complaints += c;
        }
    }
    for (h, n, ok) in &rows.resolved {
        if let Some(b) = index(h).and_then(|i| buckets.get_mut(i)) {
            b.resolved += n;
            b.resolved_in_time += ok;
        }
    }
    let mut sums: BTreeMap<usize, (i64, i64, i64)> = BTreeMap::new();
    for (h, cn, cs, nn, pro, det) in &rows.answers {
        if let Some(i) = index(h) {
            let b = &mut buckets[i];
            b.csat_answers += cn;
            b.nps_answers += nn;
            let e = sums.entry(i).or_default();
            e.0 += cs;
            e.1 += pro;
            e.2 += det;
        }
    }
    for (h, from, to, n) in &rows.moves {
        let (Some(i), Ok(to)) = (index(h), LoyaltyStage::parse(to)) else {
            continue;
        };
        let from = from.as_deref().and_then(|f| LoyaltyStage::parse(f).ok());
        match from {
            Some(f) if to.rank() > f.rank() => buckets[i].stage_up += n,
            Some(f) if to.rank() < f.rank() => buckets[i].stage_down += n,
            _ => {}
        }
    }
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    for (i, b) in buckets.iter_mut().enumerate() {
        let (csat_sum, pro, det) = sums.get(&i).copied().unwrap_or_default();
        b.sla_attainment =
            (b.resolved > 0).then(|| round1(b.resolved_in_time as f64 * 100.0 / b.resolved as f64));
        b.csat = (b.csat_answers > 0)
            .then(|| (csat_sum as f64 / b.csat_answers as f64 * 100.0).round() / 100.0);
        b.nps =
            (b.nps_answers > 0).then(|| round1((pro - det) as f64 * 100.0 / b.nps_answers as f64));
    }
    buckets
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + RequestStore + DeskSetupStore,
{
    /// The service dashboard for managers: a partner outlet's staff see their outlet's.
    pub async fn service_dashboard(
        &self,
        p: &Principal,
        months: bool,
    ) -> Result<ServiceDashboard, AppError> {
        p.require(Permission::Analyze)?;
        let outlet = self.partner_outlet(p).await?;
        let count = |f: RequestFilter| async move {
            let f = RequestFilter {
                outlet_id: outlet,
                limit: 1,
                ..f
            };
            self.store.count_requests(&f, CAP).await
        };
        let active = || RequestFilter {
            queue: Some("all".into()),
            ..Default::default()
        };
        let breaching_before =
            self.clock.now() + jiff::SignedDuration::from_hours(crate::desk::BREACHING_HOURS);
        let (open, breaching, breached, unassigned, complaints_open) = tokio::try_join!(
            count(active()),
            count(RequestFilter {
                queue: Some("breaching".into()),
                due_before: Some(breaching_before),
                ..Default::default()
            }),
            count(RequestFilter {
                sla: Some(SlaState::Breached),
                ..active()
            }),
            count(RequestFilter {
                queue: Some("unassigned".into()),
                ..Default::default()
            }),
            count(RequestFilter {
                service_type: Some(aftercare_domain::request::ServiceType::Complaint),
                ..active()
            }),
        )?;
        let now = DeskNow {
            capped: [open, breaching, breached, unassigned, complaints_open]
                .iter()
                .any(|n| *n >= CAP),
            open,
            breaching,
            breached,
            unassigned,
            complaints_open,
        };
        let today = self.clock.today();
        let starts = bucket_starts(today, months);
        let since = starts
            .first()
            .and_then(|d| d.to_zoned(china()).ok())
            .map(|z| z.timestamp())
            .unwrap_or_else(|| self.clock.now());
        let rows = self.store.service_trend(since, outlet).await?;
        Ok(ServiceDashboard {
            now,
            unit: if months { "month" } else { "week" }.into(),
            buckets: fold(&rows, &starts, today),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // Sunday 6 December 2026.
        let w = bucket_starts(date(2026, 12, 6), false);
        assert_eq!(w.len(), 12);
        assert_eq!(*w.last().unwrap(), date(2026, 11, 30));
        assert_eq!(w[0], date(2026, 9, 14));
        let m = bucket_starts(date(2026, 12, 6), true);
        assert_eq!(
            (m[0], *m.last().unwrap()),
            (date(2026, 1, 1), date(2026, 12, 1))
        );
    }

    #[test]
    fn hours_fall_on_china_days_and_scores_are_worked_out() {
        let starts = bucket_starts(date(2026, 12, 6), false);
        let rows = TrendRows {
            // 2026-11-29T16 UTC is Monday 30 November, 00:00 in China: this week.
            opened: vec![
                ("2026-11-29T15".into(), 2, 1),
                ("2026-11-29T16".into(), 3, 0),
            ],
            resolved: vec![("2026-12-01T03".into(), 4, 3)],
            answers: vec![("2026-12-02T03".into(), 2, 9, 4, 2, 1)],
            moves: vec![
                (
                    "2026-12-02T03".into(),
                    Some("aware".into()),
                    "trusting".into(),
                    5,
                ),
                (
                    "2026-12-02T04".into(),
                    Some("dependent".into()),
                    "accepting".into(),
                    2,
                ),
                ("2026-12-02T05".into(), None, "aware".into(), 7),
            ],
        };
        let b = fold(&rows, &starts, date(2026, 12, 6));
        let (last, before) = (&b[11], &b[10]);
        assert_eq!((before.opened, before.complaints), (2, 1));
        assert_eq!(
            (last.opened, last.resolved, last.resolved_in_time),
            (3, 4, 3)
        );
        assert_eq!(last.sla_attainment, Some(75.0));
        assert_eq!(last.csat, Some(4.5));
        // (2 promoters − 1 detractor) / 4 answers.
        assert_eq!(last.nps, Some(25.0));
        assert_eq!((last.stage_up, last.stage_down), (5, 2));
        assert_eq!(before.sla_attainment, None);
        assert_eq!(
            (last.from, last.to),
            (date(2026, 11, 30), date(2026, 12, 6))
        );
    }
}
