//! The `OrderStore` port over SQL: orders, assets and their usage archives.

use crate::customer_rows::{self as customers};
use crate::db::*;
use crate::order_rows::*;
use crate::store::*;
use aftercare_app::StoreError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::catalog::{VoidCondition, WarrantyPolicy, format_money};
use aftercare_domain::ids::*;
use aftercare_domain::{Money, ProductId};
use async_trait::async_trait;
use serde_json::json;

#[async_trait]
impl OrderStore for SqlStore {
    async fn create_orders(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<OrderId>> {
        self.write_orders(actor, drafts, None, now).await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        let Some(o): Option<OrderRec> = fetch_opt(
            &self.db.read,
            "SELECT o.id, o.number, o.customer_id, c.name AS customer_name, o.channel, o.outlet_id, t.name AS outlet_name, \
             o.ordered_on, o.status, o.currency, o.discount, o.total, o.payment_terms, o.special_needs, o.created_at \
             FROM orders o JOIN customers c ON c.id = o.customer_id LEFT JOIN outlets t ON t.id = o.outlet_id WHERE o.id = $1",
            &[V::I(id.get())],
        )
        .await?
        else {
            return Ok(None);
        };
        let items: Vec<ItemRec> = fetch_all(
            &self.db.read,
            "SELECT i.id, i.product_id, p.sku, p.name AS product_name, i.quantity, i.unit_price, i.discount, i.amount \
             FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = $1 ORDER BY i.id",
            &[V::I(id.get())],
        )
        .await?;
        let serials: Vec<(i64, String)> = fetch_all(
            &self.db.read,
            "SELECT order_item_id, serial FROM assets WHERE order_id = $1 ORDER BY id",
            &[V::I(id.get())],
        )
        .await?;
        let items = items
            .into_iter()
            .map(|i| OrderItem {
                serials: serials
                    .iter()
                    .filter(|(item, _)| *item == i.id)
                    .map(|(_, s)| s.clone())
                    .collect(),
                id: i.id,
                product_id: ProductId(i.product_id),
                sku: i.sku,
                product_name: i.product_name,
                quantity: i.quantity,
                unit_price: Money(i.unit_price),
                discount: Money(i.discount),
                amount: Money(i.amount),
            })
            .collect();
        o.with_items(items).map(Some)
    }

    async fn orders(&self, q: &OrderQuery) -> StoreResult<Page<OrderRow>> {
        let (sql, col, limit) = orders_sql(q)?;
        let rows: Vec<OrderPageRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        orders_from(rows, col, limit)
    }

    async fn asset(&self, id: AssetId) -> StoreResult<Option<Asset>> {
        let [item, archive] = asset_sql(id);
        let r: Vec<AssetRec> = fetch_all(&self.db.read, &item.text, &item.args).await?;
        if r.is_empty() {
            return Ok(None);
        }
        let ev: Vec<AssetEventRec> = fetch_all(&self.db.read, &archive.text, &archive.args).await?;
        asset_from(r, ev)
    }

    async fn known_order_refs(&self, refs: &[String]) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for chunk in refs.chunks(IN_CHUNK) {
            let mut sql =
                Sql::new("SELECT external_ref FROM orders WHERE external_ref IS NOT NULL");
            in_list(&mut sql, "external_ref", chunk);
            let rows: Vec<(String,)> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
            out.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(out)
    }

    async fn asset_by_serial(&self, serial: &str) -> StoreResult<Option<AssetId>> {
        scalar(
            &self.db.read,
            "SELECT id FROM assets WHERE serial = $1",
            &[serial.into()],
        )
        .await
        .map(|id| id.map(AssetId))
    }

    async fn assets_of(&self, customer_id: CustomerId) -> StoreResult<Vec<Asset>> {
        let [items, archives] = assets_sql(customer_id);
        let r: Vec<AssetRec> = fetch_all(&self.db.read, &items.text, &items.args).await?;
        let ev: Vec<AssetEv> = fetch_all(&self.db.read, &archives.text, &archives.args).await?;
        assets_from(r, ev)
    }

    async fn products_of_assets(
        &self,
        asset_ids: &[AssetId],
    ) -> StoreResult<Vec<(AssetId, ProductId)>> {
        let mut out = Vec::with_capacity(asset_ids.len());
        for chunk in asset_ids.chunks(IN_CHUNK) {
            let mut q = Sql::new("SELECT id, product_id FROM assets WHERE 1 = 1");
            in_list(&mut q, "id", chunk);
            let rows: Vec<(i64, i64)> = fetch_all(&self.db.read, &q.text, &q.args).await?;
            out.extend(rows.into_iter().map(|(a, p)| (AssetId(a), ProductId(p))));
        }
        Ok(out)
    }

    async fn asset_policies(
        &self,
        asset_ids: &[AssetId],
    ) -> StoreResult<Vec<(AssetId, WarrantyPolicy)>> {
        let mut out = Vec::with_capacity(asset_ids.len());
        for chunk in asset_ids.chunks(IN_CHUNK) {
            let mut q = Sql::new(ASSET_POLICIES);
            in_list(&mut q, "a.id", chunk);
            let rows: Vec<AssetPolicyRec> = fetch_all(&self.db.read, &q.text, &q.args).await?;
            out.extend(policies_from(rows)?);
        }
        Ok(out)
    }

    async fn add_asset_events(
        &self,
        actor: &Actor,
        items: &[(AssetId, AssetEventDraft)],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, now, items) =
            (self.clone(), actor.clone(), now.to_string(), items.to_vec());
        self.db
            .write_job(move |tx| {
                let (me, actor, now, items) = (me.clone(), actor.clone(), now.clone(), items.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let items = items.as_slice();
        let mut ids = Vec::with_capacity(items.len());
        for (asset_id, d) in items {
            let asset_id = *asset_id;
            let Some(customer_id) = scalar(
                &mut *tx,
                "SELECT customer_id FROM assets WHERE id = $1",
                &[V::I(asset_id.get())],
            )
            .await?
            else {
                return Err(StoreError::NotFound);
            };
            let id = insert_id(
            &mut *tx,
            "INSERT INTO asset_events (asset_id, day, kind, void_condition, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[V::I(asset_id.get()), d.day.to_string().into(), d.kind.into(), d.void_condition.map(|c| c.code()).into(), (&d.note).into(), V::OptI(actor.user_id.map(UserId::get)), now.into()],
        )
        .await?;
            if d.kind == "installed" {
                exec(
                    &mut *tx,
                    "UPDATE assets SET installed_on = COALESCE(installed_on, $1) WHERE id = $2",
                    &[d.day.to_string().into(), V::I(asset_id.get())],
                )
                .await?;
            }
            let after = json!({"asset_id": asset_id, "kind": d.kind, "day": d.day.to_string(), "void_condition": d.void_condition.map(|c| c.code()), "note": d.note});
            me.log(
                &mut *tx,
                actor,
                "create",
                "asset_event",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            let serial: Vec<(String,)> = fetch_all(
                &mut *tx,
                "SELECT serial FROM assets WHERE id = $1",
                &[V::I(asset_id.get())],
            )
            .await?;
            let serial = serial.into_iter().next().map(|s| s.0).unwrap_or_default();
            let summary = format!(
                "{serial} · {}{}",
                d.kind,
                d.void_condition
                    .map(|c| format!(" ({})", c.code()))
                    .unwrap_or_default()
            );
            me.timeline_add(
                &mut *tx,
                customer_id,
                now,
                "asset",
                Some("field_visit")
                    .filter(|_| d.kind == "installed" || d.kind == "repair" || d.kind == "service"),
                Some(asset_id.get()),
                &summary,
                actor,
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
                })
            })
            .await
    }
}

impl SqlStore {
    /// Orders in one transaction; with `step`, as a step of an import run.
    pub(crate) async fn write_orders(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        step: Option<ImportStep>,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<OrderId>> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, now, drafts) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            drafts.to_vec(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, drafts) = (me.clone(), actor.clone(), now.clone(), drafts.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let drafts = drafts.as_slice();
                if let Some(step) = step {
                    let keys = crate::imports::order_keys(drafts);
                    crate::imports::take_step(&mut *tx, step, &keys, now).await?;
                }
        let mut ids = Vec::new();
        for d in drafts {
            if !me.customer_exists(&mut *tx, d.customer_id.get()).await? {
                return Err(StoreError::Conflict {
                    code: "not_found",
                    field: Some("customer_id".into()),
                });
            }
            let placeholder = format!("pending-{}", crate::db::encode_cursor(now, d.customer_id.get()));
            let id = insert_id(
                &mut *tx,
                "INSERT INTO orders (number, customer_id, channel, outlet_id, ordered_on, status, currency, discount, total, \
                 payment_terms, special_needs, created_by, created_at, external_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                &[placeholder.into(), V::I(d.customer_id.get()), d.channel.code().into(), V::OptI(d.outlet_id.map(OutletId::get)), d.ordered_on.to_string().into(), d.status.code().into(), (&d.currency).into(), V::I(d.discount), V::I(d.total()), (&d.payment_terms).into(), (&d.special_needs).into(), V::OptI(actor.user_id.map(UserId::get)), now.into(), V::OptT(d.external_ref.clone())],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "ref_taken", field: Some("external_ref".into()) },
                e => e,
            })?;
            let number = format!("SO-{}-{id:06}", d.ordered_on.year());
            exec(
                &mut *tx,
                "UPDATE orders SET number = $1 WHERE id = $2",
                &[number.clone().into(), V::I(id)],
            )
            .await?;
            let mut serials = Vec::new();
            for line in &d.lines {
                let item_id = insert_id(
                    &mut *tx,
                    "INSERT INTO order_items (order_id, product_id, quantity, unit_price, discount, amount) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[V::I(id), V::I(line.product_id.get()), V::I(line.quantity as i64), V::I(line.unit_price), V::I(line.discount), V::I(line.amount())],
                )
                .await?;
                for s in &line.serials {
                    let asset_id = insert_id(
                        &mut *tx,
                        "INSERT INTO assets (serial, product_id, customer_id, order_id, order_item_id, purchased_on, delivered_on, installed_on, location, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &[s.into(), V::I(line.product_id.get()), V::I(d.customer_id.get()), V::I(id), V::I(item_id), d.ordered_on.to_string().into(), d.delivered_on.map(|x| x.to_string()).into(), d.installed_on.map(|x| x.to_string()).into(), (&d.location).into(), now.into()],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "serial_taken", field: Some("serials".into()) },
                        e => e,
                    })?;
                    if let Some(inst) = d.installed_on {
                        exec(&mut *tx, "INSERT INTO asset_events (asset_id, day, kind, created_by, created_at) VALUES ($1, $2, 'installed', $3, $4)", &[V::I(asset_id), inst.to_string().into(), V::OptI(actor.user_id.map(UserId::get)), now.into()]).await?;
                    }
                    me.log(&mut *tx, actor, "create", "asset", asset_id, None, Some(&json!({"serial": s, "product_id": line.product_id, "customer_id": d.customer_id, "order_id": id})), now).await?;
                    serials.push(s.clone());
                }
            }
            // The voucher it uses, once: the first order to set it wins, a second one
            // (another server, a double submit) finds it taken and writes nothing.
            if let Some(v) = d.voucher {
                let n = exec(
                    &mut *tx,
                    "UPDATE vouchers SET order_id = $1, discount = $2, redeemed_at = $3, version = version + 1 \
                     WHERE id = $4 AND customer_id = $5 AND order_id IS NULL AND cancelled_at IS NULL",
                    &[V::I(id), V::I(v.discount), now.into(), V::I(v.voucher_id), V::I(d.customer_id.get())],
                )
                .await?;
                if n == 0 {
                    return Err(StoreError::Conflict { code: "voucher_used", field: Some("voucher_code".into()) });
                }
                me.log(&mut *tx, actor, "redeem", "voucher", v.voucher_id, None, Some(&json!({"order_id": id, "discount": v.discount})), now).await?;
            }
            for c in &d.contracts {
                // One contract at a time on an item, also when two orders race: the item is
                // locked (PostgreSQL; SQLite has one writer) and checked again here.
                if me.db.backend == Backend::Postgres {
                    scalar(&mut *tx, "SELECT id FROM assets WHERE id = $1 FOR UPDATE", &[V::I(c.asset_id)]).await?;
                }
                let clash = scalar(
                    &mut *tx,
                    "SELECT id FROM service_contracts WHERE asset_id = $1 AND cancelled_at IS NULL \
                     AND starts_on <= $2 AND ends_on >= $3",
                    &[V::I(c.asset_id), c.ends_on.to_string().into(), c.starts_on.to_string().into()],
                )
                .await?;
                if clash.is_some() {
                    return Err(StoreError::Conflict { code: "item_already_covered", field: Some("asset_id".into()) });
                }
                let cid = insert_id(
                    &mut *tx,
                    "INSERT INTO service_contracts (plan_id, customer_id, asset_id, order_id, starts_on, ends_on, covers, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    &[V::I(c.plan_id), V::I(d.customer_id.get()), V::I(c.asset_id), V::I(id), c.starts_on.to_string().into(), c.ends_on.to_string().into(), crate::care::covers_text(&c.covers).into(), now.into()],
                )
                .await?;
                me.log(&mut *tx, actor, "create", "service_contract", cid, None, Some(&json!({"asset_id": c.asset_id, "plan_id": c.plan_id, "order_id": id, "starts_on": c.starts_on.to_string(), "ends_on": c.ends_on.to_string()})), now).await?;
            }
            let after = json!({"number": number, "customer_id": d.customer_id, "channel": d.channel.code(), "total": d.total(), "currency": d.currency, "serials": serials});
            me.log(
                &mut *tx,
                actor,
                "create",
                "order",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            let summary = format!("{number} · {} {}", d.currency, format_money(d.total()));
            let at = if *d.ordered_on.to_string() < now[..10] {
                format!("{}T12:00:00.000000Z", d.ordered_on)
            } else {
                now.to_string()
            };
            me.timeline_add(
                &mut *tx,
                d.customer_id.get(),
                &at,
                "order",
                Some(d.channel.touchpoint().code()),
                Some(id),
                &summary,
                actor,
            )
            .await?;
            ids.push(OrderId(id));
        }
        let customers: Vec<i64> = drafts.iter().map(|d| d.customer_id.get()).collect();
        crate::purchases::refresh(&mut *tx, me.db.backend, &customers).await?;
        Ok(ids)
                })
            })
            .await
    }
}

