//! Verify's TOTP resources: `/v2/Services/{sid}/Entities` (the application's
//! users), their `Factors` (authenticator apps: created with a secret shown
//! once, verified by a first code) and their `Challenges` (answered with a
//! code from a verified factor).
//!
//! Built on seccode's TOTP: codes are checked by
//! [`TotpSettings::matching_step`] (every candidate step in constant time,
//! never a step at or before the last accepted — taken in one conditional
//! `UPDATE`, so two requests with one code succeed once, on SQLite and on
//! PostgreSQL); each code is counted on the entity's failure budget *before*
//! it is compared, as a sent code is (throttle, then lockout: 429/60202);
//! the secret is sealed under the code key ([`TotpSecret::seal`], bound to
//! the factor's sid) and appears once, in the answer that creates the
//! factor.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use seccode::store::{ChallengeStore, CounterKey};
use seccode::{AccountId, Purpose, TotpAlgorithm, TotpSecret, TotpSettings};
use serde_json::{Value, json};

use crate::config::{is_sid, now_ms};
use crate::db::{Entity, Factor, FactorChallenge, Service};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, list_page, list_page_ordered, new_sid, respond, vet};
use crate::http::error::{ApiError, ApiResult};
use crate::http::services::owned_service;
use crate::state::AppState;

/// The most factors an entity has (Twilio's limit).
const MAX_FACTORS: i64 = 20;
/// How long a challenge waits for its code (Twilio's default).
const CHALLENGE_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// The longest a challenge's `ExpirationDate` may give it (Twilio's limit).
const MAX_CHALLENGE_LIFETIME_MS: i64 = 60 * 60 * 1000;
/// What a factor's sealed secret is bound to, with its sid.
const SEAL_CONTEXT: &str = "seccode-server-factor-v1:";

/// Entities, factors and challenges.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/Services/{sid}/Entities",
            post(create_entity).get(list_entities),
        )
        .route(
            "/v2/Services/{sid}/Entities/{identity}",
            get(fetch_entity).delete(delete_entity),
        )
        .route(
            "/v2/Services/{sid}/Entities/{identity}/Factors",
            post(create_factor).get(list_factors),
        )
        .route(
            "/v2/Services/{sid}/Entities/{identity}/Factors/{yf}",
            get(fetch_factor).post(update_factor).delete(delete_factor),
        )
        .route(
            "/v2/Services/{sid}/Entities/{identity}/Challenges",
            post(create_challenge).get(list_challenges),
        )
        .route(
            "/v2/Services/{sid}/Entities/{identity}/Challenges/{yc}",
            get(fetch_challenge).post(update_challenge),
        )
}

/// An identity as Twilio takes it: 8 to 64 letters, digits and dashes (an
/// id of the application's, never a person's name or address).
fn identity(value: Option<&String>) -> Result<String, ApiError> {
    let Some(v) = value else {
        return Err(ApiError::invalid(
            "Missing required parameter Identity in the post body",
        ));
    };
    let ok =
        (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(ApiError::invalid(
            "Invalid parameter: Identity (8 to 64 letters, digits and dashes)",
        ));
    }
    Ok(v.clone())
}

/// A factor's `FriendlyName`: 1 to 64 characters.
fn factor_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::invalid(
            "Invalid parameter: FriendlyName (1 to 64 characters)",
        ));
    }
    Ok(name.to_owned())
}

fn entity_url(state: &AppState, service: &str, identity: &str) -> String {
    format!("{}/v2/Services/{service}/Entities/{identity}", state.base)
}

fn entity_json(state: &AppState, e: &Entity) -> Value {
    let url = entity_url(state, &e.service_sid, &e.identity);
    json!({
        "sid": e.sid,
        "identity": e.identity,
        "account_sid": e.account_sid,
        "service_sid": e.service_sid,
        "date_created": date(e.created),
        "date_updated": date(e.updated),
        "url": url,
        "links": {
            "factors": format!("{url}/Factors"),
            "challenges": format!("{url}/Challenges"),
        },
    })
}

