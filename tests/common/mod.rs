//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use seccode::SendOptions;
use seccode::{
    AccountSecurity, Keyring, ManualClock, MemoryAccountStore, MemoryChallengeStore, Outbox,
    SecretKey, SecurityCodes, Timestamp,
};

/// 2023-11-14T22:13:20Z: a fixed start for every manual clock.
pub const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

/// Runs a future that completes without waiting: the memory store and the outbox
/// never return `Pending`, so a test needs no runtime.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory future was not ready"),
    }
}

pub type MemoryCodes = SecurityCodes<MemoryChallengeStore, Arc<Outbox>>;

/// A service on memory, an outbox and a manual clock at [`T0`], with a fixed key.
pub fn memory_service() -> (MemoryCodes, Arc<Outbox>, Arc<ManualClock>) {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x5e; 32]));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), keyring)
        .with_clock(clock.clone());
    (codes, outbox, clock)
}

pub type MemoryFlows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

/// The account flows on memory stores (`challenges` for codes and counters), an
/// outbox and a manual clock at [`T0`].
pub fn memory_flows(
    keyring: Keyring,
    challenges: MemoryChallengeStore,
) -> (MemoryFlows, Arc<Outbox>, Arc<ManualClock>) {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let codes = SecurityCodes::new(challenges, outbox.clone(), keyring).with_clock(clock.clone());
    (
        AccountSecurity::new(codes, MemoryAccountStore::new()),
        outbox,
        clock,
    )
}

/// A code of the same format that differs from `code` in its first digit.
pub fn wrong_code(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[0] = if chars[0] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// A fresh, empty directory for this test process, removed when dropped.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("seccode-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    TempDir(dir)
}

/// See [`temp_dir`].
pub struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[path = "redis_server.rs"]
mod redis_server;
#[allow(unused_imports)] // not every test binary starts a server
pub use redis_server::{RedisCluster, RedisServer};

#[cfg(feature = "postgres")]
#[path = "postgres_server.rs"]
mod postgres_server;
#[cfg(feature = "postgres")]
#[allow(unused_imports)] // not every test binary starts a server
pub use postgres_server::PostgresServer;

#[cfg(feature = "smtp")]
#[path = "smtp_server.rs"]
mod smtp_server;
#[cfg(feature = "smtp")]
#[allow(unused_imports)] // not every test binary starts a server
pub use smtp_server::{Saved, SmtpServer};

#[cfg(feature = "http")]
#[path = "http_server.rs"]
mod http_server;
#[cfg(feature = "http")]
#[allow(unused_imports)] // not every test binary starts a server
pub use http_server::{HttpServer, Request};

/// Starts `n` codes at once to one destination, each for its own account,
/// spread over one service per store in `stores` (one per app server), with
/// limits roomy enough that none refuses; on `rt`: the errors, and the
/// destination's send count afterwards.
pub fn concurrent_starts<S>(
    rt: &tokio::runtime::Runtime,
    stores: Vec<S>,
    n: usize,
) -> (Vec<seccode::Error>, Option<u32>)
where
    S: seccode::store::ChallengeStore + Send + Sync + 'static,
{
    let hour = std::time::Duration::from_secs(3600);
    let limits = seccode::Limits::builder()
        .destination_sends(1000, hour)
        .send_caps(1000, 1000, 1000, hour)
        .build()
        .unwrap();
    let services: Vec<Arc<SecurityCodes<S, Outbox>>> = stores
        .into_iter()
        .map(|store| {
            let keyring = Keyring::new(1, SecretKey::from_bytes([1; 32]));
            Arc::new(
                SecurityCodes::new(store, Outbox::new(), keyring)
                    .with_config(seccode::Config::default().with_limits(limits)),
            )
        })
        .collect();
    use seccode::store::CounterKey;
    use seccode::{AccountId, Contact, Purpose};
    let to = Contact::email("victim@example.org").unwrap();
    let results: Vec<_> = rt.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let (codes, to) = (services[i % services.len()].clone(), to.clone());
                tokio::spawn(async move {
                    let account = AccountId::new(format!("user-{i}")).unwrap();
                    codes
                        .start(
                            &account,
                            Purpose::AddSecurityInfo,
                            &to,
                            SendOptions::default(),
                        )
                        .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let errors = results.into_iter().filter_map(Result::err).collect();
    let count = rt
        .block_on(
            services[0]
                .store()
                .get_counter(&CounterKey::destination_sends(&to)),
        )
        .unwrap()
        .map(|c| c.count);
    (errors, count)
}
