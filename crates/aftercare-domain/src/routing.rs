//! Who gets a request: the customer's account manager for high-tier customers, otherwise
//! the least loaded person with the skill, preferring the customer's region and outlet.

use crate::customer::ValueTier;
use crate::request::ServiceType;
use serde::Serialize;

/// Someone who can take requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user_id: i64,
    pub outlet_id: Option<i64>,
    /// Service types they handle; empty means any.
    pub skills: Vec<ServiceType>,
    /// Cities they cover; empty means any.
    pub regions: Vec<String>,
    /// Active requests assigned now.
    pub load: i64,
    /// The most active requests they take.
    pub capacity: i64,
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
    if job.tier == ValueTier::High
        && let Some(am) = job.account_manager.filter(|am| Some(*am) != job.exclude)
    {
        return Some((am, Routed::AccountManager));
    }
    let region = |c: &Candidate| {
        job.city
            .as_deref()
            .is_some_and(|city| c.regions.iter().any(|r| r == city))
    };
    candidates
        .iter()
        .filter(|c| Some(c.user_id) != job.exclude)
        .filter(|c| c.load < c.capacity)
        .filter(|c| c.skills.is_empty() || c.skills.contains(&job.service_type))
        .filter(|c| c.regions.is_empty() || region(c) || job.city.is_none())
        .filter(|c| job.outlet_id.is_none() || c.outlet_id == job.outlet_id)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: i64, skills: &[ServiceType], regions: &[&str], load: i64) -> Candidate {
        Candidate {
            user_id: id,
            outlet_id: None,
            skills: skills.to_vec(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            load,
            capacity: 10,
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
}
