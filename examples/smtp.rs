//! Sends a security code through a real SMTP server, then verifies it as the
//! person would after reading their mail.
//!
//! Run against a local test server:
//!
//! ```sh
//! /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Debugging &
//! cargo run --example smtp --features smtp -- --port 2525 --to you@example.org
//! ```
//!
//! Options: `--host` (default 127.0.0.1), `--port` (default 25), `--to`,
//! `--from`, `--starttls` / `--implicit-tls` (default: plaintext, for a local
//! server only), `--user` and `--password`.

use std::sync::Arc;

use seccode::SendOptions;
use seccode::channel::{DeliveryChannel, Message};
use seccode::{
    AccountId, Contact, Keyring, MemoryChallengeStore, Purpose, SecurityCodes, SmtpChannel, SmtpTls,
};

/// Passes messages to the SMTP channel and keeps the last code, so the example
/// can type it back (your users read it from their mailbox).
struct KeepLastCode {
    smtp: SmtpChannel,
    last: std::sync::Mutex<Option<String>>,
}

impl DeliveryChannel for KeepLastCode {
    async fn deliver(&self, message: &Message) -> Result<(), seccode::channel::BoxError> {
        self.smtp.deliver(message).await?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) =
            message.code_value().map(|c| c.expose().to_owned());
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut host, mut port, mut to, mut from) = (
        "127.0.0.1".to_owned(),
        25u16,
        "you@example.org".to_owned(),
        "Example Security <no-reply@example.com>".to_owned(),
    );
    let (mut tls, mut user, mut password) = (SmtpTls::DangerPlaintext, None, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--host" => host = value()?,
            "--port" => port = value()?.parse()?,
            "--to" => to = value()?,
            "--from" => from = value()?,
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--starttls" => tls = SmtpTls::StartTls,
            "--implicit-tls" => tls = SmtpTls::Implicit,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let mut builder = SmtpChannel::builder(&host).port(port).tls(tls).from(from);
    if let (Some(user), Some(password)) = (user, password) {
        builder = builder.credentials(user, password);
    }
    let channel = Arc::new(KeepLastCode {
        smtp: builder.build()?,
        last: std::sync::Mutex::new(None),
    });
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        channel.clone(),
        Keyring::generate(),
    );
    let to = Contact::email(&to)?;
    let sent = codes
        .start(
            &AccountId::new("user-42")?,
            Purpose::AddSecurityInfo,
            &to,
            SendOptions::default(),
        )
        .await?;
    println!("Sent a code to {} through {host}:{port}", sent.destination);
    let code = channel
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or("no code was sent")?;
    let verdict = codes
        .verify(&sent.id, Purpose::AddSecurityInfo, &code)
        .await?;
    println!(
        "Typed the code from the mail: approved = {}",
        verdict.is_approved()
    );
    if !verdict.is_approved() {
        return Err("the code from the mail did not verify".into());
    }
    Ok(())
}
