//! The verification path, from one HMAC up to the service on a store holding one
//! million pending challenges. Figures and ratios are in BENCHMARKS.md.
//!
//! Run: `cargo bench --bench verify`

#![allow(clippy::unwrap_used)] // a benchmark whose set-up fails should stop loudly

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use rand::SeedableRng;
use rand::rngs::StdRng;
use seccode::{
    AccountId, BoxError, Challenge, ChallengeId, Config, Contact, DeliveryChannel, Expected,
    Keyring, Limits, ManualClock, MemoryChallengeStore, Message, Policy, Purpose, Rejection,
    SecretKey, SecurityCodes, SendKind, Timestamp, Verification,
};
use sha2::Sha256;

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);
const PENDING: usize = 1_000_000;

/// The memory store's futures are always ready: poll once, no runtime in the way.
fn ready<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("not ready"),
    }
}

/// Keeps the last code instead of sending it.
#[derive(Default)]
struct Capture(Mutex<Option<String>>);

impl DeliveryChannel for Capture {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let code = message.code_value().map(|c| c.expose().to_owned());
        *self.0.lock().unwrap() = code;
        Ok(())
    }
}

fn keyring() -> Keyring {
    Keyring::new(1, SecretKey::from_bytes([0x42; 32]))
}

fn wrong(code: &str) -> String {
    let first = if code.starts_with('0') { '1' } else { '0' };
    format!("{first}{}", &code[1..])
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

type Service = SecurityCodes<MemoryChallengeStore, Arc<Capture>, Arc<ManualClock>>;

/// A memory store holding `PENDING` pending challenges, one account and one
/// destination each, and their codes.
struct Fixture {
    codes: Service,
    channel: Arc<Capture>,
    pending: Vec<(ChallengeId, String)>,
    next: usize,
}

fn config() -> Config {
    // Ten attempts (the most a policy allows) so a wrong-code benchmark can run ten
    // million guesses before the pool is spent; no destination cap, so issuing a
    // million codes is not rate limited.
    let policy = Policy::builder().max_attempts(10).build().unwrap();
    let limits = Limits::builder()
        .destination_sends(u32::MAX, Duration::from_secs(3600))
        .build()
        .unwrap();
    Config::default()
        .with_policy(Purpose::Recovery, policy)
        .with_limits(limits)
}

impl Fixture {
    fn new() -> Self {
        let channel = Arc::new(Capture::default());
        let clock = Arc::new(ManualClock::new(T0));
        let codes = SecurityCodes::new(
            MemoryChallengeStore::with_capacity(4 * PENDING),
            channel.clone(),
            keyring(),
        )
        .with_clock(clock)
        .with_config(config());
        let mut f = Fixture {
            codes,
            channel,
            pending: Vec::with_capacity(PENDING),
            next: 0,
        };
        for i in 0..PENDING {
            let (id, code) = f.start(i);
            f.pending.push((id, code));
        }
        f
    }

    fn start(&self, i: usize) -> (ChallengeId, String) {
        let account = AccountId::new(format!("account-{i:06}")).unwrap();
        let to = Contact::email(&format!("user{i:06}@example.com")).unwrap();
        let sent = ready(self.codes.start(&account, Purpose::Recovery, &to)).unwrap();
        let code = self.channel.0.lock().unwrap().take().unwrap();
        (sent.id, code)
    }

    /// The next `n` challenges, rebuilding the store (untimed) when they run out.
    fn take(slot: &mut Option<Fixture>, n: usize) -> &mut Fixture {
        if slot.as_ref().is_none_or(|f| f.next + n > f.pending.len()) {
            *slot = None; // free the old store first
            *slot = Some(Fixture::new());
        }
        slot.as_mut().unwrap()
    }
}

fn service(c: &mut Criterion) {
    let mut g = c.benchmark_group("service_1M");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    let mut fixture: Option<Fixture> = None;

    g.bench_function("verify_right", |b| {
        b.iter_custom(|iters| {
            let n = iters as usize;
            let f = Fixture::take(&mut fixture, n.min(PENDING));
            let mut elapsed = Duration::ZERO;
            let mut left = n;
            while left > 0 {
                let batch = left.min(f.pending.len() - f.next);
                let slice = &f.pending[f.next..f.next + batch];
                let start = Instant::now();
                for (id, code) in slice {
                    let v = ready(f.codes.verify(id, Purpose::Recovery, code)).unwrap();
                    assert!(v.is_approved());
                }
                elapsed += start.elapsed();
                f.next += batch;
                left -= batch;
                if left > 0 {
                    *f = Fixture::new();
                }
            }
            elapsed
        })
    });

    // Wrong guesses cycle over the pool: each challenge takes at most ten.
    let mut wrong_fixture: Option<(Fixture, Vec<String>, usize)> = None;
    let wrong_setup = || {
        let f = Fixture::new();
        let bad = f.pending.iter().map(|(_, c)| wrong(c)).collect();
        (f, bad, 0usize)
    };
    g.bench_function("verify_wrong", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let budget_spent = wrong_fixture
                    .as_ref()
                    .is_none_or(|(_, _, n)| *n >= 9 * PENDING);
                if budget_spent {
                    wrong_fixture = None;
                    wrong_fixture = Some(wrong_setup());
                }
                let (f, bad, n) = wrong_fixture.as_mut().unwrap();
                let i = *n % PENDING;
                let id = f.pending[i].0;
                let start = Instant::now();
                let v = ready(f.codes.verify(&id, Purpose::Recovery, &bad[i])).unwrap();
                elapsed += start.elapsed();
                assert!(matches!(v, Verification::Rejected { .. }), "{v:?}");
                *n += 1;
            }
            elapsed
        })
    });
    drop(wrong_fixture);

    // Two threads guessing on disjoint halves of the pool; time per guess overall
    // (so 2-thread throughput = 1 / this).
    let mut pair: Option<(Fixture, Vec<String>, usize)> = None;
    g.bench_function("verify_wrong_2_threads", |b| {
        b.iter_custom(|iters| {
            let per_thread = (iters as usize).div_ceil(2);
            let fresh = pair
                .as_ref()
                .is_none_or(|(_, _, round)| round + per_thread > 9 * PENDING / 2);
            if fresh {
                pair = None;
                let f = Fixture::new();
                let bad = f.pending.iter().map(|(_, c)| wrong(c)).collect();
                pair = Some((f, bad, 0));
            }
            let (f, bad, done) = pair.as_mut().unwrap();
            let (f, bad, offset) = (&*f, &*bad, *done);
            let half = PENDING / 2;
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    s.spawn(move || {
                        for k in 0..per_thread {
                            let i = t * half + (offset + k) % half;
                            let v =
                                ready(f.codes.verify(&f.pending[i].0, Purpose::Recovery, &bad[i]))
                                    .unwrap();
                            assert!(matches!(v, Verification::Rejected { .. }));
                        }
                    });
                }
            });
            let elapsed = start.elapsed();
            *done += per_thread;
            // Report per guess across both threads.
            elapsed.mul_f64(iters as f64 / (2 * per_thread) as f64)
        })
    });
    drop(pair);

    // Starting a challenge (issue + counters + insert) without real delivery.
    g.bench_function("start_no_delivery", |b| {
        let issue = Fixture::new();
        let mut i = PENDING;
        b.iter(|| {
            i += 1;
            black_box(issue.start(i))
        })
    });
    g.finish();
}

criterion_group!(benches, baseline, core, service);
criterion_main!(benches);
