//! Configuration: a TOML file, then environment variables over it, validated
//! at start; every error names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The server's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen (`SECCODE_LISTEN`). Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The base of the absolute URLs in answers (`SECCODE_PUBLIC_URL`), e.g.
    /// `https://verify.example.com`. Default: `http://` + `listen`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The SQLite file for services, verifications and codes
    /// (`SECCODE_DATABASE`). Default `./seccode.db`.
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// The key codes are derived from: 64 hex digits (`SECCODE_CODE_KEY`).
    /// Required; keep it secret and the same on every server.
    #[serde(default)]
    pub code_key: Option<String>,
    /// The accounts that may call the API.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Where SMS (and `call`) codes go.
    #[serde(default)]
    pub sms: Option<SmsConfig>,
    /// Where `whatsapp` codes go: Twilio's Messages API with the `whatsapp:`
    /// prefix (`kind = "twilio"`, a WhatsApp-enabled sender), or a signed JSON
    /// POST to your own gateway (`kind = "webhook"`). Secrets:
    /// `SECCODE_WHATSAPP_WEBHOOK_SECRET`, `SECCODE_WHATSAPP_AUTH_TOKEN`.
    #[serde(default)]
    pub whatsapp: Option<SmsConfig>,
    /// Where email codes go.
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// Where `call` codes go: a signed JSON POST per call to your voice
    /// gateway, with the text to read (`voice`: the digits one by one, twice).
    #[serde(default)]
    pub call: Option<CallConfig>,
    /// PostgreSQL for everything — services, verifications, keys and the codes'
    /// records — instead of `database` (`SECCODE_DATABASE_URL`,
    /// `postgres://user@host/db`): the configuration for several servers
    /// behind a load balancer. With `redis_url` too, the codes' records go to
    /// Redis.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Redis for the codes' records (challenges, attempt and send counters),
    /// shared by every server that uses it (`SECCODE_REDIS_URL`); services and
    /// keys stay in `database`. Default: everything in `database`.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// How long one request may take before it answers 503 (seconds, 1–300;
    /// default 30).
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// How long connecting to a store may take before a request gives up
    /// with 503/20503 (milliseconds, 50–10 000; default 500). Redis commands
    /// may wait four times as long for their answer; readiness probes twice.
    #[serde(default = "default_store_timeout")]
    pub store_timeout_ms: u64,
    /// Send budgets per hour (seccode's `Limits`).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// How events are delivered to the services' webhooks.
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// The message templates a verification's `TemplateSid` or a service's
    /// `DefaultTemplateSid` may name (listed by `/v2/Templates`).
    #[serde(default)]
    pub templates: Vec<TemplateConfig>,
    /// The email templates an email verification's `ChannelConfiguration`
    /// `template_id` may name.
    #[serde(default)]
    pub email_templates: Vec<EmailTemplateConfig>,
}

/// An email template (`[[email_templates]]`), as a SendGrid dynamic template
/// named by Twilio's email `ChannelConfiguration`:
///
/// ```toml
/// [[email_templates]]
/// id = "d-0123456789abcdef0123456789abcdef"
/// subject = "Your {{friendly_name}} code"
/// text = "Hi {{username}}, your code is {{twilio_code}}."
/// html = "<p>Hi {{username}}, your code is <b>{{twilio_code}}</b>.</p>"
/// ```
///
/// `{{twilio_code}}` stands once in the text and the HTML, never in the
/// subject; `{{friendly_name}}` is the service's name; any other
/// `{{name}}` comes from the verification's `substitutions` (escaped in the
/// HTML).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateConfig {
    /// What `template_id` names: 1 to 64 letters, digits, `-` or `_`.
    pub id: String,
    /// One line.
    pub subject: String,
    /// The plain text.
    pub text: String,
    /// The HTML part, if any.
    #[serde(default)]
    pub html: Option<String>,
}

