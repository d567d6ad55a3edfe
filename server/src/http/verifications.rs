//! `/v2/Services/{sid}/Verifications`: start (or send again), fetch, update.

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use seccode::{Contact, Error as CodesError, PhoneType, Policy, Purpose, SendLane, SendOptions};
use serde_json::{Value, json};

use crate::config::now_ms;
use crate::db::{Service, Verification, VerificationStatus};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, new_sid, respond, vet};
use crate::http::error::{ApiError, ApiResult};
use crate::http::rate_limits::count_rate_limits;
use crate::http::services::owned_service;
use crate::rules::{challenge_of, codes_account, refresh, under_destination_budget};
use crate::state::{AppState, Codes};
use crate::templates::{NOT_WRITTEN, WRITTEN};

/// `/v2/Services/{sid}/Verifications` and one verification.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/Services/{sid}/Verifications", post(start_verification))
        .route(
            "/v2/Services/{sid}/Verifications/{ve}",
            get(fetch_verification).post(update_verification),
        )
}

/// What a lookup tells of `to` (a service with `LookupEnabled`): the line
/// type from libphonenumber's metadata — `mobile`, `landline`, `voip`, or
/// null where the number does not say (North American numbers, for one) —
/// and null for what only a carrier lookup would know.
fn lookup_json(v: &Verification, enabled: bool) -> Value {
    let line = enabled
        .then(|| Contact::phone(&v.to).ok())
        .flatten()
        .map(|c| line_type(&c));
    match line {
        Some(kind) => json!({"carrier": {
            "type": kind,
            "error_code": null,
            "name": null,
            "mobile_country_code": null,
            "mobile_network_code": null,
        }}),
        None => json!({"carrier": null}),
    }
}

/// Twilio's line type of a phone number, where its number tells.
fn line_type(contact: &Contact) -> Option<&'static str> {
    match contact.phone_type()? {
        PhoneType::Mobile => Some("mobile"),
        PhoneType::FixedLine => Some("landline"),
        PhoneType::Voip => Some("voip"),
        _ => None,
    }
}

pub(crate) fn verification_json(
    state: &AppState,
    v: &Verification,
    valid: bool,
    lookup: bool,
) -> Value {
    json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to,
        "channel": v.channel,
        "status": v.status,
        "valid": valid,
        "lookup": lookup_json(v, lookup),
        "amount": v.payment.as_ref().map(|(amount, _)| amount),
        "payee": v.payment.as_ref().map(|(_, payee)| payee),
        "send_code_attempts": v.attempts.iter().map(|(at, channel, sid)| json!({
            "time": date(*at),
            "channel": channel,
            "attempt_sid": sid,
        })).collect::<Vec<_>>(),
        "date_created": date(v.created),
        "date_updated": date(v.updated),
        "sna": null,
        "url": format!("{}/v2/Services/{}/Verifications/{}", state.base, v.service_sid, v.sid),
    })
}

/// The policy a service's verifications are started under (its code length).
fn policy_of<'a>(state: &'a AppState, service: &Service) -> Result<&'a Policy, ApiError> {
    state
        .policies
        .get(&service.code_length)
        .ok_or_else(|| ApiError::internal("code length", service.code_length))
}

/// `Locale`: one the server writes (any case); another of Twilio's is
/// refused as not written yet, anything else as no locale of Twilio's — never
/// English in its place without a word.
///
/// With a template (`templated`), any of Twilio's Verify locales is taken:
/// the template's translation for it, or its fallback, is the message.
fn locale(form: &FormMap, templated: bool) -> Result<String, ApiError> {
    let Some(asked) = form.get("Locale") else {
        return Ok("en".to_owned());
    };
    if templated && let Some(tag) = crate::templates::twilio_locale(asked) {
        return Ok(tag.to_owned());
    }
    let find = |list: &'static [&'static str]| -> Option<&'static str> {
        list.iter()
            .copied()
            .find(|l| l.eq_ignore_ascii_case(asked.trim()))
    };
    if let Some(tag) = find(WRITTEN) {
        return Ok(tag.to_owned());
    }
    if let Some(tag) = find(NOT_WRITTEN) {
        return Err(ApiError::invalid(format!(
            "Invalid parameter: Locale ({tag} is not supported yet; written: {})",
            WRITTEN.join(", ")
        )));
    }
    Err(ApiError::invalid(format!(
        "Invalid parameter: Locale (one of Twilio's Verify locales; written: {})",
        WRITTEN.join(", ")
    )))
}

