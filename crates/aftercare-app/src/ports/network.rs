//! The service network: outlets as they are set up, and the certificates staff hold.

use super::*;
use crate::model::Outlet;
use crate::network_model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use jiff::civil::Date;

/// The service network: outlets as they are set up, and the certificates staff hold.
#[async_trait]
pub trait NetworkStore: Send + Sync {
    /// Stores a new outlet (`o.id` 0) or changes one still at `o.version` (else
    /// `Conflict("version_conflict")`); keeps `active` as it is. Audited.
    async fn save_outlet(&self, actor: &Actor, o: &Outlet, now: Timestamp)
    -> StoreResult<OutletId>;
    /// Creates outlets together, all or none. Audited.
    async fn create_outlets(
        &self,
        actor: &Actor,
        outlets: &[Outlet],
        now: Timestamp,
    ) -> StoreResult<Vec<OutletId>>;
    /// Retires an outlet or brings it back. `NotFound` when there is none. Audited.
    async fn set_outlet_active(
        &self,
        actor: &Actor,
        id: OutletId,
        active: bool,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Active requests and active staff per outlet (outlets with neither are left out).
    async fn outlet_loads(&self) -> StoreResult<Vec<OutletLoad>>;
    /// Marks product categories as needing certification, or not, in one transaction
    /// (`NotFound` for a category that does not exist, and nothing changes). Audited.
    async fn set_certification_required(
        &self,
        actor: &Actor,
        changes: &[(CategoryId, bool)],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Every service type's standard: its checklist's items, in order.
    async fn standards(
        &self,
    ) -> StoreResult<Vec<(aftercare_domain::request::ServiceType, Vec<String>)>>;
    /// Sets a service type's checklist; none removes it. Audited.
    async fn save_standard(
        &self,
        actor: &Actor,
        service_type: aftercare_domain::request::ServiceType,
        items: &[String],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Certificates, of one person or of everyone, newest first; revoked ones when asked.
    /// `state` is left empty for the caller to fill.
    async fn certificates(
        &self,
        user: Option<UserId>,
        with_revoked: bool,
    ) -> StoreResult<Vec<Certificate>>;
    /// Every certificate not revoked and valid through `on`, by holder: what routing
    /// asks of candidates.
    async fn certificates_in_force(
        &self,
        on: Date,
    ) -> StoreResult<Vec<(UserId, aftercare_domain::routing::Certificate)>>;
    async fn add_certificate(
        &self,
        actor: &Actor,
        c: &CertificateDraft,
        now: Timestamp,
    ) -> StoreResult<i64>;
    /// Revokes a certificate; `NotFound` when there is none or it was revoked already.
    async fn revoke_certificate(&self, actor: &Actor, id: i64, now: Timestamp) -> StoreResult<()>;
    /// Certificates in force that run out between `from` and `until` (inclusive) whose
    /// holder has not been warned, at most `limit`, soonest first.
    async fn certificates_to_warn(
        &self,
        from: Date,
        until: Date,
        limit: u32,
    ) -> StoreResult<Vec<ExpiringCertificate>>;
    /// Notifies the holder and `managers` of each certificate and marks it warned, in one
    /// transaction; a certificate warned meanwhile is skipped. Returns how many were warned.
    async fn warn_certificates(
        &self,
        certificates: &[ExpiringCertificate],
        managers: &[UserId],
        now: Timestamp,
    ) -> StoreResult<usize>;
}
