//! Who gets a request: the customer's account manager for high-tier customers, otherwise
//! the least loaded person with the skill, preferring the customer's region and outlet.
//! Which outlet a request goes to when nobody chose one: the outlet covering the
//! customer's city and the item's product line. A product line that needs certification
//! goes only to people holding a valid certificate for it.

use crate::Date;
use crate::customer::ValueTier;
use crate::request::ServiceType;
use serde::Serialize;

/// A certificate someone holds: for a product line (a category; none: every line) and
/// some service types (none: every type), valid through a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub category_id: Option<i64>,
    pub skills: Vec<ServiceType>,
    pub valid_until: Date,
}

/// What a job asks of whoever takes it when its product line needs certification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The item's category and every category above it: a certificate for any of them
    /// covers the item.
    pub lines: Vec<i64>,
    /// The day it is judged on: a certificate valid through this day counts.
    pub on: Date,
}

impl Certificate {
    /// Whether this certificate lets its holder take a job of this type under `req`.
    pub fn covers(&self, service_type: ServiceType, req: &Requirement) -> bool {
        self.valid_until >= req.on
            && (self.skills.is_empty() || self.skills.contains(&service_type))
            && self.category_id.is_none_or(|c| req.lines.contains(&c))
    }
}

/// Whether someone holding `certificates` may take a job: always, when its product line
/// needs no certification.
pub fn qualified(
    certificates: &[Certificate],
    service_type: ServiceType,
    req: Option<&Requirement>,
) -> bool {
    req.is_none_or(|r| certificates.iter().any(|c| c.covers(service_type, r)))
}

/// Someone who can take requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user_id: i64,
    pub outlet_id: Option<i64>,
    /// They work for a partner outlet: they take only that outlet's requests.
    pub partner: bool,
    /// Service types they handle; empty means any.
    pub skills: Vec<ServiceType>,
    /// Cities they cover; empty means any.
    pub regions: Vec<String>,
    /// Active requests assigned now.
    pub load: i64,
    /// The most active requests they take.
    pub capacity: i64,
    /// Whether routing may give them requests (an account manager may say no and still
    /// get their own customers' requests).
    pub auto_assign: bool,
    /// Their certificates still in force (not revoked).
    pub certificates: Vec<Certificate>,
}

/// What is being routed.
#[derive(Debug, Clone)]
pub struct Job {
    pub service_type: ServiceType,
    pub city: Option<String>,
    /// Set when the request belongs to an outlet: only its people take it.
    pub outlet_id: Option<i64>,
    pub tier: ValueTier,
    /// The customer's named account manager, if they can take requests.
    pub account_manager: Option<i64>,
    /// Someone who must not get it (escalation reassigns away from them).
    pub exclude: Option<i64>,
    /// Set when the item's product line needs certification.
    pub certification: Option<Requirement>,
}

/// Why someone was chosen, for the request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Routed {
    AccountManager,
    Matched {
        skill: bool,
        region: bool,
        load: i64,
    },
}

impl Routed {
    pub fn code(&self) -> &'static str {
        match self {
            Routed::AccountManager => "account_manager",
            Routed::Matched { .. } => "matched",
        }
    }
}

