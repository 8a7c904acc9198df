//! Writes gathered through a transaction and run together (decision 0026), on a real
//! SQLite file and a real PostgreSQL server: every statement lands, in a create and an
//! update alike, however many there are; one that fails takes the whole transaction with
//! it, and the connection serves the next write; on PostgreSQL, where statements that go
//! apart are joined into one, change-log events keep their order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::StoreError;
use aftercare_app::ports::{Actor, CustomerStore};
use aftercare_domain::contact::{Email, PhoneNumber};
use aftercare_domain::customer::{CustomerDraft, CustomerKind, EmailEntry, PhoneEntry};
use aftercare_testkit::{BOTH, TestDb};

fn draft(name: &str, phones: &[&str], emails: &[&str], tags: Vec<String>) -> CustomerDraft {
    CustomerDraft {
        kind: CustomerKind::Person,
        name: name.into(),
        company: None,
        title: None,
        birthday: None,
        phones: phones
            .iter()
            .enumerate()
            .map(|(i, p)| PhoneEntry {
                number: PhoneNumber::parse(p).unwrap(),
                label: None,
                primary: i == 0,
            })
            .collect(),
        emails: emails
            .iter()
            .enumerate()
            .map(|(i, e)| EmailEntry {
                address: Email::parse(e).unwrap(),
                primary: i == 0,
            })
            .collect(),
        addresses: vec![],
        family: vec![],
        dates: vec![],
        consent: vec![],
        account_manager_id: None,
        tags,
        habits: None,
        preferences: None,
        notes: None,
        source: None,
        external_ref: None,
        referred_by: None,
    }
}

/// Rows of every table a customer's create writes to.
async fn rows(db: &TestDb) -> [i64; 7] {
    [
        db.count("SELECT COUNT(*) FROM customers").await,
        db.count("SELECT COUNT(*) FROM customer_phones").await,
        db.count("SELECT COUNT(*) FROM customer_tags").await,
        db.count("SELECT COUNT(*) FROM duplicate_candidates").await,
        db.count("SELECT COUNT(*) FROM audit_log").await,
        db.count("SELECT COUNT(*) FROM events").await,
        db.count("SELECT COUNT(*) FROM timeline").await,
    ]
}

