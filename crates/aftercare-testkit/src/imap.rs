//! A real IMAP server for tests: pymap (from PyPI) with its in-memory backend, one user,
//! on 127.0.0.1, in plain text or offering STARTTLS.

use crate::smtp::PyServer;

pub struct ImapServer {
    server: PyServer,
    pub port: u16,
    pub user: &'static str,
    pub password: &'static str,
}

impl ImapServer {
    /// Plain text only.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// Offering STARTTLS with this certificate and key (PEM files), and refusing to log
    /// in before it.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Self {
        Self::launch(Some((cert, key)))
    }

    fn launch(tls: Option<(&std::path::Path, &std::path::Path)>) -> Self {
        let (user, password) = ("service@example.com", "mailbox secret");
        let server = PyServer::start("pymap", |port, _| {
            let tls_args: Vec<String> = match tls {
                Some((cert, key)) => vec![
                    "--cert".into(),
                    cert.display().to_string(),
                    "--key".into(),
                    key.display().to_string(),
                ],
                None => vec!["--no-tls".into()],
            };
            let head = [
                "-c",
                "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; sys.exit(main())",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ]
            .map(String::from);
            let tail = ["dict", "--demo-user", user, "--demo-password", password].map(String::from);
            head.into_iter().chain(tls_args).chain(tail).collect()
        });
        let port = server.port;
        ImapServer {
            server,
            port,
            user,
            password,
        }
    }

    pub fn log(&self) -> String {
        self.server.log()
    }
}