/// A policy row as the 三包 rules read it. Every value counts: one that does not parse is a
/// damaged row, reported as such, never a void condition silently left out.
fn policy_of(p: &PolicyRec) -> Result<WarrantyPolicy, StoreError> {
    let c = Cells::of("warranty_policies", p.id);
    Ok(WarrantyPolicy {
        return_days: p.return_days as u32,
        exchange_days: p.exchange_days as u32,
        repair_months: p.repair_months as u32,
        repair_limit: p.repair_limit as u32,
        void_conditions: customers::split_list(&p.void_conditions)
            .iter()
            .map(|v| c.code::<VoidCondition>("void_conditions", v))
            .collect::<Result<_, _>>()?,
    })
}

/// The statement that reads a page of orders, with the sort column and page size
/// [`orders_from`] needs.
pub(crate) fn orders_sql(q: &OrderQuery) -> StoreResult<(Sql, &'static str, u32)> {
    let limit = q.limit.unwrap_or(50);
    let (col, desc) = sort_spec(
        q.sort.as_deref(),
        &[
            ("-ordered", "ordered_on", true),
            ("ordered", "ordered_on", false),
            ("-total", "total_key", true),
            ("total", "total_key", false),
        ],
        0,
    )?;
    let mut sql = Sql::new(
        "SELECT * FROM (SELECT o.id, o.id AS x_id, o.number, o.customer_id, c.name AS customer_name, o.channel, o.ordered_on, o.status, o.currency, o.total, \
         SUBSTR('0000000000000000' || CAST(o.total AS TEXT), LENGTH(CAST(o.total AS TEXT)) + 1, 16) AS total_key \
         FROM orders o JOIN customers c ON c.id = o.customer_id WHERE 1 = 1",
    );
    if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let up = s.to_uppercase();
        sql.push(" AND (o.number >= ")
            .bind(up.clone())
            .push(" AND o.number < ")
            .bind(prefix_end(&up));
        sql.push(" OR o.id IN (SELECT order_id FROM assets WHERE serial = ")
            .bind(up)
            .push("))");
    }
    if let Some(c) = q.channel.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND o.channel = ").bind(c);
    }
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND o.status = ").bind(s);
    }
    if let Some(c) = q.customer_id {
        sql.push(" AND o.customer_id = ").bind(c);
    }
    sql.push(") t WHERE 1 = 1");
    keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
    Ok((sql, col, limit))
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct OrderPageRec {
    #[sqlx(flatten)]
    #[serde(flatten)]
    o: OrderRowRec,
    total_key: String,
}