/// Twilio's name of an algorithm (`sha1`…).
fn alg_name(alg: TotpAlgorithm) -> &'static str {
    match alg {
        TotpAlgorithm::Sha256 => "sha256",
        TotpAlgorithm::Sha512 => "sha512",
        _ => "sha1",
    }
}

/// A factor's code settings.
fn settings_of(f: &Factor) -> Result<TotpSettings, ApiError> {
    let alg = TotpAlgorithm::from_name(&f.alg.to_ascii_uppercase())
        .ok_or_else(|| ApiError::internal("factor", "unknown algorithm"))?;
    TotpSettings::new(alg, f.code_length, f.time_step, f.skew)
        .map_err(|e| ApiError::internal("factor", e))
}

/// The `Config.*` parameters over `current` (Twilio's defaults for a new
/// factor): the algorithm, 6 to 8 digits, a step of 20 to 60 seconds, a skew
/// of 0 to 2 steps.
fn config(form: &FormMap, current: TotpSettings) -> Result<TotpSettings, ApiError> {
    let number = |key: &str, range: std::ops::RangeInclusive<u32>, now: u32, why: &str| match form
        .get(key)
    {
        None => Ok(now),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!(
                "Invalid parameter: {key} ({why})"
            ))),
        },
    };
    let alg = match form.get("Config.Alg").map(String::as_str) {
        None => current.algorithm(),
        Some("sha1") => TotpAlgorithm::Sha1,
        Some("sha256") => TotpAlgorithm::Sha256,
        Some("sha512") => TotpAlgorithm::Sha512,
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameter: Config.Alg (sha1, sha256 or sha512)",
            ));
        }
    };
    let digits = number(
        "Config.CodeLength",
        6..=8,
        u32::from(current.digits()),
        "6 to 8; codes of 3 to 5 digits are refused: one guess in 10³ to 10⁵ is too likely",
    )?;
    let step = number(
        "Config.TimeStep",
        20..=60,
        current.period_secs(),
        "20 to 60 seconds",
    )?;
    let skew = number(
        "Config.Skew",
        0..=2,
        u32::from(current.skew()),
        "0 to 2 steps",
    )?;
    TotpSettings::new(
        alg,
        u8::try_from(digits).unwrap_or(6),
        step,
        u8::try_from(skew).unwrap_or(1),
    )
    .map_err(|e| ApiError::invalid(format!("Invalid parameter: Config ({e})")))
}

fn factor_url(state: &AppState, f: &Factor) -> String {
    format!(
        "{}/Factors/{}",
        entity_url(state, &f.service_sid, &f.identity),
        f.sid
    )
}

fn factor_json(state: &AppState, f: &Factor) -> Value {
    json!({
        "sid": f.sid,
        "account_sid": f.account_sid,
        "service_sid": f.service_sid,
        "entity_sid": f.entity_sid,
        "identity": f.identity,
        "date_created": date(f.created),
        "date_updated": date(f.updated),
        "friendly_name": f.friendly_name,
        "status": if f.verified { "verified" } else { "unverified" },
        "factor_type": "totp",
        "config": {
            "alg": f.alg,
            "skew": f.skew,
            "code_length": f.code_length,
            "time_step": f.time_step,
        },
        "metadata": Value::Null,
        "url": factor_url(state, f),
    })
}

/// A challenge's status now: a pending one past its time has expired.
fn challenge_status(c: &FactorChallenge, now: i64) -> &str {
    if c.status == "pending" && now >= c.expires {
        "expired"
    } else {
        &c.status
    }
}

fn challenge_json(state: &AppState, c: &FactorChallenge, now: i64) -> Value {
    let url = format!(
        "{}/Challenges/{}",
        entity_url(state, &c.service_sid, &c.identity),
        c.sid
    );
    let hidden = c
        .hidden_details
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null);
    json!({
        "sid": c.sid,
        "account_sid": c.account_sid,
        "service_sid": c.service_sid,
        "entity_sid": c.entity_sid,
        "identity": c.identity,
        "factor_sid": c.factor_sid,
        "date_created": date(c.created),
        "date_updated": date(c.updated),
        "date_responded": c.responded.map(date),
        "expiration_date": date(c.expires),
        "status": challenge_status(c, now),
        "responded_reason": "none",
        "details": Value::Null,
        "hidden_details": hidden,
        "metadata": Value::Null,
        "factor_type": "totp",
        "url": url,
        "links": {"notifications": format!("{url}/Notifications")},
    })
}

