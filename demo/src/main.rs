//! `seccode-demo`: a Microsoft account's security-info pages as a web app on the seccode
//! library — sign in, Security → Security basics → Update info, add security
//! info, change phone number, recover your account — with a dev mailbox.
//!
//! Run: `cargo run -p seccode-demo` (then open http://localhost:3000). Options:
//! `--listen ADDR` (default 127.0.0.1:3000) and `--db PATH` (default
//! ./seccode-demo.db). Several processes on one database file serve the same
//! site: no sticky sessions (sessions are signed cookies, flow state travels in
//! the pages, proofs are sealed and single use in the shared store).

#![forbid(unsafe_code)]

mod account;
mod app;
mod mailbox;
mod recover;
mod recovery_code;
mod remove;
mod state;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::routing::{get, post};

struct Config {
    listen: SocketAddr,
    db: PathBuf,
}

fn config() -> Result<Config, String> {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        db: PathBuf::from("seccode-demo.db"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg}: a value is missing"))?;
        match arg.as_str() {
            "--listen" => {
                config.listen = value.parse().map_err(|_| {
                    format!("--listen: not an address such as 127.0.0.1:3000: {value}")
                })?;
            }
            "--db" => config.db = PathBuf::from(value),
            other => {
                return Err(format!(
                    "unknown option {other} (options: --listen ADDR, --db PATH)"
                ));
            }
        }
    }
    Ok(config)
}

fn router(state: std::sync::Arc<state::AppState>) -> Router {
    Router::new()
        .route("/", get(account::home))
        .route("/signin", get(account::signin_page).post(account::signin))
        .route("/signout", post(account::signout))
        .route("/security", get(account::security))
        .route("/security/basics", get(account::basics))
        .route("/security/info", get(account::info))
        .route(
            "/security/info/add",
            get(account::add_page).post(account::add),
        )
        .route(
            "/security/info/verify",
            get(account::verify_page).post(account::verify),
        )
        .route("/security/info/verify/resend", post(account::verify_resend))
        .route(
            "/security/info/change-phone",
            get(account::change_phone_page).post(account::change_phone),
        )
        .route(
            "/security/info/change-phone/code",
            get(account::change_phone_code_page).post(account::change_phone_code),
        )
        .route(
            "/security/info/change-phone/code/resend",
            post(account::change_phone_resend),
        )
        .route(
            "/security/info/change-phone/remove",
            get(account::remove_page).post(account::remove),
        )
        .route(
            "/security/info/remove",
            get(remove::remove_page).post(remove::remove_start),
        )
        .route(
            "/security/info/remove/code",
            get(remove::remove_code_page).post(remove::remove_code),
        )
        .route(
            "/security/info/remove/code/resend",
            post(remove::remove_resend),
        )
        .route("/security/app/add", post(app::start))
        .route("/security/app/verify", post(app::verify))
        .route("/security/recovery-code/app", post(recovery_code::with_app))
        .route(
            "/security/recovery-code",
            get(recovery_code::settings_page).post(recovery_code::start),
        )
        .route(
            "/security/recovery-code/code",
            get(recovery_code::code_page).post(recovery_code::code),
        )
        .route(
            "/security/recovery-code/code/resend",
            post(recovery_code::resend),
        )
        .route(
            "/recover/recovery-code",
            get(recovery_code::recover_page).post(recovery_code::recover),
        )
        .route("/recover", get(recover::start_page).post(recover::start))
        .route(
            "/recover/choose",
            get(recover::choose_page).post(recover::choose),
        )
        .route("/recover/code", get(recover::code_page).post(recover::code))
        .route("/recover/code/resend", post(recover::code_resend))
        .route("/recover/app", get(recover::app_page).post(recover::app))
        .route("/recover/confirm", get(recover::confirm_page))
        .route(
            "/recover/password",
            get(recover::password_page).post(recover::password),
        )
        .route("/mailbox", get(mailbox::mailbox))
        .fallback(web::not_found)
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = config().map_err(|e| format!("seccode-demo: {e}"))?;
    let state = state::open(&config.db).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    eprintln!(
        "seccode-demo: http://{} on {}",
        listener.local_addr()?,
        config.db.display()
    );
    // The client's address names the requester of a recovery code.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
