//! Reads batched into one (decision 0023 on SQLite; decision 0028 on PostgreSQL, where
//! every statement's rows come back as one JSON array), on a real SQLite file and a real
//! PostgreSQL server: text of any kind comes back as it was written, and rows in their
//! order. The desk's tests compare every batch with the reads it stands for; this one
//! gives it the text most likely to trip an encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::input::{CustomerInput, EmailInput, PhoneInput};
use aftercare_testkit::{BOTH, TestDb, staff};

#[tokio::test]
async fn a_batched_read_gives_back_text_of_every_kind_and_rows_in_order() {
    for kind in BOTH {
        eprintln!("---- running on {kind:?}");
        let db = TestDb::new(kind).await;
        let app = db.app();
        let admin = staff(&app, "admin@example.com", "admin").await;
        let name = "王\"引号\" 反斜杠\\n 斜杠/ 表情😀 繁體 ü </script> 'x'";
        let notes = "第一行\n第二行\r\n\"引\"\\ \u{2028} 𠀀 {\"json\": [1]}";
        let phones = ["13800138003", "13800138001", "13800138002"];
        let emails = ["c@example.com", "a@example.com"];
        let input = CustomerInput {
            name: name.into(),
            phones: phones
                .iter()
                .map(|p| PhoneInput {
                    number: (*p).into(),
                    label: Some("手机 \"主\"".into()),
                    primary: false,
                })
                .collect(),
            emails: emails
                .iter()
                .map(|e| EmailInput {
                    address: (*e).into(),
                    primary: false,
                })
                .collect(),
            tags: vec!["a\"b\\c".into(), "标签".into()],
            notes: Some(notes.into()),
            ..Default::default()
        };
        let id = app.create_customer(&admin, &input).await.unwrap();

        let c360 = app.customer_360(&admin, id, None).await.unwrap();
        assert_eq!(c360.customer.name, name);
        assert_eq!(c360.customer.notes.as_deref(), Some(notes));
        let read: Vec<String> = c360
            .customer
            .phones
            .iter()
            .map(|p| p.number.as_str().to_owned())
            .collect();
        let given: Vec<String> = phones.iter().map(|p| format!("+86{p}")).collect();
        assert_eq!(read, given, "phones in the order they were given");
        let read: Vec<String> = c360
            .customer
            .emails
            .iter()
            .map(|e| e.address.as_str().to_owned())
            .collect();
        assert_eq!(read, emails, "emails in the order they were given");
        // The same as the customer read on their own, outside any batch.
        assert_eq!(
            serde_json::to_value(&c360.customer).unwrap(),
            serde_json::to_value(app.customer(&admin, id).await.unwrap()).unwrap()
        );
        db.cleanup().await;
    }
}