/// A message template (`[[templates]]`), as Twilio's Verify templates are:
///
/// ```toml
/// [[templates]]
/// sid = "HJ0123456789abcdef0123456789abcdef"
/// friendly_name = "Contoso, do not share"
/// channels = ["sms", "voice"]
/// [templates.translations]
/// en = "Your {{friendly_name}} verification code is: {{code}}. Do not share it."
/// fr = "Votre code de vérification {{friendly_name}} : {{code}}. Ne le partagez pas."
/// ```
///
/// `{{code}}` must stand exactly once; `{{friendly_name}}` is the service's
/// name (or the verification's `CustomFriendlyName`); any other `{{Name}}`
/// is filled in from the verification's `TemplateCustomSubstitutions`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// `HJ` and 32 hex digits: the same on every server, as services keep it.
    pub sid: String,
    /// 1 to 32 characters.
    pub friendly_name: String,
    /// `sms` and/or `voice` (a `call` verification). Default `["sms"]`.
    #[serde(default = "default_template_channels")]
    pub channels: Vec<String>,
    /// The translation used where a verification's locale (and its
    /// language) has none. Default `en`, which must then be translated.
    #[serde(default)]
    pub default_locale: Option<String>,
    /// Locale (Twilio's tags: `en`, `pt-BR`, `zh-HK`, …) → text.
    pub translations: std::collections::BTreeMap<String, String>,
}

fn default_template_channels() -> Vec<String> {
    vec!["sms".to_owned()]
}

/// Delivering events to the services' webhooks: a delivery the receiver does
/// not answer with 2xx (or does not answer within `timeout_ms`) is tried
/// again after `first_retry_ms`, then twice as long each time, up to
/// `max_attempts` attempts in all.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// The wait before the second attempt, milliseconds (10–600 000; default
    /// 1 000).
    pub first_retry_ms: u64,
    /// Attempts in all before a delivery is given up (1–20; default 8: the
    /// last about two minutes after the first with the default wait).
    pub max_attempts: u32,
    /// How long one attempt waits for the receiver, milliseconds (100–60 000;
    /// default 5 000).
    pub timeout_ms: u64,
    /// Whether a webhook may point at this machine or a private network
    /// (loopback, RFC 1918, link-local, CGNAT, unique-local IPv6 addresses
    /// and `localhost`; host names are not resolved). Default `false`: an
    /// API account cannot make the server POST inside its own network.
    pub allow_private_addresses: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            first_retry_ms: 1_000,
            max_attempts: 8,
            timeout_ms: 5_000,
            allow_private_addresses: false,
        }
    }
}

/// A secret read from the configuration: its `Debug` never shows it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps a secret.
    pub fn new(text: String) -> Self {
        SecretText(text)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(..)")
    }
}

/// Messages allowed per hour, narrowest first. A refused send answers 429
/// (60212 for one number, 20429 otherwise) with `Retry-After`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// To one number or address from one API account (default 10): each
    /// account has its own, so one tenant cannot silence a number for the
    /// others.
    pub per_destination: u32,
    /// To one number or address from every API account together (default
    /// 100): sized for spend and harassment across tenants, well above what one
    /// tenant may send.
    pub per_destination_all_accounts: u32,
    /// To one destination within one service (default 20).
    pub per_contact: u32,
    /// SMS and calls to one country calling code (default 1 000): the brake on
    /// SMS pumping to premium ranges.
    pub per_calling_code: u32,
    /// Everything the server sends (default 100 000).
    pub total: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_destination: 10,
            per_destination_all_accounts: 100,
            per_contact: 20,
            per_calling_code: 1_000,
            total: 100_000,
        }
    }
}