/// The service `sid` of `account` and its entity `identity`.
async fn owned_entity(
    state: &AppState,
    account: &str,
    sid: &str,
    identity: &str,
) -> Result<(Service, Entity), ApiError> {
    let service = owned_service(state, account, sid).await?;
    let entity = state
        .db
        .entity(&service.sid, identity)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "The requested resource /Services/{}/Entities/{identity} was not found",
                service.sid
            ))
        })?;
    Ok((service, entity))
}

async fn owned_factor(state: &AppState, entity: &Entity, yf: &str) -> Result<Factor, ApiError> {
    state.db.factor(&entity.sid, yf).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "The requested resource /Services/{}/Entities/{}/Factors/{yf} was not found",
            entity.service_sid, entity.identity
        ))
    })
}

async fn owned_challenge(
    state: &AppState,
    entity: &Entity,
    yc: &str,
) -> Result<FactorChallenge, ApiError> {
    state
        .db
        .factor_challenge(&entity.sid, yc)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "The requested resource /Services/{}/Entities/{}/Challenges/{yc} was not found",
                entity.service_sid, entity.identity
            ))
        })
}

/// A code as Twilio takes one: 3 to 8 digits. Anything else could match no
/// code: refused without counting.
fn auth_payload(form: &FormMap) -> Result<Option<&str>, ApiError> {
    match form.get("AuthPayload").map(String::as_str) {
        None => Ok(None),
        Some(p) if (3..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(p))
        }
        Some(_) => Err(ApiError::invalid(
            "Invalid parameter: AuthPayload (the code: 3 to 8 digits)",
        )),
    }
}

/// Checks `code` against `factor`: counted on the entity's failure budget
/// first (429/60202 while throttled or locked), compared for every accepted
/// step in constant time, and its step taken in one conditional update.
/// Whether it was accepted.
async fn check_code(state: &AppState, factor: &Factor, code: &str) -> Result<bool, ApiError> {
    let now = state.codes.now();
    let owner = AccountId::new(format!("entity:{}", factor.entity_sid))
        .map_err(|e| ApiError::internal("entity", e))?;
    let key = CounterKey::failures(Purpose::IdentityCheck, &owner);
    let limits = *state.codes.config().limits();
    let counted = state
        .codes
        .store()
        .update_counter(&key, now, move |c| c.count_failure(&limits, now))
        .await?;
    if let Err(retry_after) = counted {
        return Err(ApiError::too_many(
            60202,
            "Max check attempts reached",
            retry_after,
        ));
    }
    let settings = settings_of(factor)?;
    let context = format!("{SEAL_CONTEXT}{}", factor.sid);
    let secret = TotpSecret::open(&state.keyring, context.as_bytes(), &factor.sealed)
        .ok_or_else(|| ApiError::internal("factor", "its secret does not open"))?;
    let unix_secs = now.as_unix_millis() / 1000;
    let accepted = match settings.matching_step(&secret, code, unix_secs, factor.last_step) {
        Some(step) => {
            state
                .db
                .take_factor_step(&factor.sid, step, now_ms())
                .await?
        }
        None => false,
    };
    if accepted {
        state
            .codes
            .store()
            .update_counter(&key, now, |c| c.clear())
            .await?;
    }
    Ok(accepted)
}

pub(crate) async fn create_entity(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "CreateEntity")?;
    let service = owned_service(&state, &account, &sid).await?;
    let now = now_ms();
    let e = Entity {
        sid: new_sid("YE"),
        service_sid: service.sid,
        account_sid: account,
        identity: identity(form.get("Identity"))?,
        created: now,
        updated: now,
    };
    if !state.db.create_entity(e.clone()).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            60301,
            "Entity already exists",
        ));
    }
    Ok(respond(StatusCode::CREATED, entity_json(&state, &e)))
}

