//! A migrating company's history taken in by file, on SQLite and on PostgreSQL: customers
//! keep their number in the old system, orders name their customer by it and keep their
//! own, the same file again changes nothing, and an order in another currency or of a
//! day out of range is refused by row and column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::input::CustomerInput;
use aftercare_app::input::OrderQuery;
use aftercare_app::ports::{ImportStep, ImportStore};
use aftercare_app::service::{ImportReport, Principal};
use aftercare_app::transfer::{Format, Kind, column_of, import_file};
use aftercare_app::{App, AppError};
use aftercare_testkit::{BOTH, Kind as Db, ManualClock, TestDb, product, staff};
use std::time::Duration;

const NOW: &str = "2026-06-30T04:00:00Z";

async fn import(app: &App, p: &Principal, kind: Kind, csv: &str) -> ImportReport {
    import_file(
        app,
        p,
        kind,
        Format::Csv,
        csv.as_bytes(),
        false,
        &Default::default(),
    )
    .await
    .unwrap()
    .unwrap()
}

/// (row, column, code) of every error.
fn errors(kind: Kind, r: &ImportReport) -> Vec<(usize, String, String)> {
    r.errors
        .iter()
        .map(|e| (e.row, column_of(kind, &e.field), e.code.clone()))
        .collect()
}

