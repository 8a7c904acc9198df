//! The customer portal's use cases: sign-up and sign-in, product registration, requests
//! and ratings, and the self-service articles staff write. A customer only ever reaches
//! their own records: every use case takes the signed-in account, never an id to trust.

use crate::auth;
use crate::desk::{RatingInput, RequestInput};
use crate::desk_model::*;
use crate::error::AppError;
use crate::input::{CustomerInput, EmailInput, PhoneInput};
use crate::model::Asset;
use crate::ports;
use crate::ports::*;
use crate::service::{App, Principal};
use crate::sign_in::{LOGIN_LIMITS, THROTTLE_MINUTES};
use aftercare_domain::Invalid;
use aftercare_domain::RequestId;
use aftercare_domain::account::Permission;
use aftercare_domain::catalog::parse_serial;
use aftercare_domain::error::{optional_text, parse_date, required_text};
use aftercare_domain::ids::*;
use aftercare_domain::request::{RequestChannel, ServiceType, VisitStatus};
use jiff::ToSpan;
use serde::Deserialize;
use utoipa::ToSchema;

const SESSION_DAYS: i64 = 30;

/// Photos and files a customer may add at once.
const MAX_PORTAL_FILES: usize = 5;

/// Portal sign-ups allowed in an hour: per email, and per client address (a household or
/// an office signs several people up; a script signing up hundreds is stopped).
pub const SIGNUP_LIMITS: crate::ports::LoginLimits = crate::ports::LoginLimits {
    per_account: 3,
    per_address: 10,
};

