//! The Verify v2 routes: Services, Verifications, VerificationCheck.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use seccode::channel::{BoxError, DeliveryChannel, Message};
use seccode::{
    ChallengeId, Config as CodesConfig, Contact, Error as CodesError, Keyring, Policy, Purpose,
    RateLimit, SecretKey, SecurityCodes, SendLane, SendOptions, SmtpChannel, SmtpTls, SqliteStore,
    TwilioSender, TwilioSms, Verification as Outcome, Webhook,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::cache::{Caches, SERVICE_TTL};
use crate::config::{Config, SmsConfig, hex, is_sid, now_ms, unhex32};
use crate::db::{Bucket, Db, RateLimit as ServiceRateLimit, Service, Verification};
use crate::health::Health;
use crate::store::{Backend, Store};

/// How SMS leave.
enum Sms {
    Webhook(Webhook),
    Twilio(TwilioSms),
}

/// The delivery channels the configuration names: email and phone numbers
/// each go to theirs.
pub struct Channels {
    sms: Option<Sms>,
    email: Option<SmtpChannel>,
    call: Option<Webhook>,
    /// Whether phone numbers are called (the `call` channel) rather than sent
    /// an SMS.
    voice: bool,
    metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("sms", &self.sms.is_some())
            .field("email", &self.email.is_some())
            .finish()
    }
}

impl DeliveryChannel for Channels {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let email = message.to().kind() == seccode::ContactKind::Email;
        let channel = match (email, self.voice) {
            (true, _) => "email",
            (false, true) => "call",
            (false, false) => "sms",
        };
        let started = std::time::Instant::now();
        let result = match (channel, &self.email, &self.sms, &self.call) {
            ("email", Some(smtp), _, _) => smtp.deliver(message).await,
            ("call", _, _, Some(call)) => call.deliver(message).await,
            ("sms", _, Some(Sms::Webhook(w)), _) => w.deliver(message).await,
            ("sms", _, Some(Sms::Twilio(t)), _) => t.deliver(message).await,
            _ => Err("no channel is configured for this contact".into()),
        };
        self.metrics
            .delivery_seconds
            .with_label_values(&[channel])
            .observe(started.elapsed().as_secs_f64());
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics
            .deliveries
            .with_label_values(&[channel, outcome])
            .inc();
        result
    }
}

/// Events go to `tracing` (code-free, contacts masked).
type Codes = SecurityCodes<Store, Arc<Channels>>;

/// What every request shares.
pub struct AppState {
    db: Db,
    /// One service per code length (4–10), on one store and one keyring.
    codes: HashMap<u8, Codes>,
    /// The same, delivering to phone numbers by call.
    calls: HashMap<u8, Codes>,
    channels: Arc<Channels>,
    /// Account SID → SHA-256 of its auth token.
    accounts: Vec<(String, [u8; 32])>,
    base: String,
    metrics: crate::metrics::Metrics,
    timeout: Duration,
    /// Services and verifications' fixed fields (see [`crate::cache`]).
    caches: Caches,
    /// Messages to one destination per hour from every API account together
    /// (`limits.per_destination_all_accounts`).
    destination_cap: u32,
    /// The codes' records' store, for readiness.
    store: Store,
    /// Which stores are down (logged once each way).
    health: Arc<Health>,
    /// How long readiness waits for each store.
    store_timeout: Duration,
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
            None => Db::open(&config.database)?,
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
        let sms = match &config.sms {
            None => None,
            Some(SmsConfig::Webhook { url, secret }) => Some(Sms::Webhook(
                Webhook::new(
                    url.clone(),
                    secret.as_deref().unwrap_or_default().as_bytes(),
                )
                .map_err(|e| format!("sms: {e}"))?,
            )),
            Some(SmsConfig::Twilio {
                account_sid,
                auth_token,
                from,
            }) => Some(Sms::Twilio(
                TwilioSms::new(
                    account_sid.clone(),
                    auth_token.clone().unwrap_or_default(),
                    TwilioSender::Number(from.clone()),
                )
                .map_err(|e| format!("sms: {e}"))?,
            )),
        };
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
        let callers = Arc::new(Channels {
            sms: None,
            email: None,
            call,
            voice: true,
            metrics: metrics.clone(),
        });
        let channels = Arc::new(Channels {
            sms,
            email,
            call: None,
            voice: false,
            metrics: metrics.clone(),
        });
        let keyring = Keyring::new(1, SecretKey::from_bytes(config.code_key_bytes()));
        let hour = Duration::from_secs(3600);
        let l = &config.limits;
        let limits = seccode::Limits::builder()
            .destination_sends(l.per_destination, hour)
            .send_caps(l.per_contact, l.per_calling_code, l.total, hour)
            .build()
            .map_err(|e| format!("limits: {e}"))?;
        let (mut codes, mut calls) = (HashMap::new(), HashMap::new());
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
            let policy = policy.build().map_err(|e| e.to_string())?;
            let settings = CodesConfig::default()
                .with_policy(Purpose::IdentityCheck, policy)
                .with_limits(limits);
            let service = |channels: &Arc<Channels>| {
                SecurityCodes::new(store.clone(), channels.clone(), keyring.clone())
                    .with_events(seccode::TracingEvents)
                    .with_config(settings)
            };
            codes.insert(length, service(&channels));
            calls.insert(length, service(&callers));
        }
        let accounts = config
            .accounts
            .iter()
            .map(|a| (a.sid.clone(), unhex32(&a.auth_token_sha256)))
            .collect();
        Ok(AppState {
            db,
            codes,
            calls,
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
        })
    }
}