/// `Amount` and `Payee` of a start or a check: both or neither.
pub(crate) fn payment_of(form: &FormMap) -> Result<Option<seccode::Transaction<'_>>, ApiError> {
    match (form.get("Amount"), form.get("Payee")) {
        (None, None) => Ok(None),
        (Some(amount), Some(payee)) => seccode::Transaction::new(amount, payee)
            .map(Some)
            .map_err(|_| {
                ApiError::invalid(
                    "Invalid parameter: Amount or Payee (1 to 32 and 1 to 64 characters without line breaks)",
                )
            }),
        _ => Err(ApiError::invalid(
            "Invalid parameter: Amount and Payee go together",
        )),
    }
}

/// `CustomFriendlyName`: 1 to 30 characters without line breaks.
fn custom_friendly_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let length = name.chars().count();
    if !(1..=30).contains(&length) || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "Invalid parameter: CustomFriendlyName (1 to 30 characters without line breaks)",
        ));
    }
    Ok(name.to_owned())
}

/// A service's name as a message shows it: without control characters (a
/// name stored before they were refused).
fn message_name(name: &str) -> String {
    let shown: String = name.chars().filter(|c| !c.is_control()).collect();
    if shown.is_empty() {
        "Verify".to_owned()
    } else {
        shown
    }
}

/// The template a start's message is written from: its `TemplateSid`, else
/// for an SMS the service's `DefaultTemplateSid`, else none (seccode's own
/// texts). `TemplateCustomSubstitutions` without a template is refused, as
/// is a template for a channel it does not serve.
fn template_of<'a>(
    state: &'a AppState,
    service: &Service,
    form: &FormMap,
    channel: &str,
) -> Result<Option<&'a crate::templates::Template>, ApiError> {
    let named = match form.get("TemplateSid").map(|t| t.trim()) {
        None | Some("") => None,
        Some(sid) => Some(state.templates.get(sid).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid parameter: TemplateSid (no template {} here: see /v2/Templates)",
                crate::http::services::shown_sid(sid)
            ))
        })?),
    };
    let template = match (named, &service.default_template_sid) {
        (Some(t), _) => {
            if !t.serves(channel) {
                return Err(ApiError::invalid(format!(
                    "Invalid parameter: TemplateSid ({} serves {}, not {channel})",
                    t.sid,
                    t.channels.join(" and ")
                )));
            }
            Some(t)
        }
        (None, Some(default)) if channel == "sms" => {
            Some(state.templates.get(default).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid parameter: the service's DefaultTemplateSid {default} is no longer configured on this server: update the service"
                ))
            })?)
        }
        (None, _) => None,
    };
    if template.is_none() && form.contains_key("TemplateCustomSubstitutions") {
        return Err(ApiError::invalid(
            "Invalid parameter: TemplateCustomSubstitutions needs a template (TemplateSid, or the service's DefaultTemplateSid for an SMS)",
        ));
    }
    Ok(template)
}

/// The words of a templated message: `template`'s translation for
/// `locale`, with `name` and the request's `TemplateCustomSubstitutions`
/// filled in; an SMS (with its app hash) must fit one segment.
fn template_words(
    template: &crate::templates::Template,
    locale: &str,
    name: &str,
    form: &FormMap,
    channel: &str,
    service: &Service,
) -> Result<seccode::CodeText, ApiError> {
    let values = match form.get("TemplateCustomSubstitutions") {
        Some(text) => crate::templates::substitutions(text).map_err(|problem| {
            ApiError::invalid(format!(
                "Invalid parameter: TemplateCustomSubstitutions ({problem})"
            ))
        })?,
        None => std::collections::BTreeMap::new(),
    };
    let text = template
        .translation(locale)
        .code_text(name, &values)
        .map_err(|problem| {
            ApiError::invalid(format!(
                "Invalid parameter: TemplateCustomSubstitutions ({problem})"
            ))
        })?;
    if channel == "sms" {
        let mut sms = text.fill(&"0".repeat(usize::from(service.code_length)));
        if let Some(hash) = form.get("AppHash") {
            sms.push_str("\n\n");
            sms.push_str(hash.trim());
        }
        let segments = seccode::channel::sms_segments(&sms).segments;
        if segments > 1 {
            return Err(ApiError::invalid(format!(
                "Invalid parameter: TemplateSid (template {}'s SMS, filled in, would take {segments} segments: one at most)",
                template.sid
            )));
        }
    }
    Ok(text)
}

