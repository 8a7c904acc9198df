//! What the survey use cases and their port exchange: records, inputs and answers.

use aftercare_domain::Invalid;
use aftercare_domain::ids::*;
use aftercare_domain::{CustomerId, OrderId, OutletId, ProductId, RequestId};
#[allow(unused_imports)]
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A question of the company's own, answered in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomQuestion {
    /// Short and stable: the key of its answers (letters, digits, `_`).
    pub id: String,
    pub zh_hans: String,
    pub zh_hant: String,
    pub en: String,
}

/// When surveys go out and what they ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SurveySettings {
    /// Survey a customer after their service request is resolved.
    pub after_resolution: bool,
    /// Survey a customer after a purchase.
    pub after_purchase: bool,
    /// Never a second survey to the same customer within this many days (0–365).
    pub quiet_days: u32,
    /// Remind once after this many days without an answer (0: never; at most 60).
    pub reminder_days: u32,
    /// The link works for this many days (1–90).
    pub expires_days: u32,
    /// Only occasions at most this many days old are surveyed (an import of old orders
    /// sends nothing; 1–90).
    pub max_age_days: u32,
    pub csat: bool,
    pub nps: bool,
    pub ces: bool,
    pub questions: Vec<CustomQuestion>,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings {
            after_resolution: true,
            after_purchase: true,
            quiet_days: 30,
            reminder_days: 3,
            expires_days: 14,
            max_age_days: 14,
            csat: true,
            nps: true,
            ces: true,
            questions: vec![],
        }
    }
}

impl SurveySettings {
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        let mut inv = Invalid::default();
        for (field, v, lo, hi) in [
            ("quiet_days", self.quiet_days, 0, 365),
            ("reminder_days", self.reminder_days, 0, 60),
            ("expires_days", self.expires_days, 1, 90),
            ("max_age_days", self.max_age_days, 1, 90),
        ] {
            if !(lo..=hi).contains(&v) {
                inv.push(field, "out_of_range");
            }
        }
        if !(self.csat || self.nps || self.ces || !self.questions.is_empty()) {
            inv.push("questions", "survey_empty");
        }
        for (i, q) in self.questions.iter().enumerate() {
            let ok_id = !q.id.is_empty()
                && q.id.len() <= 30
                && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok_id || self.questions[..i].iter().any(|o| o.id == q.id) {
                inv.push(format!("questions[{i}].id"), "question_id_invalid");
            }
            for (lang, text) in [
                ("zh_hans", &q.zh_hans),
                ("zh_hant", &q.zh_hant),
                ("en", &q.en),
            ] {
                if text.trim().is_empty() || text.chars().count() > 300 {
                    inv.push(format!("questions[{i}].{lang}"), "required");
                }
            }
        }
        inv.into_result()
    }
}

/// Something worth a survey, found in the change log.
#[derive(Debug, Clone)]
pub struct SurveyOccasion {
    /// resolved or purchase.
    pub occasion: &'static str,
    pub subject_ref: String,
    /// When it happened (resolution, or the start of the order day in China), for the
    /// age limit.
    pub at: jiff::Timestamp,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub request_id: Option<RequestId>,
    pub request_number: Option<String>,
    pub order_id: Option<OrderId>,
    pub product_id: Option<ProductId>,
    pub outlet_id: Option<OutletId>,
    pub service_type: Option<String>,
    pub email: Option<String>,
    /// The channels the customer agreed to (comma-separated codes).
    pub consent: String,
    /// The language the customer gets mail in, when known.
    pub lang: Option<String>,
}

/// A mail to queue with a survey or its reminder.
#[derive(Debug, Clone)]
pub struct SurveyMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A survey as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Survey {
    pub id: SurveyId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// The language the customer gets mail in (zh-Hans, zh-Hant, en), when known.
    pub customer_lang: Option<String>,
    pub occasion: String,
    pub subject_ref: String,
    pub request_id: Option<RequestId>,
    pub order_id: Option<OrderId>,
    pub product_id: Option<ProductId>,
    pub product_name: Option<String>,
    pub outlet_id: Option<OutletId>,
    pub service_type: Option<String>,
    /// The address it was mailed to (none: portal only).
    pub sent_to: Option<String>,
    pub created_at: jiff::Timestamp,
    pub expires_at: jiff::Timestamp,
    pub reminded_at: Option<jiff::Timestamp>,
    pub answered_at: Option<jiff::Timestamp>,
    pub csat: Option<i64>,
    pub nps: Option<i64>,
    pub ces: Option<i64>,
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    pub comment: Option<String>,
    pub feedback_id: Option<FeedbackId>,
}

/// A customer's answers. Every score is optional; at least one answer is needed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SurveyAnswer {
    /// How satisfied, 1 (very unsatisfied) to 5 (very satisfied).
    pub csat: Option<i64>,
    /// How likely to recommend us, 0 to 10.
    pub nps: Option<i64>,
    /// How easy it was, 1 (very hard) to 7 (very easy).
    pub ces: Option<i64>,
    /// Answers to the custom questions, by question id.
    pub answers: std::collections::BTreeMap<String, String>,
    pub comment: Option<String>,
}

/// A survey with the questions it asks, for the answer page.
#[derive(Debug, Clone)]
pub struct SurveyForm {
    pub survey: Survey,
    pub settings: SurveySettings,
    pub expired: bool,
}

/// What a sending round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SurveyRound {
    pub events: usize,
    /// The batch of events was full: run again at once.
    pub more: bool,
    pub created: usize,
    pub mailed: usize,
    /// Left out: a survey within the quiet period.
    pub quiet: usize,
    /// Left out: the occasion is older than max_age_days.
    pub old: usize,
    /// Left out: the request was rated in the portal already (one answer, not two).
    pub rated: usize,
    /// Not mailed (offered in the portal only): the customer's contact budget for the
    /// period is spent (campaign mails and surveys count alike).
    pub pressure: usize,
    pub reminded: usize,
}

/// Scores over a group and a month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreRow {
    /// The product, outlet or service type (its name), or "all".
    pub group: String,
    /// YYYY-MM (China time).
    pub period: String,
    pub answers: i64,
    /// Mean CSAT (1–5).
    pub csat: Option<f64>,
    /// NPS: % promoters (9–10) minus % detractors (0–6), −100 to 100.
    pub nps: Option<f64>,
    /// Mean CES (1–7).
    pub ces: Option<f64>,
}

/// Which scores: grouped by product, outlet, service_type or nothing, over months.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ScoreQuery {
    /// product, outlet, service_type, or none (all together).
    pub group: Option<String>,
    /// First day (YYYY-MM-DD), default a year ago.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD), default today.
    pub to: Option<String>,
}

/// (group, answered_at, csat, nps, ces)
pub type AnswerRow = (
    String,
    jiff::Timestamp,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