/// The service types a customer may ask for themselves.
pub const PORTAL_TYPES: &[ServiceType] = &[
    ServiceType::Repair,
    ServiceType::Installation,
    ServiceType::Maintenance,
    ServiceType::TechnicalSupport,
    ServiceType::Consultation,
    ServiceType::Exchange,
    ServiceType::Return,
    ServiceType::Complaint,
];

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, ToSchema)]
pub struct SignupInput {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub password: String,
    /// Agree to be contacted by email about service (PIPL consent).
    #[serde(default)]
    pub email_consent: bool,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RegisterInput {
    pub product_id: ProductId,
    pub serial: String,
    /// YYYY-MM-DD; the warranty runs from this day.
    pub purchased_on: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PortalRequestInput {
    #[serde(default)]
    pub asset_id: Option<AssetId>,
    pub service_type: String,
    pub subject: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ArticleInput {
    /// manual, faq or article.
    pub kind: String,
    #[serde(default)]
    pub product_id: Option<ProductId>,
    pub title_zh_hans: String,
    #[serde(default)]
    pub title_zh_hant: String,
    #[serde(default)]
    pub title_en: String,
    pub body_zh_hans: String,
    #[serde(default)]
    pub body_zh_hant: String,
    #[serde(default)]
    pub body_en: String,
    #[serde(default)]
    pub published: bool,
}

impl ArticleInput {
    fn validate(&self) -> Result<ArticleDraft, Invalid> {
        let mut inv = Invalid::default();
        if !matches!(self.kind.trim(), "manual" | "faq" | "article") {
            inv.push("kind", "article_kind_unknown");
        }
        let t0 = inv.check("title_zh_hans", required_text(&self.title_zh_hans, 200));
        let b0 = inv.check("body_zh_hans", required_text(&self.body_zh_hans, 50_000));
        let bound = |inv: &mut Invalid, f: &str, v: &str, max: usize| {
            if v.chars().count() > max {
                inv.push(f, "too_long");
            }
            v.trim().to_string()
        };
        let t1 = bound(&mut inv, "title_zh_hant", &self.title_zh_hant, 200);
        let t2 = bound(&mut inv, "title_en", &self.title_en, 200);
        let b1 = bound(&mut inv, "body_zh_hant", &self.body_zh_hant, 50_000);
        let b2 = bound(&mut inv, "body_en", &self.body_en, 50_000);
        inv.into_result()?;
        Ok(ArticleDraft {
            kind: self.kind.trim().to_string(),
            product_id: self.product_id,
            titles: [t0.unwrap_or_default(), t1, t2],
            bodies: [b0.unwrap_or_default(), b1, b2],
            published: self.published,
        })
    }
}

/// Hours a mailed sign-up link works.
pub const SIGNUP_LINK_HOURS: i64 = 24;

/// How long a password-reset link works.
pub const RESET_LINK_MINUTES: i64 = 60;

/// The mail with a password-reset link, in the account's language.
fn reset_mail(lang: aftercare_domain::lang::Lang, name: &str, link: &str) -> (String, String) {
    use aftercare_domain::lang::Lang;
    let m = RESET_LINK_MINUTES;
    let name = name.trim();
    match lang {
        Lang::ZhHans => (
            "重设售后服务账户的密码".to_owned(),
            format!(
                "{name}，您好：\n\n请打开以下链接，为售后服务账户设置新密码：\n{link}\n\n链接 {m} 分钟内有效，只能使用一次；设置后，所有已登录的设备都需要重新登录。如果不是您本人申请，请忽略本邮件，您的密码不会改变。\n"
            ),
        ),
        Lang::ZhHant => (
            "重設售後服務帳戶的密碼".to_owned(),
            format!(
                "{name}，您好：\n\n請開啟以下連結，為售後服務帳戶設定新密碼：\n{link}\n\n連結 {m} 分鐘內有效，只能使用一次；設定後，所有已登入的裝置都需要重新登入。如果不是您本人申請，請忽略本郵件，您的密碼不會改變。\n"
            ),
        ),
        Lang::En => (
            "Reset the password of your service account".to_owned(),
            format!(
                "Hello {name},\n\nOpen this link to set a new password for your service account:\n{link}\n\nThe link works once, for {m} minutes; afterwards every device signed in must sign in again. If you did not ask for this, ignore this mail: your password stays as it is.\n"
            ),
        ),
    }
}

/// The customer a sign-up describes, its errors named after the form's single fields.
fn signup_draft(
    i: &SignupInput,
    inv: &mut Invalid,
) -> Option<aftercare_domain::customer::CustomerDraft> {
    let draft = CustomerInput {
        name: i.name.clone(),
        phones: i
            .phone
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| PhoneInput {
                number: p.clone(),
                primary: true,
                ..Default::default()
            })
            .collect(),
        emails: vec![EmailInput {
            address: i.email.clone(),
            primary: true,
        }],
        consent: if i.email_consent {
            vec!["email".into()]
        } else {
            vec![]
        },
        source: Some("web".into()),
        ..Default::default()
    }
    .validate();
    match draft {
        Ok(d) => Some(d),
        Err(e) => {
            for f in e.0 {
                let field = if f.field.starts_with("phones") {
                    "phone".to_string()
                } else if f.field.starts_with("emails") {
                    "email".to_string()
                } else {
                    f.field
                };
                inv.push(field, f.code);
            }
            None
        }
    }
}

/// The mail a sign-up sends, in the language it was made in: the link that finishes it,
/// or (`link` none) a note that the address already has an account.
fn signup_mail(
    lang: aftercare_domain::lang::Lang,
    name: &str,
    link: Option<&str>,
    base: &str,
) -> PortalMail {
    use aftercare_domain::lang::Lang;
    let name = name.trim();
    let h = SIGNUP_LINK_HOURS;
    let (subject, body) = match (lang, link) {
        (Lang::ZhHans, Some(l)) => (
            "请确认您的邮箱，完成注册".to_owned(),
            format!(
                "{name}，您好：\n\n请打开以下链接确认邮箱，完成售后服务账户的注册：\n{l}\n\n链接 {h} 小时内有效，只能使用一次。如果不是您本人注册，请忽略本邮件。\n"
            ),
        ),
        (Lang::ZhHant, Some(l)) => (
            "請確認您的電子郵件，完成註冊".to_owned(),
            format!(
                "{name}，您好：\n\n請開啟以下連結確認電子郵件，完成售後服務帳戶的註冊：\n{l}\n\n連結 {h} 小時內有效，只能使用一次。如果不是您本人註冊，請忽略本郵件。\n"
            ),
        ),
        (Lang::En, Some(l)) => (
            "Confirm your email to finish signing up".to_owned(),
            format!(
                "Hello {name},\n\nOpen this link to confirm your email and finish signing up for your service account:\n{l}\n\nThe link works once, for {h} hours. If you did not sign up, ignore this mail.\n"
            ),
        ),
        (Lang::ZhHans, None) => (
            "您已有售后服务账户".to_owned(),
            format!(
                "您好：\n\n有人用本邮箱申请注册售后服务账户，但本邮箱已有账户，因此没有新建。请直接登录：\n{base}/portal/login\n\n如果忘记了密码，可在此重设：\n{base}/portal/forgot\n\n如果不是您本人操作，请忽略本邮件。\n"
            ),
        ),
        (Lang::ZhHant, None) => (
            "您已有售後服務帳戶".to_owned(),
            format!(
                "您好：\n\n有人用本電子郵件申請註冊售後服務帳戶，但本電子郵件已有帳戶，因此沒有新建。請直接登入：\n{base}/portal/login\n\n如果忘記了密碼，可在此重設：\n{base}/portal/forgot\n\n如果不是您本人操作，請忽略本郵件。\n"
            ),
        ),
        (Lang::En, None) => (
            "You already have a service account".to_owned(),
            format!(
                "Hello,\n\nSomeone asked to sign up with this email, which already has an account, so none was made. Sign in here:\n{base}/portal/login\n\nIf you forgot your password, reset it here:\n{base}/portal/forgot\n\nIf this was not you, ignore this mail.\n"
            ),
        ),
    };
    PortalMail {
        to: String::new(),
        subject,
        body,
    }
}

fn portal_actor(a: &PortalAccount) -> Actor {
    Actor::system(&format!("portal:{}", a.email))
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + ports::DeskPorts + ports::PortalStore + ports::SurveyStore,
{
    /// Starts a sign-up: nothing works until the address is confirmed. A mail goes to the
    /// address either way: a link that finishes the sign-up (valid for
    /// [`SIGNUP_LINK_HOURS`]), or, when the address already has an account, a note saying
    /// so. The answer is the same whether or not anyone is known by this address.
    /// Refused (`Throttled`) past [`SIGNUP_LIMITS`] in an hour: sign-ups per email and
    /// per client address.
    pub async fn portal_signup(
        &self,
        i: &SignupInput,
        lang: Option<&str>,
        ip: &str,
    ) -> Result<(), AppError> {
        let mut inv = Invalid::default();
        let draft = signup_draft(i, &mut inv);
        inv.check("password", auth::check_password(&i.password));
        inv.into_result()?;
        let Some(draft) = draft else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let email = draft
            .emails
            .first()
            .map(|e| e.address.match_key())
            .unwrap_or_default();
        // Each sign-up takes a slot that stays taken for the hour (it is never settled as
        // a success), counted apart from sign-ins.
        let now = self.clock.now();
        let since = now - 60.minutes();
        if self
            .store
            .claim_login(
                &format!("signup:{email}"),
                &format!("signup:{ip}"),
                since,
                now,
                SIGNUP_LIMITS,
            )
            .await?
            .is_none()
        {
            return Err(AppError::Throttled);
        }
        let lang = lang
            .and_then(aftercare_domain::lang::Lang::from_tag)
            .unwrap_or(aftercare_domain::lang::Lang::ZhHans);
        let to = i.email.trim().to_owned();
        // Hashed whether or not the address has an account: the answer must not come
        // sooner for a known address.
        let hash = auth::hash_password(&i.password).map_err(AppError::Internal)?;
        if self.store.portal_credentials(&email).await?.is_some() {
            let mail = signup_mail(lang, &i.name, None, &self.public_url);
            return Ok(self
                .store
                .queue_portal_signup(None, &PortalMail { to, ..mail }, now)
                .await?);
        }
        let token = auth::new_secret("s_");
        let stored = SignupInput {
            password: String::new(),
            ..i.clone()
        };
        let pending = PendingSignup {
            token_hash: auth::hash_secret(&token),
            email,
            input: serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.to_string()))?,
            password_hash: hash,
            lang: lang.code().to_owned(),
            expires_at: now + SIGNUP_LINK_HOURS.hours(),
        };
        let link = format!("{}/portal/confirm?token={token}", self.public_url);
        let mail = signup_mail(lang, &i.name, Some(&link), &self.public_url);
        Ok(self
            .store
            .queue_portal_signup(Some(&pending), &PortalMail { to, ..mail }, now)
            .await?)
    }

    /// Starts a password reset. When the address has a portal account, a link to set a
    /// new password goes to it, in the account's language, valid for
    /// [`RESET_LINK_MINUTES`] and once; when it has none, nothing is sent. The answer is
    /// the same either way. Refused (`Throttled`) past [`SIGNUP_LIMITS`] in an hour, per
    /// address and per client address.
    pub async fn portal_forgot_password(
        &self,
        email: &str,
        lang: Option<&str>,
        ip: &str,
    ) -> Result<(), AppError> {
        let address = aftercare_domain::contact::Email::parse(email)
            .map_err(|c| AppError::from(Invalid::one("email", c)))?;
        let key = address.match_key();
        let now = self.clock.now();
        if self
            .store
            .claim_login(
                &format!("reset:{key}"),
                &format!("reset:{ip}"),
                now - 60.minutes(),
                now,
                SIGNUP_LIMITS,
            )
            .await?
            .is_none()
        {
            return Err(AppError::Throttled);
        }
        let Some((account, _)) = self.store.portal_credentials(&key).await? else {
            return Ok(());
        };
        let lang = account
            .lang
            .as_deref()
            .or(lang)
            .and_then(aftercare_domain::lang::Lang::from_tag)
            .unwrap_or(aftercare_domain::lang::Lang::ZhHans);
        let token = auth::new_secret("r_");
        let link = format!("{}/portal/reset?token={token}", self.public_url);
        let (subject, body) = reset_mail(lang, &account.name, &link);
        let mail = PortalMail {
            to: email.trim().to_owned(),
            subject,
            body,
        };
        Ok(self
            .store
            .queue_password_reset(
                account.id,
                &auth::hash_secret(&token),
                now + RESET_LINK_MINUTES.minutes(),
                &mail,
                now,
            )
            .await?)
    }

    /// Whether a password-reset link is still good (for the page that asks for the new
    /// password).
    pub async fn portal_reset_pending(&self, token: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .password_reset(&auth::hash_secret(token.trim()), self.clock.now())
            .await?
            .is_some())
    }