/// The router, with every route under `/v2`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v2/Services", post(create_service).get(list_services))
        .route(
            "/v2/Services/{sid}",
            get(fetch_service)
                .post(update_service)
                .delete(delete_service),
        )
        .route("/v2/Services/{sid}/Verifications", post(start_verification))
        .route(
            "/v2/Services/{sid}/Verifications/{ve}",
            get(fetch_verification).post(update_verification),
        )
        .route("/v2/Services/{sid}/VerificationCheck", post(check))
        .route(
            "/v2/Services/{sid}/RateLimits",
            post(create_rate_limit).get(list_rate_limits),
        )
        .route(
            "/v2/Services/{sid}/RateLimits/{rk}",
            get(fetch_rate_limit)
                .post(update_rate_limit)
                .delete(delete_rate_limit),
        )
        .route(
            "/v2/Services/{sid}/RateLimits/{rk}/Buckets",
            post(create_bucket).get(list_buckets),
        )
        .route(
            "/v2/Services/{sid}/RateLimits/{rk}/Buckets/{bl}",
            get(fetch_bucket).post(update_bucket).delete(delete_bucket),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(state): State<Arc<AppState>>| async move { state.metrics.render() }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_request,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .fallback(|| async { ApiError::not_found("The requested resource was not found") })
        .with_state(state)
}

/// Counts each request by its route (the pattern, never the SIDs in it) and
/// status, and bounds its time.
async fn count_request(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // A slow provider or store does not hold a connection forever. A request
    // cut short has been counted as far as it got (a guess stays counted: the
    // safe direction).
    let response = match tokio::time::timeout(state.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(route = %route, "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                20503,
                "The request took too long; try again",
            )
            .into_response()
        }
    };
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    response
}

/// Ready when every store the server uses answers within the store timeout:
/// the database (SQLite or PostgreSQL) and, when `redis_url` is set, Redis.
/// The answer names what is down.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let deadline = state.store_timeout * 2;
    let late = || format!("no answer within {} ms", deadline.as_millis());
    let mut down = Vec::new();
    // The database's errors are already classified text (no data in them).
    let (db_backend, db_label) = if state.db.is_postgres() {
        ("postgres", "database (postgres)")
    } else {
        ("sqlite", "database (sqlite)")
    };
    match tokio::time::timeout(deadline, state.db.ping()).await {
        Ok(Ok(())) => state.health.up(db_backend),
        Ok(Err(e)) => {
            let cause = e.strip_prefix(crate::db::UNAVAILABLE).unwrap_or(&e);
            state.health.lost(db_backend, cause);
            down.push(db_label);
        }
        Err(_) => {
            state.health.lost(db_backend, &late());
            down.push(db_label);
        }
    }
    if let Backend::Redis(redis) = state.store.backend() {
        match tokio::time::timeout(deadline, redis.ping()).await {
            Ok(Ok(())) => state.health.up("redis"),
            Ok(Err(e)) => {
                let cause = e
                    .store_failure()
                    .map_or_else(|| "store error".to_owned(), ToString::to_string);
                state.health.lost("redis", &cause);
                down.push("redis");
            }
            Err(_) => {
                state.health.lost("redis", &late());
                down.push("redis");
            }
        }
    }
    if down.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {}", down.join(", ")),
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        response
    }
}

// ----- errors ------------------------------------------------------------------

/// A Twilio error answer: `{code, message, more_info, status}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 60200, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 20404, message)
    }

    fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        let text = e.to_string();
        if text.starts_with(crate::db::UNAVAILABLE) {
            // The database is down or out of reach: a fast 503 the client may
            // retry. Its loss is logged once (see `crate::health`), not here.
            return Self::unavailable();
        }
        // The library's errors name no code, key or address; log them whole.
        tracing::error!(error = %text, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal server error",
        )
    }

    /// A store is down or out of reach: 503/20503 with `Retry-After: 1`.
    fn unavailable() -> Self {
        Self {
            retry_after: Some(Duration::from_secs(1)),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                20503,
                "Service unavailable: try again shortly",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(v) = self
            .retry_after
            .and_then(|after| after.as_secs().max(1).to_string().parse().ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

// ----- auth --------------------------------------------------------------------

/// The account a request authenticates as: an account SID with its auth
/// token, or an API key (`SK…`, created with `seccode-server key create`) with
/// its secret. The same work is done whatever is wrong (unknown SID or key,
/// wrong secret, malformed header): one SHA-256 and constant-time comparisons
/// against every account — and, for a key, one lookup and one comparison,
/// against a stand-in digest when the key does not exist.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let (user, password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        .unwrap_or_default();
    let presented: [u8; 32] = Sha256::digest(password.as_bytes()).into();
    let mut found = None;
    if is_sid(&user, "SK") {
        let key = state
            .db
            .api_key(&user)
            .await
            .map_err(|e| ApiError::internal("read api key", e))?;
        let (account, digest) = key.unwrap_or_else(|| (String::new(), [0xa5; 32]));
        let known = state.accounts.iter().any(|(sid, _)| *sid == account);
        if bool::from(digest.ct_eq(&presented)) && known {
            found = Some(account);
        }
    }
    for (sid, digest) in &state.accounts {
        let sid_ok = sid.as_bytes().ct_eq(user.as_bytes());
        let token_ok = digest.ct_eq(&presented);
        if bool::from(sid_ok & token_ok) {
            found = Some(sid.clone());
        }
    }
    found.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate"))
}

// ----- representations ---------------------------------------------------------

fn date(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    seccode::Timestamp::from_unix_millis(ms / 1000 * 1000).to_rfc3339()
}

fn new_sid(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

fn service_json(state: &AppState, s: &Service) -> Value {
    let url = format!("{}/v2/Services/{}", state.base, s.sid);
    json!({
        "sid": s.sid,
        "account_sid": s.account_sid,
        "friendly_name": s.friendly_name,
        "code_length": s.code_length,
        "lookup_enabled": false,
        "psd2_enabled": false,
        "skip_sms_to_landlines": false,
        "dtmf_input_required": false,
        "tts_name": null,
        "do_not_share_warning_enabled": s.do_not_share_warning_enabled,
        "custom_code_enabled": false,
        "push": {"include_date": false, "apn_credential_sid": null, "fcm_credential_sid": null},
        "totp": {"issuer": null, "time_step": null, "code_length": null, "skew": null},
        "default_template_sid": null,
        "whatsapp": {"msg_service_sid": null, "from": null},
        "passkeys": null,
        "verify_event_subscription_enabled": false,
        "date_created": date(s.created),
        "date_updated": date(s.updated),
        "url": url,
        "links": {
            "verification_checks": format!("{url}/VerificationCheck"),
            "verifications": format!("{url}/Verifications"),
            "rate_limits": format!("{url}/RateLimits"),
        },
    })
}

fn verification_json(state: &AppState, v: &Verification, valid: bool) -> Value {
    json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to,
        "channel": v.channel,
        "status": v.status,
        "valid": valid,
        "lookup": {"carrier": null},
        "amount": null,
        "payee": null,
        "send_code_attempts": v.attempts.iter().map(|(at, channel, sid)| json!({
            "time": date(*at),
            "channel": channel,
            "attempt_sid": sid,
        })).collect::<Vec<_>>(),
        "date_created": date(v.created),
        "date_updated": date(v.updated),
        "sna": null,
        "url": format!("{}/v2/Services/{}/Verifications/{}", state.base, v.service_sid, v.sid),
    })
}

/// A VerificationCheck answer (a struct, not a `json!` map: this is the
/// route under load).
#[derive(serde::Serialize)]
struct CheckBody<'a> {
    sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    to: &'a str,
    channel: &'a str,
    status: &'a str,
    valid: bool,
    amount: Option<()>,
    payee: Option<()>,
    date_created: String,
    date_updated: String,
    sna_attempts_error_codes: [(); 0],
}

