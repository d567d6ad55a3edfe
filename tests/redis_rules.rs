//! Redis applies the send-budget rule server-side (a Lua script given the rule's
//! data), so it must agree with the pure rule, `Counter::count_in_window`. This
//! differential property test runs random sequences of sends against a real
//! `redis-server` and against the pure counters, and requires the same answer
//! and the same stored counter after every step.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use seccode::{AccountId, ChallengeStore, Counter, CounterKey, RedisStore, SendBudget, Timestamp};

/// Three budgets with their own caps and windows (long enough that Redis's own
/// expiry, on the real clock, never runs during a case).
fn budgets() -> [SendBudget; 3] {
    let key = |i: usize| CounterKey::account_sends(&AccountId::new(format!("budget-{i}")).unwrap());
    [
        SendBudget {
            key: key(0),
            cap: 1,
            window: Duration::from_secs(60),
        },
        SendBudget {
            key: key(1),
            cap: 3,
            window: Duration::from_secs(120),
        },
        SendBudget {
            key: key(2),
            cap: 5,
            window: Duration::from_secs(300),
        },
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// One message against these budgets (by index), narrowest first.
    Send(Vec<usize>),
    /// Time passes a little.
    Tick(u16),
    /// Time jumps past every window.
    Jump,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::sample::subsequence(vec![0usize, 1, 2], 1..=3).prop_map(Op::Send),
        3 => (0u16..1000).prop_map(Op::Tick),
        1 => Just(Op::Jump),
    ]
}

#[test]
fn prop_redis_send_budgets_match_the_pure_rule() {
    let Some(server) = common::RedisServer::start("rules") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            // Each case on keys of its own.
            let case = cases.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let store = rt
                .block_on(RedisStore::connect_with_prefix(
                    &server.url,
                    &format!("case{case}"),
                ))
                .unwrap();
            let all = budgets();
            let mut model: HashMap<usize, Counter> = HashMap::new();
            let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
            for op in ops {
                match op {
                    Op::Tick(ms) => now = now + Duration::from_millis(u64::from(ms)),
                    Op::Jump => now = now + Duration::from_secs(301),
                    Op::Send(which) => {
                        let chosen: Vec<SendBudget> = which.iter().map(|&i| all[i]).collect();
                        let got = rt.block_on(store.count_sends(chosen, now)).unwrap();
                        // The pure rule, budget by budget, stopping at a refusal.
                        let mut want = Ok(());
                        for (index, &i) in which.iter().enumerate() {
                            let c = model.entry(i).or_default();
                            if let Err(wait) = c.count_in_window(all[i].cap, all[i].window, now) {
                                want = Err((index, wait));
                                break;
                            }
                        }
                        prop_assert_eq!(got, want);
                    }
                }
                for (i, b) in all.iter().enumerate() {
                    let stored = rt.block_on(store.get_counter(&b.key)).unwrap();
                    let modelled = model.get(&i).copied().filter(|c| !c.is_empty());
                    prop_assert_eq!(stored, modelled, "budget {}", i);
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The review's contention case: 400 starts at once to one destination, over 8
/// connections (8 app servers). Counting server-side, none fails.
#[test]
fn four_hundred_concurrent_starts_to_one_destination_all_count() {
    use std::sync::Arc;

    use seccode::{Config, Contact, Keyring, Limits, Outbox, Purpose, SecretKey, SecurityCodes};

    let Some(server) = common::RedisServer::start("contention") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let hour = Duration::from_secs(3600);
    let limits = Limits::builder()
        .destination_sends(1000, hour)
        .send_caps(1000, 1000, 1000, hour)
        .build()
        .unwrap();
    let servers: Vec<_> = (0..8)
        .map(|_| {
            let store = rt
                .block_on(RedisStore::connect_with_prefix(&server.url, "busy"))
                .unwrap();
            Arc::new(
                SecurityCodes::new(
                    store,
                    Outbox::new(),
                    Keyring::new(1, SecretKey::from_bytes([1; 32])),
                )
                .with_config(Config::default().with_limits(limits)),
            )
        })
        .collect();
    let to = Contact::email("victim@example.org").unwrap();
    let results: Vec<_> = rt.block_on(async {
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let (codes, to) = (servers[i % 8].clone(), to.clone());
                tokio::spawn(async move {
                    let account = AccountId::new(format!("user-{i}")).unwrap();
                    codes.start(&account, Purpose::IdentityCheck, &to).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    let counter = rt
        .block_on(
            servers[0]
                .store()
                .get_counter(&CounterKey::destination_sends(&to)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(counter.count, 400);
}
