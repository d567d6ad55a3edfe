//! The Verify rules, with no HTTP in them: which seccode account a
//! verification counts on and which challenge it is, the budgets a message
//! counts on beyond the library's (every API account's per destination, a
//! service's rate limits), and where a stored verification stands. The
//! handlers in `crate::http` turn a [`Refused`] into Twilio's answer.

use std::time::Duration;

use seccode::store::{ChallengeStore, Counter, CounterKey, SendBudget};
use seccode::{AccountId, ChallengeId, Contact, Timestamp};
use sha2::{Digest, Sha256};

use crate::config::{hex, is_sid, now_ms};
use crate::db::{DbError, RateLimit, Verification, VerificationStatus};
use crate::state::Codes;

/// Why a rule refused a request.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Every API account's budget for the destination is used up.
    DestinationBudget {
        /// When it has room again.
        retry_after: Duration,
    },
    /// A bucket of one of the service's rate limits is full.
    RateLimit {
        /// When it has room again.
        retry_after: Duration,
    },
    /// `RateLimits` is not a JSON object of names to strings or numbers.
    MalformedRateLimits,
    /// `RateLimits` names no rate limit of the service (the name, cut to 64
    /// characters).
    UnknownRateLimit(String),
    /// The library refused or failed.
    Codes(seccode::Error),
    /// The database failed.
    Db(DbError),
}

impl From<seccode::Error> for Refused {
    fn from(e: seccode::Error) -> Self {
        Refused::Codes(e)
    }
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Self {
        Refused::Db(e)
    }
}

/// The seccode account a verification counts on: one per service and contact,
/// so attempt and send limits hold per number or address within a service.
///
/// # Errors
///
/// The library refuses the id (it cannot: the text is a SID and hex digits).
pub(crate) fn codes_account(service: &str, identity: &str) -> Result<AccountId, Refused> {
    let digest = Sha256::digest(identity.as_bytes());
    AccountId::new(format!("{service}:{}", hex(&digest[..16])))
        .map_err(|_| Refused::Codes(seccode::Error::store("verification account id")))
}

/// The challenge of the verification `sid` (`VE` and its id in hex).
pub(crate) fn challenge_of(sid: &str) -> Option<ChallengeId> {
    sid.strip_prefix("VE")
        .filter(|_| is_sid(sid, "VE"))
        .and_then(|h| h.to_ascii_lowercase().parse().ok())
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(now_ms()).unwrap_or(0))
}

/// Runs `send` under the destination's budget of every API account together
/// (`cap` an hour): counted first, given back if `send` fails, so a refused or
/// failed send spends nothing of it.
///
/// # Errors
///
/// [`Refused::DestinationBudget`]; `send`'s error.
pub(crate) async fn under_destination_budget<T>(
    codes: &Codes,
    cap: u32,
    to: &Contact,
    send: impl std::future::Future<Output = seccode::Result<T>>,
) -> Result<T, Refused> {
    let key = CounterKey::custom(&format!("verify-destination:{}", to.identity()));
    let budget = SendBudget::new(key, cap, Duration::from_secs(3600));
    let now = now();
    if let Err((_, retry_after)) = codes.store().count_sends(vec![budget], now).await? {
        return Err(Refused::DestinationBudget { retry_after });
    }
    match send.await {
        Ok(out) => Ok(out),
        Err(e) => {
            // Best effort: a refund that fails leaves the budget counted (the
            // conservative direction).
            let _ = codes
                .store()
                .update_counter(&key, now, Counter::refund)
                .await;
            Err(Refused::Codes(e))
        }
    }
}

/// Brings a stored verification's status up to date with its challenge
/// (expired, closed after too many checks).
///
/// # Errors
///
/// The store fails.
pub(crate) async fn refresh(codes: &Codes, v: &mut Verification) -> Result<(), Refused> {
    if v.status != VerificationStatus::Pending {
        return Ok(());
    }
    let Some(id) = challenge_of(&v.sid) else {
        return Ok(());
    };
    v.status = match codes.status(&id).await {
        Ok(status) => status.into(),
        Err(seccode::Error::ChallengeNotFound) => VerificationStatus::Expired,
        Err(e) => return Err(Refused::Codes(e)),
    };
    Ok(())
}

/// The send budgets a start counts on for its `RateLimits` (a JSON object of
/// rate limit unique names to values): one per bucket of each named rate limit,
/// keyed by the bucket and the value (hashed by the store: it keeps no IP
/// address or user id). `buckets_of` reads a rate limit's buckets.
///
/// # Errors
///
/// [`Refused::MalformedRateLimits`]; [`Refused::UnknownRateLimit`]; the
/// database fails.
pub(crate) async fn rate_limit_budgets<F, Fut>(
    text: &str,
    limits: &[RateLimit],
    mut buckets_of: F,
) -> Result<Vec<SendBudget>, Refused>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<crate::db::Bucket>, DbError>>,
{
    let values: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| Refused::MalformedRateLimits)?;
    let mut budgets = Vec::new();
    for (name, value) in &values {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(Refused::MalformedRateLimits),
        };
        let limit = limits
            .iter()
            .find(|r| &r.unique_name == name)
            .ok_or_else(|| Refused::UnknownRateLimit(name.chars().take(64).collect()))?;
        for b in buckets_of(limit.sid.clone()).await? {
            budgets.push(SendBudget::new(
                CounterKey::custom(&format!("verify-bucket:{}:{value}", b.sid)),
                b.max,
                Duration::from_secs(u64::from(b.interval)),
            ));
        }
    }
    Ok(budgets)
}

/// Counts a start on `budgets` in one step.
///
/// # Errors
///
/// [`Refused::RateLimit`] when a bucket is full; the store fails.
pub(crate) async fn count_rate_limits(
    codes: &Codes,
    budgets: Vec<SendBudget>,
) -> Result<(), Refused> {
    if budgets.is_empty() {
        return Ok(());
    }
    match codes.store().count_sends(budgets, now()).await? {
        Ok(()) => Ok(()),
        Err((_, retry_after)) => Err(Refused::RateLimit { retry_after }),
    }
}
