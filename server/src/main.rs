//! The `seccode-server` binary: `seccode-server [--config FILE] [--check-config]`.

use std::path::PathBuf;
use std::process::ExitCode;

use seccode_server::Config;

const USAGE: &str = "usage: seccode-server [--config FILE] [--check-config]

Runs a Twilio Verify v2 compatible API on seccode. Settings come from FILE (TOML;
default ./seccode.toml when it exists) and SECCODE_* environment variables; see
server/README.md. --check-config validates them and exits.";

fn main() -> ExitCode {
    let mut config_path: Option<PathBuf> = None;
    let mut check_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
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
