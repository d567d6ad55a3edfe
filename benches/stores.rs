//! The verification path on the persistent backends, each next to its own floor
//! measured in the same run: for SQLite one point update in a `BEGIN IMMEDIATE`
//! transaction on a file with the store's settings (WAL, `synchronous = FULL`);
//! for Redis one round trip (`PING`) to a `redis-server` on loopback that the
//! bench starts itself; for PostgreSQL one `UPDATE … RETURNING` (prepared, in
//! its own transaction) on a server the bench starts itself.
//!
//! Run: `cargo bench -p seccode-benches --features sqlite,redis,postgres --bench stores`

// A benchmark whose set-up fails should stop loudly; without a backend feature
// there is nothing to measure.
#![allow(clippy::unwrap_used)]
#![cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code, unused_imports)
)]

use std::sync::Arc;
use std::time::Duration;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use seccode::SendOptions;
use seccode::store::ChallengeStore;
use seccode::{
    AccountId, ChallengeId, Contact, Keyring, Purpose, SecretKey, SecurityCodes, Verification,
};
use support::{Capture, config, wrong};

/// Issues challenges on `codes`, one account and destination each.
async fn issue<S: ChallengeStore>(
    codes: &SecurityCodes<S, Arc<Capture>>,
    from: usize,
    n: usize,
) -> Vec<(ChallengeId, String)> {
    let mut out = Vec::with_capacity(n);
    for i in from..from + n {
        let account = AccountId::new(format!("account-{i}")).unwrap();
        let to = Contact::email(&format!("user{i}@example.com")).unwrap();
        let sent = codes
            .start(&account, Purpose::Recovery, &to, SendOptions::default())
            .await
            .unwrap();
        let code = codes.channel().0.lock().unwrap().take().unwrap();
        out.push((sent.id, code));
    }
    out
}

/// Start, wrong guess and right guess on one backend.
fn bench_backend<S: ChallengeStore>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    codes: &SecurityCodes<S, Arc<Capture>>,
) {
    let mut next = 0;
    g.bench_function("start", |b| {
        b.iter(|| {
            next += 1;
            rt.block_on(issue(codes, next, 1))
        })
    });
    let mut pool: Vec<(ChallengeId, String)> = Vec::new();
    let mut issued = 1_000_000;
    g.bench_function("verify_wrong", |b| {
        b.iter_custom(|iters| {
            // Nine wrong guesses per challenge at most (ten are allowed): issue
            // enough outside the timing.
            let needed = (iters as usize).div_ceil(9);
            if pool.len() < needed {
                pool = rt.block_on(issue(codes, issued, needed));
                issued += needed;
            }
            let batch: Vec<_> = pool.drain(..needed).collect();
            let start = std::time::Instant::now();
            for n in 0..iters as usize {
                let (id, code) = &batch[n / 9];
                let v = rt
                    .block_on(codes.verify(id, Purpose::Recovery, &wrong(code)))
                    .unwrap();
                assert!(matches!(v, Verification::Rejected { .. }));
            }
            start.elapsed()
        })
    });
    let mut j = 0;
    let mut fresh = Vec::new();
    g.bench_function("verify_right", |b| {
        b.iter_custom(|iters| {
            // Each approval spends a challenge: issue them outside the timing.
            if fresh.len() < iters as usize {
                fresh = rt.block_on(issue(codes, 2_000_000 + j, iters as usize));
                j += iters as usize;
            }
            let batch: Vec<_> = fresh.drain(..iters as usize).collect();
            let start = std::time::Instant::now();
            for (id, code) in &batch {
                let v = rt
                    .block_on(codes.verify(id, Purpose::Recovery, code))
                    .unwrap();
                assert!(v.is_approved());
            }
            start.elapsed()
        })
    });
}

#[cfg(feature = "sqlite")]
fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("seccode-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("sqlite");
    g.sample_size(20).measurement_time(Duration::from_secs(8));

    // The floor: one point update per transaction, same pragmas as the store.
    let floor_path = dir.join("floor.sqlite3");
    let conn = rusqlite::Connection::open(&floor_path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t VALUES (1, 0);",
    )
    .unwrap();
    g.bench_function("floor_point_update", |b| {
        b.iter(|| {
            conn.execute_batch("BEGIN IMMEDIATE; UPDATE t SET v = v + 1 WHERE id = 1; COMMIT;")
                .unwrap()
        })
    });

    let channel = Arc::new(Capture::default());
    let store = seccode::SqliteStore::open(dir.join("codes.sqlite3")).unwrap();
    let codes = SecurityCodes::new(
        store,
        channel,
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    )
    .with_config(config());
    bench_backend(&mut g, &rt, &codes);
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "redis")]
#[path = "../tests/common/redis_server.rs"]
#[allow(dead_code)] // the tests use more of it (clusters)
mod redis_server;

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    let server = redis_server::RedisServer::start("bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(seccode::RedisStore::connect(&server.url))
        .unwrap();
    let mut g = c.benchmark_group("redis");
    g.bench_function("floor_ping", |b| {
        b.iter(|| rt.block_on(store.ping()).unwrap())
    });
    let codes = SecurityCodes::new(
        store,
        Arc::new(Capture::default()),
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    )
    .with_config(config());
    bench_backend(&mut g, &rt, &codes);
    g.finish();
}

#[cfg(feature = "postgres")]
#[path = "../tests/common/postgres_server.rs"]
#[allow(dead_code)] // the tests use more of it (dumps)
mod postgres_server;

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use seccode::store::tokio_postgres;

    let server = postgres_server::PostgresServer::start("bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server.database("bench");
    let mut g = c.benchmark_group("postgres");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    // The floor: one `UPDATE … RETURNING` round trip (a prepared statement, its
    // own transaction and commit), on the same server.
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(
                "CREATE TABLE floor (id integer PRIMARY KEY, v bigint NOT NULL); \
                 INSERT INTO floor VALUES (1, 0);",
            )
            .await
            .unwrap();
        client
    });
    let update = rt
        .block_on(client.prepare("UPDATE floor SET v = v + 1 WHERE id = 1 RETURNING v"))
        .unwrap();
    g.bench_function("floor_update_returning", |b| {
        b.iter(|| rt.block_on(client.query_one(&update, &[])).unwrap())
    });
    let store = rt.block_on(seccode::PostgresStore::connect(&url)).unwrap();
    let codes = SecurityCodes::new(
        store,
        Arc::new(Capture::default()),
        Keyring::new(1, SecretKey::from_bytes([4; 32])),
    )
    .with_config(config());
    bench_backend(&mut g, &rt, &codes);
    g.finish();
}

fn stores(c: &mut Criterion) {
    #[cfg(feature = "sqlite")]
    sqlite(c);
    #[cfg(feature = "postgres")]
    postgres(c);
    #[cfg(feature = "redis")]
    redis(c);
    let _ = c;
}

criterion_group!(benches, stores);
criterion_main!(benches);