/// One API account: its SID and the SHA-256 of its auth token.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// `AC` + 32 hex digits.
    pub sid: String,
    /// The SHA-256 of the auth token, 64 hex digits (the token itself is never
    /// stored). `SECCODE_ACCOUNT_SID` and `SECCODE_AUTH_TOKEN` add one account
    /// from the environment. May be left out when `auth_token` is given.
    #[serde(default)]
    pub auth_token_sha256: String,
    /// The auth token itself — only to sign the service's webhooks as Twilio
    /// does (`X-Twilio-Signature`, keyed with the account's auth token); its
    /// SHA-256 must be `auth_token_sha256`. An account configured from the
    /// environment has it. Without it, the account cannot create webhooks.
    #[serde(default)]
    pub auth_token: Option<SecretText>,
    /// The senders this account's services may name: Messaging Service SIDs
    /// (`MG…`) and numbers, for its Messaging Configurations and its
    /// services' `Whatsapp.MsgServiceSid` / `Whatsapp.From`. Absent: any
    /// (one tenant per Twilio account). Set it for each account when several
    /// tenants share the server's Twilio account, so that none sends from
    /// another's sender.
    #[serde(default)]
    pub senders: Option<Vec<String>>,
}

/// SMS delivery.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum SmsConfig {
    /// A signed JSON POST per message to your gateway (seccode's `Webhook`).
    Webhook {
        /// The endpoint.
        url: String,
        /// The shared secret (32+ bytes) the requests are signed with
        /// (`SECCODE_SMS_WEBHOOK_SECRET`).
        #[serde(default)]
        secret: Option<String>,
    },
    /// Twilio's Messages API (seccode's `TwilioSms`).
    Twilio {
        /// The Twilio account SID.
        account_sid: String,
        /// Its auth token (`SECCODE_TWILIO_AUTH_TOKEN`).
        #[serde(default)]
        auth_token: Option<String>,
        /// The sender number.
        from: String,
    },
}

/// Voice delivery: seccode's `Webhook` to a gateway that places the call.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {
    /// The endpoint.
    pub url: String,
    /// The shared secret (32+ bytes) the requests are signed with
    /// (`SECCODE_CALL_WEBHOOK_SECRET`).
    #[serde(default)]
    pub secret: Option<String>,
}

/// Email delivery over SMTP.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// `none` (a relay on a private network), `starttls` or `tls`.
    #[serde(default = "default_tls")]
    pub tls: String,
    /// The sender address.
    pub from: String,
    /// A user name, if the server wants one (`SECCODE_SMTP_PASSWORD` is its
    /// password).
    #[serde(default)]
    pub username: Option<String>,
    /// Domains besides `from`'s that a verification's `ChannelConfiguration`
    /// may send from (`from`); default none.
    #[serde(default)]
    pub sender_domains: Vec<String>,
}

impl EmailConfig {
    /// The domains a verification may name as its sender's: `from`'s and
    /// `sender_domains`, lower case.
    pub fn domains(&self) -> Vec<String> {
        let address = self
            .from
            .rsplit_once('<')
            .map_or(self.from.as_str(), |(_, a)| a.trim_end_matches('>'));
        let mut out: Vec<String> = address
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
            .into_iter()
            .collect();
        out.extend(
            self.sender_domains
                .iter()
                .map(|d| d.trim().to_ascii_lowercase()),
        );
        out
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_database() -> PathBuf {
    PathBuf::from("seccode.db")
}

fn default_timeout() -> u64 {
    30
}

fn default_store_timeout() -> u64 {
    500
}

fn default_tls() -> String {
    "starttls".to_owned()
}

/// A configuration error: the key, and what is wrong with it (never a secret
/// value).
#[derive(Debug)]
pub struct ConfigError {
    /// The key (`listen`, `accounts[0].sid`, `SECCODE_CODE_KEY`…).
    pub key: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// The dotted key whose line holds byte `at` of a TOML text (`email.port`).
fn key_at(text: &str, at: usize) -> String {
    let before = text.get(..at).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("");
    let name = line.split('=').next().unwrap_or("").trim();
    if name.starts_with('[') || name.is_empty() {
        return name.trim_matches(|c| c == '[' || c == ']').to_owned();
    }
    let table = text
        .get(..line_start)
        .unwrap_or("")
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']'));
    match table {
        Some(t) => format!("{t}.{name}"),
        None => name.to_owned(),
    }
}

fn err(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from 64 hex digits (validated before; anything else reads as 0).
pub fn unhex32(h: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = h
            .get(2 * i..2 * i + 2)
            .and_then(|x| u8::from_str_radix(x, 16).ok())
            .unwrap_or(0);
    }
    out
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A sender as the server compares them: a Messaging Service SID as it is,
/// a number in E.164 (`whatsapp:` optional); `None` for anything else.
pub fn sender_identity(sender: &str) -> Option<String> {
    let sender = sender.trim();
    if is_sid(sender, "MG") {
        return Some(sender.to_owned());
    }
    let number = sender.strip_prefix("whatsapp:").unwrap_or(sender);
    seccode::Contact::phone(number)
        .ok()
        .map(|phone| phone.expose().to_owned())
}

/// Whether `sid` is two letters `prefix` and 32 hex digits.
pub fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && is_hex(&sid[2..], 32)
}

impl Config {
    /// Reads `path` (if given; a missing default file is fine), applies the
    /// environment, and validates.
    ///
    /// # Errors
    ///
    /// The first key that is missing or wrong.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| err("--config", format!("cannot read {}: {e}", p.display())))?,
            None => String::new(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Config::parse(&text, &env)
    }

