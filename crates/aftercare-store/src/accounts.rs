//! The `AccountStore` port over SQL: staff accounts, sessions, sign-in attempts, API tokens and idempotency keys.

use crate::db::*;
use crate::store::*;
use aftercare_app::StoreError;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        hash: &str,
        role: aftercare_domain::account::Role,
        now: jiff::Timestamp,
    ) -> StoreResult<User> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO users (email, name, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[email.into(), name.into(), hash.into(), role.into(), now.into()],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict { code: "email_taken", field: Some("email".into()) },
            e => e,
        })?;
        let user = User {
            id: UserId(id),
            email: email.into(),
            name: name.into(),
            role,
            lang: None,
            active: true,
        };
        self.log(
            &mut tx,
            actor,
            "create",
            "user",
            id,
            None,
            Some(&json!(user)),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(user)
    }

    async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            u: UserRec,
            password_hash: String,
        }
        let r: Option<Q> = fetch_opt(
            &self.db.read,
            &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.email = $1"),
            &[email.into()],
        )
        .await?;
        r.map(|r| {
            Ok(Credentials {
                user: r.u.try_into()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let r: Option<UserRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
            &[V::I(id.get())],
        )
        .await?;
        r.map(TryInto::try_into).transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let r: Vec<UserRec> = fetch_all(
            &self.db.read,
            &format!("SELECT {USER_COLS} FROM users u ORDER BY u.name, u.id"),
            &[],
        )
        .await?;
        r.into_iter().map(TryInto::try_into).collect()
    }

    async fn set_user_lang(&self, id: UserId, lang: Option<&str>) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE users SET lang = $1 WHERE id = $2",
            &[lang.into(), V::I(id.get())],
        )
        .await
        .map(|_| ())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        csrf: &str,
        now: jiff::Timestamp,
        expires: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let expires = &aftercare_app::ports::stamp(expires);
        exec(
            &self.db.write,
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[token_hash.into(), V::I(user_id.get()), csrf.into(), now.into(), expires.into()],
        )
        .await
        .map(|_| ())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<SessionRecord>> {
        let now = &aftercare_app::ports::stamp(now);
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            u: UserRec,
            csrf: String,
            expires_at: String,
        }
        let r: Option<Q> = fetch_opt(
            &self.db.read,
            &format!(
                "SELECT {USER_COLS}, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2"
            ),
            &[token_hash.into(), now.into()],
        )
        .await?;
        r.map(|r| {
            Ok(SessionRecord {
                expires_at: Cells::of("sessions", r.u.id).at("expires_at", &r.expires_at)?,
                user: r.u.try_into()?,
                csrf: r.csrf,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "DELETE FROM sessions WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await
        .map(|_| ())
    }

    async fn claim_login(
        &self,
        email: &str,
        ip: &str,
        since: jiff::Timestamp,
        at: jiff::Timestamp,
        limits: LoginLimits,
    ) -> StoreResult<Option<i64>> {
        let since = &aftercare_app::ports::stamp(since);
        let at = &aftercare_app::ports::stamp(at);
        let (email, ip, since, at) = (
            email.to_owned(),
            ip.to_owned(),
            since.to_owned(),
            at.to_owned(),
        );
        let pg = self.db.backend == Backend::Postgres;
        self.db
            .write_job(move |tx| {
                let (email, ip, since, at) = (email.clone(), ip.clone(), since.clone(), at.clone());
                Box::pin(async move {
                    if pg {
                        // Counting and taking must not interleave between servers or
                        // connections (SQLite has one writer already).
                        exec(
                            &mut *tx,
                            "LOCK TABLE login_attempts IN SHARE ROW EXCLUSIVE MODE",
                            &[],
                        )
                        .await?;
                    }
                    let count = async |tx: &mut sqlx::AnyConnection, col: &str, v: &str| {
                        scalar(
                            &mut *tx,
                            &format!(
                                "SELECT COUNT(*) FROM login_attempts WHERE {col} = $1 AND at > $2 AND succeeded = 0"
                            ),
                            &[v.into(), since.as_str().into()],
                        )
                        .await
                        .map(|n| n.unwrap_or(0))
                    };
                    if count(&mut *tx, "email", &email).await? >= limits.per_account
                        || count(&mut *tx, "ip", &ip).await? >= limits.per_address
                    {
                        return Ok(None);
                    }
                    // Counted as a failure until the password check says otherwise: a
                    // crash in between costs the account one try, never opens a door.
                    insert_id(
                        &mut *tx,
                        "INSERT INTO login_attempts (email, ip, at, succeeded) VALUES ($1, $2, $3, 0) RETURNING id",
                        &[email.into(), ip.into(), at.into()],
                    )
                    .await
                    .map(Some)
                })
            })
            .await
    }

    async fn finish_login(&self, attempt: i64, email: &str, ok: bool) -> StoreResult<()> {
        if !ok {
            return Ok(());
        }
        let email = email.to_owned();
        self.db
            .write_job(move |tx| {
                let email = email.clone();
                Box::pin(async move {
                    exec(
                        &mut *tx,
                        "UPDATE login_attempts SET succeeded = 1 WHERE id = $1",
                        &[V::I(attempt)],
                    )
                    .await?;
                    // A successful sign-in clears the failures counted against the account.
                    exec(
                        &mut *tx,
                        "DELETE FROM login_attempts WHERE email = $1 AND succeeded = 0",
                        &[email.into()],
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn create_token(
        &self,
        actor: &Actor,
        user_id: UserId,
        name: &str,
        hash: &str,
        scopes: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[V::I(user_id.get()), name.into(), hash.into(), scopes.into(), now.into()],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "api_token",
            id,
            None,
            Some(&json!({"user_id": user_id, "name": name, "scopes": scopes})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn revoke_token(&self, actor: &Actor, id: i64, now: jiff::Timestamp) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE api_tokens SET revoked = 1 WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.log(
            &mut tx,
            actor,
            "revoke",
            "api_token",
            id,
            None,
            Some(&json!({"revoked": true})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        change: &UserChange,
        now: jiff::Timestamp,
    ) -> StoreResult<User> {
        let now = &aftercare_app::ports::stamp(now);
        let before = self.user(id).await?.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin().await?;
        if let Some(active) = change.active {
            exec(
                &mut *tx,
                "UPDATE users SET active = $1 WHERE id = $2",
                &[active.into(), V::I(id.get())],
            )
            .await?;
        }
        if let Some(role) = change.role {
            exec(
                &mut *tx,
                "UPDATE users SET role = $1 WHERE id = $2",
                &[role.into(), V::I(id.get())],
            )
            .await?;
        }
        if let Some(hash) = &change.password_hash {
            exec(
                &mut *tx,
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                &[hash.into(), V::I(id.get())],
            )
            .await?;
        }
        if change.active == Some(false) || change.password_hash.is_some() {
            exec(
                &mut *tx,
                "DELETE FROM sessions WHERE user_id = $1",
                &[V::I(id.get())],
            )
            .await?;
        }
        if change.password_hash.is_some() {
            // A new password is a new start: the API tokens made under the old one stop
            // working too (a leaked token is often why a password is changed).
            exec(
                &mut *tx,
                "UPDATE api_tokens SET revoked = 1 WHERE user_id = $1 AND revoked = 0",
                &[V::I(id.get())],
            )
            .await?;
        }
        let after = User {
            active: change.active.unwrap_or(before.active),
            role: change.role.unwrap_or(before.role),
            ..before.clone()
        };
        let mut after_json = json!(after);
        if change.password_hash.is_some() {
            after_json["password"] = json!("changed");
        }
        self.log(
            &mut tx,
            actor,
            "update",
            "user",
            id.get(),
            Some(&json!(before)),
            Some(&after_json),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(after)
    }

    async fn token(&self, hash: &str) -> StoreResult<Option<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            u: UserRec,
            scopes: String,
        }
        let r: Option<Q> = fetch_opt(
            &self.db.read,
            &format!("SELECT {USER_COLS}, t.scopes FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked = 0"),
            &[hash.into()],
        )
        .await?;
        r.map(|r| Ok((r.u.try_into()?, r.scopes))).transpose()
    }

    async fn idempotent_claim(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
        now: jiff::Timestamp,
        stale_before: jiff::Timestamp,
    ) -> StoreResult<Option<(String, i64, String)>> {
        let now = &aftercare_app::ports::stamp(now);
        let stale_before = &aftercare_app::ports::stamp(stale_before);
        #[derive(sqlx::FromRow)]
        struct Q {
            request_hash: String,
            status: i64,
            body: String,
            created_at: String,
        }
        let mut tx = self.begin().await?;
        let found: Option<Q> = fetch_opt(
            &mut *tx,
            "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            &[V::I(user_id.get()), key.into()],
        )
        .await?;
        // What the key made, if its creation committed (whatever became of its answer).
        let effect: Option<i64> = scalar(
            &mut *tx,
            "SELECT entity_id FROM idempotent_effects WHERE user_id = $1 AND key = $2",
            &[V::I(user_id.get()), key.into()],
        )
        .await?;
        if let Some(q) = found.as_ref().filter(|q| q.status != 0) {
            return Ok(Some((q.request_hash.clone(), q.status, q.body.clone())));
        }
        if let Some(id) = effect {
            // Created, but the answer was never stored (a crash, a failed last step), or the
            // key's row was released since (its slower twin failed on the key): the record
            // stands, and the answer is the record the key made, kept from now on.
            let body = json!({ "id": id }).to_string();
            let hash = found.map_or_else(|| request_hash.to_owned(), |q| q.request_hash);
            exec(
                &mut *tx,
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) \
                 VALUES ($1, $2, $3, 201, $4, $5) \
                 ON CONFLICT (user_id, key) DO UPDATE SET status = 201, body = excluded.body",
                &[V::I(user_id.get()), key.into(), hash.clone().into(), body.clone().into(), now.into()],
            )
            .await?;
            tx.commit().await.map_err(backend_err)?;
            return Ok(Some((hash, 201, body)));
        }
        match found {
            Some(q) if q.created_at.as_str() >= stale_before.as_str() => {
                return Ok(Some((q.request_hash, q.status, q.body)));
            }
            Some(_) => {
                exec(
                    &mut *tx,
                    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                    &[V::I(user_id.get()), key.into()],
                )
                .await?;
            }
            None => {}
        }
        // Keys are kept for a day: a retry comes within minutes, not days.
        let day_ago = now
            .parse::<jiff::Timestamp>()
            .map(|t| aftercare_app::ports::stamp(t - std::time::Duration::from_secs(24 * 3600)))
            .unwrap_or_default();
        exec(
            &mut *tx,
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            &[day_ago.clone().into()],
        )
        .await?;
        exec(
            &mut *tx,
            "DELETE FROM idempotent_effects WHERE created_at < $1",
            &[day_ago.into()],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4)",
            &[V::I(user_id.get()), key.into(), request_hash.into(), now.into()],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(None)
    }

    async fn idempotent_finish(
        &self,
        user_id: UserId,
        key: &str,
        status: i64,
        body: &str,
    ) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND key = $4",
            &[V::I(status), body.into(), V::I(user_id.get()), key.into()],
        )
        .await
        .map(|_| ())
    }

    async fn idempotent_release(&self, user_id: UserId, key: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0",
            &[V::I(user_id.get()), key.into()],
        )
        .await
        .map(|_| ())
    }
}