fn check_json(v: &Verification, status: &str, valid: bool) -> Response {
    let body = CheckBody {
        sid: &v.sid,
        service_sid: &v.service_sid,
        account_sid: &v.account_sid,
        to: &v.to,
        channel: &v.channel,
        status,
        valid,
        amount: None,
        payee: None,
        date_created: date(v.created),
        date_updated: date(v.updated),
        sna_attempts_error_codes: [],
    };
    (StatusCode::OK, Json(body)).into_response()
}

fn respond(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

// ----- form values -------------------------------------------------------------

type FormMap = HashMap<String, String>;

fn boolean(form: &FormMap, key: &str) -> Result<Option<bool>, ApiError> {
    match form.get(key).map(String::as_str) {
        None => Ok(None),
        Some("true" | "True") => Ok(Some(true)),
        Some("false" | "False") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(format!(
            "Invalid parameter: {key} (true or false)"
        ))),
    }
}

fn code_length(form: &FormMap) -> Result<Option<u8>, ApiError> {
    match form.get("CodeLength") {
        None => Ok(None),
        Some(v) => match v.parse::<u8>() {
            Ok(n @ 4..=10) => Ok(Some(n)),
            _ => Err(ApiError::invalid(
                "Invalid parameter: CodeLength (an integer from 4 to 10)",
            )),
        },
    }
}

fn friendly_name(value: &str) -> Result<String, ApiError> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err(ApiError::invalid(
            "Invalid parameter: FriendlyName (1 to 30 characters)",
        ));
    }
    Ok(name.to_owned())
}

// ----- services ----------------------------------------------------------------

async fn create_service(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let account = authenticate(&state, &headers).await?;
    let name = friendly_name(form.get("FriendlyName").map_or("", String::as_str))?;
    if boolean(&form, "CustomCodeEnabled")? == Some(true) {
        return Err(ApiError::invalid(
            "Invalid parameter: CustomCodeEnabled (custom codes are not supported: codes are derived from a key, never stored)",
        ));
    }
    let now = now_ms();
    let service = Service {
        sid: new_sid("VA"),
        account_sid: account,
        friendly_name: name,
        code_length: code_length(&form)?.unwrap_or(6),
        do_not_share_warning_enabled: boolean(&form, "DoNotShareWarningEnabled")?.unwrap_or(false),
        created: now,
        updated: now,
    };
    state
        .db
        .insert_service(service.clone())
        .await
        .map_err(|e| ApiError::internal("create service", e))?;
    Ok(respond(StatusCode::CREATED, service_json(&state, &service)))
}

/// The service `sid` of `account`, from the database.
async fn owned_service(state: &AppState, account: &str, sid: &str) -> Result<Service, ApiError> {
    let service = read_service(state, account, sid).await?;
    state.caches.put_service(service.clone());
    Ok(service)
}

/// The service `sid` of `account` for a check: from the cache if read within
/// [`SERVICE_TTL`], else from the database. Only checks take it from the
/// cache: every other route reads the database, so a service deleted through
/// another server is refused at once by everything that writes.
async fn cached_service(state: &AppState, account: &str, sid: &str) -> Result<Service, ApiError> {
    match state.caches.service(sid) {
        Some(s) if s.account_sid == account => Ok(Service::clone(&s)),
        _ => owned_service(state, account, sid).await,
    }
}

