//! A stored value no version of Aftercare writes (a hand-edited or damaged row) is an
//! error naming its table, row and column, on SQLite and on PostgreSQL: never read as a
//! default that would quietly change what the desk does with the request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::AppError;
use aftercare_app::desk::RequestInput;
use aftercare_testkit::{BOTH, TestDb, customer, staff};

#[tokio::test]
async fn a_request_with_an_unknown_stored_status_is_an_error_naming_its_row() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let app = db.app();
        let agent = staff(&app, "agent@example.cn", "agent").await;
        let c = customer(&app, &agent, "王芳").await;
        let (id, _) = app
            .open_request(
                &agent,
                &RequestInput {
                    customer_id: c,
                    service_type: "repair".into(),
                    subject: "空调不制冷".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(app.request_detail(&agent, id).await.is_ok());

        sqlx::query(&format!(
            "UPDATE requests SET status = 'mislaid' WHERE id = {id}"
        ))
        .execute(&db.db.write)
        .await
        .unwrap();
        match app.request_detail(&agent, id).await {
            Err(AppError::Internal(m)) => {
                assert!(
                    m.contains(&format!("requests {id}"))
                        && m.contains("status")
                        && m.contains("mislaid"),
                    "{kind:?}: {m}"
                );
            }
            other => panic!("{kind:?}: {other:?}"),
        }

        // A damaged instant is no better than a damaged code, in a queue as on the page
        // (it used to read as "no target", silently turning the SLA off).
        sqlx::query(&format!(
            "UPDATE requests SET status = 'new', resolution_due = 'soon' WHERE id = {id}"
        ))
        .execute(&db.db.write)
        .await
        .unwrap();
        let queue = app
            .requests(
                &agent,
                &aftercare_app::desk::RequestQuery {
                    queue: Some("all".into()),
                    ..Default::default()
                },
            )
            .await;
        match queue {
            Err(AppError::Internal(m)) => {
                assert!(
                    m.contains(&format!("requests {id}")) && m.contains("resolution_due"),
                    "{kind:?}: {m}"
                );
            }
            other => panic!("{kind:?}: {other:?}"),
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_item_whose_stored_repair_day_is_damaged_is_an_error_not_one_repair_less() {
    use aftercare_app::input::{AssetEventInput, CategoryInput, ProductInput};
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let app = db.app();
        let admin = staff(&app, "admin@example.cn", "admin").await;
        let c = customer(&app, &admin, "王芳").await;
        let category_id = app
            .create_category(
                &admin,
                &CategoryInput {
                    name: "空调".into(),
                    parent_id: None,
                    policy_id: None,
                },
            )
            .await
            .unwrap();
        let product = app
            .create_product(
                &admin,
                &ProductInput {
                    sku: "KFR-35GW".into(),
                    name: "格力云佳 1.5匹".into(),
                    category_id,
                    policy_id: None,
                    price: "3999.00".into(),
                    currency: None,
                    serialized: true,
                    strategy: None,
                },
            )
            .await
            .unwrap();
        app.create_order(
            &admin,
            &aftercare_testkit::order_input(c, product, 1, &["GR2026A0001"]),
        )
        .await
        .unwrap();
        let asset = app.store.assets_of(c).await.unwrap()[0].id;
        let event = app
            .add_asset_event(
                &admin,
                asset,
                &AssetEventInput {
                    kind: "repair".into(),
                    day: None,
                    void_condition: None,
                    note: Some("换压缩机".into()),
                },
            )
            .await
            .unwrap();
        assert!(app.asset(&admin, asset).await.is_ok());

        // A repair counts towards the 三包 repair limit: a damaged day used to drop it
        // silently, turning the next fault back into a free repair.
        sqlx::query(&format!(
            "UPDATE asset_events SET day = 'last spring' WHERE id = {event}"
        ))
        .execute(&db.db.write)
        .await
        .unwrap();
        match app.asset(&admin, asset).await {
            Err(AppError::Internal(m)) => assert!(
                m.contains(&format!("asset_events {event}"))
                    && m.contains("day")
                    && m.contains("last spring"),
                "{kind:?}: {m}"
            ),
            other => panic!("{kind:?}: {other:?}"),
        }
        db.cleanup().await;
    }
}