#[tokio::test]
async fn every_gathered_write_lands_and_a_failed_one_takes_its_transaction_with_it() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let store = db.store();
        let actor = Actor::system("test");
        let now: jiff::Timestamp = "2026-12-07T08:00:00Z".parse().unwrap();

        let first = store
            .create_customers(
                &actor,
                &[draft(
                    "王芳",
                    &["13800000001"],
                    &["wang@example.cn"],
                    vec![],
                )],
                now,
            )
            .await
            .unwrap()[0];
        // Sharing a phone and an email with the first: two duplicate candidates. 6,000
        // tags are 6,000 statements, far more than one multi-statement query holds: they
        // go in many, none of them kept prepared.
        let tags: Vec<String> = (0..6_000).map(|i| format!("标签{i}")).collect();
        let second = store
            .create_customers(
                &actor,
                &[draft(
                    "王芳",
                    &["13800000001", "13900000002"],
                    &["Wang@Example.cn"],
                    tags,
                )],
                now,
            )
            .await
            .unwrap()[0];
        assert_eq!(rows(&db).await, [2, 3, 6_000, 2, 2, 2, 2], "{kind:?}");
        for reason in ["phone", "email"] {
            assert_eq!(
                db.count(&format!(
                    "SELECT COUNT(*) FROM duplicate_candidates WHERE a = {} AND b = {} AND reason = '{reason}'",
                    first.get(),
                    second.get()
                ))
                .await,
                1,
                "{kind:?}: {reason}"
            );
        }
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM timeline WHERE customer_id = {} AND kind = 'created'",
                second.get()
            ))
            .await,
            1,
            "{kind:?}"
        );

        // A tag twice: the second insert fails its primary key, after the customer, their
        // phone and the first tag were written in the same transaction; none of it stays.
        let before = rows(&db).await;
        let twice = store
            .create_customers(
                &actor,
                &[draft(
                    "李雷",
                    &["13700000003"],
                    &[],
                    vec!["老客户".into(), "老客户".into()],
                )],
                now,
            )
            .await;
        assert!(
            matches!(twice, Err(StoreError::Conflict { .. })),
            "{kind:?}: {twice:?}"
        );
        assert_eq!(rows(&db).await, before, "{kind:?}: a partial write stayed");

        // An update gathers its deletes and inserts the same way: the children are
        // replaced, not added to.
        store
            .update_customer(
                &actor,
                second,
                &draft("王芳", &["13900000002"], &[], vec!["新".into()]),
                None,
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM customer_tags WHERE customer_id = {}",
                second.get()
            ))
            .await,
            1,
            "{kind:?}"
        );
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM customer_phones WHERE customer_id = {}",
                second.get()
            ))
            .await,
            1,
            "{kind:?}"
        );

        // The writer goes on: the next create lands whole.
        let third = store
            .create_customers(&actor, &[draft("李雷", &["13700000003"], &[], vec![])], now)
            .await
            .unwrap()[0];
        assert_eq!(
            db.count("SELECT COUNT(*) FROM customers").await,
            3,
            "{kind:?}"
        );

        // Rows of one table keep the order they were added in, by id, on PostgreSQL too
        // (where the queries of one joined statement run in no promised order): the
        // phones and the emails as the customer gave them, after the create and after an
        // update, which writes them again.
        let phones = ["13600000011", "13600000012", "13600000013", "13600000014"];
        let emails = ["a@example.cn", "b@example.cn", "c@example.cn"];
        let mut many = draft("韩梅梅", &phones, &[], vec!["甲".into(), "乙".into()]);
        many.emails = emails
            .iter()
            .enumerate()
            .map(|(i, e)| EmailEntry {
                address: Email::parse(e).unwrap(),
                primary: i == 0,
            })
            .collect();
        let ordered = store
            .create_customers(&actor, &[many.clone()], now)
            .await
            .unwrap()[0];
        let stored_phones: Vec<String> = phones
            .iter()
            .map(|p| PhoneNumber::parse(p).unwrap().as_str().to_owned())
            .collect();
        let stored_emails: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
        let mut checks = vec![];
        for (table, col, values) in [
            ("customer_phones", "number", &stored_phones),
            ("customer_emails", "match_key", &stored_emails),
        ] {
            for p in values.windows(2) {
                checks.push(format!(
                    "SELECT COUNT(*) FROM {table} a JOIN {table} b ON a.customer_id = b.customer_id \
                     AND a.id < b.id WHERE a.customer_id = {} AND a.{col} = '{}' AND b.{col} = '{}'",
                    ordered.get(),
                    p[0],
                    p[1]
                ));
            }
        }
        for step in ["created", "updated"] {
            if step == "updated" {
                store
                    .update_customer(&actor, ordered, &many, None, now)
                    .await
                    .unwrap();
            }
            for sql in &checks {
                assert_eq!(db.count(sql).await, 1, "{kind:?}, {step}: {sql}");
            }
        }

        // A merge logs two changes: on PostgreSQL its writes go in joined statements, and
        // the two events still get their ids in the order they were written.
        store
            .merge_customers(&actor, first, third, now)
            .await
            .unwrap();
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM events a JOIN events b ON a.id < b.id \
                 WHERE a.kind = 'customer.merge' AND a.entity_id = {} \
                 AND b.kind = 'customer.merged_into' AND b.entity_id = {}",
                first.get(),
                third.get()
            ))
            .await,
            1,
            "{kind:?}"
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('merge', 'merged_into')")
                .await,
            2,
            "{kind:?}"
        );
        db.cleanup().await;
    }
}
