//! The `CatalogueStore` port over SQL: warranty policies, categories, products and outlets.

use crate::db::*;
use crate::order_rows::*;
use crate::store::*;
use aftercare_app::StoreError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::catalog::WarrantyPolicy;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;

/// The statement [`CatalogueStore::categories`] reads.
pub(crate) fn categories_sql() -> Sql {
    Sql::new(
        "SELECT id, name, parent_id, policy_id, certification_required FROM product_categories ORDER BY id",
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct CategoryRec {
    id: i64,
    name: String,
    parent_id: Option<i64>,
    policy_id: Option<i64>,
    certification_required: i64,
}

/// Categories from the rows of [`categories_sql`].
pub(crate) fn categories_from(rows: Vec<CategoryRec>) -> Vec<Category> {
    rows.into_iter()
        .map(|r| Category {
            id: CategoryId(r.id),
            name: r.name,
            parent_id: r.parent_id.map(CategoryId),
            policy_id: r.policy_id.map(PolicyId),
            certification_required: r.certification_required != 0,
        })
        .collect()
}

/// The statement that reads the product of an item, as [`ProductRec`] rows.
pub(crate) fn product_of_asset_sql(asset: AssetId) -> Sql {
    Sql::with(
        &format!(
            "SELECT {PRODUCT_COLS} FROM products p JOIN product_categories c ON c.id = p.category_id \
             WHERE p.id = (SELECT product_id FROM assets WHERE id = $1)"
        ),
        vec![V::I(asset.get())],
    )
}

/// A product from the rows of [`product_of_asset_sql`].
pub(crate) fn product_from(rows: Vec<ProductRec>) -> StoreResult<Option<Product>> {
    rows.into_iter().next().map(TryInto::try_into).transpose()
}

#[async_trait]
impl CatalogueStore for SqlStore {
    async fn create_policy(
        &self,
        actor: &Actor,
        name: &str,
        p: &WarrantyPolicy,
        now: jiff::Timestamp,
    ) -> StoreResult<PolicyId> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let voids = p
            .void_conditions
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(",");
        let id = insert_id(
            &mut *tx,
            "INSERT INTO warranty_policies (name, return_days, exchange_days, repair_months, repair_limit, void_conditions) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[name.into(), V::I(p.return_days as i64), V::I(p.exchange_days as i64), V::I(p.repair_months as i64), V::I(p.repair_limit as i64), voids.into()],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "warranty_policy",
            id,
            None,
            Some(&json!({"name": name, "policy": p})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(PolicyId(id))
    }

    async fn policies(&self) -> StoreResult<Vec<Policy>> {
        let r: Vec<PolicyRec> = fetch_all(&self.db.read, "SELECT id, name, return_days, exchange_days, repair_months, repair_limit, void_conditions FROM warranty_policies ORDER BY id", &[]).await?;
        r.into_iter().map(TryInto::try_into).collect()
    }

    async fn create_category(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<CategoryId>,
        policy: Option<PolicyId>,
        now: jiff::Timestamp,
    ) -> StoreResult<CategoryId> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO product_categories (name, parent_id, policy_id) VALUES ($1, $2, $3) RETURNING id",
            &[name.into(), V::OptI(parent.map(CategoryId::get)), V::OptI(policy.map(PolicyId::get))],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "category",
            id,
            None,
            Some(&json!({"name": name, "parent_id": parent, "policy_id": policy})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(CategoryId(id))
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        let sql = categories_sql();
        let rows: Vec<CategoryRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(categories_from(rows))
    }

    async fn create_products(
        &self,
        actor: &Actor,
        drafts: &[ProductDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<ProductId>> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let mut ids = Vec::new();
        for (i, d) in drafts.iter().enumerate() {
            let id = insert_id(
                &mut *tx,
                "INSERT INTO products (sku, name, name_sort, category_id, policy_id, price, currency, serialized, strategy, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[(&d.sku).into(), (&d.name).into(), aftercare_domain::customer::sort_key(&d.name).into(), V::I(d.category_id.get()), V::OptI(d.policy_id.map(PolicyId::get)), V::I(d.price), (&d.currency).into(), d.serialized.into(), d.strategy.code().into(), now.into()],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "sku_taken", field: Some(if drafts.len() > 1 { format!("[{i}].sku") } else { "sku".into() }) },
                StoreError::Conflict { code: "reference_not_found", .. } => StoreError::Conflict { code: "not_found", field: Some("category_id".into()) },
                e => e,
            })?;
            self.log(&mut tx, actor, "create", "product", id, None, Some(&json!({"sku": d.sku, "name": d.name, "price": d.price, "category_id": d.category_id})), now).await?;
            ids.push(id);
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(ids.into_iter().map(ProductId).collect())
    }

    async fn update_product(
        &self,
        actor: &Actor,
        id: ProductId,
        d: &ProductDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let before = self.product(id).await?.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "UPDATE products SET sku = $1, name = $2, name_sort = $3, category_id = $4, policy_id = $5, price = $6, \
             currency = $7, serialized = $8, strategy = $9 WHERE id = $10",
            &[(&d.sku).into(), (&d.name).into(), aftercare_domain::customer::sort_key(&d.name).into(), V::I(d.category_id.get()), V::OptI(d.policy_id.map(PolicyId::get)), V::I(d.price), (&d.currency).into(), d.serialized.into(), d.strategy.code().into(), V::I(id.get())],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "sku_taken", field: Some("sku".into()) },
            e => e,
        })?;
        self.log(
            &mut tx,
            actor,
            "update",
            "product",
            id.get(),
            Some(&json!(before)),
            Some(&json!({"sku": d.sku, "name": d.name, "price": d.price})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn product(&self, id: ProductId) -> StoreResult<Option<Product>> {
        let r: Option<ProductRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {PRODUCT_COLS} FROM products p JOIN product_categories c ON c.id = p.category_id WHERE p.id = $1"),
            &[V::I(id.get())],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn products(&self, q: &ProductQuery) -> StoreResult<Page<Product>> {
        let limit = q.limit.unwrap_or(50);
        let (col, desc) = sort_spec(
            q.sort.as_deref(),
            &[
                ("name", "name_sort", false),
                ("-name", "name_sort", true),
                ("price", "price_key", false),
                ("-price", "price_key", true),
            ],
            0,
        )?;
        // Prices sort as fixed-width text so one cursor format serves every sort.
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT {PRODUCT_COLS}, p.id AS x_id, SUBSTR('0000000000000000' || CAST(p.price AS TEXT), LENGTH(CAST(p.price AS TEXT)) + 1, 16) AS price_key \
             FROM products p JOIN product_categories c ON c.id = p.category_id WHERE 1 = 1"
        ));
        if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let up = s.to_uppercase();
            let low = s.to_lowercase();
            sql.push(" AND ((p.sku >= ")
                .bind(up.clone())
                .push(" AND p.sku < ")
                .bind(prefix_end(&up));
            sql.push(") OR (p.name >= ")
                .bind(s)
                .push(" AND p.name < ")
                .bind(prefix_end(s));
            sql.push(") OR (p.name_sort >= ")
                .bind(low.clone())
                .push(" AND p.name_sort < ")
                .bind(prefix_end(&low))
                .push("))");
        }
        if let Some(c) = q.category_id {
            sql.push(" AND p.category_id = ").bind(c);
        }
        sql.push(") t WHERE 1 = 1");
        keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            p: ProductRec,
            price_key: String,
        }
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| {
            (
                if col == "price_key" {
                    r.price_key.clone()
                } else {
                    r.p.name_sort.clone()
                },
                r.p.id,
            )
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| r.p.try_into())
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    async fn outlets(&self) -> StoreResult<Vec<Outlet>> {
        crate::network::outlets(&self.db.read).await
    }
}
