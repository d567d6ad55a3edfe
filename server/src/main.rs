//! The `seccode-server` binary: `seccode-server [--config FILE] [--check-config]`.

use std::path::PathBuf;
use std::process::ExitCode;

use seccode_server::Config;

const USAGE: &str = "usage: seccode-server [--config FILE] [--check-config]
       seccode-server [--config FILE] key create --account AC… [--name NAME]
       seccode-server [--config FILE] key revoke SK…

Runs a Twilio Verify v2 compatible API on seccode. Settings come from FILE (TOML;
default ./seccode.toml when it exists) and SECCODE_* environment variables; see
server/README.md. --check-config validates them and exits. `key create` makes an
API key for a configured account and prints its SID and secret (shown once;
stored as a SHA-256); `key revoke` deletes one.";

/// `key create --account AC… [--name NAME]` and `key revoke SK…`.
fn keys(config: &Config, args: &[String]) -> ExitCode {
    let fail = |message: &str| {
        eprintln!("{message}\n\n{USAGE}");
        ExitCode::from(2)
    };
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("runtime: {e}")),
    };
    let opened = match &config.database_url {
        Some(url) => runtime.block_on(seccode_server::db::Db::connect(url)),
        None => seccode_server::db::Db::open(&config.database),
    };
    let db = match opened {
        Ok(db) => db,
        Err(e) => return fail(&e.to_string()),
    };
    match args.first().map(String::as_str) {
        Some("create") => {
            let Some(account) = value("--account") else {
                return fail("key create needs --account AC…");
            };
            if !config.accounts.iter().any(|a| a.sid == account) {
                return fail("--account: not an account of this configuration");
            }
            let name = value("--name").unwrap_or_default();
            let now = seccode_server::config::now_ms();
            match runtime.block_on(db.create_key(&account, &name, now)) {
                Ok((sid, secret)) => {
                    println!("sid {sid}\nsecret {secret}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Some("revoke") => {
            let Some(sid) = args.get(1) else {
                return fail("key revoke needs the key's SID");
            };
            match runtime.block_on(db.revoke_key(sid)) {
                Ok(true) => {
                    println!("revoked {sid}");
                    ExitCode::SUCCESS
                }
                Ok(false) => fail("no such key"),
                Err(e) => fail(&e.to_string()),
            }
        }
        _ => fail("key: create or revoke"),
    }
}

fn main() -> ExitCode {
    let mut config_path: Option<PathBuf> = None;
    let mut check_only = false;
    let mut key_command: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "key" => {
                key_command = args.by_ref().collect();
                break;
            }
            "--config" => match args.next() {
                Some(p) => config_path = Some(PathBuf::from(p)),
                None => {
                    eprintln!("--config needs a file\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--check-config" => check_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if config_path.is_none() && std::path::Path::new("seccode.toml").exists() {
        config_path = Some(PathBuf::from("seccode.toml"));
    }
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        println!("configuration ok");
        return ExitCode::SUCCESS;
    }
    if !key_command.is_empty() {
        return keys(&config, &key_command);
    }
    tracing_subscriber::fmt()
        // Colours only on a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
                // The pool warns once per lost connection; a store's loss and
                // return are logged once each by the server (`health`).
                .add_directive("deadpool=error".parse().unwrap_or_default()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("shutting down");
    };
    match runtime.block_on(seccode_server::serve(config, shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seccode-server: {e}");
            ExitCode::FAILURE
        }
    }
}
