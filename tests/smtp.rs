//! `SmtpChannel` against a real SMTP server (aiosmtpd) the test starts: what
//! arrives, and what a refusal or a server that is down looks like.

#![cfg(feature = "smtp")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::error::Error as _;

use seccode::SendOptions;
use seccode::channel::{DeliveryChannel, DeliveryError, Message};
use seccode::{
    AccountId, Contact, Error, Keyring, MemoryChallengeStore, Purpose, SecretKey, SecurityCodes,
    SmtpChannel, SmtpTls,
};

use common::SmtpServer;

fn channel(port: u16) -> SmtpChannel {
    SmtpChannel::builder("127.0.0.1")
        .port(port)
        .tls(SmtpTls::DangerPlaintext)
        .from("Example Security <no-reply@example.com>")
        .reply_to("support@example.com")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_code_arrives_as_text_and_html_with_the_right_headers() {
    let server = SmtpServer::start("code");
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        channel(server.port),
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    );
    let to = Contact::email("Ann.Example@Example.org").unwrap();
    let sent = codes
        .start(
            &AccountId::new("ann").unwrap(),
            Purpose::IdentityCheck,
            &to,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let saved = server.saved();
    assert_eq!(saved.len(), 1);
    let mail = &saved[0].json;
    let header = |name: &str| {
        mail["headers"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("From"), "Example Security <no-reply@example.com>");
    assert_eq!(header("To"), "Ann.Example@example.org");
    assert_eq!(header("Reply-To"), "support@example.com");
    assert_eq!(header("Subject"), "Your security code");
    assert_eq!(header("Auto-Submitted"), "auto-generated");
    assert_eq!(mail["envelope_to"][0], "Ann.Example@example.org");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let parts = mail["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    let (text, html) = (&parts[0], &parts[1]);
    assert_eq!(text["type"], "text/plain");
    assert_eq!(html["type"], "text/html");
    // The code is the one the service derives: check it verifies.
    let text = text["content"].as_str().unwrap();
    let code: String = text
        .split("Your security code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    assert!(
        html["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<strong>{code}</strong>"))
    );
    assert!(text.contains("It expires in 10 minutes."));
    assert!(!saved[0].raw.contains("http"), "no links");
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, &code)
        .await
        .unwrap();
    assert!(v.is_approved(), "{v:?}");
}

#[tokio::test]
async fn a_notice_arrives_as_plain_text() {
    let server = SmtpServer::start("notice");
    let to = Contact::email("ann@example.org").unwrap();
    let notice = Message::notice(
        to,
        Purpose::IdentityCheck,
        "Security info added",
        "a•••@example.org was added.",
    );
    channel(server.port).deliver(&notice).await.unwrap();
    let saved = server.saved();
    assert_eq!(saved[0].json["content_type"], "text/plain");
    assert_eq!(saved[0].json["headers"]["Subject"], "Security info added");
    assert!(
        saved[0].json["parts"][0]["content"]
            .as_str()
            .unwrap()
            .contains("was added.")
    );
}

#[tokio::test]
async fn a_refused_recipient_is_a_permanent_failure_that_names_no_address() {
    let server = SmtpServer::start("refused");
    let to = Contact::email("refused.person@example.org").unwrap();
    let notice = Message::notice(to.clone(), Purpose::IdentityCheck, "s", "b");
    let e = channel(server.port).deliver(&notice).await.unwrap_err();
    let d = e.downcast_ref::<DeliveryError>().unwrap();
    assert!(d.is_permanent());
    assert!(e.to_string().contains("550"), "{e}");
    assert!(!e.to_string().contains("refused.person"), "{e}");
    // Through the service: Error::Delivery, with the reason as its source.
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        channel(server.port),
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    );
    let e = codes
        .start(
            &AccountId::new("ann").unwrap(),
            Purpose::IdentityCheck,
            &to,
            SendOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Delivery(_)));
    let chain = format!("{e}: {}", e.source().unwrap());
    assert!(!chain.contains("refused.person"), "{chain}");
    assert!(server.saved().is_empty());
}

#[tokio::test]
async fn a_server_that_is_down_is_a_transient_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = Contact::email("ann@example.org").unwrap();
    let notice = Message::notice(to, Purpose::IdentityCheck, "s", "b");
    let e = channel(port).deliver(&notice).await.unwrap_err();
    let d = e.downcast_ref::<DeliveryError>().unwrap();
    assert!(!d.is_permanent());
    assert_eq!(e.to_string(), "the smtp server could not be reached");
}

#[test]
fn settings_are_checked_when_built() {
    let e = SmtpChannel::builder("127.0.0.1").build().unwrap_err();
    assert_eq!(e.to_string(), "invalid smtp from: a sender is required");
    let e = SmtpChannel::builder("127.0.0.1")
        .from("not a mailbox")
        .build()
        .unwrap_err();
    assert!(e.to_string().starts_with("invalid smtp from"), "{e}");
}

#[tokio::test]
async fn a_sender_asked_for_one_message_replaces_the_configured_one() {
    let server = SmtpServer::start("sender");
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        channel(server.port),
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    );
    let to = Contact::email("ann@example.org").unwrap();
    let account = AccountId::new("ann").unwrap();
    codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &to,
            SendOptions::default()
                .sender("security@example.com")
                .sender_name("Contoso Security"),
        )
        .await
        .unwrap();
    let saved = server.saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].json["headers"]["From"],
        "Contoso Security <security@example.com>"
    );
    // A name without a sender, a name with a line break, and a sender that is
    // neither an address nor a number nor a Messaging Service are refused
    // before anything is counted or sent.
    for options in [
        SendOptions::default().sender_name("Contoso"),
        SendOptions::default()
            .sender("security@example.com")
            .sender_name("Contoso\r\nBcc: x@example.net"),
        SendOptions::default().sender("not a sender"),
    ] {
        let e = codes
            .start(&account, Purpose::IdentityCheck, &to, options)
            .await
            .unwrap_err();
        assert!(matches!(e, seccode::Error::InvalidInput { .. }), "{e:?}");
    }
    assert_eq!(server.saved().len(), 1);
}
