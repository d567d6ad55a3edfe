//! The Verify v2 API over HTTP: one module per resource, each with its own
//! router; errors, authentication and form values shared.

pub(crate) mod attempts;
pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod checks;
pub(crate) mod error;
pub(crate) mod factors;
pub(crate) mod messaging;
pub(crate) mod rate_limits;
pub(crate) mod safe_list;
pub(crate) mod services;
pub(crate) mod templates;
pub(crate) mod verifications;
pub(crate) mod webhooks;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;
use crate::store::Backend;

/// The router: each resource's routes under `/v2`, health, readiness and
/// metrics, with the request counter and the time bound around them.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(services::routes())
        .merge(verifications::routes())
        .merge(checks::routes())
        .merge(rate_limits::routes())
        .merge(factors::routes())
        .merge(safe_list::routes())
        .merge(attempts::routes())
        .merge(templates::routes())
        .merge(webhooks::routes())
        .merge(messaging::routes())
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
        .layer(axum::middleware::from_fn(protocol_edges))
        .fallback(|| async { ApiError::not_found("The requested resource was not found") })
        .with_state(state)
}

/// The protocol's edges as Twilio's SDKs meet them: a POST without a body
/// and without `Content-Type` (an update that changes nothing) is read as an
/// empty form; and every refusal the HTTP layer writes itself — a method the
/// route does not have, a body too large or not form-encoded — is answered
/// with a Twilio error body, never plain text (nor the body's own text).
pub(crate) async fn protocol_edges(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let empty = headers
        .get(header::CONTENT_LENGTH)
        .is_none_or(|len| len.as_bytes() == b"0")
        && !headers.contains_key(header::TRANSFER_ENCODING);
    if request.method() == axum::http::Method::POST
        && !headers.contains_key(header::CONTENT_TYPE)
        && empty
    {
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if json || !response.status().is_client_error() {
        return response;
    }
    let status = response.status();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (20004, "Method not allowed on this resource"),
        StatusCode::PAYLOAD_TOO_LARGE => (60200, "The request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            60200,
            "Send the parameters form-encoded (Content-Type: application/x-www-form-urlencoded)",
        ),
        _ => (60200, "The request could not be read as form parameters"),
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// Counts each request by its route (the pattern, never the SIDs in it) and
/// status, and bounds its time.
pub(crate) async fn count_request(
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
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
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
            state.health.lost(db_backend, e.cause());
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