/// `SendDigits`, for a call only: 1 to 32 of `0`–`9`, `*`, `#` and `w` (a
/// half-second wait), as Twilio's `sendDigits` takes them.
fn send_digits<'a>(form: &'a FormMap, channel: &str) -> Result<Option<&'a str>, ApiError> {
    let Some(digits) = form
        .get("SendDigits")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
    else {
        return Ok(None);
    };
    if channel != "call" {
        return Err(ApiError::invalid(
            "Invalid parameter: SendDigits (for the call channel only)",
        ));
    }
    let ok = digits.len() <= 32
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'w' | b'W'));
    if !ok {
        return Err(ApiError::invalid(
            "Invalid parameter: SendDigits (1 to 32 of 0-9, *, # and w)",
        ));
    }
    Ok(Some(digits))
}

/// A verification that is no longer pending answers 404, saying why.
pub(crate) fn gone(v: &Verification) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource /Services/{}/Verifications/{} was not found: the verification was {}",
        v.service_sid,
        v.sid,
        match v.status {
            VerificationStatus::Approved => "approved",
            VerificationStatus::Canceled => "canceled",
            VerificationStatus::MaxAttemptsReached => "closed after too many checks",
            _ => "expired",
        }
    ))
}

pub(crate) async fn start_verification(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    vet(&form, "CreateVerification")?;
    if let Some(ip) = form.get("DeviceIp") {
        ip.trim().parse::<std::net::IpAddr>().map_err(|_| {
            ApiError::invalid("Invalid parameter: DeviceIp (an IPv4 or IPv6 address)")
        })?;
    }
    let tags = tags(&form)?;
    let channel = configured_channel(&state, &form)?;
    let (to_text, contact) = destination(&form, channel)?;
    if service.skip_sms_to_landlines && channel == "sms" && line_type(&contact) == Some("landline")
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            60205,
            "SMS is not supported by landline phone number",
        ));
    }
    let template = template_of(&state, &service, &form, channel)?;
    let locale = locale(&form, template.is_some())?;
    let codes = &state.codes;
    // Calls and WhatsApp messages go out through the twins that send them.
    let sender = match channel {
        "call" => &state.calls,
        "whatsapp" => &state.whatsapp,
        _ => codes,
    };
    count_rate_limits(&state, codes, &service, &form).await?;
    let now = now_ms();
    // Each API account has its own budget per destination (the tenant's lane),
    // so one tenant cannot silence a number for the others; every account
    // together has a larger one.
    let options = SendOptions::default()
        .locale(&locale)
        .lane(SendLane::Tenant(&account))
        .policy(policy_of(&state, &service)?);
    // The message names the service (or this verification's
    // CustomFriendlyName) and warns not to share the code if the service
    // asks, as Twilio's do.
    let app_name = match form.get("CustomFriendlyName") {
        Some(name) => custom_friendly_name(name)?,
        None => message_name(&service.friendly_name),
    };
    let options = options
        .app_name(&app_name)
        .do_not_share_warning(service.do_not_share_warning_enabled);
    // A template's words (its translation for the locale, the name and the
    // custom variables filled in) replace seccode's.
    let words = match template {
        Some(t) => Some(template_words(
            t, &locale, &app_name, &form, channel, &service,
        )?),
        None => None,
    };
    let options = match &words {
        Some(text) => options.code_text(text),
        None => options,
    };
    // A PSD2 service binds each code to its payment: the message names the
    // amount and payee, and only a check naming both approves it.
    let payment = payment_of(&form)?;
    let options = match (service.psd2_enabled, payment) {
        (true, Some(t)) => options.transaction(t),
        (true, None) => {
            return Err(ApiError::invalid(
                "Missing required parameter Amount and Payee: the service has Psd2Enabled",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::invalid(
                "Invalid parameter: Amount and Payee need a service with Psd2Enabled",
            ));
        }
        (false, None) => options,
    };
    // A safe-listed number skips the caps on spend (SMS pumping), and only
    // those.
    let safe = contact.kind() == seccode::ContactKind::Phone
        && state
            .db
            .safe_number(&account, contact.identity())
            .await?
            .is_some();
    let options = options
        .safe_listed(safe)
        .press_key_first(service.dtmf_input_required);
    let options = match &service.tts_name {
        Some(name) => options.call_voice(name),
        None => options,
    };
    // The digits a call presses once answered (an extension).
    let options = match send_digits(&form, channel)? {
        Some(digits) => options.send_digits(digits),
        None => options,
    };
    // The Android app's hash ends the SMS (SMS Retriever); other channels
    // have no use for it, as on Twilio.
    let options = match app_hash(&form)? {
        Some(hash) if channel == "sms" => options.android_app_hash(hash),
        _ => options,
    };
    // The sender: for an SMS, the service's Messaging Configuration for the
    // number's country (or its `all` one); for an email, the request's
    // `ChannelConfiguration` (`from`, `from_name`).
    let sms_sender = match channel {
        "sms" => crate::http::messaging::sender_for(&state, &service, &contact).await?,
        // The service's WhatsApp sender: its number, else its Messaging
        // Service; else the channel's own.
        "whatsapp" => service
            .whatsapp_from
            .clone()
            .or_else(|| service.whatsapp_msg_service_sid.clone()),
        _ => None,
    };
    let email = email_configuration(&state, &form, channel, &app_name)?;
    let options = match &email.words {
        Some(words) => options.email_text(words),
        None => options,
    };
    let options = match (&sms_sender, &email.sender) {
        (Some(mg), _) => options.sender(mg),
        (None, Some((from, Some(name)))) => options.sender(from).sender_name(name),
        (None, Some((from, None))) => options.sender(from),
        (None, None) => options,
    };
    // A pending verification to the same contact is sent again, same code.
    if let Some(mut v) = state.db.latest_to(&service.sid, contact.identity()).await? {
        refresh(codes, &mut v).await?;
        if v.status == VerificationStatus::Pending {
            let asked = payment.map(|t| (t.amount().to_owned(), t.payee().to_owned()));
            if v.payment != asked {
                return Err(ApiError::invalid(
                    "Invalid parameter: Amount and Payee (a pending verification to this number is for another payment: cancel it first)",
                ));
            }
            let id = challenge_of(&v.sid).ok_or_else(|| ApiError::internal("sid", &v.sid))?;
            under_destination_budget(
                codes,
                state.destination_cap,
                &contact,
                sender.resend(&id, options),
            )
            .await?;
            state.metrics.verification("resent");
            let attempt = new_sid("VL");
            v.attempts.push((now, channel.to_owned(), attempt.clone()));
            v.channel = channel.to_owned();
            v.updated = now;
            let sid = v.sid.clone();
            let answer = saved(&state, &service, v).await?;
            if let Some(tags) = &tags {
                state.db.save_attempt_tags(&sid, &attempt, tags).await?;
            }
            return Ok(answer);
        }
    }
    let account_id = codes_account(&service.sid, contact.identity())?;
    let start = sender.start(&account_id, Purpose::IdentityCheck, &contact, options);
    let sent = under_destination_budget(codes, state.destination_cap, &contact, start).await?;
    state.metrics.verification("started");
    let v = Verification {
        sid: format!("VE{}", sent.id),
        service_sid: service.sid.clone(),
        account_sid: account,
        to: to_text,
        identity: contact.identity().to_owned(),
        channel: channel.to_owned(),
        status: VerificationStatus::Pending,
        attempts: vec![(now, channel.to_owned(), new_sid("VL"))],
        payment: payment.map(|t| (t.amount().to_owned(), t.payee().to_owned())),
        created: now,
        updated: now,
    };
    let answer = saved(&state, &service, v.clone()).await?;
    if let (Some(tags), Some((_, _, attempt))) = (&tags, v.attempts.first()) {
        state.db.save_attempt_tags(&v.sid, attempt, tags).await?;
    }
    // A service subscribed to Verify events hears of it.
    crate::events::verification_event(&state, &service, &v).await;
    Ok(answer)
}

