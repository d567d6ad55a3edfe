//! `/v2/Services/{sid}/RateLimits` and their `Buckets`, and counting a
//! verification against them.

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::config::now_ms;
use crate::db::{Bucket, RateLimit as ServiceRateLimit, Service};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, list_page, new_sid, respond, unique_name};
use crate::http::error::{ApiError, ApiResult};
use crate::http::services::owned_service;
use crate::rules;
use crate::state::{AppState, Codes};

/// A service's rate limits and their buckets.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
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
}

/// The service `sid` of `account` and its rate limit `rk`.
pub(crate) async fn rate_limit_for(
    state: &AppState,
    account: &str,
    sid: &str,
    rk: &str,
) -> Result<(Service, ServiceRateLimit), ApiError> {
    let service = owned_service(state, account, sid).await?;
    let r = owned_rate_limit(state, &service, rk).await?;
    Ok((service, r))
}

pub(crate) fn rate_limit_json(state: &AppState, r: &ServiceRateLimit) -> Value {
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

pub(crate) fn bucket_json(state: &AppState, b: &Bucket) -> Value {
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

pub(crate) async fn owned_rate_limit(
    state: &AppState,
    service: &Service,
    rk: &str,
) -> Result<ServiceRateLimit, ApiError> {
    state.db.rate_limit(&service.sid, rk).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "The requested resource /Services/{}/RateLimits/{rk} was not found",
            service.sid
        ))
    })
}

pub(crate) async fn save_rate_limit(state: &AppState, r: ServiceRateLimit) -> Result<(), ApiError> {
    let saved = state.db.save_rate_limit(r).await?;
    if saved {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "Invalid parameter: UniqueName (another rate limit of this service has it)",
        ))
    }
}

pub(crate) async fn create_rate_limit(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
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

pub(crate) async fn list_rate_limits(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let items = state
        .db
        .rate_limits(&service.sid)
        .await?
        .iter()
        .map(|r| (r.created, r.sid.clone(), rate_limit_json(&state, r)))
        .collect();
    let url = format!("{}/v2/Services/{}/RateLimits", state.base, service.sid);
    list_page(items, &query, &url, "rate_limits")
}

pub(crate) async fn fetch_rate_limit(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk)): Path<(String, String)>,
) -> ApiResult {
    let (_, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    Ok(respond(StatusCode::OK, rate_limit_json(&state, &r)))
}

pub(crate) async fn update_rate_limit(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, mut r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    if let Some(d) = form.get("Description") {
        r.description = Some(d.clone());
    }
    r.updated = now_ms();
    save_rate_limit(&state, r.clone()).await?;
    Ok(respond(StatusCode::OK, rate_limit_json(&state, &r)))
}

pub(crate) async fn delete_rate_limit(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk)): Path<(String, String)>,
) -> ApiResult {
    let (service, _) = rate_limit_for(&state, &account, &sid, &rk).await?;
    state.db.delete_rate_limit(&service.sid, &rk).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn bucket_numbers(
    form: &FormMap,
    bucket: Option<&Bucket>,
) -> Result<(u32, u32), ApiError> {
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

pub(crate) async fn owned_bucket(
    state: &AppState,
    r: &ServiceRateLimit,
    bl: &str,
) -> Result<Bucket, ApiError> {
    state.db.bucket(&r.sid, bl).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "The requested resource /Services/{}/RateLimits/{}/Buckets/{bl} was not found",
            r.service_sid, r.sid
        ))
    })
}

pub(crate) async fn create_bucket(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (service, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
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
    state.db.save_bucket(b.clone()).await?;
    Ok(respond(StatusCode::CREATED, bucket_json(&state, &b)))
}

pub(crate) async fn list_buckets(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk)): Path<(String, String)>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let (service, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    let items = state
        .db
        .buckets(&r.sid)
        .await?
        .iter()
        .map(|b| (b.created, b.sid.clone(), bucket_json(&state, b)))
        .collect();
    let url = format!(
        "{}/v2/Services/{}/RateLimits/{}/Buckets",
        state.base, service.sid, r.sid
    );
    list_page(items, &query, &url, "buckets")
}

pub(crate) async fn fetch_bucket(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk, bl)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    let b = owned_bucket(&state, &r, &bl).await?;
    Ok(respond(StatusCode::OK, bucket_json(&state, &b)))
}

pub(crate) async fn update_bucket(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk, bl)): Path<(String, String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let (_, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    let mut b = owned_bucket(&state, &r, &bl).await?;
    (b.max, b.interval) = bucket_numbers(&form, Some(&b))?;
    b.updated = now_ms();
    state.db.save_bucket(b.clone()).await?;
    Ok(respond(StatusCode::OK, bucket_json(&state, &b)))
}

pub(crate) async fn delete_bucket(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, rk, bl)): Path<(String, String, String)>,
) -> ApiResult {
    let (_, r) = rate_limit_for(&state, &account, &sid, &rk).await?;
    owned_bucket(&state, &r, &bl).await?;
    state.db.delete_bucket(&r.sid, &bl).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Counts a start against the buckets of every rate limit its `RateLimits`
/// names ([`rules::rate_limit_budgets`](crate::rules::rate_limit_budgets)),
/// all in one step of the store: a full bucket answers 429/20429 with
/// `Retry-After`, an unknown name or a malformed value 60200.
pub(crate) async fn count_rate_limits(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    form: &FormMap,
) -> Result<(), ApiError> {
    let Some(text) = form.get("RateLimits") else {
        return Ok(());
    };
    let limits = state.db.rate_limits(&service.sid).await?;
    let budgets =
        rules::rate_limit_budgets(
            text,
            &limits,
            |sid| async move { state.db.buckets(&sid).await },
        )
        .await?;
    Ok(rules::count_rate_limits(codes, budgets).await?)
}