/// A page of orders from the rows of [`orders_sql`]'s statement.
pub(crate) fn orders_from(
    rows: Vec<OrderPageRec>,
    col: &str,
    limit: u32,
) -> StoreResult<Page<OrderRow>> {
    let page = next_page(rows, limit, |r| {
        (
            if col == "total_key" {
                r.total_key.clone()
            } else {
                r.o.ordered_on.clone()
            },
            r.o.id,
        )
    });
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|r| r.o.try_into())
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// The two statements that read a customer's items, newest first, and the items' usage
/// archives (offers, maintenance and 三包 read them); [`assets_from`] puts them together.
pub(crate) fn assets_sql(customer_id: CustomerId) -> [Sql; 2] {
    [
        Sql::with(
            &format!(
                "SELECT {ASSET_COLS} {ASSET_FROM} WHERE a.customer_id = $1 ORDER BY a.purchased_on DESC, a.id DESC"
            ),
            vec![V::I(customer_id.get())],
        ),
        Sql::with(
            "SELECT e.asset_id, e.id, e.day, e.kind, e.void_condition, e.note, e.created_at FROM asset_events e \
             JOIN assets a ON a.id = e.asset_id WHERE a.customer_id = $1 ORDER BY e.day DESC, e.id DESC",
            vec![V::I(customer_id.get())],
        ),
    ]
}