/// The request's `Channel`, when this server has it configured: 60200 when
/// missing or not one of Twilio's channels, 60223 when one of them this
/// server does not have (`sna`, `auto`, or one left unconfigured).
fn configured_channel<'a>(state: &AppState, form: &'a FormMap) -> Result<&'a str, ApiError> {
    let channel = form.get("Channel").map_or("", String::as_str);
    let configured = match channel {
        "sms" => state.channels.phone.inner.is_configured(),
        "call" => state.calls.channel().phone.inner.is_configured(),
        "email" => state.channels.email.inner.is_configured(),
        "" => {
            return Err(ApiError::invalid(
                "Missing required parameter Channel in the post body",
            ));
        }
        "whatsapp" => state.whatsapp.channel().phone.inner.is_configured(),
        "sna" | "auto" => false,
        _ => {
            return Err(ApiError::invalid(
                "Invalid parameter: Channel (sms, call, email, whatsapp, sna or auto)",
            ));
        }
    };
    if !configured {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            60223,
            format!(
                "Delivery channel disabled: {}",
                channel.chars().take(16).collect::<String>()
            ),
        ));
    }
    Ok(channel)
}

/// The request's `To` as answered (E.164 for a phone number) and as a contact
/// of `channel`'s kind.
fn destination(form: &FormMap, channel: &str) -> Result<(String, Contact), ApiError> {
    let to_text = form
        .get("To")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required parameter To in the post body"))?;
    let contact = match channel {
        "email" => Contact::email(&to_text),
        _ => Contact::phone(&to_text),
    }
    .map_err(|_| ApiError::invalid("Invalid parameter: To"))?;
    // A phone number is answered in E.164 as Twilio does, however it was
    // typed; an email address as given.
    let to = match channel {
        "email" => to_text,
        _ => contact.expose().to_owned(),
    };
    Ok((to, contact))
}