pub(crate) async fn list_entities(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let items = state
        .db
        .entities(&service.sid)
        .await?
        .iter()
        .map(|e| (e.created, e.sid.clone(), entity_json(&state, e)))
        .collect();
    let url = format!("{}/v2/Services/{}/Entities", state.base, service.sid);
    list_page(items, &query, &url, "entities")
}

pub(crate) async fn fetch_entity(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity)): Path<(String, String)>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    Ok(respond(StatusCode::OK, entity_json(&state, &e)))
}

pub(crate) async fn delete_entity(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity)): Path<(String, String)>,
) -> ApiResult {
    let (service, e) = owned_entity(&state, &account, &sid, &identity).await?;
    // Its factors go with it: each is reported deleted.
    let factors = state.db.factors(&e.sid).await?;
    if state.db.delete_entity(&service.sid, &e.identity).await? {
        for f in &factors {
            crate::events::factor_event(&state, "factor.deleted", f).await;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Creates a TOTP factor — and its entity, if the identity has none yet, as
/// Twilio does. The answer carries the secret (`binding.secret`, base32) and
/// the `otpauth://` URI (`binding.uri`, issuer: the service's name), once.
pub(crate) async fn create_factor(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity_path)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "CreateNewFactor")?;
    let service = owned_service(&state, &account, &sid).await?;
    match form.get("FactorType").map(String::as_str) {
        Some("totp") => {}
        None => {
            return Err(ApiError::invalid(
                "Missing required parameter FactorType in the post body",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameter: FactorType (totp: push and passkeys factors are not supported)",
            ));
        }
    }
    let Some(name) = form.get("FriendlyName") else {
        return Err(ApiError::invalid(
            "Missing required parameter FriendlyName in the post body",
        ));
    };
    let friendly_name = factor_name(name)?;
    let settings = config(&form, TotpSettings::default())?;
    let secret = match form.get("Binding.Secret") {
        Some(text) => TotpSecret::from_base32(text).map_err(|_| {
            ApiError::invalid("Invalid parameter: Binding.Secret (base32 of at least 128 bits)")
        })?,
        None => TotpSecret::generate(settings.algorithm(), &mut rand::rng()),
    };
    let identity = identity(Some(&identity_path))?;
    let now = now_ms();
    let fresh = Entity {
        sid: new_sid("YE"),
        service_sid: service.sid.clone(),
        account_sid: account.clone(),
        identity: identity.clone(),
        created: now,
        updated: now,
    };
    state.db.create_entity(fresh).await?;
    let entity = state
        .db
        .entity(&service.sid, &identity)
        .await?
        .ok_or_else(|| ApiError::internal("entity", "gone while its factor was made"))?;
    let factor_sid = new_sid("YF");
    let context = format!("{SEAL_CONTEXT}{factor_sid}");
    let sealed = secret.seal(&state.keyring, context.as_bytes())?;
    let f = Factor {
        sid: factor_sid,
        entity_sid: entity.sid,
        service_sid: service.sid.clone(),
        account_sid: account,
        identity,
        friendly_name,
        verified: false,
        alg: alg_name(settings.algorithm()).to_owned(),
        code_length: settings.digits(),
        time_step: settings.period_secs(),
        skew: settings.skew(),
        sealed,
        last_step: None,
        created: now,
        updated: now,
    };
    if !state.db.create_factor(f.clone(), MAX_FACTORS).await? {
        return Err(
            ApiError::invalid("Reached max limit of 20 Factors associated per Entity")
                .with_code(60315),
        );
    }
    crate::events::factor_event(&state, "factor.created", &f).await;
    let uri = settings.uri(&secret, &service.friendly_name, &f.friendly_name);
    let mut body = factor_json(&state, &f);
    body["binding"] = json!({
        "secret": secret.to_base32().replace(' ', ""),
        "uri": uri.as_str(),
    });
    body["options"] = Value::Null;
    Ok(respond(StatusCode::CREATED, body))
}

pub(crate) async fn list_factors(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity)): Path<(String, String)>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let items = state
        .db
        .factors(&e.sid)
        .await?
        .iter()
        .map(|f| (f.created, f.sid.clone(), factor_json(&state, f)))
        .collect();
    let url = format!(
        "{}/Factors",
        entity_url(&state, &e.service_sid, &e.identity)
    );
    list_page(items, &query, &url, "factors")
}

