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

/// A list request's paging: `Page` and `PageSize`, and the cursor of a
/// `PageToken` — the creation time and sid of the last item of the page
/// before, so a page follows on from it however items were added or removed
/// meanwhile (a bare `Page` is an offset).
#[derive(Debug)]
pub(crate) struct Paging {
    pub(crate) page: usize,
    pub(crate) size: usize,
    pub(crate) after: Option<(i64, String)>,
    /// The request's other parameters (its filters), URL-encoded in name
    /// order with a leading `&`: every page URL carries them, so the next
    /// page is of the same list.
    pub(crate) filters: String,
}

/// The paging of a list request.
pub(crate) fn paging(query: &FormMap) -> Result<Paging, ApiError> {
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
    let after = match query.get("PageToken") {
        None => None,
        Some(token) => Some(read_page_token(token).ok_or_else(|| {
            ApiError::invalid("Invalid parameter: PageToken (as a next_page_url gives it)")
        })?),
    };
    let mut filters: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Page" | "PageSize" | "PageToken"))
        .collect();
    filters.sort();
    let filters = match serde_urlencoded::to_string(&filters) {
        Ok(encoded) if !encoded.is_empty() => format!("&{encoded}"),
        _ => String::new(),
    };
    Ok(Paging {
        page,
        size,
        after,
        filters,
    })
}

/// `PT<created>-<sid>`: the cursor after an item.
fn page_token(created: i64, sid: &str) -> String {
    format!("PT{created}-{sid}")
}

fn read_page_token(token: &str) -> Option<(i64, String)> {
    let (created, sid) = token.strip_prefix("PT")?.split_once('-')?;
    let ok = !sid.is_empty() && sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(())?;
    Some((created.parse().ok()?, sid.to_owned()))
}

/// One list page as Twilio answers it: the items under `key` and `meta` with
/// absolute page URLs (the SDKs follow `next_page_url` as given), the next
/// page's carrying a `PageToken` after `last` (the creation time and sid of
/// the page's last item).
pub(crate) fn page_body(
    items: Vec<Value>,
    paging: &Paging,
    more: Option<(i64, &str)>,
    url: &str,
    key: &str,
) -> Response {
    let (page, size) = (paging.page, paging.size);
    let filters = &paging.filters;
    let page_url = |p: usize| format!("{url}?PageSize={size}&Page={p}{filters}");
    let this = match &paging.after {
        Some((created, sid)) => {
            format!("{}&PageToken={}", page_url(page), page_token(*created, sid))
        }
        None => page_url(page),
    };
    let next = more.map(|(created, sid)| {
        format!(
            "{}&PageToken={}",
            page_url(page + 1),
            page_token(created, sid)
        )
    });
    respond(
        StatusCode::OK,
        json!({
            key: items,
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": page_url(0),
                "previous_page_url": if page > 0 { Value::from(page_url(page - 1)) } else { Value::Null },
                "next_page_url": next,
                "key": key,
                "url": this,
            },
        }),
    )
}

/// One item of a list held in memory: its creation time, sid and answer.
pub(crate) type Listed = (i64, String, Value);

/// A page of a short list held in memory (a service's rate limits, buckets,
/// entities…), sorted by creation time and sid.
pub(crate) fn list_page(
    items: Vec<Listed>,
    query: &FormMap,
    url: &str,
    key: &str,
) -> Result<Response, ApiError> {
    list_page_ordered(items, query, url, key, false)
}

/// [`list_page`] of a list sorted by creation time and sid, newest first
/// when `descending`.
pub(crate) fn list_page_ordered(
    items: Vec<Listed>,
    query: &FormMap,
    url: &str,
    key: &str,
    descending: bool,
) -> Result<Response, ApiError> {
    let paging = paging(query)?;
    let start = match &paging.after {
        Some((created, sid)) => items
            .iter()
            .position(|(c, s, _)| {
                let item = (*c, s.as_str());
                let cursor = (*created, sid.as_str());
                if descending {
                    item < cursor
                } else {
                    item > cursor
                }
            })
            .unwrap_or(items.len()),
        None => paging.page.saturating_mul(paging.size).min(items.len()),
    };
    let end = start.saturating_add(paging.size).min(items.len());
    let more = (end < items.len())
        .then(|| items.get(end - 1))
        .flatten()
        .map(|(c, s, _)| (*c, s.clone()));
    let shown = items
        .into_iter()
        .skip(start)
        .take(paging.size)
        .map(|(_, _, v)| v)
        .collect();
    Ok(page_body(
        shown,
        &paging,
        more.as_ref().map(|(c, s)| (*c, s.as_str())),
        url,
        key,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a filtered list's `next_page_url` dropped its filters
    /// (`/v2/Attempts?Channel=sms`'s second page listed every channel), and
    /// the SDKs follow it as given.
    #[test]
    fn a_next_page_url_keeps_the_lists_filters() {
        let query: FormMap = [
            ("PageSize", "1"),
            ("Channel", "sms"),
            ("VerifySid", "VE1 2&3"),
            ("PageToken", "PT1-VE0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let paging = paging(&query).unwrap();
        assert_eq!(paging.filters, "&Channel=sms&VerifySid=VE1+2%263");
        let items = vec![
            (2, "VE2".to_owned(), json!({})),
            (3, "VE3".to_owned(), json!({})),
        ];
        let response = list_page(items, &query, "http://h/v2/Attempts", "attempts").unwrap();
        let body = futures_body(response);
        let next = body["meta"]["next_page_url"].as_str().unwrap();
        assert_eq!(
            next,
            "http://h/v2/Attempts?PageSize=1&Page=1&Channel=sms&VerifySid=VE1+2%263&PageToken=PT2-VE2"
        );
    }

    fn futures_body(response: Response) -> Value {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}
