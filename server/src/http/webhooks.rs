//! `/v2/Services/{sid}/Webhooks`: where a service's events go (see
//! [`crate::events`] for what is sent and how).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Value, json};

use crate::config::now_ms;
use crate::db::{Service, Webhook};
use crate::events::is_event_type;
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, list_page, new_sid, respond, vet};
use crate::http::error::{ApiError, ApiResult};
use crate::http::services::owned_service;
use crate::state::AppState;

/// A service's webhooks.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/Services/{sid}/Webhooks",
            post(create_webhook).get(list_webhooks),
        )
        .route(
            "/v2/Services/{sid}/Webhooks/{yw}",
            get(fetch_webhook)
                .post(update_webhook)
                .delete(delete_webhook),
        )
}

fn webhook_json(state: &AppState, w: &Webhook) -> Value {
    json!({
        "sid": w.sid,
        "service_sid": w.service_sid,
        "account_sid": w.account_sid,
        "friendly_name": w.friendly_name,
        "event_types": w.event_types,
        "status": if w.enabled { "enabled" } else { "disabled" },
        "version": w.version,
        "webhook_url": w.url,
        "webhook_method": "POST",
        "date_created": date(w.created),
        "date_updated": date(w.updated),
        "url": format!("{}/v2/Services/{}/Webhooks/{}", state.base, w.service_sid, w.sid),
    })
}

/// The request's form: single values by name, and every `EventTypes` value
/// (the SDKs send an array as the parameter repeated).
fn split_form(pairs: Vec<(String, String)>) -> (FormMap, Option<Vec<String>>) {
    let mut form = FormMap::new();
    let mut types: Option<Vec<String>> = None;
    for (k, v) in pairs {
        if k == "EventTypes" {
            types.get_or_insert_with(Vec::new).push(v);
        } else {
            form.insert(k, v);
        }
    }
    (form, types)
}

/// `EventTypes`: at least one, each one a webhook may subscribe to.
fn event_types(types: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for t in types.iter().flat_map(|t| t.split(',')).map(str::trim) {
        if !is_event_type(t) {
            return Err(ApiError::invalid(format!(
                "Invalid parameter: EventTypes ({} is not one of *, factor.created, factor.verified, factor.deleted, challenge.approved, challenge.denied, com.twilio.accountsecurity.verify.verification.pending, .approved, .canceled, .expired or .max-attempts-reached)",
                t.chars().take(64).collect::<String>()
            )));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid(
            "Missing required parameter EventTypes in the post body",
        ));
    }
    Ok(out)
}

/// Whether `host` names this machine or a private network: a webhook there
/// would let an API account make the server POST inside its own network.
/// (A name that resolves there is refused when a delivery resolves it:
/// [`crate::events`].)
fn is_private_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") || bare.ends_with(".localhost") {
        return true;
    }
    bare.parse::<IpAddr>()
        .is_ok_and(crate::events::is_private_address)
}

/// `WebhookUrl`: an `http://` or `https://` URL, at most 2 048 characters,
/// with a host — not on this machine or a private network unless the
/// configuration allows it (`webhooks.allow_private_addresses`; a name is
/// resolved, and its addresses checked, at each delivery).
fn webhook_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    let url = url.trim();
    let bad = || {
        ApiError::invalid(
            "Invalid parameter: WebhookUrl (an http:// or https:// URL of at most 2048 characters)",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]"))
    } else {
        host_port.split(':').next().map(str::to_owned)
    }
    .unwrap_or_default();
    if url.len() > 2048
        || host.is_empty()
        || authority.contains('@')
        || url.contains(char::is_whitespace)
    {
        return Err(bad());
    }
    if is_private_host(&host) && !state.webhook_settings.allow_private_addresses {
        return Err(ApiError::invalid(
            "Invalid parameter: WebhookUrl (this server does not send webhooks to its own machine or a private network)",
        ));
    }
    Ok(url.to_owned())
}

/// `Status`: `enabled` or `disabled`.
fn enabled(form: &FormMap) -> Result<Option<bool>, ApiError> {
    match form.get("Status").map(String::as_str) {
        None => Ok(None),
        Some("enabled") => Ok(Some(true)),
        Some("disabled") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(
            "Invalid parameter: Status (enabled or disabled)",
        )),
    }
}

