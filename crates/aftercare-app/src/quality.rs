//! Service quality held to account: scorecards per person and per outlet over whole
//! months, against targets and adjusted for case mix; the monthly figures they add up
//! (kept per month, summed again when something in a month changes); quality reviews of
//! sampled requests, which the reviewed person sees and answers.
//!
//! A brand's desk managers see everyone's; everyone else sees their own, and a partner's
//! staff their own outlet's.

use crate::error::AppError;
use crate::ports::*;
use crate::quality_model::*;
use crate::service::{App, Principal};
use aftercare_domain::account::{Permission, Role};
use aftercare_domain::calendar::{BusinessCalendar, china};
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::scorecard::{self, Counts, Measure, MixKey};
use aftercare_domain::{Invalid, OutletId, UserId};
use jiff::Timestamp;
use jiff::civil::Date;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};

/// The most months one scorecard spans.
const MAX_MONTHS: i64 = 36;
/// The most months summed again in one refresh (the rest follow in the next).
const REFRESH_MONTHS: usize = 48;
/// A refresh looks again at changes stamped this long before it started.
const REFRESH_MARGIN_SECS: i64 = 120;
/// Requests picked at random per person and month for review, besides every complaint
/// and low rating.
pub const RANDOM_REVIEWS: usize = 3;
/// A rating at or below this is low: always reviewed.
pub const LOW_RATING: i64 = 2;

/// A month as YYYY-MM, and its first day.
pub fn parse_month(s: &str) -> Result<Date, &'static str> {
    let t = s.trim();
    if t.len() != 7 || t.as_bytes()[4] != b'-' {
        return Err("month_invalid");
    }
    let d: Date = format!("{t}-01").parse().map_err(|_| "month_invalid")?;
    // Months of this business, not of any calendar: the month after is always there.
    if !(2000..=2100).contains(&d.year()) {
        return Err("date_out_of_range");
    }
    Ok(d)
}

fn month_label(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn next_month(d: Date) -> Date {
    d.first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(d)
}

/// The instants a month (China time) starts and ends at.
fn month_range(first: Date) -> (Timestamp, Timestamp) {
    let at = |d: Date| {
        d.to_zoned(china())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::UNIX_EPOCH)
    };
    (at(first), at(next_month(first)))
}

fn view(m: &Measure) -> MeasureView {
    MeasureView {
        code: m.code.to_string(),
        value: m.value,
        n: m.n,
        expected: m.expected,
        adjusted: m.adjusted,
        target: m.target,
        meets: m.meets(),
        better: match m.better {
            scorecard::Better::Higher => "higher",
            scorecard::Better::Lower => "lower",
        }
        .into(),
    }
}

fn plain(
    code: &'static str,
    n: i64,
    value: Option<f64>,
    target: Option<f64>,
    better: scorecard::Better,
) -> Measure {
    Measure {
        code,
        value,
        n,
        expected: None,
        adjusted: None,
        target,
        better,
    }
}

/// Each complaint laid at the door of whoever served the customer last, in the 30 days
/// before it: by complaint.
fn attribute(candidates: Vec<ComplaintCandidate>) -> BTreeMap<i64, ComplaintCandidate> {
    let mut latest: BTreeMap<i64, ComplaintCandidate> = BTreeMap::new();
    for c in candidates {
        let within = c.complaint_at.duration_since(c.resolved_at).as_secs()
            <= scorecard::REPEAT_DAYS * 86_400;
        if !within {
            continue;
        }
        let better = latest
            .get(&c.complaint_id)
            .is_none_or(|x| (c.resolved_at, c.request_id) > (x.resolved_at, x.request_id));
        if better {
            latest.insert(c.complaint_id, c);
        }
    }
    latest
}

/// Everyone's figures per kind of request, and one subject's.
#[derive(Default)]
struct Sums {
    total: Counts,
    mix: HashMap<MixKey, Counts>,
}

