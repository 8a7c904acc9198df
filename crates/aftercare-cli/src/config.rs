//! Configuration in layers: defaults < `aftercare.toml` in the data directory <
//! `AFTERCARE_` environment variables < flags (clap merges the last two).

use anyhow::Context;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    index_dir: Option<PathBuf>,
    smtp: Option<aftercare_mail::SmtpConfig>,
    imap: Option<aftercare_mail::ImapConfig>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

pub struct Config {
    pub database_url: String,
    pub listen: Option<String>,
    /// Where customers reach this server (links in mails); by default the listen address.
    pub public_url: Option<String>,
    /// The full-text index (`<data dir>/search` unless set).
    pub index_dir: PathBuf,
    /// Where notifications are sent from; without it they wait in the outbox.
    pub smtp: Option<aftercare_mail::SmtpConfig>,
    /// A mailbox whose unread mail the server takes in; without it mail comes only
    /// through `aftercare mail-in` and the API.
    pub imap: Option<aftercare_mail::ImapConfig>,
    /// Reverse proxies whose X-Forwarded-For is believed (addresses or networks).
    pub trusted_proxies: Vec<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &aftercare_store::Db::redacted(&self.database_url),
            )
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("index_dir", &self.index_dir)
            .field("smtp", &self.smtp)
            .field("imap", &self.imap)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

impl Config {
    pub fn load(data_dir: Option<PathBuf>, database_url: Option<String>) -> anyhow::Result<Config> {
        let dir = data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let file_path = dir.join("aftercare.toml");
        let file: File = if file_path.exists() {
            let text = std::fs::read_to_string(&file_path)
                .with_context(|| format!("cannot read {}", file_path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("{} is not valid", file_path.display()))?
        } else {
            File::default()
        };
        let database_url = match database_url.or(file.database_url) {
            Some(u) => u,
            None => {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create data directory {}", dir.display()))?;
                format!("sqlite://{}", dir.join("aftercare.db").display())
            }
        };
        Ok(Config {
            database_url,
            listen: file.listen,
            public_url: file.public_url,
            index_dir: file.index_dir.unwrap_or_else(|| dir.join("search")),
            smtp: file.smtp,
            imap: file.imap,
            trusted_proxies: file.trusted_proxies,
        })
    }
}

/// Parses trusted proxies: addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`).
pub fn trusted_proxies(list: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("trusted proxy {s:?} is neither an address nor a network")
                })
        })
        .collect()
}