async fn read_service(state: &AppState, account: &str, sid: &str) -> Result<Service, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "The requested resource /Services/{sid} was not found"
        ))
    };
    if !is_sid(sid, "VA") {
        return Err(missing());
    }
    state
        .db
        .service(account, sid)
        .await
        .map_err(|e| ApiError::internal("read service", e))?
        .ok_or_else(missing)
}

/// The caller's account and the service `sid` of it.
async fn service_for(
    state: &AppState,
    headers: &HeaderMap,
    sid: &str,
) -> Result<(String, Service), ApiError> {
    let account = authenticate(state, headers).await?;
    let service = owned_service(state, &account, sid).await?;
    Ok((account, service))
}

/// The caller's account, the service `sid` and its rate limit `rk`.
async fn rate_limit_for(
    state: &AppState,
    headers: &HeaderMap,
    sid: &str,
    rk: &str,
) -> Result<(String, Service, ServiceRateLimit), ApiError> {
    let (account, service) = service_for(state, headers, sid).await?;
    let r = owned_rate_limit(state, &service, rk).await?;
    Ok((account, service, r))
}

async fn fetch_service(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> ApiResult {
    let (_, service) = service_for(&state, &headers, &sid).await?;
    Ok(respond(StatusCode::OK, service_json(&state, &service)))
}

async fn update_service(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, mut service) = service_for(&state, &headers, &sid).await?;
    if let Some(name) = form.get("FriendlyName") {
        service.friendly_name = friendly_name(name)?;
    }
    if let Some(length) = code_length(&form)? {
        service.code_length = length;
    }
    if let Some(warn) = boolean(&form, "DoNotShareWarningEnabled")? {
        service.do_not_share_warning_enabled = warn;
    }
    if boolean(&form, "CustomCodeEnabled")? == Some(true) {
        return Err(ApiError::invalid(
            "Invalid parameter: CustomCodeEnabled (custom codes are not supported: codes are derived from a key, never stored)",
        ));
    }
    service.updated = now_ms();
    state
        .db
        .update_service(service.clone())
        .await
        .map_err(|e| ApiError::internal("update service", e))?;
    state.caches.put_service(service.clone());
    Ok(respond(StatusCode::OK, service_json(&state, &service)))
}

async fn delete_service(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> ApiResult {
    let account = authenticate(&state, &headers).await?;
    owned_service(&state, &account, &sid).await?;
    state
        .db
        .delete_service(&account, &sid)
        .await
        .map_err(|e| ApiError::internal("delete service", e))?;
    state.caches.drop_service(&sid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_services(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let account = authenticate(&state, &headers).await?;
    let (page, size) = paging(&query)?;
    let (services, more) = state
        .db
        .services(
            &account,
            u32::try_from(page).unwrap_or(u32::MAX),
            u32::try_from(size).unwrap_or(1000),
        )
        .await
        .map_err(|e| ApiError::internal("list services", e))?;
    let items = services.iter().map(|s| service_json(&state, s)).collect();
    let url = format!("{}/v2/Services", state.base);
    Ok(page_body(items, page, size, more, &url, "services"))
}

// ----- verifications -----------------------------------------------------------

/// The seccode account a verification counts on: one per service and contact,
/// so attempt and send limits hold per number or address within a service.
fn codes_account(service: &str, identity: &str) -> Result<seccode::AccountId, ApiError> {
    let digest = Sha256::digest(identity.as_bytes());
    seccode::AccountId::new(format!("{service}:{}", hex(&digest[..16])))
        .map_err(|e| ApiError::internal("account id", e))
}

fn challenge_of(sid: &str) -> Option<ChallengeId> {
    sid.strip_prefix("VE")
        .filter(|_| is_sid(sid, "VE"))
        .and_then(|h| h.to_ascii_lowercase().parse().ok())
}

fn codes_for<'a>(state: &'a AppState, service: &Service) -> Result<&'a Codes, ApiError> {
    state
        .codes
        .get(&service.code_length)
        .ok_or_else(|| ApiError::internal("code length", service.code_length))
}

/// Runs `send` under the destination's budget of every API account together:
/// counted first (60212 when it is used up), given back if `send` fails, so a
/// refused or failed send spends nothing of it.
async fn all_accounts_budget<T>(
    state: &AppState,
    codes: &Codes,
    to: &Contact,
    send: impl std::future::Future<Output = seccode::Result<T>>,
) -> Result<T, ApiError> {
    use seccode::store::ChallengeStore;
    let key = seccode::store::CounterKey::custom(&format!("verify-destination:{}", to.identity()));
    let budget =
        seccode::store::SendBudget::new(key, state.destination_cap, Duration::from_secs(3600));
    let now = seccode::Timestamp::from_unix_millis(u64::try_from(now_ms()).unwrap_or(0));
    match codes.store().count_sends(vec![budget], now).await {
        Ok(Ok(())) => {}
        Ok(Err((_, retry_after))) => {
            return Err(ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, 60212, "Too many requests")
            });
        }
        Err(e) => return Err(refusal(e)),
    }
    match send.await {
        Ok(out) => Ok(out),
        Err(e) => {
            // Best effort: a refund that fails leaves the budget counted (the
            // conservative direction).
            let _ = codes
                .store()
                .update_counter(&key, now, seccode::store::Counter::refund)
                .await;
            Err(refusal(e))
        }
    }
}

