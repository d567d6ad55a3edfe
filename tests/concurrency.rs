//! Many threads verifying one challenge at once: at most one success and at most
//! `max_attempts` evaluated guesses, in every run (guarantees 2 and 3 of the crate docs).

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::{Arc, Barrier};

use seccode::SendOptions;
use seccode::{Config, Limits, Purpose, Rejection, Verification};

use common::{memory_service, ready, wrong_code};

#[derive(Default, Debug)]
struct Tally {
    approved: usize,
    evaluated_wrong: usize,
    other: usize,
}

impl Tally {
    fn add(&mut self, v: &Verification) {
        match v {
            Verification::Approved(_) => self.approved += 1,
            Verification::Rejected {
                reason: Rejection::WrongCode,
                ..
            } => self.evaluated_wrong += 1,
            _ => self.other += 1,
        }
    }

    fn evaluated(&self) -> usize {
        self.approved + self.evaluated_wrong
    }
}

/// Tokio's multi-thread runtime, 32 tasks per run, 200 runs: half the tasks send
/// the right code, half a wrong one.
#[test]
fn concurrent_verifies_on_tokio_succeed_at_most_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let mut runs_with_success = 0;
    for run in 0..200 {
        let (codes, outbox, _clock) = memory_service();
        let codes = Arc::new(codes);
        let account = seccode::AccountId::new(format!("user-{run}")).unwrap();
        let email = seccode::Contact::email("ann@example.org").unwrap();
        let sent = ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default()))
            .unwrap();
        let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
        let tally = runtime.block_on(async {
            let tasks: Vec<_> = (0..32)
                .map(|i| {
                    let codes = codes.clone();
                    let input = if i % 2 == 0 {
                        code.clone()
                    } else {
                        wrong_code(&code)
                    };
                    let id = sent.id;
                    tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        codes.verify(&id, Purpose::Recovery, &input).await.unwrap()
                    })
                })
                .collect();
            let mut tally = Tally::default();
            for t in tasks {
                tally.add(&t.await.unwrap());
            }
            tally
        });
        assert!(tally.approved <= 1, "run {run}: {tally:?}");
        assert!(tally.evaluated() <= 5, "run {run}: {tally:?}");
        assert_eq!(tally.evaluated() + tally.other, 32);
        runs_with_success += tally.approved;
    }
    // With 16 right codes among 32, nearly every run has a right one among the first
    // five evaluated; if none ever succeeded the test would be checking nothing.
    assert!(runs_with_success > 100, "{runs_with_success}");
}

/// OS threads released together by a barrier, all with the right code: exactly one
/// approval per run, every other thread told the code was already used.
#[test]
fn racing_right_codes_approve_exactly_once() {
    for run in 0..100 {
        let (codes, outbox, _clock) = memory_service();
        let codes = Arc::new(codes);
        let account = seccode::AccountId::new(format!("user-{run}")).unwrap();
        let phone = seccode::Contact::phone("+14255550123").unwrap();
        let sent = ready(codes.start(
            &account,
            Purpose::IdentityCheck,
            &phone,
            SendOptions::default(),
        ))
        .unwrap();
        let code = outbox.last_code_to(&phone).unwrap().expose().to_owned();
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (codes, barrier, code) = (codes.clone(), barrier.clone(), code.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    ready(codes.verify(&sent.id, Purpose::IdentityCheck, &code)).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<Verification> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let approved = outcomes.iter().filter(|v| v.is_approved()).count();
        let used = outcomes
            .iter()
            .filter(|v| matches!(v, Verification::AlreadyUsed))
            .count();
        assert_eq!(approved, 1, "run {run}: {outcomes:?}");
        // Five attempts fit the budget; the rest find the challenge spent or locked.
        assert_eq!(
            approved
                + used
                + outcomes
                    .iter()
                    .filter(|v| matches!(v, Verification::Locked))
                    .count(),
            threads
        );
    }
}

/// Wrong guesses from many threads spread over many challenges of one account stop
/// at what the account's failure budget allows at that instant, however they
/// interleave: the cap (100) without waits, the free failures and one more (11)
/// with the default throttle.
#[test]
fn account_cap_holds_under_concurrency() {
    let hour = std::time::Duration::from_secs(3600);
    let many_sends = || Limits::builder().send_caps(100, 100, 100, hour);
    let no_waits = many_sends()
        .throttle(100, std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(wrong_guesses_evaluated(no_waits), 100);
    assert_eq!(wrong_guesses_evaluated(many_sends().build().unwrap()), 11);
}

fn wrong_guesses_evaluated(limits: Limits) -> usize {
    let (codes, outbox, clock) = memory_service();
    let codes = Arc::new(codes.with_config(Config::default().with_limits(limits)));
    let account = seccode::AccountId::new("target").unwrap();
    let mut challenges = Vec::new();
    for i in 0..40 {
        let to = seccode::Contact::email(&format!("user{i}@example.org")).unwrap();
        let sent =
            ready(codes.start(&account, Purpose::Recovery, &to, SendOptions::default())).unwrap();
        let code = outbox.last_code_to(&to).unwrap().expose().to_owned();
        challenges.push((sent.id, wrong_code(&code)));
        clock.advance(std::time::Duration::from_millis(10));
    }
    let challenges = Arc::new(challenges);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (codes, challenges) = (codes.clone(), challenges.clone());
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                for _round in 0..10 {
                    for (id, wrong) in challenges.iter().skip(t * 10).take(10) {
                        tally.add(&ready(codes.verify(id, Purpose::Recovery, wrong)).unwrap());
                    }
                }
                tally
            })
        })
        .collect();
    // 40 challenges × 5 attempts = 200 possible.
    handles
        .into_iter()
        .map(|h| h.join().unwrap().evaluated_wrong)
        .sum()
}
