//! Change phone number, as on Microsoft accounts: confirm the last four digits of
//! the current number, enter the code sent to it, add the new number, enter the
//! code sent to that. The old number goes only when the new one is proven.
//!
//! Run: `cargo run --example change_phone`

mod support;

use seccode::{Contact, ContactKind, Verification};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (flows, outbox, account) = support::demo().await?;
    println!("Security info of {account}:");
    support::show_security_info(&flows, &account).await?;
    let current = flows
        .security_info(&account)
        .await?
        .into_iter()
        .find(|i| i.kind == ContactKind::Phone && i.verified)
        .ok_or("the account has no phone")?;

    println!(
        "\n1. \"Change number\" on {}: \"Enter the last 4 digits of your phone number\"",
        current.contact
    );
    println!("   The person types 9999");
    match flows.start_change_phone(&account, current.id, "9999").await {
        Err(e) => println!("   \"{e}\" (counted as a failed attempt)"),
        Ok(_) => return Err("wrong digits were accepted".into()),
    }
    println!("   The person types 0123");
    let sent = flows
        .start_change_phone(&account, current.id, "0123")
        .await?;
    println!("   \"We sent a code to {}\"", sent.destination);
    support::show_last_message(&outbox);

    println!("\n2. The person enters the code from the current phone");
    let old = Contact::phone("+1 425 555 0123")?;
    let code = outbox.last_code_to(&old).ok_or("no code was sent")?;
    let proof = match flows
        .confirm_current_phone(&account, &sent.id, code.expose())
        .await?
    {
        Verification::Approved(proof) => proof,
        other => return Err(format!("expected approval, got {other:?}").into()),
    };
    println!("   Confirmed {}", proof.destination().masked());

    let new = Contact::phone("+1 (206) 555-0188")?;
    println!("\n3. \"Enter your new number\": {}", new.masked());
    let sent = flows.start_new_phone(&proof, &new).await?;
    println!("   \"We sent a code to {}\"", sent.destination);
    support::show_last_message(&outbox);
    println!("   Until it is verified, the account still has:");
    support::show_security_info(&flows, &account).await?;

    println!("\n4. The person enters the code from the new phone");
    let code = outbox.last_code_to(&new).ok_or("no code was sent")?;
    match flows
        .finish_change_phone(&account, &sent.id, code.expose())
        .await?
    {
        Verification::Approved(_) => println!("   Phone number changed"),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }
    support::show_security_info(&flows, &account).await?;
    println!("\n5. Notices:");
    support::show_notices(&outbox);
    Ok(())
}