/// One entry of an item's usage archive, with the item it is about.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct AssetEv {
    asset_id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    e: AssetEventRec,
}

/// A customer's items from the rows of [`assets_sql`]'s two statements.
pub(crate) fn assets_from(items: Vec<AssetRec>, archives: Vec<AssetEv>) -> StoreResult<Vec<Asset>> {
    let mut assets: Vec<Asset> = items
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_, _>>()?;
    let at: std::collections::HashMap<i64, usize> = assets
        .iter()
        .enumerate()
        .map(|(n, a)| (a.id.get(), n))
        .collect();
    for AssetEv { asset_id, e } in archives {
        if let Some(&n) = at.get(&asset_id) {
            assets[n].events.push(e.try_into()?);
        }
    }
    Ok(assets)
}

/// The statements [`OrderStore::asset`] reads: the item, then its usage archive.
pub(crate) fn asset_sql(id: AssetId) -> [Sql; 2] {
    [
        Sql::with(
            &format!("SELECT {ASSET_COLS} {ASSET_FROM} WHERE a.id = $1"),
            vec![V::I(id.get())],
        ),
        Sql::with(
            "SELECT id, day, kind, void_condition, note, created_at FROM asset_events \
             WHERE asset_id = $1 ORDER BY day DESC, id DESC",
            vec![V::I(id.get())],
        ),
    ]
}

