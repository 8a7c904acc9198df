//! The [`Mailer`] over SMTP.

use std::fmt;
use std::time::Duration;

use aftercare_app::ports::Mailer;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// How long one SMTP command may wait on the server.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text, no TLS (`none`): only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (`starttls`, port 587).
    StartTls,
    /// TLS from the first byte (`tls`, port 465).
    Tls,
}

/// Where and how to send mail, as in the `[smtp]` table of `aftercare.toml`:
///
/// ```toml
/// [smtp]
/// host = "smtp.example.com"
/// port = 587
/// security = "starttls"
/// username = "service@example.com"
/// password = "…"
/// from = "售后服务 <service@example.com>"
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name (also the name its TLS certificate must have).
    pub host: String,
    /// The server's port: usually 25 or 587 with `none` or `starttls`, 465 with `tls`.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: Security,
    /// The login, when the server wants one (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// The login's password.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender of every mail: `service@example.com` or `售后服务 <service@example.com>`.
    pub from: String,
}

/// The password stays out of logs.
impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Sends plain-text UTF-8 mail through one SMTP server, a new connection per mail.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .finish()
    }
}

impl SmtpMailer {
    /// Checks the configuration (the sender's address, the TLS set-up); connects to
    /// nothing until the first mail.
    pub fn new(cfg: SmtpConfig) -> Result<Self, String> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| format!("smtp: invalid sender address {:?}: {e}", cfg.from))?;
        let builder = match cfg.security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                    .map_err(|e| format!("smtp: cannot set up STARTTLS for {}: {e}", cfg.host))?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
                .map_err(|e| format!("smtp: cannot set up TLS for {}: {e}", cfg.host))?,
        };
        let mut builder = builder.port(cfg.port).timeout(Some(TIMEOUT));
        match (cfg.username, cfg.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user, password));
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err("smtp: username and password go together".to_string());
            }
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to
            .trim()
            .parse()
            .map_err(|e| format!("invalid recipient address {to:?}: {e}"))?;
        // lettre encodes a non-ASCII subject per RFC 2047 and picks the body's transfer
        // encoding; the Message-ID names this host.
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("cannot build the mail: {e}"))?;
        // The transport's timeout bounds each command; this bounds the whole exchange.
        match tokio::time::timeout(TIMEOUT * 2, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("smtp: {e}")),
            Err(_) => Err(format!(
                "smtp: not sent within {} s",
                (TIMEOUT * 2).as_secs()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn config_comes_from_toml_and_hides_its_password() {
        let cfg: SmtpConfig = toml::from_str(
            r#"
            host = "smtp.example.com"
            port = 465
            security = "tls"
            username = "service@example.com"
            password = "s3cret"
            from = "售后服务 <service@example.com>"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.security, Security::Tls);
        assert_eq!(cfg.port, 465);
        assert_eq!(cfg.password.as_deref(), Some("s3cret"));
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");

        let plain: SmtpConfig = toml::from_str(
            "host = \"localhost\"\nport = 25\nsecurity = \"none\"\nfrom = \"a@b.c\"\n",
        )
        .unwrap();
        assert_eq!((plain.security, plain.username), (Security::None, None));
        let starttls: Security = toml::Value::String("starttls".into()).try_into().unwrap();
        assert_eq!(starttls, Security::StartTls);
    }

    #[test]
    fn tls_settings_build_without_a_connection() {
        let cfg = |security| SmtpConfig {
            host: "smtp.example.com".to_string(),
            port: 587,
            security,
            username: Some("u".to_string()),
            password: Some("p".to_string()),
            from: "service@example.com".to_string(),
        };
        SmtpMailer::new(cfg(Security::StartTls)).unwrap();
        SmtpMailer::new(cfg(Security::Tls)).unwrap();
        let half = SmtpConfig {
            password: None,
            ..cfg(Security::Tls)
        };
        assert!(SmtpMailer::new(half).unwrap_err().contains("together"));
    }
}
