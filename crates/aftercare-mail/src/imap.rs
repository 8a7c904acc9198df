//! Polling a service mailbox over IMAP: every unread mail is taken in like one delivered
//! to `aftercare mail-in`, then marked read (or deleted). A mail is marked only after it
//! was stored, and the app takes each Message-ID in once, so a crash between the two
//! loses nothing and duplicates nothing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aftercare_app::jobs::{Job, Round, Scope};
use aftercare_app::{App, AppError};
use async_imap::{Client, Session};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::Security;

/// How long connecting and each exchange with the server may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many mails per round; the rest wait for the next one.
const BATCH: usize = 200;

/// The mailbox to poll, as in the `[imap]` table of `aftercare.toml`:
///
/// ```toml
/// [imap]
/// host = "imap.example.com"
/// port = 993
/// security = "tls"
/// username = "service@example.com"
/// password = "…"
/// # mailbox = "INBOX"        # the folder to read
/// # every_seconds = 60       # how often the server polls
/// # delete_after = false     # true: delete taken-in mail instead of marking it read
/// # ca_file = "/etc/aftercare/mail-ca.pem"  # trust this CA instead of the public roots
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    /// Usually 993 with `tls`, 143 with `starttls` or `none`.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: Security,
    pub username: String,
    pub password: String,
    #[serde(default = "inbox")]
    pub mailbox: String,
    #[serde(default = "every")]
    pub every_seconds: u64,
    #[serde(default)]
    pub delete_after: bool,
    /// PEM file of the certificate authorities to trust for `tls` and `starttls` instead
    /// of the built-in public roots (a mail server on an intranet with its own CA).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

fn inbox() -> String {
    "INBOX".into()
}

fn every() -> u64 {
    60
}

/// The password stays out of logs.
impl fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("mailbox", &self.mailbox)
            .field("every_seconds", &self.every_seconds)
            .field("delete_after", &self.delete_after)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// What one round of polling did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Unread mails found (at most one batch).
    pub fetched: usize,
    /// Taken in: new requests or replies.
    pub received: usize,
    /// Taken in before (same Message-ID): only marked.
    pub duplicates: usize,
    /// Not mail the desk can take (unreadable, no sender…): marked and logged, not retried.
    pub rejected: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("imap {0}: {1}")]
    Server(&'static str, String),
    #[error("imap: no answer from {0} within {1} s")]
    Timeout(String, u64),
    /// The app could not store a mail (the database is down, say): the round stops and
    /// the mail stays unread for the next one.
    #[error("storing a mail failed: {0}")]
    Store(String),
}

fn server(step: &'static str) -> impl Fn(async_imap::error::Error) -> ImapError {
    move |e| ImapError::Server(step, e.to_string())
}

async fn timed<T>(
    cfg: &ImapConfig,
    f: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .map_err(|_| ImapError::Timeout(format!("{}:{}", cfg.host, cfg.port), TIMEOUT.as_secs()))?
}

/// One round: connects, takes in up to [`BATCH`] unread mails, marks them, logs out.
pub async fn poll_imap(app: &App, cfg: &ImapConfig) -> Result<PollReport, ImapError> {
    let tcp = timed(cfg, async {
        TcpStream::connect((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| ImapError::Server("connect", e.to_string()))
    })
    .await?;
    match cfg.security {
        Security::None => {
            let mut client = Client::new(tcp);
            greeting(cfg, &mut client).await?;
            poll_session(app, cfg, client).await
        }
        Security::Tls => {
            let tls = tls(cfg, tcp).await?;
            let mut client = Client::new(tls);
            greeting(cfg, &mut client).await?;
            poll_session(app, cfg, client).await
        }
        Security::StartTls => {
            let mut client = Client::new(tcp);
            greeting(cfg, &mut client).await?;
            timed(cfg, async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(server("starttls"))
            })
            .await?;
            let tls = tls(cfg, client.into_inner()).await?;
            poll_session(app, cfg, Client::new(tls)).await
        }
    }
}

async fn greeting<S>(cfg: &ImapConfig, client: &mut Client<S>) -> Result<(), ImapError>
where
    S: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    timed(cfg, async {
        match client.read_response().await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ImapError::Server("greeting", "connection closed".into())),
            Err(e) => Err(ImapError::Server("greeting", e.to_string())),
        }
    })
    .await
}

async fn tls(
    cfg: &ImapConfig,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let roots = match &cfg.ca_file {
        None => RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            use tokio_rustls::rustls::pki_types::CertificateDer;
            use tokio_rustls::rustls::pki_types::pem::PemObject;
            let bad =
                |e: String| ImapError::Server("tls", format!("ca_file {}: {e}", path.display()));
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
                roots
                    .add(cert.map_err(|e| bad(e.to_string()))?)
                    .map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("no certificate in it".into()));
            }
            roots
        }
    };
    let config = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Server("tls", e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(cfg.host.clone())
        .map_err(|e| ImapError::Server("tls", format!("{}: {e}", cfg.host)))?;
    timed(cfg, async {
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| ImapError::Server("tls", e.to_string()))
    })
    .await
}