    /// As [`Config::load`], from TOML text and an environment lookup.
    ///
    /// # Errors
    ///
    /// As [`Config::load`].
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map_or_else(|| "(file)".to_owned(), |span| key_at(text, span.start));
            err(&key, e.message().to_owned())
        })?;
        if let Some(v) = env("SECCODE_LISTEN") {
            config.listen = v
                .parse()
                .map_err(|_| err("SECCODE_LISTEN", "expected an address like 127.0.0.1:8080"))?;
        }
        if let Some(v) = env("SECCODE_PUBLIC_URL") {
            config.public_url = Some(v);
        }
        if let Some(v) = env("SECCODE_DATABASE") {
            config.database = PathBuf::from(v);
        }
        if let Some(v) = env("SECCODE_DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Some(v) = env("SECCODE_REDIS_URL") {
            config.redis_url = Some(v);
        }
        if let Some(v) = env("SECCODE_CODE_KEY") {
            config.code_key = Some(v);
        }
        match (env("SECCODE_ACCOUNT_SID"), env("SECCODE_AUTH_TOKEN")) {
            (Some(sid), Some(token)) => config.accounts.push(AccountConfig {
                sid,
                auth_token_sha256: hex(&Sha256::digest(token.as_bytes())),
                auth_token: Some(SecretText(token)),
                senders: None,
            }),
            (None, None) => {}
            (Some(_), None) => {
                return Err(err("SECCODE_AUTH_TOKEN", "set it with SECCODE_ACCOUNT_SID"));
            }
            (None, Some(_)) => {
                return Err(err("SECCODE_ACCOUNT_SID", "set it with SECCODE_AUTH_TOKEN"));
            }
        }
        if let (Some(call), Some(v)) = (&mut config.call, env("SECCODE_CALL_WEBHOOK_SECRET")) {
            call.secret = Some(v);
        }
        for (section, webhook_secret, twilio_token) in [
            (
                &mut config.sms,
                "SECCODE_SMS_WEBHOOK_SECRET",
                "SECCODE_TWILIO_AUTH_TOKEN",
            ),
            (
                &mut config.whatsapp,
                "SECCODE_WHATSAPP_WEBHOOK_SECRET",
                "SECCODE_WHATSAPP_AUTH_TOKEN",
            ),
        ] {
            match section {
                Some(SmsConfig::Webhook { secret, .. }) => {
                    if let Some(v) = env(webhook_secret) {
                        *secret = Some(v);
                    }
                }
                Some(SmsConfig::Twilio { auth_token, .. }) => {
                    if let Some(v) = env(twilio_token) {
                        *auth_token = Some(v);
                    }
                }
                None => {}
            }
        }
        for a in &mut config.accounts {
            if let (true, Some(token)) = (a.auth_token_sha256.is_empty(), &a.auth_token) {
                a.auth_token_sha256 = hex(&Sha256::digest(token.expose().as_bytes()));
            }
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match &self.code_key {
            None => {
                return Err(err(
                    "code_key",
                    "required: 64 hex digits (e.g. `openssl rand -hex 32`), or SECCODE_CODE_KEY",
                ));
            }
            Some(k) if !is_hex(k, 64) => return Err(err("code_key", "expected 64 hex digits")),
            Some(_) => {}
        }
        if self.accounts.is_empty() {
            return Err(err(
                "accounts",
                "at least one: [[accounts]] with sid and auth_token_sha256, or SECCODE_ACCOUNT_SID and SECCODE_AUTH_TOKEN",
            ));
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if !is_sid(&a.sid, "AC") {
                return Err(err(
                    &format!("accounts[{i}].sid"),
                    "expected AC and 32 hex digits",
                ));
            }
            if !is_hex(&a.auth_token_sha256, 64) {
                return Err(err(
                    &format!("accounts[{i}].auth_token_sha256"),
                    "expected the SHA-256 of the token, 64 hex digits",
                ));
            }
            if let Some(token) = &a.auth_token
                && hex(&Sha256::digest(token.expose().as_bytes())) != a.auth_token_sha256
            {
                return Err(err(
                    &format!("accounts[{i}].auth_token"),
                    "its SHA-256 is not auth_token_sha256: the same account's token is expected",
                ));
            }
        }
        crate::templates::TemplateSet::from_config(&self.templates, &self.email_templates)
            .map_err(|(key, problem)| err(&key, problem))?;
        for (i, a) in self.accounts.iter().enumerate() {
            for (j, sender) in a.senders.iter().flatten().enumerate() {
                if sender_identity(sender).is_none() {
                    return Err(err(
                        &format!("accounts[{i}].senders[{j}]"),
                        "expected a Messaging Service SID (MG and 32 hex digits) or a phone number",
                    ));
                }
            }
        }
        let w = &self.webhooks;
        if !(10..=600_000).contains(&w.first_retry_ms) {
            return Err(err(
                "webhooks.first_retry_ms",
                "expected 10 to 600000 milliseconds",
            ));
        }
        if !(1..=20).contains(&w.max_attempts) {
            return Err(err("webhooks.max_attempts", "expected 1 to 20 attempts"));
        }
        if !(100..=60_000).contains(&w.timeout_ms) {
            return Err(err(
                "webhooks.timeout_ms",
                "expected 100 to 60000 milliseconds",
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(err("public_url", "expected an http:// or https:// URL"));
        }
        for (name, section, webhook_secret, twilio_token) in [
            (
                "sms",
                &self.sms,
                "SECCODE_SMS_WEBHOOK_SECRET",
                "SECCODE_TWILIO_AUTH_TOKEN",
            ),
            (
                "whatsapp",
                &self.whatsapp,
                "SECCODE_WHATSAPP_WEBHOOK_SECRET",
                "SECCODE_WHATSAPP_AUTH_TOKEN",
            ),
        ] {
            match section {
                Some(SmsConfig::Webhook { url, secret }) => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(err(
                            &format!("{name}.url"),
                            "expected an http:// or https:// URL",
                        ));
                    }
                    if secret.as_ref().is_none_or(|s| s.len() < 32) {
                        return Err(err(
                            &format!("{name}.secret"),
                            format!("required, at least 32 bytes (or {webhook_secret})"),
                        ));
                    }
                }
                Some(SmsConfig::Twilio {
                    auth_token,
                    account_sid,
                    ..
                }) => {
                    if !is_sid(account_sid, "AC") {
                        return Err(err(
                            &format!("{name}.account_sid"),
                            "expected AC and 32 hex digits",
                        ));
                    }
                    if auth_token.is_none() {
                        return Err(err(
                            &format!("{name}.auth_token"),
                            format!("required (or {twilio_token})"),
                        ));
                    }
                }
                None => {}
            }
        }
        if let Some(CallConfig { url, secret }) = &self.call {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("call.url", "expected an http:// or https:// URL"));
            }
            if secret.as_ref().is_none_or(|s| s.len() < 32) {
                return Err(err(
                    "call.secret",
                    "required, at least 32 bytes (or SECCODE_CALL_WEBHOOK_SECRET)",
                ));
            }
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(err("database_url", "expected a postgres:// URL"));
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(err("redis_url", "expected a redis:// or rediss:// URL"));
        }
        if !(1..=300).contains(&self.request_timeout_secs) {
            return Err(err("request_timeout_secs", "expected 1 to 300 seconds"));
        }
        if !(50..=10_000).contains(&self.store_timeout_ms) {
            return Err(err("store_timeout_ms", "expected 50 to 10000 milliseconds"));
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.per_destination", l.per_destination),
            (
                "limits.per_destination_all_accounts",
                l.per_destination_all_accounts,
            ),
            ("limits.per_contact", l.per_contact),
            ("limits.per_calling_code", l.per_calling_code),
            ("limits.total", l.total),
        ] {
            if value == 0 {
                return Err(err(key, "expected at least 1 message per hour"));
            }
        }
        if let Some(e) = &self.email {
            if !matches!(e.tls.as_str(), "none" | "starttls" | "tls") {
                return Err(err("email.tls", "expected none, starttls or tls"));
            }
            if seccode::Contact::email(&e.from).is_err() {
                return Err(err("email.from", "expected an email address"));
            }
        }
        Ok(())
    }

    /// The base of absolute URLs, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The code key's 32 bytes.
    pub fn code_key_bytes(&self) -> [u8; 32] {
        unhex32(self.code_key.as_deref().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn errors_name_the_key_and_never_the_secret() {
        let e = Config::parse("", &no_env).unwrap_err();
        assert_eq!(e.key, "code_key");
        let e = Config::parse(&format!("code_key = \"{KEY}\""), &no_env).unwrap_err();
        assert_eq!(e.key, "accounts");
        let text = format!(
            "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"AC1\"\nauth_token_sha256 = \"{KEY}\"\n"
        );
        let e = Config::parse(&text, &no_env).unwrap_err();
        assert_eq!(e.key, "accounts[0].sid");
        let e = Config::parse("listen = 5\n", &no_env).unwrap_err();
        assert_eq!(e.key, "listen", "{e}");
        let e = Config::parse("[email]\nhost = \"h\"\nport = \"x\"\n", &no_env).unwrap_err();
        assert_eq!(e.key, "email.port", "{e}");
        let env = |k: &str| match k {
            "SECCODE_CODE_KEY" => Some(KEY.to_owned()),
            "SECCODE_ACCOUNT_SID" => Some(format!("AC{}", &KEY[..32])),
            "SECCODE_AUTH_TOKEN" => Some("a-secret-token".to_owned()),
            _ => None,
        };
        let text =
            "[sms]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/sms\"\nsecret = \"short\"\n";
        let e = Config::parse(text, &env).unwrap_err();
        assert_eq!(e.key, "sms.secret");
        assert!(!e.to_string().contains("short"));
        let c = Config::parse("", &env).unwrap();
        assert_eq!(c.accounts.len(), 1);
        assert_ne!(c.accounts[0].auth_token_sha256, "a-secret-token");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn an_accounts_signing_token_is_its_own_and_never_shown() {
        let sid = format!("AC{}", &KEY[..32]);
        let token = "a-secret-token-for-webhooks";
        let digest = hex(&Sha256::digest(token.as_bytes()));
        // The token alone: its digest is worked out.
        let text = format!(
            "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token = \"{token}\"\n"
        );
        let c = Config::parse(&text, &no_env).unwrap();
        assert_eq!(c.accounts[0].auth_token_sha256, digest);
        assert!(!format!("{c:?}").contains(token), "Debug never shows it");
        // Another account's token is refused, naming the key, not the token.
        let text = format!(
            "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token_sha256 = \"{KEY}\"\nauth_token = \"{token}\"\n"
        );
        let e = Config::parse(&text, &no_env).unwrap_err();
        assert_eq!(e.key, "accounts[0].auth_token");
        assert!(!e.to_string().contains(token));
        let e = Config::parse(
            &format!("code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token = \"{token}\"\n[webhooks]\nmax_attempts = 0\n"),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(e.key, "webhooks.max_attempts");
    }

    #[test]
    fn a_whatsapp_channel_is_checked_as_an_sms_one_under_its_own_keys() {
        let sid = format!("AC{}", &KEY[..32]);
        let base = format!(
            "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token_sha256 = \"{KEY}\"\n"
        );
        let e = Config::parse(
            &format!("{base}[whatsapp]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/w\"\nsecret = \"short\"\n"),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(e.key, "whatsapp.secret");
        assert!(e.problem.contains("SECCODE_WHATSAPP_WEBHOOK_SECRET"), "{e}");
        let twilio = format!(
            "{base}[whatsapp]\nkind = \"twilio\"\naccount_sid = \"{sid}\"\nfrom = \"+15017122661\"\n"
        );
        let e = Config::parse(&twilio, &no_env).unwrap_err();
        assert_eq!(e.key, "whatsapp.auth_token");
        let env = |k: &str| (k == "SECCODE_WHATSAPP_AUTH_TOKEN").then(|| "a-token".to_owned());
        assert!(Config::parse(&twilio, &env).is_ok());
    }

    #[test]
    fn a_template_is_checked_when_the_server_starts() {
        let sid = format!("AC{}", &KEY[..32]);
        let base = format!(
            "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token_sha256 = \"{KEY}\"\n"
        );
        let template = |sid: &str, extra: &str, translations: &str| {
            format!(
                "{base}[[templates]]\nsid = \"{sid}\"\nfriendly_name = \"T\"\n{extra}[templates.translations]\n{translations}\n"
            )
        };
        let good = "HJ0123456789abcdef0123456789abcdef";
        let ok = Config::parse(&template(good, "", "en = \"Code {{code}}\""), &no_env).unwrap();
        assert_eq!(ok.templates[0].channels, ["sms"]);
        for (text, key, problem) in [
            (
                template("HJ12", "", "en = \"{{code}}\""),
                "templates[0].sid",
                "HJ",
            ),
            (
                template(good, "", "en = \"no code\""),
                "templates[0].translations.en",
                "exactly once",
            ),
            (
                template(good, "", "english = \"{{code}}\""),
                "templates[0].translations.english",
                "Twilio's Verify locales",
            ),
            (
                template(good, "", "fr = \"{{code}}\""),
                "templates[0].default_locale",
                "required",
            ),
            (
                template(good, "channels = [\"email\"]\n", "en = \"{{code}}\""),
                "templates[0].channels",
                "sms",
            ),
        ] {
            let e = Config::parse(&text, &no_env).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.problem.contains(problem), "{e}");
        }
        let twice = format!(
            "{}[[templates]]\nsid = \"{good}\"\nfriendly_name = \"U\"\n[templates.translations]\nen = \"{{{{code}}}}\"\n",
            template(good, "", "en = \"{{code}}\"")
        );
        let e = Config::parse(&twice, &no_env).unwrap_err();
        assert_eq!(e.key, "templates[1].sid", "{e}");
    }

    #[test]
    fn an_accounts_senders_are_service_sids_or_numbers() {
        let sid = format!("AC{}", &KEY[..32]);
        let account = |senders: &str| {
            format!(
                "code_key = \"{KEY}\"\n[[accounts]]\nsid = \"{sid}\"\nauth_token_sha256 = \"{KEY}\"\nsenders = {senders}\n"
            )
        };
        let ok = Config::parse(
            &account(r#"["MG0123456789abcdef0123456789abcdef", "whatsapp:+1 415 523 8886"]"#),
            &no_env,
        )
        .unwrap();
        assert_eq!(ok.accounts[0].senders.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            sender_identity("whatsapp:+1 415 523 8886").as_deref(),
            Some("+14155238886")
        );
        let e = Config::parse(
            &account(r#"["MG0123456789abcdef0123456789abcdef", "MG12"]"#),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(e.key, "accounts[0].senders[1]", "{e}");
    }
}
