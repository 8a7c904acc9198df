//! The service network's records: outlets as they are set up, and the certificates staff
//! hold.

use aftercare_domain::request::ServiceType;
use aftercare_domain::{CategoryId, OutletId, UserId};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A certificate as routing weighs it: its line, service types and last day.
pub use aftercare_domain::routing::Certificate as CertificateInForce;

/// An outlet to create or change, as the pages, the API and an import send it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutletInput {
    pub name: String,
    /// own or partner.
    pub kind: String,
    pub city: Option<String>,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    /// Cities it serves; none: it takes only requests given to it.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Product categories it serves; none: every product line.
    #[serde(default)]
    pub categories: Vec<CategoryId>,
    /// The working calendar its SLA targets are counted in.
    pub calendar_id: Option<i64>,
    /// The most active requests it takes; none: no limit.
    pub capacity: Option<i64>,
    /// Its own first-response target, in working minutes.
    pub response_minutes: Option<i64>,
    /// Its own resolution target, in working minutes.
    pub resolution_minutes: Option<i64>,
    /// When changing: the version read (a change made since is refused).
    pub version: Option<i64>,
}

/// A certificate to record.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateInput {
    pub user_id: UserId,
    /// The course passed or the certificate's name.
    pub name: String,
    /// The product line it is for (a category and all under it); none: every line.
    pub category_id: Option<CategoryId>,
    /// Service type codes it is for; none: every type.
    #[serde(default)]
    pub skills: Vec<String>,
    /// YYYY-MM-DD.
    pub issued_on: String,
    /// YYYY-MM-DD, the last day it counts.
    pub valid_until: String,
}

/// A certificate ready to store.
#[derive(Debug, Clone)]
pub struct CertificateDraft {
    pub user_id: UserId,
    pub name: String,
    pub category_id: Option<CategoryId>,
    pub skills: Vec<ServiceType>,
    pub issued_on: Date,
    pub valid_until: Date,
}

/// A certificate someone holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    pub id: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub name: String,
    pub category_id: Option<CategoryId>,
    pub category_name: Option<String>,
    /// Service type codes; empty: every type.
    pub skills: Vec<ServiceType>,
    pub issued_on: Date,
    pub valid_until: Date,
    pub revoked_at: Option<Timestamp>,
    /// valid, expiring (within 30 days), expired or revoked: as of today.
    pub state: String,
}

/// A certificate that runs out soon and whose holder has not been told.
#[derive(Debug, Clone)]
pub struct ExpiringCertificate {
    pub id: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub name: String,
    pub valid_until: Date,
}

/// How full an outlet is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutletLoad {
    pub outlet_id: OutletId,
    /// Active requests at the outlet.
    pub active: i64,
    /// Active staff working there.
    pub staff: i64,
}
