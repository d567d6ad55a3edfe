//! Verify's webhooks: the events a service's factors and challenges send
//! (Twilio's `factor.created`, `factor.verified`, `factor.deleted`,
//! `challenge.approved`, form-encoded), and — when the service has
//! `VerifyEventSubscriptionEnabled` — its verifications' status changes
//! (Verify Events: `com.twilio.accountsecurity.verify.verification.*`,
//! CloudEvents JSON).
//!
//! An event is written to the outbox table for each subscribed webhook in the
//! request that caused it, and delivered by [`deliver`], a task of every
//! server: each delivery is claimed by one server (a conditional update),
//! POSTed signed as Twilio signs webhooks — `X-Twilio-Signature`, the
//! base64 HMAC-SHA1, keyed with the account's auth token, of the URL and
//! (for a form) every parameter's name and value in name order; a JSON body
//! is bound by the `bodySHA256` query parameter the URL carries — with
//! `I-Twilio-Idempotency-Token` naming it, and retried with doubling waits
//! until the receiver answers 2xx or the attempts run out. Twilio's SDK
//! validators (`RequestValidator.validate`, `validateRequest`,
//! `validateRequestWithBody`) accept them.
//!
//! No event carries a code, a secret or a contact: a verification's is
//! named by its sid (fetch it for its `to`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{hex, now_ms};
use crate::db::{Delivery, Factor, FactorChallenge, Service, Verification, VerificationStatus};
use crate::http::body::date;
use crate::state::AppState;

/// The event types a webhook may subscribe to: Twilio's factor and challenge
/// events (all of them: `*`), then the Verify Events of verifications.
pub(crate) const FACTOR_EVENTS: &[&str] = &[
    "factor.created",
    "factor.verified",
    "factor.deleted",
    "challenge.approved",
    "challenge.denied",
];

/// The prefix of the Verify Events of verifications.
pub(crate) const VERIFICATION_EVENT: &str = "com.twilio.accountsecurity.verify.verification.";

/// The verification statuses Verify Events report, by their names in the
/// event types.
pub(crate) const VERIFICATION_EVENTS: &[&str] = &[
    "pending",
    "approved",
    "canceled",
    "expired",
    "max-attempts-reached",
];

/// Whether `event_type` is one a webhook may subscribe to.
pub(crate) fn is_event_type(event_type: &str) -> bool {
    event_type == "*"
        || FACTOR_EVENTS.contains(&event_type)
        || event_type
            .strip_prefix(VERIFICATION_EVENT)
            .is_some_and(|s| VERIFICATION_EVENTS.contains(&s))
}

/// Whether a webhook subscribed to `types` gets `event_type` (`*` stands for
/// Twilio's factor and challenge events, not for Verify Events, which are
/// subscribed to by name).
fn subscribed(types: &[String], event_type: &str) -> bool {
    types.iter().any(|t| t == event_type)
        || (FACTOR_EVENTS.contains(&event_type) && types.iter().any(|t| t == "*"))
}

/// An event's body.
enum Body {
    /// Form parameters (factor and challenge events).
    Form(Vec<(&'static str, String)>),
    /// A JSON document (Verify Events).
    Json(Value),
}

fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Writes `event_type` to the outbox for each enabled webhook of `service`
/// subscribed to it, and wakes this server's delivery task. An outbox that
/// cannot be written is logged (the service's webhooks miss the event; the
/// request that caused it has already taken effect and is answered as such).
async fn emit(state: &AppState, service_sid: &str, event_type: &str, body: impl FnOnce() -> Body) {
    let webhooks = match state.db.webhooks(service_sid).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(event = event_type, error = %e, "webhooks: cannot read the service's webhooks");
            return;
        }
    };
    let targets: Vec<_> = webhooks
        .into_iter()
        .filter(|w| w.enabled && subscribed(&w.event_types, event_type))
        .collect();
    if targets.is_empty() {
        return;
    }
    let (content_type, text) = match body() {
        Body::Form(params) => (
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(&params).unwrap_or_default(),
        ),
        Body::Json(value) => ("application/json", value.to_string()),
    };
    let now = now_ms();
    let deliveries = targets
        .into_iter()
        .map(|w| {
            let url = if content_type == "application/json" {
                let sep = if w.url.contains('?') { '&' } else { '?' };
                format!(
                    "{}{sep}bodySHA256={}",
                    w.url,
                    hex(&Sha256::digest(text.as_bytes()))
                )
            } else {
                w.url.clone()
            };
            Delivery {
                id: format!("{}-{}", w.sid, uuid()),
                webhook_sid: w.sid,
                account_sid: w.account_sid,
                url,
                content_type: content_type.to_owned(),
                body: text.clone(),
                attempts: 0,
                created: now,
            }
        })
        .collect();
    match state.db.enqueue(deliveries, now).await {
        Ok(()) => state.outbox.notify_one(),
        Err(e) => {
            tracing::warn!(event = event_type, error = %e, "webhooks: cannot write the outbox");
        }
    }
}

