//! The `CareStore` port over SQL: care plans, service contracts, maintenance schedules
//! and vouchers. Contracts are made, and vouchers used, by the order that sells or takes
//! them (`orders.rs`), in that order's transaction.

use crate::campaigns::{REACHABLE, recipient};
use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::care_model::*;
use aftercare_app::ports::{Actor, CareStore, StoreResult, stamp};
use aftercare_domain::care::VoucherKind;
use aftercare_domain::request::ServiceType;
use aftercare_domain::{CustomerId, Money};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

fn small(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

pub(crate) fn covers_text(c: &[ServiceType]) -> String {
    c.iter().map(|t| t.code()).collect::<Vec<_>>().join(",")
}

fn covers_of(cells: &Cells, s: &str) -> Result<Vec<ServiceType>, StoreError> {
    s.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| cells.code("covers", c))
        .collect()
}

const PLAN_COLS: &str = "k.id, k.product_id, p.name AS product_name, k.category_id, k.months, \
     k.extends_warranty, k.covers, k.active, k.owner_name, k.created_at, k.version \
     FROM care_plans k JOIN products p ON p.id = k.product_id";

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    product_id: i64,
    product_name: String,
    category_id: Option<i64>,
    months: i64,
    extends_warranty: i64,
    covers: String,
    active: i64,
    owner_name: String,
    created_at: String,
    version: i64,
}

impl PlanRow {
    fn plan(self) -> Result<CarePlan, StoreError> {
        let c = Cells::of("care_plans", self.id);
        Ok(CarePlan {
            id: self.id,
            product_id: self.product_id,
            product_name: self.product_name,
            category_id: self.category_id,
            months: small(self.months),
            extends_warranty: self.extends_warranty != 0,
            covers: covers_of(&c, &self.covers)?,
            active: self.active != 0,
            owner_name: self.owner_name,
            created_at: c.at("created_at", &self.created_at)?,
            version: self.version,
        })
    }
}

const CONTRACT_COLS: &str = "s.id, s.plan_id, pp.name AS plan_name, s.customer_id, s.asset_id, \
     a.serial, ap.name AS product_name, s.order_id, o.number AS order_number, s.starts_on, s.ends_on, \
     s.covers, s.cancelled_at, s.created_at \
     FROM service_contracts s JOIN care_plans k ON k.id = s.plan_id \
     JOIN products pp ON pp.id = k.product_id JOIN assets a ON a.id = s.asset_id \
     JOIN products ap ON ap.id = a.product_id LEFT JOIN orders o ON o.id = s.order_id";

/// The statement [`CareStore::contracts`] reads: contracts of a customer, on an item,
/// or both, newest first.
pub(crate) fn contracts_sql(customer_id: Option<CustomerId>, asset_id: Option<i64>) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {CONTRACT_COLS} WHERE 1 = 1"));
    if let Some(c) = customer_id {
        sql.push(" AND s.customer_id = ").bind(c.get());
    }
    if let Some(a) = asset_id {
        sql.push(" AND s.asset_id = ").bind(a);
    }
    sql.push(" ORDER BY s.starts_on DESC, s.id DESC");
    sql
}