impl Sums {
    fn add(&mut self, c: &Cell) {
        self.total += c.counts;
        *self
            .mix
            .entry((c.service_type.clone(), c.category_id, c.tier.clone()))
            .or_default() += c.counts;
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts + QualityStore + OfferStore + CampaignStore,
{
    /// Sums again now what changed (desk managers): scorecards read the figures as of the
    /// last refresh, which runs every five minutes.
    pub async fn refresh_scorecards_now(&self, p: &Principal) -> Result<usize, AppError> {
        p.require(Permission::ManageDesk)?;
        self.refresh_scorecards().await
    }

    /// Sums again the months whose figures changed since the last refresh (and those never
    /// summed). Returns how many months were summed.
    pub async fn refresh_scorecards(&self) -> Result<usize, AppError> {
        let started = self.clock.now();
        let Some((first, last)) = self.store.request_span().await? else {
            return Ok(0);
        };
        let builds = self.store.scorecard_builds().await?;
        let built: HashMap<String, Timestamp> = builds.into_iter().collect();
        let mut dirty: Vec<Date> = Vec::new();
        let mut m = aftercare_domain::calendar::china_date(first).first_of_month();
        let end = aftercare_domain::calendar::china_date(last.max(started)).first_of_month();
        while m <= end {
            if !built.contains_key(&month_label(m)) {
                dirty.push(m);
            }
            m = next_month(m);
        }
        // Changes since the last refresh of all, or (before one finished) since the first
        // month was summed.
        let since = built
            .get("*")
            .copied()
            .or_else(|| built.values().min().copied());
        if let Some(since) = since {
            for t in self.store.changed_since(since).await? {
                let d = aftercare_domain::calendar::china_date(t).first_of_month();
                // A complaint in the next month may be laid at this month's requests.
                for m in [d, next_month(d)] {
                    if !dirty.contains(&m) && m <= end {
                        dirty.push(m);
                    }
                }
            }
        }
        dirty.sort();
        let todo: Vec<Date> = dirty.iter().copied().take(REFRESH_MONTHS).collect();
        for d in &todo {
            self.rebuild_month(*d).await?;
        }
        if todo.len() == dirty.len() {
            // Writes stamped a little before they commit (a sweep's long transaction) are
            // looked at again next time.
            let margin = jiff::SignedDuration::from_secs(REFRESH_MARGIN_SECS);
            self.store
                .mark_refreshed(started.checked_sub(margin).unwrap_or(started))
                .await?;
        }
        Ok(todo.len())
    }

    async fn rebuild_month(&self, first: Date) -> Result<(), AppError> {
        let (from, to) = month_range(first);
        let lookback = from
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * scorecard::REPEAT_DAYS,
            ))
            .unwrap_or(from);
        let latest = attribute(self.store.complaint_candidates(from, to, lookback).await?);
        let mut cells: HashMap<(i64, i64, String, i64, String), Counts> = HashMap::new();
        for c in latest.into_values() {
            cells
                .entry((
                    c.user_id,
                    c.outlet_id,
                    c.service_type,
                    c.category_id,
                    c.tier,
                ))
                .or_default()
                .complaints += 1;
        }
        let extra: Vec<Cell> = cells
            .into_iter()
            .map(
                |((user_id, outlet_id, service_type, category_id, tier), counts)| Cell {
                    month: None,
                    user_id,
                    outlet_id,
                    service_type,
                    category_id,
                    tier,
                    counts,
                },
            )
            .collect();
        self.store
            .rebuild_month(&month_label(first), from, to, &extra, self.clock.now())
            .await?;
        Ok(())
    }

