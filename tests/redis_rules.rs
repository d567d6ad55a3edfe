//! Redis applies the core's rules server-side — the send budget
//! (`Counter::count_in_window`), counting a guess (`GuessRule::count`) and
//! approving a right one (`Challenge::approve`) — in Lua scripts given the
//! rules' data, so it must agree with the pure core. Differential property
//! tests run random operation sequences against a real `redis-server` and
//! against the pure core and require the same answers and the same stored
//! records after every step — a start (`open`: every budget or none) among
//! them. Also here: the contention and ABA cases of the
//! review.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use seccode::store::{ChallengeStore, Counter, CounterKey, SendBudget};
use seccode::{AccountId, RedisStore, Timestamp};

/// Three budgets with their own caps and windows (long enough that Redis's own
/// expiry, on the real clock, never runs during a case).
fn budgets() -> [SendBudget; 3] {
    let key = |i: usize| CounterKey::account_sends(&AccountId::new(format!("budget-{i}")).unwrap());
    [
        SendBudget::new(key(0), 1, Duration::from_secs(60)),
        SendBudget::new(key(1), 3, Duration::from_secs(120)),
        SendBudget::new(key(2), 5, Duration::from_secs(300)),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// One message against these budgets (by index), narrowest first.
    Send(Vec<usize>),
    /// A start against these budgets (`open`: all of them or none).
    Open(Vec<usize>),
    /// Time passes a little.
    Tick(u16),
    /// Time jumps past every window.
    Jump,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::sample::subsequence(vec![0usize, 1, 2], 1..=3).prop_map(Op::Send),
        4 => prop::sample::subsequence(vec![0usize, 1, 2], 1..=3).prop_map(Op::Open),
        3 => (0u16..1000).prop_map(Op::Tick),
        1 => Just(Op::Jump),
    ]
}

#[test]
fn prop_redis_send_budgets_match_the_pure_rule() {
    let server = common::RedisServer::start("rules");
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
                        // The pure rule, budget by budget, stopping at a refusal
                        // and refunding the budgets counted before it.
                        let mut want = Ok(());
                        for (index, &i) in which.iter().enumerate() {
                            let c = model.entry(i).or_default();
                            if let Err(wait) = c.count_in_window(all[i].cap, all[i].window, now) {
                                want = Err((index, wait));
                                for &earlier in &which[..index] {
                                    model.entry(earlier).or_default().refund();
                                }
                                break;
                            }
                        }
                        prop_assert_eq!(got, want);
                    }
                    Op::Open(which) => {
                        let chosen: Vec<SendBudget> = which.iter().map(|&i| all[i]).collect();
                        let challenge = seccode::store::Challenge::issue(
                            AccountId::new("opener").unwrap(),
                            seccode::Purpose::Recovery,
                            seccode::Contact::email("opener@example.org").unwrap(),
                            &Default::default(),
                            1,
                            &mut rand::rng(),
                            now,
                        );
                        let id = *challenge.id();
                        let got = rt.block_on(store.open(challenge, chosen, now)).unwrap();
                        // The pure rule on copies, kept only when every budget
                        // counts: a refused start leaves every record as it was.
                        let mut want = Ok(());
                        let mut counted = model.clone();
                        for (index, &i) in which.iter().enumerate() {
                            let c = counted.entry(i).or_default();
                            if let Err(retry_after) =
                                c.count_in_window(all[i].cap, all[i].window, now)
                            {
                                want = Err(seccode::store::Refusal::Budget { index, retry_after });
                                break;
                            }
                        }
                        if want.is_ok() {
                            model = counted;
                        }
                        prop_assert_eq!(got, want);
                        let stored = rt.block_on(store.get(&id)).unwrap().is_some();
                        prop_assert_eq!(stored, want.is_ok(), "stored exactly when opened");
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
    let server = common::RedisServer::start("contention");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let stores = (0..8)
        .map(|_| {
            rt.block_on(RedisStore::connect_with_prefix(&server.url, "busy"))
                .unwrap()
        })
        .collect();
    let (failed, count) = common::concurrent_starts(&rt, stores, 400);
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(count, Some(400));
}

