//! The verification path, from one HMAC up to the service on a store holding one
//! million pending challenges. Figures and ratios are in BENCHMARKS.md.
//!
//! Run: `cargo bench -p seccode-benches --bench verify`

#![allow(clippy::unwrap_used)] // a benchmark whose set-up fails should stop loudly

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use rand::SeedableRng;
use rand::rngs::StdRng;
use seccode::SendOptions;
use seccode::store::{Challenge, Expected, SendKind};
use seccode::{
    AccountId, ChallengeId, Contact, Keyring, ManualClock, MemoryChallengeStore, Policy, Purpose,
    Rejection, SecretKey, SecurityCodes, Timestamp, Verification,
};
use sha2::Sha256;
use support::{Capture, config, ready, wrong};

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);
const PENDING: usize = 1_000_000;

fn keyring() -> Keyring {
    Keyring::new(1, SecretKey::from_bytes([0x42; 32]))
}

fn baseline(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    let keyed = Hmac::<Sha256>::new_from_slice(&[0x42; 32]).unwrap();
    let message = [7u8; 48];
    g.bench_function("hmac_sha256_48B_prekeyed_clone", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&message));
            black_box(mac.finalize().into_bytes())
        })
    });
    g.finish();
}

fn one_challenge(policy: &Policy) -> Challenge {
    let mut c = Challenge::issue(
        AccountId::new("account-000001").unwrap(),
        Purpose::Recovery,
        Contact::email("user000001@example.com").unwrap(),
        policy,
        1,
        &mut StdRng::seed_from_u64(1),
        T0,
    );
    c.record_send(SendKind::First, T0).unwrap();
    c
}