/// Maps the library's refusals to Twilio's answers; anything else is a 500.
fn refusal(e: CodesError) -> ApiError {
    match e {
        CodesError::SendLimitReached => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            60203,
            "Max send attempts reached",
        ),
        CodesError::RateLimited { limit, retry_after } => {
            let code = match limit {
                RateLimit::DestinationSends | RateLimit::ResendCooldown => 60212,
                _ => 20429,
            };
            ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, "Too many requests")
            }
        }
        CodesError::InvalidContact(_) => ApiError::invalid("Invalid parameter: To"),
        CodesError::Delivery(e) => {
            tracing::warn!(error = %e, "delivery failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                60217,
                "The code could not be delivered; try again",
            )
        }
        CodesError::Store(_) => match e.store_failure() {
            // Down or out of reach: the health tracker has logged it once.
            Some(f) if f.is_unavailable() => ApiError::unavailable(),
            Some(f) => ApiError::internal("store", f),
            None => ApiError::internal("store", &e),
        },
        other => ApiError::internal("security codes", other),
    }
}

/// A verification that is no longer pending answers 404, saying why.
fn gone(v: &Verification) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource /Services/{}/Verifications/{} was not found: the verification was {}",
        v.service_sid,
        v.sid,
        match v.status.as_str() {
            "approved" => "approved",
            "canceled" => "canceled",
            "max_attempts_reached" => "closed after too many checks",
            _ => "expired",
        }
    ))
}

/// Brings a stored verification's status up to date with its challenge.
async fn refresh(codes: &Codes, v: &mut Verification) -> Result<(), ApiError> {
    if v.status != "pending" {
        return Ok(());
    }
    let Some(id) = challenge_of(&v.sid) else {
        return Ok(());
    };
    let status = match codes.status(&id).await {
        Ok(s) => s,
        Err(CodesError::ChallengeNotFound) => seccode::Status::Expired,
        Err(e) => return Err(ApiError::internal("challenge status", e)),
    };
    v.status = match status {
        seccode::Status::Pending => "pending",
        seccode::Status::Approved => "approved",
        seccode::Status::Canceled => "canceled",
        seccode::Status::Locked => "max_attempts_reached",
        _ => "expired",
    }
    .to_owned();
    Ok(())
}

async fn start_verification(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (account, service) = service_for(&state, &headers, &sid).await?;
    if form.contains_key("CustomCode") {
        return Err(ApiError::invalid(
            "Invalid parameter: CustomCode (not supported: codes are derived from a key, never stored)",
        ));
    }
    let channel = form.get("Channel").map_or("", String::as_str);
    let configured = match channel {
        "sms" => state.channels.sms.is_some(),
        "call" => state
            .calls
            .values()
            .next()
            .is_some_and(|c| c.channel().call.is_some()),
        "email" => state.channels.email.is_some(),
        "" => {
            return Err(ApiError::invalid(
                "Missing required parameter Channel in the post body",
            ));
        }
        _ => false,
    };
    if !configured {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            60223,
            format!(
                "Delivery channel disabled: {}",
                channel.chars().take(16).collect::<String>()
            ),
        ));
    }
    let to_text = form
        .get("To")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required parameter To in the post body"))?;
    let contact = match channel {
        "email" => Contact::email(&to_text),
        _ => Contact::phone(&to_text),
    }
    .map_err(|_| ApiError::invalid("Invalid parameter: To"))?;
    let locale = form.get("Locale").map_or("en", String::as_str).to_owned();
    let codes = codes_for(&state, &service)?;
    let sender = if channel == "call" {
        state
            .calls
            .get(&service.code_length)
            .ok_or_else(|| ApiError::internal("code length", service.code_length))?
    } else {
        codes
    };
    count_rate_limits(&state, codes, &service, &form).await?;
    let now = now_ms();
    // A pending verification to the same contact is sent again, same code.
    let latest = state
        .db
        .latest_to(&service.sid, contact.identity())
        .await
        .map_err(|e| ApiError::internal("read verification", e))?;
    // Each API account has its own budget per destination (the tenant's lane),
    // so one tenant cannot silence a number for the others; every account
    // together has a larger one.
    let options = SendOptions::default()
        .locale(&locale)
        .lane(SendLane::Tenant(&account));
    if let Some(mut v) = latest {
        refresh(codes, &mut v).await?;
        if v.status == "pending" {
            let id = challenge_of(&v.sid).ok_or_else(|| ApiError::internal("sid", &v.sid))?;
            all_accounts_budget(&state, codes, &contact, sender.resend(&id, options)).await?;
            state.metrics.verification("resent");
            v.attempts.push((now, channel.to_owned(), new_sid("VL")));
            v.channel = channel.to_owned();
            v.updated = now;
            state
                .db
                .save_verification(v.clone())
                .await
                .map_err(|e| ApiError::internal("save verification", e))?;
            state.caches.put_card(&v);
            return Ok(respond(
                StatusCode::CREATED,
                verification_json(&state, &v, false),
            ));
        }
    }
    let account_id = codes_account(&service.sid, contact.identity())?;
    let start = sender.start(&account_id, Purpose::IdentityCheck, &contact, options);
    let sent = all_accounts_budget(&state, codes, &contact, start).await?;
    state.metrics.verification("started");
    let v = Verification {
        sid: format!("VE{}", sent.id),
        service_sid: service.sid.clone(),
        account_sid: account,
        to: to_text,
        identity: contact.identity().to_owned(),
        channel: channel.to_owned(),
        status: "pending".to_owned(),
        attempts: vec![(now, channel.to_owned(), new_sid("VL"))],
        created: now,
        updated: now,
    };
    state
        .db
        .save_verification(v.clone())
        .await
        .map_err(|e| ApiError::internal("save verification", e))?;
    state.caches.put_card(&v);
    Ok(respond(
        StatusCode::CREATED,
        verification_json(&state, &v, false),
    ))
}

/// A verification as stored (its status as of its last change).
async fn stored_verification(
    state: &AppState,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    if challenge_of(ve).is_none() {
        return Err(missing_verification(service, ve));
    }
    state
        .db
        .verification(&service.sid, ve)
        .await
        .map_err(|e| ApiError::internal("read verification", e))?
        .ok_or_else(|| missing_verification(service, ve))
}