mod guesses {
    //! Redis counts a guess, and approves a right one — in the same script
    //! when the record holds its code check, else in a second — applying the
    //! core's rules (`GuessRule::count`, `Challenge::approve`) with
    //! their data passed in. The same random operation sequences run against the
    //! pure core (the memory store, whose atomic step calls the rules themselves)
    //! and a real `redis-server` must give the same outcomes and leave the same
    //! challenges and counters after every step.

    use super::*;

    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use seccode::store::{Attempt, Challenge, Guess, GuessRule, InputShape, SendKind};
    use seccode::{
        ChallengeId, CodeFormat, Contact, Limits, MemoryChallengeStore, Policy, Purpose,
        Verification,
    };

    const ACCOUNTS: [&str; 2] = ["ann", "bob"];
    const PURPOSES: [Purpose; 2] = [Purpose::IdentityCheck, Purpose::Recovery];

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Own,
        Other,
        Unknown,
    }

    /// The formats challenges are issued with (each challenge keeps its own).
    fn formats() -> [CodeFormat; 3] {
        [
            CodeFormat::digits(6).unwrap(),
            CodeFormat::digits(8).unwrap(),
            CodeFormat::alphanumeric(6).unwrap(),
        ]
    }

    /// What people type: codes of each format's shape, and input that fits
    /// none, some or all of them (only its shape reaches the script).
    const TYPED: [&str; 7] = [
        "123456", "12345678", "7K3QZP", "12 34 56", "", "12345", "1234567X",
    ];

    #[derive(Clone, Debug)]
    enum Op {
        /// A new challenge: account, purpose, decoy, format, and whether its
        /// record holds a code check (records written before checks do not).
        Issue(usize, usize, bool, usize, bool),
        /// A whole guess (`ChallengeStore::guess`, settled in one script by
        /// the code check where the record has one): the challenge's own
        /// account and purpose, the right code or a wrong one.
        Settle(usize, bool),
        /// A guess on a challenge: with the wrong purpose, and with the
        /// challenge's account, another, or none (the caller does not know),
        /// and what was typed.
        Guess(usize, bool, Who, usize),
        /// The last counted attempt on a challenge turns out right.
        Approve(usize),
        /// A new code on a challenge (its generation goes up).
        NewCode(usize),
        Tick(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (0..2usize, 0..2usize, prop::bool::weighted(0.2), 0..3usize, prop::bool::weighted(0.8))
                .prop_map(|(a, p, d, f, checked)| Op::Issue(a, p, d, f, checked)),
            3 => (0..3usize, prop::bool::ANY).prop_map(|(c, right)| Op::Settle(c, right)),
            8 => (
                0..3usize,
                prop::bool::weighted(0.1),
                prop_oneof![3 => Just(Who::Own), 1 => Just(Who::Other), 3 => Just(Who::Unknown)],
                prop_oneof![6 => 0..4usize, 1 => 4..TYPED.len()],
            )
                .prop_map(|(c, p, a, t)| Op::Guess(c, p, a, t)),
            2 => (0..3usize).prop_map(Op::Approve),
            1 => (0..3usize).prop_map(Op::NewCode),
            // Within and past the throttle's waits (1 s, 2 s, 4 s); now and
            // then past the challenge's lifetime (5 min).
            3 => prop_oneof![4 => 0u32..3_000, 2 => 0u32..20_000, 1 => Just(301_000)].prop_map(Op::Tick),
        ]
    }

    /// Failure limits, drawn per case: the rule is data, so the script must
    /// agree with the core for any cap, throttle and lockout.
    fn limits() -> impl Strategy<Value = Limits> {
        (2u32..6, 0u32..3, 1u64..5, 30u64..90).prop_map(|(cap, free, longest, lockout)| {
            Limits::builder()
                .account_failure_cap(cap)
                .throttle(free, Duration::from_secs(longest))
                .account_lockout(Duration::from_secs(lockout))
                .build()
                .unwrap()
        })
    }

    /// What a caller can observe of a counted guess.
    fn seen(counted: &Option<Result<Attempt, Verification>>) -> String {
        match counted {
            Some(Ok(a)) => format!(
                "attempt {} gen {} left {}",
                a.number(),
                a.generation(),
                a.remaining()
            ),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn prop_redis_guesses_match_the_pure_rule() {
        let server = common::RedisServer::start("guesses");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let policies = formats().map(|format| {
            Policy::builder()
                .format(format)
                .max_attempts(5)
                .lifetime(Duration::from_secs(300))
                .build()
                .unwrap()
        });
        let cases = std::sync::atomic::AtomicUsize::new(0);
        let mut runner = proptest::test_runner::TestRunner::new_with_rng(
            ProptestConfig::with_cases(128),
            proptest::test_runner::TestRng::deterministic_rng(
                proptest::test_runner::RngAlgorithm::ChaCha,
            ),
        );
        runner
            .run(
                &(limits(), prop::collection::vec(op(), 1..60)),
                |(limits, ops)| {
                    let case = cases.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let redis = rt
                        .block_on(RedisStore::connect_with_prefix(
                            &server.url,
                            &format!("guess{case}"),
                        ))
                        .unwrap();
                    let model = MemoryChallengeStore::new();
                    let keyring = std::sync::Arc::new(seccode::Keyring::new(
                        1,
                        seccode::SecretKey::from_bytes([0x17; 32]),
                    ));
                    let mut rng = StdRng::seed_from_u64(case as u64);
                    let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
                    let mut ids: Vec<(ChallengeId, usize, usize)> = Vec::new();
                    let mut last: HashMap<usize, Attempt> = HashMap::new();
                    let mut counters = Vec::new();
                    for a in ACCOUNTS {
                        for p in PURPOSES {
                            counters.push(CounterKey::failures(p, &AccountId::new(a).unwrap()));
                        }
                    }
                    for op in ops {
                        match op {
                            Op::Tick(ms) => now = now + Duration::from_millis(u64::from(ms)),
                            Op::Issue(a, p, decoy, format, checked) => {
                                let policy = &policies[format];
                                let mut c = Challenge::issue(
                                    AccountId::new(ACCOUNTS[a]).unwrap(),
                                    PURPOSES[p],
                                    Contact::email("ann@example.org").unwrap(),
                                    policy,
                                    1,
                                    &mut rng,
                                    now,
                                );
                                if decoy {
                                    c = c.into_decoy();
                                }
                                if checked {
                                    c.code_for_sending(&keyring).unwrap();
                                }
                                ids.push((*c.id(), a, p));
                                rt.block_on(model.insert(c.clone(), now)).unwrap();
                                rt.block_on(redis.insert(c, now)).unwrap();
                            }
                            Op::Guess(i, wrong_purpose, who, typed) => {
                                let Some((id, a, p)) = ids.get(i) else {
                                    continue;
                                };
                                let account = match who {
                                    Who::Own => Some(ACCOUNTS[*a]),
                                    Who::Other => Some(ACCOUNTS[1 - a]),
                                    Who::Unknown => None,
                                };
                                let rule = GuessRule {
                                    purpose: PURPOSES[if wrong_purpose { 1 - p } else { *p }],
                                    account: account.map(|a| AccountId::new(a).unwrap()),
                                    limits,
                                    input: InputShape::of(TYPED[typed]),
                                };
                                let counted = rule.clone();
                                let want = rt
                                    .block_on(model.update_with_counter(id, now, move |c, n| {
                                        counted.count(c, n, now)
                                    }))
                                    .unwrap();
                                let got = rt.block_on(redis.count_guess(id, &rule, now)).unwrap();
                                prop_assert_eq!(seen(&got), seen(&want));
                                if let Some(Ok(attempt)) = want {
                                    last.insert(i, attempt);
                                }
                            }
                            Op::Settle(i, right) => {
                                let Some((id, a, p)) = ids.get(i) else {
                                    continue;
                                };
                                let Some(c) = rt.block_on(model.get(id)).unwrap() else {
                                    continue;
                                };
                                let code = c.code(&keyring).unwrap();
                                let typed = if right {
                                    code.expose().to_owned()
                                } else {
                                    common::wrong_code(code.expose())
                                };
                                let guess = || {
                                    let rule = GuessRule {
                                        purpose: PURPOSES[*p],
                                        account: Some(AccountId::new(ACCOUNTS[*a]).unwrap()),
                                        limits,
                                        input: InputShape::of(&typed),
                                    };
                                    Guess::new(rule, keyring.clone(), &typed)
                                };
                                let want = rt.block_on(model.guess(id, guess(), now)).unwrap();
                                let got = rt.block_on(redis.guess(id, guess(), now)).unwrap();
                                prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
                                last.remove(&i);
                            }
                            Op::Approve(i) => {
                                let (Some((id, ..)), Some(&attempt)) = (ids.get(i), last.get(&i))
                                else {
                                    continue;
                                };
                                let want = rt
                                    .block_on(model.update_with_counter(id, now, move |c, n| {
                                        Guess::approve(c, n, &attempt)
                                    }))
                                    .unwrap();
                                let got =
                                    rt.block_on(redis.approve_guess(id, attempt, now)).unwrap();
                                prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
                            }
                            Op::NewCode(i) => {
                                let Some((id, ..)) = ids.get(i) else { continue };
                                // As the service sends a new code: with its check.
                                let send = |ring: std::sync::Arc<seccode::Keyring>| {
                                    move |c: &mut Challenge| {
                                        c.record_send(SendKind::NewCode, now).is_ok()
                                            && c.code_for_sending(&ring).is_ok()
                                    }
                                };
                                let want = rt
                                    .block_on(model.update(id, send(keyring.clone())))
                                    .unwrap();
                                let got = rt
                                    .block_on(redis.update(id, send(keyring.clone())))
                                    .unwrap();
                                prop_assert_eq!(got, want);
                            }
                        }
                        for (id, ..) in &ids {
                            let want = rt.block_on(model.get(id)).unwrap();
                            let got = rt.block_on(redis.get(id)).unwrap();
                            prop_assert!(got == want, "challenge records differ");
                        }
                        for key in &counters {
                            let want = rt
                                .block_on(model.get_counter(key))
                                .unwrap()
                                .filter(|c| !c.is_empty());
                            let got = rt.block_on(redis.get_counter(key)).unwrap();
                            prop_assert_eq!(got, want, "counter {:?}", key);
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
    }
}

/// The review's ABA case: versions used to be a count that restarted at 1 after
/// a `DEL` or an expiry, so a compare-and-set read before the key was deleted
/// and written again could match the new record and overwrite it. Versions are
/// now random tokens: the stale write misses, rereads, and counts on the new
/// record.
#[test]
fn a_stale_compare_and_set_does_not_match_a_recreated_record() {
    let server = common::RedisServer::start("aba");
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let until = now + Duration::from_secs(3600);
    let key = CounterKey::account_sends(&AccountId::new("aba").unwrap());
    let url = server.url.clone();
    // Another app server, on a runtime of its own (the closure below runs
    // inside this test's runtime and cannot wait on it).
    let other = move |set: Option<u32>| {
        let url = url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store = RedisStore::connect_with_prefix(&url, "aba").await.unwrap();
                store
                    .update_counter(&key, now, move |c| match set {
                        None => c.clear(),
                        Some(count) => {
                            c.count = count;
                            c.expires_at = until;
                        }
                    })
                    .await
                    .unwrap();
            });
        })
        .join()
        .unwrap();
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(RedisStore::connect_with_prefix(&server.url, "aba"))
        .unwrap();
    // The record's first write.
    rt.block_on(store.update_counter(&key, now, move |c| {
        c.count = 1;
        c.expires_at = until;
    }))
    .unwrap();
    let mut calls = 0;
    let other_writes = other.clone();
    let counted = rt
        .block_on(store.update_counter(&key, now, move |c| {
            calls += 1;
            if calls == 1 {
                // Between our read and our write the record is deleted (cleared)
                // and written anew by another server, as its first write again.
                other_writes(None);
                other_writes(Some(5));
            }
            c.count += 1;
            c.count
        }))
        .unwrap();
    assert_eq!(
        counted, 6,
        "the write must land on the new record, not the stale one"
    );
    let stored = rt.block_on(store.get_counter(&key)).unwrap().unwrap();
    assert_eq!(stored.count, 6);
}

/// How many scripts the server has run since its statistics were reset.
async fn scripts_run(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn reset_stats(conn: &mut redis::aio::MultiplexedConnection) {
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(conn)
        .await
        .unwrap();
}

/// The code check in the record lets one script settle a guess: a right code
/// is approved, and a wrong one rejected, in one round trip each; a new code
/// brings its own check (the superseded code approves nothing), and a decoy's
/// code — right by its check — is refused in one script too. The keyring's
/// comparison still decides every answer.
#[test]
fn a_guess_on_redis_is_settled_in_one_script_by_the_code_check() {
    use seccode::{
        Contact, Keyring, ManualClock, Outbox, Purpose, Rejection, SecretKey, SecurityCodes,
        SendOptions, Verification,
    };
    use std::sync::Arc;

    let server = common::RedisServer::start("one-script");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = RedisStore::connect(&server.url).await.unwrap();
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keyring = || Keyring::new(1, SecretKey::from_bytes([0x42; 32]));
        let outbox = Arc::new(Outbox::new());
        let clock = Arc::new(ManualClock::new(common::T0));
        let codes =
            SecurityCodes::new(store.clone(), outbox.clone(), keyring()).with_clock(clock.clone());
        let account = AccountId::new("one-script").unwrap();
        let to = Contact::email("one.script@example.org").unwrap();
        let start = || {
            codes.start(
                &account,
                Purpose::IdentityCheck,
                &to,
                SendOptions::default(),
            )
        };

        // Warm-up: the scripts loaded once (a first EVALSHA may miss).
        let warm = start().await.unwrap();
        let code = outbox.last_code_to(&to).unwrap();
        let _ = codes
            .verify(
                &warm.id,
                Purpose::IdentityCheck,
                &common::wrong_code(code.expose()),
            )
            .await;
        let _ = codes
            .verify(&warm.id, Purpose::IdentityCheck, code.expose())
            .await;

        let sent = start().await.unwrap();
        let code = outbox.last_code_to(&to).unwrap();
        reset_stats(&mut conn).await;
        let wrong = codes
            .verify(
                &sent.id,
                Purpose::IdentityCheck,
                &common::wrong_code(code.expose()),
            )
            .await
            .unwrap();
        assert!(matches!(
            wrong,
            Verification::Rejected {
                reason: Rejection::WrongCode,
                ..
            }
        ));
        assert_eq!(scripts_run(&mut conn).await, 1, "a wrong code: one script");
        reset_stats(&mut conn).await;
        let right = codes
            .verify(&sent.id, Purpose::IdentityCheck, code.expose())
            .await
            .unwrap();
        assert!(right.is_approved());
        assert_eq!(scripts_run(&mut conn).await, 1, "a right code: one script");

        // A new code: the old one approves nothing, the new one in one script.
        let sent = start().await.unwrap();
        let old = outbox.last_code_to(&to).unwrap();
        clock.advance(Duration::from_secs(31));
        codes
            .new_code(&sent.id, SendOptions::default())
            .await
            .unwrap();
        let new = outbox.last_code_to(&to).unwrap();
        assert_ne!(old.expose(), new.expose());
        let superseded = codes
            .verify(&sent.id, Purpose::IdentityCheck, old.expose())
            .await
            .unwrap();
        assert!(!superseded.is_approved(), "{superseded:?}");
        reset_stats(&mut conn).await;
        let right = codes
            .verify(&sent.id, Purpose::IdentityCheck, new.expose())
            .await
            .unwrap();
        assert!(right.is_approved());
        assert_eq!(
            scripts_run(&mut conn).await,
            1,
            "a new code carries its own check"
        );

        // A decoy: its right code (nobody was sent it) is refused, in one script.
        let mut decoy = seccode::store::Challenge::issue(
            account.clone(),
            Purpose::IdentityCheck,
            to.clone(),
            &Default::default(),
            1,
            &mut rand::rng(),
            common::T0,
        )
        .into_decoy();
        decoy
            .record_send(seccode::store::SendKind::First, common::T0)
            .unwrap();
        let code = decoy.code_for_sending(&keyring()).unwrap();
        let id = *decoy.id();
        assert!(decoy.check().is_some());
        store.insert(decoy, common::T0).await.unwrap();
        reset_stats(&mut conn).await;
        let refused = codes
            .verify(&id, Purpose::IdentityCheck, code.expose())
            .await
            .unwrap();
        assert!(matches!(
            refused,
            Verification::Rejected {
                reason: Rejection::WrongCode,
                ..
            }
        ));
        assert_eq!(
            scripts_run(&mut conn).await,
            1,
            "a decoy's code: one script"
        );
        let stored = store.get(&id).await.unwrap().unwrap();
        assert_eq!(
            stored.status(common::T0),
            seccode::Status::Pending,
            "a decoy is never approved in the store either"
        );
    });
}
