//! The `PortalStore` port over SQL: customers' portal accounts and sessions, product
//! registration, and the articles of the self-service help.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::Article;
use aftercare_app::ports::*;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;

#[derive(sqlx::FromRow)]
struct AccountRec {
    id: i64,
    customer_id: i64,
    email: String,
    name: String,
    lang: Option<String>,
    secret: String,
}

impl AccountRec {
    fn split(self) -> (PortalAccount, String) {
        (
            PortalAccount {
                id: self.id,
                customer_id: CustomerId(self.customer_id),
                email: self.email,
                name: self.name,
                lang: self.lang,
            },
            self.secret,
        )
    }
}

#[derive(sqlx::FromRow)]
struct ArticleRec {
    id: i64,
    kind: String,
    product_id: Option<i64>,
    title_zh_hans: String,
    title_zh_hant: String,
    title_en: String,
    body_zh_hans: String,
    body_zh_hant: String,
    body_en: String,
    published: i64,
    updated_at: String,
}

impl TryFrom<ArticleRec> for Article {
    type Error = StoreError;

    fn try_from(a: ArticleRec) -> Result<Self, StoreError> {
        Ok(Article {
            id: ArticleId(a.id),
            kind: a.kind,
            product_id: a.product_id.map(ProductId),
            title_zh_hans: a.title_zh_hans,
            title_zh_hant: a.title_zh_hant,
            title_en: a.title_en,
            body_zh_hans: a.body_zh_hans,
            body_zh_hant: a.body_zh_hant,
            body_en: a.body_en,
            published: a.published != 0,
            updated_at: Cells::of("articles", a.id).at("updated_at", &a.updated_at)?,
        })
    }
}

const ARTICLE_COLS: &str = "id, kind, product_id, title_zh_hans, title_zh_hant, title_en, \
    body_zh_hans, body_zh_hant, body_en, published, updated_at";

fn article_args(a: &ArticleDraft) -> Vec<V> {
    vec![
        (&a.kind).into(),
        V::OptI(a.product_id.map(ProductId::get)),
        (&a.titles[0]).into(),
        (&a.titles[1]).into(),
        (&a.titles[2]).into(),
        (&a.bodies[0]).into(),
        (&a.bodies[1]).into(),
        (&a.bodies[2]).into(),
        a.published.into(),
    ]
}

