//! `/v2/Attempts`: every message a verification sent (its send attempts),
//! listed with Twilio's filters, fetched by sid, and summed up.
//!
//! An attempt is *converted* once its verification was approved. The server
//! keeps no prices: `price` is null.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use seccode::{Contact, Timestamp};
use serde_json::{Value, json};

use crate::config::is_sid;
use crate::db::{Verification, VerificationStatus};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, Listed, date, list_page, respond};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long before an attempt its verification may have started: a
/// verification lives ten minutes, its resends within them.
const LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// The attempts' routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/Attempts", get(list))
        .route("/v2/Attempts/Summary", get(summary))
        .route("/v2/Attempts/{sid}", get(fetch))
}

/// One attempt: when, through which channel, its sid.
type Attempt<'a> = (&'a Verification, i64, &'a str, &'a str);

fn converted(v: &Verification) -> bool {
    v.status == VerificationStatus::Approved
}

fn attempt_json(state: &AppState, (v, at, channel, sid): Attempt<'_>) -> Value {
    json!({
        "sid": sid,
        "account_sid": v.account_sid,
        "service_sid": v.service_sid,
        "verification_sid": v.sid,
        "date_created": date(at),
        "date_updated": date(at),
        "conversion_status": if converted(v) { "converted" } else { "unconverted" },
        "channel": channel,
        "price": Value::Null,
        "channel_data": {"verification_sid": v.sid, "to": v.to},
        "url": format!("{}/v2/Attempts/{sid}", state.base),
    })
}

/// A `DateCreatedAfter` / `DateCreatedBefore` bound (ISO 8601, UTC).
fn bound(query: &FormMap, key: &str) -> Result<Option<i64>, ApiError> {
    match query.get(key) {
        None => Ok(None),
        Some(text) => Timestamp::parse_rfc3339(text.trim())
            .and_then(|t| i64::try_from(t.as_unix_millis()).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid parameter: {key} (an ISO 8601 date and time, e.g. 2026-12-02T10:00:00Z)"
                ))
            }),
    }
}

/// The filters both the list and the summary take.
struct Filters {
    after: Option<i64>,
    before: Option<i64>,
    service: String,
    verification: String,
    channel: Option<String>,
    country: Option<String>,
    to: Option<String>,
    prefix: Option<String>,
    status: Option<bool>,
}

impl Filters {
    fn read(query: &FormMap) -> Result<Self, ApiError> {
        let channel = match query.get("Channel").map(String::as_str) {
            None => None,
            Some(c @ ("sms" | "call" | "email" | "whatsapp" | "rbm")) => Some(c.to_owned()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "Invalid parameter: Channel (sms, call, email, whatsapp or rbm)",
                ));
            }
        };
        let status = match query.get("Status").map(String::as_str) {
            None => None,
            Some("converted") => Some(true),
            Some("unconverted") => Some(false),
            Some(_) => {
                return Err(ApiError::invalid(
                    "Invalid parameter: Status (converted or unconverted)",
                ));
            }
        };
        // An empty filter is no filter.
        let given = |key: &str| query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        // A sid filter is a sid: empty is no sid.
        let sid = |key: &str, prefix: &str| -> Result<String, ApiError> {
            match query.get(key).map(|v| v.trim()) {
                None => Ok(String::new()),
                Some(v) if is_sid(v, prefix) => Ok(v.to_owned()),
                Some(_) => Err(ApiError::invalid(format!(
                    "Invalid parameter: {key} ({prefix} and 32 hexadecimal digits)"
                ))),
            }
        };
        let to = match given("ChannelData.To").map(str::to_owned).as_ref() {
            None => None,
            Some(t) => Some(
                Contact::parse(t.trim())
                    .map_err(|_| ApiError::invalid("Invalid parameter: ChannelData.To"))?
                    .identity()
                    .to_owned(),
            ),
        };
        Ok(Self {
            after: bound(query, "DateCreatedAfter")?,
            before: bound(query, "DateCreatedBefore")?,
            service: sid("VerifyServiceSid", "VA")?,
            verification: sid("VerificationSid", "VE")?,
            channel,
            country: given("Country").map(str::to_ascii_uppercase),
            to,
            prefix: given("DestinationPrefix").map(str::to_owned),
            status,
        })
    }

    /// The account's verifications that may hold a matching attempt.
    async fn verifications(
        &self,
        state: &AppState,
        account: &str,
    ) -> Result<Vec<Verification>, ApiError> {
        let from = self
            .after
            .map_or(i64::MIN, |a| a.saturating_sub(LIFETIME_MS));
        let until = self.before.unwrap_or(i64::MAX);
        Ok(state
            .db
            .verifications_of(account, &self.service, &self.verification, from, until)
            .await?)
    }

    fn keeps(&self, (v, at, channel, _): &Attempt<'_>) -> bool {
        let contact = Contact::parse(&v.to).ok();
        self.after.is_none_or(|a| *at >= a)
            && self.before.is_none_or(|b| *at < b)
            && self.channel.as_deref().is_none_or(|c| c == *channel)
            && self.status.is_none_or(|s| s == converted(v))
            && self
                .to
                .as_deref()
                .is_none_or(|t| contact.as_ref().is_some_and(|c| c.identity() == t))
            && self.prefix.as_deref().is_none_or(|p| v.to.starts_with(p))
            && self.country.as_deref().is_none_or(|wanted| {
                contact
                    .as_ref()
                    .and_then(Contact::country)
                    .is_some_and(|c| c == wanted)
            })
    }
}