/// An item with its usage archive from the rows of [`asset_sql`].
pub(crate) fn asset_from(
    item: Vec<AssetRec>,
    archive: Vec<AssetEventRec>,
) -> StoreResult<Option<Asset>> {
    let Some(r) = item.into_iter().next() else {
        return Ok(None);
    };
    let mut a: Asset = r.try_into()?;
    a.events = archive
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_, _>>()?;
    Ok(Some(a))
}

/// The statement that reads one item's warranty policy, as [`ASSET_POLICIES`] rows.
pub(crate) fn asset_policy_sql(id: AssetId) -> Sql {
    let mut q = Sql::new(ASSET_POLICIES);
    q.push(" AND a.id = ").bind(id.get());
    q
}

/// Each item's warranty policy: its product's, else its category's.
const ASSET_POLICIES: &str = "SELECT a.id AS asset_id, w.id, w.name, w.return_days, w.exchange_days, w.repair_months, w.repair_limit, w.void_conditions \
     FROM assets a JOIN products p ON p.id = a.product_id JOIN product_categories c ON c.id = p.category_id \
     JOIN warranty_policies w ON w.id = COALESCE(p.policy_id, c.policy_id) WHERE 1 = 1";

/// The statement that reads the warranty policy of each of a customer's items.
pub(crate) fn customer_policies_sql(customer_id: CustomerId) -> Sql {
    let mut q = Sql::new(ASSET_POLICIES);
    q.push(" AND a.customer_id = ").bind(customer_id.get());
    q
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct AssetPolicyRec {
    asset_id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    p: PolicyRec,
}

/// Items' policies from rows of [`ASSET_POLICIES`].
pub(crate) fn policies_from(
    rows: Vec<AssetPolicyRec>,
) -> StoreResult<Vec<(AssetId, WarrantyPolicy)>> {
    rows.into_iter()
        .map(|r| Ok((AssetId(r.asset_id), policy_of(&r.p)?)))
        .collect()
}
