//! The voice of the customer's dashboard (C6): word of mouth (good and bad experiences and
//! their estimated reach beside the referrals recorded), survey score trends, the
//! service-ladder profile of each product and outlet, and the topics feedback is about.

use crate::error::AppError;
use crate::ports::StoreResult;
use crate::service::{Actor, App, Principal};
use crate::survey::{ScoreQuery, ScoreRow};
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::feedback::{Ladder, good_experience};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How far word of mouth carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct VocSettings {
    /// People a customer tells about a good experience (0–1000, default 8).
    pub good_reach: u32,
    /// People a customer tells about a bad experience (0–1000, default 25).
    pub bad_reach: u32,
}

impl Default for VocSettings {
    fn default() -> Self {
        VocSettings {
            good_reach: 8,
            bad_reach: 25,
        }
    }
}

/// Word of mouth over a period.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WordOfMouth {
    /// Service requests resolved in the period.
    pub resolved: i64,
    pub good: i64,
    pub bad: i64,
    /// good × good_reach: people told something good (estimated).
    pub positive_reach: i64,
    /// bad × bad_reach: people told something bad (estimated).
    pub negative_reach: i64,
    /// positive_reach − negative_reach.
    pub net_reach: i64,
    /// Referrals actually recorded in the period (who referred whom).
    pub referrals: i64,
    pub good_reach: u32,
    pub bad_reach: u32,
}

/// Feedback per service-ladder level for one product or outlet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LadderProfile {
    pub group: String,
    /// Items at function, quality, image, personality and spirit, in that order.
    pub counts: Vec<i64>,
    pub total: i64,
}

/// A topic across feedback items.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicRow {
    pub topic: String,
    pub items: i64,
    pub customers: i64,
    pub negative: i64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VocDashboard {
    pub from: String,
    pub to: String,
    pub word_of_mouth: WordOfMouth,
    /// NPS, CSAT and CES per month and group.
    pub scores: Vec<ScoreRow>,
    pub ladder_by_product: Vec<LadderProfile>,
    pub ladder_by_outlet: Vec<LadderProfile>,
    /// The 30 topics most feedback is about.
    pub topics: Vec<TopicRow>,
}

/// (rating, resolution breached, complaint) of each request resolved in a period.
pub type ExperienceRow = (Option<i64>, bool, bool);

