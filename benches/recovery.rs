//! Recovery answers for identifiers an account has and for identifiers none has
//! must take the same time (OWASP ASVS 5.0 §6.3.8). This bench measures each
//! recovery step for both, interleaved pair by pair in a random order, on the
//! memory stores and on SQLite, and reports the medians, their difference and the
//! two-sample Kolmogorov–Smirnov statistic D (the largest gap between the two
//! empirical distributions: 0 when they coincide, 1 when every sample of one is
//! faster than every sample of the other).
//!
//! Every sample uses a fresh identifier of the same length (`k000042@…` for an
//! account, `u000042@…` for none), so no limit or cache of an earlier sample
//! interferes; the accounts follow the default decoy profile, as the made-up
//! answers do. The channel accepts messages and does nothing, so only the crate's
//! own work is compared.
//!
//! Run: `cargo bench -p seccode-benches --features sqlite --bench recovery` (`SAMPLES=…` to change
//! the 3 000 pairs per step). With `--features postgres` and
//! `SECCODE_BENCH_POSTGRES=postgres://…` (an empty database the bench may fill)
//! it measures PostgreSQL too.

#![allow(clippy::unwrap_used)] // a benchmark whose set-up fails should stop loudly

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use seccode::channel::{BoxError, DeliveryChannel, Message};
use seccode::store::{AccountStore, ChallengeStore};
use seccode::{
    Account, AccountId, AccountSecurity, Contact, Error, FlowSettings, Keyring, ManualClock,
    SecretKey, SecurityCodes, Timestamp,
};

/// Accepts every message and does nothing with it.
struct Null;

impl DeliveryChannel for Null {
    async fn deliver(&self, _message: &Message) -> Result<(), BoxError> {
        Ok(())
    }
}

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

fn identifier(known: bool, i: usize) -> String {
    format!("{}{i:06}@example.com", if known { 'k' } else { 'u' })
}

/// Accounts `0..n`, each with its `k…` address and 0 to 3 more contacts drawn as
/// the default decoy profile draws them.
fn accounts(n: usize) -> Vec<Account> {
    let mut rng = StdRng::seed_from_u64(42);
    (0..n)
        .map(|i| {
            let mut a = Account::new(AccountId::new(format!("user-{i}")).unwrap())
                .with_verified_contact(Contact::email(&identifier(true, i)).unwrap(), T0)
                .unwrap();
            let extra = [0, 1, 2, 3][weighted(&mut rng, &[30, 45, 20, 5])];
            for j in 0..extra {
                let c = if rng.random_bool(0.5) {
                    Contact::email(&format!("other{i}x{j}@gmail.com")).unwrap()
                } else {
                    Contact::phone(&format!("+4474{:08}", i * 4 + j)).unwrap()
                };
                a = a.with_verified_contact(c, T0).unwrap();
            }
            a
        })
        .collect()
}

fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let mut x = rng.random_range(0..weights.iter().sum::<u32>());
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// Medians, their difference and the KS statistic of two samples (nanoseconds).
struct Compared {
    known: f64,
    unknown: f64,
    diff_percent: f64,
    ks_d: f64,
}

fn compare(mut known: Vec<u64>, mut unknown: Vec<u64>) -> Compared {
    known.sort_unstable();
    unknown.sort_unstable();
    let median = |v: &[u64]| v[v.len() / 2] as f64;
    let (mk, mu) = (median(&known), median(&unknown));
    // KS: walk both sorted samples, tracking the gap between the empirical CDFs.
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < known.len() && j < unknown.len() {
        let x = known[i].min(unknown[j]);
        while i < known.len() && known[i] == x {
            i += 1;
        }
        while j < unknown.len() && unknown[j] == x {
            j += 1;
        }
        let gap = (i as f64 / known.len() as f64 - j as f64 / unknown.len() as f64).abs();
        d = d.max(gap);
    }
    Compared {
        known: mk,
        unknown: mu,
        diff_percent: (mu - mk) / mk * 100.0,
        ks_d: d,
    }
}

/// Times `step(known, i)` and `step(unknown, i)` for `n` pairs in a random order
/// within each pair, after `warm` unmeasured pairs.
fn interleaved(n: usize, warm: usize, mut step: impl FnMut(bool, usize)) -> Compared {
    let mut rng = StdRng::seed_from_u64(7);
    let (mut known, mut unknown) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..warm + n {
        let first_known = rng.random_bool(0.5);
        for known_now in [first_known, !first_known] {
            let t = Instant::now();
            step(known_now, i);
            let ns = t.elapsed().as_nanos() as u64;
            if i >= warm {
                if known_now {
                    known.push(ns);
                } else {
                    unknown.push(ns);
                }
            }
        }
    }
    compare(known, unknown)
}

