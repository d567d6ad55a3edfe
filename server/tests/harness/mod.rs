//! A seccode-server of a test's own, in process on a free loopback port, with a
//! real SMTP server (aiosmtpd) and an SMS webhook receiver as its channels.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[path = "../../../tests/common/smtp_server.rs"]
mod smtp_server;
pub use smtp_server::SmtpServer;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// A second API account (another tenant of the same server).
pub const OTHER_ACCOUNT_SID: &str = "ACfedcba9876543210fedcba9876543210";
/// Its auth token.
pub const OTHER_AUTH_TOKEN: &str = "fedcba9876543210fedcba9876543210";
/// The one Messaging Service it may send from (with the number
/// +14155238886): its `senders`.
pub const OTHER_SENDER: &str = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub const AUTH_TOKEN: &str = "a-test-auth-token-0123456789";
const CODE_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

#[path = "../../../tests/common/redis_server.rs"]
mod redis_server;
pub use redis_server::RedisServer;

#[path = "../../../tests/common/postgres_server.rs"]
mod postgres_server;
pub use postgres_server::PostgresServer;

/// Where the server keeps its records in a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// The SQLite file (the default configuration).
    Sqlite,
    /// The codes' records in a `redis-server` of the test's own.
    Redis,
    /// As `Redis`, with every write fsynced to the append-only file, so the
    /// server can be killed and restarted on its data.
    DurableRedis,
    /// Everything in a PostgreSQL server of the test's own.
    Postgres,
    /// The codes' records in Redis, the rest in PostgreSQL: the
    /// several-servers configuration.
    RedisPostgres,
}

#[path = "../../../tests/common/http_server.rs"]
mod http_server;
#[allow(unused_imports)] // not every test file uses both
pub use http_server::{HttpServer, Request as HttpRequest};

/// The SMS webhook receiver: it keeps every request (a seccode `Webhook`
/// JSON body) and also writes each body to a directory as `N.json`, for the
/// SDK scripts.
#[derive(Clone)]
pub struct SmsSink {
    server: Arc<HttpServer>,
}

impl SmsSink {
    fn bodies(&self) -> Vec<serde_json::Value> {
        self.server
            .requests()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
            .collect()
    }

    /// The last request body about `to`.
    pub fn last_body(&self, to: &str) -> Option<serde_json::Value> {
        self.bodies().into_iter().rev().find(|m| m["to"] == to)
    }

    /// The last code sent to `to`.
    pub fn last_code(&self, to: &str) -> Option<String> {
        self.bodies()
            .iter()
            .rev()
            .find(|m| m["to"] == to)
            .and_then(|m| m["code"].as_str().map(str::to_owned))
    }

    /// How many messages went to `to`.
    pub fn count_to(&self, to: &str) -> usize {
        self.bodies().iter().filter(|m| m["to"] == to).count()
    }
}

/// The SID of the harness's SMS-and-voice template (English, French and
/// Finnish translations).
pub const TEMPLATE: &str = "HJ0123456789abcdef0123456789abcdef";
/// The SID of its SMS template with the custom variables `AppName` and
/// `Contact`.
pub const CUSTOM_TEMPLATE: &str = "HJfedcba9876543210fedcba9876543210";

/// The id of its email template (`{{username}}` from the substitutions).
pub const EMAIL_TEMPLATE: &str = "d-0123456789abcdef0123456789abcdef";

/// The harness's message templates.
const TEMPLATES: &str = r#"
[[templates]]
sid = "HJ0123456789abcdef0123456789abcdef"
friendly_name = "Base Verification Template"
channels = ["sms", "voice"]
[templates.translations]
en = "Your {{friendly_name}} verification code is: {{code}}. Do not share this code with anyone."
fr = "Votre code de vérification {{friendly_name}} est : {{code}}."
fi = "{{friendly_name}}-vahvistuskoodisi on: {{code}}."
[[templates]]
sid = "HJfedcba9876543210fedcba9876543210"
friendly_name = "App and contact"
[templates.translations]
en = "{{AppName}}: your code is {{code}}. Questions? {{Contact}}"
[[email_templates]]
id = "d-0123456789abcdef0123456789abcdef"
subject = "Your {{friendly_name}} code"
text = "Hi {{username}}, your code is {{twilio_code}}."
html = "<p>Hi {{username}}, your code is <b>{{twilio_code}}</b>.</p>"
"#;

/// A receiver that answers 200 and saves each request's body in `dir` as
/// N.json (written whole, then renamed into place).
async fn saving_receiver(dir: &std::path::Path) -> HttpServer {
    std::fs::create_dir_all(dir).unwrap();
    let files = dir.to_path_buf();
    let written = Arc::new(Mutex::new(0usize));
    HttpServer::start(move |request| {
        let mut n = written.lock().unwrap();
        *n += 1;
        let tmp = files.join(format!("{n}.json.tmp"));
        std::fs::write(&tmp, &request.body).unwrap();
        std::fs::rename(&tmp, files.join(format!("{n}.json"))).unwrap();
        (200, Vec::new(), "{}".to_owned())
    })
    .await
}

