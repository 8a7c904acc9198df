//! Returns, exchanges and refunds (RMA) on a request: asked for within the 三包 windows
//! of the day the request was opened, approved or rejected by a manager, the item
//! received back, and completed with a replacement item (linked to the old one) or a
//! refund amount.

use crate::desk_model::Rma;
use crate::error::AppError;
use crate::ports;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::account::{Permission, Role};
use aftercare_domain::catalog::{parse_money, parse_serial};
use aftercare_domain::error::{optional_text, parse_date, required_text};
use aftercare_domain::request::RequestStatus;
use aftercare_domain::rma::{RmaKind, RmaStatus, entitled};
use aftercare_domain::{Money, RequestId, RmaId, UserId};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RmaInput {
    /// return, exchange or refund (a goodwill refund without the item).
    pub kind: String,
    pub reason: String,
}

/// The next step of an authorisation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RmaStepInput {
    /// approved, rejected (managers), received or completed.
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
    /// The day the item came back (received); default today.
    #[serde(default)]
    pub received_on: Option<String>,
    /// The new item's serial number (completing an exchange).
    #[serde(default)]
    pub replacement_serial: Option<String>,
    /// The money refunded, e.g. "3999.00" (completing a return or refund).
    #[serde(default)]
    pub refund_amount: Option<String>,
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::DeskPorts,
{
    /// Asks for a return, exchange or refund of the request's item. Returns and exchanges
    /// must be within the 三包 windows on the day the request was opened.
    pub async fn create_rma(
        &self,
        p: &Principal,
        request_id: RequestId,
        i: &RmaInput,
    ) -> Result<RmaId, AppError> {
        p.require(Permission::WorkRequests)?;
        let r = self.request_detail(p, request_id).await?.request;
        if r.status == RequestStatus::Cancelled {
            return Err(AppError::Conflict {
                code: "request_not_active",
                field: Some("status".into()),
            });
        }
        let mut inv = Invalid::default();
        let kind = inv.check("kind", RmaKind::parse(&i.kind));
        let reason = inv.check("reason", required_text(&i.reason, 2000));
        let Some(asset) = r.asset_id else {
            inv.push("asset_id", "rma_needs_item");
            return Err(inv.into());
        };
        inv.into_result()?;
        let (Some(kind), Some(reason)) = (kind, reason) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        match self.warranty_on(asset, Some(self.opened_on(&r))).await? {
            Some(status) => {
                entitled(kind, &status).map_err(|c| Invalid::one("kind", c))?;
            }
            None if kind != RmaKind::Refund => {
                return Err(Invalid::one("kind", "no_warranty_policy").into());
            }
            None => {}
        }
        let mut fx = Effects::default();
        fx.history
            .push(("rma_requested".into(), None, Some(kind.code().into())));
        fx.timeline.push((
            "rma".into(),
            format!("{} {} requested: {reason}", r.number, kind.code()),
        ));
        for m in self.desk_managers().await? {
            fx.notify.push((m, "rma_requested".into()));
        }
        self.store
            .create_rma(
                &p.actor(),
                r.id,
                asset,
                kind,
                &reason,
                &fx,
                self.clock.now(),
            )
            .await
            .map_err(AppError::from_store("rma"))
    }

    /// Who may approve: managers and admins.
    async fn desk_managers(&self) -> Result<Vec<UserId>, AppError> {
        Ok(self
            .store
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active && matches!(u.role, Role::Manager | Role::Admin))
            .map(|u| u.id)
            .collect())
    }

    /// Moves an authorisation on: approve or reject (managers), receive the item back,
    /// complete it with the replacement or the refund.
    pub async fn rma_step(
        &self,
        p: &Principal,
        id: RmaId,
        i: &RmaStepInput,
    ) -> Result<Rma, AppError> {
        p.require(Permission::WorkRequests)?;
        let mut rma = self.store.rma(id).await?.ok_or(AppError::NotFound("rma"))?;
        let r = self.request_detail(p, rma.request_id).await?.request;
        let (kind, from) = (rma.kind, rma.status);
        let to = RmaStatus::parse(&i.status).map_err(|c| Invalid::one("status", c))?;
        if !from.next(kind).contains(&to) {
            return Err(AppError::Conflict {
                code: "rma_step_not_allowed",
                field: Some("status".into()),
            });
        }
        if matches!(to, RmaStatus::Approved | RmaStatus::Rejected) {
            p.require(Permission::ManageDesk)?;
        }
        let mut inv = Invalid::default();
        let note = inv
            .check("note", optional_text(i.note.as_deref(), 2000))
            .flatten();
        let today = self.clock.today();
        let mut replacement = None;
        match to {
            RmaStatus::Received => {
                let day = match i.received_on.as_deref().filter(|d| !d.trim().is_empty()) {
                    Some(d) => inv.check("received_on", parse_date(d)),
                    None => Some(today),
                };
                if day.is_some_and(|d| d > today) {
                    inv.push("received_on", "date_in_future");
                }
                rma.received_on = day.map(|d| d.to_string());
            }
            RmaStatus::Completed if kind == RmaKind::Exchange => {
                match i
                    .replacement_serial
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                {
                    Some(s) => {
                        if let Some(serial) = inv.check("replacement_serial", parse_serial(s)) {
                            let product = self
                                .store
                                .asset(rma.asset_id)
                                .await?
                                .ok_or(AppError::NotFound("asset"))?
                                .product_id;
                            // 三包: the new item's guarantees run from the exchange day.
                            replacement = Some((product, serial, today.to_string()));
                        }
                    }
                    None => inv.push("replacement_serial", "required"),
                }
            }
            RmaStatus::Completed => match i.refund_amount.as_deref() {
                Some(m) => match inv.check("refund_amount", parse_money(m)) {
                    Some(v) if v <= 0 => inv.push("refund_amount", "out_of_range"),
                    v => rma.refund_amount = v.map(Money),
                },
                None => inv.push("refund_amount", "required"),
            },
            _ => {}
        }
        inv.into_result()?;
        rma.status = to;
        if matches!(to, RmaStatus::Approved | RmaStatus::Rejected) {
            rma.decision_note = note.clone();
        }
        let mut fx = Effects::default();
        fx.history.push((
            format!("rma_{}", to.code()),
            Some(kind.code().into()),
            note.clone()
                .or(rma.refund_amount.map(|a| format!("¥{a}")))
                .or(replacement.as_ref().map(|(_, s, _)| s.clone())),
        ));
        fx.timeline.push((
            "rma".into(),
            format!(
                "{} {} {}{}",
                r.number,
                kind.code(),
                to.code(),
                rma.refund_amount
                    .filter(|_| to == RmaStatus::Completed)
                    .map(|a| format!(" ¥{a}"))
                    .unwrap_or_default()
            ),
        ));
        if matches!(
            to,
            RmaStatus::Approved | RmaStatus::Rejected | RmaStatus::Completed
        ) && let Some(f) = self.store.service_facts(r.customer_id).await?
            && let Some(email) = f.email
        {
            let lang = crate::customer_mail::mail_lang(f.lang.as_deref());
            let (subject, body) = crate::customer_mail::rma_update(
                lang,
                &r.number,
                kind,
                to,
                &rma.serial,
                note.as_deref(),
            );
            fx.mails.push(Mail {
                to: email,
                subject,
                body,
            });
        }
        let decided_by =
            matches!(to, RmaStatus::Approved | RmaStatus::Rejected).then_some(p.user.id);
        self.store
            .update_rma(
                &p.actor(),
                &rma,
                from,
                decided_by,
                replacement,
                &fx,
                self.clock.now(),
            )
            .await
            .map_err(AppError::from_store("rma"))?;
        self.store.rma(id).await?.ok_or(AppError::NotFound("rma"))
    }
}
