//! Store errors say which backend failed and how — unreachable, timed out,
//! pool exhausted — with no data in the text, so an application (or
//! seccode-server) can answer "unavailable, retry" rather than "internal
//! error", and log the cause.

#![allow(clippy::unwrap_used)]
// tests stop loudly on unexpected errors
// Without a networked store there is no server to be unreachable.
#![cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]

use seccode::{Error, StoreFault};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn assert_unreachable(e: &Error, backend: &str) {
    let failure = e.store_failure().expect("a classified store failure");
    assert_eq!(failure.backend(), backend);
    assert_eq!(failure.fault(), StoreFault::Unreachable, "{failure}");
    assert!(failure.is_unavailable());
}

#[cfg(feature = "redis")]
#[test]
fn redis_that_is_down_is_reported_unreachable_at_once() {
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let started = std::time::Instant::now();
    let e = runtime()
        .block_on(seccode::RedisStore::connect(&url))
        .unwrap_err();
    assert_unreachable(&e, "redis");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!e.store_failure().unwrap().to_string().contains("127.0.0.1"));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_that_is_down_is_reported_unreachable_at_once() {
    let url = format!(
        "postgres://seccode:secret-password@127.0.0.1:{}/db",
        closed_port()
    );
    let started = std::time::Instant::now();
    let e = runtime()
        .block_on(seccode::PostgresStore::connect(&url))
        .unwrap_err();
    assert_unreachable(&e, "postgres");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let text = format!("{} {:?}", e.store_failure().unwrap(), e);
    assert!(!text.contains("secret-password"), "{text}");
}

#[cfg(feature = "sqlite")]
#[test]
fn a_sqlite_file_that_cannot_be_opened_is_reported_unreachable() {
    let path = std::env::temp_dir()
        .join(format!("seccode-no-such-dir-{}", std::process::id()))
        .join("db.sqlite3");
    let e = seccode::SqliteStore::open(&path).unwrap_err();
    assert_unreachable(&e, "sqlite");
}

#[test]
fn a_store_failure_reads_back_from_the_error() {
    let e = Error::store(seccode::StoreFailure::new(
        "postgres",
        StoreFault::PoolExhausted,
        "no pooled connection came free",
    ));
    let failure = e.store_failure().unwrap();
    assert!(failure.is_unavailable());
    assert_eq!(
        failure.to_string(),
        "postgres pool exhausted (no pooled connection came free)"
    );
    // Any other error has none.
    assert!(Error::store("disk full").store_failure().is_none());
    assert!(Error::ChallengeNotFound.store_failure().is_none());
}