fn webhook_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::invalid(
            "Invalid parameter: FriendlyName (1 to 64 characters)",
        ));
    }
    Ok(name.to_owned())
}

/// The account's auth token signs the deliveries: an account configured
/// without it cannot have webhooks.
fn can_sign(state: &AppState, account: &str) -> Result<(), ApiError> {
    if state.signing_tokens.contains_key(account) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "Webhooks are signed with the account's auth token, which this server is not configured with (accounts[].auth_token)",
        ))
    }
}

async fn owned_webhook(state: &AppState, service: &Service, yw: &str) -> Result<Webhook, ApiError> {
    state.db.webhook(&service.sid, yw).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "The requested resource /Services/{}/Webhooks/{yw} was not found",
            service.sid
        ))
    })
}

pub(crate) async fn create_webhook(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let (form, types) = split_form(pairs);
    vet(&form, "CreateWebhook")?;
    let name = form.get("FriendlyName").ok_or_else(|| {
        ApiError::invalid("Missing required parameter FriendlyName in the post body")
    })?;
    let url = form.get("WebhookUrl").ok_or_else(|| {
        ApiError::invalid("Missing required parameter WebhookUrl in the post body")
    })?;
    let now = now_ms();
    let w = Webhook {
        sid: new_sid("YW"),
        service_sid: service.sid,
        account_sid: account.clone(),
        friendly_name: webhook_name(name)?,
        event_types: event_types(types.unwrap_or_default())?,
        url: webhook_url(&state, url)?,
        enabled: enabled(&form)?.unwrap_or(true),
        version: "v2".to_owned(),
        created: now,
        updated: now,
    };
    can_sign(&state, &account)?;
    state.db.save_webhook(w.clone()).await?;
    Ok(respond(StatusCode::CREATED, webhook_json(&state, &w)))
}

pub(crate) async fn update_webhook(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, yw)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let mut w = owned_webhook(&state, &service, &yw).await?;
    let (form, types) = split_form(pairs);
    vet(&form, "UpdateWebhook")?;
    if let Some(name) = form.get("FriendlyName") {
        w.friendly_name = webhook_name(name)?;
    }
    if let Some(types) = types {
        w.event_types = event_types(types)?;
    }
    if let Some(url) = form.get("WebhookUrl") {
        w.url = webhook_url(&state, url)?;
    }
    if let Some(on) = enabled(&form)? {
        w.enabled = on;
    }
    w.updated = now_ms();
    state.db.save_webhook(w.clone()).await?;
    Ok(respond(StatusCode::OK, webhook_json(&state, &w)))
}

pub(crate) async fn list_webhooks(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let items = state
        .db
        .webhooks(&service.sid)
        .await?
        .iter()
        .map(|w| (w.created, w.sid.clone(), webhook_json(&state, w)))
        .collect();
    let url = format!("{}/v2/Services/{}/Webhooks", state.base, service.sid);
    list_page(items, &query, &url, "webhooks")
}

pub(crate) async fn fetch_webhook(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, yw)): Path<(String, String)>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let w = owned_webhook(&state, &service, &yw).await?;
    Ok(respond(StatusCode::OK, webhook_json(&state, &w)))
}

pub(crate) async fn delete_webhook(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, yw)): Path<(String, String)>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    if !state.db.delete_webhook(&service.sid, &yw).await? {
        return Err(ApiError::not_found(format!(
            "The requested resource /Services/{}/Webhooks/{yw} was not found",
            service.sid
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "[::1]",
            "[fd00::1]",
            "[fe80::1]",
            "0.0.0.0",
        ] {
            assert!(is_private_host(host), "{host}");
        }
        for host in ["example.com", "93.184.216.34", "[2001:db8::1]"] {
            assert!(!is_private_host(host), "{host}");
        }
    }

    #[test]
    fn event_types_are_checked_and_deduplicated() {
        let t = event_types(vec!["*".into(), "factor.verified".into(), "*".into()]);
        assert_eq!(
            t.ok(),
            Some(vec!["*".to_owned(), "factor.verified".to_owned()])
        );
        assert!(event_types(vec!["verification.approved".into()]).is_err());
        assert!(event_types(Vec::new()).is_err());
    }
}
