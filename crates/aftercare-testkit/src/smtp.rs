//! Real mail servers for tests, from PyPI: aiosmtpd (SMTP, storing what it receives in
//! a maildir) here and pymap (IMAP) in [`crate::imap`]. The python comes from
//! `AFTERCARE_TEST_PYTHON`, which `scripts/test` sets; without it the test fails and
//! says so.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A Python server process (from the test venv) and its directory; killed and removed
/// on drop, panics included.
pub(crate) struct PyServer {
    child: Child,
    pub(crate) dir: PathBuf,
    pub(crate) port: u16,
    what: &'static str,
}

impl PyServer {
    /// Starts `python <args…>`; `args` gets the port and the server's directory.
    pub(crate) fn start(what: &'static str, args: impl FnOnce(u16, &Path) -> Vec<String>) -> Self {
        let python = std::env::var("AFTERCARE_TEST_PYTHON").unwrap_or_else(|_| {
            panic!(
                "AFTERCARE_TEST_PYTHON is not set. This test needs a python with {what}: \
                 run scripts/test, or \
                 AFTERCARE_TEST_PYTHON=\"$(scripts/python-env | tail -n1)\" cargo test"
            )
        });
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "aftercare-test-{what}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let log = File::create(dir.join("server.log")).unwrap();
        let child = Command::new(&python)
            .args(args(port, &dir))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} with {python}: {e}"));
        let mut server = PyServer {
            child,
            dir,
            port,
            what,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}): {}", self.what, self.log());
            }
            let addr = ([127, 0, 0, 1], self.port).into();
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on port {} within 20 s: {}",
                self.what,
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// aiosmtpd storing what it receives in a maildir.
pub struct SmtpSink {
    server: PyServer,
    pub port: u16,
}

impl SmtpSink {
    pub fn start() -> Self {
        let server = PyServer::start("aiosmtpd", |port, dir| {
            vec![
                "-m".into(),
                "aiosmtpd".into(),
                "-n".into(),
                "-l".into(),
                format!("127.0.0.1:{port}"),
                "-c".into(),
                "aiosmtpd.handlers.Mailbox".into(),
                dir.join("maildir").display().to_string(),
            ]
        });
        let port = server.port;
        SmtpSink { server, port }
    }

    pub fn log(&self) -> String {
        self.server.log()
    }

    /// The messages delivered so far, as stored.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        let new = self.server.dir.join("maildir/new");
        let mut paths: Vec<_> = std::fs::read_dir(&new)
            .unwrap_or_else(|e| panic!("{}: {e}", new.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
