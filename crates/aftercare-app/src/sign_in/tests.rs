//! Sign-in against an in-memory account store and a clock the test moves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ports::{Actor, Credentials, SessionRecord, StoreResult, UserChange};
use aftercare_domain::UserId;
use aftercare_domain::account::Role;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Mutex;

/// The parts of the account store sign-in uses, in memory; the rest is not sign-in's.
#[derive(Default)]
struct Accounts {
    users: Vec<Credentials>,
    /// (email, ip, at, ok)
    attempts: Mutex<Vec<(String, String, Timestamp, bool)>>,
    /// (token hash, user id, csrf, expires)
    sessions: Mutex<Vec<(String, UserId, String, Timestamp)>>,
}

fn not_sign_in<T>() -> StoreResult<T> {
    Err(crate::error::StoreError::Backend(
        "not used by sign-in".into(),
    ))
}

#[async_trait]
impl AccountStore for Accounts {
    async fn create_user(
        &self,
        _: &Actor,
        _: &str,
        _: &str,
        _: &str,
        _: Role,
        _: Timestamp,
    ) -> StoreResult<User> {
        not_sign_in()
    }
    async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        Ok(self
            .users
            .iter()
            .find(|c| c.user.email == email)
            .map(|c| Credentials {
                user: c.user.clone(),
                password_hash: c.password_hash.clone(),
            }))
    }
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self
            .users
            .iter()
            .find(|c| c.user.id == id)
            .map(|c| c.user.clone()))
    }
    async fn users(&self) -> StoreResult<Vec<User>> {
        not_sign_in()
    }
    async fn set_user_lang(&self, _: UserId, _: Option<&str>) -> StoreResult<()> {
        not_sign_in()
    }
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        csrf: &str,
        _now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()> {
        self.sessions
            .lock()
            .unwrap()
            .push((token_hash.into(), user_id, csrf.into(), expires));
        Ok(())
    }
    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<SessionRecord>> {
        let found = self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.0 == token_hash && s.3 > now)
            .cloned();
        Ok(match found {
            Some((_, user_id, csrf, expires_at)) => {
                self.user(user_id).await?.map(|user| SessionRecord {
                    user,
                    csrf,
                    expires_at,
                })
            }
            None => None,
        })
    }
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.sessions.lock().unwrap().retain(|s| s.0 != token_hash);
        Ok(())
    }
    async fn claim_login(
        &self,
        email: &str,
        ip: &str,
        since: Timestamp,
        at: Timestamp,
        limits: LoginLimits,
    ) -> StoreResult<Option<i64>> {
        // One lock for counting and taking: the atomic step the port promises.
        let mut attempts = self.attempts.lock().unwrap();
        let failed = |same: &dyn Fn(&(String, String, Timestamp, bool)) -> bool| {
            attempts
                .iter()
                .filter(|a| !a.3 && a.2 > since && same(a))
                .count() as i64
        };
        if failed(&|a| a.0 == email) >= limits.per_account
            || failed(&|a| a.1 == ip) >= limits.per_address
        {
            return Ok(None);
        }
        attempts.push((email.into(), ip.into(), at, false));
        Ok(Some(attempts.len() as i64 - 1))
    }
    async fn finish_login(&self, attempt: i64, email: &str, ok: bool) -> StoreResult<()> {
        let mut attempts = self.attempts.lock().unwrap();
        if ok {
            attempts[attempt as usize].3 = true;
            // Failures are cleared by marking them settled, so attempt numbers stay put.
            for a in attempts.iter_mut().filter(|a| a.0 == email) {
                a.3 = true;
            }
        }
        Ok(())
    }
    async fn create_token(
        &self,
        _: &Actor,
        _: UserId,
        _: &str,
        _: &str,
        _: &str,
        _: Timestamp,
    ) -> StoreResult<i64> {
        not_sign_in()
    }
    async fn token(&self, _: &str) -> StoreResult<Option<(User, String)>> {
        not_sign_in()
    }
    async fn revoke_token(&self, _: &Actor, _: i64, _: Timestamp) -> StoreResult<()> {
        not_sign_in()
    }
    async fn update_user(
        &self,
        _: &Actor,
        _: UserId,
        _: &UserChange,
        _: Timestamp,
    ) -> StoreResult<User> {
        not_sign_in()
    }
    async fn idempotent_claim(
        &self,
        _: UserId,
        _: &str,
        _: &str,
        _: Timestamp,
        _: Timestamp,
    ) -> StoreResult<Option<(String, i64, String)>> {
        not_sign_in()
    }
    async fn idempotent_finish(&self, _: UserId, _: &str, _: i64, _: &str) -> StoreResult<()> {
        not_sign_in()
    }
    async fn idempotent_release(&self, _: UserId, _: &str) -> StoreResult<()> {
        not_sign_in()
    }
}

