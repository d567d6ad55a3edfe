//! A code that survives a restart: the challenge lives in a SQLite file, the
//! service is dropped ("the server restarts"), a new one opens the same file and
//! the code still verifies — once. With `--redis URL` the same flow runs on a
//! Redis server instead, as two app servers sharing it would.
//!
//! Run: `cargo run --features sqlite,redis --example persistent [-- --sqlite PATH | --redis redis://127.0.0.1:6379/]`

use std::sync::Arc;

use seccode::{
    AccountId, Contact, Keyring, Outbox, Purpose, SecretKey, SecurityCodes, SqliteStore,
    Verification,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--redis") {
        let url = args.get(i + 1).ok_or("--redis needs a URL")?;
        return on_redis(url).await;
    }
    let path = match args.iter().position(|a| a == "--sqlite") {
        Some(i) => args.get(i + 1).ok_or("--sqlite needs a path")?.into(),
        None => {
            std::env::temp_dir().join(format!("seccode-persistent-{}.sqlite3", std::process::id()))
        }
    };
    // The key must survive the restart too: in production it comes from your
    // secrets manager. Here: a fixed demo key.
    let key = || {
        Keyring::new(
            1,
            SecretKey::from_bytes(*b"demo key: never use in prod!!!!!"),
        )
    };
    let outbox = Arc::new(Outbox::new());
    let account = AccountId::new("user-42")?;
    let phone = Contact::phone("+1 425 555 0123")?;

    println!("1. Server A opens {}", path.display());
    let sent = {
        let codes = SecurityCodes::new(SqliteStore::open(&path)?, outbox.clone(), key());
        let sent = codes
            .start(&account, Purpose::IdentityCheck, &phone)
            .await?;
        println!(
            "   sent a code to {} (challenge {})",
            sent.destination, sent.id
        );
        sent
    }; // server A stops here: its store and worker thread are gone
    let code = outbox.last_code_to(&phone).ok_or("no code was sent")?;
    println!(
        "   [message] {}",
        outbox.last().ok_or("empty outbox")?.body()
    );

    println!("2. Server A restarts as server B on the same file");
    let codes = SecurityCodes::new(SqliteStore::open(&path)?, outbox.clone(), key());
    match codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?
    {
        Verification::Approved(proof) => println!("   approved for {}", proof.account()),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }
    let again = codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?;
    println!("3. The same code again: {again:?}");

    if !args.iter().any(|a| a == "--sqlite") {
        drop(codes);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}

/// The same flow with two "app servers" sharing one Redis.
async fn on_redis(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    use seccode::RedisStore;
    let key = || {
        Keyring::new(
            1,
            SecretKey::from_bytes(*b"demo key: never use in prod!!!!!"),
        )
    };
    let outbox = Arc::new(Outbox::new());
    let account = AccountId::new("user-42")?;
    let phone = Contact::phone("+1 425 555 0123")?;
    println!("1. App server A, connected to {url}, sends a code");
    let a = SecurityCodes::new(RedisStore::connect(url).await?, outbox.clone(), key());
    let sent = a.start(&account, Purpose::IdentityCheck, &phone).await?;
    println!(
        "   sent a code to {} (challenge {})",
        sent.destination, sent.id
    );
    let code = outbox.last_code_to(&phone).ok_or("no code was sent")?;
    println!("2. App server B, on the same Redis, checks it");
    let b = SecurityCodes::new(RedisStore::connect(url).await?, outbox.clone(), key());
    match b
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?
    {
        Verification::Approved(proof) => println!("   approved for {}", proof.account()),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }
    let again = a
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?;
    println!("3. The same code again, on server A: {again:?}");
    Ok(())
}
