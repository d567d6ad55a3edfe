//! Form values in, JSON and pages out: what every resource reads and writes.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::hex;
use crate::http::error::ApiError;

pub(crate) fn date(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    seccode::Timestamp::from_unix_millis(ms / 1000 * 1000).to_rfc3339()
}

pub(crate) fn new_sid(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

pub(crate) fn respond(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

pub(crate) type FormMap = HashMap<String, String>;

/// Refuses a request that sets a parameter of `operation` the server does
/// not honour (see [`crate::params`]): 400/60200 naming it.
pub(crate) fn vet(form: &FormMap, operation: &str) -> Result<(), ApiError> {
    let params = crate::params::params_of(operation).unwrap_or(&[]);
    match crate::params::first_refused(form, params) {
        Some(message) => Err(ApiError::invalid(message)),
        None => Ok(()),
    }
}

pub(crate) fn boolean(form: &FormMap, key: &str) -> Result<Option<bool>, ApiError> {
    match form.get(key).map(String::as_str) {
        None => Ok(None),
        Some("true" | "True") => Ok(Some(true)),
        Some("false" | "False") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(format!(
            "Invalid parameter: {key} (true or false)"
        ))),
    }
}

pub(crate) fn code_length(form: &FormMap) -> Result<Option<u8>, ApiError> {
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

pub(crate) fn friendly_name(value: &str) -> Result<String, ApiError> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > 30 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "Invalid parameter: FriendlyName (1 to 30 characters without line breaks)",
        ));
    }
    Ok(name.to_owned())
}

/// `Page` and `PageSize` of a list request.
pub(crate) fn paging(query: &FormMap) -> Result<(usize, usize), ApiError> {
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
pub(crate) fn page_body(
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
pub(crate) fn list_page(
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

pub(crate) fn unique_name(value: Option<&String>) -> Result<String, ApiError> {
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
