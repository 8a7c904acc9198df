//! Purchase summaries on SQLite and PostgreSQL: kept with every order and merge, they give
//! the same facts as aggregating the orders themselves, and the migration that brings
//! them in fills them from an existing database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_domain::CustomerId;
use aftercare_insight::value::{CustomerFacts, ValueSettings};
use aftercare_store::purchases;
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, customer, order, product, staff};
use jiff::civil::{Date, date};
use std::collections::BTreeMap;

const NOW: &str = "2026-06-30T04:00:00Z";

/// The purchase facts computed straight from the orders, independently of the summaries.
async fn from_orders(db: &TestDb, as_of: Date, s: &ValueSettings) -> BTreeMap<i64, CustomerFacts> {
    let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
        "SELECT o.customer_id, o.ordered_on, o.total, o.discount, o.status FROM orders o \
         JOIN customers c ON c.id = o.customer_id WHERE c.merged_into IS NULL ORDER BY o.ordered_on",
    )
    .fetch_all(&db.db.read)
    .await
    .unwrap();
    let back = |n: u32| {
        as_of
            .checked_sub(jiff::Span::new().days(i64::from(n)))
            .unwrap()
    };
    let (window, recent) = (back(s.rfm_window_days), back(s.current_value_days));
    let mut days: BTreeMap<(i64, Date), (i64, i64)> = BTreeMap::new();
    for (id, day, total, discount, status) in rows {
        let day: Date = day.parse().unwrap();
        if status != "cancelled" && day <= as_of {
            let e = days.entry((id, day)).or_default();
            e.0 += total;
            e.1 += discount;
        }
    }
    let mut out: BTreeMap<i64, CustomerFacts> = BTreeMap::new();
    for ((id, day), (total, discount)) in days {
        let f = out.entry(id).or_insert_with(|| CustomerFacts {
            customer_id: id,
            first_purchase: Some(day),
            first_revenue: total as f64,
            ..Default::default()
        });
        f.last_purchase = Some(day);
        f.purchases += 1;
        f.revenue += total as f64;
        f.discounts += discount as f64;
        if day > window {
            f.window_purchases += 1;
            f.window_revenue += total as f64;
        }
        if day > recent {
            f.recent_revenue += total as f64;
        }
    }
    out
}

async fn summarised(db: &TestDb, as_of: Date, s: &ValueSettings) -> BTreeMap<i64, CustomerFacts> {
    let all = purchases::facts_all(&db.db, as_of, s).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|f| f.customer_id).collect();
    assert!(
        all.windows(2).all(|w| w[0].customer_id < w[1].customer_id),
        "in id order: {ids:?}"
    );
    all.into_iter().map(|f| (f.customer_id, f)).collect()
}

async fn blocks(db: &TestDb) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT block, data FROM purchase_blocks ORDER BY block")
        .fetch_all(&db.db.read)
        .await
        .unwrap()
}

async fn scenario(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let product = product(&app, &admin, "净水器", "filter", "滤芯", "129.50").await;
    // Customers across three blocks; every third buys nothing.
    let mut ids = Vec::new();
    for i in 0..(purchases::BLOCK * 2 + 5) {
        ids.push(customer(&app, &admin, &format!("顾客{i}")).await);
    }
    let days = [
        "2023-01-15",
        "2025-06-30",
        "2025-07-01",
        "2026-06-01",
        "2026-06-01",
        "2026-06-29",
    ];
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 2 {
            continue;
        }
        for (k, day) in days.iter().enumerate().skip(i % 4) {
            let status = if (i + k) % 5 == 0 {
                "cancelled"
            } else {
                "completed"
            };
            order(
                &app,
                &admin,
                *id,
                product,
                day,
                1 + (id.get() % 3) as u32,
                Some(status),
            )
            .await;
        }
    }
    // One customer whose only order is cancelled has no summary.
    let only_cancelled = customer(&app, &admin, "退单顾客").await;
    order(
        &app,
        &admin,
        only_cancelled,
        product,
        "2026-05-05",
        1,
        Some("cancelled"),
    )
    .await;

    let s = ValueSettings::default();
    let today = date(2026, 6, 30);
    let expected = from_orders(&db, today, &s).await;
    assert!(expected.len() > 30, "{}", expected.len());
    assert!(!expected.contains_key(&only_cancelled.get()));
    assert_eq!(summarised(&db, today, &s).await, expected);
    // An earlier day leaves out what came after it; other windows count other days.
    let narrow = ValueSettings {
        rfm_window_days: 30,
        current_value_days: 7,
        ..ValueSettings::default()
    };
    let earlier = date(2025, 12, 31);
    assert_eq!(
        summarised(&db, earlier, &narrow).await,
        from_orders(&db, earlier, &narrow).await
    );
    // Some customers only, as the incremental rounds read them.
    let some = [
        ids[0],
        ids[1],
        ids[2],
        ids[40],
        only_cancelled,
        CustomerId(999_999),
    ];
    let facts = app
        .store
        .customer_facts(today, &s, Some(&some))
        .await
        .unwrap();
    for f in &facts {
        match expected.get(&f.customer_id) {
            Some(e) => {
                assert_eq!((f.purchases, f.revenue), (e.purchases, e.revenue));
                assert_eq!(f.window_revenue, e.window_revenue);
                assert_eq!(f.last_purchase, e.last_purchase);
            }
            None => assert_eq!(f.purchases, 0, "{f:?}"),
        }
    }
    assert_eq!(facts.len(), 5, "the unknown id has no facts");

    // A merge moves the orders and both summaries follow.
    let (keep, drop) = (ids[0], ids[40]);
    let (k, d) = (expected[&keep.get()].revenue, expected[&drop.get()].revenue);
    app.merge(&admin, keep, drop).await.unwrap();
    let after = summarised(&db, today, &s).await;
    assert_eq!(after, from_orders(&db, today, &s).await);
    assert!(!after.contains_key(&drop.get()));
    assert_eq!(after[&keep.get()].revenue, k + d);

    // The migration fills the summaries from the orders of an existing database.
    let kept = blocks(&db).await;
    assert!(kept.len() >= 3, "{}", kept.len());
    sqlx::query("DROP TABLE purchase_blocks")
        .execute(&db.db.write)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM schema_migrations WHERE version = 'm20261128_000008_create_purchase_blocks'",
    )
    .execute(&db.db.write)
    .await
    .unwrap();
    let applied = aftercare_store::migrate(&db.db).await.unwrap();
    assert_eq!(applied, vec!["m20261128_000008_create_purchase_blocks"]);
    assert_eq!(blocks(&db).await, kept);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_summaries_follow_the_orders_on_both_databases() {
    for kind in BOTH {
        scenario(kind).await;
    }
}