/// Contracts from the rows of [`contracts_sql`].
pub(crate) fn contracts_from(rows: Vec<ContractRow>) -> StoreResult<Vec<ServiceContract>> {
    rows.into_iter().map(ContractRow::contract).collect()
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ContractRow {
    id: i64,
    plan_id: i64,
    plan_name: String,
    customer_id: i64,
    asset_id: i64,
    serial: String,
    product_name: String,
    order_id: Option<i64>,
    order_number: Option<String>,
    starts_on: String,
    ends_on: String,
    covers: String,
    cancelled_at: Option<String>,
    created_at: String,
}

impl ContractRow {
    fn contract(self) -> Result<ServiceContract, StoreError> {
        let c = Cells::of("service_contracts", self.id);
        Ok(ServiceContract {
            id: self.id,
            plan_id: self.plan_id,
            plan_name: self.plan_name,
            customer_id: CustomerId(self.customer_id),
            asset_id: self.asset_id,
            serial: self.serial,
            product_name: self.product_name,
            order_id: self.order_id,
            order_number: self.order_number,
            starts_on: c.date("starts_on", &self.starts_on)?,
            ends_on: c.date("ends_on", &self.ends_on)?,
            covers: covers_of(&c, &self.covers)?,
            cancelled_at: c.opt_at("cancelled_at", self.cancelled_at.as_deref())?,
            created_at: c.at("created_at", &self.created_at)?,
        })
    }
}

const VOUCHER_COLS: &str = "v.id, v.code, v.customer_id, v.kind, v.value, v.max_discount, v.valid_from, v.valid_until, \
     v.source, v.request_id, r.number AS request_number, v.campaign_id, m.name AS campaign_name, \
     v.reason, v.issued_by, v.issued_at, v.order_id, o.number AS order_number, v.discount, \
     v.redeemed_at, v.cancelled_at, v.version \
     FROM vouchers v LEFT JOIN requests r ON r.id = v.request_id \
     LEFT JOIN campaigns m ON m.id = v.campaign_id LEFT JOIN orders o ON o.id = v.order_id";

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct VoucherRow {
    id: i64,
    code: String,
    customer_id: i64,
    kind: String,
    value: i64,
    max_discount: Option<i64>,
    valid_from: String,
    valid_until: String,
    source: String,
    request_id: Option<i64>,
    request_number: Option<String>,
    campaign_id: Option<i64>,
    campaign_name: Option<String>,
    reason: String,
    issued_by: String,
    issued_at: String,
    order_id: Option<i64>,
    order_number: Option<String>,
    discount: i64,
    redeemed_at: Option<String>,
    cancelled_at: Option<String>,
    version: i64,
}

/// A customer's vouchers, newest first.
pub(crate) fn vouchers_of_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        &format!("SELECT {VOUCHER_COLS} WHERE v.customer_id = $1 ORDER BY v.id DESC"),
        vec![V::I(customer_id.get())],
    )
}

/// Vouchers from the rows of [`vouchers_of_sql`].
pub(crate) fn vouchers_from(rows: Vec<VoucherRow>) -> StoreResult<Vec<Voucher>> {
    rows.into_iter().map(VoucherRow::voucher).collect()
}

