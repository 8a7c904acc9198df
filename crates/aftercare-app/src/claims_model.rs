//! Warranty claims (三包索赔) and the monthly statements that pay them.

use aftercare_domain::claims::ClaimStatus;
use aftercare_domain::request::ServiceType;
use aftercare_domain::{Money, OutletId, RequestId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A claim to file, or a returned one corrected.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// Parts, as money text ("120.00"); empty: none.
    #[serde(default)]
    pub parts_amount: String,
    /// Labour, as money text; empty: none.
    #[serde(default)]
    pub labour_amount: String,
    pub note: Option<String>,
    /// When correcting a returned claim: the version read.
    pub version: Option<i64>,
}

/// The brand's decision on a submitted claim.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimDecisionInput {
    /// approve, partly_approve or return.
    pub decision: String,
    /// For partly_approve: the amount paid, below the claim ("150.00").
    pub approved_amount: Option<String>,
    /// The reason: required to approve part of it or send it back.
    pub note: Option<String>,
    pub version: i64,
}

/// A claim ready to store.
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub outlet_id: OutletId,
    pub request_id: RequestId,
    pub warranty_charge: String,
    pub warranty_reason: String,
    pub parts_amount: i64,
    pub labour_amount: i64,
    pub note: Option<String>,
    pub filed_by: aftercare_domain::UserId,
}

/// A warranty claim as people read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Claim {
    pub id: i64,
    pub outlet_id: OutletId,
    pub outlet_name: String,
    pub request_id: RequestId,
    pub request_number: String,
    pub service_type: ServiceType,
    pub customer_name: String,
    /// The item: its product and serial number.
    pub item: Option<String>,
    /// The 三包 decision of the day the request was opened (a charge code and its reason).
    pub warranty_charge: String,
    pub warranty_reason: String,
    pub parts_amount: Money,
    pub labour_amount: Money,
    pub note: Option<String>,
    pub status: ClaimStatus,
    pub approved_amount: Option<Money>,
    pub decision_note: Option<String>,
    pub filed_by_name: String,
    pub filed_at: Timestamp,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// The statement month (YYYY-MM) it is paid in, once approved.
    pub month: Option<String>,
    pub version: i64,
}

impl Claim {
    /// What it asks for in all.
    pub fn claimed(&self) -> Money {
        Money(self.parts_amount.fen() + self.labour_amount.fen())
    }
}

/// Which claims.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    /// submitted, approved, partly_approved or returned.
    pub status: Option<String>,
    /// One outlet's (a partner's staff always get their own).
    pub outlet_id: Option<OutletId>,
    /// Paid in this statement month (YYYY-MM).
    pub month: Option<String>,
}

/// A partner's monthly statement: the claims approved that month, in full or in part.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statement {
    pub outlet_id: OutletId,
    pub outlet_name: String,
    pub month: String,
    pub claims: Vec<Claim>,
    pub claimed_total: Money,
    pub approved_total: Money,
    /// Claims approved in full, and in part.
    pub approved_count: i64,
    pub partly_count: i64,
}
