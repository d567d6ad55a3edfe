//! Recovery answers for a known and an unknown identifier should cost about the
//! same (DESIGN.md invariant 7). Measures each step for both, with a channel that
//! does nothing, so only the crate's own work is compared.
//!
//! Run: `cargo bench --bench recovery`

#![allow(clippy::unwrap_used)] // a benchmark whose set-up fails should stop loudly

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use seccode::{
    Account, AccountId, AccountSecurity, AccountStore, BoxError, Config, Contact, DeliveryChannel,
    Error, FlowSettings, Keyring, Limits, ManualClock, MemoryAccountStore, MemoryChallengeStore,
    Message, SecretKey, SecurityCodes, Timestamp,
};
use support::ready;

/// Accepts every message and does nothing with it.
struct Null;

impl DeliveryChannel for Null {
    async fn deliver(&self, _message: &Message) -> Result<(), BoxError> {
        Ok(())
    }
}

type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Null, Arc<ManualClock>>;

fn flows(clock: &Arc<ManualClock>) -> Flows {
    // No destination cap and a one-second lockout (the clock moves a second every
    // 50 failures), so that repeating a step a million times measures the step,
    // not a refusal; tokens that do not expire while the clock moves.
    let limits = Limits::builder()
        .destination_sends(u32::MAX, Duration::from_secs(3600))
        .account_lockout(Duration::from_secs(1))
        .build()
        .unwrap();
    let codes = SecurityCodes::new(
        MemoryChallengeStore::with_capacity(1 << 24),
        Null,
        Keyring::new(1, SecretKey::from_bytes([9; 32])),
    )
    .with_clock(clock.clone())
    .with_config(Config::default().with_limits(limits));
    let settings =
        FlowSettings::default().with_recovery_lifetime(Duration::from_secs(100 * 365 * 86400));
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new()).with_settings(settings);
    let now = flows.codes().now();
    for i in 0..10_000 {
        let account = Account::new(AccountId::new(format!("user-{i}")).unwrap())
            .with_verified_contact(
                Contact::email(&format!("user{i:05}@example.com")).unwrap(),
                now,
            )
            .unwrap()
            .with_verified_contact(Contact::phone(&format!("+1425555{i:04}")).unwrap(), now)
            .unwrap();
        ready(flows.accounts().create(account)).unwrap();
    }
    flows
}

/// A recovery for `identifier` and the index of its email choice.
fn email_choice(flows: &Flows, identifier: &str) -> (seccode::RecoveryStart, usize) {
    let start = ready(flows.start_recovery(identifier)).unwrap();
    let index = start
        .choices
        .iter()
        .position(|c| c.contact.as_str().contains('@'))
        .unwrap();
    (start, index)
}

fn recovery(c: &mut Criterion) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(
        1_700_000_000_000,
    )));
    let flows = flows(&clock);
    let mut g = c.benchmark_group("recovery");
    // Same-length identifiers: one with an account, one without.
    let cases = [
        ("known", "user00042@example.com"),
        ("unknown", "nope00042@example.com"),
    ];
    for (name, identifier) in cases {
        g.bench_function(format!("start_{name}"), |b| {
            b.iter(|| black_box(ready(flows.start_recovery(black_box(identifier))).unwrap()))
        });
    }
    for (name, identifier) in cases {
        let (start, index) = email_choice(&flows, identifier);
        let mut n = 0u64;
        g.bench_function(format!("choose_wrong_{name}"), |b| {
            b.iter(|| {
                n += 1;
                if n.is_multiple_of(50) {
                    clock.advance(Duration::from_secs(1));
                }
                let e =
                    ready(flows.choose_recovery_contact(&start.token, index, "wrong@example.com"));
                assert!(matches!(e, Err(Error::ContactProofFailed)), "{e:?}");
            })
        });
    }
    for (name, identifier) in cases {
        let (start, index) = email_choice(&flows, identifier);
        g.bench_function(format!("choose_right_{name}"), |b| {
            b.iter(|| {
                black_box(
                    ready(flows.choose_recovery_contact(&start.token, index, identifier)).unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, recovery);
criterion_main!(benches);
