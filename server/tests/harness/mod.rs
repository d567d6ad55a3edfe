//! A seccode-server of a test's own, in process on a free loopback port, with a
//! real SMTP server (aiosmtpd) and an SMS webhook receiver as its channels.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../../tests/common/smtp_server.rs"]
mod smtp_server;
pub use smtp_server::SmtpServer;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "a-test-auth-token-0123456789";
const CODE_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// What the SMS webhook received: each request's JSON body, in order; also
/// written to `dir` as `N.json` for the SDK scripts.
#[derive(Clone, Default)]
pub struct SmsSink {
    pub received: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl SmsSink {
    /// The last code sent to `to`.
    pub fn last_code(&self, to: &str) -> Option<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["to"] == to)
            .and_then(|m| m["code"].as_str().map(str::to_owned))
    }

    pub fn count_to(&self, to: &str) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == to)
            .count()
    }
}

/// A minimal HTTP/1.1 receiver: reads one request per connection, answers 200.
async fn receive(listener: tokio::net::TcpListener, sink: SmsSink, dir: PathBuf) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let (sink, dir) = (sink.clone(), dir.clone());
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break buf[end + 4..end + 4 + len].to_vec();
                }
            };
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let n = {
                let mut received = sink.received.lock().unwrap();
                received.push(json.clone());
                received.len()
            };
            let tmp = dir.join(format!("{n}.json.tmp"));
            std::fs::write(&tmp, serde_json::to_vec(&json).unwrap()).unwrap();
            std::fs::rename(&tmp, dir.join(format!("{n}.json"))).unwrap();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                .await;
        });
    }
}

/// The server and its receivers; dropped, it stops them.
pub struct Harness {
    pub url: String,
    /// The settings file the server runs with (for the binary's commands).
    pub config_path: PathBuf,
    database: PathBuf,
    pub sms: SmsSink,
    pub sms_dir: PathBuf,
    pub smtp: SmtpServer,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    dir: PathBuf,
}

impl Harness {
    /// Starts everything on the current Tokio runtime, or `None` when
    /// aiosmtpd is missing (outside CI).
    pub async fn start(name: &str) -> Option<Harness> {
        let smtp = SmtpServer::start(name)?;
        let dir =
            std::env::temp_dir().join(format!("seccode-server-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sms_dir = dir.join("sms");
        std::fs::create_dir_all(&sms_dir).unwrap();
        let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook_port = hook.local_addr().unwrap().port();
        let sms = SmsSink::default();
        tokio::spawn(receive(hook, sms.clone(), sms_dir.clone()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let text = format!(
            r#"
listen = "127.0.0.1:{port}"
database = "{db}"
code_key = "{CODE_KEY}"
[[accounts]]
sid = "{ACCOUNT_SID}"
auth_token_sha256 = "{token}"
[sms]
kind = "webhook"
url = "http://127.0.0.1:{hook_port}/sms"
secret = "a shared webhook secret of 32+ bytes"
[email]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "verify@example.org"
"#,
            db = dir.join("seccode.db").display(),
            token = seccode_server::config::hex(&sha2_digest(AUTH_TOKEN)),
            smtp_port = smtp.port,
        );
        let config = seccode_server::Config::parse(&text, &|_| None).unwrap();
        let config_path = dir.join("seccode.toml");
        std::fs::write(&config_path, &text).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            seccode_server::serve(config, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        // Ready when /healthz answers (bounded: 10 s).
        let url = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(r) = reqwest::get(format!("{url}/healthz")).await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Some(Harness {
            url,
            config_path,
            database: dir.join("seccode.db"),
            sms,
            sms_dir,
            smtp,
            shutdown: Some(tx),
            dir,
        })
    }

    /// A new API key of the test account: its SID and secret.
    pub async fn create_key(&self) -> (String, String) {
        let db = seccode_server::db::Db::open(&self.database).unwrap();
        db.create_key(ACCOUNT_SID, "test", 0).await.unwrap()
    }

    /// The last code mailed to `to` (the service's code length digits).
    pub fn last_mailed_code(&self, to: &str, length: usize) -> Option<String> {
        self.smtp.saved().iter().rev().find_map(|m| {
            let to_ok = m.json["envelope_to"].as_array()?.iter().any(|a| a == to);
            if !to_ok {
                return None;
            }
            let text = m.json["parts"].as_array()?.first()?["content"]
                .as_str()?
                .to_owned();
            text.split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == length)
                .map(str::to_owned)
        })
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sha2_digest(s: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).into()
}
