//! `TwilioSms` and `Webhook` against an HTTP server the test starts, which checks
//! each request as the provider documents it and answers as the provider does
//! (2xx, 4xx with Twilio's error body, 429 with `Retry-After`, 5xx).

#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use seccode::SendOptions;
use seccode::channel::{DeliveryChannel, DeliveryError, Message};
use seccode::{
    AccountId, Contact, Keyring, MemoryChallengeStore, Purpose, SecretKey, SecurityCodes,
    TwilioSender, TwilioSms, Webhook,
};

use common::{HttpServer, Request};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-auth-token";

fn form(r: &Request) -> HashMap<String, String> {
    form_urlencoded::parse(&r.body).into_owned().collect()
}

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

fn sms(server: &HttpServer) -> TwilioSms {
    TwilioSms::new(SID, TOKEN, TwilioSender::Number("+15005550006".into()))
        .unwrap()
        .with_base_url(&server.url)
}

fn notice(to: &str) -> Message {
    Message::notice(
        Contact::parse(to).unwrap(),
        Purpose::IdentityCheck,
        "s",
        "Your code changed.",
    )
}

#[tokio::test]
async fn twilio_gets_the_documented_request_and_the_code_arrives() {
    let server = HttpServer::start(|_| {
        (
            201,
            vec![],
            r#"{"sid": "SM123", "status": "queued"}"#.into(),
        )
    })
    .await;
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        sms(&server),
        Keyring::new(1, SecretKey::from_bytes([5; 32])),
    );
    let to = Contact::phone("+44 7400 123456").unwrap();
    let sent = codes
        .start(
            &AccountId::new("ann").unwrap(),
            Purpose::IdentityCheck,
            &to,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(r.header("authorization"), Some(basic(SID, TOKEN).as_str()));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let fields = form(r);
    assert_eq!(fields["To"], "+447400123456");
    assert_eq!(fields["From"], "+15005550006");
    assert!(!fields.contains_key("MessagingServiceSid"));
    let body = &fields["Body"];
    let code = &body["Your security code is ".len()..][..6];
    assert!(body.starts_with("Your security code is "), "{body}");
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, code)
        .await
        .unwrap();
    assert!(v.is_approved(), "{v:?}");
}

#[tokio::test]
async fn twilio_messaging_services_and_api_keys() {
    let server = HttpServer::start(|_| (201, vec![], "{}".into())).await;
    let mg = "MG0123456789abcdef0123456789abcdef";
    let channel = TwilioSms::new(SID, TOKEN, TwilioSender::MessagingService(mg.into()))
        .unwrap()
        .with_api_key("SK0123456789abcdef0123456789abcdef", "key-secret")
        .with_base_url(format!("{}/", server.url));
    channel.deliver(&notice("+44 7400 123456")).await.unwrap();
    let r = &server.requests()[0];
    assert_eq!(form(r)["MessagingServiceSid"], mg);
    assert!(!form(r).contains_key("From"));
    assert_eq!(
        r.header("authorization"),
        Some(basic("SK0123456789abcdef0123456789abcdef", "key-secret").as_str())
    );
    assert!(TwilioSms::new("AC12", TOKEN, TwilioSender::Number("+15005550006".into())).is_err());
    assert!(TwilioSms::new(SID, TOKEN, TwilioSender::Number("555".into())).is_err());
}

#[tokio::test]
async fn a_sender_asked_for_one_sms_replaces_the_configured_one() {
    let server = HttpServer::start(|_| (201, vec![], "{}".into())).await;
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        sms(&server),
        Keyring::new(1, SecretKey::from_bytes([5; 32])),
    );
    let account = AccountId::new("ann").unwrap();
    let mg = "MGfedcba9876543210fedcba9876543210";
    for (to, sender) in [("+44 7400 123456", mg), ("+44 7400 123457", "+15005550007")] {
        codes
            .start(
                &account,
                Purpose::IdentityCheck,
                &Contact::phone(to).unwrap(),
                SendOptions::default().sender(sender),
            )
            .await
            .unwrap();
    }
    let requests = server.requests();
    let (by_service, by_number) = (form(&requests[0]), form(&requests[1]));
    assert_eq!(by_service["MessagingServiceSid"], mg);
    assert!(!by_service.contains_key("From"));
    assert_eq!(by_number["From"], "+15005550007");
    assert!(!by_number.contains_key("MessagingServiceSid"));
}

