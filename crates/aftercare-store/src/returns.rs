//! The `ReturnStore` port over SQL: returns, exchanges and refunds (RMAs).

use crate::db::*;
use crate::request_rows::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::ports::*;
use aftercare_domain::rma::{RmaKind, RmaStatus};
use aftercare_domain::{AssetId, ProductId, RequestId, RmaId, UserId};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

#[async_trait]
impl ReturnStore for SqlStore {
    async fn create_rma(
        &self,
        actor: &Actor,
        request_id: RequestId,
        asset_id: AssetId,
        kind: RmaKind,
        reason: &str,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<RmaId> {
        let (me, actor, reason, fx, now) = (
            self.clone(),
            actor.clone(),
            reason.to_string(),
            fx.clone(),
            stamp(now),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, reason, fx, now) = (
                    me.clone(),
                    actor.clone(),
                    reason.clone(),
                    fx.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    // One open authorisation per item at a time.
                    let open = scalar(
                        &mut *tx,
                        "SELECT id FROM rmas WHERE asset_id = $1 AND status IN ('requested', 'approved', 'received') LIMIT 1",
                        &[asset_id.into()],
                    )
                    .await?;
                    if open.is_some() {
                        return Err(StoreError::Conflict {
                            code: "rma_open_for_item",
                            field: Some("kind".into()),
                        });
                    }
                    // An item that left under an earlier exchange or return, whatever
                    // day the request was opened, has nothing left to give back.
                    let left: Option<(String,)> = fetch_opt(
                        &mut *tx,
                        "SELECT kind FROM asset_events WHERE asset_id = $1 \
                         AND kind IN ('exchanged_out', 'returned') LIMIT 1",
                        &[asset_id.into()],
                    )
                    .await?;
                    if let Some((kind,)) = left {
                        return Err(StoreError::Conflict {
                            code: if kind == "returned" { "item_returned" } else { "item_exchanged" },
                            field: Some("kind".into()),
                        });
                    }
                    let id = insert_id(
                        &mut *tx,
                        "INSERT INTO rmas (request_id, asset_id, kind, status, reason, created_at, updated_at) \
                         VALUES ($1, $2, $3, 'requested', $4, $5, $5) RETURNING id",
                        &[request_id.into(), asset_id.into(), kind.into(), (&reason).into(), (&now).into()],
                    )
                    .await?;
                    let after = json!({"request_id": request_id, "asset_id": asset_id, "kind": kind, "status": "requested"});
                    me.log(&mut *tx, &actor, "create", "rma", id, None, Some(&after), &now).await?;
                    let (customer, number) = customer_and_number(&mut *tx, request_id.get()).await?;
                    me.apply_effects(&mut *tx, &actor, request_id.get(), customer, &number, &fx, &now)
                        .await?;
                    Ok(RmaId(id))
                })
            })
            .await
    }

    async fn rma(&self, id: RmaId) -> StoreResult<Option<Rma>> {
        Ok(self
            .rmas_where("r.id = $1", id.get())
            .await?
            .into_iter()
            .next())
    }

    async fn rmas(&self, request_id: RequestId) -> StoreResult<Vec<Rma>> {
        self.rmas_where("r.request_id = $1", request_id.get()).await
    }

    async fn update_rma(
        &self,
        actor: &Actor,
        r: &Rma,
        from: RmaStatus,
        decided_by: Option<UserId>,
        replacement: Option<(ProductId, String, String)>,
        fx: &Effects,
        now: Timestamp,
    ) -> StoreResult<Option<AssetId>> {
        let (me, actor, r, replacement, fx, now) = (
            self.clone(),
            actor.clone(),
            r.clone(),
            replacement.clone(),
            fx.clone(),
            stamp(now),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, r, replacement, fx, now) = (
                    me.clone(),
                    actor.clone(),
                    r.clone(),
                    replacement.clone(),
                    fx.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    let (customer, number) = customer_and_number(&mut *tx, r.request_id.get()).await?;
                    let mut new_asset = None;
                    if let Some((product, serial, day)) = &replacement {
                        if scalar(&mut *tx, "SELECT id FROM assets WHERE serial = $1", &[serial.into()])
                            .await?
                            .is_some()
                        {
                            return Err(StoreError::Conflict {
                                code: "serial_taken",
                                field: Some("replacement_serial".into()),
                            });
                        }
                        let id = insert_id(
                            &mut *tx,
                            "INSERT INTO assets (serial, product_id, customer_id, purchased_on, delivered_on, created_at) \
                             VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
                            &[serial.into(), (*product).into(), V::I(customer), day.into(), (&now).into()],
                        )
                        .await?;
                        // Each item's archive says what happened as a kind the page translates;
                        // the note holds only the request and the other item's serial. The
                        // old item's guarantees end here (`exchanged_out`).
                        for (asset, kind, note) in [
                            (id, "replaces", format!("{number} ← {}", r.serial)),
                            (r.asset_id.get(), "exchanged_out", format!("{number} → {serial}")),
                        ] {
                            exec(
                                &mut *tx,
                                "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6)",
                                &[V::I(asset), day.into(), kind.into(), note.into(), V::OptI(actor.user_id.map(UserId::get)), (&now).into()],
                            )
                            .await?;
                        }
                        let after = json!({"serial": serial, "product_id": product, "customer_id": customer, "replaces": r.asset_id});
                        me.log(&mut *tx, &actor, "create", "asset", id, None, Some(&after), &now).await?;
                        new_asset = Some(id);
                    }
                    // A completed return takes the item back: its guarantees end.
                    if r.kind == RmaKind::Return && r.status == RmaStatus::Completed {
                        let day = r.received_on.clone().unwrap_or_else(|| now[..10].to_owned());
                        exec(
                            &mut *tx,
                            "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                             VALUES ($1, $2, 'returned', $3, $4, $5)",
                            &[V::I(r.asset_id.get()), day.into(), number.clone().into(), V::OptI(actor.user_id.map(UserId::get)), (&now).into()],
                        )
                        .await?;
                    }
                    let n = exec(
                        &mut *tx,
                        "UPDATE rmas SET status = $1, decided_by = COALESCE($2, decided_by), decision_note = $3, \
                         received_on = $4, replacement_asset_id = COALESCE($5, replacement_asset_id), refund_amount = $6, \
                         updated_at = $7 WHERE id = $8 AND status = $9",
                        &[
                            r.status.into(),
                            decided_by.into(),
                            (&r.decision_note).into(),
                            (&r.received_on).into(),
                            V::OptI(new_asset),
                            r.refund_amount.into(),
                            (&now).into(),
                            r.id.into(),
                            from.into(),
                        ],
                    )
                    .await?;
                    if n == 0 {
                        return Err(StoreError::Conflict {
                            code: "rma_changed",
                            field: None,
                        });
                    }
                    let after = json!({"status": r.status, "refund_amount": r.refund_amount, "replacement_asset_id": new_asset});
                    me.log(&mut *tx, &actor, "update", "rma", r.id.get(), None, Some(&after), &now).await?;
                    me.apply_effects(&mut *tx, &actor, r.request_id.get(), customer, &number, &fx, &now)
                        .await?;
                    Ok(new_asset.map(AssetId))
                })
            })
            .await
    }
}