fn missing_verification(service: &Service, ve: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource /Services/{}/Verifications/{ve} was not found",
        service.sid
    ))
}

/// A verification with its status brought up to date (expired, locked).
async fn current_verification(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    let mut v = stored_verification(state, service, ve).await?;
    refresh(codes, &mut v).await?;
    Ok(v)
}

async fn pending_verification(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    let v = current_verification(state, codes, service, ve).await?;
    if v.status != "pending" {
        return Err(gone(&v));
    }
    Ok(v)
}

async fn fetch_verification(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, ve)): Path<(String, String)>,
) -> ApiResult {
    let (_, service) = service_for(&state, &headers, &sid).await?;
    let codes = codes_for(&state, &service)?;
    let v = pending_verification(&state, codes, &service, &ve).await?;
    Ok(respond(
        StatusCode::OK,
        verification_json(&state, &v, false),
    ))
}

async fn update_verification(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, ve)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, service) = service_for(&state, &headers, &sid).await?;
    let codes = codes_for(&state, &service)?;
    let target = match form.get("Status").map(String::as_str) {
        Some(s @ ("canceled" | "approved")) => s.to_owned(),
        _ => {
            return Err(ApiError::invalid(
                "Invalid parameter: Status (canceled or approved)",
            ));
        }
    };
    let mut v = pending_verification(&state, codes, &service, &ve).await?;
    let id = challenge_of(&v.sid).ok_or_else(|| ApiError::internal("sid", &v.sid))?;
    // Either way the code stops working; the record says which.
    match codes.cancel(&id).await {
        Ok(()) | Err(CodesError::ChallengeNotPending(_)) => {}
        Err(e) => return Err(ApiError::internal("cancel", e)),
    }
    v.status = target;
    v.updated = now_ms();
    state
        .db
        .save_verification(v.clone())
        .await
        .map_err(|e| ApiError::internal("save verification", e))?;
    state.caches.put_card(&v);
    let valid = v.status == "approved";
    Ok(respond(
        StatusCode::OK,
        verification_json(&state, &v, valid),
    ))
}

async fn check(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let account = authenticate(&state, &headers).await?;
    let service = cached_service(&state, &account, &sid).await?;
    let codes = codes_for(&state, &service)?;
    let code = form
        .get("Code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required parameter Code in the post body"))?;
    let ve = match (form.get("VerificationSid"), form.get("To")) {
        (Some(ve), _) => ve.clone(),
        (None, Some(to)) => {
            let identity = Contact::parse(to.trim())
                .map_err(|_| ApiError::invalid("Invalid parameter: To"))?
                .identity()
                .to_owned();
            state
                .db
                .latest_to(&service.sid, &identity)
                .await
                .map_err(|e| ApiError::internal("read verification", e))?
                .map(|v| v.sid)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "The requested resource /Services/{}/VerificationCheck was not found",
                        service.sid
                    ))
                })?
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "Missing required parameter To or VerificationSid in the post body",
            ));
        }
    };
    // The verification's fixed fields, cached; its status is the code's own
    // record's, which the check itself reads (one store round trip per check).
    let card = match state.caches.card(&ve) {
        Some(card) if card.service_sid == service.sid => card,
        Some(_) => return Err(missing_verification(&service, &ve)),
        None => {
            let v = stored_verification(&state, &service, &ve).await?;
            if let Some(closed) = closed(&v) {
                return Err(closed);
            }
            state.caches.put_card(&v)
        }
    };
    let id = challenge_of(&card.sid).ok_or_else(|| ApiError::internal("sid", &card.sid))?;
    let outcome = match codes.verify(&id, Purpose::IdentityCheck, code).await {
        Ok(outcome) => outcome,
        // Swept after expiry.
        Err(CodesError::ChallengeNotFound) => Outcome::Expired,
        Err(e) => return Err(refusal(e)),
    };
    match outcome {
        Outcome::Approved(_) => {
            state.metrics.verification("approved");
            let mut v = Verification::clone(&card);
            v.status = "approved".to_owned();
            v.updated = now_ms();
            let kept = state
                .db
                .set_status(&v.service_sid, &v.sid, &v.status, v.updated)
                .await
                .map_err(|e| ApiError::internal("save verification", e))?;
            if !kept {
                // Its service was deleted (through another server, within
                // the service cache's lifetime): no approval to report.
                state.caches.drop_card(&v.sid);
                return Err(missing_verification(&service, &ve));
            }
            state.caches.put_card(&v);
            Ok(check_json(&v, "approved", true))
        }
        // A wrong code changes nothing the record shows (seccode counted the
        // attempt): no database write.
        Outcome::Rejected { .. } => {
            state.metrics.verification("failed");
            Ok(check_json(&card, "pending", false))
        }
        Outcome::Locked => {
            state.metrics.verification("locked");
            state
                .db
                .set_status(
                    &card.service_sid,
                    &card.sid,
                    "max_attempts_reached",
                    now_ms(),
                )
                .await
                .map_err(|e| ApiError::internal("save verification", e))?;
            Err(max_checks())
        }
        Outcome::AccountLocked { retry_after } => Err(ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too many requests")
        }),
        // No longer pending: the stored record says why (approved or canceled
        // through the API, closed after too many checks) when it knows.
        other => {
            let stored = stored_verification(&state, &service, &ve).await?;
            if let Some(closed) = closed(&stored) {
                return Err(closed);
            }
            let mut v = Verification::clone(&card);
            v.status = match other {
                Outcome::AlreadyUsed => "approved",
                Outcome::Canceled => "canceled",
                _ => "expired",
            }
            .to_owned();
            Err(gone(&v))
        }
    }
}