/// `X-Twilio-Signature` of a request to `url` with `body`: the base64
/// HMAC-SHA1, keyed with the auth token, of the URL followed — for a form
/// body — by each parameter's name and value, sorted by name (then value).
/// A JSON body is not part of it: the URL's `bodySHA256` binds it.
pub(crate) fn signature(auth_token: &str, url: &str, content_type: &str, body: &str) -> String {
    let mut signed = url.to_owned();
    if content_type == "application/x-www-form-urlencoded" {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
        pairs.sort();
        for (k, v) in pairs {
            signed.push_str(&k);
            signed.push_str(&v);
        }
    }
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A factor event: `factor.created`, `factor.verified` or `factor.deleted`.
pub(crate) async fn factor_event(state: &AppState, event_type: &'static str, f: &Factor) {
    let status = if f.verified { "verified" } else { "unverified" };
    emit(state, &f.service_sid, event_type, || {
        Body::Form(vec![
            ("uuid", uuid()),
            ("type", event_type.to_owned()),
            ("account_sid", f.account_sid.clone()),
            ("service_sid", f.service_sid.clone()),
            ("entity_identity", f.identity.clone()),
            ("factor_sid", f.sid.clone()),
            ("factor_type", "totp".to_owned()),
            ("factor_friendly_name", f.friendly_name.clone()),
            ("status", status.to_owned()),
        ])
    })
    .await;
}

/// `challenge.approved` for challenge `c` of factor `f`.
pub(crate) async fn challenge_approved(state: &AppState, f: &Factor, c: &FactorChallenge) {
    emit(state, &c.service_sid, "challenge.approved", || {
        let mut params = vec![
            ("uuid", uuid()),
            ("type", "challenge.approved".to_owned()),
            ("account_sid", c.account_sid.clone()),
            ("service_sid", c.service_sid.clone()),
            ("entity_identity", c.identity.clone()),
            ("factor_sid", f.sid.clone()),
            ("factor_type", "totp".to_owned()),
            ("factor_friendly_name", f.friendly_name.clone()),
            ("challenge_sid", c.sid.clone()),
            ("status", "approved".to_owned()),
        ];
        if let Some(hidden) = &c.hidden_details {
            params.push(("challenge_hidden_details", hidden.clone()));
        }
        Body::Form(params)
    })
    .await;
}

/// A verification's status change as a Verify Event, for a service with
/// `VerifyEventSubscriptionEnabled` (nothing otherwise).
pub(crate) async fn verification_event(state: &AppState, service: &Service, v: &Verification) {
    if !service.verify_events {
        return;
    }
    let name = match v.status {
        VerificationStatus::Pending => "pending",
        VerificationStatus::Approved => "approved",
        VerificationStatus::Canceled => "canceled",
        VerificationStatus::Expired => "expired",
        VerificationStatus::MaxAttemptsReached => "max-attempts-reached",
    };
    let event_type = format!("{VERIFICATION_EVENT}{name}");
    // A cached verification keeps no attempts: the stored one has them.
    let stored;
    let attempts_of = if v.attempts.is_empty() {
        stored = state
            .db
            .verification(&service.sid, &v.sid)
            .await
            .ok()
            .flatten();
        stored.as_ref().map_or(&v.attempts, |s| &s.attempts)
    } else {
        &v.attempts
    };
    // Each attempt carries the `Tags` it was started with.
    let tags = match state.db.attempt_tags(&v.sid).await {
        Ok(tags) => tags,
        Err(e) => {
            tracing::warn!(error = %e, "webhooks: cannot read a verification's tags");
            std::collections::HashMap::new()
        }
    };
    emit(state, &service.sid, &event_type, || {
        let attempts: Vec<Value> = attempts_of
            .iter()
            .map(|(at, channel, sid)| {
                let mut attempt = json!({
                    "time": date(*at),
                    "channel": channel.to_uppercase(),
                    "attempt_sid": sid,
                });
                if let Some(t) = tags.get(sid).and_then(|t| serde_json::from_str::<Value>(t).ok()) {
                    attempt["tags"] = t;
                }
                attempt
            })
            .collect();
        let country = seccode::Contact::phone(&v.to)
            .ok()
            .and_then(|c| c.country());
        let mut data = json!({
            "account_sid": v.account_sid,
            "service_sid": v.service_sid,
            "verification_sid": v.sid,
            "friendly_name": service.friendly_name,
            "custom_code_enabled": false,
            "created_at": date(v.created),
            "verification_status": v.status.as_str().to_uppercase(),
            "channel": v.channel.to_uppercase(),
            "country": country,
            "code_length": service.code_length,
            "send_code_attempts": {"count": attempts.len(), "attempts": attempts},
        });
        match v.status {
            VerificationStatus::Approved => data["verified_at"] = json!(date(v.updated)),
            VerificationStatus::Expired => data["expired_at"] = json!(date(v.updated)),
            _ => {}
        }
        Body::Json(json!([{
            "specversion": "1.0",
            "type": event_type,
            "source": format!("/v2/Services/{}/Verifications/{}", v.service_sid, v.sid),
            "id": uuid(),
            "dataschema": "https://events-schemas.twilio.com/AccountSecurity.VerifyEventStreamEvent/3",
            "datacontenttype": "application/json",
            "time": date(v.updated),
            "data": data,
        }]))
    })
    .await;
}

/// How long a verification's code lives (the server's policies: ten
/// minutes), and the margin after which one still recorded as pending is
/// reported expired.
const EXPIRED_AFTER_MS: i64 = 600_000 + 2_000;

/// Reports the verifications of subscribed services that expired while
/// pending (each once: the one server whose conditional update closes it).
async fn sweep_expired(state: &AppState) {
    let before = now_ms() - EXPIRED_AFTER_MS;
    let stale = match state
        .db
        .stale_pending(before, crate::db::VERIFY_EVENTS, 100)
        .await
    {
        Ok(stale) => stale,
        Err(e) => {
            tracing::warn!(error = %e, "webhooks: cannot look for expired verifications");
            return;
        }
    };
    for mut v in stale {
        let now = now_ms();
        match state
            .db
            .close_pending(&v.service_sid, &v.sid, VerificationStatus::Expired, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot close an expired verification");
                return;
            }
        }
        state.caches.drop_card(&v.sid);
        v.status = VerificationStatus::Expired;
        v.updated = now;
        if let Ok(Some(service)) = state.db.service(&v.account_sid, &v.service_sid).await {
            verification_event(state, &service, &v).await;
        }
    }
}

