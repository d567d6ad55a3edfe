//! Recover an account: name an email or phone, pick where the code goes and
//! confirm it, enter the code, get back in. The answers look the same for an
//! identifier no account has.
//!
//! Run: `cargo run --example recover_account`
//! Try it yourself: `cargo run --example recover_account -- --interactive`
//! (the code is then read from standard input, as if it came by SMS).

mod support;

use std::io::{BufRead, Write};

use seccode::{ContactKind, Verification};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let interactive = std::env::args().any(|a| a == "--interactive");
    let (flows, outbox, _account) = support::demo().await?;

    println!("1. \"Recover your account\": the person enters +1 (425) 555-0123");
    let start = flows.start_recovery("+1 (425) 555-0123").await?;
    println!("   \"How would you like to get your security code?\"");
    for c in &start.choices {
        println!(
            "     [{}] {:?} {} (confirm with {:?})",
            c.index, c.kind, c.contact, c.confirm_with
        );
    }

    println!("\n   For comparison, an identifier no account has (nothing will be sent):");
    let unknown = flows.start_recovery("nobody.here@example.net").await?;
    for c in &unknown.choices {
        println!(
            "     [{}] {:?} {} (confirm with {:?})",
            c.index, c.kind, c.contact, c.confirm_with
        );
    }

    let phone = start
        .choices
        .iter()
        .find(|c| c.kind == ContactKind::Phone)
        .ok_or("no phone choice")?;
    println!(
        "\n2. The person picks {} and types its last four digits, 0123",
        phone.contact
    );
    let sent = flows
        .choose_recovery_contact(&start.token, phone.index, "0123", None)
        .await?;
    println!("   \"We sent a code to {}\"", sent.destination);
    support::show_last_message(&outbox);

    let code = if interactive {
        print!("   Enter the code: ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    } else {
        let to = seccode::Contact::phone("+14255550123")?;
        outbox
            .last_code_to(&to)
            .ok_or("no code was sent")?
            .expose()
            .to_owned()
    };

    println!("\n3. The person enters the code");
    let proof = match flows.finish_recovery(&sent.id, &code).await? {
        Verification::Approved(proof) => proof,
        Verification::Rejected { remaining, reason } => {
            println!("   {reason}; {remaining} attempts left. Run again to retry.");
            return Ok(());
        }
        other => {
            println!("   {other:?}");
            return Ok(());
        }
    };
    println!("   Verified: recovering account {}", proof.account());

    println!("\n4. \"Reset your password\" is another page: exchange the proof for a ticket");
    let ticket = flows.issue_ticket(&proof).await?;
    println!("   ticket issued: {ticket:?} (stored only as a hash)");
    let account = flows.redeem_ticket(ticket.expose()).await?;
    println!("   The password page redeems it: set a new password for {account}");
    match flows.redeem_ticket(ticket.expose()).await {
        Err(e) => println!("   Redeeming it again: {e}"),
        Ok(_) => return Err("a ticket was redeemed twice".into()),
    }

    println!("\n5. The account's other contacts are told:");
    support::show_notices(&outbox);
    Ok(())
}
