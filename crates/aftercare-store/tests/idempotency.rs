//! An Idempotency-Key and the record it makes commit together, on SQLite and PostgreSQL:
//! a crash between creating and answering leaves the record under the key, so a retry
//! gets it back instead of making a second one, and no key can ever make two records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::AppError;
use aftercare_app::input::CustomerInput;
use aftercare_app::ports::{IDEMPOTENCY, IdempotencyMark};
use aftercare_testkit::{BOTH, TestDb, staff};

fn person(name: &str) -> CustomerInput {
    CustomerInput {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_key_and_its_record_commit_together() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let app = db.app();
        let agent = staff(&app, "agent@example.cn", "agent").await;
        let uid = agent.user.id;
        let t0: jiff::Timestamp = "2026-12-05T08:00:00Z".parse().unwrap();
        let at = |secs: i64| t0 + jiff::SignedDuration::from_secs(secs);
        let mark = IdempotencyMark {
            key: "k-1".into(),
            entity: "customer",
        };

        // The first try claims the key and creates; then the server dies before it can
        // store the answer.
        let claim = app
            .store
            .idempotent_claim(uid, "k-1", "h1", at(0), at(-60))
            .await
            .unwrap();
        assert!(claim.is_none(), "{kind:?}");
        let id = IDEMPOTENCY
            .scope(mark.clone(), app.create_customer(&agent, &person("赵六")))
            .await
            .unwrap();

        // The retry, minutes later, gets the record that was made.
        let again = app
            .store
            .idempotent_claim(uid, "k-1", "h1", at(300), at(240))
            .await
            .unwrap();
        assert_eq!(
            again,
            Some(("h1".into(), 201, format!("{{\"id\":{id}}}"))),
            "{kind:?}"
        );

        // Whatever happens to the key's row, a second record under the key cannot commit:
        // it fails in its own transaction and leaves nothing behind.
        app.store.idempotent_release(uid, "k-1").await.unwrap();
        let twin = IDEMPOTENCY
            .scope(mark, app.create_customer(&agent, &person("赵六")))
            .await;
        assert!(
            matches!(
                twin,
                Err(AppError::Conflict {
                    code: "idempotency_key_in_progress",
                    ..
                })
            ),
            "{kind:?}: {twin:?}"
        );
        let listed = app
            .customers(&agent, &Default::default())
            .await
            .unwrap()
            .items;
        assert_eq!(listed.len(), 1, "{kind:?}: one record for one key");
        // And with the row gone, the key still answers with its record.
        let back = app
            .store
            .idempotent_claim(uid, "k-1", "h1", at(400), at(340))
            .await
            .unwrap();
        assert_eq!(back, Some(("h1".into(), 201, format!("{{\"id\":{id}}}"))));

        // Another key is another record.
        let other = IDEMPOTENCY
            .scope(
                IdempotencyMark {
                    key: "k-2".into(),
                    entity: "customer",
                },
                app.create_customer(&agent, &person("钱七")),
            )
            .await
            .unwrap();
        assert_ne!(other, id);
        db.cleanup().await;
    }
}
