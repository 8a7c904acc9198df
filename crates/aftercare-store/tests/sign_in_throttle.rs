//! Sign-in throttling on SQLite and PostgreSQL: per account and per client address,
//! staff and portal counted apart, and parallel guesses cannot slip past the count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::AppError;
use aftercare_testkit::{BOTH, TestDb, staff};
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn guesses_are_counted_per_account_and_address_atomically_and_apart_from_the_portal() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let app = Arc::new(db.app());
        staff(&app, "wang@example.cn", "agent").await;
        staff(&app, "admin@example.cn", "admin").await;

        // 40 wrong passwords for one account at once, each from its own address: exactly
        // five are checked, the rest refused unchecked.
        let tries = (0..40).map(|i| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                app.login("wang@example.cn", "guess", &format!("10.1.0.{i}"))
                    .await
            })
        });
        let mut checked = 0;
        let mut throttled = 0;
        for t in tries {
            match t.await.unwrap() {
                Err(AppError::Unauthenticated) => checked += 1,
                Err(AppError::Throttled) => throttled += 1,
                other => panic!("{kind:?}: {other:?}"),
            }
        }
        assert_eq!((checked, throttled), (5, 35), "{kind:?}");
        assert!(matches!(
            app.login("wang@example.cn", PASSWORD, "10.1.1.1").await,
            Err(AppError::Throttled)
        ));

        // Guessing across accounts from one address stops that address after 20, and
        // nobody else: the admin signs in from their own address.
        for i in 0..20 {
            let r = app
                .login(&format!("nobody{i}@example.cn"), "guess", "10.2.0.1")
                .await;
            assert!(
                matches!(r, Err(AppError::Unauthenticated)),
                "{kind:?}: {r:?}"
            );
        }
        assert!(matches!(
            app.login("admin@example.cn", PASSWORD, "10.2.0.1").await,
            Err(AppError::Throttled)
        ));
        assert!(
            app.login("admin@example.cn", PASSWORD, "10.2.0.2")
                .await
                .is_ok(),
            "{kind:?}"
        );

        // A customer's guesses in the portal never lock staff out of the same address.
        for _ in 0..25 {
            let _ = app
                .portal_login("somebody@example.cn", "guess", "10.3.0.1")
                .await;
        }
        assert!(matches!(
            app.portal_login("somebody@example.cn", "guess", "10.3.0.1")
                .await,
            Err(AppError::Throttled)
        ));
        assert!(
            app.login("admin@example.cn", PASSWORD, "10.3.0.1")
                .await
                .is_ok(),
            "{kind:?}"
        );
        drop(app);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn portal_sign_ups_are_limited_per_client_address() {
    for kind in BOTH {
        let db = TestDb::new(kind).await;
        let app = db.app();
        let signup = |n: usize| aftercare_app::portal::SignupInput {
            name: format!("顾客{n}"),
            email: format!("guest{n}@example.cn"),
            phone: None,
            password: PASSWORD.into(),
            email_consent: false,
        };
        // A household or an office signs several people up; a script signing up
        // hundreds is stopped at the tenth, and only at that address.
        for n in 0..10 {
            let r = app.portal_signup(&signup(n), None, "10.4.0.1").await;
            assert!(r.is_ok(), "{kind:?}: {r:?}");
        }
        assert!(matches!(
            app.portal_signup(&signup(10), None, "10.4.0.1").await,
            Err(AppError::Throttled)
        ));
        assert!(
            app.portal_signup(&signup(11), None, "10.4.0.2")
                .await
                .is_ok(),
            "{kind:?}"
        );
        db.cleanup().await;
    }
}
