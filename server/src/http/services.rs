//! `/v2/Services`: create, fetch, update, delete, list.

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::config::{is_sid, now_ms};
use crate::db::Service;
use crate::http::auth::Caller;
use crate::http::body::{
    FormMap, boolean, code_length, date, friendly_name, new_sid, page_body, paging, respond, vet,
};
use crate::http::error::{ApiError, ApiResult};
use crate::http::messaging::check_sender;
use crate::state::AppState;

/// `/v2/Services` and `/v2/Services/{sid}`.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/Services", post(create_service).get(list_services))
        .route(
            "/v2/Services/{sid}",
            get(fetch_service)
                .post(update_service)
                .delete(delete_service),
        )
}

pub(crate) fn service_json(state: &AppState, s: &Service) -> Value {
    let url = format!("{}/v2/Services/{}", state.base, s.sid);
    json!({
        "sid": s.sid,
        "account_sid": s.account_sid,
        "friendly_name": s.friendly_name,
        "code_length": s.code_length,
        "lookup_enabled": s.lookup_enabled,
        "psd2_enabled": s.psd2_enabled,
        "skip_sms_to_landlines": s.skip_sms_to_landlines,
        "dtmf_input_required": s.dtmf_input_required,
        "tts_name": s.tts_name,
        "do_not_share_warning_enabled": s.do_not_share_warning_enabled,
        "custom_code_enabled": false,
        "push": {"include_date": false, "apn_credential_sid": null, "fcm_credential_sid": null},
        "totp": {"issuer": null, "time_step": null, "code_length": null, "skew": null},
        "default_template_sid": s.default_template_sid,
        "whatsapp": {"msg_service_sid": s.whatsapp_msg_service_sid, "from": s.whatsapp_from},
        "passkeys": null,
        "verify_event_subscription_enabled": s.verify_events,
        "date_created": date(s.created),
        "date_updated": date(s.updated),
        "url": url,
        "links": {
            "verification_checks": format!("{url}/VerificationCheck"),
            "verifications": format!("{url}/Verifications"),
            "rate_limits": format!("{url}/RateLimits"),
            "messaging_configurations": format!("{url}/MessagingConfigurations"),
            "entities": format!("{url}/Entities"),
            "webhooks": format!("{url}/Webhooks"),
            "access_tokens": format!("{url}/AccessTokens"),
        },
    })
}

pub(crate) async fn create_service(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "CreateService")?;
    let name = friendly_name(form.get("FriendlyName").map_or("", String::as_str))?;
    let now = now_ms();
    let whatsapp_msg_service_sid = whatsapp_service(&state, &account, &form)?.flatten();
    let whatsapp_from = whatsapp_from(&state, &account, &form)?.flatten();
    let service = Service {
        sid: new_sid("VA"),
        account_sid: account,
        friendly_name: name,
        code_length: code_length(&form)?.unwrap_or(6),
        do_not_share_warning_enabled: boolean(&form, "DoNotShareWarningEnabled")?.unwrap_or(false),
        lookup_enabled: boolean(&form, "LookupEnabled")?.unwrap_or(false),
        skip_sms_to_landlines: boolean(&form, "SkipSmsToLandlines")?.unwrap_or(false),
        psd2_enabled: boolean(&form, "Psd2Enabled")?.unwrap_or(false),
        dtmf_input_required: boolean(&form, "DtmfInputRequired")?.unwrap_or(false),
        verify_events: boolean(&form, "VerifyEventSubscriptionEnabled")?.unwrap_or(false),
        tts_name: tts_name(&form)?.flatten(),
        default_template_sid: default_template(&state, &form)?.flatten(),
        whatsapp_msg_service_sid,
        whatsapp_from,
        created: now,
        updated: now,
    };
    landlines_need_lookup(&service)?;
    state.db.insert_service(service.clone()).await?;
    Ok(respond(StatusCode::CREATED, service_json(&state, &service)))
}