    /// Sets a new password from a mailed reset link and signs the customer in (every
    /// other session of the account has ended); returns a session secret and its CSRF
    /// token. A used, expired or unknown link is `reset_link_invalid` (field `token`).
    pub async fn portal_reset_password(
        &self,
        token: &str,
        password: &str,
    ) -> Result<(String, String), AppError> {
        let mut inv = Invalid::default();
        inv.check("password", auth::check_password(password));
        inv.into_result()?;
        let hash = auth::hash_password(password).map_err(AppError::Internal)?;
        let account = self
            .store
            .reset_portal_password(&auth::hash_secret(token.trim()), &hash, self.clock.now())
            .await
            .map_err(|e| match e {
                crate::StoreError::NotFound => {
                    AppError::from(Invalid::one("token", "reset_link_invalid"))
                }
                e => AppError::from_store("portal_account")(e),
            })?;
        self.portal_session_for(account).await
    }

    /// Whether a sign-up link is still good (for the page that asks to confirm it).
    pub async fn portal_signup_pending(&self, token: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .pending_signup(&auth::hash_secret(token.trim()), self.clock.now())
            .await?
            .is_some())
    }

    /// Finishes a sign-up from its mailed link: the account is made, for the customer who
    /// already has this address if there is one (the mail proved the address is theirs),
    /// else for a new customer; returns a session secret and its CSRF token. A link works
    /// once; a used, expired or unknown one is `signup_link_invalid` (field `token`).
    pub async fn portal_confirm_signup(&self, token: &str) -> Result<(String, String), AppError> {
        let invalid = || AppError::from(Invalid::one("token", "signup_link_invalid"));
        let token_hash = auth::hash_secret(token.trim());
        let Some(p) = self
            .store
            .pending_signup(&token_hash, self.clock.now())
            .await?
        else {
            return Err(invalid());
        };
        let input: SignupInput = serde_json::from_str(&p.input)
            .map_err(|e| AppError::Internal(format!("pending sign-up: {e}")))?;
        let mut inv = Invalid::default();
        let draft = signup_draft(&input, &mut inv);
        inv.into_result()?;
        let Some(draft) = draft else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let actor = Actor::system(&format!("portal:{}", p.email));
        let (account, _) = self
            .store
            .portal_signup(
                &actor,
                &draft,
                &p.email,
                &p.password_hash,
                Some(&p.lang),
                &token_hash,
                self.now(),
            )
            .await
            .map_err(|e| match e {
                crate::StoreError::NotFound => invalid(),
                e => AppError::from_store("customer")(e),
            })?;
        self.portal_session_for(account).await
    }

    async fn portal_session_for(&self, account: i64) -> Result<(String, String), AppError> {
        let now = self.clock.now();
        let secret = auth::new_secret("p_");
        let csrf = auth::new_secret("");
        self.store
            .create_portal_session(
                &auth::hash_secret(&secret),
                account,
                &csrf,
                now,
                now + (SESSION_DAYS * 24).hours(),
            )
            .await?;
        Ok((secret, csrf))
    }

    /// Signs a customer in, throttled like staff sign-in.
    pub async fn portal_login(
        &self,
        email: &str,
        password: &str,
        ip: &str,
    ) -> Result<(String, String), AppError> {
        let email = email.trim().to_lowercase();
        let now = self.clock.now();
        // Counted apart from staff sign-ins: a customer's mistakes never lock staff out.
        let (key, address) = (format!("portal:{email}"), format!("portal:{ip}"));
        let since = now - THROTTLE_MINUTES.minutes();
        let Some(attempt) = self
            .store
            .claim_login(&key, &address, since, now, LOGIN_LIMITS)
            .await?
        else {
            return Err(AppError::Throttled);
        };
        let found = self.store.portal_credentials(&email).await?;
        let ok = match &found {
            Some((_, hash)) => auth::verify_password(password, hash),
            None => {
                auth::verify_password(password, crate::service::DUMMY_HASH);
                false
            }
        };
        self.store.finish_login(attempt, &key, ok).await?;
        match found.filter(|_| ok) {
            Some((a, _)) => self.portal_session_for(a.id).await,
            None => Err(AppError::Unauthenticated),
        }
    }

    /// The account behind a portal session cookie, and the session's CSRF token.
    pub async fn portal_session(
        &self,
        secret: &str,
    ) -> Result<Option<(PortalAccount, String)>, AppError> {
        Ok(self
            .store
            .portal_session(&auth::hash_secret(secret), self.now())
            .await?)
    }

    /// The customer chose a language in the portal: it is their account's, and the one
    /// their mail comes in from now on.
    pub async fn portal_set_lang(&self, a: &PortalAccount, lang: &str) -> Result<(), AppError> {
        if !crate::customer_mail::is_mail_lang(lang) {
            return Err(Invalid::one("lang", "lang_unknown").into());
        }
        Ok(self.store.set_portal_lang(a.id, lang).await?)
    }

    pub async fn portal_logout(&self, secret: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_portal_session(&auth::hash_secret(secret))
            .await?)
    }

    /// The customer's products with their warranty today.
    pub async fn portal_assets(&self, a: &PortalAccount) -> Result<Vec<Asset>, AppError> {
        let mut assets = self.store.assets_of(a.customer_id).await?;
        self.fill_warranties(&mut assets).await?;
        Ok(assets)
    }

    /// The customer's requests, newest first.
    pub async fn portal_requests(&self, a: &PortalAccount) -> Result<Vec<RequestRow>, AppError> {
        Ok(self
            .store
            .requests(&RequestFilter {
                customer_id: Some(a.customer_id),
                limit: 200,
                ..Default::default()
            })
            .await?
            .items)
    }

    /// Registers a product by its serial number; its warranty starts on the purchase day.
    pub async fn portal_register(
        &self,
        a: &PortalAccount,
        i: &RegisterInput,
    ) -> Result<AssetId, AppError> {
        let mut inv = Invalid::default();
        let serial = inv.check("serial", parse_serial(&i.serial));
        let today = self.clock.today();
        let day = inv.check("purchased_on", parse_date(&i.purchased_on));
        if let Some(d) = day {
            if d > today {
                inv.push("purchased_on", "date_in_future");
            } else if d < today.saturating_sub(10.years()) {
                inv.push("purchased_on", "date_too_old");
            }
        }
        match self.store.product(i.product_id).await? {
            Some(p) if p.serialized && p.active => {}
            Some(_) => inv.push("product_id", "product_not_registrable"),
            None => inv.push("product_id", "reference_not_found"),
        }
        inv.into_result()?;
        let (Some(serial), Some(day)) = (serial, day) else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        self.store
            .register_asset(
                &portal_actor(a),
                a.customer_id,
                i.product_id,
                &serial,
                &day.to_string(),
                self.now(),
            )
            .await
            .map_err(AppError::from_store("asset"))
    }

    async fn own_request(
        &self,
        a: &PortalAccount,
        id: RequestId,
    ) -> Result<ServiceRequest, AppError> {
        self.store
            .request(id)
            .await?
            .filter(|r| r.customer_id == a.customer_id)
            .ok_or(AppError::NotFound("request"))
    }

    /// One of the customer's requests as they may see it.
    pub async fn portal_request(
        &self,
        a: &PortalAccount,
        id: RequestId,
    ) -> Result<PortalRequest, AppError> {
        let r = self.own_request(a, id).await?;
        let messages = self
            .store
            .messages(r.id)
            .await?
            .into_iter()
            .filter(|m| m.kind == "reply" || m.kind == "customer")
            .collect();
        let visits = self
            .store
            .visits(&VisitFilter {
                request_id: Some(id),
                ..Default::default()
            })
            .await?;
        Ok(PortalRequest {
            can_rate: r.resolved_at.is_some() && r.rating.is_none(),
            id: r.id,
            number: r.number,
            subject: r.subject,
            description: r.description,
            service_type: r.service_type,
            status: r.status,
            asset_id: r.asset_id,
            charge: r.charge,
            charge_reason: r.charge_reason,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
            rating: r.rating,
            rating_comment: r.rating_comment,
            messages,
            visits,
        })
    }

    /// The customer writes on their request; if it was waiting for them, work resumes.
    /// A message from the customer on their request, with photos and files (type and
    /// size checked); a message may be files alone.
    pub async fn portal_message(
        &self,
        a: &PortalAccount,
        id: RequestId,
        body: &str,
        attachments: &[crate::desk::AttachmentInput],
    ) -> Result<(), AppError> {
        let mut inv = Invalid::default();
        let files = crate::desk::decode_attachments(attachments, &mut inv);
        if attachments.len() > MAX_PORTAL_FILES {
            inv.push("attachments", "attachments_too_many");
        }
        let body = if attachments.is_empty() {
            inv.check("body", required_text(body, 20_000))
        } else {
            inv.check("body", optional_text(Some(body), 20_000))
                .map(|b| b.unwrap_or_default())
        };
        inv.into_result()?;
        let body = body.unwrap_or_default();
        let r = self.own_request(a, id).await?;
        let status = r.status;
        if status.is_final() {
            return Err(AppError::Conflict {
                code: "request_not_active",
                field: Some("body".into()),
            });
        }
        self.customer_message(&portal_actor(a), r, &a.name, body, "portal", None, files)
            .await
    }

    /// A file on one of the customer's own requests, in a message they can see.
    pub async fn portal_attachment(
        &self,
        a: &PortalAccount,
        id: i64,
    ) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
        let (request_id, meta, bytes) = self
            .store
            .attachment(id)
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        let visible = self
            .portal_request(a, request_id)
            .await?
            .messages
            .iter()
            .any(|m| m.attachments.iter().any(|x| x.id == id));
        if !visible {
            return Err(AppError::NotFound("attachment"));
        }
        Ok((meta, bytes))
    }

    pub async fn portal_rate(
        &self,
        a: &PortalAccount,
        id: RequestId,
        i: &RatingInput,
    ) -> Result<(), AppError> {
        self.rate_request(a.customer_id, &portal_actor(a), id, i)
            .await?;
        // One answer: the stars are the request's survey's CSAT, so it is not asked again.
        let now = self.clock.now();
        for s in self.store.open_surveys(a.customer_id, now).await? {
            if s.request_id == Some(id) {
                let answer = crate::survey_model::SurveyAnswer {
                    csat: Some(i.stars),
                    nps: None,
                    ces: None,
                    answers: Default::default(),
                    comment: None,
                };
                self.store.answer_survey(s.id, &answer, now).await?;
            }
        }
        Ok(())
    }

    /// Visit slots the customer may choose on their request: two-hour slots in the working
    /// hours of the next seven days (after today) in the request's calendar, when its
    /// technician is free. None when nobody has the request yet, it needs no visit, or a
    /// visit is booked already.
    pub async fn portal_slots(
        &self,
        a: &PortalAccount,
        id: RequestId,
    ) -> Result<Vec<(String, String)>, AppError> {
        let r = self.own_request(a, id).await?;
        let visit_types = [
            ServiceType::Repair,
            ServiceType::Installation,
            ServiceType::Maintenance,
            ServiceType::Commissioning,
            ServiceType::Delivery,
        ];
        let status = r.status;
        let Some(tech) = r.assignee_id else {
            return Ok(vec![]);
        };
        if !status.is_active() || !visit_types.contains(&r.service_type) {
            return Ok(vec![]);
        }
        let own = self
            .store
            .visits(&VisitFilter {
                request_id: Some(id),
                ..Default::default()
            })
            .await?;
        if own.iter().any(|v| v.status == VisitStatus::Booked) {
            return Ok(vec![]);
        }
        let config = self.store.desk_config().await?;
        let cal = config.calendar_of(r.sla_policy_id);
        let today = self.clock.today();
        let from = today
            .tomorrow()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let until = from.saturating_add(7.days());
        let busy = self
            .store
            .visits(&VisitFilter {
                technician_id: Some(tech),
                from: Some(self.clock.now()),
                ..Default::default()
            })
            .await?;
        // Where the item's line needs certification: only days the technician's
        // certificate still covers.
        let cert_until = match self.certification_for(r.asset_id, today).await? {
            None => None,
            Some(c) => Some(
                c.held
                    .get(&tech)
                    .into_iter()
                    .flatten()
                    .filter(|k| k.covers(r.service_type, &c.requirement))
                    .map(|k| k.valid_until)
                    .max()
                    .unwrap_or(today),
            ),
        };
        let mut slots = Vec::new();
        let mut day = from;
        while day < until && slots.len() < 24 {
            if cert_until.is_some_and(|last| day > last) {
                break;
            }
            for (s, e) in cal.slots(day, 2 * 3600) {
                let clash = busy
                    .iter()
                    .any(|v| v.status == VisitStatus::Booked && v.starts_at < e && v.ends_at > s);
                if !clash {
                    slots.push((stamp(s), stamp(e)));
                }
            }
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        Ok(slots)
    }

    /// The customer books one of the offered slots with the request's technician.
    pub async fn portal_book_slot(
        &self,
        a: &PortalAccount,
        id: RequestId,
        starts_at: &str,
    ) -> Result<VisitId, AppError> {
        let slots = self.portal_slots(a, id).await?;
        let Some((s, e)) = slots.into_iter().find(|(s, _)| s == starts_at) else {
            return Err(Invalid::one("starts_at", "slot_not_offered").into());
        };
        let r = self.own_request(a, id).await?;
        let tech = match r.assignee_id {
            Some(t) => self.store.user(t).await?,
            None => None,
        }
        .ok_or(AppError::NotFound("technician"))?;
        let (Ok(starts), Ok(ends)) = (s.parse(), e.parse()) else {
            return Err(AppError::Internal("slot times unreadable".into()));
        };
        self.book_visit_for(&portal_actor(a), &a.name, r, tech, starts, ends, None)
            .await
    }

    /// Published articles matching the words of `q` (all of them), for self-service.
    pub async fn help_articles(&self, q: &str) -> Result<Vec<Article>, AppError> {
        let terms: Vec<String> = q.split_whitespace().take(8).map(str::to_string).collect();
        Ok(self.store.articles(&terms, true, 20).await?)
    }

    pub async fn help_article(&self, id: ArticleId) -> Result<Article, AppError> {
        self.store
            .article(id)
            .await?
            .filter(|a| a.published)
            .ok_or(AppError::NotFound("article"))
    }

    // ---- staff side of the articles ----------------------------------------------------

    pub async fn articles(&self, p: &Principal, q: &str) -> Result<Vec<Article>, AppError> {
        p.require(Permission::Read)?;
        let terms: Vec<String> = q.split_whitespace().map(str::to_string).collect();
        Ok(self.store.articles(&terms, false, 200).await?)
    }

    pub async fn create_article(
        &self,
        p: &Principal,
        i: &ArticleInput,
    ) -> Result<ArticleId, AppError> {
        p.require(Permission::ManageDesk)?;
        let d = i.validate()?;
        self.check_article_product(&d).await?;
        Ok(self
            .store
            .create_article(&p.actor(), &d, self.now())
            .await?)
    }

    pub async fn update_article(
        &self,
        p: &Principal,
        id: ArticleId,
        i: &ArticleInput,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        let d = i.validate()?;
        self.check_article_product(&d).await?;
        self.store
            .update_article(&p.actor(), id, &d, self.now())
            .await
            .map_err(AppError::from_store("article"))
    }

    async fn check_article_product(&self, d: &ArticleDraft) -> Result<(), AppError> {
        if let Some(p) = d.product_id
            && self.store.product(p).await?.is_none()
        {
            return Err(Invalid::one("product_id", "reference_not_found").into());
        }
        Ok(())
    }
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::DeskPorts
        + ports::PortalStore
        + ports::SurveyStore
        + ports::ChangeLog
        + ports::FeedbackStore,
{
    /// Opens a request from the portal for one of the customer's own products.
    pub async fn portal_open_request(
        &self,
        a: &PortalAccount,
        i: &PortalRequestInput,
    ) -> Result<(RequestId, String), AppError> {
        if ServiceType::parse(&i.service_type).is_ok_and(|t| !PORTAL_TYPES.contains(&t)) {
            return Err(Invalid::one("service_type", "service_type_not_offered").into());
        }
        let input = RequestInput {
            customer_id: a.customer_id,
            asset_id: i.asset_id,
            service_type: i.service_type.clone(),
            channel: Some("portal".into()),
            subject: i.subject.clone(),
            description: i.description.clone(),
            ..Default::default()
        };
        // The type the customer chose stays; what the text reads as is shown to the agent.
        let suggested = self.suggest_type(&i.subject, &i.description).await?;
        self.open_request_as(
            &portal_actor(a),
            &input,
            RequestChannel::Portal,
            None,
            None,
            suggested,
        )
        .await
    }

    /// A new request with the photos and files the customer added. The files are checked
    /// before anything is written; they land on the request as the customer's first
    /// message.
    pub async fn portal_open_request_with_files(
        &self,
        a: &PortalAccount,
        i: &PortalRequestInput,
        attachments: &[crate::desk::AttachmentInput],
    ) -> Result<(RequestId, String), AppError> {
        let mut inv = Invalid::default();
        crate::desk::decode_attachments(attachments, &mut inv);
        if attachments.len() > MAX_PORTAL_FILES {
            inv.push("attachments", "attachments_too_many");
        }
        inv.into_result()?;
        let (id, number) = self.portal_open_request(a, i).await?;
        // The request stands either way: a failure here (the files were checked above, so
        // only the database can fail) must not make the customer send it twice. They see
        // it without its files and can add them on its page.
        if !attachments.is_empty()
            && let Err(e) = self.portal_message(a, id, "", attachments).await
        {
            tracing::warn!(request = id.get(), error = %e, "a new request's files were not kept");
        }
        Ok((id, number))
    }
}
