//! The `OfferStore` port over SQL: offers and what customers answered to them.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::campaign_model::*;
use aftercare_app::ports::{OfferStore, StoreResult, stamp};
use aftercare_app::service::Actor;
use aftercare_domain::{CustomerId, UserId};
use async_trait::async_trait;
use serde_json::json;

const OFFER_COLS: &str = "o.id, o.name, o.kind, o.category_id, o.within_days, o.min_repairs, o.months, \
     o.text_id, t.name AS text_name, o.product_id, p.name AS product_name, o.window_days, o.active, \
     o.owner_name, o.created_at, o.version FROM offers o JOIN message_texts t ON t.id = o.text_id \
     LEFT JOIN products p ON p.id = o.product_id";

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct Row {
    id: i64,
    name: String,
    kind: String,
    category_id: Option<i64>,
    within_days: i64,
    min_repairs: i64,
    months: i64,
    text_id: i64,
    text_name: String,
    product_id: Option<i64>,
    product_name: Option<String>,
    window_days: i64,
    active: i64,
    owner_name: String,
    created_at: String,
    version: i64,
}

fn small(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

/// The offers, by name; with `active_only`, those in force.
pub(crate) fn offers_sql(active_only: bool) -> Sql {
    let filter = if active_only {
        " WHERE o.active = 1"
    } else {
        ""
    };
    Sql::new(&format!(
        "SELECT {OFFER_COLS}{filter} ORDER BY o.name, o.id"
    ))
}

/// Offers from the rows of [`offers_sql`].
pub(crate) fn offers_from(rows: Vec<Row>) -> StoreResult<Vec<Offer>> {
    rows.into_iter().map(Row::offer).collect()
}

/// What a customer answered to offers, newest first.
pub(crate) fn responses_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        &format!("SELECT {RESPONSE_COLS} WHERE customer_id = $1 ORDER BY at DESC, id DESC"),
        vec![V::I(customer_id.get())],
    )
}

/// Answers from the rows of [`responses_sql`].
pub(crate) fn responses_from(rows: Vec<ResponseRow>) -> StoreResult<Vec<OfferResponseRow>> {
    rows.into_iter().map(ResponseRow::row).collect()
}

