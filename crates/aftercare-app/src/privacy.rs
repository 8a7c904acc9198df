//! A customer's rights over their personal information (PIPL): a machine-readable copy of
//! everything held about them, and erasure, each on their request and each recorded in the
//! audit log with who did it, when and why. Administrators do both.

use crate::error::AppError;
use crate::ports;
pub use crate::ports::{ErasedRows, ErasureReport};
use crate::service::{App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::ids::CustomerId;
use serde::Deserialize;
use utoipa::ToSchema;

/// How the customer's request came in and who handled it, kept in the audit log.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequestInput {
    /// For example "客户本人来电申请，已核实身份 (工单 SR-2026-000123)". Required for an
    /// erasure, at most 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

const NOTE_MAX: usize = 500;

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::PrivacyStore,
{
    /// Everything held about the customer, as one JSON document (see
    /// [`ports::PrivacyStore::export_personal_data`]).
    pub async fn export_personal_data(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        input: &PrivacyRequestInput,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
        p.require(Permission::Admin)?;
        let mut inv = Invalid::default();
        let note = inv.check("note", optional_text(input.note.as_deref(), NOTE_MAX));
        inv.into_result()?;
        self.store
            .export_personal_data(
                &p.actor(),
                customer_id,
                note.flatten().as_deref().unwrap_or_default(),
                self.now(),
            )
            .await
            .map_err(AppError::from_store("customer"))
    }

    /// Erases the customer's personal information (see
    /// [`ports::PrivacyStore::erase_customer`]). It cannot be undone.
    pub async fn erase_customer(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        input: &PrivacyRequestInput,
    ) -> Result<ErasureReport, AppError> {
        p.require(Permission::Admin)?;
        let mut inv = Invalid::default();
        let note = inv.check(
            "note",
            required_text(input.note.as_deref().unwrap_or_default(), NOTE_MAX),
        );
        inv.into_result()?;
        self.store
            .erase_customer(
                &p.actor(),
                customer_id,
                &note.unwrap_or_default(),
                self.now(),
            )
            .await
            .map_err(AppError::from_store("customer"))
    }
}
