//! The whole verification path on the in-memory defaults: send a code to an email
//! address, show what the person sees, try a wrong code, then the right one.
//!
//! Delivery is wired as in production — a delivery queue in front of one channel
//! per kind of contact — with the outbox standing in for your email and SMS
//! providers (see `examples/smtp.rs`, `SmtpChannel`, `TwilioSms`, `Webhook`).
//!
//! Run: `cargo run --example quickstart`

use std::sync::Arc;

use seccode::SendOptions;
use seccode::{
    AccountId, ByKind, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, QueueConfig,
    Queued, SecurityCodes, Verification,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: your database-backed store, your providers, and a key from
    // your secrets manager. Here: memory, outboxes we can read, a fresh key.
    let (mail, sms) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
    // `start` returns once the message is queued; workers send it with retries.
    // What happens to it — sent, retried, failed for good (a WARN), refused by a
    // limit — is reported as `tracing` events with target `seccode` (the default
    // events sink): install a subscriber in your service, e.g.
    // `tracing_subscriber::fmt::init()`, and they are in your logs.
    let queue = Arc::new(Queued::start(
        ByKind {
            email: mail.clone(), // SmtpChannel in production
            phone: sms.clone(),  // TwilioSms or Webhook in production
        },
        QueueConfig::default(),
    )?);
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        queue.clone(),
        Keyring::generate(),
    );

    let account = AccountId::new("user-42")?;
    let email = Contact::email("John.Doe@Example.com")?;

    println!("1. The user asks to verify {}", email.masked());
    let sent = codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default(),
        )
        .await?;
    println!(
        "   We sent a code to {} (challenge {})",
        sent.destination, sent.id
    );

    queue.flushed().await; // a service never waits; the example reads the outbox
    let message = mail.last().ok_or("the outbox is empty")?;
    println!(
        "2. The email outbox received, for {}:",
        message.to().masked()
    );
    println!("   Subject: {}", message.subject());
    for line in message.body().lines() {
        println!("   {line}");
    }
    let code = mail.last_code_to(&email).ok_or("no code was sent")?;

    let wrong = if code.expose() == "000000" {
        "111111"
    } else {
        "000000"
    };
    println!("3. The user types {wrong}");
    match codes
        .verify(&sent.id, Purpose::IdentityCheck, wrong)
        .await?
    {
        Verification::Rejected { remaining, reason } => {
            println!("   Rejected ({reason}); {remaining} attempts left")
        }
        other => return Err(format!("expected a rejection, got {other:?}").into()),
    }

    println!(
        "4. The user types the code from the message, with a space: \"{} {}\"",
        &code.expose()[..3],
        &code.expose()[3..]
    );
    let typed = format!("{} {}", &code.expose()[..3], &code.expose()[3..]);
    match codes
        .verify(&sent.id, Purpose::IdentityCheck, &typed)
        .await?
    {
        Verification::Approved(proof) => println!(
            "   Approved: account {} proved {} for {}",
            proof.account(),
            proof.destination().masked(),
            proof.purpose()
        ),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }

    println!("5. The same code again");
    let again = codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?;
    println!("   {again:?} — a code verifies once");

    println!("6. A text message, in French");
    let phone = Contact::phone_in("06 12 34 56 78", "FR")?;
    codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &phone,
            SendOptions::default().locale("fr"),
        )
        .await?;
    queue.flushed().await;
    let text = sms.last().ok_or("no SMS")?;
    println!("   To {}: {}", text.to().masked(), text.body());
    assert_eq!(queue.shutdown(std::time::Duration::from_secs(5)).await, 0);
    Ok(())
}