/// Chooses who gets a job, or nobody (it stays unassigned for a person to pick up).
pub fn route(job: &Job, candidates: &[Candidate]) -> Option<(i64, Routed)> {
    let qualifies = |c: &Candidate| {
        qualified(
            &c.certificates,
            job.service_type,
            job.certification.as_ref(),
        )
    };
    // The account manager must be able to see the request (the outlet's, or the brand's
    // own when no outlet has it) and, where certification is needed, hold it.
    let am_fits = |am: i64| match candidates.iter().find(|c| c.user_id == am) {
        Some(c) => {
            let outlet_ok = match job.outlet_id {
                Some(o) => c.outlet_id == Some(o),
                None => !c.partner,
            };
            outlet_ok && qualifies(c)
        }
        // Not among the candidates: known only as the customer's manager, brand-side.
        None => job.outlet_id.is_none() && job.certification.is_none(),
    };
    if job.tier == ValueTier::High
        && let Some(am) = job.account_manager.filter(|am| Some(*am) != job.exclude)
        && am_fits(am)
    {
        return Some((am, Routed::AccountManager));
    }
    let region = |c: &Candidate| {
        job.city
            .as_deref()
            .is_some_and(|city| c.regions.iter().any(|r| same_city(r, city)))
    };
    candidates
        .iter()
        .filter(|c| c.auto_assign && Some(c.user_id) != job.exclude)
        .filter(|c| c.load < c.capacity)
        .filter(|c| c.skills.is_empty() || c.skills.contains(&job.service_type))
        .filter(|c| c.regions.is_empty() || region(c) || job.city.is_none())
        .filter(|c| match job.outlet_id {
            Some(o) => c.outlet_id == Some(o),
            // A partner's people see only their outlet's requests: they cannot take others.
            None => !c.partner,
        })
        .filter(|c| qualifies(c))
        .min_by_key(|c| {
            let specialist = !c.skills.is_empty();
            // Specialists before all-rounders, the region's own people first, then the
            // lightest load relative to capacity (in per mille), then the lowest id.
            (
                !specialist,
                !region(c),
                c.load * 1000 / c.capacity.max(1),
                c.user_id,
            )
        })
        .map(|c| {
            (
                c.user_id,
                Routed::Matched {
                    skill: !c.skills.is_empty(),
                    region: region(c),
                    load: c.load,
                },
            )
        })
}

/// Whether two spellings name one city: `广州` and `广州市`, `Suzhou` and `suzhou `.
pub fn same_city(a: &str, b: &str) -> bool {
    let bare = |s: &str| {
        let t = s.trim();
        t.strip_suffix('市').unwrap_or(t).trim().to_lowercase()
    };
    let (a, b) = (bare(a), bare(b));
    !a.is_empty() && a == b
}

/// What an outlet covers, and how full it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub outlet_id: i64,
    /// Cities; none: the outlet takes only requests given to it.
    pub regions: Vec<String>,
    /// Product categories; none: every product line.
    pub categories: Vec<i64>,
    /// Active requests at the outlet now.
    pub load: i64,
    /// The most active requests it takes; none: no limit.
    pub capacity: Option<i64>,
}

