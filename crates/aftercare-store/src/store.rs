//! The `Store` port over SQL.

use crate::customers::{self, ROW_COLS, RowRec};
use crate::db::*;
use crate::orders::*;
use aftercare_app::StoreError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::catalog::{VoidCondition, WarrantyPolicy, format_money};
use aftercare_domain::contact::PhoneNumber;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::warranty::AssetFacts;
use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::{Any, AnyConnection};

type Tx = sqlx::Transaction<'static, Any>;

/// The store over one database.
#[derive(Clone)]
pub struct SqlStore {
    pub db: Db,
}

impl SqlStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        self.db.write.begin().await.map_err(backend_err)
    }

    /// The settings kept as JSON in a one-row table (`value_settings`, `survey_settings`,
    /// `voc_settings`); none until first saved.
    pub(crate) async fn settings_row(&self, table: &str) -> Result<Option<String>, StoreError> {
        fetch_opt::<_, (String,)>(
            &self.db.read,
            &format!("SELECT settings FROM {table} WHERE id = 1"),
            &[],
        )
        .await
        .map(|r| r.map(|r| r.0))
    }

    /// Saves the settings of a one-row table, with their audit row and change-log event.
    pub(crate) async fn save_settings_row(
        &self,
        table: &str,
        actor: &Actor,
        json: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        exec(
            &mut *tx,
            &format!(
                "INSERT INTO {table} (id, settings, updated_at, updated_by) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by"
            ),
            &[json.into(), now.into(), (&actor.label).into()],
        )
        .await?;
        let after: Value = serde_json::from_str(json).unwrap_or_default();
        self.log(&mut tx, actor, "update", table, 1, None, Some(&after), now)
            .await?;
        tx.commit().await.map_err(backend_err)
    }

    /// Appends the audit row and the change-log event of one write, in its transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        action: &str,
        entity: &str,
        id: i64,
        before: Option<&Value>,
        after: Option<&Value>,
        now: &str,
    ) -> Result<(), StoreError> {
        exec(
            &mut *tx,
            "INSERT INTO audit_log (at, actor_id, actor_label, action, entity, entity_id, before_json, after_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                V::T(now.into()),
                V::OptI(actor.user_id),
                V::T(actor.label.clone()),
                V::T(action.into()),
                V::T(entity.into()),
                V::I(id),
                V::OptT(before.map(Value::to_string)),
                V::OptT(after.map(Value::to_string)),
            ],
        )
        .await?;
        if self.db.backend == Backend::Postgres {
            // Sequence values are handed out before commit, so concurrent writers could
            // commit event 11 before event 10 and a reader at cursor 11 would skip 10.
            // This lock, held to commit, makes event ids commit in order. SQLite has one
            // writer at a time already.
            exec(
                &mut *tx,
                "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7220611)) AS l",
                &[],
            )
            .await?;
        }
        exec(
            &mut *tx,
            "INSERT INTO events (at, kind, entity, entity_id, payload) VALUES ($1, $2, $3, $4, $5)",
            &[
                V::T(now.into()),
                V::T(format!("{entity}.{action}")),
                V::T(entity.into()),
                V::I(id),
                V::T(json!({ "actor": actor.label, "after": after }).to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn timeline_add(
        &self,
        tx: &mut AnyConnection,
        customer_id: i64,
        at: &str,
        kind: &str,
        touchpoint: Option<&str>,
        ref_id: Option<i64>,
        summary: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        exec(
            &mut *tx,
            "INSERT INTO timeline (customer_id, at, kind, touchpoint, ref_id, summary, actor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                V::I(customer_id),
                V::T(at.into()),
                V::T(kind.into()),
                V::OptT(touchpoint.map(str::to_string)),
                V::OptI(ref_id),
                V::T(summary.into()),
                V::OptI(actor.user_id),
            ],
        )
        .await?;
        Ok(())
    }

    /// Inserts one customer with its children, duplicate candidates, audit row and first
    /// timeline entry, in the caller's transaction.
    pub(crate) async fn insert_customer(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        d: &CustomerDraft,
        now: &str,
    ) -> Result<i64, StoreError> {
        let cols = customers::columns(d);
        let mut sql = Sql::new("INSERT INTO customers (");
        sql.push(&cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "));
        sql.push(", created_at, updated_at) VALUES (");
        for (i, (_, v)) in cols.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(v);
        }
        sql.push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(") RETURNING id");
        let id = insert_id(&mut *tx, &sql.text, &sql.args).await?;
        customers::write_children(&mut *tx, id, d).await?;
        customers::find_duplicates_of(&mut *tx, id, d, now).await?;
        let after = json!({ "name": d.name, "kind": d.kind.code(),
                "phones": d.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>(),
                "emails": d.emails.iter().map(|e| e.address.as_str()).collect::<Vec<_>>() });
        self.log(
            &mut *tx,
            actor,
            "create",
            "customer",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        self.timeline_add(
            &mut *tx,
            id,
            now,
            "created",
            d.source.map(|s| s.code()),
            Some(id),
            &d.name,
            actor,
        )
        .await?;
        Ok(id)
    }

    async fn customer_exists(&self, tx: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
        Ok(scalar(
            &mut *tx,
            "SELECT id FROM customers WHERE id = $1",
            &[V::I(id)],
        )
        .await?
        .is_some())
    }
}

fn customer_json(c: &Customer) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

#[derive(sqlx::FromRow)]
struct UserRec {
    id: i64,
    email: String,
    name: String,
    role: String,
    lang: Option<String>,
    active: i64,
}

impl From<UserRec> for User {
    fn from(u: UserRec) -> Self {
        User {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            lang: u.lang,
            active: u.active != 0,
        }
    }
}

const USER_COLS: &str = "u.id, u.email, u.name, u.role, u.lang, u.active";

#[derive(sqlx::FromRow)]
struct PolicyRec {
    id: i64,
    name: String,
    return_days: i64,
    exchange_days: i64,
    repair_months: i64,
    repair_limit: i64,
    void_conditions: String,
}

impl From<PolicyRec> for Policy {
    fn from(p: PolicyRec) -> Self {
        Policy {
            id: p.id,
            name: p.name,
            return_days: p.return_days,
            exchange_days: p.exchange_days,
            repair_months: p.repair_months,
            repair_limit: p.repair_limit,
            void_conditions: customers::split_list(&p.void_conditions),
        }
    }
}

/// The stored-number prefix a partly typed phone number stands for: `138 0013` is
/// `+86138 0013…`, `010 6552` is `+86106552…` (no trunk 0), `+852 2345` stays foreign.
fn phone_prefix(s: &str) -> Option<String> {
    if !s.chars().all(|c| c.is_ascii_digit() || " -+()".contains(c)) {
        return None;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 3 {
        return None;
    }
    Some(if s.trim_start().starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("0086") {
        format!("+86{rest}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("+86{rest}")
    } else {
        format!("+86{digits}")
    })
}

fn sort_spec(
    sort: Option<&str>,
    allowed: &[(&str, &'static str, bool)],
    default: usize,
) -> Result<(&'static str, bool), StoreError> {
    match sort.filter(|s| !s.is_empty()) {
        None => Ok((allowed[default].1, allowed[default].2)),
        Some(s) => allowed
            .iter()
            .find(|(k, _, _)| *k == s)
            .map(|(_, col, desc)| (*col, *desc))
            .ok_or(StoreError::Conflict {
                code: "sort_unknown",
                field: Some("sort".into()),
            }),
    }
}

/// Adds `AND (col, id) > (cursor)` (or `<` when descending) and the matching ORDER BY.
fn keyset(
    sql: &mut Sql,
    col: &str,
    desc: bool,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(), StoreError> {
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
        let (v, id) = decode_cursor(c)?;
        sql.push(&format!(
            " AND ({col}, x_id) {} (",
            if desc { "<" } else { ">" }
        ));
        sql.bind(v).push(", ").bind(id).push(")");
    }
    let dir = if desc { "DESC" } else { "ASC" };
    sql.push(&format!(" ORDER BY {col} {dir}, x_id {dir} LIMIT "))
        .bind(limit as i64 + 1);
    Ok(())
}

fn next_page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> (String, i64)) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|l| {
            let (s, i) = key(l);
            encode_cursor(&s, i)
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        scalar(&self.db.read, "SELECT 1", &[]).await.map(|_| ())
    }

    async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        hash: &str,
        role: &str,
        now: &str,
    ) -> StoreResult<User> {
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
            id,
            email: email.into(),
            name: name.into(),
            role: role.into(),
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
        Ok(r.map(|r| Credentials {
            user: r.u.into(),
            password_hash: r.password_hash,
        }))
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        let r: Option<UserRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
            &[V::I(id)],
        )
        .await?;
        Ok(r.map(Into::into))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let r: Vec<UserRec> = fetch_all(
            &self.db.read,
            &format!("SELECT {USER_COLS} FROM users u ORDER BY u.name, u.id"),
            &[],
        )
        .await?;
        Ok(r.into_iter().map(Into::into).collect())
    }

    async fn set_user_lang(&self, id: i64, lang: Option<&str>) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE users SET lang = $1 WHERE id = $2",
            &[lang.into(), V::I(id)],
        )
        .await
        .map(|_| ())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: &str,
        expires: &str,
    ) -> StoreResult<()> {
        exec(
            &self.db.write,
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[token_hash.into(), V::I(user_id), csrf.into(), now.into(), expires.into()],
        )
        .await
        .map(|_| ())
    }

    async fn session(&self, token_hash: &str, now: &str) -> StoreResult<Option<SessionRecord>> {
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
        Ok(r.map(|r| SessionRecord {
            user: r.u.into(),
            csrf: r.csrf,
            expires_at: r.expires_at,
        }))
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

    async fn record_login(&self, email: &str, ip: &str, at: &str, ok: bool) -> StoreResult<()> {
        exec(
            &self.db.write,
            "INSERT INTO login_attempts (email, ip, at, succeeded) VALUES ($1, $2, $3, $4)",
            &[email.into(), ip.into(), at.into(), ok.into()],
        )
        .await?;
        if ok {
            // A successful login clears the failures counted against this email.
            exec(
                &self.db.write,
                "DELETE FROM login_attempts WHERE email = $1 AND succeeded = 0",
                &[email.into()],
            )
            .await?;
        }
        Ok(())
    }

    async fn failed_logins(&self, email: &str, ip: &str, since: &str) -> StoreResult<i64> {
        let by_email = scalar(
            &self.db.read,
            "SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND at > $2 AND succeeded = 0",
            &[email.into(), since.into()],
        )
        .await?
        .unwrap_or(0);
        // Per address the limit is four times higher: an office shares one address.
        let by_ip = scalar(
            &self.db.read,
            "SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at > $2 AND succeeded = 0",
            &[ip.into(), since.into()],
        )
        .await?
        .unwrap_or(0);
        Ok(by_email.max(by_ip / 4))
    }

    async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        name: &str,
        hash: &str,
        scopes: &str,
        now: &str,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[V::I(user_id), name.into(), hash.into(), scopes.into(), now.into()],
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

    async fn revoke_token(&self, actor: &Actor, id: i64, now: &str) -> StoreResult<()> {
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
        id: i64,
        change: &UserChange,
        now: &str,
    ) -> StoreResult<User> {
        let before = self.user(id).await?.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin().await?;
        if let Some(active) = change.active {
            exec(
                &mut *tx,
                "UPDATE users SET active = $1 WHERE id = $2",
                &[active.into(), V::I(id)],
            )
            .await?;
        }
        if let Some(role) = &change.role {
            exec(
                &mut *tx,
                "UPDATE users SET role = $1 WHERE id = $2",
                &[role.into(), V::I(id)],
            )
            .await?;
        }
        if let Some(hash) = &change.password_hash {
            exec(
                &mut *tx,
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                &[hash.into(), V::I(id)],
            )
            .await?;
        }
        if change.active == Some(false) || change.password_hash.is_some() {
            exec(
                &mut *tx,
                "DELETE FROM sessions WHERE user_id = $1",
                &[V::I(id)],
            )
            .await?;
        }
        let after = User {
            active: change.active.unwrap_or(before.active),
            role: change.role.clone().unwrap_or_else(|| before.role.clone()),
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
            id,
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
        Ok(r.map(|r| (r.u.into(), r.scopes)))
    }

    async fn idempotent_claim(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &str,
        now: &str,
        stale_before: &str,
    ) -> StoreResult<Option<(String, i64, String)>> {
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
            &[V::I(user_id), key.into()],
        )
        .await?;
        match found {
            Some(q) if !(q.status == 0 && q.created_at.as_str() < stale_before) => {
                return Ok(Some((q.request_hash, q.status, q.body)));
            }
            Some(_) => {
                exec(
                    &mut *tx,
                    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                    &[V::I(user_id), key.into()],
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
            &[day_ago.into()],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4)",
            &[V::I(user_id), key.into(), request_hash.into(), now.into()],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(None)
    }

    async fn idempotent_finish(
        &self,
        user_id: i64,
        key: &str,
        status: i64,
        body: &str,
    ) -> StoreResult<()> {
        exec(
            &self.db.write,
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND key = $4",
            &[V::I(status), body.into(), V::I(user_id), key.into()],
        )
        .await
        .map(|_| ())
    }

    async fn idempotent_release(&self, user_id: i64, key: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0",
            &[V::I(user_id), key.into()],
        )
        .await
        .map(|_| ())
    }

    async fn create_customers(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>> {
        let (me, actor, now, drafts) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            drafts.to_vec(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, drafts) =
                    (me.clone(), actor.clone(), now.clone(), drafts.clone());
                Box::pin(async move {
                    let (actor, now) = (&actor, now.as_str());
                    let drafts = drafts.as_slice();
                    let mut ids = Vec::with_capacity(drafts.len());
                    for d in drafts {
                        let id = me.insert_customer(&mut *tx, actor, d, now).await?;
                        ids.push(id);
                    }
                    Ok(ids)
                })
            })
            .await
    }

    async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        d: &CustomerDraft,
        version: Option<i64>,
        now: &str,
    ) -> StoreResult<()> {
        let before = customers::load(&self.db.read, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.merged_into.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_merged",
                field: None,
            });
        }
        let (me, actor, now, d, before) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            d.clone(),
            before.clone(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, d, before) = (
                    me.clone(),
                    actor.clone(),
                    now.clone(),
                    d.clone(),
                    before.clone(),
                );
                Box::pin(async move {
                    let (actor, now) = (&actor, now.as_str());
                    let d = &d;
                    let before = &before;
                    let cols = customers::columns(d);
                    let mut sql = Sql::new("UPDATE customers SET ");
                    for (c, v) in cols {
                        sql.push(c).push(" = ").bind(v).push(", ");
                    }
                    sql.push("updated_at = ")
                        .bind(now)
                        .push(", version = version + 1 WHERE id = ")
                        .bind(id);
                    if let Some(v) = version {
                        sql.push(" AND version = ").bind(v);
                    }
                    let n = exec(&mut *tx, &sql.text, &sql.args).await?;
                    if n == 0 {
                        return Err(StoreError::Conflict {
                            code: "stale_version",
                            field: Some("version".into()),
                        });
                    }
                    customers::delete_children(&mut *tx, id).await?;
                    customers::write_children(&mut *tx, id, d).await?;
                    customers::find_duplicates_of(&mut *tx, id, d, now).await?;
                    let before_json = customer_json(before);
                    // The new state for the audit row: the stored profile with the draft written over it.
                    let after = {
                        let mut a = before_json.clone();
                        let cols = customers::columns(d);
                        if let Value::Object(m) = &mut a {
                            for (c, v) in cols {
                                let v = match v {
                                    V::T(s) => json!(s),
                                    V::OptT(s) => json!(s),
                                    V::I(i) => json!(i),
                                    V::OptI(i) => json!(i),
                                    V::B(b) => json!(b.len()),
                                    V::F(f) => json!(f),
                                    V::OptF(f) => json!(f),
                                };
                                m.insert(c.to_string(), v);
                            }
                            m.insert(
                                "phones".into(),
                                json!(
                                    d.phones
                                        .iter()
                                        .map(|p| p.number.as_str())
                                        .collect::<Vec<_>>()
                                ),
                            );
                            m.insert(
                                "emails".into(),
                                json!(
                                    d.emails
                                        .iter()
                                        .map(|e| e.address.as_str())
                                        .collect::<Vec<_>>()
                                ),
                            );
                            m.insert("tags".into(), json!(d.tags));
                            m.insert(
                                "consent".into(),
                                json!(d.consent.iter().map(|c| c.code()).collect::<Vec<_>>()),
                            );
                        }
                        a
                    };
                    let changed: Vec<String> = match (&before_json, &after) {
                        (Value::Object(b), Value::Object(a)) => {
                            let mut keys: Vec<String> = a
                                .iter()
                                .filter(|(k, v)| {
                                    !matches!(
                                        k.as_str(),
                                        "updated_at"
                                            | "version"
                                            | "name_sort"
                                            | "primary_phone"
                                            | "primary_email"
                                            | "city"
                                    ) && b
                                        .get(*k)
                                        .map(|bv| simplify(bv) != simplify(v))
                                        .unwrap_or(true)
                                })
                                .map(|(k, _)| k.clone())
                                .collect();
                            keys.sort();
                            keys
                        }
                        _ => vec![],
                    };
                    me.log(
                        &mut *tx,
                        actor,
                        "update",
                        "customer",
                        id,
                        Some(&before_json),
                        Some(&after),
                        now,
                    )
                    .await?;
                    me.timeline_add(
                        &mut *tx,
                        id,
                        now,
                        "change",
                        None,
                        Some(id),
                        &changed.join(", "),
                        actor,
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn customer(&self, id: i64) -> StoreResult<Option<Customer>> {
        customers::load(&self.db.read, id).await
    }

    async fn customers(&self, q: &CustomerQuery) -> StoreResult<Page<CustomerRow>> {
        let limit = q.limit.unwrap_or(50);
        let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
        // What the search looks like decides the index: email, phone, serial or name.
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT {ROW_COLS}, c.id AS x_id FROM customers c WHERE c.merged_into IS NULL"
        ));
        let (col, desc) = sort_spec(
            q.sort.as_deref(),
            &[
                ("name", "name_sort", false),
                ("-name", "name_sort", true),
                ("created", "created_at", false),
                ("-created", "created_at", true),
            ],
            0,
        )?;
        if let Some(s) = search {
            if s.contains('@') {
                let k = s.to_lowercase();
                sql.push(
                    " AND c.id IN (SELECT customer_id FROM customer_emails WHERE match_key >= ",
                )
                .bind(k.clone())
                .push(" AND match_key < ")
                .bind(prefix_end(&k))
                .push(")");
            } else if let Some(cid) = match aftercare_domain::catalog::parse_serial(s) {
                // A serial number, when one matches exactly (serials may be all digits).
                Ok(serial) if serial.chars().any(|c| c.is_ascii_digit()) => {
                    scalar(
                        &self.db.read,
                        "SELECT customer_id FROM assets WHERE serial = $1",
                        &[serial.into()],
                    )
                    .await?
                }
                _ => None,
            } {
                sql.push(" AND c.id = ").bind(cid);
            } else if let Ok(p) = PhoneNumber::parse(s) {
                sql.push(" AND c.id IN (SELECT customer_id FROM customer_phones WHERE number = ")
                    .bind(p.as_str())
                    .push(")");
            } else if let Some(prefix) = phone_prefix(s) {
                sql.push(" AND c.id IN (SELECT customer_id FROM customer_phones WHERE number >= ")
                    .bind(prefix.clone())
                    .push(" AND number < ")
                    .bind(prefix_end(&prefix))
                    .push(")");
            } else {
                // A name: its pinyin range uses the sort index, so results come in pinyin
                // order; for Chinese input the name itself must also start with it.
                let key = aftercare_domain::customer::sort_key(s);
                let key = if s.is_ascii() {
                    key.trim_end().to_string()
                } else {
                    key
                };
                sql.push(" AND c.name_sort >= ")
                    .bind(key.clone())
                    .push(" AND c.name_sort < ")
                    .bind(prefix_end(&key));
                if !s.is_ascii() {
                    sql.push(" AND c.name >= ")
                        .bind(s)
                        .push(" AND c.name < ")
                        .bind(prefix_end(s));
                }
            }
        }
        if let Some(k) = q.kind.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.kind = ").bind(k);
        }
        if let Some(t) = q.tag.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ")
                .bind(t)
                .push(")");
        }
        if let Some(city) = q.city.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.city = ").bind(city);
        }
        sql.push(") t WHERE 1 = 1");
        keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
        let rows: Vec<RowRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| {
            let v = match col {
                "name" => r.name.clone(),
                "created_at" => r.created_at.clone(),
                _ => r.name_sort.clone(),
            };
            (v, r.id)
        });
        Ok(Page {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn timeline(
        &self,
        customer_id: i64,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<TimelineEntry>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            customer_id: i64,
            at: String,
            kind: String,
            touchpoint: Option<String>,
            ref_id: Option<i64>,
            summary: String,
            actor_name: Option<String>,
        }
        let mut sql = Sql::new(
            "SELECT * FROM (SELECT t.id, t.id AS x_id, t.customer_id, t.at, t.kind, t.touchpoint, t.ref_id, t.summary, u.name AS actor_name \
             FROM timeline t LEFT JOIN users u ON u.id = t.actor_id WHERE t.customer_id = ",
        );
        sql.bind(customer_id).push(") x WHERE 1 = 1");
        keyset(&mut sql, "at", true, cursor, limit)?;
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| (r.at.clone(), r.id));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| TimelineEntry {
                    id: r.id,
                    customer_id: r.customer_id,
                    at: r.at,
                    kind: r.kind,
                    touchpoint: r.touchpoint,
                    ref_id: r.ref_id,
                    summary: r.summary,
                    actor_name: r.actor_name,
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn add_interactions(
        &self,
        actor: &Actor,
        items: &[(i64, InteractionDraft)],
        now: &str,
    ) -> StoreResult<Vec<i64>> {
        let (me, actor, now, items) =
            (self.clone(), actor.clone(), now.to_string(), items.to_vec());
        self.db
            .write_job(move |tx| {
                let (me, actor, now, items) = (me.clone(), actor.clone(), now.clone(), items.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let items = items.as_slice();
        let mut ids = Vec::with_capacity(items.len());
        for (customer_id, d) in items {
            let customer_id = *customer_id;
            if !me.customer_exists(&mut *tx, customer_id).await? {
                return Err(StoreError::NotFound);
            }
            let id = insert_id(
                &mut *tx,
                "INSERT INTO interactions (customer_id, touchpoint, direction, subject, body, at, user_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[V::I(customer_id), d.touchpoint.code().into(), d.direction.into(), (&d.subject).into(), (&d.body).into(), now.into(), V::OptI(actor.user_id)],
            )
            .await?;
            let after = json!({"customer_id": customer_id, "touchpoint": d.touchpoint.code(), "direction": d.direction, "subject": d.subject});
            me.log(
                &mut *tx,
                actor,
                "create",
                "interaction",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            me.timeline_add(
                &mut *tx,
                customer_id,
                now,
                "interaction",
                Some(d.touchpoint.code()),
                Some(id),
                &d.subject,
                actor,
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
                })
            })
            .await
    }

    async fn duplicates(&self, limit: u32) -> StoreResult<Vec<DuplicatePair>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            a: i64,
            b: i64,
            reason: String,
            value: String,
        }
        let pairs: Vec<Q> = fetch_all(
            &self.db.read,
            "SELECT d.a, d.b, d.reason, d.value FROM duplicate_candidates d \
             WHERE NOT EXISTS (SELECT 1 FROM duplicate_dismissals x WHERE x.a = d.a AND x.b = d.b) \
             AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id IN (d.a, d.b) AND c.merged_into IS NOT NULL) \
             AND ( \
               (d.reason = 'phone' \
                AND EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = d.a AND p.number = d.value) \
                AND EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = d.b AND p.number = d.value)) \
               OR (d.reason = 'email' \
                AND EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = d.a AND e.match_key = d.value) \
                AND EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = d.b AND e.match_key = d.value))) \
             ORDER BY d.b DESC, d.a LIMIT $1",
            &[V::I(limit as i64 * 2)],
        )
        .await?;
        let mut out: Vec<DuplicatePair> = Vec::new();
        for r in pairs {
            if out.iter().any(|p| p.a.id == r.a && p.b.id == r.b) {
                continue;
            }
            let row = |id: i64| async move {
                fetch_opt::<_, RowRec>(
                    &self.db.read,
                    &format!("SELECT {ROW_COLS} FROM customers c WHERE c.id = $1"),
                    &[V::I(id)],
                )
                .await
            };
            if let (Some(a), Some(b)) = (row(r.a).await?, row(r.b).await?) {
                let value = if r.reason == "phone" {
                    PhoneNumber::from_stored(r.value).display()
                } else {
                    r.value
                };
                out.push(DuplicatePair {
                    a: a.into(),
                    b: b.into(),
                    reason: r.reason,
                    value,
                });
            }
            if out.len() >= limit as usize {
                break;
            }
        }
        Ok(out)
    }

    async fn dismiss_duplicate(&self, actor: &Actor, a: i64, b: i64, now: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "INSERT INTO duplicate_dismissals (a, b) VALUES ($1, $2)",
            &[V::I(a), V::I(b)],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "dismiss_duplicate",
            "customer",
            a,
            None,
            Some(&json!({"a": a, "b": b})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn merge_customers(
        &self,
        actor: &Actor,
        keep: i64,
        drop: i64,
        now: &str,
    ) -> StoreResult<()> {
        let k = customers::load(&self.db.read, keep)
            .await?
            .ok_or(StoreError::NotFound)?;
        let d = customers::load(&self.db.read, drop)
            .await?
            .ok_or(StoreError::NotFound)?;
        if k.merged_into.is_some() || d.merged_into.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_merged",
                field: None,
            });
        }
        let mut tx = self.begin().await?;
        // Child rows move to the kept customer; duplicates of what it already has are
        // dropped, everything else is kept, marked not primary.
        exec(&mut *tx, "DELETE FROM customer_phones WHERE customer_id = $1 AND number IN (SELECT number FROM customer_phones WHERE customer_id = $2)", &[V::I(drop), V::I(keep)]).await?;
        exec(&mut *tx, "DELETE FROM customer_emails WHERE customer_id = $1 AND match_key IN (SELECT match_key FROM customer_emails WHERE customer_id = $2)", &[V::I(drop), V::I(keep)]).await?;
        exec(&mut *tx, "DELETE FROM customer_tags WHERE customer_id = $1 AND tag IN (SELECT tag FROM customer_tags WHERE customer_id = $2)", &[V::I(drop), V::I(keep)]).await?;
        for t in ["customer_phones", "customer_emails", "customer_addresses"] {
            exec(
                &mut *tx,
                &format!("UPDATE {t} SET customer_id = $1, is_primary = 0 WHERE customer_id = $2"),
                &[V::I(keep), V::I(drop)],
            )
            .await?;
        }
        for t in [
            "customer_family",
            "customer_dates",
            "customer_tags",
            "orders",
            "assets",
            "interactions",
            "timeline",
        ] {
            exec(
                &mut *tx,
                &format!("UPDATE {t} SET customer_id = $1 WHERE customer_id = $2"),
                &[V::I(keep), V::I(drop)],
            )
            .await?;
        }
        let tags: Vec<(String,)> = fetch_all(
            &mut *tx,
            "SELECT tag FROM customer_tags WHERE customer_id = $1 ORDER BY tag",
            &[V::I(keep)],
        )
        .await?;
        let tags = tags.into_iter().map(|t| t.0).collect::<Vec<_>>().join(",");
        // Fill the kept profile's blanks from the merged one.
        exec(
            &mut *tx,
            "UPDATE customers SET tags = $1, company = COALESCE(company, $2), title = COALESCE(title, $3), \
             birthday = COALESCE(birthday, $4), account_manager_id = COALESCE(account_manager_id, $5), \
             habits = COALESCE(habits, $6), preferences = COALESCE(preferences, $7), \
             notes = CASE WHEN $8 = '' THEN notes WHEN notes IS NULL THEN $8 ELSE notes || ' / ' || $8 END, \
             primary_email = COALESCE(primary_email, $9), primary_phone = COALESCE(primary_phone, $10), \
             city = COALESCE(city, $11), updated_at = $12, version = version + 1 WHERE id = $13",
            &[
                tags.into(),
                (&d.company).into(),
                (&d.title).into(),
                (&d.birthday).into(),
                V::OptI(d.account_manager_id),
                (&d.habits).into(),
                (&d.preferences).into(),
                d.notes.clone().unwrap_or_default().into(),
                d.emails.first().map(|e| e.address.clone()).into(),
                d.phones.first().map(|p| p.number.clone()).into(),
                d.addresses.first().and_then(|a| a.city.clone()).into(),
                now.into(),
                V::I(keep),
            ],
        )
        .await?;
        // If the kept one had no primary phone/email before, make the moved one primary.
        for t in ["customer_phones", "customer_emails", "customer_addresses"] {
            exec(
                &mut *tx,
                &format!(
                    "UPDATE {t} SET is_primary = 1 WHERE id = (SELECT MIN(id) FROM {t} WHERE customer_id = $1) \
                     AND NOT EXISTS (SELECT 1 FROM {t} WHERE customer_id = $1 AND is_primary = 1)"
                ),
                &[V::I(keep)],
            )
            .await?;
        }
        exec(&mut *tx, "UPDATE customers SET merged_into = $1, updated_at = $2, version = version + 1 WHERE id = $3", &[V::I(keep), now.into(), V::I(drop)]).await?;
        crate::purchases::refresh(&mut tx, self.db.backend, &[keep, drop]).await?;
        // The kept customer may now share a number with someone else.
        customers::find_duplicates_of_stored(&mut tx, keep, now).await?;
        self.log(
            &mut tx,
            actor,
            "merge",
            "customer",
            keep,
            Some(&json!({"kept": customer_json(&k), "merged": customer_json(&d)})),
            Some(&json!({"kept": keep, "merged": drop})),
            now,
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "merged_into",
            "customer",
            drop,
            Some(&customer_json(&d)),
            Some(&json!({"merged_into": keep})),
            now,
        )
        .await?;
        self.timeline_add(
            &mut tx,
            keep,
            now,
            "merge",
            None,
            Some(drop),
            &format!("{} (#{drop})", d.name),
            actor,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn create_policy(
        &self,
        actor: &Actor,
        name: &str,
        p: &WarrantyPolicy,
        now: &str,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let voids = p
            .void_conditions
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(",");
        let id = insert_id(
            &mut *tx,
            "INSERT INTO warranty_policies (name, return_days, exchange_days, repair_months, repair_limit, void_conditions) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[name.into(), V::I(p.return_days as i64), V::I(p.exchange_days as i64), V::I(p.repair_months as i64), V::I(p.repair_limit as i64), voids.into()],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "warranty_policy",
            id,
            None,
            Some(&json!({"name": name, "policy": p})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn policies(&self) -> StoreResult<Vec<Policy>> {
        let r: Vec<PolicyRec> = fetch_all(&self.db.read, "SELECT id, name, return_days, exchange_days, repair_months, repair_limit, void_conditions FROM warranty_policies ORDER BY id", &[]).await?;
        Ok(r.into_iter().map(Into::into).collect())
    }

    async fn create_category(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<i64>,
        policy: Option<i64>,
        now: &str,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO product_categories (name, parent_id, policy_id) VALUES ($1, $2, $3) RETURNING id",
            &[name.into(), V::OptI(parent), V::OptI(policy)],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "category",
            id,
            None,
            Some(&json!({"name": name, "parent_id": parent, "policy_id": policy})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            name: String,
            parent_id: Option<i64>,
            policy_id: Option<i64>,
        }
        let r: Vec<Q> = fetch_all(
            &self.db.read,
            "SELECT id, name, parent_id, policy_id FROM product_categories ORDER BY id",
            &[],
        )
        .await?;
        Ok(r.into_iter()
            .map(|r| Category {
                id: r.id,
                name: r.name,
                parent_id: r.parent_id,
                policy_id: r.policy_id,
            })
            .collect())
    }

    async fn create_products(
        &self,
        actor: &Actor,
        drafts: &[aftercare_app::input::ProductDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut ids = Vec::new();
        for (i, d) in drafts.iter().enumerate() {
            let id = insert_id(
                &mut *tx,
                "INSERT INTO products (sku, name, name_sort, category_id, policy_id, price, currency, serialized, strategy, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[(&d.sku).into(), (&d.name).into(), aftercare_domain::customer::sort_key(&d.name).into(), V::I(d.category_id), V::OptI(d.policy_id), V::I(d.price), (&d.currency).into(), d.serialized.into(), d.strategy.code().into(), now.into()],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "sku_taken", field: Some(if drafts.len() > 1 { format!("[{i}].sku") } else { "sku".into() }) },
                StoreError::Conflict { code: "reference_not_found", .. } => StoreError::Conflict { code: "not_found", field: Some("category_id".into()) },
                e => e,
            })?;
            self.log(&mut tx, actor, "create", "product", id, None, Some(&json!({"sku": d.sku, "name": d.name, "price": d.price, "category_id": d.category_id})), now).await?;
            ids.push(id);
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(ids)
    }

    async fn update_product(
        &self,
        actor: &Actor,
        id: i64,
        d: &aftercare_app::input::ProductDraft,
        now: &str,
    ) -> StoreResult<()> {
        let before = self.product(id).await?.ok_or(StoreError::NotFound)?;
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "UPDATE products SET sku = $1, name = $2, name_sort = $3, category_id = $4, policy_id = $5, price = $6, \
             currency = $7, serialized = $8, strategy = $9 WHERE id = $10",
            &[(&d.sku).into(), (&d.name).into(), aftercare_domain::customer::sort_key(&d.name).into(), V::I(d.category_id), V::OptI(d.policy_id), V::I(d.price), (&d.currency).into(), d.serialized.into(), d.strategy.code().into(), V::I(id)],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "sku_taken", field: Some("sku".into()) },
            e => e,
        })?;
        self.log(
            &mut tx,
            actor,
            "update",
            "product",
            id,
            Some(&json!(before)),
            Some(&json!({"sku": d.sku, "name": d.name, "price": d.price})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn product(&self, id: i64) -> StoreResult<Option<Product>> {
        let r: Option<ProductRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {PRODUCT_COLS} FROM products p JOIN product_categories c ON c.id = p.category_id WHERE p.id = $1"),
            &[V::I(id)],
        )
        .await?;
        Ok(r.map(Into::into))
    }

    async fn products(&self, q: &ProductQuery) -> StoreResult<Page<Product>> {
        let limit = q.limit.unwrap_or(50);
        let (col, desc) = sort_spec(
            q.sort.as_deref(),
            &[
                ("name", "name_sort", false),
                ("-name", "name_sort", true),
                ("price", "price_key", false),
                ("-price", "price_key", true),
            ],
            0,
        )?;
        // Prices sort as fixed-width text so one cursor format serves every sort.
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT {PRODUCT_COLS}, p.id AS x_id, SUBSTR('0000000000000000' || CAST(p.price AS TEXT), LENGTH(CAST(p.price AS TEXT)) + 1, 16) AS price_key \
             FROM products p JOIN product_categories c ON c.id = p.category_id WHERE 1 = 1"
        ));
        if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let up = s.to_uppercase();
            let low = s.to_lowercase();
            sql.push(" AND ((p.sku >= ")
                .bind(up.clone())
                .push(" AND p.sku < ")
                .bind(prefix_end(&up));
            sql.push(") OR (p.name >= ")
                .bind(s)
                .push(" AND p.name < ")
                .bind(prefix_end(s));
            sql.push(") OR (p.name_sort >= ")
                .bind(low.clone())
                .push(" AND p.name_sort < ")
                .bind(prefix_end(&low))
                .push("))");
        }
        if let Some(c) = q.category_id {
            sql.push(" AND p.category_id = ").bind(c);
        }
        sql.push(") t WHERE 1 = 1");
        keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            p: ProductRec,
            price_key: String,
        }
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| {
            (
                if col == "price_key" {
                    r.price_key.clone()
                } else {
                    r.p.name_sort.clone()
                },
                r.p.id,
            )
        });
        Ok(Page {
            items: page.items.into_iter().map(|r| r.p.into()).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn create_outlet(
        &self,
        actor: &Actor,
        name: &str,
        kind: &str,
        city: Option<&str>,
        now: &str,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO outlets (name, kind, city) VALUES ($1, $2, $3) RETURNING id",
            &[name.into(), kind.into(), city.into()],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "create",
            "outlet",
            id,
            None,
            Some(&json!({"name": name, "kind": kind, "city": city})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn outlets(&self) -> StoreResult<Vec<Outlet>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            name: String,
            kind: String,
            city: Option<String>,
        }
        let r: Vec<Q> = fetch_all(
            &self.db.read,
            "SELECT id, name, kind, city FROM outlets ORDER BY id",
            &[],
        )
        .await?;
        Ok(r.into_iter()
            .map(|r| Outlet {
                id: r.id,
                name: r.name,
                kind: r.kind,
                city: r.city,
            })
            .collect())
    }

    async fn create_orders(
        &self,
        actor: &Actor,
        drafts: &[OrderDraft],
        now: &str,
    ) -> StoreResult<Vec<i64>> {
        let (me, actor, now, drafts) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            drafts.to_vec(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, drafts) = (me.clone(), actor.clone(), now.clone(), drafts.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let drafts = drafts.as_slice();
        let mut ids = Vec::new();
        for d in drafts {
            if !me.customer_exists(&mut *tx, d.customer_id).await? {
                return Err(StoreError::Conflict {
                    code: "not_found",
                    field: Some("customer_id".into()),
                });
            }
            let placeholder = format!("pending-{}", crate::db::encode_cursor(now, d.customer_id));
            let id = insert_id(
                &mut *tx,
                "INSERT INTO orders (number, customer_id, channel, outlet_id, ordered_on, status, currency, discount, total, \
                 payment_terms, special_needs, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                &[placeholder.into(), V::I(d.customer_id), d.channel.code().into(), V::OptI(d.outlet_id), d.ordered_on.to_string().into(), d.status.code().into(), (&d.currency).into(), V::I(d.discount), V::I(d.total()), (&d.payment_terms).into(), (&d.special_needs).into(), V::OptI(actor.user_id), now.into()],
            )
            .await?;
            let number = format!("SO-{}-{id:06}", d.ordered_on.year());
            exec(
                &mut *tx,
                "UPDATE orders SET number = $1 WHERE id = $2",
                &[number.clone().into(), V::I(id)],
            )
            .await?;
            let mut serials = Vec::new();
            for line in &d.lines {
                let item_id = insert_id(
                    &mut *tx,
                    "INSERT INTO order_items (order_id, product_id, quantity, unit_price, discount, amount) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[V::I(id), V::I(line.product_id), V::I(line.quantity as i64), V::I(line.unit_price), V::I(line.discount), V::I(line.amount())],
                )
                .await?;
                for s in &line.serials {
                    let asset_id = insert_id(
                        &mut *tx,
                        "INSERT INTO assets (serial, product_id, customer_id, order_id, order_item_id, purchased_on, delivered_on, installed_on, location, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &[s.into(), V::I(line.product_id), V::I(d.customer_id), V::I(id), V::I(item_id), d.ordered_on.to_string().into(), d.delivered_on.map(|x| x.to_string()).into(), d.installed_on.map(|x| x.to_string()).into(), (&d.location).into(), now.into()],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict { code: "already_exists", .. } => StoreError::Conflict { code: "serial_taken", field: Some("serials".into()) },
                        e => e,
                    })?;
                    if let Some(inst) = d.installed_on {
                        exec(&mut *tx, "INSERT INTO asset_events (asset_id, day, kind, created_by, created_at) VALUES ($1, $2, 'installed', $3, $4)", &[V::I(asset_id), inst.to_string().into(), V::OptI(actor.user_id), now.into()]).await?;
                    }
                    me.log(&mut *tx, actor, "create", "asset", asset_id, None, Some(&json!({"serial": s, "product_id": line.product_id, "customer_id": d.customer_id, "order_id": id})), now).await?;
                    serials.push(s.clone());
                }
            }
            let after = json!({"number": number, "customer_id": d.customer_id, "channel": d.channel.code(), "total": d.total(), "currency": d.currency, "serials": serials});
            me.log(
                &mut *tx,
                actor,
                "create",
                "order",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            let summary = format!("{number} · {} {}", d.currency, format_money(d.total()));
            let at = if *d.ordered_on.to_string() < now[..10] {
                format!("{}T12:00:00.000000Z", d.ordered_on)
            } else {
                now.to_string()
            };
            me.timeline_add(
                &mut *tx,
                d.customer_id,
                &at,
                "order",
                Some(d.channel.touchpoint().code()),
                Some(id),
                &summary,
                actor,
            )
            .await?;
            ids.push(id);
        }
        let customers: Vec<i64> = drafts.iter().map(|d| d.customer_id).collect();
        crate::purchases::refresh(&mut *tx, me.db.backend, &customers).await?;
        Ok(ids)
                })
            })
            .await
    }

    async fn order(&self, id: i64) -> StoreResult<Option<Order>> {
        let Some(o): Option<OrderRec> = fetch_opt(
            &self.db.read,
            "SELECT o.id, o.number, o.customer_id, c.name AS customer_name, o.channel, o.outlet_id, t.name AS outlet_name, \
             o.ordered_on, o.status, o.currency, o.discount, o.total, o.payment_terms, o.special_needs, o.created_at \
             FROM orders o JOIN customers c ON c.id = o.customer_id LEFT JOIN outlets t ON t.id = o.outlet_id WHERE o.id = $1",
            &[V::I(id)],
        )
        .await?
        else {
            return Ok(None);
        };
        let items: Vec<ItemRec> = fetch_all(
            &self.db.read,
            "SELECT i.id, i.product_id, p.sku, p.name AS product_name, i.quantity, i.unit_price, i.discount, i.amount \
             FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = $1 ORDER BY i.id",
            &[V::I(id)],
        )
        .await?;
        let serials: Vec<(i64, String)> = fetch_all(
            &self.db.read,
            "SELECT order_item_id, serial FROM assets WHERE order_id = $1 ORDER BY id",
            &[V::I(id)],
        )
        .await?;
        Ok(Some(Order {
            id: o.id,
            number: o.number,
            customer_id: o.customer_id,
            customer_name: o.customer_name,
            channel: o.channel,
            outlet_id: o.outlet_id,
            outlet_name: o.outlet_name,
            ordered_on: o.ordered_on,
            status: o.status,
            currency: o.currency,
            discount: o.discount,
            total: o.total,
            payment_terms: o.payment_terms,
            special_needs: o.special_needs,
            items: items
                .into_iter()
                .map(|i| OrderItem {
                    serials: serials
                        .iter()
                        .filter(|(item, _)| *item == i.id)
                        .map(|(_, s)| s.clone())
                        .collect(),
                    id: i.id,
                    product_id: i.product_id,
                    sku: i.sku,
                    product_name: i.product_name,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    discount: i.discount,
                    amount: i.amount,
                })
                .collect(),
            created_at: o.created_at,
        }))
    }

    async fn orders(&self, q: &OrderQuery) -> StoreResult<Page<OrderRow>> {
        let limit = q.limit.unwrap_or(50);
        let (col, desc) = sort_spec(
            q.sort.as_deref(),
            &[
                ("-ordered", "ordered_on", true),
                ("ordered", "ordered_on", false),
                ("-total", "total_key", true),
                ("total", "total_key", false),
            ],
            0,
        )?;
        let mut sql = Sql::new(
            "SELECT * FROM (SELECT o.id, o.id AS x_id, o.number, o.customer_id, c.name AS customer_name, o.channel, o.ordered_on, o.status, o.currency, o.total, \
             SUBSTR('0000000000000000' || CAST(o.total AS TEXT), LENGTH(CAST(o.total AS TEXT)) + 1, 16) AS total_key \
             FROM orders o JOIN customers c ON c.id = o.customer_id WHERE 1 = 1",
        );
        if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let up = s.to_uppercase();
            sql.push(" AND (o.number >= ")
                .bind(up.clone())
                .push(" AND o.number < ")
                .bind(prefix_end(&up));
            sql.push(" OR o.id IN (SELECT order_id FROM assets WHERE serial = ")
                .bind(up)
                .push("))");
        }
        if let Some(c) = q.channel.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND o.channel = ").bind(c);
        }
        if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND o.status = ").bind(s);
        }
        if let Some(c) = q.customer_id {
            sql.push(" AND o.customer_id = ").bind(c);
        }
        sql.push(") t WHERE 1 = 1");
        keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
        #[derive(sqlx::FromRow)]
        struct Q {
            #[sqlx(flatten)]
            o: OrderRowRec,
            total_key: String,
        }
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| {
            (
                if col == "total_key" {
                    r.total_key.clone()
                } else {
                    r.o.ordered_on.clone()
                },
                r.o.id,
            )
        });
        Ok(Page {
            items: page.items.into_iter().map(|r| r.o.into()).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn asset(&self, id: i64) -> StoreResult<Option<Asset>> {
        let r: Option<AssetRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {ASSET_COLS} {ASSET_FROM} WHERE a.id = $1"),
            &[V::I(id)],
        )
        .await?;
        let Some(mut a): Option<Asset> = r.map(Into::into) else {
            return Ok(None);
        };
        let ev: Vec<AssetEventRec> = fetch_all(&self.db.read, "SELECT id, day, kind, void_condition, note, created_at FROM asset_events WHERE asset_id = $1 ORDER BY day DESC, id DESC", &[V::I(id)]).await?;
        a.events = ev.into_iter().map(Into::into).collect();
        Ok(Some(a))
    }

    async fn asset_by_serial(&self, serial: &str) -> StoreResult<Option<i64>> {
        scalar(
            &self.db.read,
            "SELECT id FROM assets WHERE serial = $1",
            &[serial.into()],
        )
        .await
    }

    async fn assets_of(&self, customer_id: i64) -> StoreResult<Vec<Asset>> {
        let r: Vec<AssetRec> = fetch_all(&self.db.read, &format!("SELECT {ASSET_COLS} {ASSET_FROM} WHERE a.customer_id = $1 ORDER BY a.purchased_on DESC, a.id DESC"), &[V::I(customer_id)]).await?;
        Ok(r.into_iter().map(Into::into).collect())
    }

    async fn warranty_inputs(&self, asset_ids: &[i64]) -> StoreResult<Vec<(i64, WarrantyInputs)>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            purchased_on: String,
            delivered_on: Option<String>,
            policy_id: Option<i64>,
        }
        if asset_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Sql::new(
            "SELECT a.id, a.purchased_on, a.delivered_on, COALESCE(p.policy_id, c.policy_id) AS policy_id FROM assets a \
             JOIN products p ON p.id = a.product_id JOIN product_categories c ON c.id = p.category_id WHERE 1 = 1",
        );
        in_list(&mut q, "a.id", asset_ids);
        let assets: Vec<Q> = fetch_all(&self.db.read, &q.text, &q.args).await?;
        // Policies are few; one read serves every asset.
        let policies: Vec<PolicyRec> = fetch_all(
            &self.db.read,
            "SELECT id, name, return_days, exchange_days, repair_months, repair_limit, void_conditions FROM warranty_policies",
            &[],
        )
        .await?;
        let mut q = Sql::new(
            "SELECT asset_id, day, kind, void_condition FROM asset_events WHERE kind IN ('repair', 'void')",
        );
        in_list(&mut q, "asset_id", asset_ids);
        let events: Vec<(i64, String, String, Option<String>)> =
            fetch_all(&self.db.read, &q.text, &q.args).await?;
        let date = |s: &str| s.parse::<aftercare_domain::Date>().ok();
        let mut out = Vec::with_capacity(assets.len());
        for r in assets {
            let policy = r
                .policy_id
                .and_then(|pid| policies.iter().find(|p| p.id == pid))
                .map(|p| WarrantyPolicy {
                    return_days: p.return_days as u32,
                    exchange_days: p.exchange_days as u32,
                    repair_months: p.repair_months as u32,
                    repair_limit: p.repair_limit as u32,
                    void_conditions: customers::split_list(&p.void_conditions)
                        .iter()
                        .filter_map(|c| VoidCondition::parse(c).ok())
                        .collect(),
                });
            let ev = events.iter().filter(|e| e.0 == r.id);
            let facts = AssetFacts {
                purchased_on: date(&r.purchased_on).ok_or_else(|| {
                    StoreError::Backend(format!("bad stored date {}", r.purchased_on))
                })?,
                delivered_on: r.delivered_on.as_deref().and_then(date),
                repairs: ev
                    .clone()
                    .filter(|e| e.2 == "repair")
                    .filter_map(|e| date(&e.1))
                    .collect(),
                voids: ev
                    .filter(|e| e.2 == "void")
                    .filter_map(|e| {
                        Some((VoidCondition::parse(e.3.as_deref()?).ok()?, date(&e.1)?))
                    })
                    .collect(),
            };
            out.push((r.id, WarrantyInputs { policy, facts }));
        }
        Ok(out)
    }

    async fn add_asset_events(
        &self,
        actor: &Actor,
        items: &[(i64, AssetEventDraft)],
        now: &str,
    ) -> StoreResult<Vec<i64>> {
        let (me, actor, now, items) =
            (self.clone(), actor.clone(), now.to_string(), items.to_vec());
        self.db
            .write_job(move |tx| {
                let (me, actor, now, items) = (me.clone(), actor.clone(), now.clone(), items.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let items = items.as_slice();
        let mut ids = Vec::with_capacity(items.len());
        for (asset_id, d) in items {
            let asset_id = *asset_id;
            let Some(customer_id) = scalar(
                &mut *tx,
                "SELECT customer_id FROM assets WHERE id = $1",
                &[V::I(asset_id)],
            )
            .await?
            else {
                return Err(StoreError::NotFound);
            };
            let id = insert_id(
            &mut *tx,
            "INSERT INTO asset_events (asset_id, day, kind, void_condition, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[V::I(asset_id), d.day.to_string().into(), d.kind.into(), d.void_condition.map(|c| c.code()).into(), (&d.note).into(), V::OptI(actor.user_id), now.into()],
        )
        .await?;
            if d.kind == "installed" {
                exec(
                    &mut *tx,
                    "UPDATE assets SET installed_on = COALESCE(installed_on, $1) WHERE id = $2",
                    &[d.day.to_string().into(), V::I(asset_id)],
                )
                .await?;
            }
            let after = json!({"asset_id": asset_id, "kind": d.kind, "day": d.day.to_string(), "void_condition": d.void_condition.map(|c| c.code()), "note": d.note});
            me.log(
                &mut *tx,
                actor,
                "create",
                "asset_event",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            let serial: Vec<(String,)> = fetch_all(
                &mut *tx,
                "SELECT serial FROM assets WHERE id = $1",
                &[V::I(asset_id)],
            )
            .await?;
            let serial = serial.into_iter().next().map(|s| s.0).unwrap_or_default();
            let summary = format!(
                "{serial} · {}{}",
                d.kind,
                d.void_condition
                    .map(|c| format!(" ({})", c.code()))
                    .unwrap_or_default()
            );
            me.timeline_add(
                &mut *tx,
                customer_id,
                now,
                "asset",
                Some("field_visit")
                    .filter(|_| d.kind == "installed" || d.kind == "repair" || d.kind == "service"),
                Some(asset_id),
                &summary,
                actor,
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
                })
            })
            .await
    }

    async fn audit(
        &self,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            at: String,
            actor_label: String,
            action: String,
            entity: String,
            entity_id: i64,
            before_json: Option<String>,
            after_json: Option<String>,
        }
        let mut sql = Sql::new(
            "SELECT id, at, actor_label, action, entity, entity_id, before_json, after_json FROM audit_log WHERE 1 = 1",
        );
        if let Some(e) = entity.filter(|e| !e.is_empty()) {
            sql.push(" AND entity = ").bind(e);
        }
        if let Some(i) = entity_id {
            sql.push(" AND entity_id = ").bind(i);
        }
        if let Some(b) = before_id {
            sql.push(" AND id < ").bind(b);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64);
        let rows: Vec<Q> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor_label,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                before: parse(r.before_json),
                after: parse(r.after_json),
            })
            .collect())
    }

    async fn events(&self, after_id: i64, limit: u32) -> StoreResult<Vec<ChangeEvent>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            id: i64,
            at: String,
            kind: String,
            entity: String,
            entity_id: i64,
            payload: String,
        }
        let rows: Vec<Q> = fetch_all(&self.db.read, "SELECT id, at, kind, entity, entity_id, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2", &[V::I(after_id), V::I(limit as i64)]).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChangeEvent {
                id: r.id,
                at: r.at,
                kind: r.kind,
                entity: r.entity,
                entity_id: r.entity_id,
                payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
            })
            .collect())
    }
}

/// Compares JSON loosely for change summaries: a list of objects and a list of their
/// values count as the same when they name the same things.
fn simplify(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| match x {
                    Value::Object(m) => m
                        .get("number")
                        .or_else(|| m.get("address"))
                        .cloned()
                        .unwrap_or_else(|| x.clone()),
                    _ => x.clone(),
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}
