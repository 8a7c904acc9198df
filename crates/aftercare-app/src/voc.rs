//! The voice of the customer's dashboard (C6): word of mouth (good and bad experiences and
//! their estimated reach beside the referrals recorded), survey score trends, the
//! service-ladder profile of each product and outlet, and the topics feedback is about.

use crate::error::AppError;
use crate::ports;
pub use crate::ports::VocStore;
use crate::service::{App, Principal};
use crate::survey::ScoreQuery;
pub use crate::voc_model::*;
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::feedback::{Ladder, good_experience};

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

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::DeskPorts
        + ports::ChangeLog
        + ports::FeedbackStore
        + ports::SurveyStore
        + ports::CampaignStore
        + ports::VocStore,
{
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
            .set_voc_settings(&p.actor(), &json, self.now())
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
        let rows = self.store.experiences(a, b).await?;
        let referrals = self.store.referral_count(a, b).await?;
        Ok(VocDashboard {
            from: from.to_string(),
            to: to.to_string(),
            word_of_mouth: word_of_mouth(&rows, referrals, &settings),
            scores,
            ladder_by_product: profiles(self.store.ladder_counts("product", a, b).await?),
            ladder_by_outlet: profiles(self.store.ladder_counts("outlet", a, b).await?),
            topics: self.store.topics(a, b, 30).await?,
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