/// Whether `ip` is this machine's or a private network's: loopback, RFC
/// 1918, link-local, CGNAT (100.64/10), unspecified, broadcast, IPv6
/// unique-local and link-local, and IPv4-mapped forms of those.
pub(crate) fn is_private_address(ip: IpAddr) -> bool {
    let v4 = |ip: Ipv4Addr| {
        ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.octets()[0] == 100 && (64..128).contains(&ip.octets()[1])
    };
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(v4)
        }
    }
}

/// The resolver webhook deliveries use when private addresses are not
/// allowed: a name's addresses on this machine or a private network are
/// dropped, and a name with no other fails the delivery — so a host name
/// that resolves (or is re-pointed) inside the network is not reached. The
/// connection goes to the addresses checked here: nothing resolves the
/// name again between the check and the connection.
#[derive(Debug)]
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private_address(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(
                    format!("{host} resolves to this machine or a private network only").into(),
                );
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Delivers the outbox until `shutdown`: due deliveries are claimed and
/// POSTed (woken at once by this server's events, and every second for those
/// of other servers and retries); every few seconds the verifications that
/// expired unreported are reported.
pub(crate) async fn deliver(
    state: Arc<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let settings = state.webhook_settings.clone();
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(settings.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("seccode-server");
    let builder = if settings.allow_private_addresses {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; events are not delivered");
            return;
        }
    };
    let lease = i64::try_from(settings.timeout_ms).unwrap_or(60_000) + 5_000;
    let mut last_sweep = 0;
    loop {
        let now = now_ms();
        if now - last_sweep >= 5_000 {
            last_sweep = now;
            sweep_expired(&state).await;
        }
        let claimed = match state.db.claim_due(now, lease, 16).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the outbox");
                Vec::new()
            }
        };
        let busy = !claimed.is_empty();
        let mut sends = tokio::task::JoinSet::new();
        for d in claimed {
            sends.spawn(attempt(state.clone(), client.clone(), d));
        }
        while sends.join_next().await.is_some() {}
        if busy {
            continue;
        }
        tokio::select! {
            () = state.outbox.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One attempt at `d`: delivered (2xx) → out of the outbox; else retried
/// after the doubling wait, or given up after the last attempt.
async fn attempt(state: Arc<AppState>, client: reqwest::Client, d: Delivery) {
    let settings = &state.webhook_settings;
    let Some(token) = state.signing_tokens.get(&d.account_sid) else {
        tracing::warn!(webhook = %d.webhook_sid, "webhooks: the account's auth token is no longer configured; delivery given up");
        let _ = state.db.delivered(&d.id).await;
        return;
    };
    // An address literal is not resolved: checked here (a webhook made
    // before `allow_private_addresses` was turned off).
    let literal = reqwest::Url::parse(&d.url).ok().and_then(|u| {
        let host = u.host_str()?.trim_start_matches('[').trim_end_matches(']');
        host.parse::<IpAddr>().ok()
    });
    if !settings.allow_private_addresses && literal.is_some_and(is_private_address) {
        tracing::warn!(webhook = %d.webhook_sid, "webhooks: the URL is on this machine or a private network; delivery given up");
        let _ = state.db.delivered(&d.id).await;
        return;
    }
    let signature = signature(token.expose(), &d.url, &d.content_type, &d.body);
    let sent = client
        .post(&d.url)
        .header("Content-Type", &d.content_type)
        .header("X-Twilio-Signature", signature)
        .header("I-Twilio-Idempotency-Token", &d.id)
        .body(d.body.clone())
        .send()
        .await;
    let status = match &sent {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".to_owned(),
        Err(_) => "unreachable".to_owned(),
    };
    let result = if sent.as_ref().is_ok_and(|r| r.status().is_success()) {
        let _ = state.db.delivered(&d.id).await;
        "delivered"
    } else if d.attempts >= settings.max_attempts {
        tracing::warn!(webhook = %d.webhook_sid, status = %status, attempts = d.attempts, "webhooks: delivery given up");
        let _ = state.db.delivered(&d.id).await;
        "given_up"
    } else {
        let wait = settings
            .first_retry_ms
            .saturating_mul(1 << d.attempts.saturating_sub(1).min(20));
        let due = now_ms() + i64::try_from(wait).unwrap_or(i64::MAX / 2);
        tracing::info!(webhook = %d.webhook_sid, status = %status, attempt = d.attempts, "webhooks: delivery failed; retrying");
        let _ = state.db.retry_at(&d.id, due).await;
        "retried"
    };
    state
        .metrics
        .deliveries
        .with_label_values(&["webhook", result])
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    /// A host name is checked where it is resolved: `localhost` (which
    /// every machine resolves to loopback) is not delivered to, and a
    /// public address literal is passed through.
    #[test]
    fn a_name_that_resolves_inside_the_network_is_not_reached() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        let refused = runtime.block_on(PublicOnly.resolve(name("localhost")));
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("private network"), "{message}");
        let public = runtime
            .block_on(PublicOnly.resolve(name("192.0.2.10")))
            .map(|a| a.map(|s| s.ip()).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(public, ["192.0.2.10".parse::<IpAddr>().unwrap()]);
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_address(private.parse().unwrap()), "{private}");
        }
        for public in ["192.0.2.10", "8.8.8.8", "2001:db8::1", "100.128.0.1"] {
            assert!(!is_private_address(public.parse().unwrap()), "{public}");
        }
    }

    /// The parameters of Twilio's security page's example, signed with its
    /// example auth token: the signature Twilio's Python SDK computes for
    /// them (`RequestValidator("12345").compute_signature(url, params)`).
    #[test]
    fn a_form_is_signed_as_twilios_sdk_signs_it() {
        let url = "https://example.com/myapp.php?foo=1&bar=2";
        let body = serde_urlencoded::to_string([
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
        .unwrap_or_default();
        assert_eq!(
            signature("12345", url, "application/x-www-form-urlencoded", &body),
            "vNe7KK2kJwCsxc9K3OLkkKB3qqI="
        );
    }

    #[test]
    fn a_json_body_is_not_signed_its_url_is() {
        let a = signature("t", "https://h/x?bodySHA256=ab", "application/json", "[1]");
        let b = signature("t", "https://h/x?bodySHA256=ab", "application/json", "[2]");
        let c = signature("t", "https://h/x?bodySHA256=ac", "application/json", "[1]");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn star_subscribes_to_twilios_events_but_not_to_verify_events() {
        let star = vec!["*".to_owned()];
        assert!(subscribed(&star, "factor.verified"));
        assert!(!subscribed(
            &star,
            "com.twilio.accountsecurity.verify.verification.approved"
        ));
        let named = vec!["com.twilio.accountsecurity.verify.verification.approved".to_owned()];
        assert!(subscribed(
            &named,
            "com.twilio.accountsecurity.verify.verification.approved"
        ));
        assert!(!subscribed(&named, "factor.verified"));
    }
}
