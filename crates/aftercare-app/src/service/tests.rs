//! Two use-case areas run on in-memory fakes of just the ports they use: the catalogue
//! (`CatalogueStore`) and the logs (`AuditStore`). Each fake records what reaches it, so
//! a test can tell that refused input wrote nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::error::StoreError;
use crate::ports::{AuditStore, CatalogueStore, StoreResult};
use aftercare_domain::catalog::{AfterSalesStrategy, WarrantyPolicy};
use aftercare_domain::{CategoryId, PolicyId, ProductId, UserId};
use async_trait::async_trait;
use std::sync::Mutex;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        "2026-12-05T08:00:00Z".parse().unwrap()
    }
}

fn principal(role: Role) -> Principal {
    Principal {
        user: User {
            id: UserId(7),
            email: "li@example.cn".into(),
            name: "李娜".into(),
            role,
            lang: None,
            active: true,
        },
        role,
        scopes: None,
    }
}

fn app<S: ?Sized>(store: Arc<S>) -> App<S> {
    App::on(store, Arc::new(FixedClock))
}

fn fields(e: AppError) -> Vec<(String, &'static str)> {
    match e {
        AppError::Invalid(inv) => inv.0.into_iter().map(|f| (f.field, f.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn not_catalogue<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not used by these tests".into()))
}

// ---- the catalogue ----------------------------------------------------------------------

/// The catalogue in memory: the products written, with who wrote them and when, and the
/// queries asked.
#[derive(Default)]
struct Catalogue {
    products: Mutex<Vec<(ProductId, ProductDraft, String, jiff::Timestamp)>>,
    queries: Mutex<Vec<ProductQuery>>,
}

#[async_trait]
impl CatalogueStore for Catalogue {
    async fn create_policy(
        &self,
        _: &Actor,
        _: &str,
        _: &WarrantyPolicy,
        _: jiff::Timestamp,
    ) -> StoreResult<PolicyId> {
        not_catalogue()
    }
    async fn policies(&self) -> StoreResult<Vec<Policy>> {
        not_catalogue()
    }
    async fn create_category(
        &self,
        _: &Actor,
        _: &str,
        _: Option<CategoryId>,
        _: Option<PolicyId>,
        _: jiff::Timestamp,
    ) -> StoreResult<CategoryId> {
        not_catalogue()
    }
    async fn categories(&self) -> StoreResult<Vec<Category>> {
        not_catalogue()
    }
    async fn create_products(
        &self,
        actor: &Actor,
        drafts: &[ProductDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<ProductId>> {
        let mut products = self.products.lock().unwrap();
        let mut ids = Vec::new();
        for d in drafts {
            if products.iter().any(|(_, p, _, _)| p.sku == d.sku) {
                return Err(StoreError::Conflict {
                    code: "sku_taken",
                    field: Some("sku".into()),
                });
            }
            let id = ProductId(products.len() as i64 + 1);
            products.push((id, d.clone(), actor.label.clone(), now));
            ids.push(id);
        }
        Ok(ids)
    }
    async fn update_product(
        &self,
        _: &Actor,
        id: ProductId,
        d: &ProductDraft,
        _: jiff::Timestamp,
    ) -> StoreResult<()> {
        let mut products = self.products.lock().unwrap();
        let p = products
            .iter_mut()
            .find(|(i, _, _, _)| *i == id)
            .ok_or(StoreError::NotFound)?;
        p.1 = d.clone();
        Ok(())
    }
    async fn product(&self, _: ProductId) -> StoreResult<Option<Product>> {
        Ok(None)
    }
    async fn products(&self, q: &ProductQuery) -> StoreResult<Page<Product>> {
        self.queries.lock().unwrap().push(q.clone());
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    }
    async fn outlets(&self) -> StoreResult<Vec<Outlet>> {
        not_catalogue()
    }
}

fn air_conditioner() -> ProductInput {
    ProductInput {
        sku: "kfr-35gw".into(),
        name: "格力云佳 1.5匹".into(),
        category_id: CategoryId(3),
        policy_id: None,
        price: "3999.00".into(),
        currency: None,
        serialized: true,
        strategy: None,
    }
}

#[tokio::test]
async fn a_product_is_written_as_parsed_by_whoever_asked_and_when() {
    let store = Arc::new(Catalogue::default());
    let app = app(store.clone());
    let id = app
        .create_product(&principal(Role::Manager), &air_conditioner())
        .await
        .unwrap();
    let products = store.products.lock().unwrap();
    let (stored, draft, by, at) = &products[0];
    assert_eq!(*stored, id);
    assert_eq!(draft.sku, "KFR-35GW", "SKUs are kept upper-cased");
    assert_eq!(draft.price, 399_900, "3999.00 yuan is kept in fen");
    assert_eq!(draft.currency, "CNY");
    assert_eq!(draft.strategy, AfterSalesStrategy::Comprehensive);
    assert_eq!(by, "li@example.cn");
    assert_eq!(at.to_string(), "2026-12-05T08:00:00Z");
}

#[tokio::test]
async fn who_may_not_write_the_catalogue_is_refused_before_anything_is_checked_or_written() {
    let store = Arc::new(Catalogue::default());
    let app = app(store.clone());
    let bad = ProductInput {
        price: "lots".into(),
        ..air_conditioner()
    };
    for role in [Role::Agent, Role::Technician, Role::Marketer, Role::Analyst] {
        let r = app.create_product(&principal(role), &bad).await;
        assert!(matches!(r, Err(AppError::Forbidden)), "{role:?}: {r:?}");
    }
    // A token that may only read is refused even for an administrator.
    let reader = Principal {
        scopes: Some(vec![Scope::Read]),
        ..principal(Role::Admin)
    };
    let r = app.create_product(&reader, &air_conditioner()).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    assert!(store.products.lock().unwrap().is_empty());
}

#[tokio::test]
async fn every_wrong_field_is_named_at_once_and_nothing_is_written() {
    let store = Arc::new(Catalogue::default());
    let app = app(store.clone());
    let bad = ProductInput {
        sku: " ".into(),
        name: String::new(),
        price: "-5".into(),
        currency: Some("人民币".into()),
        strategy: Some("sometimes".into()),
        ..air_conditioner()
    };
    let mut got = fields(
        app.create_product(&principal(Role::Admin), &bad)
            .await
            .unwrap_err(),
    );
    got.sort();
    let named: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        named,
        ["currency", "name", "price", "sku", "strategy"],
        "{got:?}"
    );
    assert!(store.products.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_taken_sku_is_a_conflict_and_an_unknown_product_is_not_found() {
    let store = Arc::new(Catalogue::default());
    let app = app(store.clone());
    let admin = principal(Role::Admin);
    app.create_product(&admin, &air_conditioner())
        .await
        .unwrap();
    let r = app.create_product(&admin, &air_conditioner()).await;
    assert!(
        matches!(
            r,
            Err(AppError::Conflict {
                code: "sku_taken",
                ..
            })
        ),
        "{r:?}"
    );
    let r = app
        .update_product(&admin, ProductId(99), &air_conditioner())
        .await;
    assert!(matches!(r, Err(AppError::NotFound("product"))), "{r:?}");
    let r = app.product(&admin, ProductId(99)).await;
    assert!(matches!(r, Err(AppError::NotFound("product"))), "{r:?}");
    assert_eq!(store.products.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_product_list_asks_for_at_most_two_hundred_rows() {
    let store = Arc::new(Catalogue::default());
    let app = app(store.clone());
    let reader = principal(Role::Agent);
    for (asked, sent) in [
        (None, 50),
        (Some(0), 1),
        (Some(30), 30),
        (Some(10_000), 200),
    ] {
        let q = ProductQuery {
            limit: asked,
            ..Default::default()
        };
        app.products(&reader, &q).await.unwrap();
        let last = store.queries.lock().unwrap().last().unwrap().limit;
        assert_eq!(last, Some(sent), "asked {asked:?}");
    }
}

// ---- the logs ---------------------------------------------------------------------------

/// A read of a log: (entity, entity id, before or after this id, limit).
type Asked = (Option<String>, Option<i64>, Option<i64>, u32);

/// The audit and change logs in memory: what was asked of them.
#[derive(Default)]
struct Logs {
    asked: Mutex<Vec<Asked>>,
}

#[async_trait]
impl AuditStore for Logs {
    async fn audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.asked
            .lock()
            .unwrap()
            .push((entity.map(str::to_owned), entity_id, before_id, limit));
        Ok(vec![])
    }
    async fn events(&self, after_id: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        self.asked
            .lock()
            .unwrap()
            .push((None, None, Some(after_id), limit));
        Ok(vec![])
    }
}

#[tokio::test]
async fn only_administrators_read_the_logs_and_a_page_is_bounded() {
    let store = Arc::new(Logs::default());
    let app = app(store.clone());
    for role in [Role::Manager, Role::Agent, Role::Analyst] {
        let r = app
            .audit(&principal(role), Some("customer"), Some(3), None)
            .await;
        assert!(matches!(r, Err(AppError::Forbidden)), "{role:?}: {r:?}");
        let r = app.events(&principal(role), 0, None).await;
        assert!(matches!(r, Err(AppError::Forbidden)), "{role:?}: {r:?}");
    }
    assert!(
        store.asked.lock().unwrap().is_empty(),
        "refused before any read"
    );
    let admin = principal(Role::Admin);
    app.audit(&admin, Some("customer"), Some(3), Some(40))
        .await
        .unwrap();
    app.events(&admin, 12, Some(100_000)).await.unwrap();
    assert_eq!(
        *store.asked.lock().unwrap(),
        [
            (Some("customer".to_owned()), Some(3), Some(40), 100),
            (None, None, Some(12), 200),
        ]
    );
}

#[test]
fn a_token_read_while_everything_was_forgotten_is_not_kept() {
    let cache = TokenCache::default();
    // Kept, then answered from memory.
    let from = cache.begin();
    cache.put("a".into(), &principal(Role::Agent), from);
    assert_eq!(cache.get("a").map(|p| p.user.id), Some(UserId(7)));
    // A lookup begins, a revocation forgets everything, the lookup ends with what it read
    // before the revocation: that is not kept.
    let from = cache.begin();
    cache.forget();
    assert!(cache.get("a").is_none());
    cache.put("b".into(), &principal(Role::Manager), from);
    assert!(cache.get("b").is_none());
    // Kept no longer than TOKEN_FRESH from before its read.
    let stale = (cache.begin().0, std::time::Instant::now() - TOKEN_FRESH);
    cache.put("c".into(), &principal(Role::Admin), stale);
    assert!(cache.get("c").is_none());
}