/// What an email verification's `ChannelConfiguration` asks for: its
/// sender (address and name) and its words (a configured email template's,
/// filled in).
#[derive(Debug, Default)]
struct EmailConfiguration {
    sender: Option<(String, Option<String>)>,
    words: Option<seccode::EmailText>,
}

/// The request's email `ChannelConfiguration` (a JSON object): `from` — an
/// address at a domain the server sends from (`email.from`'s, or one of
/// `email.sender_domains`) — and `from_name` (1 to 64 characters); and
/// `template_id` — one of the server's `[[email_templates]]` — with its
/// `substitutions` (a JSON object of strings, one per variable; `name` fills
/// `{{friendly_name}}`). Any other key, or the parameter on another channel,
/// is refused.
fn email_configuration(
    state: &AppState,
    form: &FormMap,
    channel: &str,
    name: &str,
) -> Result<EmailConfiguration, ApiError> {
    let Some(text) = form
        .get("ChannelConfiguration")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && *t != "{}")
    else {
        return Ok(EmailConfiguration::default());
    };
    let bad =
        |why: &str| ApiError::invalid(format!("Invalid parameter: ChannelConfiguration ({why})"));
    if channel != "email" {
        return Err(bad("it configures the email channel only"));
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(bad("a JSON object"));
    };
    let mut from = None;
    let mut from_name = None;
    let mut template = None;
    let mut substitutions = None;
    for (key, value) in &map {
        let empty = value.is_null()
            || value.as_str() == Some("")
            || value.as_object().is_some_and(serde_json::Map::is_empty);
        match key.as_str() {
            "from" => from = value.as_str().filter(|v| !v.is_empty()),
            "from_name" => from_name = value.as_str().filter(|v| !v.is_empty()),
            _ if empty => {}
            "template_id" => {
                let id = value.as_str().ok_or_else(|| bad("template_id: a string"))?;
                template = Some(state.templates.email(id).ok_or_else(|| {
                    bad("template_id: no email template by that id here (the server's [[email_templates]])")
                })?);
            }
            "substitutions" => substitutions = Some(value),
            _ => return Err(bad("from, from_name, template_id or substitutions")),
        }
    }
    let words = match (template, substitutions) {
        (Some(t), subs) => {
            let values = match subs {
                Some(v) => crate::templates::substitutions(&v.to_string())
                    .map_err(|p| bad(&format!("substitutions: {p}")))?,
                None => std::collections::BTreeMap::new(),
            };
            Some(
                t.email_text(name, &values)
                    .map_err(|p| bad(&format!("substitutions: {p}")))?,
            )
        }
        (None, Some(_)) => return Err(bad("substitutions need a template_id")),
        (None, None) => None,
    };
    let Some(from) = from else {
        return match from_name {
            Some(_) => Err(bad("from_name needs from")),
            None => Ok(EmailConfiguration {
                sender: None,
                words,
            }),
        };
    };
    let address = Contact::email(from).map_err(|_| bad("from: an email address"))?;
    let domain = address
        .expose()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !state.email_sender_domains.contains(&domain) {
        return Err(bad("from: not a domain this server sends email from"));
    }
    if let Some(n) = from_name
        && (n.chars().count() > 64 || n.chars().any(char::is_control))
    {
        return Err(bad("from_name: 1 to 64 characters, no control characters"));
    }
    Ok(EmailConfiguration {
        sender: Some((from.to_owned(), from_name.map(str::to_owned))),
        words,
    })
}

