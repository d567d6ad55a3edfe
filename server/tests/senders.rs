//! Who a message comes from: a service's Messaging Configurations pick an
//! SMS's sender by the number's country, and an email verification's
//! `ChannelConfiguration` names its sender — only at the server's own
//! domains; a WhatsApp code goes through the WhatsApp channel.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use harness::{Backing, Harness, OTHER_SENDER, assert_refused};
use serde_json::Value;

const GB: &str = "MG0123456789abcdef0123456789abcdef";
const ALL: &str = "MGfedcba9876543210fedcba9876543210";
const GB_LATER: &str = "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_configurations_pick_the_sms_sender_by_country() {
    messaging_configurations(&Harness::start("messaging").await).await;
}

/// The same with the server's tables in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_configurations_pick_the_sms_sender_by_country_on_postgres() {
    messaging_configurations(&Harness::start_on("messaging-postgres", Backing::Postgres).await)
        .await;
}

async fn messaging_configurations(h: &Harness) {
    let (_, service) = h.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let configs = format!("/Services/{sid}/MessagingConfigurations");
    let verifications = format!("/Services/{sid}/Verifications");

    // Without a configuration, the channel's own sender.
    let (status, _) = h
        .post(
            &verifications,
            &[("To", "+447400123456"), ("Channel", "sms")],
        )
        .await;
    assert_eq!(status, 201);
    assert!(h.sms.last_body("+447400123456").unwrap()["sender"].is_null());

    assert_refused(
        &h.post(&configs, &[("Country", "GBR"), ("MessagingServiceSid", GB)])
            .await,
        "Country",
    );
    assert_refused(
        &h.post(
            &configs,
            &[("Country", "gb"), ("MessagingServiceSid", "MG12")],
        )
        .await,
        "MessagingServiceSid",
    );
    let (status, gb) = h
        .post(&configs, &[("Country", "gb"), ("MessagingServiceSid", GB)])
        .await;
    assert_eq!(status, 201, "{gb}");
    assert_eq!(
        (gb["country"].as_str(), gb["messaging_service_sid"].as_str()),
        (Some("GB"), Some(GB))
    );
    assert_eq!(gb["url"], format!("{}/v2{configs}/GB", h.url));
    assert_refused(
        &h.post(&configs, &[("Country", "GB"), ("MessagingServiceSid", ALL)])
            .await,
        "Country",
    );
    let (status, _) = h
        .post(
            &configs,
            &[("Country", "all"), ("MessagingServiceSid", ALL)],
        )
        .await;
    assert_eq!(status, 201);

    // A British number: its country's; an American one: `all`'s; an email
    // and a call: none.
    for (to, sender) in [("+447400123457", GB), ("+15017122661", ALL)] {
        let (status, v) = h
            .post(&verifications, &[("To", to), ("Channel", "sms")])
            .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(h.sms.last_body(to).unwrap()["sender"], sender, "{to}");
    }
    let (status, _) = h
        .post(
            &verifications,
            &[("To", "+15017122662"), ("Channel", "call")],
        )
        .await;
    assert_eq!(status, 201);

    // Update, list, fetch, delete.
    let (status, updated) = h
        .post(
            &format!("{configs}/gb"),
            &[("MessagingServiceSid", GB_LATER)],
        )
        .await;
    assert_eq!(
        (status, updated["messaging_service_sid"].as_str()),
        (200, Some(GB_LATER))
    );
    h.post(
        &verifications,
        &[("To", "+447400123458"), ("Channel", "sms")],
    )
    .await;
    assert_eq!(
        h.sms.last_body("+447400123458").unwrap()["sender"],
        GB_LATER
    );
    let (_, list) = h.api(reqwest::Method::GET, &configs, &[]).await;
    let countries: Vec<&str> = list["messaging_configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["country"].as_str().unwrap())
        .collect();
    assert_eq!(countries.len(), 2);
    assert!(countries.contains(&"GB") && countries.contains(&"all"));
    let (status, _) = h
        .api(reqwest::Method::DELETE, &format!("{configs}/GB"), &[])
        .await;
    assert_eq!(status, 204);
    let (status, _) = h
        .api(reqwest::Method::GET, &format!("{configs}/GB"), &[])
        .await;
    assert_eq!(status, 404);
    h.post(
        &verifications,
        &[("To", "+447400123459"), ("Channel", "sms")],
    )
    .await;
    assert_eq!(
        h.sms.last_body("+447400123459").unwrap()["sender"],
        ALL,
        "after the delete: all's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_goes_out_from_the_sender_its_verification_names_at_the_servers_domains() {
    let h = Harness::start("email-sender").await;
    let (_, service) = h.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");
    let start = |to: &'static str, config: &'static str, channel: &'static str| {
        let h = &h;
        let path = verifications.clone();
        async move {
            h.post(
                &path,
                &[
                    ("To", to),
                    ("Channel", channel),
                    ("ChannelConfiguration", config),
                ],
            )
            .await
        }
    };
    // Refused before anything is sent: another domain (no spoofing through
    // the server's relay), templates, unknown keys, a name without an
    // address, a name with a line break, the parameter on an SMS.
    for config in [
        r#"{"from": "ceo@bank.example"}"#,
        r#"{"from": "security@example.org", "template_id": "d-0123"}"#,
        r#"{"from": "security@example.org", "substitutions": {"name": "Ann"}}"#,
        r#"{"reply_to": "security@example.org"}"#,
        r#"{"from_name": "Contoso"}"#,
        "{\"from\": \"security@example.org\", \"from_name\": \"Contoso\\r\\nBcc: x@bank.example\"}",
        "not json",
    ] {
        assert_refused(
            &start("ann@example.net", config, "email").await,
            "ChannelConfiguration",
        );
    }
    assert_refused(
        &start("+15017122661", r#"{"from": "security@example.org"}"#, "sms").await,
        "ChannelConfiguration",
    );
    assert!(h.smtp.saved().is_empty(), "nothing refused was sent");

    let (status, v) = start(
        "ann@example.net",
        r#"{"from": "security@example.org", "from_name": "Contoso Security", "substitutions": {}}"#,
        "email",
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, _) = start("bob@example.net", "{}", "email").await;
    assert_eq!(status, 201);
    let saved = h.smtp.saved();
    assert_eq!(saved.len(), 2);
    let from_of = |to: &str| {
        saved
            .iter()
            .find(|m| m.json["envelope_to"][0] == to)
            .map(|m| {
                m.json["headers"]["From"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap()
    };
    assert_eq!(
        from_of("ann@example.net"),
        "Contoso Security <security@example.org>"
    );
    assert_eq!(
        from_of("bob@example.net"),
        "verify@example.org",
        "the configured sender"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_code_goes_through_the_whatsapp_channel_and_verifies() {
    let h = Harness::start("whatsapp").await;
    let (_, service) = h.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let to = "+15017122661";
    let (status, v) = h
        .post(
            &format!("/Services/{sid}/Verifications"),
            &[("To", to), ("Channel", "whatsapp")],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["channel"], "whatsapp");
    assert_eq!(v["send_code_attempts"][0]["channel"], "whatsapp");
    assert!(h.sms.last_body(to).is_none(), "not sent by SMS");
    let body = h.whatsapp.last_body(to).unwrap();
    assert!(
        body["text"].as_str().unwrap().starts_with("Contoso: "),
        "{body}"
    );
    let code = h.whatsapp.last_code(to).unwrap();
    let (status, checked) = h
        .post(
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", to), ("Code", code.as_str())],
        )
        .await;
    assert_eq!(
        (status, &checked["status"]),
        (200, &Value::from("approved"))
    );
    assert_eq!(checked["channel"], "whatsapp");
}

/// A service's WhatsApp senders: its `Whatsapp.From` number over its
/// `Whatsapp.MsgServiceSid`, over the channel's own; kept, shown, cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_whatsapp_sender_sends_its_whatsapp_codes() {
    whatsapp_sender(&Harness::start("whatsapp-sender").await).await;
}

/// The same with the server's tables in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_whatsapp_sender_sends_its_whatsapp_codes_on_postgres() {
    whatsapp_sender(&Harness::start_on("whatsapp-sender-postgres", Backing::Postgres).await).await;
}

async fn whatsapp_sender(h: &Harness) {
    assert_refused(
        &h.post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("Whatsapp.MsgServiceSid", "MG12"),
            ],
        )
        .await,
        "Whatsapp.MsgServiceSid",
    );
    assert_refused(
        &h.post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("Whatsapp.From", "whatsapp:12"),
            ],
        )
        .await,
        "Whatsapp.From",
    );
    let (status, service) = h
        .post(
            "/Services",
            &[("FriendlyName", "Contoso"), ("Whatsapp.MsgServiceSid", ALL)],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["whatsapp"]["msg_service_sid"], ALL);
    assert!(service["whatsapp"]["from"].is_null());
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");
    let send = |to: &'static str, channel: &'static str| {
        let path = verifications.clone();
        async move {
            let (status, v) = h.post(&path, &[("To", to), ("Channel", channel)]).await;
            assert_eq!(status, 201, "{v}");
        }
    };
    send("+15017122661", "whatsapp").await;
    assert_eq!(h.whatsapp.last_body("+15017122661").unwrap()["sender"], ALL);
    // The SMS of the same service is not affected.
    send("+15017122662", "sms").await;
    assert!(h.sms.last_body("+15017122662").unwrap()["sender"].is_null());

    let (status, updated) = h
        .post(
            &format!("/Services/{sid}"),
            &[("Whatsapp.From", "whatsapp:+1 (415) 523-8886")],
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["whatsapp"]["from"], "+14155238886");
    assert_eq!(updated["whatsapp"]["msg_service_sid"], ALL);
    send("+15017122663", "whatsapp").await;
    assert_eq!(
        h.whatsapp.last_body("+15017122663").unwrap()["sender"],
        "+14155238886",
        "the number over the Messaging Service"
    );
    let (_, fetched) = h.get(&format!("/Services/{sid}")).await;
    assert_eq!(fetched["whatsapp"]["from"], "+14155238886");

    let (_, cleared) = h
        .post(
            &format!("/Services/{sid}"),
            &[("Whatsapp.From", ""), ("Whatsapp.MsgServiceSid", "")],
        )
        .await;
    assert!(
        cleared["whatsapp"]["from"].is_null() && cleared["whatsapp"]["msg_service_sid"].is_null()
    );
    send("+15017122664", "whatsapp").await;
    assert!(h.whatsapp.last_body("+15017122664").unwrap()["sender"].is_null());
}

/// An account configured with its `senders` names only those: in a
/// Messaging Configuration and as its services' WhatsApp senders — so one
/// tenant of a shared Twilio account cannot send from another's sender. An
/// account without the list names any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_names_only_the_senders_it_is_configured_with() {
    let h = Harness::start("allowed-senders").await;
    let post = reqwest::Method::POST;
    assert_refused(
        &h.api_as_other(
            post.clone(),
            "/Services",
            &[("FriendlyName", "Tenant"), ("Whatsapp.MsgServiceSid", GB)],
        )
        .await,
        "not one of this account's senders",
    );
    assert_refused(
        &h.api_as_other(
            post.clone(),
            "/Services",
            &[
                ("FriendlyName", "Tenant"),
                ("Whatsapp.From", "+15017122661"),
            ],
        )
        .await,
        "Whatsapp.From",
    );
    let (status, service) = h
        .api_as_other(
            post.clone(),
            "/Services",
            &[
                ("FriendlyName", "Tenant"),
                ("Whatsapp.MsgServiceSid", OTHER_SENDER),
                ("Whatsapp.From", "whatsapp:+14155238886"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    let sid = service["sid"].as_str().unwrap().to_owned();
    let configs = format!("/Services/{sid}/MessagingConfigurations");
    assert_refused(
        &h.api_as_other(
            post.clone(),
            &configs,
            &[("Country", "GB"), ("MessagingServiceSid", GB)],
        )
        .await,
        "MessagingServiceSid",
    );
    let (status, created) = h
        .api_as_other(
            post.clone(),
            &configs,
            &[("Country", "GB"), ("MessagingServiceSid", OTHER_SENDER)],
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_refused(
        &h.api_as_other(
            post.clone(),
            &format!("{configs}/GB"),
            &[("MessagingServiceSid", ALL)],
        )
        .await,
        "MessagingServiceSid",
    );
    // The first account has no list: any sender.
    let (status, _) = h
        .post(
            "/Services",
            &[("FriendlyName", "Operator"), ("Whatsapp.MsgServiceSid", GB)],
        )
        .await;
    assert_eq!(status, 201);
}