fn core(c: &mut Criterion) {
    let ring = keyring();
    let challenge = one_challenge(&Policy::default());
    let code = challenge.code(&ring).unwrap().expose().to_owned();
    let bad = wrong(&code);
    let expected = Expected {
        purpose: Purpose::Recovery,
        account: None,
    };
    let mut g = c.benchmark_group("core");

    let attempt = challenge.clone().begin_attempt(&expected, T0).unwrap();
    g.bench_function("derive_and_compare_right", |b| {
        b.iter(|| {
            assert_eq!(
                black_box(&attempt).check(&ring, black_box(&code)).unwrap(),
                Ok(())
            )
        })
    });
    g.bench_function("derive_and_compare_wrong", |b| {
        b.iter(|| {
            let r = black_box(&attempt).check(&ring, black_box(&bad)).unwrap();
            assert_eq!(r, Err(Rejection::WrongCode))
        })
    });

    // Begin (count the attempt), check, and approve on a fresh copy of the record.
    g.bench_function("verify_right", |b| {
        b.iter_batched_ref(
            || challenge.clone(),
            |c| {
                let attempt = c.begin_attempt(&expected, T0).unwrap();
                attempt.check(&ring, black_box(&code)).unwrap().unwrap();
                assert!(c.approve(&attempt).is_approved());
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("verify_wrong", |b| {
        b.iter_batched_ref(
            || challenge.clone(),
            |c| {
                let attempt = c.begin_attempt(&expected, T0).unwrap();
                assert!(attempt.check(&ring, black_box(&bad)).unwrap().is_err());
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("issue", |b| {
        let policy = Policy::default();
        let account = AccountId::new("account-000001").unwrap();
        let to = Contact::email("user000001@example.com").unwrap();
        let mut rng = StdRng::seed_from_u64(2);
        b.iter(|| {
            let mut c = Challenge::issue(
                account.clone(),
                Purpose::Recovery,
                to.clone(),
                &policy,
                1,
                &mut rng,
                T0,
            );
            c.record_send(SendKind::First, T0).unwrap();
            black_box(c.code(&ring).unwrap())
        })
    });
    g.finish();
}

type Service = SecurityCodes<MemoryChallengeStore, Arc<Capture>>;

/// One pending challenge and its right and wrong codes, inline (no pointer to
/// chase, so the harness adds no cache miss of its own).
struct Item {
    id: ChallengeId,
    right: [u8; 6],
    wrong: [u8; 6],
}

fn text(code: &[u8; 6]) -> &str {
    std::str::from_utf8(code).unwrap()
}

/// A memory store holding `size` pending challenges, one account and one
/// destination each. Each challenge allows ten attempts: one is spent warming a
/// wrong-guess pool, so it takes eight timed wrong guesses per challenge (one spare for
/// rounding between the one- and two-thread mappings) before it
/// must be rebuilt.
struct Pool {
    codes: Service,
    channel: Arc<Capture>,
    items: Vec<Item>,
    /// Items approved (right-code benchmark) or guesses made (wrong-code ones).
    used: usize,
}

impl Pool {
    fn new(size: usize) -> Self {
        Self::with_room(size, 4 * size.max(PENDING))
    }

    /// A pool of `size` in a store bounded at `capacity` challenges.
    fn with_room(size: usize, capacity: usize) -> Self {
        let channel = Arc::new(Capture::default());
        let clock = Arc::new(ManualClock::new(T0));
        let store = MemoryChallengeStore::with_capacity(capacity);
        let codes = SecurityCodes::new(store, channel.clone(), keyring())
            .with_clock(clock)
            .with_config(config());
        let mut pool = Pool {
            codes,
            channel,
            items: Vec::with_capacity(size),
            used: 0,
        };
        for i in 0..size {
            let (id, code) = pool.start(i);
            let right: [u8; 6] = code.as_bytes().try_into().unwrap();
            let wrong: [u8; 6] = wrong(&code).as_bytes().try_into().unwrap();
            pool.items.push(Item { id, right, wrong });
        }
        pool
    }

    fn start(&self, i: usize) -> (ChallengeId, String) {
        let account = AccountId::new(format!("account-{i:07}")).unwrap();
        let to = Contact::email(&format!("user{i:07}@example.com")).unwrap();
        let sent =
            ready(
                self.codes
                    .start(&account, Purpose::Recovery, &to, SendOptions::default()),
            )
            .unwrap();
        let code = self.channel.0.lock().unwrap().take().unwrap();
        (sent.id, code)
    }
}

/// Makes sure `slot` holds a pool of `size` with at least `need` uses left
/// (`per_item` uses per challenge), rebuilding it — untimed — otherwise.
fn pool(slot: &mut Option<Pool>, size: usize, per_item: usize, need: usize) -> &mut Pool {
    if slot
        .as_ref()
        .is_none_or(|p| p.used + need > p.items.len() * per_item)
    {
        *slot = None; // free the old store before building the next
        let pool = Pool::new(size);
        if per_item > 1 {
            // Wrong-guess pools: one untimed guess per challenge first, so that
            // every timed guess finds its account's failure counter in place and
            // the one- and two-thread runs measure the same work.
            for item in &pool.items {
                let v = ready(
                    pool.codes
                        .verify(&item.id, Purpose::Recovery, text(&item.wrong)),
                )
                .unwrap();
                assert!(matches!(v, Verification::Rejected { .. }));
            }
        }
        *slot = Some(pool);
    }
    slot.as_mut().unwrap()
}

/// Times `iters` wrong guesses spread over a pool of `size` challenges.
fn wrong_guesses(slot: &mut Option<Pool>, size: usize, iters: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let batch = left.min(size);
        let p = pool(slot, size, 8, batch);
        let start = Instant::now();
        for k in p.used..p.used + batch {
            let item = &p.items[k % size];
            let v = ready(
                p.codes
                    .verify(&item.id, Purpose::Recovery, text(&item.wrong)),
            )
            .unwrap();
            assert!(matches!(v, Verification::Rejected { .. }));
        }
        elapsed += start.elapsed();
        p.used += batch;
        left -= batch;
    }
    elapsed
}

fn service(c: &mut Criterion) {
    let mut g = c.benchmark_group("service_1M");
    g.sample_size(20).measurement_time(Duration::from_secs(10));

    let mut right: Option<Pool> = None;
    g.bench_function("verify_right", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let batch = left.min(PENDING);
                let p = pool(&mut right, PENDING, 1, batch);
                let start = Instant::now();
                for item in &p.items[p.used..p.used + batch] {
                    let v = ready(
                        p.codes
                            .verify(&item.id, Purpose::Recovery, text(&item.right)),
                    )
                    .unwrap();
                    assert!(v.is_approved());
                }
                elapsed += start.elapsed();
                p.used += batch;
                left -= batch;
            }
            elapsed
        })
    });
    drop(right);

    let mut wrong_pool: Option<Pool> = None;
    g.bench_function("verify_wrong", |b| {
        b.iter_custom(|iters| wrong_guesses(&mut wrong_pool, PENDING, iters))
    });

    // Two threads guessing on disjoint halves of the pool. Each call runs at least
    // 400 000 guesses so that starting the threads is noise, and reports the time
    // per guess across both threads (throughput = 1 / time).
    g.bench_function("verify_wrong_2_threads", |b| {
        b.iter_custom(|iters| {
            let total = (iters as usize).max(400_000).next_multiple_of(2);
            let per_thread = total / 2;
            let p = pool(&mut wrong_pool, PENDING, 8, total);
            let half = PENDING / 2;
            let base = p.used / 2;
            let p = &*p;
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    s.spawn(move || {
                        for k in base..base + per_thread {
                            let item = &p.items[t * half + k % half];
                            let v = ready(p.codes.verify(
                                &item.id,
                                Purpose::Recovery,
                                text(&item.wrong),
                            ))
                            .unwrap();
                            assert!(matches!(v, Verification::Rejected { .. }));
                        }
                    });
                }
            });
            let elapsed = start.elapsed();
            wrong_pool.as_mut().unwrap().used += total;
            elapsed.mul_f64(iters as f64 / total as f64)
        })
    });
    drop(wrong_pool);

    // Starting a challenge (issue + counters + insert + message) on a store that
    // already holds a million, with a channel that only keeps the code.
    // Criterion may call the closure more than once: the million is built on the
    // first call only (and not at all when a filter skips this benchmark).
    let account = AccountId::new("account-x").unwrap();
    let to: Vec<Contact> = (0..1000)
        .map(|i| Contact::email(&format!("other{i}@example.com")).unwrap())
        .collect();
    let mut filled: Option<Pool> = None;
    let mut i = 0;
    g.bench_function("start_no_delivery", |b| {
        // Room for the starts criterion times (about a million per second
        // over eight seconds) on top of the million.
        let p = filled.get_or_insert_with(|| Pool::with_room(PENDING, 32 * PENDING));
        b.iter(|| {
            i += 1;
            let sent = ready(p.codes.start(
                &account,
                Purpose::Recovery,
                &to[i % to.len()],
                SendOptions::default(),
            ))
            .unwrap();
            black_box(sent)
        })
    });
    g.finish();

    // The same guesses on a store of 10 000: what verification costs when the
    // records are in cache, i.e. without the DRAM misses of a large store.
    let mut g = c.benchmark_group("service_10k");
    let mut small: Option<Pool> = None;
    g.bench_function("verify_wrong", |b| {
        b.iter_custom(|iters| wrong_guesses(&mut small, 10_000, iters))
    });
    g.finish();
}