impl Row {
    fn offer(self) -> Result<Offer, StoreError> {
        let c = Cells::of("offers", self.id);
        Ok(Offer {
            id: self.id,
            kind: c.code("kind", &self.kind)?,
            created_at: c.at("created_at", &self.created_at)?,
            name: self.name,
            category_id: self.category_id,
            within_days: small(self.within_days),
            min_repairs: small(self.min_repairs),
            months: small(self.months),
            text_id: self.text_id,
            text_name: self.text_name,
            product_id: self.product_id,
            product_name: self.product_name,
            window_days: small(self.window_days),
            active: self.active != 0,
            owner_name: self.owner_name,
            version: self.version,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ResponseRow {
    id: i64,
    offer_id: i64,
    customer_id: i64,
    asset_id: Option<i64>,
    request_id: Option<i64>,
    response: String,
    user_id: Option<i64>,
    user_name: String,
    outlet_id: Option<i64>,
    at: String,
}

impl ResponseRow {
    fn row(self) -> Result<OfferResponseRow, StoreError> {
        let c = Cells::of("offer_responses", self.id);
        Ok(OfferResponseRow {
            id: self.id,
            offer_id: self.offer_id,
            customer_id: CustomerId(self.customer_id),
            asset_id: self.asset_id,
            request_id: self.request_id,
            response: c.code("response", &self.response)?,
            user_id: self.user_id,
            user_name: self.user_name,
            outlet_id: self.outlet_id,
            at: c.at("at", &self.at)?,
        })
    }
}

const RESPONSE_COLS: &str = "id, offer_id, customer_id, asset_id, request_id, response, user_id, \
     user_name, outlet_id, at FROM offer_responses";

#[async_trait]
impl OfferStore for SqlStore {
    async fn save_offer(&self, actor: &Actor, o: &Offer) -> StoreResult<i64> {
        let now = &stamp(o.created_at);
        let mut tx = self.begin().await?;
        let vals = [
            V::from(o.name.as_str()),
            o.kind.code().into(),
            V::OptI(o.category_id),
            V::I(i64::from(o.within_days)),
            V::I(i64::from(o.min_repairs)),
            V::I(i64::from(o.months)),
            V::I(o.text_id),
            V::OptI(o.product_id),
            V::I(i64::from(o.window_days)),
            o.active.into(),
            now.into(),
        ];
        let id = if o.id == 0 {
            let mut v = vals.to_vec();
            v.push((&o.owner_name).into());
            insert_id(
                &mut *tx,
                "INSERT INTO offers (name, kind, category_id, within_days, min_repairs, months, text_id, \
                 product_id, window_days, active, created_at, updated_at, owner_name, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, 1) RETURNING id",
                &v,
            )
            .await?
        } else {
            let mut v = vals.to_vec();
            v.push(V::I(o.id));
            v.push(V::I(o.version));
            let n = exec(
                &mut *tx,
                "UPDATE offers SET name = $1, kind = $2, category_id = $3, within_days = $4, min_repairs = $5, \
                 months = $6, text_id = $7, product_id = $8, window_days = $9, active = $10, updated_at = $11, \
                 version = version + 1 WHERE id = $12 AND version = $13",
                &v,
            )
            .await?;
            if n == 0 {
                return Err(Self::missing_or_changed(&mut tx, "offers", o.id).await);
            }
            o.id
        };
        let after = json!({"name": o.name, "kind": o.kind.code(), "active": o.active});
        let action = if o.id == 0 { "create" } else { "update" };
        self.log(&mut tx, actor, action, "offer", id, None, Some(&after), now)
            .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn offer(&self, id: i64) -> StoreResult<Option<Offer>> {
        let r: Option<Row> = fetch_opt(
            &self.db.read,
            &format!("SELECT {OFFER_COLS} WHERE o.id = $1"),
            &[V::I(id)],
        )
        .await?;
        r.map(Row::offer).transpose()
    }

    async fn offers(&self, active_only: bool) -> StoreResult<Vec<Offer>> {
        let sql = offers_sql(active_only);
        let rows: Vec<Row> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        offers_from(rows)
    }

    async fn record_offer_response(&self, actor: &Actor, r: &OfferResponseRow) -> StoreResult<i64> {
        let now = &stamp(r.at);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO offer_responses (offer_id, customer_id, asset_id, request_id, response, user_id, \
             user_name, outlet_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                V::I(r.offer_id),
                V::I(r.customer_id.get()),
                V::OptI(r.asset_id),
                V::OptI(r.request_id),
                r.response.code().into(),
                V::OptI(actor.user_id.map(UserId::get)),
                (&r.user_name).into(),
                V::OptI(r.outlet_id),
                now.into(),
            ],
        )
        .await?;
        let name: Option<(String,)> = fetch_opt(
            &mut *tx,
            "SELECT name FROM offers WHERE id = $1",
            &[V::I(r.offer_id)],
        )
        .await?;
        let name = name.map(|n| n.0).unwrap_or_default();
        self.timeline_add(
            &mut tx,
            r.customer_id.get(),
            now,
            "offer",
            None,
            Some(id),
            &format!("{name}: {}", r.response.code()),
            actor,
        )
        .await?;
        let after = json!({"offer_id": r.offer_id, "customer_id": r.customer_id.get(),
            "asset_id": r.asset_id, "response": r.response.code()});
        self.log(
            &mut tx,
            actor,
            "create",
            "offer_response",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn offer_responses(&self, customer_id: CustomerId) -> StoreResult<Vec<OfferResponseRow>> {
        let sql = responses_sql(customer_id);
        let rows: Vec<ResponseRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        responses_from(rows)
    }

    async fn offer_activity(&self, since: jiff::Timestamp) -> StoreResult<OfferActivity> {
        let since = stamp(since);
        let rows: Vec<ResponseRow> = fetch_all(
            &self.db.read,
            &format!("SELECT {RESPONSE_COLS} WHERE at >= $1 ORDER BY id"),
            &[since.as_str().into()],
        )
        .await?;
        let orders: Vec<(i64, i64, String, String, i64)> = fetch_all(
            &self.db.read,
            "SELECT o.id, o.customer_id, o.created_at, o.ordered_on, o.total FROM orders o \
             WHERE o.status <> 'cancelled' AND o.created_at >= $1 AND o.customer_id IN \
             (SELECT customer_id FROM offer_responses WHERE response = 'accepted' AND at >= $1)",
            &[since.as_str().into()],
        )
        .await?;
        let items: Vec<(i64, i64)> = fetch_all(
            &self.db.read,
            "SELECT i.order_id, i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id \
             WHERE o.status <> 'cancelled' AND o.created_at >= $1 AND o.customer_id IN \
             (SELECT customer_id FROM offer_responses WHERE response = 'accepted' AND at >= $1)",
            &[since.as_str().into()],
        )
        .await?;
        let mut a = OfferActivity {
            responses: rows
                .into_iter()
                .map(ResponseRow::row)
                .collect::<Result<_, _>>()?,
            orders: vec![],
        };
        let mut products_of: std::collections::HashMap<i64, Vec<i64>> = Default::default();
        for (order, product) in items {
            products_of.entry(order).or_default().push(product);
        }
        for (id, customer, at, on, total) in orders {
            let products = products_of.remove(&id).unwrap_or_default();
            let c = Cells::of("orders", id);
            a.orders.push((
                CustomerId(customer),
                c.at("created_at", &at)?,
                c.date("ordered_on", &on)?,
                total,
                products,
            ));
        }
        Ok(a)
    }
}