#[tokio::test]
async fn whatsapp_messages_carry_the_prefix_twilio_documents() {
    let server = HttpServer::start(|_| (201, vec![], "{}".into())).await;
    let channel = sms(&server).whatsapp();
    channel.deliver(&notice("+44 7400 123456")).await.unwrap();
    let by_service = TwilioSms::new(
        SID,
        TOKEN,
        TwilioSender::MessagingService("MG0123456789abcdef0123456789abcdef".into()),
    )
    .unwrap()
    .with_base_url(&server.url)
    .whatsapp();
    by_service
        .deliver(&notice("+44 7400 123457"))
        .await
        .unwrap();
    let requests = server.requests();
    let (by_number, by_service) = (form(&requests[0]), form(&requests[1]));
    assert_eq!(by_number["To"], "whatsapp:+447400123456");
    assert_eq!(by_number["From"], "whatsapp:+15005550006");
    assert_eq!(by_service["To"], "whatsapp:+447400123457");
    assert_eq!(
        by_service["MessagingServiceSid"],
        "MG0123456789abcdef0123456789abcdef"
    );
    assert!(!by_service.contains_key("From"));
}

#[tokio::test]
async fn twilio_answers_map_to_permanent_and_transient_failures() {
    let server = HttpServer::start(|r| {
        let to = form(r)["To"].clone();
        match to.as_str() {
            "+447400123401" => (
                400,
                vec![],
                format!(r#"{{"code": 21211, "message": "The 'To' number {to} is not a valid phone number.", "status": 400}}"#),
            ),
            "+447400123402" => (429, vec![("retry-after", "7".into())], r#"{"code": 20429}"#.into()),
            _ => (503, vec![], "unavailable".into()),
        }
    })
    .await;
    let channel = sms(&server);
    let fail = |to: &'static str| {
        let channel = channel.clone();
        async move { channel.deliver(&notice(to)).await.unwrap_err() }
    };
    let e = fail("+44 7400 123401").await;
    let d = e.downcast_ref::<DeliveryError>().unwrap();
    assert!(d.is_permanent());
    assert_eq!(
        e.to_string(),
        "the provider refused the message (400, code 21211)"
    );
    let e = fail("+44 7400 123402").await;
    let d = e.downcast_ref::<DeliveryError>().unwrap();
    assert!(!d.is_permanent());
    assert_eq!(d.retry_after(), Some(Duration::from_secs(7)));
    let e = fail("+44 7400 123403").await;
    assert!(!e.downcast_ref::<DeliveryError>().unwrap().is_permanent());
    assert_eq!(e.to_string(), "the provider failed (503)");
    for e in [fail("+44 7400 123401").await, fail("+44 7400 123402").await] {
        assert!(!e.to_string().contains("7400"), "{e}");
    }
    // Email is not Twilio SMS's: refused without a request.
    let before = server.requests().len();
    let e = channel
        .deliver(&notice("ann@example.org"))
        .await
        .unwrap_err();
    assert!(e.downcast_ref::<DeliveryError>().unwrap().is_permanent());
    assert_eq!(server.requests().len(), before);
}

#[tokio::test]
async fn webhooks_are_signed_json_the_receiver_can_check() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let server = HttpServer::start(|_| (204, vec![], String::new())).await;
    let hook = Webhook::new(format!("{}/deliver", server.url), secret).unwrap();
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        hook,
        Keyring::new(1, SecretKey::from_bytes([6; 32])),
    );
    let to = Contact::email("ann@example.org").unwrap();
    let sent = codes
        .start(
            &AccountId::new("ann").unwrap(),
            Purpose::Recovery,
            &to,
            SendOptions::default().locale("de"),
        )
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/deliver"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let timestamp = r.header("x-seccode-timestamp").unwrap();
    let signature = r.header("x-seccode-signature").unwrap();
    assert!(Webhook::verify(secret, timestamp, &r.body, signature));
    assert!(!Webhook::verify(
        b"another secret, 32 bytes long...",
        timestamp,
        &r.body,
        signature
    ));
    let mut tampered = r.body.clone();
    tampered[10] ^= 1;
    assert!(!Webhook::verify(secret, timestamp, &tampered, signature));
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["purpose"], "recovery");
    assert_eq!(
        (json["kind"].as_str(), json["channel"].as_str()),
        (Some("code"), Some("email"))
    );
    assert_eq!(json["to"], "ann@example.org");
    assert_eq!(json["locale"], "de");
    assert_eq!(json["subject"], "Code zur Kontowiederherstellung");
    let code = json["code"].as_str().unwrap();
    assert!(json["text"].as_str().unwrap().contains(code));
    assert!(json["html"].as_str().unwrap().contains(code));
    assert!(json["voice"].is_null());
    let v = codes
        .verify(&sent.id, Purpose::Recovery, code)
        .await
        .unwrap();
    assert!(v.is_approved());
    assert!(Webhook::new("ftp://x", secret).is_err());
    assert!(Webhook::new("https://x", b"short").is_err());
}