#[async_trait]
impl PortalStore for SqlStore {
    async fn portal_signup(
        &self,
        actor: &Actor,
        d: &CustomerDraft,
        email_key: &str,
        password_hash: &str,
        lang: Option<&str>,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<(i64, CustomerId)> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, d, email, hash, lang, token, now) = (
            self.clone(),
            actor.clone(),
            d.clone(),
            email_key.to_string(),
            password_hash.to_string(),
            lang.map(str::to_string),
            token_hash.to_string(),
            now.to_string(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, d, email, hash, lang, token, now) = (
                    me.clone(),
                    actor.clone(),
                    d.clone(),
                    email.clone(),
                    hash.clone(),
                    lang.clone(),
                    token.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    // A link works once: whoever removes the pending row finishes it.
                    let pending = exec(
                        &mut *tx,
                        "DELETE FROM portal_signups WHERE token_hash = $1",
                        &[(&token).into()],
                    )
                    .await?;
                    if pending == 0 {
                        return Err(StoreError::NotFound);
                    }
                    let taken = scalar(
                        &mut *tx,
                        "SELECT id FROM portal_accounts WHERE email = $1",
                        &[(&email).into()],
                    )
                    .await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict {
                            code: "portal_account_exists",
                            field: Some("email".into()),
                        });
                    }
                    // The mailed link proved the address is theirs: a customer who has it
                    // gets the account.
                    let known = scalar(
                        &mut *tx,
                        "SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id \
                         WHERE e.match_key = $1 AND c.merged_into IS NULL AND c.erased_at IS NULL \
                         ORDER BY e.is_primary DESC, e.customer_id LIMIT 1",
                        &[(&email).into()],
                    )
                    .await?;
                    let customer = match known {
                        Some(id) => id,
                        None => me.insert_customer(&mut *tx, &actor, &d, &now).await?,
                    };
                    let account = insert_id(
                        &mut *tx,
                        "INSERT INTO portal_accounts (customer_id, email, password_hash, lang, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &[
                            V::I(customer),
                            (&email).into(),
                            (&hash).into(),
                            (&lang).into(),
                            (&now).into(),
                        ],
                    )
                    .await?;
                    // The language of the sign-up is the customer's, unless one was chosen.
                    exec(
                        &mut *tx,
                        "UPDATE customers SET lang = COALESCE(lang, $1) WHERE id = $2",
                        &[(&lang).into(), V::I(customer)],
                    )
                    .await?;
                    let after = json!({"customer_id": customer, "email": email});
                    me.log(
                        &mut *tx,
                        &actor,
                        "create",
                        "portal_account",
                        account,
                        None,
                        Some(&after),
                        &now,
                    )
                    .await?;
                    Ok((account, CustomerId(customer)))
                })
            })
            .await
    }

    async fn queue_portal_signup(
        &self,
        pending: Option<&PendingSignup>,
        mail: &PortalMail,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        // Links of earlier sign-ups for the address stop working, and expired ones go.
        if let Some(p) = pending {
            exec(
                &mut *tx,
                "DELETE FROM portal_signups WHERE email = $1 OR expires_at < $2",
                &[(&p.email).into(), (&now).into()],
            )
            .await?;
            exec(
                &mut *tx,
                "INSERT INTO portal_signups (token_hash, email, input, password_hash, lang, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    (&p.token_hash).into(),
                    (&p.email).into(),
                    (&p.input).into(),
                    (&p.password_hash).into(),
                    (&p.lang).into(),
                    (&now).into(),
                    aftercare_app::ports::stamp(p.expires_at).into(),
                ],
            )
            .await?;
        }
        crate::outbox::queue_mail(&mut tx, &mail.to, &mail.subject, &mail.body, None, &now).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn queue_password_reset(
        &self,
        account_id: i64,
        token_hash: &str,
        expires_at: jiff::Timestamp,
        mail: &PortalMail,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "DELETE FROM portal_resets WHERE account_id = $1 OR expires_at < $2",
            &[V::I(account_id), (&now).into()],
        )
        .await?;
        exec(
            &mut *tx,
            "INSERT INTO portal_resets (token_hash, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                token_hash.into(),
                V::I(account_id),
                (&now).into(),
                aftercare_app::ports::stamp(expires_at).into(),
            ],
        )
        .await?;
        crate::outbox::queue_mail(&mut tx, &mail.to, &mail.subject, &mail.body, None, &now).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn set_portal_lang(&self, account_id: i64, lang: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "UPDATE portal_accounts SET lang = $1 WHERE id = $2",
            &[lang.into(), V::I(account_id)],
        )
        .await?;
        exec(
            &mut *tx,
            "UPDATE customers SET lang = $1 \
             WHERE id = (SELECT customer_id FROM portal_accounts WHERE id = $2)",
            &[lang.into(), V::I(account_id)],
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn password_reset(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<i64>> {
        scalar(
            &self.db.write,
            "SELECT account_id FROM portal_resets WHERE token_hash = $1 AND expires_at > $2",
            &[token_hash.into(), aftercare_app::ports::stamp(now).into()],
        )
        .await
    }

    async fn reset_portal_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let Some(account) = scalar(
            &mut *tx,
            "SELECT account_id FROM portal_resets WHERE token_hash = $1 AND expires_at > $2",
            &[token_hash.into(), (&now).into()],
        )
        .await?
        else {
            return Err(StoreError::NotFound);
        };
        // A link works once: whoever removes it sets the password.
        let taken = exec(
            &mut *tx,
            "DELETE FROM portal_resets WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await?;
        if taken == 0 {
            return Err(StoreError::NotFound);
        }
        exec(
            &mut *tx,
            "UPDATE portal_accounts SET password_hash = $1 WHERE id = $2",
            &[password_hash.into(), V::I(account)],
        )
        .await?;
        exec(
            &mut *tx,
            "DELETE FROM portal_sessions WHERE account_id = $1",
            &[V::I(account)],
        )
        .await?;
        let actor = Actor::system("portal");
        self.log(
            &mut tx,
            &actor,
            "reset_password",
            "portal_account",
            account,
            None,
            None,
            &now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(account)
    }

    async fn pending_signup(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<PendingSignup>> {
        let r: Option<(String, String, String, String, String)> = fetch_opt(
            &self.db.write,
            "SELECT email, input, password_hash, lang, expires_at FROM portal_signups \
             WHERE token_hash = $1 AND expires_at > $2",
            &[token_hash.into(), aftercare_app::ports::stamp(now).into()],
        )
        .await?;
        r.map(|(email, input, password_hash, lang, expires_at)| {
            Ok(PendingSignup {
                token_hash: token_hash.to_owned(),
                email,
                input,
                password_hash,
                lang,
                expires_at: Cells::of("portal_signups", 0).at("expires_at", &expires_at)?,
            })
        })
        .transpose()
    }

    async fn portal_credentials(
        &self,
        email_key: &str,
    ) -> StoreResult<Option<(PortalAccount, String)>> {
        let r: Option<AccountRec> = fetch_opt(
            &self.db.read,
            "SELECT a.id, a.customer_id, a.email, c.name, a.lang, a.password_hash AS secret \
             FROM portal_accounts a JOIN customers c ON c.id = a.customer_id WHERE a.email = $1",
            &[email_key.into()],
        )
        .await?;
        Ok(r.map(AccountRec::split))
    }

    async fn create_portal_session(
        &self,
        token_hash: &str,
        account_id: i64,
        csrf: &str,
        now: jiff::Timestamp,
        expires: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let expires = &aftercare_app::ports::stamp(expires);
        exec(
            &self.db.write,
            "INSERT INTO portal_sessions (token_hash, account_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                token_hash.into(),
                V::I(account_id),
                csrf.into(),
                now.into(),
                expires.into(),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn portal_session(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Option<(PortalAccount, String)>> {
        let now = &aftercare_app::ports::stamp(now);
        let r: Option<AccountRec> = fetch_opt(
            &self.db.read,
            "SELECT a.id, a.customer_id, a.email, c.name, a.lang, s.csrf AS secret \
             FROM portal_sessions s JOIN portal_accounts a ON a.id = s.account_id \
             JOIN customers c ON c.id = a.customer_id WHERE s.token_hash = $1 AND s.expires_at > $2",
            &[token_hash.into(), now.into()],
        )
        .await?;
        Ok(r.map(AccountRec::split))
    }

    async fn delete_portal_session(&self, token_hash: &str) -> StoreResult<()> {
        exec(
            &self.db.write,
            "DELETE FROM portal_sessions WHERE token_hash = $1",
            &[token_hash.into()],
        )
        .await
        .map(|_| ())
    }

    async fn register_asset(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        product_id: ProductId,
        serial: &str,
        purchased_on: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<AssetId> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, serial, purchased_on, now) = (
            self.clone(),
            actor.clone(),
            serial.to_string(),
            purchased_on.to_string(),
            now.to_string(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, serial, purchased_on, now) = (
                    me.clone(),
                    actor.clone(),
                    serial.clone(),
                    purchased_on.clone(),
                    now.clone(),
                );
                Box::pin(async move {
                    if scalar(
                        &mut *tx,
                        "SELECT id FROM assets WHERE serial = $1",
                        &[(&serial).into()],
                    )
                    .await?
                    .is_some()
                    {
                        return Err(StoreError::Conflict {
                            code: "serial_taken",
                            field: Some("serial".into()),
                        });
                    }
                    let id = insert_id(
                        &mut *tx,
                        "INSERT INTO assets (serial, product_id, customer_id, purchased_on, delivered_on, created_at) \
                         VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
                        &[
                            (&serial).into(),
                            V::I(product_id.get()),
                            V::I(customer_id.get()),
                            (&purchased_on).into(),
                            (&now).into(),
                        ],
                    )
                    .await?;
                    exec(
                        &mut *tx,
                        "INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at) \
                         VALUES ($1, $2, 'note', 'registered by the customer', NULL, $3)",
                        &[V::I(id), (&purchased_on).into(), (&now).into()],
                    )
                    .await?;
                    let after = json!({"serial": serial, "product_id": product_id,
                        "customer_id": customer_id, "purchased_on": purchased_on});
                    me.log(&mut *tx, &actor, "create", "asset", id, None, Some(&after), &now)
                        .await?;
                    me.timeline_add(
                        &mut *tx,
                        customer_id.get(),
                        &now,
                        "asset",
                        Some("web"),
                        Some(id),
                        &format!("registered {serial}"),
                        &actor,
                    )
                    .await?;
                    Ok(AssetId(id))
                })
            })
            .await
    }

    async fn create_article(
        &self,
        actor: &Actor,
        a: &ArticleDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<ArticleId> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let mut vals = article_args(a);
        vals.push(now.into());
        let id = insert_id(
            &mut *tx,
            "INSERT INTO articles (kind, product_id, title_zh_hans, title_zh_hant, title_en, body_zh_hans, \
             body_zh_hant, body_en, published, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            &vals,
        )
        .await?;
        let after = json!({"kind": a.kind, "title": a.titles[0], "published": a.published});
        self.log(
            &mut tx,
            actor,
            "create",
            "article",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ArticleId(id))
    }

    async fn update_article(
        &self,
        actor: &Actor,
        id: ArticleId,
        a: &ArticleDraft,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let mut vals = article_args(a);
        vals.push(now.into());
        vals.push(V::I(id.get()));
        let n = exec(
            &mut *tx,
            "UPDATE articles SET kind = $1, product_id = $2, title_zh_hans = $3, title_zh_hant = $4, \
             title_en = $5, body_zh_hans = $6, body_zh_hant = $7, body_en = $8, published = $9, \
             updated_at = $10 WHERE id = $11",
            &vals,
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let after = json!({"kind": a.kind, "title": a.titles[0], "published": a.published});
        self.log(
            &mut tx,
            actor,
            "update",
            "article",
            id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        let a: Option<ArticleRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {ARTICLE_COLS} FROM articles WHERE id = $1"),
            &[V::I(id.get())],
        )
        .await?;
        a.map(TryInto::try_into).transpose()
    }

    async fn articles(
        &self,
        terms: &[String],
        published_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<Article>> {
        let mut sql = Sql::new(&format!("SELECT {ARTICLE_COLS} FROM articles WHERE 1 = 1"));
        if published_only {
            sql.push(" AND published = 1");
        }
        for t in terms {
            let p = like_contains(t);
            sql.push(" AND (");
            for (i, col) in [
                "title_zh_hans",
                "title_zh_hant",
                "title_en",
                "body_zh_hans",
                "body_zh_hant",
                "body_en",
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    sql.push(" OR ");
                }
                // Lower-cased on both sides so English matches whatever the case.
                sql.push(&format!("LOWER({col}) LIKE "))
                    .bind(p.to_lowercase())
                    .push(" ESCAPE '\\'");
            }
            sql.push(")");
        }
        sql.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
            .bind(limit as i64);
        let rows: Vec<ArticleRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
