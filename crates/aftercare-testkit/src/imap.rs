//! A real IMAP server for tests: pymap (from PyPI) with its in-memory backend, one user,
//! plain text on 127.0.0.1.

use crate::smtp::PyServer;

pub struct ImapServer {
    server: PyServer,
    pub port: u16,
    pub user: &'static str,
    pub password: &'static str,
}

impl ImapServer {
    pub fn start() -> Self {
        let (user, password) = ("service@example.com", "mailbox secret");
        let server = PyServer::start("pymap", |port, _| {
            [
                "-c",
                "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; sys.exit(main())",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--no-tls",
                "dict",
                "--demo-user",
                user,
                "--demo-password",
                password,
            ]
            .map(String::from)
            .to_vec()
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
