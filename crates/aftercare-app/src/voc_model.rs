//! What the voc use cases and their port exchange: records, inputs and answers.

use crate::survey_model::ScoreRow;
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

/// The period of a dashboard query, as days.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct DashboardQuery {
    /// First day (YYYY-MM-DD), default a year ago.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD), default today.
    pub to: Option<String>,
    /// Group the score trends by product, outlet or service_type (default: all together).
    pub group: Option<String>,
}
