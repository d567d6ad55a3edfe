//! Twilio's error answers, and the library's refusals mapped to them.

use crate::db::DbError;
use crate::rules::Refused;
use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use seccode::{Error as CodesError, RateLimit};
use serde_json::json;

/// A Twilio error answer: `{code, message, more_info, status}`.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
    pub(crate) retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 60200, message)
    }

    /// 429 with `code` and a `Retry-After`.
    pub(crate) fn too_many(code: u32, message: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// The same answer with another Twilio error code.
    pub(crate) fn with_code(self, code: u32) -> Self {
        Self { code, ..self }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 20404, message)
    }

    pub(crate) fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        let text = e.to_string();
        if text.starts_with("database unavailable: ") {
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
    pub(crate) fn unavailable() -> Self {
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

pub(crate) type ApiResult = Result<Response, ApiError>;

/// Maps the library's refusals to Twilio's answers; anything else is a 500.
pub(crate) fn refusal(e: CodesError) -> ApiError {
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

/// The database's errors: 503/20503 while it is down or out of reach (its
/// loss is logged once, see `crate::health`), else a logged 500.
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            ApiError::unavailable()
        } else {
            ApiError::internal("database", e)
        }
    }
}

/// The library's refusals as Twilio answers them (see [`refusal`]).
impl From<CodesError> for ApiError {
    fn from(e: CodesError) -> Self {
        refusal(e)
    }
}

/// A rule's refusal as Twilio answers it.
impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        let too_many = |code, retry_after| ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, "Too many requests")
        };
        match r {
            Refused::DestinationBudget { retry_after } => too_many(60212, retry_after),
            Refused::RateLimit { retry_after } => too_many(20429, retry_after),
            Refused::MalformedRateLimits => ApiError::invalid(
                "Invalid parameter: RateLimits (a JSON object of rate limit unique names to values)",
            ),
            Refused::UnknownRateLimit(name) => ApiError::invalid(format!(
                "Invalid parameter: RateLimits (no rate limit named {name})"
            )),
            Refused::Codes(e) => refusal(e),
            Refused::Db(e) => e.into(),
        }
    }
}