/// `TtsName`: absent (`None`), empty (`Some(None)`: the gateway's own
/// voice), or a voice name (1 to 64 letters, digits, `.`, `-`, `_`, `:`).
fn tts_name(form: &FormMap) -> Result<Option<Option<String>>, ApiError> {
    match form.get("TtsName").map(|n| n.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(name)
            if name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')
                }) =>
        {
            Ok(Some(Some(name.to_owned())))
        }
        Some(_) => Err(ApiError::invalid(
            "Invalid parameter: TtsName (a voice name: 1 to 64 letters, digits, '.', '-', '_' or ':')",
        )),
    }
}

/// `DefaultTemplateSid`: absent (`None`), empty (`Some(None)`: seccode's
/// own texts), or one of the server's templates that serves SMS.
fn default_template(state: &AppState, form: &FormMap) -> Result<Option<Option<String>>, ApiError> {
    match form.get("DefaultTemplateSid").map(|t| t.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(sid) => match state.templates.get(sid) {
            Some(t) if t.serves("sms") => Ok(Some(Some(t.sid.clone()))),
            Some(_) => Err(ApiError::invalid(format!(
                "Invalid parameter: DefaultTemplateSid ({sid} is not an SMS template; a service's default is for SMS)"
            ))),
            None => Err(ApiError::invalid(format!(
                "Invalid parameter: DefaultTemplateSid (no template {} here: see /v2/Templates)",
                shown_sid(sid)
            ))),
        },
    }
}

/// `Whatsapp.MsgServiceSid`: absent (`None`), empty (`Some(None)`), or a
/// Messaging Service SID.
fn whatsapp_service(
    state: &AppState,
    account: &str,
    form: &FormMap,
) -> Result<Option<Option<String>>, ApiError> {
    match form.get("Whatsapp.MsgServiceSid").map(|t| t.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(sid) if crate::config::is_sid(sid, "MG") => {
            check_sender(state, account, sid, "Whatsapp.MsgServiceSid")?;
            Ok(Some(Some(sid.to_owned())))
        }
        Some(_) => Err(ApiError::invalid(
            "Invalid parameter: Whatsapp.MsgServiceSid (MG and 32 hex digits)",
        )),
    }
}

/// `Whatsapp.From`: absent (`None`), empty (`Some(None)`), or a number
/// (with or without Twilio's `whatsapp:` prefix), kept in E.164.
fn whatsapp_from(
    state: &AppState,
    account: &str,
    form: &FormMap,
) -> Result<Option<Option<String>>, ApiError> {
    match form.get("Whatsapp.From").map(|t| t.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(number) => {
            let number = number.strip_prefix("whatsapp:").unwrap_or(number);
            match seccode::Contact::phone(number) {
                Ok(phone) => {
                    check_sender(state, account, phone.expose(), "Whatsapp.From")?;
                    Ok(Some(Some(phone.expose().to_owned())))
                }
                Err(_) => Err(ApiError::invalid(
                    "Invalid parameter: Whatsapp.From (a phone number in E.164, `whatsapp:` optional)",
                )),
            }
        }
    }
}

/// A SID from a request, as an error may show it: the SID if it is shaped
/// like one, else a description (an error body never echoes arbitrary text).
pub(crate) fn shown_sid(sid: &str) -> &str {
    if sid.len() == 34 && sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        sid
    } else {
        "by that SID"
    }
}

/// `SkipSmsToLandlines` needs the line type, which `LookupEnabled` gives
/// (Twilio documents the same requirement).
fn landlines_need_lookup(service: &Service) -> Result<(), ApiError> {
    if service.skip_sms_to_landlines && !service.lookup_enabled {
        return Err(ApiError::invalid(
            "Invalid parameter: SkipSmsToLandlines requires LookupEnabled",
        ));
    }
    Ok(())
}

