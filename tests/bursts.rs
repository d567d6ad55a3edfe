//! PostgreSQL under a burst: 400 starts at once to one destination, over four
//! stores with their default pools (four app servers). They contend for the
//! destination's counter rows; each waits for a connection (bounded by
//! `PostgresStore::POOL_WAIT`) instead of failing at the pool, and every one
//! is counted.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use seccode::PostgresStore;

#[test]
fn four_hundred_concurrent_starts_on_postgres_wait_for_the_pool_and_all_count() {
    let server = common::PostgresServer::start("bursts");
    let url = server.database("bursts");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = (0..4)
        .map(|_| rt.block_on(PostgresStore::connect(&url)).unwrap())
        .collect();
    let (failed, count) = common::concurrent_starts(&rt, stores, 400);
    eprintln!(
        "400 concurrent starts over 4 stores: {} errors",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(count, Some(400));
}