async fn poll_session<S>(
    app: &App,
    cfg: &ImapConfig,
    client: Client<S>,
) -> Result<PollReport, ImapError>
where
    S: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    let mut session = timed(cfg, async {
        client
            .login(&cfg.username, &cfg.password)
            .await
            .map_err(|(e, _)| ImapError::Server("login", e.to_string()))
    })
    .await?;
    let result = take_in(app, cfg, &mut session).await;
    // Logging out is a courtesy; what was taken in is stored and marked already.
    let _ = tokio::time::timeout(TIMEOUT, session.logout()).await;
    result
}

async fn take_in<S>(
    app: &App,
    cfg: &ImapConfig,
    session: &mut Session<S>,
) -> Result<PollReport, ImapError>
where
    S: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    timed(cfg, async {
        session.select(&cfg.mailbox).await.map_err(server("select"))
    })
    .await?;
    let mut uids: Vec<u32> = timed(cfg, async {
        session.uid_search("UNSEEN").await.map_err(server("search"))
    })
    .await?
    .into_iter()
    .collect();
    uids.sort_unstable();
    uids.truncate(BATCH);
    let mut report = PollReport {
        fetched: uids.len(),
        ..Default::default()
    };
    let mark = if cfg.delete_after {
        "+FLAGS.SILENT (\\Seen \\Deleted)"
    } else {
        "+FLAGS.SILENT (\\Seen)"
    };
    for uid in uids {
        drain(session);
        // PEEK: the mail stays unread until it is stored.
        let raw = timed(cfg, async {
            let mut fetches = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .map_err(server("fetch"))?;
            let mut raw = None;
            while let Some(f) = fetches.next().await {
                let f = f.map_err(server("fetch"))?;
                if raw.is_none() {
                    raw = f.body().map(<[u8]>::to_vec);
                }
            }
            Ok(raw)
        })
        .await?;
        let Some(raw) = raw else {
            continue; // gone meanwhile (another client took it)
        };
        match crate::parse(&raw) {
            Err(e) => {
                tracing::warn!(uid, error = %e, "imap: a mail that cannot be read is marked and left");
                report.rejected += 1;
            }
            Ok(mail) => match app.receive_mail(&mail).await {
                Ok(o) if o.duplicate => report.duplicates += 1,
                Ok(o) => {
                    tracing::info!(uid, number = %o.number, threaded = o.threaded, "imap: mail taken in");
                    report.received += 1;
                }
                Err(AppError::Invalid(e)) => {
                    tracing::warn!(uid, error = ?e, "imap: a mail the desk cannot take is marked and left");
                    report.rejected += 1;
                }
                Err(e) => return Err(ImapError::Store(e.to_string())),
            },
        }
        timed(cfg, async {
            let mut stored = session
                .uid_store(uid.to_string(), mark)
                .await
                .map_err(server("store"))?;
            while let Some(r) = stored.next().await {
                r.map_err(server("store"))?;
            }
            Ok(())
        })
        .await?;
    }
    if cfg.delete_after && report.fetched > 0 {
        timed(cfg, async {
            let expunged = session.expunge().await.map_err(server("expunge"))?;
            let mut expunged = std::pin::pin!(expunged);
            while let Some(r) = expunged.next().await {
                r.map_err(server("expunge"))?;
            }
            Ok(())
        })
        .await?;
    }
    drain(session);
    Ok(report)
}

/// Unsolicited server news (new mail counts and the like) is not needed; the queue
/// holding it is bounded, so it is emptied as we go.
fn drain<S>(session: &mut Session<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// Polls the `[imap]` mailbox as a background job, on one server at a time.
pub struct ImapPolling {
    app: App,
    cfg: ImapConfig,
}

impl ImapPolling {
    pub fn new(app: App, cfg: ImapConfig) -> Self {
        Self { app, cfg }
    }
}

#[async_trait::async_trait]
impl Job for ImapPolling {
    fn name(&self) -> &'static str {
        "imap_poll"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(self.cfg.every_seconds.max(5))
    }
    fn scope(&self) -> Scope {
        Scope::Shared
    }
    async fn run_once(&self) -> Result<Round, AppError> {
        let r = poll_imap(&self.app, &self.cfg)
            .await
            .map_err(|e| AppError::Internal(format!("imap poll: {e}")))?;
        Ok(Round::default()
            .count("received", r.received)
            .count("duplicates", r.duplicates)
            .count("rejected", r.rejected))
    }
}