/// The service `sid` of `account`, from the database.
pub(crate) async fn owned_service(
    state: &AppState,
    account: &str,
    sid: &str,
) -> Result<Service, ApiError> {
    let service = read_service(state, account, sid).await?;
    state.caches.put_service(service.clone());
    Ok(service)
}

/// The service `sid` of `account` for a check: from the cache if read within
/// [`SERVICE_TTL`], else from the database. Only checks take it from the
/// cache: every other route reads the database, so a service deleted through
/// another server is refused at once by everything that writes.
pub(crate) async fn cached_service(
    state: &AppState,
    account: &str,
    sid: &str,
) -> Result<Service, ApiError> {
    match state.caches.service(sid) {
        Some(s) if s.account_sid == account => Ok(Service::clone(&s)),
        _ => owned_service(state, account, sid).await,
    }
}

pub(crate) async fn read_service(
    state: &AppState,
    account: &str,
    sid: &str,
) -> Result<Service, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "The requested resource /Services/{sid} was not found"
        ))
    };
    if !is_sid(sid, "VA") {
        return Err(missing());
    }
    state.db.service(account, sid).await?.ok_or_else(missing)
}

pub(crate) async fn fetch_service(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    Ok(respond(StatusCode::OK, service_json(&state, &service)))
}

pub(crate) async fn update_service(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let mut service = owned_service(&state, &account, &sid).await?;
    vet(&form, "UpdateService")?;
    if let Some(name) = form.get("FriendlyName") {
        service.friendly_name = friendly_name(name)?;
    }
    if let Some(length) = code_length(&form)? {
        service.code_length = length;
    }
    if let Some(warn) = boolean(&form, "DoNotShareWarningEnabled")? {
        service.do_not_share_warning_enabled = warn;
    }
    if let Some(lookup) = boolean(&form, "LookupEnabled")? {
        service.lookup_enabled = lookup;
    }
    if let Some(skip) = boolean(&form, "SkipSmsToLandlines")? {
        service.skip_sms_to_landlines = skip;
    }
    if let Some(psd2) = boolean(&form, "Psd2Enabled")? {
        service.psd2_enabled = psd2;
    }
    if let Some(dtmf) = boolean(&form, "DtmfInputRequired")? {
        service.dtmf_input_required = dtmf;
    }
    if let Some(name) = tts_name(&form)? {
        service.tts_name = name;
    }
    if let Some(events) = boolean(&form, "VerifyEventSubscriptionEnabled")? {
        service.verify_events = events;
    }
    if let Some(template) = default_template(&state, &form)? {
        service.default_template_sid = template;
    }
    if let Some(mg) = whatsapp_service(&state, &account, &form)? {
        service.whatsapp_msg_service_sid = mg;
    }
    if let Some(from) = whatsapp_from(&state, &account, &form)? {
        service.whatsapp_from = from;
    }
    landlines_need_lookup(&service)?;
    service.updated = now_ms();
    state.db.update_service(service.clone()).await?;
    state.caches.put_service(service.clone());
    Ok(respond(StatusCode::OK, service_json(&state, &service)))
}

pub(crate) async fn delete_service(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
) -> ApiResult {
    owned_service(&state, &account, &sid).await?;
    state.db.delete_service(&account, &sid).await?;
    state.caches.drop_service(&sid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn list_services(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let paging = paging(&query)?;
    let (services, more) = state
        .db
        .services(
            &account,
            u32::try_from(paging.page).unwrap_or(u32::MAX),
            u32::try_from(paging.size).unwrap_or(1000),
            paging.after.clone(),
        )
        .await?;
    let items = services.iter().map(|s| service_json(&state, s)).collect();
    let url = format!("{}/v2/Services", state.base);
    let last = services
        .last()
        .filter(|_| more)
        .map(|s| (s.created, s.sid.as_str()));
    Ok(page_body(items, &paging, last, &url, "services"))
}
