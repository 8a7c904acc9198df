//! The use cases: each checks who may do it, validates, and calls the store.

use crate::auth;
use crate::error::AppError;
use crate::input::*;
use crate::model::*;
use crate::ports;
pub use crate::ports::Actor;
use crate::ports::{Clock, Store};
use aftercare_domain::Invalid;
use aftercare_domain::account::{Permission, Role, Scope};
use aftercare_domain::ids::*;
use aftercare_domain::lang::Lang;
use aftercare_domain::warranty;
use std::sync::Arc;

/// Who is asking: a signed-in user, or a user through an API token with scopes.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub role: Role,
    /// `None` for a browser session; the token's scopes otherwise.
    pub scopes: Option<Vec<Scope>>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            label: self.user.email.clone(),
            idempotency: crate::ports::IDEMPOTENCY.try_with(Clone::clone).ok(),
        }
    }

    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        let scoped = self
            .scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s.covers(p)));
        if self.role.allows(p) && scoped {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The use cases. Each area's methods sit in an `impl` block bounded by the ports that
/// area uses (`impl<S: ?Sized + CatalogueStore + …> App<S>`), so an area runs, and is
/// tested, on any storage that provides just those ports. The server runs `App` over
/// the whole [`Store`].
pub struct App<S: ?Sized = dyn Store> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
    /// The feedback analyser, built on first use.
    pub text: Arc<crate::feedback::TextModel>,
    /// Where customers reach this server (survey links in mails), without a trailing `/`.
    pub public_url: Arc<str>,
    /// The full-text index; without one, search answers `search_unavailable`.
    pub search: Option<Arc<dyn crate::search::SearchIndex>>,
    /// The survey links' signing key, read from the database on first use.
    pub(crate) survey_key: Arc<tokio::sync::OnceCell<String>>,
    /// Reads raw mails posted to the API; without one, they are refused as unreadable.
    pub mail_parser: Option<Arc<dyn crate::ports::MailParser>>,
    /// API tokens found valid in the last second (decision 0024).
    pub(crate) tokens: Arc<TokenCache>,
}

/// API tokens recently found valid, by the hash of their secret: a client's calls look
/// their token up about once a second rather than once a call (decision 0024). A token
/// revoked, or a user changed, through this server is forgotten at once; through another
/// server or the command line, within [`TOKEN_FRESH`].
#[derive(Default)]
pub(crate) struct TokenCache(std::sync::Mutex<Kept>);

/// The tokens kept, and how many times they were all forgotten: a lookup that began
/// before a change keeps nothing, so a token revoked while it was being read is not kept.
#[derive(Default)]
pub(crate) struct Kept {
    generation: u64,
    tokens: std::collections::HashMap<String, (Principal, std::time::Instant)>,
}

/// How long a token found valid is taken as valid without asking the database again,
/// counted from before the read that found it.
pub const TOKEN_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The most tokens remembered; past it the cache starts again empty.
const TOKEN_CACHE_MAX: usize = 4_096;

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Principal> {
        let kept = self.0.lock().ok()?;
        kept.tokens
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_FRESH)
            .map(|(p, _)| p.clone())
    }

    /// Where a lookup begins: the generation and the moment, before the database is read.
    fn begin(&self) -> (Option<u64>, std::time::Instant) {
        let generation = self.0.lock().ok().map(|k| k.generation);
        (generation, std::time::Instant::now())
    }

    /// Keeps what a lookup begun at `from` found, unless everything was forgotten since.
    fn put(&self, hash: String, p: &Principal, from: (Option<u64>, std::time::Instant)) {
        if let Ok(mut kept) = self.0.lock()
            && Some(kept.generation) == from.0
        {
            if kept.tokens.len() >= TOKEN_CACHE_MAX {
                kept.tokens.clear();
            }
            kept.tokens.insert(hash, (p.clone(), from.1));
        }
    }

    /// Forgets every token: a user or token changed.
    pub(crate) fn forget(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.generation += 1;
            kept.tokens.clear();
        }
    }
}

impl<S: ?Sized> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            text: self.text.clone(),
            public_url: self.public_url.clone(),
            search: self.search.clone(),
            survey_key: self.survey_key.clone(),
            mail_parser: self.mail_parser.clone(),
            tokens: self.tokens.clone(),
        }
    }
}

fn page_limit(l: Option<u32>) -> u32 {
    l.unwrap_or(50).clamp(1, 200)
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        App::on(store, clock)
    }
}

impl<S: ?Sized> App<S> {
    /// The use cases over `store`: the whole [`Store`] in the server, the ports an area
    /// needs in its tests.
    pub fn on(store: Arc<S>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            text: Arc::default(),
            public_url: Arc::from("http://127.0.0.1:8080"),
            search: None,
            survey_key: Arc::default(),
            mail_parser: None,
            tokens: Arc::default(),
        }
    }

    /// The same app, reading raw mails with `parser`.
    pub fn with_mail_parser(mut self, parser: Arc<dyn crate::ports::MailParser>) -> Self {
        self.mail_parser = Some(parser);
        self
    }

    /// The same app, searching with `index`.
    pub fn with_search(mut self, index: Arc<dyn crate::search::SearchIndex>) -> Self {
        self.search = Some(index);
        self
    }

    /// The same app, with links in mails pointing at `url`.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Arc::from(url.trim_end_matches('/'));
        self
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

