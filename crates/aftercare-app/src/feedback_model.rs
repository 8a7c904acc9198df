//! What the feedback use cases and their port exchange: records, inputs and answers.

use aftercare_domain::Invalid;
use aftercare_domain::customer::ConsentChannel;
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::feedback::{FeedbackSource, ImprovementStatus, Ladder, Need, Sentiment};
use aftercare_domain::ids::*;
use aftercare_domain::{AssetId, CustomerId, OutletId, ProductId, RequestId};
use aftercare_insight::text::Analysis;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Feedback as given: by staff (notes of calls and visits), by an import or an API client.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct FeedbackInput {
    /// survey, complaint, consultation, request, request_reply, call, visit, review or other.
    pub source: String,
    pub body: String,
    pub customer_id: Option<CustomerId>,
    pub product_id: Option<ProductId>,
    pub asset_id: Option<AssetId>,
    pub request_id: Option<RequestId>,
    pub outlet_id: Option<OutletId>,
    /// A review's star rating, 1–5.
    pub rating: Option<i64>,
    /// Where it comes from outside Aftercare, e.g. `review:jd:7788`: posting the same
    /// origin again changes nothing.
    pub origin: Option<String>,
    /// When it was said (an instant, or a day in China time); now when absent.
    pub received_at: Option<String>,
}

impl FeedbackInput {
    /// Checks every field, naming each one that is wrong, and returns what was said.
    pub fn said(&self, now: jiff::Timestamp) -> Result<Captured, Invalid> {
        let mut inv = Invalid::default();
        let source = inv.check("source", FeedbackSource::parse(&self.source));
        let body = inv.check(
            "body",
            required_text(&self.body, aftercare_insight::text::MAX_CHARS),
        );
        let origin = inv
            .check("origin", optional_text(self.origin.as_deref(), 200))
            .flatten();
        if self.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            inv.push("rating", "rating_range");
        }
        for (field, id) in [
            ("customer_id", self.customer_id.map(CustomerId::get)),
            ("product_id", self.product_id.map(ProductId::get)),
            ("asset_id", self.asset_id.map(AssetId::get)),
            ("request_id", self.request_id.map(RequestId::get)),
            ("outlet_id", self.outlet_id.map(OutletId::get)),
        ] {
            if id.is_some_and(|i| i <= 0) {
                inv.push(field, "id_invalid");
            }
        }
        let at = match self
            .received_at
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => Some(now),
            Some(v) => v
                .parse::<jiff::Timestamp>()
                .ok()
                .or_else(|| {
                    v.parse::<jiff::civil::Date>()
                        .ok()
                        .and_then(|d| d.to_zoned(aftercare_domain::calendar::china()).ok())
                        .map(|z| z.timestamp())
                })
                .filter(|t| *t <= now),
        };
        if at.is_none() {
            inv.push("received_at", "date_invalid");
        }
        inv.into_result()?;
        match (source, body, at) {
            (Some(source), Some(body), Some(at)) => Ok(Captured {
                origin: origin.unwrap_or_default(),
                rating: self.rating,
                source,
                body,
                customer_id: self.customer_id,
                product_id: self.product_id,
                asset_id: self.asset_id,
                request_id: self.request_id,
                outlet_id: self.outlet_id,
                at,
            }),
            _ => Err(Invalid::one("body", "required")),
        }
    }
}

/// A feedback item ready to store: validated, linked, analysed (or flagged).
#[derive(Debug, Clone)]
pub struct FeedbackRecord {
    pub source: FeedbackSource,
    pub origin: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub product_id: Option<ProductId>,
    pub asset_id: Option<AssetId>,
    pub request_id: Option<RequestId>,
    pub outlet_id: Option<OutletId>,
    pub rating: Option<i64>,
    pub body: String,
    pub received_at: jiff::Timestamp,
    pub analysis: Result<Analysis, String>,
    /// The analyser was unsure of a label ([`Analysis::uncertain`]): staff should label it.
    pub uncertain: bool,
    /// The backlog entry it belongs to: (product, topic, kind).
    pub backlog: Option<(Option<ProductId>, String, &'static str)>,
}

/// A stored feedback item with its analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackItem {
    pub id: FeedbackId,
    pub source: FeedbackSource,
    pub origin: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    /// The customer is a member of the customer alliance (an expert).
    pub expert: bool,
    pub product_id: Option<ProductId>,
    pub product_name: Option<String>,
    pub asset_id: Option<AssetId>,
    pub request_id: Option<RequestId>,
    pub outlet_id: Option<OutletId>,
    pub rating: Option<i64>,
    pub body: String,
    pub received_at: jiff::Timestamp,
    /// analysed, or failed (kept and flagged; see analysis_error).
    pub analysis: String,
    pub analysis_error: Option<String>,
    pub script: Option<String>,
    pub keywords: Vec<String>,
    pub topic: Option<String>,
    pub sentiment: Option<Sentiment>,
    /// −1 to +1.
    pub sentiment_score: Option<f64>,
    pub ladder: Option<Ladder>,
    pub need: Option<Need>,
    /// The words behind each label: {"sentiment": [...], "ladder": [...], "need": [...]}.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// The model's probability of each label: {"sentiment": 0.8, ...}.
    #[schema(value_type = Object)]
    pub confidence: serde_json::Value,
    /// Staff corrected a label.
    pub corrected: bool,
    /// The analyser was unsure and nobody has labelled it yet ("待确认").
    pub uncertain: bool,
    pub improvement_id: Option<ImprovementId>,
}