struct TestClock(Mutex<jiff::Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance_minutes(&self, m: i64) {
        let mut t = self.0.lock().unwrap();
        *t += jiff::SignedDuration::from_mins(m);
    }
}

const PASSWORD: &str = "correct horse battery";

fn accounts() -> Accounts {
    let hash = auth::hash_password(PASSWORD).unwrap();
    let user = |id: i64, email: &str, active: bool| Credentials {
        user: User {
            id: UserId(id),
            email: email.into(),
            name: email.into(),
            role: Role::Agent,
            lang: None,
            active,
        },
        password_hash: hash.clone(),
    };
    Accounts {
        users: vec![
            user(1, "wang@example.cn", true),
            user(2, "gone@example.cn", false),
        ],
        ..Default::default()
    }
}

fn clock() -> TestClock {
    TestClock(Mutex::new("2026-12-05T08:00:00Z".parse().unwrap()))
}

#[tokio::test]
async fn the_right_password_opens_a_session_that_signing_out_ends() {
    let (store, clock) = (accounts(), clock());
    let s = SignIn {
        store: &store,
        clock: &clock,
    };
    let (secret, csrf, user) = s
        .login(" Wang@Example.cn ", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        user.id,
        UserId(1),
        "emails are matched trimmed and lower-cased"
    );
    let (p, session_csrf) = s.session(&secret).await.unwrap().expect("a session");
    assert_eq!(
        (p.user.id, p.role, session_csrf),
        (UserId(1), Role::Agent, csrf)
    );
    assert!(
        store.sessions.lock().unwrap()[0].0 != secret,
        "only the secret's hash is stored"
    );
    s.logout(&secret).await.unwrap();
    assert!(s.session(&secret).await.unwrap().is_none());
}

#[tokio::test]
async fn wrong_passwords_unknown_and_inactive_accounts_are_refused_alike() {
    let (store, clock) = (accounts(), clock());
    let s = SignIn {
        store: &store,
        clock: &clock,
    };
    for (email, password) in [
        ("wang@example.cn", "wrong"),
        ("nobody@example.cn", PASSWORD),
        ("gone@example.cn", PASSWORD),
    ] {
        assert!(
            matches!(
                s.login(email, password, "10.0.0.2").await,
                Err(AppError::Unauthenticated)
            ),
            "{email}"
        );
    }
    assert_eq!(
        store.attempts.lock().unwrap().len(),
        3,
        "every try recorded"
    );
    assert!(store.sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn five_failures_throttle_even_the_right_password_until_the_window_passes() {
    let (store, clock) = (accounts(), clock());
    let s = SignIn {
        store: &store,
        clock: &clock,
    };
    for _ in 0..LOGIN_LIMITS.per_account {
        assert!(matches!(
            s.login("wang@example.cn", "guess", "10.0.0.3").await,
            Err(AppError::Unauthenticated)
        ));
    }
    let recorded = store.attempts.lock().unwrap().len();
    assert!(matches!(
        s.login("wang@example.cn", PASSWORD, "10.0.0.4").await,
        Err(AppError::Throttled)
    ));
    assert_eq!(
        store.attempts.lock().unwrap().len(),
        recorded,
        "a throttled try checks no password"
    );
    clock.advance_minutes(THROTTLE_MINUTES + 1);
    assert!(
        s.login("wang@example.cn", PASSWORD, "10.0.0.4")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_session_ends_when_its_time_is_up() {
    let (store, clock) = (accounts(), clock());
    let s = SignIn {
        store: &store,
        clock: &clock,
    };
    let (secret, _, _) = s
        .login("wang@example.cn", PASSWORD, "10.0.0.5")
        .await
        .unwrap();
    clock.advance_minutes(13 * 24 * 60);
    assert!(s.session(&secret).await.unwrap().is_some());
    clock.advance_minutes(2 * 24 * 60);
    assert!(s.session(&secret).await.unwrap().is_none());
}