async fn scenario(db: Db) {
    eprintln!("---- running on {db:?}");
    let db = TestDb::new(db).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let item = product(&app, &admin, "唱片", "cd", "CD", "15.00").await;

    let customers = "customer_ref,name,source\nC001,王芳,web\nC002,李强,web\nC003,陈静,web\n";
    let r = import(&app, &admin, Kind::Customers, customers).await;
    assert_eq!((r.created, r.errors.len()), (3, 0), "{:?}", r.errors);
    // The same file again: every row is a number already taken in, nothing is written.
    let again = import(&app, &admin, Kind::Customers, customers).await;
    assert_eq!(again.created, 0);
    assert_eq!(
        errors(Kind::Customers, &again),
        [
            (2, "customer_ref".into(), "ref_taken".into()),
            (3, "customer_ref".into(), "ref_taken".into()),
            (4, "customer_ref".into(), "ref_taken".into()),
        ]
    );
    let twice = import(
        &app,
        &admin,
        Kind::Customers,
        "customer_ref,name\nC010,甲\nC010,乙\n",
    )
    .await;
    assert_eq!(
        errors(Kind::Customers, &twice),
        [(3, "customer_ref".into(), "duplicate".into())]
    );

    // Orders name the customer by the old number; lines of one old order stay together.
    let orders = "order_ref,customer_ref,channel,ordered_on,status,sku,quantity,unit_price\n\
                  A-1,C001,ecommerce,1997-01-03,completed,CD,1,11.77\n\
                  A-1,C001,ecommerce,1997-01-03,completed,CD,2,10.00\n\
                  A-2,C002,ecommerce,1997-02-11,completed,CD,1,29.33\n\
                  A-3,C001,ecommerce,1997-05-20,completed,CD,1,15.00\n";
    let r = import(&app, &admin, Kind::Orders, orders).await;
    assert_eq!((r.created, r.errors.len()), (3, 0), "{:?}", r.errors);
    let wang = app
        .customers_by_ref(&admin, &["C001".into()])
        .await
        .unwrap()[0]
        .1;
    let theirs = app
        .orders(
            &admin,
            &OrderQuery {
                customer_id: Some(wang),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(theirs.items.len(), 2);
    let total: i64 = theirs.items.iter().map(|o| o.total.fen()).sum();
    assert_eq!(total, 1177 + 2000 + 1500);
    assert_eq!(
        app.customer(&admin, wang)
            .await
            .unwrap()
            .external_ref
            .as_deref(),
        Some("C001")
    );

    // The same orders again are refused, each on its first row; nothing is written.
    let again = import(&app, &admin, Kind::Orders, orders).await;
    assert_eq!(again.created, 0);
    assert_eq!(
        errors(Kind::Orders, &again),
        [
            (2, "order_ref".into(), "ref_taken".into()),
            (4, "order_ref".into(), "ref_taken".into()),
            (5, "order_ref".into(), "ref_taken".into()),
        ]
    );

    // An unknown customer number, another currency, a day before 1990: named by column.
    let bad = "order_ref,customer_ref,channel,ordered_on,sku,unit_price,currency\n\
               B-1,C999,ecommerce,1997-03-01,CD,10.00,\n\
               B-2,C003,ecommerce,1997-03-01,CD,10.00,USD\n\
               B-3,C003,ecommerce,1985-03-01,CD,10.00,CNY\n\
               B-4,C003,ecommerce,1997-03-01,CD,10.00,cny\n";
    let r = import(&app, &admin, Kind::Orders, bad).await;
    assert_eq!(r.created, 0);
    assert_eq!(
        errors(Kind::Orders, &r),
        [
            (2, "customer_ref".into(), "not_found".into()),
            (3, "currency".into(), "currency_unsupported".into()),
            (4, "ordered_on".into(), "date_out_of_range".into()),
        ]
    );
    let before = app
        .orders(&admin, &OrderQuery::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(before, 3, "an import with an error writes nothing");

    // The API refuses another currency too, rather than keeping it as if it were yuan.
    let agent = staff(&app, "agent@example.cn", "agent").await;
    let usd = aftercare_app::input::OrderInput {
        currency: Some("USD".into()),
        ..aftercare_testkit::order_input(wang, item, 1, &[])
    };
    match app.create_order(&agent, &usd).await {
        Err(AppError::Invalid(inv)) => {
            assert_eq!(
                (inv.0[0].field.as_str(), inv.0[0].code),
                ("currency", "currency_unsupported")
            )
        }
        other => panic!("{other:?}"),
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_systems_customers_and_orders_are_taken_in_once_on_both_databases() {
    for db in BOTH {
        scenario(db).await;
    }
}

/// A customer file of `n` rows with old-system numbers `{prefix}0`, `{prefix}1`, ….
fn customer_file(prefix: &str, n: usize) -> String {
    let mut csv = String::from("customer_ref,name,source\n");
    for i in 0..n {
        csv.push_str(&format!("{prefix}{i},客户{i},web\n"));
    }
    csv
}

async fn steps_scenario(db: Db) {
    eprintln!("---- running on {db:?}");
    let kind = db;
    let db = TestDb::new(db).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;

    // A large file: on SQLite it is planned, then written in steps, and another write
    // gets in while it runs; the numbers it will take are claimed meanwhile.
    let importer = {
        let (app, admin) = (app.clone(), admin.clone());
        tokio::spawn(async move {
            import_file(
                &app,
                &admin,
                Kind::Customers,
                Format::Csv,
                customer_file("B", 6_000).as_bytes(),
                false,
                &Default::default(),
            )
            .await
            .unwrap()
            .unwrap()
        })
    };
    if kind == Db::Sqlite {
        let mut waited = 0;
        while db.count("SELECT COUNT(*) FROM import_runs").await == 0 {
            assert!(waited < 600, "the import never began");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        }
        let other = app
            .create_customer(
                &admin,
                &CustomerInput {
                    name: "插队的客户".into(),
                    ..Default::default()
                },
            )
            .await;
        assert!(other.is_ok(), "{other:?}");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM import_runs").await,
            1,
            "the other write waited for the whole import"
        );
        let claimed = app
            .create_customer(
                &admin,
                &CustomerInput {
                    name: "抢号".into(),
                    external_ref: Some("B5999".into()),
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(claimed, Err(AppError::Conflict { .. })),
            "{claimed:?}"
        );
    }
    let r = importer.await.unwrap();
    assert_eq!((r.created, r.errors.len()), (6_000, 0), "{:?}", r.errors);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM customers WHERE external_ref LIKE 'B%'")
            .await,
        6_000
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM import_runs").await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM import_claims").await, 0);
    // Orders too: 1,500 of them, in steps on SQLite, each once.
    product(&app, &admin, "唱片", "cd", "CD", "15.00").await;
    let mut orders =
        String::from("order_ref,customer_ref,channel,ordered_on,status,sku,quantity,unit_price\n");
    for i in 0..1_500 {
        orders.push_str(&format!(
            "O{i},B{i},ecommerce,2026-0{}-1{},completed,CD,1,15.00\n",
            1 + i % 5,
            i % 9
        ));
    }
    let r = import(&app, &admin, Kind::Orders, &orders).await;
    assert_eq!((r.created, r.errors.len()), (1_500, 0), "{:?}", r.errors);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM orders WHERE external_ref LIKE 'O%'")
            .await,
        1_500
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM import_runs").await, 0);
    // A file with one bad row far down writes nothing, as before.
    let mut bad = customer_file("D", 3_000);
    bad.push_str("D9999,,web\n");
    let r = import(&app, &admin, Kind::Customers, &bad).await;
    assert_eq!(r.created, 0);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM customers WHERE external_ref LIKE 'D%'")
            .await,
        0
    );

    if kind == Db::Sqlite {
        // A crash after the first step: the plan is kept, and the job carries it on once
        // it has sat still, writing each row once.
        let inputs: Vec<CustomerInput> = (0..2_500)
            .map(|i| CustomerInput {
                name: format!("续传{i}"),
                external_ref: Some(format!("R{i}")),
                ..Default::default()
            })
            .collect();
        let drafts: Vec<_> = inputs.iter().map(|i| i.validate().unwrap()).collect();
        let store = db.store();
        let actor = admin.actor();
        let claims = aftercare_app::ports::customer_keys(&drafts);
        let run = store
            .begin_import(
                &actor,
                "customers",
                &serde_json::to_string(&inputs).unwrap(),
                &claims,
                2_500,
                app.now(),
            )
            .await
            .unwrap()
            .unwrap();
        store
            .import_customers_step(
                &actor,
                &drafts[..1_000],
                ImportStep {
                    run,
                    before: 0,
                    after: 1_000,
                },
                app.now(),
            )
            .await
            .unwrap();
        // Written again, the same step is refused: nothing is written twice.
        assert!(
            store
                .import_customers_step(
                    &actor,
                    &drafts[..1_000],
                    ImportStep {
                        run,
                        before: 0,
                        after: 1_000
                    },
                    app.now()
                )
                .await
                .is_err()
        );
        assert_eq!(
            app.resume_imports().await.unwrap(),
            0,
            "a run still moving is left alone"
        );
        clock.advance(Duration::from_secs(180));
        assert_eq!(app.resume_imports().await.unwrap(), 1_500);
        assert_eq!(
            db.count("SELECT COUNT(*) FROM customers WHERE external_ref LIKE 'R%'")
                .await,
            2_500
        );
        assert_eq!(
            db.count(
                "SELECT COUNT(DISTINCT external_ref) FROM customers WHERE external_ref LIKE 'R%'"
            )
            .await,
            2_500
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM import_runs").await, 0);
        assert_eq!(db.count("SELECT COUNT(*) FROM import_claims").await, 0);
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_imports_let_other_writes_in_and_carry_on_after_a_crash_on_both_databases() {
    for db in BOTH {
        steps_scenario(db).await;
    }
}