/// The outlet a request goes to when nobody chose one: one covering the customer's city
/// and the item's product line (`lines`: its category and those above it; empty when
/// the request concerns no item, which only outlets serving every line take), with room
/// left. Outlets naming the line come before those serving every line, then the least
/// full (relative to capacity), then the oldest.
pub fn covering_outlet(city: Option<&str>, lines: &[i64], outlets: &[Coverage]) -> Option<i64> {
    let city = city?;
    outlets
        .iter()
        .filter(|o| o.regions.iter().any(|r| same_city(r, city)))
        .filter(|o| o.capacity.is_none_or(|c| o.load < c))
        .filter(|o| o.categories.is_empty() || o.categories.iter().any(|c| lines.contains(c)))
        .min_by_key(|o| {
            (
                o.categories.is_empty(),
                o.capacity.map_or(0, |c| o.load * 1000 / c.max(1)),
                o.outlet_id,
            )
        })
        .map(|o| o.outlet_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: i64, skills: &[ServiceType], regions: &[&str], load: i64) -> Candidate {
        Candidate {
            user_id: id,
            outlet_id: None,
            skills: skills.to_vec(),
            partner: false,
            regions: regions.iter().map(|r| r.to_string()).collect(),
            load,
            capacity: 10,
            auto_assign: true,
            certificates: vec![],
        }
    }

    fn job(tier: ValueTier) -> Job {
        Job {
            service_type: ServiceType::Repair,
            city: Some("上海".into()),
            outlet_id: None,
            tier,
            account_manager: Some(99),
            exclude: None,
            certification: None,
        }
    }

    #[test]
    fn a_high_tier_customer_goes_to_their_account_manager() {
        let c = [cand(1, &[], &[], 0)];
        assert_eq!(
            route(&job(ValueTier::High), &c),
            Some((99, Routed::AccountManager))
        );
        assert_eq!(route(&job(ValueTier::Medium), &c).map(|r| r.0), Some(1));
        let mut away = job(ValueTier::High);
        away.exclude = Some(99);
        assert_eq!(route(&away, &c).map(|r| r.0), Some(1));
    }

    #[test]
    fn skill_then_region_then_load() {
        let c = [
            cand(1, &[], &["上海"], 0),
            cand(2, &[ServiceType::Repair], &["北京"], 0),
            cand(3, &[ServiceType::Repair], &["上海"], 5),
            cand(4, &[ServiceType::Repair], &["上海"], 2),
            cand(5, &[ServiceType::Installation], &["上海"], 0),
        ];
        let j = job(ValueTier::Low);
        assert_eq!(
            route(&j, &c),
            Some((
                4,
                Routed::Matched {
                    skill: true,
                    region: true,
                    load: 2
                }
            ))
        );
        // Without the Shanghai repairers, the all-rounder in Shanghai; the Beijing
        // repairer does not cover Shanghai.
        assert_eq!(route(&j, &c[..2]).map(|r| r.0), Some(1));
    }

    #[test]
    fn full_people_and_other_outlets_are_passed_over() {
        let mut full = cand(1, &[ServiceType::Repair], &[], 10);
        full.outlet_id = Some(7);
        let mut other = cand(2, &[ServiceType::Repair], &[], 0);
        other.outlet_id = Some(8);
        let mut j = job(ValueTier::Low);
        j.outlet_id = Some(7);
        assert_eq!(route(&j, &[full.clone(), other.clone()]), None);
        full.load = 9;
        assert_eq!(route(&j, &[full, other]).map(|r| r.0), Some(1));
    }

    fn cert(category: Option<i64>, skills: &[ServiceType], until: &str) -> Certificate {
        Certificate {
            category_id: category,
            skills: skills.to_vec(),
            valid_until: until.parse().unwrap(),
        }
    }

    #[test]
    fn a_certified_line_goes_only_to_certified_people() {
        // The item is a split air conditioner (category 12) under air conditioners (10).
        let mut j = job(ValueTier::Low);
        j.certification = Some(Requirement {
            lines: vec![12, 10],
            on: "2026-12-06".parse().unwrap(),
        });
        let mut idle = cand(1, &[ServiceType::Repair], &["上海"], 0);
        let mut busy = cand(2, &[ServiceType::Repair], &["上海"], 5);
        // Nobody certified: nobody gets it, however idle.
        assert_eq!(route(&j, &[idle.clone(), busy.clone()]), None);
        // A certificate for the parent line, for repairs, valid through today: the busy one.
        busy.certificates = vec![cert(Some(10), &[ServiceType::Repair], "2026-12-06")];
        assert_eq!(
            route(&j, &[idle.clone(), busy.clone()]).map(|r| r.0),
            Some(2)
        );
        // Expired yesterday, for another line, or for installations only: none counts.
        idle.certificates = vec![
            cert(Some(10), &[ServiceType::Repair], "2026-12-05"),
            cert(Some(20), &[], "2027-12-31"),
            cert(None, &[ServiceType::Installation], "2027-12-31"),
        ];
        assert_eq!(
            route(&j, &[idle.clone(), busy.clone()]).map(|r| r.0),
            Some(2)
        );
        // A certificate for every line and every skill: the idle one again.
        idle.certificates.push(cert(None, &[], "2027-12-31"));
        assert_eq!(route(&j, &[idle, busy]).map(|r| r.0), Some(1));
    }

    #[test]
    fn an_uncertified_account_manager_is_passed_over() {
        let mut j = job(ValueTier::High);
        j.certification = Some(Requirement {
            lines: vec![10],
            on: "2026-12-06".parse().unwrap(),
        });
        let mut am = cand(99, &[], &[], 0);
        am.auto_assign = false;
        let mut tech = cand(3, &[ServiceType::Repair], &[], 4);
        tech.certificates = vec![cert(Some(10), &[], "2027-01-01")];
        assert_eq!(route(&j, &[am.clone(), tech.clone()]).map(|r| r.0), Some(3));
        am.certificates = vec![cert(Some(10), &[], "2027-01-01")];
        assert_eq!(route(&j, &[am, tech]), Some((99, Routed::AccountManager)));
    }

    #[test]
    fn an_account_manager_elsewhere_does_not_take_an_outlets_request() {
        let mut j = job(ValueTier::High);
        j.outlet_id = Some(7);
        let am = cand(99, &[], &[], 0);
        let mut there = cand(1, &[ServiceType::Repair], &["上海市"], 0);
        there.outlet_id = Some(7);
        there.partner = true;
        // The outlet's own technician, matched on 上海 written 上海市.
        assert_eq!(
            route(&j, &[am.clone(), there.clone()]),
            Some((
                1,
                Routed::Matched {
                    skill: true,
                    region: true,
                    load: 0
                }
            ))
        );
        // A partner's account manager at another outlet does not get a brand request.
        let mut elsewhere = am;
        elsewhere.outlet_id = Some(8);
        elsewhere.partner = true;
        j.outlet_id = None;
        assert_eq!(route(&j, &[elsewhere]), None);
    }

    #[test]
    fn partner_staff_take_only_their_outlets_requests() {
        let mut partner = cand(1, &[ServiceType::Repair], &[], 0);
        partner.outlet_id = Some(7);
        partner.partner = true;
        let own = cand(2, &[], &[], 8);
        let mut j = job(ValueTier::Low);
        assert_eq!(
            route(&j, &[partner.clone(), own.clone()]).map(|r| r.0),
            Some(2)
        );
        j.outlet_id = Some(7);
        assert_eq!(route(&j, &[partner, own]).map(|r| r.0), Some(1));
    }

    fn outlet(id: i64, regions: &[&str], categories: &[i64], load: i64) -> Coverage {
        Coverage {
            outlet_id: id,
            regions: regions.iter().map(|r| r.to_string()).collect(),
            categories: categories.to_vec(),
            load,
            capacity: Some(10),
        }
    }

    #[test]
    fn the_outlet_covering_city_and_line_with_room_gets_the_request() {
        let outlets = [
            outlet(1, &["苏州"], &[], 0),
            outlet(2, &["苏州", "无锡"], &[10], 9),
            outlet(3, &["苏州"], &[20], 0),
            outlet(4, &[], &[], 0),
        ];
        // An air conditioner (12 under 10) in Suzhou: the outlet naming the line, though
        // fuller than the one serving every line.
        assert_eq!(covering_outlet(Some("苏州"), &[12, 10], &outlets), Some(2));
        // No item: only outlets serving every line.
        assert_eq!(covering_outlet(Some("苏州"), &[], &outlets), Some(1));
        // Written with 市, it is the same city.
        assert_eq!(covering_outlet(Some("苏州市"), &[], &outlets), Some(1));
        // Wuxi: only outlet 2 covers it; a city nobody covers, or none known: no outlet.
        assert_eq!(covering_outlet(Some("无锡"), &[30], &outlets), None);
        assert_eq!(covering_outlet(Some("无锡"), &[10], &outlets), Some(2));
        assert_eq!(covering_outlet(Some("北京"), &[10], &outlets), None);
        assert_eq!(covering_outlet(None, &[10], &outlets), None);
        // Full: passed over, to the next that covers.
        let mut full = outlets.clone();
        full[1].load = 10;
        assert_eq!(covering_outlet(Some("苏州"), &[12, 10], &full), Some(1));
        // Unlimited capacity counts as empty.
        full[0].capacity = None;
        full[0].load = 500;
        assert_eq!(covering_outlet(Some("苏州"), &[], &full), Some(1));
    }
}
