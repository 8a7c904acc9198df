//! Real databases for tests: a fresh SQLite file or a fresh PostgreSQL database per test,
//! built through the real migrator, and a running app on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod imap;
pub mod smtp;

use aftercare_app::{App, SystemClock};
use aftercare_store::{Db, SqlStore, connect, migrate};
use rand::Rng;
use std::sync::Arc;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub const BOTH: [Kind; 2] = [Kind::Sqlite, Kind::Postgres];

/// A database made for one test; `cleanup()` removes it.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    pub db: Db,
    dir: Option<std::path::PathBuf>,
    pg_admin: Option<(String, String)>,
}

/// The test run's tag (`AFTERCARE_TEST_RUN`, set by `scripts/test`) with a trailing
/// underscore, so a run's databases can be told from another's and only its own dropped.
fn run_tag() -> String {
    std::env::var("AFTERCARE_TEST_RUN")
        .ok()
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|t| format!("{}_", t.to_ascii_lowercase()))
        .unwrap_or_default()
}

/// The PostgreSQL server the test command found or started. Never skipped: without it the
/// test fails and says how to provide one.
pub fn pg_admin_url() -> String {
    std::env::var("AFTERCARE_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "AFTERCARE_TEST_PG_URL is not set. The storage and API tests run on PostgreSQL too: \
             run them with scripts/test, which finds or starts a server, or set \
             AFTERCARE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    })
}

fn with_db(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    pub async fn new(kind: Kind) -> TestDb {
        let tag: u64 = rand::rng().random();
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("aftercare-test-{}-{tag:x}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("aftercare.db").display());
                let db = connect(&url).await.unwrap();
                migrate(&db).await.unwrap();
                TestDb {
                    kind,
                    url,
                    db,
                    dir: Some(dir),
                    pg_admin: None,
                }
            }
            Kind::Postgres => {
                let admin = pg_admin_url();
                let name = format!("aftercare_test_{}{}_{tag:x}", run_tag(), std::process::id());
                let admin_db = connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin_db.write)
                    .await
                    .unwrap();
                admin_db.write.close().await;
                let url = with_db(&admin, &name);
                let db = connect(&url).await.unwrap();
                migrate(&db).await.unwrap();
                TestDb {
                    kind,
                    url,
                    db,
                    dir: None,
                    pg_admin: Some((admin, name)),
                }
            }
        }
    }

    pub fn store(&self) -> Arc<SqlStore> {
        Arc::new(SqlStore::new(self.db.clone()))
    }

    pub fn app(&self) -> App {
        App::new(self.store(), Arc::new(SystemClock))
    }

    /// The app of another server on the same database: pools of its own.
    pub async fn another_app(&self) -> App {
        let db = connect(&self.url).await.unwrap();
        App::new(Arc::new(SqlStore::new(db)), Arc::new(SystemClock))
    }

    /// A number the test reads straight from the database (a count, a sum).
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.db.write)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Closes the pools and removes the database.
    pub async fn cleanup(self) {
        self.db.read.close().await;
        self.db.write.close().await;
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.pg_admin {
            let admin_db = connect(&admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin_db.write)
                .await;
            admin_db.write.close().await;
        }
    }
}