impl App {
    pub async fn health(&self) -> Result<(), AppError> {
        Ok(self.store.ping().await?)
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::AccountStore,
{
    // ---- accounts -------------------------------------------------------------------

    /// Creates a staff account (CLI and admins).
    pub async fn add_user(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        password: &str,
        role: &str,
    ) -> Result<User, AppError> {
        let mut inv = Invalid::default();
        let email = inv.check("email", aftercare_domain::contact::Email::parse(email));
        let role = inv.check("role", Role::parse(role));
        inv.check("password", auth::check_password(password));
        let name = inv.check("name", aftercare_domain::error::required_text(name, 100));
        inv.into_result()?;
        let (Some(email), Some(role), Some(name)) = (email, role, name) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let hash = auth::hash_password(password).map_err(AppError::Internal)?;
        self.store
            .create_user(actor, &email.match_key(), &name, &hash, role, self.now())
            .await
            .map_err(AppError::from_store("user"))
    }

    /// Checks a password, with throttling per email and per address. Returns a new
    /// session's secret and its CSRF token.
    fn sign_in(&self) -> crate::sign_in::SignIn<'_, S> {
        crate::sign_in::SignIn {
            store: &*self.store,
            clock: &*self.clock,
        }
    }

    /// Signs a staff member in: (session secret, CSRF token, user). See [`SignIn::login`].
    ///
    /// [`SignIn::login`]: crate::sign_in::SignIn::login
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: &str,
    ) -> Result<(String, String, User), AppError> {
        self.sign_in().login(email, password, ip).await
    }

    /// The principal behind a session cookie, with the session's CSRF token.
    pub async fn session(&self, secret: &str) -> Result<Option<(Principal, String)>, AppError> {
        self.sign_in().session(secret).await
    }

    pub async fn logout(&self, secret: &str) -> Result<(), AppError> {
        self.sign_in().logout(secret).await
    }

    /// The principal behind an API bearer token.
    pub async fn token_principal(&self, token: &str) -> Result<Option<Principal>, AppError> {
        let hash = auth::hash_secret(token);
        if let Some(p) = self.tokens.get(&hash) {
            return Ok(Some(p));
        }
        let from = self.tokens.begin();
        let found = self.store.token(&hash).await?;
        let p = found.and_then(|(user, scopes)| {
            let role = user.role;
            let scopes = scopes
                .split(',')
                .filter_map(|s| Scope::parse(s).ok())
                .collect();
            user.active.then_some(Principal {
                user,
                role,
                scopes: Some(scopes),
            })
        });
        // Only tokens found valid are kept: a new token works at once, and guesses
        // fill nothing.
        if let Some(p) = &p {
            self.tokens.put(hash, p, from);
        }
        Ok(p)
    }