/// Every maintenance schedule, by product name.
pub(crate) fn schedules_sql() -> Sql {
    Sql::new(
        "SELECT m.product_id, p.name AS product_name, m.every_months FROM maintenance_schedules m \
         JOIN products p ON p.id = m.product_id ORDER BY p.name, m.product_id",
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ScheduleRow {
    product_id: i64,
    product_name: String,
    every_months: i64,
}

/// Schedules from the rows of [`schedules_sql`].
pub(crate) fn schedules_from(rows: Vec<ScheduleRow>) -> Vec<MaintenanceSchedule> {
    rows.into_iter()
        .map(|r| MaintenanceSchedule {
            product_id: r.product_id,
            product_name: r.product_name,
            every_months: small(r.every_months),
        })
        .collect()
}

impl VoucherRow {
    fn voucher(self) -> Result<Voucher, StoreError> {
        let c = Cells::of("vouchers", self.id);
        Ok(Voucher {
            id: self.id,
            code: self.code,
            customer_id: CustomerId(self.customer_id),
            kind: c.code("kind", &self.kind)?,
            value: self.value,
            max_discount: self.max_discount,
            valid_from: c.date("valid_from", &self.valid_from)?,
            valid_until: c.date("valid_until", &self.valid_until)?,
            source: c.code("source", &self.source)?,
            request_id: self.request_id,
            request_number: self.request_number,
            campaign_id: self.campaign_id,
            campaign_name: self.campaign_name,
            reason: self.reason,
            issued_by: self.issued_by,
            issued_at: c.at("issued_at", &self.issued_at)?,
            order_id: self.order_id,
            order_number: self.order_number,
            discount: Money(self.discount),
            redeemed_at: c.opt_at("redeemed_at", self.redeemed_at.as_deref())?,
            cancelled_at: c.opt_at("cancelled_at", self.cancelled_at.as_deref())?,
            version: self.version,
        })
    }
}

/// The columns a voucher is inserted with, in [`voucher_values`]' order.
pub(crate) const VOUCHER_COLUMNS: &[&str] = &[
    "code",
    "customer_id",
    "kind",
    "value",
    "max_discount",
    "valid_from",
    "valid_until",
    "source",
    "request_id",
    "campaign_id",
    "reason",
    "issued_by",
    "issued_at",
    "discount",
    "version",
];

pub(crate) fn voucher_values(v: &Voucher) -> Vec<V> {
    vec![
        (&v.code).into(),
        V::I(v.customer_id.get()),
        v.kind.code().into(),
        V::I(v.value),
        V::OptI(v.max_discount),
        v.valid_from.to_string().into(),
        v.valid_until.to_string().into(),
        v.source.code().into(),
        V::OptI(v.request_id),
        V::OptI(v.campaign_id),
        (&v.reason).into(),
        (&v.issued_by).into(),
        stamp(v.issued_at).into(),
        V::I(0),
        V::I(1),
    ]
}

#[async_trait]
impl CareStore for SqlStore {
    async fn save_care_plan(&self, actor: &Actor, p: &CarePlan) -> StoreResult<i64> {
        let now = &stamp(p.created_at);
        let mut tx = self.begin().await?;
        let vals = [
            V::I(p.product_id),
            V::OptI(p.category_id),
            V::I(i64::from(p.months)),
            p.extends_warranty.into(),
            covers_text(&p.covers).into(),
            p.active.into(),
            now.into(),
        ];
        let id = if p.id == 0 {
            let mut v = vals.to_vec();
            v.push((&p.owner_name).into());
            insert_id(
                &mut *tx,
                "INSERT INTO care_plans (product_id, category_id, months, extends_warranty, covers, active, \
                 created_at, updated_at, owner_name, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 1) \
                 RETURNING id",
                &v,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict {
                    code: "already_exists",
                    ..
                } => StoreError::Conflict {
                    code: "plan_exists_for_product",
                    field: Some("product_id".into()),
                },
                e => e,
            })?
        } else {
            let mut v = vals.to_vec();
            v.push(V::I(p.id));
            v.push(V::I(p.version));
            let n = exec(
                &mut *tx,
                "UPDATE care_plans SET product_id = $1, category_id = $2, months = $3, extends_warranty = $4, \
                 covers = $5, active = $6, updated_at = $7, version = version + 1 WHERE id = $8 AND version = $9",
                &v,
            )
            .await?;
            if n == 0 {
                return Err(Self::missing_or_changed(&mut tx, "care_plans", p.id).await);
            }
            p.id
        };
        let after = json!({"product": p.product_name, "months": p.months, "covers": covers_text(&p.covers), "active": p.active});
        let action = if p.id == 0 { "create" } else { "update" };
        self.log(
            &mut tx,
            actor,
            action,
            "care_plan",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn care_plans(&self, active_only: bool) -> StoreResult<Vec<CarePlan>> {
        let filter = if active_only {
            " WHERE k.active = 1"
        } else {
            ""
        };
        let rows: Vec<PlanRow> = fetch_all(
            &self.db.read,
            &format!("SELECT {PLAN_COLS}{filter} ORDER BY p.name, k.id"),
            &[],
        )
        .await?;
        rows.into_iter().map(PlanRow::plan).collect()
    }

    async fn contracts(
        &self,
        customer_id: Option<CustomerId>,
        asset_id: Option<i64>,
    ) -> StoreResult<Vec<ServiceContract>> {
        let sql = contracts_sql(customer_id, asset_id);
        let rows: Vec<ContractRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        contracts_from(rows)
    }

    async fn recent_contracts(&self, limit: u32) -> StoreResult<Vec<ServiceContract>> {
        let rows: Vec<ContractRow> = fetch_all(
            &self.db.read,
            &format!("SELECT {CONTRACT_COLS} ORDER BY s.id DESC LIMIT $1"),
            &[V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter().map(ContractRow::contract).collect()
    }

    async fn cancel_contract(&self, actor: &Actor, id: i64, at: Timestamp) -> StoreResult<()> {
        let now = &stamp(at);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE service_contracts SET cancelled_at = $1 WHERE id = $2 AND cancelled_at IS NULL",
            &[now.into(), V::I(id)],
        )
        .await?;
        if n == 0 {
            // Cancelled already: nothing to do; no such contract: not found.
            return match scalar(
                &mut *tx,
                "SELECT id FROM service_contracts WHERE id = $1",
                &[V::I(id)],
            )
            .await?
            {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            };
        }
        self.log(
            &mut tx,
            actor,
            "cancel",
            "service_contract",
            id,
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn set_maintenance(
        &self,
        actor: &Actor,
        product_id: i64,
        every_months: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(at);
        let mut tx = self.begin().await?;
        match every_months {
            // One statement either way: two managers saving at once both succeed.
            Some(m) => {
                exec(
                    &mut *tx,
                    "INSERT INTO maintenance_schedules (product_id, every_months, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (product_id) DO UPDATE SET every_months = excluded.every_months, \
                     updated_at = excluded.updated_at",
                    &[V::I(product_id), V::I(i64::from(m)), now.into()],
                )
                .await?;
            }
            None => {
                exec(
                    &mut *tx,
                    "DELETE FROM maintenance_schedules WHERE product_id = $1",
                    &[V::I(product_id)],
                )
                .await?;
            }
        }
        let after = json!({"every_months": every_months});
        self.log(
            &mut tx,
            actor,
            "update",
            "maintenance_schedule",
            product_id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn maintenance_schedules(&self) -> StoreResult<Vec<MaintenanceSchedule>> {
        let sql = schedules_sql();
        let rows: Vec<ScheduleRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(schedules_from(rows))
    }

    async fn scheduled_items(
        &self,
        after_asset: i64,
        limit: u32,
    ) -> StoreResult<Vec<ScheduledItem>> {
        #[derive(sqlx::FromRow)]
        struct A {
            asset_id: i64,
            every_months: i64,
            received: String,
            last_service: Option<String>,
            product_name: String,
            id: i64,
            name: String,
            primary_email: Option<String>,
            consent: String,
            lang: Option<String>,
        }
        let rows: Vec<A> = fetch_all(
            &self.db.read,
            &format!(
                "SELECT a.id AS asset_id, m.every_months, COALESCE(a.delivered_on, a.purchased_on) AS received, \
                 (SELECT MAX(e.day) FROM asset_events e WHERE e.asset_id = a.id AND e.kind IN ('service', 'installed')) \
                 AS last_service, p.name AS product_name, c.id, c.name, c.primary_email, c.consent, c.lang \
                 FROM assets a JOIN maintenance_schedules m ON m.product_id = a.product_id \
                 JOIN products p ON p.id = a.product_id JOIN customers c ON c.id = a.customer_id \
                 WHERE a.id > $1 AND {REACHABLE} \
                 AND NOT EXISTS (SELECT 1 FROM asset_events e WHERE e.asset_id = a.id \
                     AND e.kind IN ('exchanged_out', 'returned')) \
                 ORDER BY a.id LIMIT $2"
            ),
            &[V::I(after_asset), V::I(i64::from(limit))],
        )
        .await?;
        rows.into_iter()
            .map(|a| {
                let cells = Cells::of("assets", a.asset_id);
                let received = cells.date("purchased_on", &a.received)?;
                let last_service = cells.opt_date("asset_events.day", a.last_service.as_deref())?;
                let mut r = recipient(
                    (a.id, a.name, a.primary_email, a.consent, a.lang),
                    format!("asset:{}", a.asset_id),
                    Timestamp::UNIX_EPOCH,
                );
                r.product_name = Some(a.product_name);
                Ok(ScheduledItem {
                    asset_id: a.asset_id,
                    every_months: small(a.every_months),
                    received,
                    last_service,
                    recipient: r,
                })
            })
            .collect()
    }

    async fn issue_vouchers(&self, actor: &Actor, vs: &[Voucher]) -> StoreResult<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(vs.len());
        for v in vs {
            let vals = voucher_values(v);
            let marks: Vec<String> = (1..=vals.len()).map(|n| format!("${n}")).collect();
            let id = insert_id(
                &mut *tx,
                &format!(
                    "INSERT INTO vouchers ({}) VALUES ({}) RETURNING id",
                    VOUCHER_COLUMNS.join(", "),
                    marks.join(", ")
                ),
                &vals,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict {
                    code: "already_exists",
                    ..
                } => StoreError::Conflict {
                    code: "voucher_code_taken",
                    field: Some("code".into()),
                },
                e => e,
            })?;
            let now = stamp(v.issued_at);
            let after = json!({"customer_id": v.customer_id, "kind": v.kind.code(), "value": v.value,
                "valid_until": v.valid_until.to_string(), "request_id": v.request_id, "reason": v.reason});
            self.log(
                &mut tx,
                actor,
                "create",
                "voucher",
                id,
                None,
                Some(&after),
                &now,
            )
            .await?;
            let value = match v.kind {
                VoucherKind::Amount => {
                    format!("¥{}", aftercare_domain::catalog::format_money(v.value))
                }
                VoucherKind::Percent => format!("{}%", v.value),
            };
            let summary = format!("{} · {value} · {}", v.code, v.reason);
            self.timeline_add(
                &mut tx,
                v.customer_id.get(),
                &now,
                "voucher",
                None,
                Some(id),
                &summary,
                actor,
            )
            .await?;
            ids.push(id);
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(ids)
    }

    async fn voucher(&self, id: i64) -> StoreResult<Option<Voucher>> {
        let r: Option<VoucherRow> = fetch_opt(
            &self.db.read,
            &format!("SELECT {VOUCHER_COLS} WHERE v.id = $1"),
            &[V::I(id)],
        )
        .await?;
        r.map(VoucherRow::voucher).transpose()
    }

    async fn voucher_by_code(
        &self,
        customer_id: CustomerId,
        code: &str,
    ) -> StoreResult<Option<Voucher>> {
        let r: Option<VoucherRow> = fetch_opt(
            &self.db.read,
            &format!("SELECT {VOUCHER_COLS} WHERE v.customer_id = $1 AND v.code = $2"),
            &[V::I(customer_id.get()), code.into()],
        )
        .await?;
        r.map(VoucherRow::voucher).transpose()
    }

    async fn vouchers_of(&self, customer_id: CustomerId) -> StoreResult<Vec<Voucher>> {
        let sql = vouchers_of_sql(customer_id);
        let rows: Vec<VoucherRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        vouchers_from(rows)
    }

    async fn cancel_voucher(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(at);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE vouchers SET cancelled_at = $1, version = version + 1 \
             WHERE id = $2 AND version = $3 AND order_id IS NULL AND cancelled_at IS NULL",
            &[now.into(), V::I(id), V::I(version)],
        )
        .await?;
        if n == 0 {
            return Err(Self::missing_or_changed(&mut tx, "vouchers", id).await);
        }
        self.log(&mut tx, actor, "cancel", "voucher", id, None, None, now)
            .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }
}
