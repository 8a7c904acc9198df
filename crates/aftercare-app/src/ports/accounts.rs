//! Staff accounts, their sessions, sign-in attempts, API tokens and idempotency keys.

use super::*;
use crate::model::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;

/// A stored password hash with its user.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A change to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub active: Option<bool>,
    pub role: Option<aftercare_domain::account::Role>,
    pub password_hash: Option<String>,
}

/// A signed-in session.
pub struct SessionRecord {
    pub user: User,
    pub csrf: String,
    pub expires_at: jiff::Timestamp,
}

/// Staff accounts, their sessions, sign-in attempts, API tokens and idempotency keys.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        hash: &str,
        role: aftercare_domain::account::Role,
        now: jiff::Timestamp,
    ) -> StoreResult<User>;
    async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn set_user_lang(&self, id: UserId, lang: Option<&str>) -> StoreResult<()>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        csrf: &str,
        now: jiff::Timestamp,
        expires: jiff::Timestamp,
    ) -> StoreResult<()>;
    async fn session(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Takes a sign-in attempt, counted as failed until [`finish_login`](Self::finish_login)
    /// says otherwise, unless `email` already has `limits.per_account` failed (or
    /// unfinished) attempts since `since`, or `ip` has `limits.per_address`: then `None`.
    /// Counting and taking are one atomic step, so parallel attempts cannot pass together.
    async fn claim_login(
        &self,
        email: &str,
        ip: &str,
        since: jiff::Timestamp,
        at: jiff::Timestamp,
        limits: LoginLimits,
    ) -> StoreResult<Option<i64>>;
    /// Settles a claimed attempt: a success clears the account's failures.
    async fn finish_login(&self, attempt: i64, email: &str, ok: bool) -> StoreResult<()>;
    async fn create_token(
        &self,
        actor: &Actor,
        user_id: UserId,
        name: &str,
        hash: &str,
        scopes: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64>;
    async fn token(&self, hash: &str) -> StoreResult<Option<(User, String)>>;
    /// Revokes a token; `NotFound` if there is no such token.
    async fn revoke_token(&self, actor: &Actor, id: i64, now: jiff::Timestamp) -> StoreResult<()>;
    /// Changes what is given of an account. Deactivating it or changing its password ends
    /// its sessions.
    async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        change: &UserChange,
        now: jiff::Timestamp,
    ) -> StoreResult<User>;
    /// Claims an idempotency key for a request. `None`: claimed, go ahead. `Some`: the key
    /// is already known: (request hash, status, body), status 0 while the first request is
    /// still running. A claim left unfinished for a minute (its process died) is taken over.
    async fn idempotent_claim(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
        now: jiff::Timestamp,
        stale_before: jiff::Timestamp,
    ) -> StoreResult<Option<(String, i64, String)>>;
    /// Stores the answer of a claimed request.
    async fn idempotent_finish(
        &self,
        user_id: UserId,
        key: &str,
        status: i64,
        body: &str,
    ) -> StoreResult<()>;
    /// Gives up a claim whose request failed, so the client may retry.
    async fn idempotent_release(&self, user_id: UserId, key: &str) -> StoreResult<()>;
}

/// How many failed sign-ins are allowed in the throttling window.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: i64,
    pub per_address: i64,
}