/// What a check of a stored verification answers when it is no longer
/// pending: 60202 once closed after too many checks, else 404 saying why.
fn closed(v: &Verification) -> Option<ApiError> {
    match v.status.as_str() {
        "pending" => None,
        "max_attempts_reached" => Some(max_checks()),
        _ => Some(gone(v)),
    }
}

fn max_checks() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        60202,
        "Max check attempts reached",
    )
}

// ----- rate limits and buckets ----------------------------------------------------

/// `Page` and `PageSize` of a list request.
fn paging(query: &FormMap) -> Result<(usize, usize), ApiError> {
    let size = match query.get("PageSize").map(|s| s.parse::<usize>()) {
        None => 50,
        Some(Ok(n @ 1..=1000)) => n,
        Some(_) => return Err(ApiError::invalid("Invalid parameter: PageSize (1 to 1000)")),
    };
    let page = match query.get("Page").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(ApiError::invalid("Invalid parameter: Page")),
    };
    Ok((page, size))
}

/// One list page as Twilio answers it: the items under `key` and `meta` with
/// absolute page URLs (the SDKs follow `next_page_url` as given).
fn page_body(
    items: Vec<Value>,
    page: usize,
    size: usize,
    more: bool,
    url: &str,
    key: &str,
) -> Response {
    let page_url = |p: usize| format!("{url}?PageSize={size}&Page={p}");
    respond(
        StatusCode::OK,
        json!({
            key: items,
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": page_url(0),
                "previous_page_url": if page > 0 { Value::from(page_url(page - 1)) } else { Value::Null },
                "next_page_url": if more { Value::from(page_url(page + 1)) } else { Value::Null },
                "key": key,
                "url": page_url(page),
            },
        }),
    )
}

/// A page of a short list held in memory (a service's rate limits, buckets).
fn list_page(
    items: Vec<Value>,
    query: &FormMap,
    url: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let (page, size) = paging(query)?;
    let more = items.len() > (page + 1) * size;
    let shown = items.into_iter().skip(page * size).take(size).collect();
    Ok(page_body(shown, page, size, more, url, key))
}

fn rate_limit_json(state: &AppState, r: &ServiceRateLimit) -> Value {
    let url = format!(
        "{}/v2/Services/{}/RateLimits/{}",
        state.base, r.service_sid, r.sid
    );
    json!({
        "sid": r.sid,
        "service_sid": r.service_sid,
        "account_sid": r.account_sid,
        "unique_name": r.unique_name,
        "description": r.description,
        "date_created": date(r.created),
        "date_updated": date(r.updated),
        "url": url,
        "links": {"buckets": format!("{url}/Buckets")},
    })
}

fn bucket_json(state: &AppState, b: &Bucket) -> Value {
    json!({
        "sid": b.sid,
        "rate_limit_sid": b.rate_limit_sid,
        "service_sid": b.service_sid,
        "account_sid": b.account_sid,
        "max": b.max,
        "interval": b.interval,
        "date_created": date(b.created),
        "date_updated": date(b.updated),
        "url": format!(
            "{}/v2/Services/{}/RateLimits/{}/Buckets/{}",
            state.base, b.service_sid, b.rate_limit_sid, b.sid
        ),
    })
}

fn unique_name(value: Option<&String>) -> Result<String, ApiError> {
    let name = value.map_or("", |v| v.trim());
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(ApiError::invalid(
            "Invalid parameter: UniqueName (1 to 64 letters, digits, '_', '-' or '.')",
        ));
    }
    Ok(name.to_owned())
}

async fn owned_rate_limit(
    state: &AppState,
    service: &Service,
    rk: &str,
) -> Result<ServiceRateLimit, ApiError> {
    state
        .db
        .rate_limits(&service.sid)
        .await
        .map_err(|e| ApiError::internal("read rate limits", e))?
        .into_iter()
        .find(|r| r.sid == rk)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "The requested resource /Services/{}/RateLimits/{rk} was not found",
                service.sid
            ))
        })
}

async fn save_rate_limit(state: &AppState, r: ServiceRateLimit) -> Result<(), ApiError> {
    let saved = state
        .db
        .save_rate_limit(r)
        .await
        .map_err(|e| ApiError::internal("save rate limit", e))?;
    if saved {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "Invalid parameter: UniqueName (another rate limit of this service has it)",
        ))
    }
}

async fn create_rate_limit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (account, service) = service_for(&state, &headers, &sid).await?;
    let now = now_ms();
    let r = ServiceRateLimit {
        sid: new_sid("RK"),
        service_sid: service.sid,
        account_sid: account,
        unique_name: unique_name(form.get("UniqueName"))?,
        description: form.get("Description").cloned(),
        created: now,
        updated: now,
    };
    save_rate_limit(&state, r.clone()).await?;
    Ok(respond(StatusCode::CREATED, rate_limit_json(&state, &r)))
}

async fn list_rate_limits(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sid): Path<String>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let (_, service) = service_for(&state, &headers, &sid).await?;
    let items = state
        .db
        .rate_limits(&service.sid)
        .await
        .map_err(|e| ApiError::internal("read rate limits", e))?
        .iter()
        .map(|r| rate_limit_json(&state, r))
        .collect();
    let url = format!("{}/v2/Services/{}/RateLimits", state.base, service.sid);
    list_page(items, &query, &url, "rate_limits")
}