    /// Creates an API token for a user; the secret is returned once and stored hashed.
    pub async fn create_token(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        scopes: &[String],
    ) -> Result<ApiToken, AppError> {
        let mut inv = Invalid::default();
        let mut parsed = Vec::new();
        for (i, s) in scopes.iter().enumerate() {
            if let Some(s) = inv.check(format!("scopes[{i}]"), Scope::parse(s)) {
                parsed.push(s);
            }
        }
        if parsed.is_empty() {
            inv.push("scopes", "required");
        }
        let name = inv.check("name", aftercare_domain::error::required_text(name, 100));
        inv.into_result()?;
        let creds = self
            .store
            .credentials(&email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let token = auth::new_secret("ac_");
        let scopes: Vec<String> = parsed.iter().map(|s| s.code().to_string()).collect();
        let name = name.unwrap_or_default();
        let id = self
            .store
            .create_token(
                actor,
                creds.user.id,
                &name,
                &auth::hash_secret(&token),
                &scopes.join(","),
                self.now(),
            )
            .await?;
        Ok(ApiToken {
            id,
            name,
            scopes,
            token,
        })
    }

    pub async fn set_lang(&self, p: &Principal, lang: Option<Lang>) -> Result<(), AppError> {
        self.store
            .set_user_lang(p.user.id, lang.map(Lang::code))
            .await?;
        self.tokens.forget();
        Ok(())
    }

    pub async fn users(&self, p: &Principal) -> Result<Vec<User>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.users().await?)
    }

    /// Creates a staff account on behalf of an administrator.
    pub async fn create_user(&self, p: &Principal, input: &UserInput) -> Result<User, AppError> {
        p.require(Permission::Admin)?;
        self.add_user(
            &p.actor(),
            &input.email,
            &input.name,
            &input.password,
            &input.role,
        )
        .await
    }

    /// Creates an API token for a user on behalf of an administrator.
    pub async fn create_token_for(
        &self,
        p: &Principal,
        input: &TokenInput,
    ) -> Result<ApiToken, AppError> {
        p.require(Permission::Admin)?;
        self.create_token(&p.actor(), &input.email, &input.name, &input.scopes)
            .await
    }

    /// Changes a staff account (admins): activate or deactivate it, change its role or
    /// set a new password. An admin cannot deactivate or demote themself.
    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        input: &UserPatch,
    ) -> Result<User, AppError> {
        p.require(Permission::Admin)?;
        let mut inv = Invalid::default();
        let role = match input.role.as_deref() {
            Some(r) => inv.check("role", Role::parse(r)),
            None => None,
        };
        if let Some(pw) = &input.password {
            inv.check("password", auth::check_password(pw));
        }
        if id == p.user.id
            && (input.active == Some(false) || role.is_some_and(|r| r != Role::Admin))
        {
            inv.push("active", "cannot_lock_yourself_out");
        }
        inv.into_result()?;
        let password_hash = match &input.password {
            Some(pw) => Some(auth::hash_password(pw).map_err(AppError::Internal)?),
            None => None,
        };
        let change = crate::ports::UserChange {
            active: input.active,
            role,
            password_hash,
        };
        let updated = self
            .store
            .update_user(&p.actor(), id, &change, self.now())
            .await
            .map_err(AppError::from_store("user"));
        self.tokens.forget();
        updated
    }

    /// Sets a user's password (CLI), ending their sessions.
    pub async fn set_password(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
    ) -> Result<User, AppError> {
        auth::check_password(password).map_err(|c| Invalid::one("password", c))?;
        let creds = self
            .store
            .credentials(&email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let change = crate::ports::UserChange {
            password_hash: Some(auth::hash_password(password).map_err(AppError::Internal)?),
            ..Default::default()
        };
        let updated = self
            .store
            .update_user(actor, creds.user.id, &change, self.now())
            .await
            .map_err(AppError::from_store("user"));
        self.tokens.forget();
        updated
    }

    /// Revokes an API token (admins).
    pub async fn revoke_token(&self, p: &Principal, id: i64) -> Result<(), AppError> {
        p.require(Permission::Admin)?;
        let revoked = self
            .store
            .revoke_token(&p.actor(), id, self.now())
            .await
            .map_err(AppError::from_store("token"));
        self.tokens.forget();
        revoked
    }
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::AccountStore
        + ports::CatalogueStore
        + ports::CustomerStore
        + ports::DeskSetupStore
        + ports::OrderStore
        + ports::RequestStore,
{
    // ---- customers ------------------------------------------------------------------

    async fn check_manager(&self, id: Option<UserId>) -> Result<(), AppError> {
        if let Some(id) = id
            && self.store.user(id).await?.is_none()
        {
            return Err(Invalid::one("account_manager_id", "not_found").into());
        }
        Ok(())
    }

    /// The customers who already have one of these phone numbers (in any spelling) or
    /// emails: shown before a new customer is created, so that the same person is not
    /// recorded twice. Empty when the input does not validate (its errors come first).
    pub async fn known_contacts(
        &self,
        p: &Principal,
        input: &CustomerInput,
    ) -> Result<Vec<CustomerRow>, AppError> {
        p.require(Permission::Read)?;
        let Ok(draft) = input.validate() else {
            return Ok(vec![]);
        };
        let mut out: Vec<CustomerRow> = Vec::new();
        let keys = draft
            .phones
            .iter()
            .map(|ph| ph.number.as_str().to_owned())
            .chain(draft.emails.iter().map(|e| e.address.as_str().to_owned()));
        for key in keys {
            let q = CustomerQuery {
                q: Some(key),
                limit: Some(5),
                ..Default::default()
            };
            for c in self.store.customers(&q).await?.items {
                if !out.iter().any(|o| o.id == c.id) {
                    out.push(c);
                }
            }
        }
        out.truncate(5);
        Ok(out)
    }

    pub async fn create_customer(
        &self,
        p: &Principal,
        input: &CustomerInput,
    ) -> Result<CustomerId, AppError> {
        p.require(Permission::WriteCustomers)?;
        let mut draft = input.validate()?;
        self.check_manager(draft.account_manager_id).await?;
        // A referral code names a customer who is still one of ours; the friend came by
        // word of mouth unless said otherwise.
        if let Some(r) = draft.referred_by {
            match self.store.customer(r).await? {
                Some(c) if c.erased_at.is_none() && c.merged_into.is_none() => {}
                _ => return Err(Invalid::one("referred_by_code", "referral_code_unknown").into()),
            }
            draft.source = draft
                .source
                .or(Some(aftercare_domain::customer::Touchpoint::WordOfMouth));
        }
        let ids = self
            .store
            .create_customers(&p.actor(), &[draft], self.now())
            .await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }

    pub async fn update_customer(
        &self,
        p: &Principal,
        id: CustomerId,
        input: &CustomerInput,
        version: Option<i64>,
    ) -> Result<(), AppError> {
        p.require(Permission::WriteCustomers)?;
        // Who brought a customer is recorded when they are created (or as a referral).
        if input
            .referred_by_code
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty())
        {
            return Err(Invalid::one("referred_by_code", "only_on_create").into());
        }
        let draft = input.validate()?;
        self.check_manager(draft.account_manager_id).await?;
        self.store
            .update_customer(&p.actor(), id, &draft, version, self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }

    pub async fn customer(&self, p: &Principal, id: CustomerId) -> Result<Customer, AppError> {
        p.require(Permission::Read)?;
        let outlet = self.partner_outlet(p).await?;
        self.customer_seen_from(outlet, id).await
    }

    /// The customer as staff of `outlet` may see them (`None`: the brand's staff, who see
    /// everyone). A partner outlet's staff see the customers they serve: those with a
    /// request at their outlet. Others are missing to them, not forbidden.
    async fn customer_seen_from(
        &self,
        outlet: Option<OutletId>,
        id: CustomerId,
    ) -> Result<Customer, AppError> {
        if let Some(outlet) = outlet {
            self.served_by(outlet, id).await?;
        }
        self.store
            .customer(id)
            .await?
            .ok_or(AppError::NotFound("customer"))
    }

    /// Whether `outlet` serves the customer (a request of theirs is at the outlet); a
    /// customer it does not serve is missing to its staff, not forbidden.
    async fn served_by(&self, outlet: OutletId, id: CustomerId) -> Result<(), AppError> {
        let served = crate::ports::RequestFilter {
            customer_id: Some(id),
            outlet_id: Some(outlet),
            limit: 1,
            ..Default::default()
        };
        if self.store.count_requests(&served, 1).await? == 0 {
            return Err(AppError::NotFound("customer"));
        }
        Ok(())
    }

    pub async fn customers(
        &self,
        p: &Principal,
        q: &CustomerQuery,
    ) -> Result<Page<CustomerRow>, AppError> {
        p.require(Permission::Read)?;
        let mut q = q.clone();
        q.limit = Some(page_limit(q.limit));
        if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
            aftercare_domain::customer::CustomerKind::parse(k)
                .map_err(|c| Invalid::one("kind", c))?;
        }
        self.store
            .customers(&q)
            .await
            .map_err(AppError::from_store("cursor"))
    }

    /// The customer 360: profile, products with warranty today, orders, latest timeline.
    pub async fn customer_360(
        &self,
        p: &Principal,
        id: CustomerId,
        cursor: Option<&str>,
    ) -> Result<Customer360, AppError> {
        p.require(Permission::Read)?;
        let outlet = self.partner_outlet(p).await?;
        if let Some(outlet) = outlet {
            self.served_by(outlet, id).await?;
        }
        let scope = outlet_entries(outlet);
        // A partner outlet serves the items; what the customer bought, and where, is the
        // brand's.
        let reads = self
            .store
            .customer_360_reads(id, scope.as_ref(), cursor, scope.is_none())
            .await
            .map_err(AppError::from_store("cursor"))?
            .ok_or(AppError::NotFound("customer"))?;
        let ports::Reads360 {
            customer,
            mut assets,
            policies,
            orders,
            timeline,
        } = reads;
        with_warranties(&mut assets, policies, self.clock.today());
        Ok(Customer360 {
            customer,
            assets,
            orders,
            timeline,
        })
    }

    pub async fn timeline(
        &self,
        p: &Principal,
        id: CustomerId,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<TimelineEntry>, AppError> {
        p.require(Permission::Read)?;
        let outlet = self.partner_outlet(p).await?;
        self.customer_seen_from(outlet, id).await?;
        let scope = outlet_entries(outlet);
        self.store
            .timeline(id, scope.as_ref(), cursor, page_limit(limit))
            .await
            .map_err(AppError::from_store("cursor"))
    }

    pub async fn add_interaction(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        input: &InteractionInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WriteCustomers)?;
        let d = input.validate()?;
        let ids = self
            .store
            .add_interactions(&p.actor(), &[(customer_id, d)], self.now())
            .await
            .map_err(AppError::from_store("customer"))?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }

    pub async fn duplicates(&self, p: &Principal) -> Result<Vec<DuplicatePair>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.duplicates(100).await?)
    }

    /// Sets the language a customer gets mail in (`zh-Hans`, `zh-Hant`, `en`; empty: not
    /// known, mail in simplified Chinese). Refused for an erased customer.
    pub async fn set_customer_lang(
        &self,
        p: &Principal,
        id: CustomerId,
        lang: &str,
    ) -> Result<(), AppError> {
        p.require(Permission::WriteCustomers)?;
        let lang = lang.trim();
        if !lang.is_empty() && !crate::customer_mail::is_mail_lang(lang) {
            return Err(Invalid::one("lang", "lang_unknown").into());
        }
        match self.store.customer(id).await? {
            None => return Err(AppError::NotFound("customer")),
            Some(c) if c.erased_at.is_some() => {
                return Err(Invalid::one("customer_id", "customer_erased").into());
            }
            Some(_) => {}
        }
        let lang = Some(lang).filter(|l| !l.is_empty());
        self.store
            .set_customer_lang(&p.actor(), id, lang, false, self.now())
            .await?;
        Ok(())
    }

    pub async fn dismiss_duplicate(
        &self,
        p: &Principal,
        a: CustomerId,
        b: CustomerId,
    ) -> Result<(), AppError> {
        p.require(Permission::Bulk)?;
        Ok(self
            .store
            .dismiss_duplicate(&p.actor(), a.min(b), a.max(b), self.now())
            .await?)
    }

    pub async fn merge(
        &self,
        p: &Principal,
        keep: CustomerId,
        drop: CustomerId,
    ) -> Result<(), AppError> {
        p.require(Permission::Bulk)?;
        if keep == drop {
            return Err(Invalid::one("drop", "same_customer").into());
        }
        self.store
            .merge_customers(&p.actor(), keep, drop, self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::CatalogueStore,
{
    // ---- catalogue ------------------------------------------------------------------

    pub async fn create_policy(
        &self,
        p: &Principal,
        input: &PolicyInput,
    ) -> Result<PolicyId, AppError> {
        p.require(Permission::WriteCatalog)?;
        let (name, policy) = input.validate()?;
        Ok(self
            .store
            .create_policy(&p.actor(), &name, &policy, self.now())
            .await?)
    }

    pub async fn policies(&self, p: &Principal) -> Result<Vec<Policy>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.policies().await?)
    }

    pub async fn create_category(
        &self,
        p: &Principal,
        input: &CategoryInput,
    ) -> Result<CategoryId, AppError> {
        p.require(Permission::WriteCatalog)?;
        let name = aftercare_domain::error::required_text(&input.name, 100)
            .map_err(|c| Invalid::one("name", c))?;
        self.store
            .create_category(
                &p.actor(),
                &name,
                input.parent_id,
                input.policy_id,
                self.now(),
            )
            .await
            .map_err(AppError::from_store("category"))
    }

    /// Whether a product category of this id exists.
    pub(crate) async fn category_known(&self, id: i64) -> Result<bool, AppError> {
        Ok(self
            .store
            .categories()
            .await?
            .iter()
            .any(|k| k.id.get() == id))
    }

    pub async fn categories(&self, p: &Principal) -> Result<Vec<Category>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.categories().await?)
    }

    pub async fn create_product(
        &self,
        p: &Principal,
        input: &ProductInput,
    ) -> Result<ProductId, AppError> {
        p.require(Permission::WriteCatalog)?;
        let d = input.validate()?;
        let ids = self
            .store
            .create_products(&p.actor(), &[d], self.now())
            .await?;
        ids.first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }

    pub async fn update_product(
        &self,
        p: &Principal,
        id: ProductId,
        input: &ProductInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WriteCatalog)?;
        let d = input.validate()?;
        self.store
            .update_product(&p.actor(), id, &d, self.now())
            .await
            .map_err(AppError::from_store("product"))
    }

    pub async fn product(&self, p: &Principal, id: ProductId) -> Result<Product, AppError> {
        p.require(Permission::Read)?;
        self.store
            .product(id)
            .await?
            .ok_or(AppError::NotFound("product"))
    }

    pub async fn products(
        &self,
        p: &Principal,
        q: &ProductQuery,
    ) -> Result<Page<Product>, AppError> {
        p.require(Permission::Read)?;
        let mut q = q.clone();
        q.limit = Some(page_limit(q.limit));
        self.store
            .products(&q)
            .await
            .map_err(AppError::from_store("cursor"))
    }

    pub async fn outlets(&self, p: &Principal) -> Result<Vec<Outlet>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.outlets().await?)
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::CatalogueStore + ports::CustomerStore + ports::OrderStore,
{
    // ---- orders and assets ----------------------------------------------------------

    /// Validates an order against the catalogue: products exist, serial counts match
    /// serialised products, serials are new; fills catalogue prices.
    pub async fn prepare_order(&self, input: &OrderInput) -> Result<OrderDraft, AppError> {
        let mut d = input.validate(self.clock.today())?;
        let mut inv = Invalid::default();
        if self.store.customer(d.customer_id).await?.is_none() {
            inv.push("customer_id", "not_found");
        }
        if let Some(o) = d.outlet_id
            && !self.store.outlets().await?.iter().any(|x| x.id == o)
        {
            inv.push("outlet_id", "not_found");
        }
        for (i, line) in d.lines.iter_mut().enumerate() {
            let Some(product) = self.store.product(line.product_id).await? else {
                inv.push(format!("items[{i}].product_id"), "not_found");
                continue;
            };
            if d.price_from_catalog[i] {
                line.unit_price = product.price.fen();
            }
            if product.serialized && line.serials.len() != line.quantity as usize {
                inv.push(format!("items[{i}].serials"), "serial_count_mismatch");
            }
            if !product.serialized && !line.serials.is_empty() {
                inv.push(format!("items[{i}].serials"), "not_serialized");
            }
            for (j, s) in line.serials.iter().enumerate() {
                if self.store.asset_by_serial(s).await?.is_some() {
                    inv.push(format!("items[{i}].serials[{j}]"), "serial_taken");
                }
            }
            // Prices are known now (catalogue or given): a discount cannot exceed them.
            let gross = line.unit_price.saturating_mul(line.quantity as i64);
            if line.discount > gross {
                inv.push(format!("items[{i}].discount"), "discount_exceeds_amount");
            }
        }
        let lines: i64 = d.lines.iter().map(|l| l.amount()).sum();
        if d.discount > lines {
            inv.push("discount", "discount_exceeds_amount");
        }
        inv.into_result()?;
        Ok(d)
    }

    pub async fn order(&self, p: &Principal, id: OrderId) -> Result<Order, AppError> {
        p.require(Permission::Read)?;
        self.store
            .order(id)
            .await?
            .ok_or(AppError::NotFound("order"))
    }

    pub async fn orders(&self, p: &Principal, q: &OrderQuery) -> Result<Page<OrderRow>, AppError> {
        p.require(Permission::Read)?;
        let mut q = q.clone();
        q.limit = Some(page_limit(q.limit));
        self.store
            .orders(&q)
            .await
            .map_err(AppError::from_store("cursor"))
    }

    /// An asset's warranty on `on` (today when `None`).
    pub async fn warranty_on(
        &self,
        asset_id: AssetId,
        on: Option<aftercare_domain::Date>,
    ) -> Result<Option<warranty::WarrantyStatus>, AppError> {
        let a = self
            .store
            .asset(asset_id)
            .await?
            .ok_or(AppError::NotFound("asset"))?;
        self.warranty_of(&a, on.unwrap_or_else(|| self.clock.today()))
            .await
    }

    /// The warranty on `on` of an asset already read (its archive with it): only its
    /// policy is read.
    pub(crate) async fn warranty_of(
        &self,
        a: &Asset,
        on: aftercare_domain::Date,
    ) -> Result<Option<warranty::WarrantyStatus>, AppError> {
        Ok(self
            .store
            .asset_policies(&[a.id])
            .await?
            .into_iter()
            .next()
            .map(|(_, policy)| warranty::status(&policy, &a.warranty_facts(), on)))
    }

    /// Fills in today's warranty of each asset from its usage archive, which the asset
    /// carries, and its policy, read for all of them together.
    pub(crate) async fn fill_warranties(&self, assets: &mut [Asset]) -> Result<(), AppError> {
        if assets.is_empty() {
            return Ok(());
        }
        let ids: Vec<AssetId> = assets.iter().map(|a| a.id).collect();
        let policies = self.store.asset_policies(&ids).await?;
        with_warranties(assets, policies, self.clock.today());
        Ok(())
    }

    pub async fn asset(&self, p: &Principal, id: AssetId) -> Result<Asset, AppError> {
        p.require(Permission::Read)?;
        let mut a = self
            .store
            .asset(id)
            .await?
            .ok_or(AppError::NotFound("asset"))?;
        self.fill_warranties(std::slice::from_mut(&mut a)).await?;
        Ok(a)
    }

    pub async fn add_asset_event(
        &self,
        p: &Principal,
        asset_id: AssetId,
        input: &AssetEventInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WriteCustomers)?;
        let d = input.validate(self.clock.today())?;
        self.store
            .add_asset_events(&p.actor(), &[(asset_id, d)], self.now())
            .await
            .map_err(AppError::from_store("asset"))?
            .first()
            .copied()
            .ok_or_else(|| AppError::Internal("no id returned".into()))
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::AuditStore,
{
    // ---- logs -----------------------------------------------------------------------

    pub async fn audit(
        &self,
        p: &Principal,
        entity: Option<&str>,
        entity_id: Option<i64>,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, AppError> {
        p.require(Permission::Admin)?;
        Ok(self.store.audit(entity, entity_id, before, 100).await?)
    }

    pub async fn events(
        &self,
        p: &Principal,
        after: i64,
        limit: Option<u32>,
    ) -> Result<Vec<ChangeEvent>, AppError> {
        p.require(Permission::Admin)?;
        Ok(self.store.events(after, page_limit(limit)).await?)
    }
}

/// A valid Argon2 hash of a random password, checked when an email is unknown.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA";

/// Follows a keyset-paginated list from its first page to its last, for exports.
async fn every_page<Q, T, F, Fut>(
    mut q: Q,
    set_cursor: impl Fn(&mut Q, String),
    mut page: F,
) -> Result<Vec<T>, AppError>
where
    Q: Clone,
    F: FnMut(Q) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, AppError>>,
{
    let mut out = Vec::new();
    loop {
        let p = page(q.clone()).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => set_cursor(&mut q, c),
            None => return Ok(out),
        }
    }
}

/// What an import did, or would do on a dry run: every error with its row.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows read (the header is not counted).
    pub rows: usize,
    /// Records created; 0 on a dry run or when any row has an error.
    pub created: usize,
    /// What each valid row does (or would do, on a dry run), row by row.
    pub plan: Vec<ImportAction>,
    pub errors: Vec<ImportError>,
}

