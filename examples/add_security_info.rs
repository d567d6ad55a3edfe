//! Add security info: a code goes to the new contact, and it counts only once the
//! code is entered. The account's other contacts are told.
//!
//! Run: `cargo run --example add_security_info`

mod support;

use seccode::{Contact, Verification};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (flows, outbox, account) = support::demo().await?;
    println!("Security info of {account}:");
    support::show_security_info(&flows, &account).await?;

    let new = Contact::email("backup.address@example.org")?;
    println!("\n1. \"Add sign-in method\" → email → {}", new.masked());
    let sent = flows.start_add_security_info(&account, &new).await?;
    println!(
        "   \"We sent a code to {}. Enter it to verify.\"",
        sent.destination
    );
    support::show_last_message(&outbox);
    support::show_security_info(&flows, &account).await?;

    let code = outbox.last_code_to(&new).ok_or("no code was sent")?;
    println!("\n2. The person enters the code");
    match flows
        .finish_add_security_info(&account, &sent.id, code.expose())
        .await?
    {
        Verification::Approved(_) => println!("   Verified: {} is now security info", new.masked()),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }
    support::show_security_info(&flows, &account).await?;

    println!("\n3. The account's other verified contacts are told:");
    support::show_notices(&outbox);

    println!("\n4. Adding it again");
    match flows.start_add_security_info(&account, &new).await {
        Err(e) => println!("   Refused: {e}"),
        Ok(_) => return Err("a duplicate was accepted".into()),
    }
    Ok(())
}