pub(crate) async fn fetch_factor(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity, yf)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let f = owned_factor(&state, &e, &yf).await?;
    Ok(respond(StatusCode::OK, factor_json(&state, &f)))
}

/// Renames a factor, changes its code settings, and — with `AuthPayload` —
/// verifies it by a code from the app: the answer's `status` says whether it
/// did (`verified`) or not (`unverified`, the code counted as a failure).
pub(crate) async fn update_factor(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity, yf)): Path<(String, String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "UpdateFactor")?;
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let mut f = owned_factor(&state, &e, &yf).await?;
    let code = auth_payload(&form)?;
    let changed =
        form.contains_key("FriendlyName") || form.keys().any(|k| k.starts_with("Config."));
    if changed {
        if let Some(name) = form.get("FriendlyName") {
            f.friendly_name = factor_name(name)?;
        }
        let settings = config(&form, settings_of(&f)?)?;
        f.alg = alg_name(settings.algorithm()).to_owned();
        (f.code_length, f.time_step, f.skew) =
            (settings.digits(), settings.period_secs(), settings.skew());
        f.updated = now_ms();
        state.db.update_factor(&f).await?;
    }
    let was_verified = f.verified;
    if let Some(code) = code {
        check_code(&state, &f, code).await?;
    }
    let f = owned_factor(&state, &e, &yf).await?;
    if f.verified && !was_verified {
        crate::events::factor_event(&state, "factor.verified", &f).await;
    }
    Ok(respond(StatusCode::OK, factor_json(&state, &f)))
}

pub(crate) async fn delete_factor(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity, yf)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let f = owned_factor(&state, &e, &yf).await?;
    if state.db.delete_factor(&e.sid, &yf).await? {
        crate::events::factor_event(&state, "factor.deleted", &f).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `HiddenDetails`: a JSON object of strings, stored and returned.
fn hidden_details(form: &FormMap) -> Result<Option<String>, ApiError> {
    let Some(text) = form.get("HiddenDetails") else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) if text.len() <= 1024 && map.values().all(Value::is_string) => {
            Ok(Some(text.clone()))
        }
        _ => Err(ApiError::invalid(
            "Invalid parameter: HiddenDetails (a JSON object of strings, at most 1024 characters)",
        )),
    }
}

/// `ExpirationDate`: when a new challenge (made at `now`) expires — after
/// `now` and at most 60 minutes after it, as Twilio allows; five minutes
/// without it.
fn challenge_expiry(form: &FormMap, now: i64) -> Result<i64, ApiError> {
    let Some(text) = form.get("ExpirationDate").map(|t| t.trim()) else {
        return Ok(now + CHALLENGE_LIFETIME_MS);
    };
    let at = seccode::Timestamp::parse_rfc3339(text)
        .and_then(|t| i64::try_from(t.as_unix_millis()).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "Invalid parameter: ExpirationDate (an ISO 8601 date and time, e.g. 2026-12-02T10:05:00Z)",
            )
        })?;
    if at <= now || at > now + MAX_CHALLENGE_LIFETIME_MS {
        return Err(ApiError::invalid(
            "Invalid parameter: ExpirationDate (after now and at most 60 minutes after it)",
        ));
    }
    Ok(at)
}

