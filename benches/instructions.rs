//! Instruction counts of the hot steps, for the CI guard `.ci/instructions`:
//! `instructions <step> <n>` sets a step up, then runs it `n` times. Run twice
//! under `valgrind --tool=callgrind` (with `n` and `2 n`), the difference of the
//! two totals divided by `n` is the step's instructions, set-up excluded —
//! deterministic on one machine, unlike time. Steps:
//!
//! * `hmac` — the floor: one HMAC-SHA256 over 48 bytes, pre-keyed state cloned;
//! * `pure_verify_wrong` — count an attempt on a challenge and compare a wrong
//!   code (no store);
//! * `memory_verify_wrong` — `SecurityCodes::verify`, a wrong code, on a memory
//!   store holding 10 000 pending challenges;
//! * `memory_start` — `SecurityCodes::start` (no delivery) into that store.

#![allow(clippy::unwrap_used)] // a bench's set-up fails loudly

use std::hint::black_box;
use std::sync::Arc;

mod support;

use hmac::{Hmac, KeyInit, Mac};
use seccode::store::{Challenge, Expected};
use seccode::{
    AccountId, ChallengeId, Contact, Keyring, ManualClock, MemoryChallengeStore, Policy, Purpose,
    SecretKey, SecurityCodes, SendOptions, Timestamp, Verification,
};
use support::{Capture, config, ready, wrong};

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);
const PENDING: usize = 10_000;

fn keyring() -> Keyring {
    Keyring::new(1, SecretKey::from_bytes([7; 32]))
}

type Service = SecurityCodes<MemoryChallengeStore, Arc<Capture>>;

/// A service with `PENDING` pending challenges, each with a wrong code.
fn pool() -> (Service, Vec<(ChallengeId, String)>) {
    let channel = Arc::new(Capture::default());
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), channel.clone(), keyring())
        .with_clock(Arc::new(ManualClock::new(T0)))
        .with_config(config());
    let items = (0..PENDING)
        .map(|i| {
            let account = AccountId::new(format!("account-{i:07}")).unwrap();
            let to = Contact::email(&format!("user{i:07}@example.com")).unwrap();
            let sent = ready(codes.start(&account, Purpose::Recovery, &to, SendOptions::default()))
                .unwrap();
            let code = channel.0.lock().unwrap().take().unwrap();
            (sent.id, wrong(&code))
        })
        .collect();
    (codes, items)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench -p seccode-benches` runs every bench with `--bench`: nothing to do then.
    let (Some(step), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        return;
    };
    match step.as_str() {
        "hmac" => {
            let key: Hmac<sha2::Sha256> = Hmac::new_from_slice(&[7; 32]).unwrap();
            for i in 0..n {
                let mut mac = key.clone();
                mac.update(&[i as u8; 48]);
                black_box(mac.finalize().into_bytes());
            }
        }
        "pure_verify_wrong" => {
            let ring = keyring();
            let policy = Policy::builder().max_attempts(10).build().unwrap();
            let account = AccountId::new("account-0000001").unwrap();
            let to = Contact::email("user0000001@example.com").unwrap();
            let mut rng = rand::rng();
            let mut c = Challenge::issue(account, Purpose::Recovery, to, &policy, 1, &mut rng, T0);
            c.record_send(seccode::store::SendKind::First, T0).unwrap();
            let bad = wrong(c.code(&ring).unwrap().expose());
            let expected = Expected {
                purpose: Purpose::Recovery,
                account: None,
            };
            for _ in 0..n {
                let mut fresh = c.clone();
                let attempt = fresh.begin_attempt(&expected, T0).unwrap();
                assert!(attempt.check(&ring, black_box(&bad)).unwrap().is_err());
            }
        }
        "memory_verify_wrong" => {
            let (codes, items) = pool();
            for k in 0..n {
                // Nine wrong guesses per challenge at most (ten attempts).
                let (id, bad) = &items[k % items.len()];
                let outcome = ready(codes.verify(id, Purpose::Recovery, bad)).unwrap();
                assert!(matches!(outcome, Verification::Rejected { .. }));
            }
        }
        "memory_start" => {
            let (codes, _) = pool();
            let account = AccountId::new("account-x").unwrap();
            let to: Vec<Contact> = (0..1000)
                .map(|i| Contact::email(&format!("other{i}@example.com")).unwrap())
                .collect();
            for k in 0..n {
                let start = codes.start(
                    &account,
                    Purpose::Recovery,
                    &to[k % to.len()],
                    SendOptions::default(),
                );
                black_box(ready(start).unwrap());
            }
        }
        other => panic!("unknown step {other}"),
    }
}
