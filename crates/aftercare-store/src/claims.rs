//! The `ClaimStore` port over SQL: warranty claims and the decisions on them.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::claims_model::*;
use aftercare_app::ports::{Actor, ClaimStore, StoreResult, stamp};
use aftercare_domain::claims::ClaimStatus;
use aftercare_domain::{Money, OutletId, RequestId, UserId};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

const CLAIM_COLS: &str = "w.id, w.outlet_id, o.name AS outlet_name, w.request_id, r.number AS request_number, \
     r.service_type, c.name AS customer_name, p.name AS product_name, a.serial, w.warranty_charge, \
     w.warranty_reason, w.parts_amount, w.labour_amount, w.note, w.status, w.approved_amount, \
     w.decision_note, f.name AS filed_by_name, w.filed_at, d.name AS decided_by_name, w.decided_at, \
     w.month, w.version \
     FROM warranty_claims w JOIN outlets o ON o.id = w.outlet_id JOIN requests r ON r.id = w.request_id \
     JOIN customers c ON c.id = r.customer_id LEFT JOIN assets a ON a.id = r.asset_id \
     LEFT JOIN products p ON p.id = a.product_id JOIN users f ON f.id = w.filed_by \
     LEFT JOIN users d ON d.id = w.decided_by";

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    outlet_id: i64,
    outlet_name: String,
    request_id: i64,
    request_number: String,
    service_type: String,
    customer_name: String,
    product_name: Option<String>,
    serial: Option<String>,
    warranty_charge: String,
    warranty_reason: String,
    parts_amount: i64,
    labour_amount: i64,
    note: Option<String>,
    status: String,
    approved_amount: Option<i64>,
    decision_note: Option<String>,
    filed_by_name: String,
    filed_at: String,
    decided_by_name: Option<String>,
    decided_at: Option<String>,
    month: Option<String>,
    version: i64,
}

impl ClaimRow {
    fn claim(self) -> Result<Claim, StoreError> {
        let c = Cells::of("warranty_claims", self.id);
        Ok(Claim {
            id: self.id,
            outlet_id: OutletId(self.outlet_id),
            outlet_name: self.outlet_name,
            request_id: RequestId(self.request_id),
            request_number: self.request_number,
            service_type: c.code("service_type", &self.service_type)?,
            customer_name: self.customer_name,
            item: self
                .product_name
                .map(|p| format!("{p} · {}", self.serial.unwrap_or_default())),
            warranty_charge: self.warranty_charge,
            warranty_reason: self.warranty_reason,
            parts_amount: Money(self.parts_amount),
            labour_amount: Money(self.labour_amount),
            note: self.note,
            status: c.code("status", &self.status)?,
            approved_amount: self.approved_amount.map(Money),
            decision_note: self.decision_note,
            filed_by_name: self.filed_by_name,
            filed_at: c.at("filed_at", &self.filed_at)?,
            decided_by_name: self.decided_by_name,
            decided_at: c.opt_at("decided_at", self.decided_at.as_deref())?,
            month: self.month,
            version: self.version,
        })
    }
}

#[async_trait]
impl ClaimStore for SqlStore {
    async fn file_claim(&self, actor: &Actor, c: &NewClaim, now: Timestamp) -> StoreResult<i64> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO warranty_claims (outlet_id, request_id, warranty_charge, warranty_reason, \
             parts_amount, labour_amount, note, status, filed_by, filed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9) RETURNING id",
            &[
                V::I(c.outlet_id.get()),
                V::I(c.request_id.get()),
                (&c.warranty_charge).into(),
                (&c.warranty_reason).into(),
                V::I(c.parts_amount),
                V::I(c.labour_amount),
                (&c.note).into(),
                V::I(c.filed_by.get()),
                now.into(),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict {
                code: "already_exists",
                ..
            } => StoreError::Conflict {
                code: "claim_exists",
                field: Some("request_id".into()),
            },
            e => e,
        })?;
        let after = json!({
            "request_id": c.request_id.get(), "outlet_id": c.outlet_id.get(),
            "parts_amount": c.parts_amount, "labour_amount": c.labour_amount,
            "warranty": format!("{} {}", c.warranty_charge, c.warranty_reason),
        });
        self.log(
            &mut tx,
            actor,
            "create",
            "warranty_claim",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn refile_claim(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        parts: i64,
        labour: i64,
        note: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE warranty_claims SET parts_amount = $1, labour_amount = $2, note = $3, \
             status = 'submitted', version = version + 1 \
             WHERE id = $4 AND version = $5 AND status = 'returned'",
            &[
                V::I(parts),
                V::I(labour),
                note.into(),
                V::I(id),
                V::I(version),
            ],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "warranty_claims", id).await);
        }
        let after =
            json!({ "parts_amount": parts, "labour_amount": labour, "status": "submitted" });
        self.log(
            &mut tx,
            actor,
            "update",
            "warranty_claim",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn decide_claim(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        status: ClaimStatus,
        approved: Option<i64>,
        note: Option<&str>,
        by: UserId,
        month: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE warranty_claims SET status = $1, approved_amount = $2, decision_note = $3, \
             decided_by = $4, decided_at = $5, month = $6, version = version + 1 \
             WHERE id = $7 AND version = $8 AND status = 'submitted'",
            &[
                status.code().into(),
                V::OptI(approved),
                note.into(),
                V::I(by.get()),
                now.into(),
                month.into(),
                V::I(id),
                V::I(version),
            ],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "warranty_claims", id).await);
        }
        let after = json!({ "status": status.code(), "approved_amount": approved, "note": note });
        self.log(
            &mut tx,
            actor,
            "decide",
            "warranty_claim",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn claim(&self, id: i64) -> StoreResult<Option<Claim>> {
        let row: Option<ClaimRow> = fetch_opt(
            &self.db.read,
            &format!("SELECT {CLAIM_COLS} WHERE w.id = $1"),
            &[V::I(id)],
        )
        .await?;
        row.map(ClaimRow::claim).transpose()
    }

    async fn claim_of_request(&self, request: RequestId) -> StoreResult<Option<Claim>> {
        let row: Option<ClaimRow> = fetch_opt(
            &self.db.read,
            &format!("SELECT {CLAIM_COLS} WHERE w.request_id = $1"),
            &[V::I(request.get())],
        )
        .await?;
        row.map(ClaimRow::claim).transpose()
    }

    async fn claims(
        &self,
        status: Option<ClaimStatus>,
        outlet: Option<OutletId>,
        month: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Claim>> {
        let mut sql = Sql::new(&format!("SELECT {CLAIM_COLS} WHERE 1 = 1"));
        if let Some(s) = status {
            sql.push(" AND w.status = ").bind(s.code());
        }
        if let Some(o) = outlet {
            sql.push(" AND w.outlet_id = ").bind(o.get());
        }
        if let Some(m) = month {
            sql.push(" AND w.month = ").bind(m);
        }
        sql.push(" ORDER BY w.id DESC LIMIT ")
            .bind(i64::from(limit));
        let rows: Vec<ClaimRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(ClaimRow::claim).collect()
    }
}
