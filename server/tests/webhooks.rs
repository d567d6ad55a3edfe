//! Webhooks: a service's events reach the receivers subscribed to them,
//! signed as Twilio signs webhooks (checked here by an independent HMAC-SHA1
//! over what Twilio's validators sign), retried until accepted or given up,
//! and delivered once when several servers share the outbox.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use harness::{
    ACCOUNT_SID, AUTH_TOKEN, Backing, Harness, HttpRequest, HttpServer, OTHER_ACCOUNT_SID,
    OTHER_AUTH_TOKEN,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

async fn call(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
    (user, token): (&str, &str),
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}/v2{path}", h.url))
        .basic_auth(user, Some(token))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(h: &Harness, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    call(
        h,
        reqwest::Method::POST,
        path,
        form,
        (ACCOUNT_SID, AUTH_TOKEN),
    )
    .await
}

/// What Twilio's validators check, computed here from the request as
/// received: the base64 HMAC-SHA1, keyed with the auth token, of the URL and
/// — for a form — each parameter's name and value in name order; a JSON
/// body's SHA-256 in the URL's `bodySHA256`.
fn assert_signed(receiver: &str, r: &HttpRequest) {
    let url = format!("{receiver}{}", r.path);
    let mut signed = url.clone();
    match r.header("content-type") {
        Some("application/x-www-form-urlencoded") => {
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap();
            pairs.sort();
            for (k, v) in pairs {
                signed.push_str(&k);
                signed.push_str(&v);
            }
        }
        Some("application/json") => {
            let digest: String = Sha256::digest(&r.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(
                url.ends_with(&format!("bodySHA256={digest}")),
                "the URL binds the body: {url}"
            );
        }
        other => panic!("unexpected content type {other:?}"),
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(r.header("x-twilio-signature"), Some(want.as_str()), "{url}");
    assert!(r.header("i-twilio-idempotency-token").is_some());
}

fn token(r: &HttpRequest) -> String {
    r.header("i-twilio-idempotency-token").unwrap().to_owned()
}

/// Polls `done` every 50 ms until it holds, failing after `secs`.
async fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the server's outbox is empty, failing after `secs`.
async fn wait_for_empty_outbox(h: &Harness, secs: u64) {
    let db = h.db().await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    while db.outbox_len().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for an empty outbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The code of an app with `secret` (base32), 30-second steps, `steps`
/// steps from now.
fn app_code(secret: &str, steps: u64) -> String {
    let secret = seccode::TotpSecret::from_base32(secret).unwrap();
    let settings = seccode::TotpSettings::new(seccode::TotpAlgorithm::Sha1, 6, 30, 1).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    settings.code_at(&secret, now + 30 * steps).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_subscribed_webhooks_signed_and_retried_until_accepted() {
    let h = Harness::start("webhooks").await;
    // The receiver refuses the first two requests to /flaky.
    let flaky = Arc::new(AtomicUsize::new(0));
    let seen = flaky.clone();
    let receiver = HttpServer::start(move |r| {
        if r.path.starts_with("/flaky") && seen.fetch_add(1, Ordering::SeqCst) < 2 {
            (500, Vec::new(), "busy".to_owned())
        } else {
            (200, Vec::new(), String::new())
        }
    })
    .await;
    let (status, service) = post(
        &h,
        "/Services",
        &[
            ("FriendlyName", "Contoso"),
            ("VerifyEventSubscriptionEnabled", "true"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["verify_event_subscription_enabled"], true);
    let sid = service["sid"].as_str().unwrap().to_owned();
    let hooks = format!("/Services/{sid}/Webhooks");

    // What a webhook must name.
    let factors_url = format!("{}/factors", receiver.url);
    for form in [
        vec![("FriendlyName", "f"), ("WebhookUrl", factors_url.as_str())],
        vec![
            ("FriendlyName", "f"),
            ("WebhookUrl", factors_url.as_str()),
            ("EventTypes", "verification.approved"),
        ],
        vec![
            ("FriendlyName", "f"),
            ("WebhookUrl", "ftp://example.com/x"),
            ("EventTypes", "*"),
        ],
        vec![
            ("FriendlyName", "f"),
            ("WebhookUrl", factors_url.as_str()),
            ("EventTypes", "*"),
            ("Version", "v1"),
        ],
    ] {
        let (status, e) = post(&h, &hooks, &form).await;
        assert_eq!((status, e["code"].as_u64()), (400, Some(60200)), "{e}");
    }
    // An account the server has no auth token for cannot sign webhooks.
    let (_, other_service) = call(
        &h,
        reqwest::Method::POST,
        "/Services",
        &[("FriendlyName", "Other")],
        (OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN),
    )
    .await;
    let (status, e) = call(
        &h,
        reqwest::Method::POST,
        &format!(
            "/Services/{}/Webhooks",
            other_service["sid"].as_str().unwrap()
        ),
        &[
            ("FriendlyName", "f"),
            ("WebhookUrl", factors_url.as_str()),
            ("EventTypes", "*"),
        ],
        (OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN),
    )
    .await;
    assert_eq!((status, e["code"].as_u64()), (400, Some(60200)), "{e}");

    let (status, factor_hook) = post(
        &h,
        &hooks,
        &[
            ("FriendlyName", "factors"),
            ("WebhookUrl", factors_url.as_str()),
            ("EventTypes", "*"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{factor_hook}");
    assert_eq!(factor_hook["event_types"], serde_json::json!(["*"]));
    assert_eq!(factor_hook["status"], "enabled");
    assert_eq!(factor_hook["version"], "v2");
    assert_eq!(factor_hook["webhook_method"], "POST");
    let flaky_url = format!("{}/flaky?tenant=1", receiver.url);
    let prefix = "com.twilio.accountsecurity.verify.verification.";
    let (pending, approved, canceled) = (
        format!("{prefix}pending"),
        format!("{prefix}approved"),
        format!("{prefix}canceled"),
    );
    let (status, verification_hook) = post(
        &h,
        &hooks,
        &[
            ("FriendlyName", "verifications"),
            ("WebhookUrl", flaky_url.as_str()),
            ("EventTypes", pending.as_str()),
            ("EventTypes", approved.as_str()),
            ("EventTypes", canceled.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 201, "{verification_hook}");
    assert_eq!(
        verification_hook["event_types"].as_array().unwrap().len(),
        3
    );
    let quiet_url = format!("{}/disabled", receiver.url);
    let (status, quiet) = post(
        &h,
        &hooks,
        &[
            ("FriendlyName", "off"),
            ("WebhookUrl", quiet_url.as_str()),
            ("EventTypes", "*"),
            ("EventTypes", approved.as_str()),
            ("Status", "disabled"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{quiet}");
    assert_eq!(quiet["status"], "disabled");

    // Verifications: one approved (tagged), one canceled.
    let to = "+15017122661";
    let (status, e) = post(
        &h,
        &format!("/Services/{sid}/Verifications"),
        &[("To", to), ("Channel", "sms"), ("Tags", "[\"not a map\"]")],
    )
    .await;
    assert_eq!((status, e["code"].as_u64()), (400, Some(60200)), "{e}");
    let (status, v) = post(
        &h,
        &format!("/Services/{sid}/Verifications"),
        &[
            ("To", to),
            ("Channel", "sms"),
            ("Tags", "{\"campaign\":\"spring\",\"tier\":\"gold\"}"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let ve = v["sid"].as_str().unwrap().to_owned();
    let code = h.sms.last_code(to).unwrap();
    let (status, checked) = post(
        &h,
        &format!("/Services/{sid}/VerificationCheck"),
        &[("VerificationSid", ve.as_str()), ("Code", code.as_str())],
    )
    .await;
    assert_eq!(
        (status, &checked["status"]),
        (200, &Value::from("approved"))
    );
    let other = "+15017122662";
    let (_, v2) = post(
        &h,
        &format!("/Services/{sid}/Verifications"),
        &[("To", other), ("Channel", "sms")],
    )
    .await;
    let ve2 = v2["sid"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &h,
        &format!("/Services/{sid}/Verifications/{ve2}"),
        &[("Status", "canceled")],
    )
    .await;
    assert_eq!(status, 200);

    // A factor: created, verified, a challenge approved, deleted.
    let identity = "ff483d1f-f591-8989-42a9-16050d2ca3f1";
    let factors = format!("/Services/{sid}/Entities/{identity}/Factors");
    let (status, factor) = post(
        &h,
        &factors,
        &[
            ("FactorType", "totp"),
            ("FriendlyName", "Ada's phone"),
            ("Config.TimeStep", "30"),
            ("Config.Skew", "1"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{factor}");
    let yf = factor["sid"].as_str().unwrap().to_owned();
    let secret = factor["binding"]["secret"].as_str().unwrap().to_owned();
    let (_, verified) = post(
        &h,
        &format!("{factors}/{yf}"),
        &[("AuthPayload", app_code(&secret, 0).as_str())],
    )
    .await;
    assert_eq!(verified["status"], "verified", "{verified}");
    // Each step is taken once: the challenge is answered with the next
    // step's code (within the factor's skew).
    let (status, challenge) = post(
        &h,
        &format!("/Services/{sid}/Entities/{identity}/Challenges"),
        &[
            ("FactorSid", yf.as_str()),
            ("AuthPayload", app_code(&secret, 1).as_str()),
            ("HiddenDetails", "{\"ip\":\"172.168.1.234\"}"),
        ],
    )
    .await;
    assert_eq!(
        (status, &challenge["status"]),
        (201, &Value::from("approved")),
        "{challenge}"
    );
    let yc = challenge["sid"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &h,
        reqwest::Method::DELETE,
        &format!("{factors}/{yf}"),
        &[],
        (ACCOUNT_SID, AUTH_TOKEN),
    )
    .await;
    assert_eq!(status, 204);

    // Four factor events; four verification events (two pending, one
    // approved, one canceled) after two refusals.
    wait_for(20, "the factor events", || {
        receiver
            .requests()
            .iter()
            .filter(|r| r.path == "/factors")
            .count()
            >= 4
    })
    .await;
    wait_for(20, "the verification events", || {
        flaky.load(Ordering::SeqCst) >= 6
    })
    .await;
    let requests = receiver.requests();
    let mut factor_events = BTreeMap::new();
    for r in requests.iter().filter(|r| r.path == "/factors") {
        assert_signed(&receiver.url, r);
        let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(&r.body).unwrap();
        assert_eq!(form["account_sid"], ACCOUNT_SID);
        assert_eq!(form["service_sid"], sid);
        assert_eq!(form["entity_identity"], identity);
        assert_eq!(form["factor_sid"], yf);
        assert_eq!(form["factor_type"], "totp");
        assert_eq!(form["factor_friendly_name"], "Ada's phone");
        assert!(!form.contains_key("binding"), "no secret in an event");
        factor_events.insert(form["type"].clone(), form);
    }
    assert_eq!(
        factor_events.keys().cloned().collect::<Vec<_>>(),
        [
            "challenge.approved",
            "factor.created",
            "factor.deleted",
            "factor.verified"
        ]
    );
    assert_eq!(factor_events["factor.created"]["status"], "unverified");
    assert_eq!(factor_events["factor.verified"]["status"], "verified");
    let approved_event = &factor_events["challenge.approved"];
    assert_eq!(approved_event["challenge_sid"], yc);
    assert_eq!(
        approved_event["challenge_hidden_details"],
        "{\"ip\":\"172.168.1.234\"}"
    );

    // Verify events: signed JSON, each retried with the same token until
    // accepted; no contact and no code in any of them.
    let flaky_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/flaky"))
        .collect();
    assert_eq!(flaky_requests.len(), 6);
    let tokens: BTreeSet<String> = flaky_requests.iter().map(|r| token(r)).collect();
    assert_eq!(
        tokens.len(),
        4,
        "two refused deliveries were retried, not re-sent as new events"
    );
    let mut statuses = BTreeSet::new();
    for r in &flaky_requests {
        assert_signed(&receiver.url, r);
        assert!(
            r.path.starts_with("/flaky?tenant=1&bodySHA256="),
            "{}",
            r.path
        );
        let text = String::from_utf8(r.body.clone()).unwrap();
        for secret in [to, &to[1..], other, &other[1..], code.as_str()] {
            assert!(
                !text.contains(secret),
                "an event carries no contact or code: {text}"
            );
        }
        let events: Value = serde_json::from_str(&text).unwrap();
        let event = &events[0];
        assert_eq!(event["specversion"], "1.0");
        let data = &event["data"];
        assert_eq!(data["service_sid"], sid);
        assert_eq!(data["country"], "US");
        assert_eq!(data["channel"], "SMS");
        assert_eq!(
            data["verification_status"],
            event["type"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_uppercase()
        );
        // Every event lists the verification's one send attempt; the
        // tagged start's carries its tags, the other's none.
        assert_eq!(data["send_code_attempts"]["count"], 1, "{data}");
        let attempt = &data["send_code_attempts"]["attempts"][0];
        assert!(attempt["attempt_sid"].as_str().unwrap().starts_with("VL"));
        if data["verification_sid"] == ve.as_str() {
            assert_eq!(
                attempt["tags"],
                serde_json::json!({"campaign": "spring", "tier": "gold"})
            );
        } else {
            assert!(attempt.get("tags").is_none(), "{attempt}");
        }
        statuses.insert((
            event["type"].as_str().unwrap().to_owned(),
            data["verification_sid"].as_str().unwrap().to_owned(),
        ));
    }
    let want: BTreeSet<(String, String)> = [
        (pending.clone(), ve.clone()),
        (pending.clone(), ve2.clone()),
        (approved.clone(), ve.clone()),
        (canceled.clone(), ve2.clone()),
    ]
    .into_iter()
    .collect();
    assert_eq!(statuses, want);

    // Nothing for the disabled webhook, and nothing left to send.
    assert_eq!(requests.iter().filter(|r| r.path == "/disabled").count(), 0);
    wait_for_empty_outbox(&h, 10).await;

    // The resource: list, update, delete.
    let (_, list) = call(
        &h,
        reqwest::Method::GET,
        &hooks,
        &[],
        (ACCOUNT_SID, AUTH_TOKEN),
    )
    .await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 3);
    let yw = factor_hook["sid"].as_str().unwrap();
    let (status, updated) = post(
        &h,
        &format!("{hooks}/{yw}"),
        &[("Status", "disabled"), ("EventTypes", "factor.deleted")],
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["status"], "disabled");
    assert_eq!(
        updated["event_types"],
        serde_json::json!(["factor.deleted"])
    );
    let (status, _) = call(
        &h,
        reqwest::Method::DELETE,
        &format!("{hooks}/{yw}"),
        &[],
        (ACCOUNT_SID, AUTH_TOKEN),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &h,
        reqwest::Method::GET,
        &format!("{hooks}/{yw}"),
        &[],
        (ACCOUNT_SID, AUTH_TOKEN),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_the_receiver_refuses_is_given_up_after_the_last_attempt() {
    let h = Harness::start("webhooks-give-up").await;
    let receiver = HttpServer::start(|_| (503, Vec::new(), String::new())).await;
    let (_, service) = post(&h, "/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let url = format!("{}/down", receiver.url);
    let (status, hook) = post(
        &h,
        &format!("/Services/{sid}/Webhooks"),
        &[
            ("FriendlyName", "down"),
            ("WebhookUrl", url.as_str()),
            ("EventTypes", "factor.created"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let (status, _) = post(
        &h,
        &format!("/Services/{sid}/Entities/ff483d1f-f591-8989-42a9-16050d2ca3f1/Factors"),
        &[("FactorType", "totp"), ("FriendlyName", "phone")],
    )
    .await;
    assert_eq!(status, 201);
    // Eight attempts (the default), 50 ms then doubling (the test's setting):
    // about 6.4 s in all; then the delivery leaves the outbox.
    wait_for(30, "eight attempts", || receiver.requests().len() >= 8).await;
    wait_for_empty_outbox(&h, 10).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 8);
    let tokens: BTreeSet<String> = requests.iter().map(token).collect();
    assert_eq!(tokens.len(), 1, "one event, attempted eight times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_delivered_once_by_servers_sharing_the_outbox() {
    let h = Harness::start_on("webhooks-peers", Backing::Postgres).await;
    let peer = h.peer().await;
    let receiver = HttpServer::start(|_| (200, Vec::new(), String::new())).await;
    let (_, service) = post(&h, "/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let url = format!("{}/events", receiver.url);
    let (status, hook) = post(
        &h,
        &format!("/Services/{sid}/Webhooks"),
        &[
            ("FriendlyName", "events"),
            ("WebhookUrl", url.as_str()),
            ("EventTypes", "factor.created"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    // Twenty events, written through both servers; both deliver.
    let http = reqwest::Client::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &h.url } else { &peer.url };
        let r = http
            .post(format!(
                "{base}/v2/Services/{sid}/Entities/entity-{i:04}-0000/Factors"
            ))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .form(&[("FactorType", "totp"), ("FriendlyName", "phone")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    wait_for(30, "twenty events", || receiver.requests().len() >= 20).await;
    wait_for_empty_outbox(&h, 30).await;
    let requests = receiver.requests();
    let tokens: BTreeSet<String> = requests.iter().map(token).collect();
    assert_eq!(tokens.len(), 20);
    assert_eq!(requests.len(), 20, "no event delivered twice");
    drop(peer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_that_expires_pending_is_reported_expired_once() {
    let h = Harness::start("webhooks-expired").await;
    let receiver = HttpServer::start(|_| (200, Vec::new(), String::new())).await;
    let (_, service) = post(
        &h,
        "/Services",
        &[
            ("FriendlyName", "Contoso"),
            ("VerifyEventSubscriptionEnabled", "true"),
        ],
    )
    .await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let url = format!("{}/expired", receiver.url);
    let expired = "com.twilio.accountsecurity.verify.verification.expired";
    let (status, _) = post(
        &h,
        &format!("/Services/{sid}/Webhooks"),
        &[
            ("FriendlyName", "expired"),
            ("WebhookUrl", url.as_str()),
            ("EventTypes", expired),
        ],
    )
    .await;
    assert_eq!(status, 201);
    let (status, v) = post(
        &h,
        &format!("/Services/{sid}/Verifications"),
        &[("To", "+15017122661"), ("Channel", "sms")],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let ve = v["sid"].as_str().unwrap().to_owned();
    // Its record made eleven minutes old: past the code's ten.
    let conn = rusqlite::Connection::open(&h.database).unwrap();
    let changed = conn
        .execute(
            "UPDATE verify_verifications SET created = created - 660000 WHERE sid = ?1",
            [&ve],
        )
        .unwrap();
    assert_eq!(changed, 1);
    wait_for(20, "the expired event", || !receiver.requests().is_empty()).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_signed(&receiver.url, &requests[0]);
    let events: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(events[0]["type"], expired);
    assert_eq!(events[0]["data"]["verification_sid"], ve);
    assert_eq!(events[0]["data"]["verification_status"], "EXPIRED");
    let status: String = conn
        .query_row(
            "SELECT status FROM verify_verifications WHERE sid = ?1",
            [&ve],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        status, "expired",
        "closed once: the next sweep has nothing to report"
    );
}