/// Which feedback: every field narrows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct FeedbackQuery {
    pub customer_id: Option<CustomerId>,
    pub product_id: Option<ProductId>,
    /// Only about this outlet's service (a partner outlet's staff always get their own).
    pub outlet_id: Option<OutletId>,
    pub improvement_id: Option<ImprovementId>,
    pub source: Option<String>,
    pub sentiment: Option<String>,
    pub ladder: Option<String>,
    pub need: Option<String>,
    /// Only items whose analysis failed (true) or succeeded (false).
    pub failed: Option<bool>,
    /// Only items to confirm: the analyser was unsure and nobody has labelled them yet
    /// (true), or the others (false).
    pub uncertain: Option<bool>,
    /// Only from customers of the alliance (true) or from the others (false).
    pub expert: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A correction of an item's labels; absent labels stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LabelsInput {
    pub sentiment: Option<String>,
    pub ladder: Option<String>,
    pub need: Option<String>,
}

/// One label change, as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Correction {
    pub label: String,
    pub from_value: Option<String>,
    pub to_value: String,
    pub by: String,
    pub at: jiff::Timestamp,
}

/// An entry of the improvement backlog, with what it touches.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Improvement {
    pub id: ImprovementId,
    pub product_id: Option<ProductId>,
    pub product_name: Option<String>,
    pub topic: String,
    /// defect or need.
    pub kind: String,
    pub status: ImprovementStatus,
    pub note: Option<String>,
    /// Feedback items behind it.
    pub items: i64,
    /// Distinct customers who raised it.
    pub customers: i64,
    /// Of whom members of the customer alliance.
    pub experts: i64,
    /// The lifetime value of those customers, in cents (from the last scoring).
    pub value: f64,
    /// Negative items among them.
    pub negative: i64,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    pub shipped_at: Option<jiff::Timestamp>,
}

/// A new status for a backlog entry.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ImprovementInput {
    pub status: String,
    pub note: Option<String>,
}

/// A customer who raised a backlog entry: the list to tell when it ships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RaisedBy {
    pub customer_id: CustomerId,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The channels the customer agreed to be contacted on (phone, sms, email, wechat, post).
    pub consent: Vec<ConsentChannel>,
    pub expert: bool,
    /// Their first feedback on it.
    pub first_said: jiff::Timestamp,
}

/// A word of the dictionary.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DictionaryWord {
    pub word: String,
    /// part or product.
    pub kind: String,
    #[serde(default)]
    pub added_by: String,
    #[serde(default)]
    pub added_at: jiff::Timestamp,
}

/// Membership of the customer alliance.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ExpertInput {
    /// What the customer knows well (e.g. "kitchen appliances").
    pub field: Option<String>,
}

/// What a capture round found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capture {
    pub events: usize,
    pub items: usize,
    /// The batch was full: run again at once.
    pub more: bool,
}

/// Something said in another part of Aftercare, waiting to become a feedback item.
#[derive(Debug, Clone)]
pub struct Captured {
    pub origin: String,
    /// A star rating that came with it (1–5).
    pub rating: Option<i64>,
    pub source: FeedbackSource,
    pub body: String,
    pub customer_id: Option<CustomerId>,
    pub product_id: Option<ProductId>,
    pub asset_id: Option<AssetId>,
    pub request_id: Option<RequestId>,
    pub outlet_id: Option<OutletId>,
    pub at: jiff::Timestamp,
}

/// Something customers said in another part of Aftercare, as stored.
#[derive(Debug, Clone)]
pub enum Said {
    /// A request's subject and description.
    Request {
        id: RequestId,
        service_type: aftercare_domain::request::ServiceType,
        subject: String,
        description: String,
        customer_id: CustomerId,
        asset_id: Option<AssetId>,
        outlet_id: Option<OutletId>,
        at: jiff::Timestamp,
    },
    /// The comment a customer left with their rating of a request.
    Rating {
        request_id: RequestId,
        rating: Option<i64>,
        comment: String,
        customer_id: CustomerId,
        asset_id: Option<AssetId>,
        outlet_id: Option<OutletId>,
        at: jiff::Timestamp,
    },
    /// A customer's message on a request (other than its description).
    Message {
        id: i64,
        request_id: RequestId,
        body: String,
        customer_id: CustomerId,
        asset_id: Option<AssetId>,
        outlet_id: Option<OutletId>,
        at: jiff::Timestamp,
    },
    /// A logged contact: its subject and notes.
    Contact {
        id: i64,
        customer_id: CustomerId,
        touchpoint: String,
        subject: String,
        body: Option<String>,
        at: jiff::Timestamp,
    },
}