/// `answer` is a 400/60200 whose message contains `naming`.
pub fn assert_refused(answer: &(u16, serde_json::Value), naming: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["code"], 60200, "{}", answer.1);
    assert!(
        answer.1["message"].as_str().unwrap().contains(naming),
        "{}",
        answer.1
    );
}

/// The server and its receivers; dropped, it stops them.
pub struct Harness {
    pub url: String,
    /// What the voice gateway was asked to call.
    pub calls: SmsSink,
    /// The settings file the server runs with (for the binary's commands).
    pub config_path: PathBuf,
    pub database: PathBuf,
    pub sms: SmsSink,
    /// The WhatsApp gateway's requests (the same JSON as an SMS's).
    pub whatsapp: SmsSink,
    /// SMS requests the webhook has begun to answer (before its delay).
    pub sms_arrived: Arc<AtomicUsize>,
    pub sms_dir: PathBuf,
    /// The WhatsApp gateway's requests, saved as N.json.
    pub whatsapp_dir: PathBuf,
    /// The voice gateway's requests, saved as N.json.
    pub calls_dir: PathBuf,
    pub smtp: SmtpServer,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    dir: PathBuf,
    _redis: Option<RedisServer>,
    _postgres: Option<PostgresServer>,
}

impl Harness {
    /// A request to the API as the first account: `path` under `/v2`, or an
    /// absolute URL (a `next_page_url`); its status and JSON answer.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v2{path}", self.url)
        };
        let r = reqwest::Client::new()
            .request(method, url)
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// [`Harness::api`] as the second account.
    pub async fn api_as_other(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .request(method, format!("{}/v2{path}", self.url))
            .basic_auth(OTHER_ACCOUNT_SID, Some(OTHER_AUTH_TOKEN))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// [`Harness::api`] with `POST`.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        self.api(reqwest::Method::POST, path, form).await
    }

    /// [`Harness::api`] with `GET`.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.api(reqwest::Method::GET, path, &[]).await
    }

    /// Starts everything on the current Tokio runtime (a missing server fails
    /// the test, saying what to install).
    pub async fn start(name: &str) -> Harness {
        Self::start_on(name, Backing::Sqlite).await
    }

    /// As [`Harness::start`], with the codes' records where `backing` says
    /// (servers of the test's own).
    pub async fn start_on(name: &str, backing: Backing) -> Harness {
        Self::start_with(name, backing, "", 0).await
    }

    /// As [`Harness::start_on`], with `extra` settings at the top of the file
    /// and the SMS webhook answering after `sms_delay_ms`.
    pub async fn start_with(
        name: &str,
        backing: Backing,
        extra: &str,
        sms_delay_ms: u64,
    ) -> Harness {
        let redis = if matches!(
            backing,
            Backing::Redis | Backing::RedisPostgres | Backing::DurableRedis
        ) {
            Some(RedisServer::start_with(
                name,
                matches!(backing, Backing::DurableRedis),
            ))
        } else {
            None
        };
        let postgres = if matches!(backing, Backing::Postgres | Backing::RedisPostgres) {
            Some(PostgresServer::start(name))
        } else {
            None
        };
        let mut redis_line = redis
            .as_ref()
            .map(|r| format!("redis_url = \"{}\"", r.url))
            .unwrap_or_default();
        if let Some(pg) = &postgres {
            redis_line = format!("{redis_line}\ndatabase_url = \"{}\"", pg.database("verify"));
        }
        let smtp = SmtpServer::start(name);
        let dir =
            std::env::temp_dir().join(format!("seccode-server-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sms_dir = dir.join("sms");
        std::fs::create_dir_all(&sms_dir).unwrap();
        let written = Arc::new(Mutex::new(0usize));
        let files = sms_dir.clone();
        let sms_arrived = Arc::new(AtomicUsize::new(0));
        let arrived = sms_arrived.clone();
        let hook = HttpServer::start(move |request| {
            arrived.fetch_add(1, Ordering::SeqCst);
            // A slow provider, when the test asks for one.
            std::thread::sleep(std::time::Duration::from_millis(sms_delay_ms));
            let mut n = written.lock().unwrap();
            *n += 1;
            let tmp = files.join(format!("{n}.json.tmp"));
            std::fs::write(&tmp, &request.body).unwrap();
            std::fs::rename(&tmp, files.join(format!("{n}.json"))).unwrap();
            (200, Vec::new(), "{}".to_owned())
        })
        .await;
        let hook_url = hook.url.clone();
        let sms = SmsSink {
            server: Arc::new(hook),
        };
        // WhatsApp messages and calls are saved as N.json too, for the SDK
        // scripts.
        let whatsapp_dir = dir.join("whatsapp");
        let whatsapp_server = saving_receiver(&whatsapp_dir).await;
        let whatsapp_url = whatsapp_server.url.clone();
        let whatsapp = SmsSink {
            server: Arc::new(whatsapp_server),
        };
        let calls_dir = dir.join("calls");
        let voice = saving_receiver(&calls_dir).await;
        let call_url = voice.url.clone();
        let calls = SmsSink {
            server: Arc::new(voice),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let text = format!(
            r#"
listen = "127.0.0.1:{port}"
database = "{db}"
{redis_line}
{extra}
code_key = "{CODE_KEY}"
[[accounts]]
sid = "{ACCOUNT_SID}"
auth_token_sha256 = "{token}"
auth_token = "{AUTH_TOKEN}"
[[accounts]]
sid = "{OTHER_ACCOUNT_SID}"
auth_token_sha256 = "{other_token}"
senders = ["{OTHER_SENDER}", "whatsapp:+1 415 523 8886"]
[sms]
kind = "webhook"
url = "{hook_url}/sms"
secret = "a shared webhook secret of 32+ bytes"
[whatsapp]
kind = "webhook"
url = "{whatsapp_url}/whatsapp"
secret = "a shared whatsapp webhook secret of 32+ bytes"
[call]
url = "{call_url}/call"
secret = "a shared voice webhook secret of 32+ bytes"
[email]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "verify@example.org"
[webhooks]
first_retry_ms = 50
timeout_ms = 2000
allow_private_addresses = true
"#,
            db = dir.join("seccode.db").display(),
            token = seccode_server::config::hex(&sha2_digest(AUTH_TOKEN)),
            other_token = seccode_server::config::hex(&sha2_digest(OTHER_AUTH_TOKEN)),
            smtp_port = smtp.port,
        );
        let text = text + TEMPLATES;
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
        let url = format!("http://127.0.0.1:{port}");
        wait_healthy(&url, 10).await;
        Harness {
            url,
            calls,
            config_path,
            database: dir.join("seccode.db"),
            sms,
            whatsapp,
            sms_arrived,
            sms_dir,
            whatsapp_dir,
            calls_dir,
            smtp,
            shutdown: Some(tx),
            dir,
            _redis: redis,
            _postgres: postgres,
        }
    }

    /// Another `seccode-server` process on the same settings and databases
    /// (the binary, on a port of its own), as a second server behind a load
    /// balancer would be; stopped by PID when dropped.
    pub async fn peer(&self) -> Peer {
        self.peer_logging(None).await
    }

    /// As [`Harness::peer`], its log (stdout and stderr) written to `log` when
    /// given.
    pub async fn peer_logging(&self, log: Option<&std::path::Path>) -> Peer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let text = std::fs::read_to_string(&self.config_path).unwrap();
        let text = text
            .lines()
            .map(|l| {
                if l.starts_with("listen = ") {
                    format!("listen = \"127.0.0.1:{port}\"")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let path = self.dir.join(format!("peer-{port}.toml"));
        std::fs::write(&path, text).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_seccode-server"));
        command.arg("--config").arg(&path).env("RUST_LOG", "warn");
        if let Some(log) = log {
            let file = std::fs::File::create(log).unwrap();
            command.stdout(file.try_clone().unwrap()).stderr(file);
        }
        let child = command.spawn().unwrap();
        let peer = Peer {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        wait_healthy(&peer.url, 20).await;
        peer
    }

    /// A `pg_dump` of the test's PostgreSQL database (`None` without one).
    /// The server's own tables, opened as the server opens them (its
    /// PostgreSQL database, or its SQLite file).
    pub async fn db(&self) -> seccode_server::db::Db {
        match &self._postgres {
            Some(pg) => seccode_server::db::Db::connect(&pg.url("verify"))
                .await
                .unwrap(),
            None => seccode_server::db::Db::open(&self.database).unwrap(),
        }
    }

    pub fn postgres_dump(&self) -> Option<String> {
        let pg = self._postgres.as_ref()?;
        Some(String::from_utf8_lossy(&pg.dump("verify")).into_owned())
    }

    /// How many keys the test's redis-server holds (`None` without one).
    pub fn redis_keys(&self) -> Option<usize> {
        let url = &self._redis.as_ref()?.url;
        let port = url
            .trim_start_matches("redis://127.0.0.1:")
            .trim_end_matches('/');
        let out = std::process::Command::new("redis-cli")
            .args(["-p", port, "dbsize"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// The test's PostgreSQL, to kill and restart.
    pub fn postgres_server(&mut self) -> &mut PostgresServer {
        self._postgres.as_mut().expect("a harness on PostgreSQL")
    }

    /// The test's `redis-server`, to kill and restart.
    pub fn redis_server(&mut self) -> &mut RedisServer {
        self._redis.as_mut().expect("a harness on Redis")
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

/// A second server process; killed (by PID) when dropped.
pub struct Peer {
    pub url: String,
    child: std::process::Child,
}

impl Peer {
    /// Sends SIGTERM, as a service manager stopping it would.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (up to `limit`) for the process to exit; its status, or `None`
    /// if it is still running.
    pub async fn exited(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Polls `{url}/healthz` until it answers 2xx; fails after `seconds`.
async fn wait_healthy(url: &str, seconds: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server at {url} did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn sha2_digest(s: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).into()
}
