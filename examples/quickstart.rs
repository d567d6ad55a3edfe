//! The whole verification path on the in-memory defaults: send a code to an email
//! address, show what the person sees, try a wrong code, then the right one.
//!
//! Run: `cargo run --example quickstart`

use std::sync::Arc;

use seccode::{
    AccountId, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, SecurityCodes, Verification,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: your database-backed store, your email/SMS provider, and a
    // key from your secrets manager. Here: memory, an outbox we can read, a fresh key.
    let outbox = Arc::new(Outbox::new());
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::generate(),
    );

    let account = AccountId::new("user-42")?;
    let email = Contact::email("john.doe@example.com")?;

    println!("1. The user asks to verify {}", email.masked());
    let sent = codes
        .start(&account, Purpose::IdentityCheck, &email)
        .await?;
    println!(
        "   We sent a code to {} (challenge {})",
        sent.destination, sent.id
    );

    let message = outbox.last().ok_or("the outbox is empty")?;
    println!("2. The outbox received, for {}:", message.to().masked());
    println!("   Subject: {}", message.subject());
    println!("   {}", message.body());
    let code = outbox.last_code_to(&email).ok_or("no code was sent")?;

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

    println!("4. The user types the code from the message");
    match codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
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
    Ok(())
}