/// Every attempt of `verifications`, oldest first.
fn attempts(verifications: &[Verification]) -> Vec<Attempt<'_>> {
    let mut all: Vec<Attempt<'_>> = verifications
        .iter()
        .flat_map(|v| {
            v.attempts
                .iter()
                .map(move |(at, channel, sid)| (v, *at, channel.as_str(), sid.as_str()))
        })
        .collect();
    all.sort_by(|a, b| (a.1, a.3).cmp(&(b.1, b.3)));
    all
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let filters = Filters::read(&query)?;
    let verifications = filters.verifications(&state, &account).await?;
    let items: Vec<Listed> = attempts(&verifications)
        .into_iter()
        .filter(|a| filters.keeps(a))
        .map(|a| (a.1, a.3.to_owned(), attempt_json(&state, a)))
        .collect();
    list_page(
        items,
        &query,
        &format!("{}/v2/Attempts", state.base),
        "attempts",
    )
}

pub(crate) async fn fetch(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
) -> ApiResult {
    let missing = || {
        ApiError::not_found(format!(
            "The requested resource /Attempts/{sid} was not found"
        ))
    };
    if !is_sid(&sid, "VL") {
        return Err(missing());
    }
    let v = state
        .db
        .verification_of_attempt(&account, &sid)
        .await?
        .ok_or_else(missing)?;
    let (at, channel, _) = v
        .attempts
        .iter()
        .find(|(_, _, s)| *s == sid)
        .ok_or_else(missing)?;
    Ok(respond(
        StatusCode::OK,
        attempt_json(&state, (&v, *at, channel, &sid)),
    ))
}

/// How many attempts, how many converted: over the same filters as the list
/// (`VerifyServiceSid`, dates, `Country`, `Channel`, `DestinationPrefix`).
pub(crate) async fn summary(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let filters = Filters::read(&query)?;
    let verifications = filters.verifications(&state, &account).await?;
    let kept: Vec<Attempt<'_>> = attempts(&verifications)
        .into_iter()
        .filter(|a| filters.keeps(a))
        .collect();
    let total = kept.len();
    let converted = kept.iter().filter(|(v, ..)| converted(v)).count();
    let rate = (total > 0).then(|| format!("{:.2}", converted as f64 * 100.0 / total as f64));
    Ok(respond(
        StatusCode::OK,
        json!({
            "total_attempts": total,
            "total_converted": converted,
            "total_unconverted": total - converted,
            "conversion_rate_percentage": rate,
            "url": format!("{}/v2/Attempts/Summary", state.base),
        }),
    ))
}