/// An authenticator app's code (TOTP) next to its floor: one HMAC-SHA1 over
/// 8 bytes from a keyed state (what one time step costs at least).
fn totp(c: &mut Criterion) {
    use seccode::{TotpAlgorithm, TotpSecret, TotpSettings};
    let mut g = c.benchmark_group("totp");
    let seed = [0x5a; 20];
    let keyed = Hmac::<sha1::Sha1>::new_from_slice(&seed).unwrap();
    let counter = 56_666_666u64.to_be_bytes();
    g.bench_function("floor_hmac_sha1_8B_prekeyed_clone", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&counter));
            mac.finalize().into_bytes()
        })
    });
    let settings = TotpSettings::default();
    let secret = TotpSecret::from_bytes(&seed);
    let now = 1_700_000_000u64;
    let right = settings.code_at(&secret, now).to_string();
    let rest = right.get(1..).unwrap_or_default();
    let wrong = if right.starts_with('9') {
        format!("0{rest}")
    } else {
        format!("9{rest}")
    };
    g.bench_function("code_at", |b| {
        b.iter(|| settings.code_at(black_box(&secret), black_box(now)))
    });
    // Three candidate steps (±1), each compared: the same work right or wrong.
    g.bench_function("check_right", |b| {
        b.iter(|| settings.matching_step(&secret, black_box(&right), now, None))
    });
    g.bench_function("check_wrong", |b| {
        b.iter(|| settings.matching_step(&secret, black_box(&wrong), now, None))
    });
    let exact = TotpSettings::new(TotpAlgorithm::Sha1, 6, 30, 0).unwrap();
    g.bench_function("check_right_no_skew", |b| {
        b.iter(|| exact.matching_step(&secret, black_box(&right), now, None))
    });
    g.finish();
}

criterion_group!(benches, baseline, core, service, totp);
criterion_main!(benches);
