//! A code that survives a restart: the challenge lives in a SQLite file, the
//! service is dropped ("the server restarts"), a new one opens the same file and
//! the code still verifies — once. With `--redis URL` the same flow runs on a
//! Redis server instead, as two app servers sharing it would.
//!
//! Run: `cargo run --features sqlite,redis --example persistent [-- --sqlite PATH | --redis redis://127.0.0.1:6379/]`

use std::sync::Arc;

use seccode::SendOptions;
use seccode::store::ChallengeStore;
use seccode::{
    AccountId, Contact, Keyring, Outbox, Purpose, RedisStore, SecretKey, SecurityCodes,
    SqliteStore, Verification,
};

/// The key must outlive the server too: in production it comes from your secrets
/// manager. Here: a fixed demo key.
fn keyring() -> Keyring {
    Keyring::new(
        1,
        SecretKey::from_bytes(*b"demo key: never use in prod!!!!!"),
    )
}

/// Server A sends a code through `first`; server B checks it through `second`,
/// opened later on the same data.
async fn code_outlives_its_server<S: ChallengeStore>(
    first: S,
    second: impl AsyncFnOnce() -> Result<S, seccode::Error>,
) -> Result<(), Box<dyn std::error::Error>> {
    let outbox = Arc::new(Outbox::new());
    let account = AccountId::new("user-42")?;
    let phone = Contact::phone("+1 425 555 0123")?;
    let sent = {
        let a = SecurityCodes::new(first, outbox.clone(), keyring());
        let sent = a
            .start(
                &account,
                Purpose::IdentityCheck,
                &phone,
                SendOptions::default(),
            )
            .await?;
        println!(
            "   server A sent a code to {} (challenge {})",
            sent.destination, sent.id
        );
        sent
    }; // server A stops here
    println!(
        "   [message] {}",
        outbox.last().ok_or("empty outbox")?.body()
    );
    let code = outbox.last_code_to(&phone).ok_or("no code was sent")?;

    let b = SecurityCodes::new(second().await?, outbox.clone(), keyring());
    match b
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?
    {
        Verification::Approved(proof) => println!("   server B: approved for {}", proof.account()),
        other => return Err(format!("expected approval, got {other:?}").into()),
    }
    let again = b
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await?;
    println!("   the same code again: {again:?}");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };

    if let Some(url) = value("--redis") {
        println!("Two app servers share the Redis at {url}:");
        let first = RedisStore::connect(url).await?;
        return code_outlives_its_server(first, async || RedisStore::connect(url).await).await;
    }

    let temporary = value("--sqlite").is_none();
    let path = match value("--sqlite") {
        Some(p) => p.into(),
        None => {
            std::env::temp_dir().join(format!("seccode-persistent-{}.sqlite3", std::process::id()))
        }
    };
    println!("A server restarts on the SQLite file {}:", path.display());
    let first = SqliteStore::open(&path)?;
    code_outlives_its_server(first, async || SqliteStore::open(&path)).await?;
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}
