//! A real SMTP server of a test's own: Debian's `python3-aiosmtpd` with the
//! handler in `tests/data/smtp_sink.py`, on a free loopback port, stopped by PID.

/// An `aiosmtpd` server that saves what it accepts in a directory and refuses
/// recipients whose local part starts with `refused`.
pub struct SmtpServer {
    child: std::process::Child,
    /// The port it listens on, at 127.0.0.1.
    pub port: u16,
    dir: std::path::PathBuf,
}

/// What the server saved of one message (see `smtp_sink.py`).
pub struct Saved {
    /// The summary: headers, content type and decoded parts.
    pub json: serde_json::Value,
    /// The message as it came over the wire.
    pub raw: String,
}

impl SmtpServer {
    /// Starts a server. A `/usr/bin/python3` without `aiosmtpd` fails the
    /// test, saying how to install it (`bash .ci/test` does): a test never
    /// passes without its server.
    pub fn start(name: &str) -> SmtpServer {
        let python = "/usr/bin/python3";
        let has_aiosmtpd = std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            has_aiosmtpd,
            "{name}: aiosmtpd is not installed; `bash .ci/test` installs it (apt-get install python3-aiosmtpd)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("seccode-smtp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the mail");
        let handlers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "smtp_sink.Sink"])
            .arg(&dir)
            .env("PYTHONPATH", handlers)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = SmtpServer { child, port, dir };
        // Wait until it answers with its greeting (bounded: 10 s).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            use std::io::Read;
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let mut greeting = [0u8; 3];
                if s.read_exact(&mut greeting).is_ok() && &greeting == b"220" {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// The directory the messages are saved in (`N.json`, `N.eml`).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The messages saved so far, oldest first.
    pub fn saved(&self) -> Vec<Saved> {
        let mut out = Vec::new();
        for n in 1.. {
            let base = self.dir.join(n.to_string());
            let Ok(json) = std::fs::read_to_string(base.with_extension("json")) else {
                break;
            };
            out.push(Saved {
                json: serde_json::from_str(&json).expect("the sink writes JSON"),
                raw: std::fs::read_to_string(base.with_extension("eml")).unwrap_or_default(),
            });
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