    /// The months a query spans, checked.
    fn months_of(&self, q: &ScorecardQuery) -> Result<(Date, Date), AppError> {
        let this = self.clock.today().first_of_month();
        let mut inv = Invalid::default();
        let from = match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => inv.check("from", parse_month(s)),
            None => Some(this),
        };
        let to = match q.to.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => inv.check("to", parse_month(s)),
            None => from,
        };
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                inv.push("to", "from_after_to");
            } else {
                let months =
                    (b.year() as i64 - a.year() as i64) * 12 + b.month() as i64 - a.month() as i64;
                if months >= MAX_MONTHS {
                    inv.push("to", "period_too_long");
                }
            }
        }
        if q.of
            .as_deref()
            .is_some_and(|o| !matches!(o, "people" | "outlets"))
        {
            inv.push("of", "out_of_range");
        }
        inv.into_result()?;
        Ok((from.unwrap_or(this), to.unwrap_or(this)))
    }

    /// Whose scorecards the caller may read: everyone's (managers), or only theirs (and
    /// a partner's staff their outlet's).
    async fn scorecard_scope(
        &self,
        p: &Principal,
    ) -> Result<(Option<UserId>, Option<OutletId>, bool), AppError> {
        p.require(Permission::Read)?;
        if let Some(o) = self.partner_outlet(p).await? {
            return Ok((Some(p.user.id), Some(o), false));
        }
        if p.role.allows(Permission::ManageDesk) {
            return Ok((None, None, true));
        }
        Ok((Some(p.user.id), None, false))
    }

    /// Scorecards for a period of whole months: people's (default) or outlets'.
    pub async fn scorecards(
        &self,
        p: &Principal,
        q: &ScorecardQuery,
    ) -> Result<ScorecardReport, AppError> {
        self.cards(p, q, None).await
    }

    /// Scorecards, with `include`'s card even if they had nothing in the period (a trend's
    /// quiet month).
    async fn cards(
        &self,
        p: &Principal,
        q: &ScorecardQuery,
        include: Option<i64>,
    ) -> Result<ScorecardReport, AppError> {
        let (from, to) = self.months_of(q)?;
        let (me, my_outlet, all) = self.scorecard_scope(p).await?;
        let outlets_wanted = q.of.as_deref() == Some("outlets");
        if outlets_wanted && !all && my_outlet.is_none() {
            return Err(AppError::Forbidden);
        }
        let (fl, tl) = (month_label(from), month_label(to));
        let as_of = self
            .store
            .scorecard_builds()
            .await?
            .into_iter()
            .find(|(m, _)| m == "*")
            .map(|(_, at)| at);
        let cells = self.store.scorecard_cells(&fl, &tl, None, false).await?;
        let mut everyone = Sums::default();
        let mut subjects: HashMap<i64, Sums> = HashMap::new();
        for c in &cells {
            everyone.add(c);
            let id = if outlets_wanted {
                c.outlet_id
            } else {
                c.user_id
            };
            if id != 0 {
                subjects.entry(id).or_default().add(c);
            }
        }
        let targets = scorecard::default_targets();
        let staff = self.store.staff_profiles().await?;
        let outlets = self.store.outlets().await?;
        // Quality review scores and second-sale revenue of the period.
        let reviews: HashMap<i64, (i64, i64)> = self
            .store
            .review_scores(&fl, &tl)
            .await?
            .into_iter()
            .map(|(u, n, s)| (u.get(), (n, s)))
            .collect();
        let (range_from, _) = month_range(from);
        let (_, range_to) = month_range(to);
        let sales = self
            .second_sales(range_from, range_to, outlets_wanted)
            .await?;
        // Every active outlet or member of staff who takes requests, and whoever else has
        // figures in the period.
        let mut ids: Vec<i64> = if outlets_wanted {
            outlets
                .iter()
                .filter(|o| o.active)
                .map(|o| o.id.get())
                .collect()
        } else {
            staff
                .iter()
                .filter(|s| {
                    s.active && matches!(s.role, Role::Agent | Role::Technician | Role::Manager)
                })
                .map(|s| s.user_id.get())
                .collect()
        };
        let listed: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let mut others: Vec<i64> = subjects
            .keys()
            .copied()
            .filter(|k| !listed.contains(k))
            .collect();
        others.sort_unstable();
        ids.extend(others);
        if let Some(x) = include
            && !ids.contains(&x)
        {
            let known = if outlets_wanted {
                outlets.iter().any(|o| o.id.get() == x)
            } else {
                staff.iter().any(|s| s.user_id.get() == x)
            };
            if !known {
                return Err(AppError::NotFound("scorecard"));
            }
            ids.push(x);
        }
        let mut cards = Vec::new();
        for id in ids {
            if outlets_wanted {
                if my_outlet.is_some_and(|o| o.get() != id) {
                    continue;
                }
            } else if me.is_some_and(|u| u.get() != id) {
                continue;
            }
            let mine = subjects.remove(&id).unwrap_or_default();
            let expected = scorecard::expected(&mine.mix, &everyone.mix);
            let mut measures =
                scorecard::measures(&mine.total, &expected, &everyone.total, &targets);
            let (name, outlet) = if outlets_wanted {
                let o = outlets.iter().find(|o| o.id.get() == id);
                // Every outlet's card has the same measures: those without targets of their
                // own say so with no value.
                match o {
                    Some(o) => measures.extend(self.own_targets(o, range_from, range_to).await?),
                    None => measures.extend(
                        ["response_own_target", "resolution_own_target"]
                            .map(|c| plain(c, 0, None, None, scorecard::Better::Higher)),
                    ),
                }
                (
                    o.map(|o| o.name.clone())
                        .unwrap_or_else(|| format!("#{id}")),
                    None,
                )
            } else {
                let s = staff.iter().find(|s| s.user_id.get() == id);
                let review = reviews.get(&id).copied().unwrap_or((0, 0));
                measures.push(plain(
                    "quality_score",
                    review.0,
                    (review.0 > 0).then(|| review.1 as f64 / review.0 as f64),
                    targets.get("quality_score").copied(),
                    scorecard::Better::Higher,
                ));
                (
                    s.map(|s| s.name.clone())
                        .unwrap_or_else(|| format!("#{id}")),
                    s.and_then(|s| s.outlet_id)
                        .and_then(|o| outlets.iter().find(|x| x.id == o))
                        .map(|o| o.name.clone()),
                )
            };
            let sold = sales.get(&id).copied().unwrap_or((0, 0));
            measures.push(plain(
                "second_sale",
                sold.0,
                Some(sold.1 as f64),
                None,
                scorecard::Better::Higher,
            ));
            let judged = measures.iter().filter(|m| m.meets().is_some()).count() as i64;
            let met = measures.iter().filter(|m| m.meets() == Some(true)).count() as i64;
            cards.push(Scorecard {
                kind: if outlets_wanted { "outlet" } else { "person" }.into(),
                id,
                name,
                outlet,
                measures: measures.iter().map(view).collect(),
                met,
                judged,
            });
        }
        // Ranked: most targets met first, then the best case-mix adjusted resolution rate.
        let resolution = |c: &Scorecard| {
            c.measures
                .iter()
                .find(|m| m.code == "resolution_in_sla")
                .and_then(|m| m.adjusted.or(m.value))
                .unwrap_or(-1.0)
        };
        cards.sort_by(|a, b| {
            b.met
                .cmp(&a.met)
                .then(resolution(b).total_cmp(&resolution(a)))
                .then(a.name.cmp(&b.name))
        });
        Ok(ScorecardReport {
            as_of,
            from: fl,
            to: tl,
            of: if outlets_wanted { "outlets" } else { "people" }.into(),
            cards,
        })
    }

    /// A person's or an outlet's scorecard month by month over the period.
    pub async fn scorecard_trend(
        &self,
        p: &Principal,
        q: &ScorecardQuery,
        id: i64,
    ) -> Result<Vec<TrendPoint>, AppError> {
        let (from, to) = self.months_of(q)?;
        let mut out = Vec::new();
        let mut m = from;
        while m <= to {
            let label = month_label(m);
            let one = ScorecardQuery {
                from: Some(label.clone()),
                to: Some(label.clone()),
                of: q.of.clone(),
            };
            let r = self.cards(p, &one, Some(id)).await?;
            if let Some(card) = r.cards.into_iter().find(|c| c.id == id) {
                out.push(TrendPoint {
                    month: label,
                    measures: card.measures,
                });
            } else {
                return Err(AppError::NotFound("scorecard"));
            }
            m = next_month(m);
        }
        Ok(out)
    }

    /// The complaints laid at a person's (or an outlet's) door in a period, with the root
    /// causes found: what the scorecard's complaints count is made of.
    pub async fn complaints_laid(
        &self,
        p: &Principal,
        q: &ScorecardQuery,
        id: i64,
    ) -> Result<Vec<ComplaintLaid>, AppError> {
        let (from, to) = self.months_of(q)?;
        let (me, my_outlet, all) = self.scorecard_scope(p).await?;
        let outlets = q.of.as_deref() == Some("outlets");
        let allowed = all
            || if outlets {
                my_outlet.is_some_and(|o| o.get() == id)
            } else {
                me.is_some_and(|u| u.get() == id)
            };
        if !allowed {
            return Err(AppError::NotFound("scorecard"));
        }
        let (start, _) = month_range(from);
        let (_, end) = month_range(to);
        let lookback = start
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * scorecard::REPEAT_DAYS,
            ))
            .unwrap_or(start);
        let mut out: Vec<ComplaintLaid> = attribute(
            self.store
                .complaint_candidates(start, end, lookback)
                .await?,
        )
        .into_values()
        .filter(|c| {
            if outlets {
                c.outlet_id == id
            } else {
                c.user_id == id
            }
        })
        .map(|c| {
            // A partner's staff may not open a complaint another outlet (or the brand)
            // took: they see that it was made, not what it says.
            let visible = my_outlet.is_none_or(|o| c.complaint_outlet_id == o.get());
            ComplaintLaid {
                complaint_id: visible.then_some(aftercare_domain::RequestId(c.complaint_id)),
                complaint_number: visible.then_some(c.complaint_number),
                opened_at: c.complaint_at,
                root_cause: c.root_cause.filter(|_| visible),
                request_id: aftercare_domain::RequestId(c.request_id),
            }
        })
        .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.opened_at));
        Ok(out)
    }

    /// A partner's requests against its own targets, counted in its working calendar.
    async fn own_targets(
        &self,
        o: &crate::model::Outlet,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Measure>, AppError> {
        let config = self.store.desk_config().await?;
        let cal = o
            .calendar_id
            .and_then(|id| config.calendars.iter().find(|c| c.id == id))
            .and_then(|c| crate::desk::spec_of(&c.body).build().ok())
            .unwrap_or_else(BusinessCalendar::always);
        let times = if o.response_minutes.is_some() || o.resolution_minutes.is_some() {
            self.store.outlet_times(o.id, from, to).await?
        } else {
            vec![]
        };
        let now = self.clock.now();
        let mut out = Vec::new();
        for (code, target, pick) in [
            (
                "response_own_target",
                o.response_minutes,
                (|t: &OutletTimes| t.responded_at) as fn(&OutletTimes) -> Option<Timestamp>,
            ),
            (
                "resolution_own_target",
                o.resolution_minutes,
                |t: &OutletTimes| t.resolved_at,
            ),
        ] {
            let Some(minutes) = target else {
                out.push(plain(code, 0, None, None, scorecard::Better::Higher));
                continue;
            };
            let (mut n, mut ok) = (0i64, 0i64);
            for t in &times {
                let done = pick(t);
                let spent = cal.working_seconds(t.created_at, done.unwrap_or(now));
                // Still open and within its target: not judged yet.
                if done.is_none() && spent <= minutes * 60 {
                    continue;
                }
                n += 1;
                if done.is_some() && spent <= minutes * 60 {
                    ok += 1;
                }
            }
            out.push(plain(
                code,
                n,
                (n >= scorecard::MIN_SAMPLE).then(|| ok as f64 / n as f64),
                Some(0.9),
                scorecard::Better::Higher,
            ));
        }
        Ok(out)
    }

    /// Offer sales credited per person (or per outlet) in [from, to): (orders, fen).
    async fn second_sales(
        &self,
        from: Timestamp,
        to: Timestamp,
        by_outlet: bool,
    ) -> Result<HashMap<i64, (i64, i64)>, AppError> {
        let mut a = self.store.offer_activity(from).await?;
        a.responses.retain(|r| r.at < to);
        a.orders.retain(|(_, at, _, _, _)| *at < to);
        let offers = self.store.offers(false).await?;
        let sales = crate::offer::offer_sales(&offers, &a, |r| {
            if by_outlet {
                r.outlet_id.map(|o| o.to_string())
            } else {
                r.user_id.map(|u| u.to_string())
            }
        });
        Ok(sales
            .into_iter()
            .filter_map(|s| {
                s.name
                    .parse::<i64>()
                    .ok()
                    .map(|id| (id, (s.orders as i64, s.revenue)))
            })
            .collect())
    }

    // ---- quality reviews ---------------------------------------------------------------

    /// Picks the month's requests to review, per person: every low rating and every request
    /// a complaint was laid at, and a few at random. Returns how many reviews are new.
    pub async fn sample_reviews(&self, p: &Principal, month: &str) -> Result<usize, AppError> {
        p.require(Permission::ManageDesk)?;
        let first = parse_month(month).map_err(|c| Invalid::one("period", c))?;
        let label = month_label(first);
        let (from, to) = month_range(first);
        let candidates = self.store.review_candidates(from, to).await?;
        // Complaints opened up to 30 days after the month ended may concern its requests.
        let until = to
            .checked_add(jiff::SignedDuration::from_hours(
                24 * scorecard::REPEAT_DAYS,
            ))
            .unwrap_or(to);
        let complained: std::collections::HashSet<i64> =
            attribute(self.store.complaint_candidates(from, until, from).await?)
                .into_values()
                .map(|c| c.request_id)
                .collect();
        let mut per_user: BTreeMap<i64, Vec<&ReviewCandidate>> = BTreeMap::new();
        for c in &candidates {
            per_user.entry(c.user_id.get()).or_default().push(c);
        }
        let mut picked = Vec::new();
        for (user, list) in per_user {
            let mut rest = Vec::new();
            for c in list {
                let reason = if complained.contains(&c.request_id.get()) {
                    Some("complaint")
                } else if c.rating.is_some_and(|r| r <= LOW_RATING) {
                    Some("low_rating")
                } else {
                    None
                };
                match reason {
                    Some(r) => picked.push(NewReview {
                        request_id: c.request_id,
                        user_id: c.user_id,
                        period: label.clone(),
                        reason: r.into(),
                    }),
                    None => rest.push(c),
                }
            }
            // The same month and person always draw the same sample.
            let seed = (first.year() as u64) << 40 ^ (first.month() as u64) << 32 ^ user as u64;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            rest.shuffle(&mut rng);
            let _ = rng.random::<u8>();
            for c in rest.into_iter().take(RANDOM_REVIEWS) {
                picked.push(NewReview {
                    request_id: c.request_id,
                    user_id: c.user_id,
                    period: label.clone(),
                    reason: "random".into(),
                });
            }
        }
        Ok(self.store.create_reviews(&picked, self.now()).await?)
    }

    /// Reviews: everyone's for managers, one's own otherwise.
    pub async fn reviews(&self, p: &Principal, q: &ReviewQuery) -> Result<Vec<Review>, AppError> {
        p.require(Permission::Read)?;
        let mut inv = Invalid::default();
        let period = match q.period.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => inv.check("period", parse_month(s)).map(month_label),
            None => None,
        };
        let status = q.status.as_deref().filter(|s| !s.trim().is_empty());
        if status.is_some_and(|s| !matches!(s, "open" | "done")) {
            inv.push("status", "out_of_range");
        }
        inv.into_result()?;
        let user =
            if p.role.allows(Permission::ManageDesk) && self.partner_outlet(p).await?.is_none() {
                q.user_id.map(UserId)
            } else {
                Some(p.user.id)
            };
        Ok(self.store.reviews(period.as_deref(), status, user).await?)
    }

    pub async fn review(&self, p: &Principal, id: i64) -> Result<Review, AppError> {
        p.require(Permission::Read)?;
        let r = self
            .store
            .review(id)
            .await?
            .ok_or(AppError::NotFound("review"))?;
        let manager =
            p.role.allows(Permission::ManageDesk) && self.partner_outlet(p).await?.is_none();
        if !manager && r.user_id != p.user.id {
            return Err(AppError::NotFound("review"));
        }
        Ok(r)
    }

    /// Scores a review against the rubric (managers; not their own).
    pub async fn save_review(
        &self,
        p: &Principal,
        id: i64,
        i: &ReviewInput,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let r = self.review(p, id).await?;
        if r.user_id == p.user.id {
            return Err(Invalid::one("reviewer", "review_own_work").into());
        }
        let scores: Vec<(String, i64)> = i.scores.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut inv = Invalid::default();
        let score = match scorecard::review_score(&scores) {
            Ok(s) => Some(s),
            Err(e) => {
                inv.0.extend(e.0);
                None
            }
        };
        let comment = inv
            .check("comment", optional_text(i.comment.as_deref(), 5000))
            .flatten();
        inv.into_result()?;
        self.store
            .save_review(
                &p.actor(),
                id,
                i.version,
                &scores,
                score.unwrap_or(0),
                comment.as_deref(),
                p.user.id,
                self.now(),
            )
            .await
            .map_err(AppError::from_store("review"))
    }

    /// The reviewed person answers their review.
    pub async fn answer_review(
        &self,
        p: &Principal,
        id: i64,
        i: &ReviewAnswer,
    ) -> Result<(), AppError> {
        p.require(Permission::Read)?;
        let r = self.review(p, id).await?;
        if r.user_id != p.user.id {
            return Err(AppError::Forbidden);
        }
        if r.status != "done" {
            return Err(Invalid::one("answer", "review_not_done").into());
        }
        let answer = required_text(&i.answer, 5000).map_err(|c| Invalid::one("answer", c))?;
        self.store
            .answer_review(&p.actor(), id, i.version, &answer, self.now())
            .await
            .map_err(AppError::from_store("review"))
    }
}

