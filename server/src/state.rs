//! What every request shares, built from the configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use seccode::{
    Config as CodesConfig, Keyring, Policy, Purpose, SecretKey, SecurityCodes, SmtpChannel,
    SmtpTls, SqliteStore, TwilioSender, TwilioSms, Webhook,
};

use crate::cache::{Caches, SERVICE_TTL};
use crate::channels::{Channels, Phone};
use crate::config::{Config, SecretText, SmsConfig, WebhooksConfig, unhex32};
use crate::db::Db;
use crate::health::Health;
use crate::store::{Backend, Store};

/// Events go to `tracing` (code-free, contacts masked).
pub(crate) type Codes = SecurityCodes<Store, Arc<Channels>>;

/// What every request shares.
pub struct AppState {
    pub(crate) db: Db,
    /// The codes' service: one store, one keyring; each verification is
    /// started under its Verify service's policy (see [`AppState::policy`]).
    pub(crate) codes: Codes,
    /// The same, delivering to phone numbers by call.
    pub(crate) calls: Codes,
    /// The same, delivering to phone numbers by WhatsApp.
    pub(crate) whatsapp: Codes,
    /// The policy of each code length (4–10) a Verify service can choose.
    pub(crate) policies: HashMap<u8, Policy>,
    pub(crate) channels: Arc<Channels>,
    /// Account SID → SHA-256 of its auth token.
    pub(crate) accounts: Vec<(String, [u8; 32])>,
    pub(crate) base: String,
    pub(crate) metrics: crate::metrics::Metrics,
    pub(crate) timeout: Duration,
    /// Services and verifications' fixed fields (see [`crate::cache`]).
    pub(crate) caches: Caches,
    /// Messages to one destination per hour from every API account together
    /// (`limits.per_destination_all_accounts`).
    pub(crate) destination_cap: u32,
    /// The codes' records' store, for readiness.
    pub(crate) store: Store,
    /// Which stores are down (logged once each way).
    pub(crate) health: Arc<Health>,
    /// How long readiness waits for each store.
    pub(crate) store_timeout: Duration,
    /// The code key, which also seals TOTP factors' secrets.
    pub(crate) keyring: Arc<Keyring>,
    /// Account SID → its auth token, for the accounts configured with it:
    /// what signs their webhooks' deliveries.
    pub(crate) signing_tokens: HashMap<String, SecretText>,
    /// How webhooks are delivered.
    pub(crate) webhook_settings: WebhooksConfig,
    /// Wakes this server's delivery task when an event is written.
    pub(crate) outbox: tokio::sync::Notify,
    /// The domains an email's sender may be at (`email.from`'s and
    /// `email.sender_domains`).
    pub(crate) email_sender_domains: Vec<String>,
    /// Account SID → the senders its services may name, for the accounts
    /// configured with a list (`accounts[].senders`, as
    /// [`crate::config::sender_identity`] gives them).
    pub(crate) allowed_senders: HashMap<String, std::collections::HashSet<String>>,
    /// The message templates (`[[templates]]`).
    pub(crate) templates: crate::templates::TemplateSet,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the database and builds the channels from `config`.
    ///
    /// # Errors
    ///
    /// A channel or the database cannot be set up; the message names the key.
    pub async fn new(config: &Config) -> Result<AppState, String> {
        let db = match &config.database_url {
            Some(url) => Db::connect(url)
                .await
                .map_err(|e| format!("database_url: {e}"))?,
            None => Db::open(&config.database).map_err(|e| format!("database: {e}"))?,
        };
        let store_timeout = Duration::from_millis(config.store_timeout_ms);
        let backend = match (&config.redis_url, &config.database_url) {
            (Some(url), _) => Backend::Redis(Box::new(
                seccode::RedisStore::connect_with_timeout(url, "seccode", store_timeout)
                    .await
                    .map_err(|e| format!("redis_url: {e}"))?,
            )),
            (None, Some(url)) => Backend::Postgres(Box::new(
                seccode::PostgresStore::connect(url)
                    .await
                    .map_err(|e| format!("database_url: {e}"))?,
            )),
            (None, None) => Backend::Sqlite(Arc::new(
                SqliteStore::open(&config.database)
                    .map_err(|e| format!("database: {}: {e}", config.database.display()))?,
            )),
        };
        let sms = phone_of(config.sms.as_ref(), "sms")?;
        let whatsapp = phone_of(config.whatsapp.as_ref(), "whatsapp")?;
        let email = match &config.email {
            None => None,
            Some(e) => {
                let tls = match e.tls.as_str() {
                    "none" => SmtpTls::DangerPlaintext,
                    "tls" => SmtpTls::Implicit,
                    _ => SmtpTls::StartTls,
                };
                let mut b = SmtpChannel::builder(e.host.clone())
                    .port(e.port)
                    .tls(tls)
                    .from(e.from.clone());
                if let Some(user) = &e.username {
                    let password = std::env::var("SECCODE_SMTP_PASSWORD").unwrap_or_default();
                    b = b.credentials(user.clone(), password);
                }
                Some(b.build().map_err(|e| format!("email: {e}"))?)
            }
        };
        let metrics = crate::metrics::Metrics::new()?;
        let health = Arc::new(Health::new(metrics.store_failures.clone()));
        let store = Store::new(backend, health.clone());
        let call = match &config.call {
            None => None,
            Some(c) => Some(
                Webhook::new(
                    c.url.clone(),
                    c.secret.as_deref().unwrap_or_default().as_bytes(),
                )
                .map_err(|e| format!("call: {e}"))?,
            ),
        };
        let callers = Arc::new(crate::channels::build(
            None,
            call.map(Phone::Call),
            "call",
            &metrics,
        ));
        let channels = Arc::new(crate::channels::build(email, sms, "sms", &metrics));
        let whatsapps = Arc::new(crate::channels::build(None, whatsapp, "whatsapp", &metrics));
        let keyring = Keyring::new(1, SecretKey::from_bytes(config.code_key_bytes()));
        let hour = Duration::from_secs(3600);
        let l = &config.limits;
        let limits = seccode::Limits::builder()
            .destination_sends(l.per_destination, hour)
            .send_caps(l.per_contact, l.per_calling_code, l.total, hour)
            .build()
            .map_err(|e| format!("limits: {e}"))?;
        let mut policies = HashMap::new();
        for length in 4..=10u8 {
            let format = seccode::CodeFormat::digits(length).map_err(|e| e.to_string())?;
            // Five checks, as Twilio allows — but never a guess bound above
            // 10⁻⁴: a 4-digit code gets one check (documented).
            let attempts = if length == 4 { 1 } else { 5 };
            let mut policy = Policy::builder()
                .format(format)
                .lifetime(Duration::from_secs(600))
                .max_attempts(attempts)
                .max_sends(5)
                .resend_cooldown(Duration::ZERO);
            if length < 6 {
                policy = policy.danger_allow_short_codes();
            }
            policies.insert(length, policy.build().map_err(|e| e.to_string())?);
        }
        // Every verification is started with its service's policy; the
        // configured one is Twilio's default length.
        let settings = CodesConfig::default()
            .with_policy(Purpose::IdentityCheck, policies[&6])
            .with_limits(limits);
        let service = |channels: &Arc<Channels>| {
            SecurityCodes::new(store.clone(), channels.clone(), keyring.clone())
                .with_events(seccode::TracingEvents)
                .with_config(settings)
        };
        let (codes, calls, whatsapp) = (service(&channels), service(&callers), service(&whatsapps));
        let accounts = config
            .accounts
            .iter()
            .map(|a| (a.sid.clone(), unhex32(&a.auth_token_sha256)))
            .collect();
        Ok(AppState {
            db,
            codes,
            calls,
            whatsapp,
            policies,
            channels,
            accounts,
            base: config.base_url(),
            metrics,
            timeout: Duration::from_secs(config.request_timeout_secs),
            caches: Caches::new(10_000, 100_000, SERVICE_TTL),
            destination_cap: config.limits.per_destination_all_accounts,
            store,
            health,
            store_timeout,
            keyring: Arc::new(keyring),
            signing_tokens: config
                .accounts
                .iter()
                .filter_map(|a| Some((a.sid.clone(), a.auth_token.clone()?)))
                .collect(),
            webhook_settings: config.webhooks.clone(),
            outbox: tokio::sync::Notify::new(),
            email_sender_domains: config
                .email
                .as_ref()
                .map(crate::config::EmailConfig::domains)
                .unwrap_or_default(),
            allowed_senders: config
                .accounts
                .iter()
                .filter_map(|a| {
                    let list = a.senders.as_ref()?;
                    let set = list
                        .iter()
                        .filter_map(|s| crate::config::sender_identity(s))
                        .collect();
                    Some((a.sid.clone(), set))
                })
                .collect(),
            templates: crate::templates::TemplateSet::from_config(
                &config.templates,
                &config.email_templates,
            )
            .map_err(|(key, problem)| format!("{key}: {problem}"))?,
        })
    }
}

/// The phone channel a `[sms]` or `[whatsapp]` section (`name`) describes:
/// a signed webhook, or Twilio's Messages API (with the `whatsapp:` prefix
/// for WhatsApp).
fn phone_of(section: Option<&SmsConfig>, name: &str) -> Result<Option<Phone>, String> {
    Ok(match section {
        None => None,
        Some(SmsConfig::Webhook { url, secret }) => Some(Phone::SmsWebhook(
            Webhook::new(
                url.clone(),
                secret.as_deref().unwrap_or_default().as_bytes(),
            )
            .map_err(|e| format!("{name}: {e}"))?,
        )),
        Some(SmsConfig::Twilio {
            account_sid,
            auth_token,
            from,
        }) => {
            let twilio = TwilioSms::new(
                account_sid.clone(),
                auth_token.clone().unwrap_or_default(),
                TwilioSender::Number(from.clone()),
            )
            .map_err(|e| format!("{name}: {e}"))?;
            Some(Phone::Twilio(if name == "whatsapp" {
                twilio.whatsapp()
            } else {
                twilio
            }))
        }
    })
}
