//! Staff sign-in: password checks with throttling, and sessions. It needs only the
//! accounts port and the clock, so it is tested against an in-memory account store.

use crate::auth;
use crate::error::AppError;
use crate::model::User;
use crate::ports::{AccountStore, Clock, LoginLimits};
use crate::service::{DUMMY_HASH, Principal};
use jiff::ToSpan;

/// Sessions last this long without use.
const SESSION_DAYS: i64 = 14;
/// After this many failed sign-ins in the window, further attempts are refused: per
/// account, and (higher, as an office or a household shares one address) per client
/// address. Staff and portal sign-ins are counted apart.
pub const LOGIN_LIMITS: LoginLimits = LoginLimits {
    per_account: 5,
    per_address: 20,
};
pub const THROTTLE_MINUTES: i64 = 15;

pub struct SignIn<'a, A: ?Sized = dyn AccountStore> {
    pub store: &'a A,
    pub clock: &'a dyn Clock,
}

impl<A: ?Sized + AccountStore> SignIn<'_, A> {
    /// Checks a password and opens a session: (session secret, CSRF token, user). Refused
    /// (`Throttled`) after [`LOGIN_LIMITS`] failures in [`THROTTLE_MINUTES`] for this
    /// email or from this address; an unknown email costs as much time as a known one.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: &str,
    ) -> Result<(String, String, User), AppError> {
        let email = email.trim().to_lowercase();
        let now = self.clock.now();
        let since = now - THROTTLE_MINUTES.minutes();
        let Some(attempt) = self
            .store
            .claim_login(&email, ip, since, now, LOGIN_LIMITS)
            .await?
        else {
            return Err(AppError::Throttled);
        };
        let creds = self.store.credentials(&email).await?;
        let ok = match &creds {
            Some(c) => c.user.active && auth::verify_password(password, &c.password_hash),
            None => {
                // Spend the same time as a real check, so timing does not reveal accounts.
                auth::verify_password(password, DUMMY_HASH);
                false
            }
        };
        self.store.finish_login(attempt, &email, ok).await?;
        let Some(creds) = creds.filter(|_| ok) else {
            return Err(AppError::Unauthenticated);
        };
        let secret = auth::new_secret("s_");
        let csrf = auth::new_secret("");
        let expires = now + (SESSION_DAYS * 24).hours();
        self.store
            .create_session(
                &auth::hash_secret(&secret),
                creds.user.id,
                &csrf,
                now,
                expires,
            )
            .await?;
        Ok((secret, csrf, creds.user))
    }

    /// The principal behind a session cookie, with the session's CSRF token.
    pub async fn session(&self, secret: &str) -> Result<Option<(Principal, String)>, AppError> {
        let rec = self
            .store
            .session(&auth::hash_secret(secret), self.clock.now())
            .await?;
        Ok(rec.and_then(|r| {
            let role = r.user.role;
            r.user.active.then_some((
                Principal {
                    user: r.user,
                    role,
                    scopes: None,
                },
                r.csrf,
            ))
        }))
    }

    pub async fn logout(&self, secret: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_session(&auth::hash_secret(secret))
            .await?)
    }
}

#[cfg(test)]
mod tests;
