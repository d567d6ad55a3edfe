//! `/v2/Services/{sid}/MessagingConfigurations`: the Messaging Service a
//! service's SMS to each country go out from (Twilio's Messages API takes it
//! as `MessagingServiceSid` in place of the configured sender).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Value, json};

use crate::config::{is_sid, now_ms};
use crate::db::{MessagingConfiguration, Service};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, list_page, respond};
use crate::http::error::{ApiError, ApiResult};
use crate::http::services::owned_service;
use crate::state::AppState;

/// A service's messaging configurations.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/Services/{sid}/MessagingConfigurations",
            post(create_configuration).get(list_configurations),
        )
        .route(
            "/v2/Services/{sid}/MessagingConfigurations/{country}",
            get(fetch_configuration)
                .post(update_configuration)
                .delete(delete_configuration),
        )
}

fn configuration_json(state: &AppState, c: &MessagingConfiguration) -> Value {
    json!({
        "account_sid": c.account_sid,
        "service_sid": c.service_sid,
        "country": c.country,
        "messaging_service_sid": c.messaging_service_sid,
        "date_created": date(c.created),
        "date_updated": date(c.updated),
        "url": format!(
            "{}/v2/Services/{}/MessagingConfigurations/{}",
            state.base, c.service_sid, c.country
        ),
    })
}

/// `Country`: an ISO 3166-1 alpha-2 code (any case, kept upper case) or
/// `all`.
fn country(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("all") {
        return Ok("all".to_owned());
    }
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(value.to_ascii_uppercase());
    }
    Err(ApiError::invalid(
        "Invalid parameter: Country (an ISO 3166-1 alpha-2 code, or all)",
    ))
}

/// Refuses `sender` (named by the request's `param`) unless `account` may
/// send from it: any sender without `accounts[].senders`, else one of them.
pub(crate) fn check_sender(
    state: &AppState,
    account: &str,
    sender: &str,
    param: &str,
) -> Result<(), ApiError> {
    let Some(allowed) = state.allowed_senders.get(account) else {
        return Ok(());
    };
    match crate::config::sender_identity(sender) {
        Some(identity) if allowed.contains(&identity) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid parameter: {param} (not one of this account's senders)"
        ))),
    }
}

/// `MessagingServiceSid`: `MG` and 32 hex digits.
fn messaging_service(form: &FormMap) -> Result<String, ApiError> {
    let sid = form.get("MessagingServiceSid").ok_or_else(|| {
        ApiError::invalid("Missing required parameter MessagingServiceSid in the post body")
    })?;
    if is_sid(sid, "MG") {
        Ok(sid.clone())
    } else {
        Err(ApiError::invalid(
            "Invalid parameter: MessagingServiceSid (MG and 32 hexadecimal digits)",
        ))
    }
}

async fn owned_configuration(
    state: &AppState,
    service: &Service,
    country_text: &str,
) -> Result<MessagingConfiguration, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "The requested resource /Services/{}/MessagingConfigurations/{} was not found",
            service.sid,
            country_text.chars().take(8).collect::<String>()
        ))
    };
    let c = country(country_text).map_err(|_| missing())?;
    state
        .db
        .messaging_configuration(&service.sid, &c)
        .await?
        .ok_or_else(missing)
}

pub(crate) async fn create_configuration(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let country = country(form.get("Country").ok_or_else(|| {
        ApiError::invalid("Missing required parameter Country in the post body")
    })?)?;
    let sender = messaging_service(&form)?;
    check_sender(&state, &account, &sender, "MessagingServiceSid")?;
    let now = now_ms();
    let c = MessagingConfiguration {
        service_sid: service.sid,
        account_sid: account,
        country,
        messaging_service_sid: sender,
        created: now,
        updated: now,
    };
    if !state.db.create_messaging_configuration(c.clone()).await? {
        return Err(ApiError::invalid(
            "Invalid parameter: Country (the service has a configuration for it: update that one)",
        ));
    }
    state.caches.drop_senders(&c.service_sid);
    Ok(respond(StatusCode::CREATED, configuration_json(&state, &c)))
}

pub(crate) async fn update_configuration(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, country_text)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let mut c = owned_configuration(&state, &service, &country_text).await?;
    c.messaging_service_sid = messaging_service(&form)?;
    check_sender(
        &state,
        &account,
        &c.messaging_service_sid,
        "MessagingServiceSid",
    )?;
    c.updated = now_ms();
    state.db.update_messaging_configuration(&c).await?;
    state.caches.drop_senders(&c.service_sid);
    Ok(respond(StatusCode::OK, configuration_json(&state, &c)))
}

pub(crate) async fn list_configurations(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let items = state
        .db
        .messaging_configurations(&service.sid)
        .await?
        .iter()
        .map(|c| (c.created, c.country.clone(), configuration_json(&state, c)))
        .collect();
    let url = format!(
        "{}/v2/Services/{}/MessagingConfigurations",
        state.base, service.sid
    );
    list_page(items, &query, &url, "messaging_configurations")
}

pub(crate) async fn fetch_configuration(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, country_text)): Path<(String, String)>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let c = owned_configuration(&state, &service, &country_text).await?;
    Ok(respond(StatusCode::OK, configuration_json(&state, &c)))
}

pub(crate) async fn delete_configuration(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, country_text)): Path<(String, String)>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let c = owned_configuration(&state, &service, &country_text).await?;
    state
        .db
        .delete_messaging_configuration(&service.sid, &c.country)
        .await?;
    state.caches.drop_senders(&service.sid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The Messaging Service an SMS from `service` to `contact` goes out from:
/// its country's configuration, else the service's `all` one, else none (the
/// channel's own sender). Read from the cache of senders (one query per
/// service per [`crate::cache::SERVICE_TTL`] at most).
pub(crate) async fn sender_for(
    state: &AppState,
    service: &Service,
    contact: &seccode::Contact,
) -> Result<Option<String>, ApiError> {
    let senders = match state.caches.senders(&service.sid) {
        Some(senders) => senders,
        None => {
            let read = state
                .db
                .messaging_configurations(&service.sid)
                .await?
                .into_iter()
                .map(|c| (c.country, c.messaging_service_sid))
                .collect();
            state.caches.put_senders(&service.sid, read)
        }
    };
    let country = contact.country().unwrap_or_default();
    let pick = |wanted: &str| {
        senders
            .iter()
            .find(|(c, _)| c == wanted)
            .map(|(_, mg)| mg.clone())
    };
    Ok(pick(&country).or_else(|| pick("all")))
}