#[async_trait]
pub trait VocStore: Send + Sync {
    async fn voc_settings(&self) -> StoreResult<Option<String>>;
    async fn set_voc_settings(&self, actor: &Actor, json: &str, now: &str) -> StoreResult<()>;
    async fn experiences(&self, from: &str, to: &str) -> StoreResult<Vec<ExperienceRow>>;
    async fn referral_count(&self, from: &str, to: &str) -> StoreResult<i64>;
    /// (group name, ladder, items) of analysed feedback received in a period, grouped by
    /// product or outlet.
    async fn ladder_counts(
        &self,
        by: &str,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<(String, String, i64)>>;
    async fn topics(&self, from: &str, to: &str, limit: u32) -> StoreResult<Vec<TopicRow>>;
}

/// Word of mouth from each resolved request's experience.
pub fn word_of_mouth(rows: &[ExperienceRow], referrals: i64, s: &VocSettings) -> WordOfMouth {
    let good = rows
        .iter()
        .filter(|(r, b, c)| good_experience(*r, *b, *c))
        .count() as i64;
    let bad = rows.len() as i64 - good;
    let positive_reach = good * i64::from(s.good_reach);
    let negative_reach = bad * i64::from(s.bad_reach);
    WordOfMouth {
        resolved: rows.len() as i64,
        good,
        bad,
        positive_reach,
        negative_reach,
        net_reach: positive_reach - negative_reach,
        referrals,
        good_reach: s.good_reach,
        bad_reach: s.bad_reach,
    }
}

fn profiles(rows: Vec<(String, String, i64)>) -> Vec<LadderProfile> {
    let mut out: Vec<LadderProfile> = Vec::new();
    for (group, ladder, n) in rows {
        let Ok(l) = Ladder::parse(&ladder) else {
            continue;
        };
        let at = Ladder::ALL.iter().position(|x| *x == l).unwrap_or(0);
        let p = match out.iter_mut().position(|p| p.group == group) {
            Some(i) => &mut out[i],
            None => {
                out.push(LadderProfile {
                    group,
                    counts: vec![0; Ladder::ALL.len()],
                    total: 0,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        p.counts[at] += n;
        p.total += n;
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.group.cmp(&b.group)));
    out
}

/// The period of a dashboard query, as days.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(default)]
pub struct DashboardQuery {
    /// First day (YYYY-MM-DD), default a year ago.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD), default today.
    pub to: Option<String>,
    /// Group the score trends by product, outlet or service_type (default: all together).
    pub group: Option<String>,
}

impl App {
    pub async fn voc_settings_now(&self) -> Result<VocSettings, AppError> {
        Ok(match self.store.voc_settings().await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored voc settings: {e}")))?,
            None => VocSettings::default(),
        })
    }

    pub async fn voc_settings(&self, p: &Principal) -> Result<VocSettings, AppError> {
        p.require(Permission::Read)?;
        self.voc_settings_now().await
    }

    pub async fn set_voc_settings(
        &self,
        p: &Principal,
        s: &VocSettings,
    ) -> Result<VocSettings, AppError> {
        p.require(Permission::ManageDesk)?;
        let mut inv = Invalid::default();
        if s.good_reach > 1000 {
            inv.push("good_reach", "out_of_range");
        }
        if s.bad_reach > 1000 {
            inv.push("bad_reach", "out_of_range");
        }
        inv.into_result()?;
        let json = serde_json::to_string(s).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store
            .set_voc_settings(&p.actor(), &json, &self.now())
            .await?;
        Ok(s.clone())
    }

    /// Word of mouth, score trends, ladder profiles and topics over a period.
    pub async fn voc_dashboard(
        &self,
        p: &Principal,
        q: &DashboardQuery,
    ) -> Result<VocDashboard, AppError> {
        p.require(Permission::Read)?;
        let sq = ScoreQuery {
            group: q.group.clone(),
            from: q.from.clone(),
            to: q.to.clone(),
        };
        let (group, from, to) = self.score_query(&sq)?;
        let scores = self.scores_between(group.as_deref(), from, to).await?;
        let (a, b) = crate::desk::day_bounds(from, to)?;
        let settings = self.voc_settings_now().await?;
        let rows = self.store.experiences(&a, &b).await?;
        let referrals = self.store.referral_count(&a, &b).await?;
        Ok(VocDashboard {
            from: from.to_string(),
            to: to.to_string(),
            word_of_mouth: word_of_mouth(&rows, referrals, &settings),
            scores,
            ladder_by_product: profiles(self.store.ladder_counts("product", &a, &b).await?),
            ladder_by_outlet: profiles(self.store.ladder_counts("outlet", &a, &b).await?),
            topics: self.store.topics(&a, &b, 30).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_is_eight_per_good_and_twenty_five_per_bad_by_default() {
        let rows = vec![
            (Some(5), false, false),
            (None, false, false),
            (Some(1), false, false),
            (Some(5), true, false),
            (None, false, true),
        ];
        let w = word_of_mouth(&rows, 2, &VocSettings::default());
        assert_eq!((w.resolved, w.good, w.bad), (5, 2, 3));
        assert_eq!(
            (w.positive_reach, w.negative_reach, w.net_reach, w.referrals),
            (16, 75, -59, 2)
        );
        let w = word_of_mouth(
            &rows,
            0,
            &VocSettings {
                good_reach: 10,
                bad_reach: 5,
            },
        );
        assert_eq!(w.net_reach, 5);
    }

    #[test]
    fn ladder_profiles_add_up_per_group() {
        let p = profiles(vec![
            ("冰箱".into(), "function".into(), 3),
            ("冰箱".into(), "spirit".into(), 1),
            ("空调".into(), "quality".into(), 2),
            ("空调".into(), "rocket".into(), 9),
        ]);
        assert_eq!(p[0].group, "冰箱");
        assert_eq!((p[0].counts.clone(), p[0].total), (vec![3, 0, 0, 0, 1], 4));
        assert_eq!((p[1].counts[1], p[1].total), (2, 2));
    }
}