/// One row's part in an import.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportAction {
    pub row: usize,
    /// Always `create`: imports add records, they do not change existing ones.
    pub action: &'static str,
    /// What is created, e.g. the customer's name and phone.
    pub summary: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportError {
    /// The row in the file, counting the header as row 1.
    pub row: usize,
    /// The input field the error is about; the web layer names the column.
    pub field: String,
    pub code: String,
}

impl ImportReport {
    pub(crate) fn new(dry_run: bool, rows: usize) -> Self {
        Self {
            dry_run,
            rows,
            created: 0,
            plan: vec![],
            errors: vec![],
        }
    }
    pub(crate) fn plan(&mut self, row: usize, summary: String) {
        self.plan.push(ImportAction {
            row,
            action: "create",
            summary,
        });
    }
    pub(crate) fn add(&mut self, row: usize, inv: Invalid) {
        for e in inv.0 {
            self.errors.push(ImportError {
                row,
                field: e.field,
                code: e.code.into(),
            });
        }
    }
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::AccountStore
        + ports::CatalogueStore
        + ports::CustomerStore
        + ports::DeskSetupStore
        + ports::ImportStore
        + ports::OrderStore
        + ports::RequestStore,
{
    /// Imports customers all or nothing: any row with an error and nothing is written.
    /// `rows[i]` is the file's row number of `inputs[i]`.
    pub async fn import_customers(
        &self,
        p: &Principal,
        inputs: &[CustomerInput],
        rows: &[usize],
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        p.require(Permission::Bulk)?;
        p.require(Permission::WriteCustomers)?;
        let mut report = ImportReport::new(dry_run, inputs.len());
        let mut drafts = Vec::with_capacity(inputs.len());
        // Old-system numbers must be unique: in the file and against those kept already.
        let mut refs: Vec<String> = inputs
            .iter()
            .filter_map(|i| Some(i.external_ref.as_deref()?.trim().to_owned()))
            .filter(|r| !r.is_empty())
            .collect();
        refs.sort_unstable();
        refs.dedup();
        let taken: std::collections::HashSet<String> = self
            .store
            .customers_by_ref(&refs)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let mut seen = std::collections::HashSet::new();
        for (i, input) in inputs.iter().enumerate() {
            match input.validate() {
                Ok(d) => {
                    if let Some(r) = &d.external_ref {
                        if taken.contains(r) {
                            report.add(rows[i], Invalid::one("external_ref", "ref_taken"));
                            continue;
                        }
                        if !seen.insert(r.clone()) {
                            report.add(rows[i], Invalid::one("external_ref", "duplicate"));
                            continue;
                        }
                    }
                    let phone = d
                        .phones
                        .first()
                        .map(|p| p.number.display())
                        .unwrap_or_default();
                    report.plan(
                        rows[i],
                        format!("{} {phone}", d.name).trim_end().to_string(),
                    );
                    drafts.push(d)
                }
                Err(inv) => report.add(rows[i], inv),
            }
        }
        if report.errors.is_empty() && !dry_run {
            report.created = self
                .write_customer_import(&p.actor(), inputs, &drafts)
                .await?;
        }
        Ok(report)
    }

    pub async fn import_products(
        &self,
        p: &Principal,
        inputs: &[Result<ProductInput, Invalid>],
        rows: &[usize],
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        p.require(Permission::WriteCatalog)?;
        let mut report = ImportReport::new(dry_run, inputs.len());
        let mut drafts: Vec<ProductDraft> = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            match input
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|x| x.validate())
            {
                Ok(d) => {
                    if drafts.iter().any(|x| x.sku == d.sku) {
                        report.add(rows[i], Invalid::one("sku", "duplicate"));
                    } else if self.sku_taken(&d.sku).await? {
                        report.add(rows[i], Invalid::one("sku", "sku_taken"));
                    } else {
                        report.plan(rows[i], format!("{} {}", d.sku, d.name));
                    }
                    drafts.push(d)
                }
                Err(inv) => report.add(rows[i], inv),
            }
        }
        if report.errors.is_empty() && !dry_run {
            report.created = self
                .store
                .create_products(&p.actor(), &drafts, self.now())
                .await
                .map_err(|e| match e {
                    crate::StoreError::Conflict { code, field } => {
                        let row = field
                            .as_deref()
                            .and_then(|f| f.strip_prefix('['))
                            .and_then(|f| f.split(']').next())
                            .and_then(|n| n.parse::<usize>().ok());
                        let mut inv = Invalid::default();
                        inv.push(
                            row.map(|r| format!("row {}: sku", rows[r]))
                                .unwrap_or_else(|| "sku".into()),
                            code,
                        );
                        AppError::Invalid(inv)
                    }
                    e => e.into(),
                })?
                .len();
        }
        Ok(report)
    }

    pub async fn import_orders(
        &self,
        p: &Principal,
        inputs: &[Result<OrderInput, Invalid>],
        rows: &[usize],
        dry_run: bool,
    ) -> Result<ImportReport, AppError> {
        p.require(Permission::Bulk)?;
        p.require(Permission::WriteCustomers)?;
        let mut report = ImportReport::new(dry_run, inputs.len());
        let mut drafts: Vec<OrderDraft> = Vec::new();
        let mut serials: std::collections::HashSet<String> = std::collections::HashSet::new();
        // An old-system order number met again is an order already taken in.
        let refs: Vec<String> = inputs
            .iter()
            .filter_map(|i| i.as_ref().ok()?.external_ref.clone())
            .collect();
        let taken: std::collections::HashSet<String> = self
            .store
            .known_order_refs(&refs)
            .await?
            .into_iter()
            .collect();
        for (i, input) in inputs.iter().enumerate() {
            let input = match input {
                Ok(x) => x,
                Err(inv) => {
                    report.add(rows[i], inv.clone());
                    continue;
                }
            };
            if input
                .external_ref
                .as_ref()
                .is_some_and(|r| taken.contains(r.trim()))
            {
                report.add(rows[i], Invalid::one("external_ref", "ref_taken"));
                continue;
            }
            match self.prepare_order(input).await {
                Ok(d) => {
                    for s in d.lines.iter().flat_map(|l| &l.serials) {
                        if !serials.insert(s.clone()) {
                            report.add(rows[i], Invalid::one("serials", "duplicate"));
                        }
                    }
                    let units: u32 = d.lines.iter().map(|l| l.quantity).sum();
                    report.plan(
                        rows[i],
                        format!(
                            "customer #{}: {} line(s), {units} unit(s), {} {}",
                            d.customer_id,
                            d.lines.len(),
                            d.currency,
                            aftercare_domain::catalog::format_money(d.total())
                        ),
                    );
                    drafts.push(d)
                }
                Err(AppError::Invalid(inv)) => report.add(rows[i], inv),
                Err(e) => return Err(e),
            }
        }
        if report.errors.is_empty() && !dry_run {
            report.created = self.write_order_import(&p.actor(), &drafts).await?;
        }
        Ok(report)
    }

    /// (reference, customer) of the customers known by these old-system numbers.
    pub async fn customers_by_ref(
        &self,
        p: &Principal,
        refs: &[String],
    ) -> Result<Vec<(String, CustomerId)>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.customers_by_ref(refs).await?)
    }

    async fn sku_taken(&self, sku: &str) -> Result<bool, AppError> {
        let q = ProductQuery {
            q: Some(sku.to_string()),
            limit: Some(5),
            ..Default::default()
        };
        Ok(self
            .store
            .products(&q)
            .await?
            .items
            .iter()
            .any(|p| p.sku == sku))
    }

    /// Every customer, page by page, for exports.
    pub async fn all_customers(&self, p: &Principal) -> Result<Vec<CustomerRow>, AppError> {
        let q = CustomerQuery {
            limit: Some(200),
            sort: Some("created".into()),
            ..Default::default()
        };
        every_page(
            q,
            |q, c| q.cursor = Some(c),
            |q| async move { self.customers(p, &q).await },
        )
        .await
    }

    pub async fn all_products(&self, p: &Principal) -> Result<Vec<Product>, AppError> {
        let q = ProductQuery {
            limit: Some(200),
            ..Default::default()
        };
        every_page(
            q,
            |q, c| q.cursor = Some(c),
            |q| async move { self.products(p, &q).await },
        )
        .await
    }

    pub async fn all_orders(&self, p: &Principal) -> Result<Vec<OrderRow>, AppError> {
        let q = OrderQuery {
            limit: Some(200),
            sort: Some("ordered".into()),
            ..Default::default()
        };
        every_page(
            q,
            |q, c| q.cursor = Some(c),
            |q| async move { self.orders(p, &q).await },
        )
        .await
    }
}

/// What of a customer's timeline staff of `outlet` may read: for a partner outlet's staff,
/// the entries about their outlet's requests; everything for the brand's (`None`).
fn outlet_entries(outlet: Option<OutletId>) -> Option<crate::ports::OutletEntries> {
    outlet.map(|o| crate::ports::OutletEntries {
        outlet_id: o,
        kinds: crate::desk::REQUEST_TIMELINE_KINDS,
    })
}

#[cfg(test)]
mod tests;

/// Fills in each asset's warranty on `on` from its usage archive, which it carries, and
/// its policy among `policies` (an asset under none has no warranty).
fn with_warranties(
    assets: &mut [Asset],
    policies: Vec<(AssetId, aftercare_domain::catalog::WarrantyPolicy)>,
    on: aftercare_domain::Date,
) {
    let policies: std::collections::HashMap<AssetId, _> = policies.into_iter().collect();
    for a in assets {
        a.warranty = policies
            .get(&a.id)
            .map(|policy| warranty::status(policy, &a.warranty_facts(), on));
    }
}