/// A running server on port 0 over a test database, with an admin account.
pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub app: App,
    pub admin_email: String,
    pub admin_password: String,
    pub index_dir: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub async fn spawn_app(kind: Kind) -> TestApp {
    let db = TestDb::new(kind).await;
    // A search index of its own, fed by hand (`refresh_search`) as the tests need it.
    let index_dir = std::env::temp_dir().join(format!(
        "aftercare-index-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let index = aftercare_search::TantivyIndex::open(&index_dir).unwrap();
    let app = db
        .app()
        .with_search(Arc::new(index))
        .with_mail_parser(Arc::new(aftercare_mail::RfcMailParser));
    let admin_email = "admin@example.cn".to_string();
    let admin_password = "correct horse battery".to_string();
    app.add_user(
        &aftercare_app::Actor::system("test"),
        &admin_email,
        "管理员",
        &admin_password,
        "admin",
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = aftercare_web::router(aftercare_web::AppState::new(app.clone()));
    tokio::spawn(async move {
        aftercare_web::serve(listener, router, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        db,
        app,
        admin_email,
        admin_password,
        index_dir,
        shutdown: Some(tx),
    }
}

impl TestApp {
    pub async fn cleanup(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.db.cleanup().await;
        let _ = std::fs::remove_dir_all(&self.index_dir);
    }
}

/// A clock the test sets and moves.
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::Mutex<jiff::Timestamp>>);

impl ManualClock {
    pub fn at(t: &str) -> Self {
        ManualClock(Arc::new(std::sync::Mutex::new(t.parse().unwrap())))
    }
    pub fn set(&self, t: &str) {
        *self.0.lock().unwrap() = t.parse().unwrap();
    }
    pub fn advance(&self, d: std::time::Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

impl aftercare_app::Clock for ManualClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

impl TestDb {
    /// The app over this database with a clock the test controls.
    pub fn app_at(&self, clock: &ManualClock) -> App {
        App::new(self.store(), Arc::new(clock.clone()))
    }
}

/// A staff account with this role (the email is also its name), as the principal it acts as.
pub async fn staff(app: &App, email: &str, role: &str) -> aftercare_app::service::Principal {
    staff_named(app, email, email, role).await
}

/// A staff account with a name of its own.
pub async fn staff_named(
    app: &App,
    email: &str,
    name: &str,
    role: &str,
) -> aftercare_app::service::Principal {
    let user = app
        .add_user(
            &aftercare_app::Actor::system("test"),
            email,
            name,
            "correct horse battery",
            role,
        )
        .await
        .unwrap();
    aftercare_app::service::Principal {
        user,
        role: aftercare_domain::account::Role::parse(role).unwrap(),
        scopes: None,
    }
}

/// A customer with only a name.
pub async fn customer(
    app: &App,
    p: &aftercare_app::service::Principal,
    name: &str,
) -> aftercare_domain::CustomerId {
    app.create_customer(
        p,
        &aftercare_app::input::CustomerInput {
            name: name.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A product in a category of its own, without a warranty policy, not serialised.
pub async fn product(
    app: &App,
    p: &aftercare_app::service::Principal,
    category: &str,
    sku: &str,
    name: &str,
    price: &str,
) -> aftercare_domain::ProductId {
    use aftercare_app::input::{CategoryInput, ProductInput};
    let category_id = app
        .create_category(
            p,
            &CategoryInput {
                name: category.into(),
                parent_id: None,
                policy_id: None,
            },
        )
        .await
        .unwrap();
    app.create_product(
        p,
        &ProductInput {
            sku: sku.into(),
            name: name.into(),
            category_id,
            policy_id: None,
            price: price.into(),
            currency: None,
            serialized: false,
            strategy: None,
        },
    )
    .await
    .unwrap()
}

/// A store order of `quantity` of one product, with these serials, everything else left
/// to the defaults.
pub fn order_input(
    customer_id: aftercare_domain::CustomerId,
    product_id: aftercare_domain::ProductId,
    quantity: u32,
    serials: &[&str],
) -> aftercare_app::input::OrderInput {
    aftercare_app::input::OrderInput {
        customer_id,
        channel: "store".into(),
        items: vec![aftercare_app::input::OrderItemInput {
            product_id,
            quantity,
            unit_price: None,
            discount: None,
            serials: serials.iter().map(|s| s.to_string()).collect(),
            asset_id: None,
        }],
        ..Default::default()
    }
}

/// An order of `quantity` of one product on `day` (YYYY-MM-DD), in a status
/// (`completed`, `cancelled`…; none: the default).
pub async fn order(
    app: &App,
    p: &aftercare_app::service::Principal,
    customer_id: aftercare_domain::CustomerId,
    product_id: aftercare_domain::ProductId,
    day: &str,
    quantity: u32,
    status: Option<&str>,
) -> aftercare_domain::OrderId {
    let input = aftercare_app::input::OrderInput {
        ordered_on: Some(day.into()),
        status: status.map(Into::into),
        ..order_input(customer_id, product_id, quantity, &[])
    };
    app.create_order(p, &input).await.unwrap()
}