async fn fetch_rate_limit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk)): Path<(String, String)>,
) -> ApiResult {
    let (_, _, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    Ok(respond(StatusCode::OK, rate_limit_json(&state, &r)))
}

async fn update_rate_limit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, _, mut r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    if let Some(d) = form.get("Description") {
        r.description = Some(d.clone());
    }
    r.updated = now_ms();
    save_rate_limit(&state, r.clone()).await?;
    Ok(respond(StatusCode::OK, rate_limit_json(&state, &r)))
}

async fn delete_rate_limit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk)): Path<(String, String)>,
) -> ApiResult {
    let (_, service, _) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    state
        .db
        .delete_rate_limit(&service.sid, &rk)
        .await
        .map_err(|e| ApiError::internal("delete rate limit", e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn bucket_numbers(form: &FormMap, bucket: Option<&Bucket>) -> Result<(u32, u32), ApiError> {
    let read = |key: &str, current: Option<u32>, max: u32| match form.get(key) {
        None => current.ok_or_else(|| {
            ApiError::invalid(format!("Missing required parameter {key} in the post body"))
        }),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!(
                "Invalid parameter: {key} (an integer from 1 to {max})"
            ))),
        },
    };
    Ok((
        read("Max", bucket.map(|b| b.max), 1_000_000)?,
        read("Interval", bucket.map(|b| b.interval), 30 * 24 * 3600)?,
    ))
}

async fn owned_bucket(
    state: &AppState,
    r: &ServiceRateLimit,
    bl: &str,
) -> Result<Bucket, ApiError> {
    state
        .db
        .buckets(&r.sid)
        .await
        .map_err(|e| ApiError::internal("read buckets", e))?
        .into_iter()
        .find(|b| b.sid == bl)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "The requested resource /Services/{}/RateLimits/{}/Buckets/{bl} was not found",
                r.service_sid, r.sid
            ))
        })
}

async fn create_bucket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (account, service, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    let (max, interval) = bucket_numbers(&form, None)?;
    let now = now_ms();
    let b = Bucket {
        sid: new_sid("BL"),
        rate_limit_sid: r.sid,
        service_sid: service.sid,
        account_sid: account,
        max,
        interval,
        created: now,
        updated: now,
    };
    state
        .db
        .save_bucket(b.clone())
        .await
        .map_err(|e| ApiError::internal("save bucket", e))?;
    Ok(respond(StatusCode::CREATED, bucket_json(&state, &b)))
}

async fn list_buckets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk)): Path<(String, String)>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let (_, service, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    let items = state
        .db
        .buckets(&r.sid)
        .await
        .map_err(|e| ApiError::internal("read buckets", e))?
        .iter()
        .map(|b| bucket_json(&state, b))
        .collect();
    let url = format!(
        "{}/v2/Services/{}/RateLimits/{}/Buckets",
        state.base, service.sid, r.sid
    );
    list_page(items, &query, &url, "buckets")
}

async fn fetch_bucket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk, bl)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, _, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    let b = owned_bucket(&state, &r, &bl).await?;
    Ok(respond(StatusCode::OK, bucket_json(&state, &b)))
}

async fn update_bucket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk, bl)): Path<(String, String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, _, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    let mut b = owned_bucket(&state, &r, &bl).await?;
    (b.max, b.interval) = bucket_numbers(&form, Some(&b))?;
    b.updated = now_ms();
    state
        .db
        .save_bucket(b.clone())
        .await
        .map_err(|e| ApiError::internal("save bucket", e))?;
    Ok(respond(StatusCode::OK, bucket_json(&state, &b)))
}

async fn delete_bucket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sid, rk, bl)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, _, r) = rate_limit_for(&state, &headers, &sid, &rk).await?;
    owned_bucket(&state, &r, &bl).await?;
    state
        .db
        .delete_bucket(&r.sid, &bl)
        .await
        .map_err(|e| ApiError::internal("delete bucket", e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Counts a verification against the buckets of every rate limit its
/// `RateLimits` JSON names (`{"unique_name": "value", …}`): each bucket is a
/// seccode send budget keyed by the bucket and the value (hashed: the store
/// keeps no IP address or user id), all counted in one step by the store. A
/// full bucket answers 429/20429 with `Retry-After`; an unknown name 60200.
async fn count_rate_limits(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    form: &FormMap,
) -> Result<(), ApiError> {
    let Some(text) = form.get("RateLimits") else {
        return Ok(());
    };
    let invalid = || {
        ApiError::invalid(
            "Invalid parameter: RateLimits (a JSON object of rate limit unique names to values)",
        )
    };
    let values: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|_| invalid())?;
    let limits = state
        .db
        .rate_limits(&service.sid)
        .await
        .map_err(|e| ApiError::internal("read rate limits", e))?;
    let mut budgets = Vec::new();
    for (name, value) in &values {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(invalid()),
        };
        let limit = limits
            .iter()
            .find(|r| &r.unique_name == name)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid parameter: RateLimits (no rate limit named {})",
                    name.chars().take(64).collect::<String>()
                ))
            })?;
        for b in state
            .db
            .buckets(&limit.sid)
            .await
            .map_err(|e| ApiError::internal("read buckets", e))?
        {
            budgets.push(seccode::store::SendBudget::new(
                seccode::store::CounterKey::custom(&format!("verify-bucket:{}:{value}", b.sid)),
                b.max,
                Duration::from_secs(u64::from(b.interval)),
            ));
        }
    }
    if budgets.is_empty() {
        return Ok(());
    }
    let now = seccode::Timestamp::from_unix_millis(u64::try_from(now_ms()).unwrap_or(0));
    use seccode::store::ChallengeStore;
    match codes.store().count_sends(budgets, now).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err((_, retry_after))) => Err(ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too many requests")
        }),
        Err(e) => Err(ApiError::internal("rate limits", e)),
    }
}