impl<S> App<S>
where
    S: ?Sized + Store,
{
    /// The brand's measures side by side, month by month: awareness (customers reached,
    /// per touchpoint), reputation (ratings, NPS, word of mouth), loyalty (who buys again,
    /// the stage funnel) — for everyone, per product line or per outlet.
    pub async fn overview(&self, p: &Principal, q: &OverviewQuery) -> Result<Overview, AppError> {
        p.require(Permission::Analyze)?;
        // The brand's figures, every line and outlet: not for a partner's staff.
        if self.partner_outlet(p).await?.is_some() {
            return Err(AppError::Forbidden);
        }
        let this = self.clock.today().first_of_month();
        let five_before = this
            .checked_sub(jiff::Span::new().months(5))
            .unwrap_or(this);
        let (from, to) = self.months_of(&ScorecardQuery {
            from: q.from.clone().or_else(|| Some(month_label(five_before))),
            to: q.to.clone().or_else(|| Some(month_label(this))),
            of: None,
        })?;
        let by = q.by.as_deref().unwrap_or("all");
        if !matches!(by, "all" | "line" | "outlet") {
            return Err(Invalid::one("by", "out_of_range").into());
        }
        let mut firsts = Vec::new();
        let mut m = from;
        while m <= to {
            firsts.push(m);
            m = next_month(m);
        }
        let mut days = firsts.clone();
        days.push(m);
        let bounds: Vec<Timestamp> = days.iter().map(|d| month_range(*d).0).collect();
        let f = self.store.overview_facts(&bounds, &days, by).await?;
        let settings = self.voc_settings_now().await?;
        // The groups: everyone, every product line, or every outlet.
        let groups: Vec<(i64, String)> = match by {
            "line" => self
                .store
                .categories()
                .await?
                .into_iter()
                .map(|c| (c.id.get(), c.name))
                .collect(),
            "outlet" => self
                .store
                .outlets()
                .await?
                .into_iter()
                .map(|o| (o.id.get(), o.name))
                .collect(),
            _ => vec![(0, String::new())],
        };
        let n = firsts.len();
        let mut out = Vec::new();
        for (id, name) in groups {
            let mut months: Vec<OverviewCell> = firsts
                .iter()
                .map(|d| OverviewCell {
                    month: month_label(*d),
                    ..OverviewCell::default()
                })
                .collect();
            for (m, g, t, c) in &f.reached {
                if *g == id && *m < n {
                    months[*m].reached += c;
                    if by == "all" {
                        months[*m].by_touchpoint.push((t.clone(), *c));
                    }
                }
            }
            let mut rated = vec![(0i64, 0i64); n];
            let mut good = vec![0i64; n];
            for (m, g, rating, breached, complaint, c) in &f.experiences {
                if *g != id || *m >= n {
                    continue;
                }
                months[*m].resolved += c;
                if let Some(r) = rating {
                    rated[*m].0 += c;
                    rated[*m].1 += r * c;
                }
                if aftercare_domain::feedback::good_experience(*rating, *breached, *complaint) {
                    good[*m] += c;
                }
            }
            let mut nps = vec![(0i64, 0i64, 0i64); n];
            for (m, g, score, c) in &f.nps {
                if *g == id && *m < n {
                    nps[*m].0 += c;
                    if *score >= 9 {
                        nps[*m].1 += c;
                    } else if *score <= 6 {
                        nps[*m].2 += c;
                    }
                }
            }
            for (m, g, b, again) in &f.buyers {
                if *g == id && *m < n {
                    months[*m].buyers += b;
                    let prior =
                        months[*m].repeat_share.unwrap_or(0.0) * (months[*m].buyers - b) as f64;
                    months[*m].repeat_share = (months[*m].buyers > 0)
                        .then(|| (prior + *again as f64) / months[*m].buyers as f64);
                }
            }
            for (m, stage, c) in &f.stage_entries {
                if id == 0 && *m < n {
                    months[*m].stage_entries.push((stage.clone(), *c));
                }
            }
            for (i, cell) in months.iter_mut().enumerate() {
                cell.rating = (rated[i].0 > 0).then(|| rated[i].1 as f64 / rated[i].0 as f64);
                cell.nps_answers = nps[i].0;
                cell.nps = (nps[i].0 >= scorecard::MIN_SAMPLE)
                    .then(|| 100.0 * (nps[i].1 - nps[i].2) as f64 / nps[i].0 as f64);
                let bad = cell.resolved - good[i];
                cell.word_of_mouth =
                    good[i] * i64::from(settings.good_reach) - bad * i64::from(settings.bad_reach);
                cell.by_touchpoint.sort_by_key(|b| std::cmp::Reverse(b.1));
            }
            let funnel: Vec<(String, i64)> = aftercare_domain::value::LoyaltyStage::ALL
                .iter()
                .map(|s| {
                    let count = f
                        .funnel
                        .iter()
                        .filter(|(g, st, _)| *g == id && st == s.code())
                        .map(|(_, _, c)| c)
                        .sum();
                    (s.code().to_string(), count)
                })
                .collect();
            out.push(OverviewGroup {
                id,
                name,
                months,
                funnel,
            });
        }
        // Busiest first.
        if by != "all" {
            out.sort_by_key(|g| {
                std::cmp::Reverse(g.months.iter().map(|m| m.resolved + m.buyers).sum::<i64>())
            });
        }
        Ok(Overview {
            from: month_label(from),
            to: month_label(to),
            by: by.into(),
            groups: out,
        })
    }
}
