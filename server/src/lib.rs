//! `seccode-server`: a self-hosted verification service built on
//! [`seccode`] that speaks Twilio Verify's v2 API, so an application using
//! Twilio's own SDK switches by changing one base URL.
//!
//! See `server/README.md` for configuration and what is implemented.

#![forbid(unsafe_code)]

pub mod cache;
mod channels;
pub mod config;
pub mod db;
mod events;
pub mod health;
mod http;
pub mod metrics;
pub mod params;
mod rules;
mod state;
pub mod store;
mod templates;

use std::sync::Arc;

pub use config::{Config, ConfigError};
pub use http::router;
pub use state::AppState;

/// Serves `config` until `shutdown` completes.
///
/// # Errors
///
/// The state cannot be built or the address cannot be bound.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let state = Arc::new(AppState::new(&config).await?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("listen: {}: {e}", config.listen))?;
    tracing::info!(address = %config.listen, "seccode-server listening");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries = tokio::spawn(events::deliver(state.clone(), stopped));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("serve: {e}"));
    let _ = stop.send(true);
    let _ = deliveries.await;
    served
}