/// Creates a challenge of a verified factor; with `AuthPayload` it is
/// answered at once: `approved` for a right code, else `pending` (the code
/// counted as a failure).
pub(crate) async fn create_challenge(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "CreateChallenge")?;
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let Some(yf) = form.get("FactorSid") else {
        return Err(ApiError::invalid(
            "Missing required parameter FactorSid in the post body",
        ));
    };
    let f = owned_factor(&state, &e, yf).await?;
    if !f.verified {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            60318,
            "Factor is unverified",
        ));
    }
    let hidden = hidden_details(&form)?;
    let code = auth_payload(&form)?;
    let now = now_ms();
    let expires = challenge_expiry(&form, now)?;
    let mut c = FactorChallenge {
        sid: new_sid("YC"),
        factor_sid: f.sid.clone(),
        entity_sid: e.sid.clone(),
        service_sid: e.service_sid.clone(),
        account_sid: e.account_sid.clone(),
        identity: e.identity.clone(),
        status: "pending".to_owned(),
        hidden_details: hidden,
        expires,
        responded: None,
        created: now,
        updated: now,
    };
    if let Some(code) = code
        && check_code(&state, &f, code).await?
    {
        c.status = "approved".to_owned();
        c.responded = Some(now);
    }
    state.db.create_factor_challenge(c.clone()).await?;
    if c.status == "approved" {
        crate::events::challenge_approved(&state, &f, &c).await;
    }
    Ok(respond(
        StatusCode::CREATED,
        challenge_json(&state, &c, now),
    ))
}

pub(crate) async fn list_challenges(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity)): Path<(String, String)>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let now = now_ms();
    let status = query.get("Status").map(String::as_str);
    if let Some(s) = status
        && !["pending", "expired", "approved", "denied"].contains(&s)
    {
        return Err(ApiError::invalid(
            "Invalid parameter: Status (pending, expired, approved or denied)",
        ));
    }
    if let Some(f) = query.get("FactorSid")
        && !is_sid(f, "YF")
    {
        return Err(ApiError::invalid(
            "Invalid parameter: FactorSid (YF and 32 hexadecimal digits)",
        ));
    }
    let mut challenges = state.db.factor_challenges(&e.sid).await?;
    let descending = match query.get("Order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::invalid("Invalid parameter: Order (asc or desc)")),
    };
    if descending {
        challenges.reverse();
    }
    let items = challenges
        .iter()
        .filter(|c| query.get("FactorSid").is_none_or(|f| *f == c.factor_sid))
        .filter(|c| status.is_none_or(|s| s == challenge_status(c, now)))
        .map(|c| (c.created, c.sid.clone(), challenge_json(&state, c, now)))
        .collect();
    let url = format!(
        "{}/Challenges",
        entity_url(&state, &e.service_sid, &e.identity)
    );
    list_page_ordered(items, &query, &url, "challenges", descending)
}

pub(crate) async fn fetch_challenge(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity, yc)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let c = owned_challenge(&state, &e, &yc).await?;
    Ok(respond(
        StatusCode::OK,
        challenge_json(&state, &c, now_ms()),
    ))
}

/// Answers a pending challenge with a code: `approved` if it is right, else
/// still `pending` (counted as a failure). An approved or expired challenge
/// is returned as it is, its code unchecked.
pub(crate) async fn update_challenge(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, identity, yc)): Path<(String, String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "UpdateChallenge")?;
    let (_, e) = owned_entity(&state, &account, &sid, &identity).await?;
    let c = owned_challenge(&state, &e, &yc).await?;
    let Some(code) = auth_payload(&form)? else {
        return Err(ApiError::invalid(
            "Missing required parameter AuthPayload in the post body",
        ));
    };
    let now = now_ms();
    if challenge_status(&c, now) == "pending" {
        let f = owned_factor(&state, &e, &c.factor_sid).await?;
        if check_code(&state, &f, code).await?
            && state.db.approve_factor_challenge(&c.sid, now).await?
        {
            let approved = owned_challenge(&state, &e, &yc).await?;
            crate::events::challenge_approved(&state, &f, &approved).await;
        }
    }
    let c = owned_challenge(&state, &e, &yc).await?;
    Ok(respond(StatusCode::OK, challenge_json(&state, &c, now)))
}