/// The request's `Tags`: a JSON object of at most 10 string values, keys
/// and values of 1 to 128 characters (60200 naming it otherwise); kept with
/// the send attempt and carried by its Verify Events, as on Twilio.
fn tags(form: &FormMap) -> Result<Option<String>, ApiError> {
    let Some(text) = form.get("Tags").map(|t| t.trim()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let fits = |s: &str| (1..=128).contains(&s.chars().count());
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map))
            if map.len() <= 10
                && map
                    .iter()
                    .all(|(k, v)| fits(k) && v.as_str().is_some_and(fits)) =>
        {
            Ok(Some(serde_json::Value::Object(map).to_string()))
        }
        _ => Err(ApiError::invalid(
            "Invalid parameter: Tags (a JSON object of at most 10 strings, keys and values of 1 to 128 characters)",
        )),
    }
}

/// The request's `AppHash`: 11 characters of the base64 alphabet (60200
/// naming it otherwise).
fn app_hash(form: &FormMap) -> Result<Option<&str>, ApiError> {
    let Some(hash) = form
        .get("AppHash")
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
    else {
        return Ok(None);
    };
    let ok = hash.len() == 11
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(Some(hash))
    } else {
        Err(ApiError::invalid(
            "Invalid parameter: AppHash (the Android app's 11-character hash)",
        ))
    }
}

/// Stores a started or resent verification and answers 201 with it.
async fn saved(state: &AppState, service: &Service, v: Verification) -> ApiResult {
    state.db.save_verification(v.clone()).await?;
    state.caches.put_card(&v);
    Ok(respond(
        StatusCode::CREATED,
        verification_json(state, &v, false, service.lookup_enabled),
    ))
}

/// A verification as stored (its status as of its last change).
pub(crate) async fn stored_verification(
    state: &AppState,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    if challenge_of(ve).is_none() {
        return Err(missing_verification(service, ve));
    }
    state
        .db
        .verification(&service.sid, ve)
        .await?
        .ok_or_else(|| missing_verification(service, ve))
}

pub(crate) fn missing_verification(service: &Service, ve: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource /Services/{}/Verifications/{ve} was not found",
        service.sid
    ))
}

/// A verification with its status brought up to date (expired, locked).
pub(crate) async fn current_verification(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    let mut v = stored_verification(state, service, ve).await?;
    refresh(codes, &mut v).await?;
    Ok(v)
}

pub(crate) async fn pending_verification(
    state: &AppState,
    codes: &Codes,
    service: &Service,
    ve: &str,
) -> Result<Verification, ApiError> {
    let v = current_verification(state, codes, service, ve).await?;
    if v.status != VerificationStatus::Pending {
        return Err(gone(&v));
    }
    Ok(v)
}

pub(crate) async fn fetch_verification(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, ve)): Path<(String, String)>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    let codes = &state.codes;
    let v = pending_verification(&state, codes, &service, &ve).await?;
    Ok(respond(
        StatusCode::OK,
        verification_json(&state, &v, false, service.lookup_enabled),
    ))
}

pub(crate) async fn update_verification(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path((sid, ve)): Path<(String, String)>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = owned_service(&state, &account, &sid).await?;
    vet(&form, "UpdateVerification")?;
    let codes = &state.codes;
    let target = match form.get("Status").map(String::as_str) {
        Some("canceled") => VerificationStatus::Canceled,
        Some("approved") => VerificationStatus::Approved,
        _ => {
            return Err(ApiError::invalid(
                "Invalid parameter: Status (canceled or approved)",
            ));
        }
    };
    let mut v = pending_verification(&state, codes, &service, &ve).await?;
    let id = challenge_of(&v.sid).ok_or_else(|| ApiError::internal("sid", &v.sid))?;
    // Either way the code stops working; the record says which.
    match codes.cancel(&id).await {
        Ok(()) | Err(CodesError::ChallengeNotPending(_)) => {}
        Err(e) => return Err(ApiError::internal("cancel", e)),
    }
    v.status = target;
    v.updated = now_ms();
    let closed = state
        .db
        .close_pending(&v.service_sid, &v.sid, v.status, v.updated)
        .await?;
    state.db.save_verification(v.clone()).await?;
    state.caches.put_card(&v);
    if closed {
        crate::events::verification_event(&state, &service, &v).await;
    }
    let valid = v.status == VerificationStatus::Approved;
    Ok(respond(
        StatusCode::OK,
        verification_json(&state, &v, valid, service.lookup_enabled),
    ))
}