fn report(backend: &str, step: &str, c: &Compared) {
    println!(
        "| {backend} | {step} | {:.0} ns | {:.0} ns | {:+.2} % | {:.3} |",
        c.known, c.unknown, c.diff_percent, c.ks_d
    );
}

/// All three steps on one pair of stores; `block_on` drives a future to completion.
fn measure<A, S, B>(backend: &str, accounts_store: A, challenges: S, block_on: B, n: usize)
where
    A: AccountStore,
    S: ChallengeStore,
    B: Fn(std::pin::Pin<Box<dyn Future<Output = ()> + '_>>),
{
    let warm = n / 10;
    let total = warm + n;
    let clock = std::sync::Arc::new(ManualClock::new(T0));
    let keyring = Keyring::new(1, SecretKey::from_bytes([9; 32]))
        .with_recovery_secret(SecretKey::from_bytes([10; 32]));
    let codes = SecurityCodes::new(challenges, Null, keyring)
        .with_clock(clock)
        .with_config(support::config());
    let settings = FlowSettings::default().with_recovery_lifetime(Duration::from_secs(86400));
    let flows = AccountSecurity::new(codes, accounts_store).with_settings(settings);
    // Three fresh identifiers per pair and step: start, wrong, right.
    for account in accounts(3 * total) {
        block_on(Box::pin(async {
            flows.accounts().create(account).await.unwrap();
        }));
    }
    let token = |known: bool, i: usize| {
        let mut out = None;
        block_on(Box::pin(async {
            let start = flows.start_recovery(&identifier(known, i)).await.unwrap();
            let index = start
                .choices
                .iter()
                .position(|c| c.contact == Contact::email(&identifier(known, i)).unwrap().masked())
                .unwrap();
            out = Some((start.token, index));
        }));
        out.unwrap()
    };

    let c = interleaved(n, warm, |known, i| {
        block_on(Box::pin(async {
            std::hint::black_box(flows.start_recovery(&identifier(known, i)).await.unwrap());
        }))
    });
    report(backend, "`start_recovery`", &c);

    let tokens: Vec<_> = (0..total)
        .map(|i| (token(true, total + i), token(false, total + i)))
        .collect();
    let c = interleaved(n, warm, |known, i| {
        let (token, index) = if known { &tokens[i].0 } else { &tokens[i].1 };
        block_on(Box::pin(async {
            let e = flows
                .choose_recovery_contact(token, *index, "wrong@example.com", None)
                .await;
            assert!(matches!(e, Err(Error::ContactProofFailed)), "{e:?}");
        }))
    });
    report(backend, "`choose_recovery_contact`, wrong", &c);

    let tokens: Vec<_> = (0..total)
        .map(|i| (token(true, 2 * total + i), token(false, 2 * total + i)))
        .collect();
    let c = interleaved(n, warm, |known, i| {
        let (token, index) = if known { &tokens[i].0 } else { &tokens[i].1 };
        let typed = identifier(known, 2 * total + i);
        block_on(Box::pin(async {
            std::hint::black_box(
                flows
                    .choose_recovery_contact(token, *index, &typed, None)
                    .await
                    .unwrap(),
            );
        }))
    });
    report(backend, "`choose_recovery_contact`, right", &c);
}

fn main() {
    let n: usize = std::env::var("SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    println!("| backend | step | known (median) | unknown (median) | difference | KS D |");
    println!("|---|---|---|---|---|---|");
    measure(
        "memory",
        seccode::MemoryAccountStore::new(),
        seccode::MemoryChallengeStore::new(),
        |f| support::ready(f),
        n,
    );
    #[cfg(feature = "sqlite")]
    {
        let dir =
            std::env::temp_dir().join(format!("seccode-bench-recovery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store =
            std::sync::Arc::new(seccode::SqliteStore::open(dir.join("db.sqlite3")).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        measure("SQLite", store.clone(), store, |f| rt.block_on(f), n);
        let _ = std::fs::remove_dir_all(&dir);
    }
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("SECCODE_BENCH_POSTGRES") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store =
            std::sync::Arc::new(rt.block_on(seccode::PostgresStore::connect(&url)).unwrap());
        measure("PostgreSQL", store.clone(), store, |f| rt.block_on(f), n);
    }
}
