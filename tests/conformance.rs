//! One conformance suite, run against every store backend: the store contracts
//! and the crate's guarantees that depend on the store (single success, attempt
//! cap, counts surviving resends and new codes, expiry, the per-account cap, one
//! owner per verified contact).
//!
//! Memory always runs; SQLite with `--features sqlite` (on a real file); Redis
//! with `--features redis`, on a `redis-server` the test starts on a free
//! loopback port (skipped, and said so, when the binary is missing outside CI).

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::SendOptions;
use seccode::store::{AccountStore, Challenge, ChallengeStore, CounterKey, Refusal, SendBudget};
use seccode::{
    Account, AccountId, ChallengeId, Config, Contact, Error, Keyring, Limits, ManualClock, Outbox,
    Purpose, RateLimit, SecretKey, SecurityCodes, Status, Verification,
};

use common::{T0, wrong_code};

/// How many stores [`suite`] asks `make` for: one per check (the persistent
/// backends open them up front).
#[cfg(any(feature = "redis", feature = "postgres"))]
const STORES_PER_SUITE: usize = 13;

/// Runs every check of the suite against stores made by `make`.
async fn suite<CS, AS>(make: impl Fn() -> (CS, AS))
where
    CS: ChallengeStore + 'static,
    AS: AccountStore + 'static,
{
    let (cs, _) = make();
    record_contract(&cs).await;
    let (cs, _) = make();
    counter_contract(&cs).await;
    let (cs, _) = make();
    challenge_and_counter_update_together(cs).await;
    let (cs, _) = make();
    single_success_under_concurrency(cs).await;
    let (cs, _) = make();
    attempts_capped_under_concurrency(cs).await;
    let (cs, _) = make();
    counts_survive_resends_and_new_codes(cs).await;
    let (cs, _) = make();
    expiry_and_sweep(cs).await;
    let (cs, _) = make();
    per_account_cap(cs).await;
    let (cs, _) = make();
    proofs_spend_once(cs).await;
    let (cs, _) = make();
    each_challenge_reads_codes_of_its_own_format(cs).await;
    let (cs, _) = make();
    a_start_is_stored_whole_or_not_at_all(Arc::new(cs)).await;
    let (cs, _) = make();
    a_payment_code_approves_only_its_payment(cs).await;
    let (_, accounts) = make();
    account_contract(&accounts).await;
}

type Service<S> = SecurityCodes<S, Arc<Outbox>>;

fn service<S: ChallengeStore>(
    store: S,
    config: Config,
) -> (Service<S>, Arc<Outbox>, Arc<ManualClock>) {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let codes = SecurityCodes::new(
        store,
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([0x33; 32])),
    )
    .with_clock(clock.clone())
    .with_config(config);
    (codes, outbox, clock)
}

fn ann() -> (AccountId, Contact) {
    (
        AccountId::new("ann").unwrap(),
        Contact::email("ann@example.org").unwrap(),
    )
}

async fn record_contract<S: ChallengeStore>(store: &S) {
    let (account, email) = ann();
    let mut rng = rand::rng();
    let c = seccode::store::Challenge::issue(
        account,
        Purpose::Recovery,
        email,
        &Default::default(),
        1,
        &mut rng,
        T0,
    );
    // A partitioned store (a Redis Cluster) files it next to its counter.
    let c = match store.placement(&c.failure_key()) {
        Some(tag) => c.placed(tag),
        None => c,
    };
    let id = *c.id();
    store.insert(c.clone(), T0).await.unwrap();
    assert_eq!(
        store.get(&id).await.unwrap().as_ref(),
        Some(&c),
        "a record reads back as written"
    );
    assert!(
        matches!(store.insert(c.clone(), T0).await, Err(Error::Store(_))),
        "ids are never overwritten"
    );
    let sends = store
        .update(&id, move |c| {
            c.record_send(seccode::store::SendKind::First, T0).unwrap();
            c.sends()
        })
        .await
        .unwrap();
    assert_eq!(sends, Some(1));
    assert_eq!(
        store.get(&id).await.unwrap().unwrap().sends(),
        1,
        "updates are stored"
    );
    let missing = ChallengeId::from_bytes([0xEE; 16]);
    assert_eq!(store.update(&missing, |c| c.sends()).await.unwrap(), None);
    assert_eq!(store.get(&missing).await.unwrap(), None);
}

async fn counter_contract<S: ChallengeStore>(store: &S) {
    let key = CounterKey::account_failures(&AccountId::new("k").unwrap());
    assert_eq!(store.get_counter(&key).await.unwrap(), None);
    let n = store
        .update_counter(&key, T0, |c| {
            c.count += 1;
            c.expires_at = T0 + Duration::from_secs(10);
            c.count
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = store.update_counter(&key, T0, |c| {
        c.count += 1;
        c.count
    });
    assert_eq!(n.await.unwrap(), 2, "an update sees the previous one");
    assert_eq!(store.get_counter(&key).await.unwrap().unwrap().count, 2);
    store.update_counter(&key, T0, |c| c.clear()).await.unwrap();
    assert_eq!(
        store.get_counter(&key).await.unwrap(),
        None,
        "an empty counter is gone"
    );
    store
        .update_counter(&key, T0, |c| {
            c.count = 1;
            c.expires_at = T0;
        })
        .await
        .unwrap();
    // A store may forget an expired counter at a sweep or by its own clock
    // (Redis); until then it is dead weight that every transition treats as empty.
    if store.sweep(T0).await.unwrap() > 0 {
        assert_eq!(
            store.get_counter(&key).await.unwrap(),
            None,
            "an expired counter is swept"
        );
    } else if let Some(c) = store.get_counter(&key).await.unwrap() {
        assert!(c.expires_at <= T0);
    }
}

/// `update_with_counter` is one atomic step on both records: concurrent
/// updates see each other's writes on the challenge and on its failure counter
/// together (the n-th attempt always meets the n-th count), and a missing
/// challenge touches no counter.
async fn challenge_and_counter_update_together<S: ChallengeStore + 'static>(store: S) {
    let (account, email) = ann();
    let policy = seccode::Policy::default();
    let mut rng = rand::rng();
    let c = seccode::store::Challenge::issue(
        account.clone(),
        Purpose::IdentityCheck,
        email,
        &policy,
        1,
        &mut rng,
        T0,
    );
    let c = match store.placement(&c.failure_key()) {
        Some(tag) => c.placed(tag),
        None => c,
    };
    let (id, key) = (*c.id(), c.failure_key());
    store.insert(c, T0).await.unwrap();
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..policy.max_attempts())
        .map(|_| {
            let (store, account) = (store.clone(), account.clone());
            tokio::spawn(async move {
                store
                    .update_with_counter(&id, T0, move |c, n| {
                        let expected = seccode::store::Expected {
                            purpose: Purpose::IdentityCheck,
                            account: Some(&account),
                        };
                        let attempt = c.begin_attempt(&expected, T0).unwrap();
                        n.count += 1;
                        n.expires_at = T0 + Duration::from_secs(600);
                        (attempt.number(), n.count)
                    })
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        let (attempt, count) = t.await.unwrap();
        assert_eq!(
            u32::from(attempt),
            count,
            "the n-th attempt meets the n-th count"
        );
        seen.push(count);
    }
    seen.sort_unstable();
    let all: Vec<u32> = (1..=u32::from(policy.max_attempts())).collect();
    assert_eq!(seen, all, "no update is lost");
    assert_eq!(
        store.get(&id).await.unwrap().unwrap().attempts(),
        policy.max_attempts()
    );
    assert_eq!(
        store.get_counter(&key).await.unwrap().unwrap().count,
        u32::from(policy.max_attempts())
    );
    let missing = ChallengeId::from_bytes([7; 16]);
    let touched = store
        .update_with_counter(&missing, T0, |_, n| n.count += 1)
        .await
        .unwrap();
    assert_eq!(touched, None, "no challenge, no update");
}

async fn single_success_under_concurrency<S: ChallengeStore + 'static>(store: S) {
    let (codes, outbox, _clock) = service(store, Config::default());
    let codes = Arc::new(codes);
    let (account, email) = ann();
    for round in 0..10 {
        let sent = codes
            .start(
                &account,
                Purpose::IdentityCheck,
                &email,
                SendOptions::default(),
            )
            .await
            .unwrap();
        let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let (codes, code) = (codes.clone(), code.clone());
                tokio::spawn(async move {
                    codes
                        .verify(&sent.id, Purpose::IdentityCheck, &code)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut approved = 0;
        for t in tasks {
            let v = t.await.unwrap();
            match v {
                Verification::Approved(_) => approved += 1,
                Verification::AlreadyUsed => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(approved, 1, "round {round}");
        // The destination allows ten sends an hour.
        if round == 8 {
            break;
        }
    }
}

async fn attempts_capped_under_concurrency<S: ChallengeStore + 'static>(store: S) {
    let (codes, outbox, _clock) = service(store, Config::default());
    let codes = Arc::new(codes);
    let (account, email) = ann();
    let sent = codes
        .start(&account, Purpose::Recovery, &email, SendOptions::default())
        .await
        .unwrap();
    let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
    // Sixty-four guessers at once (a contended challenge): every one
    // gets an answer — no store error — and the budget holds.
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let codes = codes.clone();
            let input = if i == 63 {
                code.clone()
            } else {
                wrong_code(&code)
            };
            tokio::spawn(async move {
                codes
                    .verify(&sent.id, Purpose::Recovery, &input)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut evaluated, mut approved) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Verification::Approved(_) => {
                evaluated += 1;
                approved += 1;
            }
            Verification::Rejected { .. } => evaluated += 1,
            // Out of attempts, or the right code came early and spent the challenge.
            Verification::Locked | Verification::AlreadyUsed => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(
        evaluated <= 5 && approved <= 1,
        "{evaluated} evaluated, {approved} approved"
    );
    let attempts = codes
        .store()
        .get(&sent.id)
        .await
        .unwrap()
        .unwrap()
        .attempts();
    assert!(
        attempts <= 5 && usize::from(attempts) >= evaluated,
        "every evaluated guess is recorded"
    );
    if approved == 0 {
        assert_eq!(attempts, 5, "sixty-four guessers use the whole budget");
    }
}

async fn counts_survive_resends_and_new_codes<S: ChallengeStore>(store: S) {
    let (codes, outbox, clock) = service(store, Config::default());
    let (account, email) = ann();
    let sent = codes
        .start(
            &account,
            Purpose::AddSecurityInfo,
            &email,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let first = outbox.last_code_to(&email).unwrap().expose().to_owned();
    for _ in 0..2 {
        let _ = codes
            .verify(&sent.id, Purpose::AddSecurityInfo, &wrong_code(&first))
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(30));
    let resent = codes
        .resend(&sent.id, SendOptions::default())
        .await
        .unwrap();
    assert_eq!(resent.attempts_left, 3);
    assert_eq!(
        outbox.last_code_to(&email).unwrap().expose(),
        first,
        "a resend repeats the code"
    );
    clock.advance(Duration::from_secs(30));
    let renewed = codes
        .new_code(&sent.id, SendOptions::default())
        .await
        .unwrap();
    assert_eq!(renewed.attempts_left, 3, "a new code keeps the count");
    let second = outbox.last_code_to(&email).unwrap().expose().to_owned();
    if second != first {
        let v = codes
            .verify(&sent.id, Purpose::AddSecurityInfo, &first)
            .await
            .unwrap();
        assert!(
            matches!(v, Verification::Rejected { remaining: 2, .. }),
            "{v:?}"
        );
    }
    assert!(
        codes
            .verify(&sent.id, Purpose::AddSecurityInfo, &second)
            .await
            .unwrap()
            .is_approved()
    );
}

/// A challenge issued under a policy of its own (`SendOptions::policy`) reads
/// codes of its format: input shaped like the configured format but not like
/// the challenge's is malformed and counts nothing — on the challenge or the
/// account, on every backend (Redis decides it in its script from the input's
/// shape) — and the challenge's own code verifies.
async fn each_challenge_reads_codes_of_its_own_format<S: ChallengeStore>(store: S) {
    let (codes, outbox, _clock) = service(store, Config::default());
    let (account, email) = ann();
    let eight = seccode::Policy::builder()
        .format(seccode::CodeFormat::digits(8).unwrap())
        .build()
        .unwrap();
    let long = codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default().policy(&eight),
        )
        .await
        .unwrap();
    let long_code = outbox.last_code_to(&email).unwrap().expose().to_owned();
    assert_eq!(long_code.len(), 8);
    let short = codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let short_code = outbox.last_code_to(&email).unwrap().expose().to_owned();
    assert_eq!(short_code.len(), 6);
    // More than both budgets: six-digit input on the eight-digit challenge and
    // eight-digit input on the six-digit one.
    for _ in 0..30 {
        for (id, typed, expected, found) in
            [(&long.id, &short_code, 8, 6), (&short.id, &long_code, 6, 8)]
        {
            let v = codes
                .verify(id, Purpose::IdentityCheck, typed)
                .await
                .unwrap();
            let malformed =
                seccode::Rejection::Malformed(seccode::Malformed::WrongLength { expected, found });
            assert!(
                matches!(&v, Verification::Rejected { remaining: 5, reason } if *reason == malformed),
                "{v:?}"
            );
        }
    }
    let failures = CounterKey::failures(Purpose::IdentityCheck, &account);
    assert_eq!(codes.store().get_counter(&failures).await.unwrap(), None);
    for (id, code) in [(&long.id, &long_code), (&short.id, &short_code)] {
        let v = codes
            .verify(id, Purpose::IdentityCheck, code)
            .await
            .unwrap();
        assert!(v.is_approved(), "{v:?}");
    }
}

/// A new challenge placed as the store files it next to its counter.
fn fresh_challenge<S: ChallengeStore>(store: &S, account: &AccountId, to: &Contact) -> Challenge {
    let c = Challenge::issue(
        account.clone(),
        Purpose::Recovery,
        to.clone(),
        &Default::default(),
        1,
        &mut rand::rng(),
        T0,
    );
    match store.placement(&c.failure_key()) {
        Some(tag) => c.placed(tag),
        None => c,
    }
}

/// `open` — the locked-account check, the send budgets and the insert of a
/// start — happens whole or not at all: a refusal by any budget spends none
/// of them and stores no challenge, a locked account spends nothing, and
/// concurrent starts never overspend a budget or store a challenge the
/// budget refused.
async fn a_start_is_stored_whole_or_not_at_all<S: ChallengeStore + 'static>(store: Arc<S>) {
    let (account, email) = ann();
    let minute = Duration::from_secs(60);
    let narrow = CounterKey::destination_sends(&email);
    let broad = CounterKey::account_sends(&account);
    let budgets = || {
        vec![
            SendBudget::new(narrow, 2, minute),
            SendBudget::new(broad, 1, minute),
        ]
    };
    let count = |key: CounterKey| {
        let store = store.clone();
        async move {
            store
                .get_counter(&key)
                .await
                .unwrap()
                .map_or(0, |c| c.count)
        }
    };

    let first = fresh_challenge(&*store, &account, &email);
    let first_id = *first.id();
    assert_eq!(store.open(first, budgets(), T0).await.unwrap(), Ok(()));
    assert!(store.get(&first_id).await.unwrap().is_some(), "stored");
    assert_eq!(
        (count(narrow).await, count(broad).await),
        (1, 1),
        "each budget counted once"
    );

    let second = fresh_challenge(&*store, &account, &email);
    let second_id = *second.id();
    let refused = store.open(second, budgets(), T0).await.unwrap();
    assert_eq!(
        refused,
        Err(Refusal::Budget {
            index: 1,
            retry_after: minute
        }),
        "the broad budget is used up"
    );
    assert_eq!(
        store.get(&second_id).await.unwrap(),
        None,
        "a refused start stores nothing"
    );
    assert_eq!(
        count(narrow).await,
        1,
        "and spends nothing of the narrower budget"
    );

    // A locked account: refused before any budget is looked at.
    let third = fresh_challenge(&*store, &account, &email);
    let third_id = *third.id();
    let until = T0 + Duration::from_secs(30);
    store
        .update_counter(&third.failure_key(), T0, move |c| {
            c.count = 5;
            c.blocked_until = until;
            c.expires_at = until;
        })
        .await
        .unwrap();
    let fresh = CounterKey::destination_sends(&Contact::email("other@example.org").unwrap());
    let refused = store
        .open(third, vec![SendBudget::new(fresh, 9, minute)], T0)
        .await
        .unwrap();
    assert_eq!(refused, Err(Refusal::Locked(Duration::from_secs(30))));
    assert_eq!(store.get(&third_id).await.unwrap(), None);
    assert_eq!(count(fresh).await, 0, "a locked account spends nothing");

    // Sixteen starts at once on a budget of five: exactly five are stored.
    let shared = CounterKey::destination_sends(&Contact::email("race@example.org").unwrap());
    let racer = AccountId::new("racer").unwrap();
    let to = Contact::email("race@example.org").unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let c = fresh_challenge(&*store, &racer, &to);
            tokio::spawn(async move {
                let id = *c.id();
                let opened = store
                    .open(c, vec![SendBudget::new(shared, 5, minute)], T0)
                    .await
                    .unwrap();
                (id, opened)
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        let (id, opened) = task.await.unwrap();
        let found = store.get(&id).await.unwrap().is_some();
        assert_eq!(found, opened.is_ok(), "stored exactly when opened");
        stored += usize::from(found);
    }
    assert_eq!(stored, 5, "the budget's cap, no more and no fewer");
    assert_eq!(count(shared).await, 5);
}

async fn expiry_and_sweep<S: ChallengeStore>(store: S) {
    let (codes, outbox, clock) = service(store, Config::default());
    let (account, email) = ann();
    let sent = codes
        .start(&account, Purpose::Recovery, &email, SendOptions::default())
        .await
        .unwrap();
    let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
    clock.advance(Duration::from_secs(600));
    assert!(matches!(
        codes
            .verify(&sent.id, Purpose::Recovery, &code)
            .await
            .unwrap(),
        Verification::Expired
    ));
    assert_eq!(codes.status(&sent.id).await.unwrap(), Status::Expired);
    // Past retention (and the memory store's minute granularity) a sweep forgets
    // it — or, in a store that expires keys by its own clock (Redis), it answers
    // "expired" until then. Either way it never verifies again.
    clock.advance(Duration::from_secs(900 + 60));
    let removed = codes.sweep().await.unwrap();
    let v = codes
        .verify(&sent.id, Purpose::Recovery, &code)
        .await
        .unwrap();
    if removed > 0 {
        assert!(matches!(v, Verification::NotFound), "{v:?}");
    } else {
        assert!(
            matches!(v, Verification::Expired | Verification::NotFound),
            "{v:?}"
        );
    }
}

async fn per_account_cap<S: ChallengeStore>(store: S) {
    let limits = Limits::builder()
        .account_failure_cap(7)
        .destination_sends(100, Duration::from_secs(3600))
        .build()
        .unwrap();
    let (codes, outbox, clock) = service(store, Config::default().with_limits(limits));
    let (account, email) = ann();
    let mut wrong = 0;
    for _ in 0..3 {
        let sent = codes
            .start(&account, Purpose::Recovery, &email, SendOptions::default())
            .await
            .unwrap();
        let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
        for _ in 0..3 {
            if let Verification::Rejected { .. } = codes
                .verify(&sent.id, Purpose::Recovery, &wrong_code(&code))
                .await
                .unwrap()
            {
                wrong += 1;
            }
        }
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(wrong, 7, "the account stops at its cap across challenges");
    let err = codes
        .start(&account, Purpose::Recovery, &email, SendOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                limit: RateLimit::RecoveryFailures,
                ..
            }
        ),
        "{err:?}"
    );
    // Recovery has a budget of its own: the signed-in owner's checks still work.
    codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default(),
        )
        .await
        .unwrap();
}

/// A proof is spent on its challenge once, however many servers try at once; a
/// failed step gives it back; the mark survives a read back from storage.
async fn proofs_spend_once<S: ChallengeStore + 'static>(store: S) {
    let (codes, outbox, _clock) = service(store, Config::default());
    let codes = Arc::new(codes);
    let (account, email) = ann();
    let sent = codes
        .start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let code = outbox.last_code_to(&email).unwrap().expose().to_owned();
    assert!(
        matches!(
            codes
                .store()
                .update(&sent.id, |c| c.spend_proof())
                .await
                .unwrap(),
            Some(Err(Error::ProofMismatch))
        ),
        "a pending challenge has no proof to spend"
    );
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, &code)
        .await
        .unwrap();
    assert!(v.is_approved());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (codes, id) = (codes.clone(), sent.id);
            tokio::spawn(async move {
                codes
                    .store()
                    .update(&id, |c| c.spend_proof())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut spent = 0;
    for t in tasks {
        if let Some(Ok(())) = t.await.unwrap() {
            spent += 1;
        }
    }
    assert_eq!(spent, 1);
    assert!(
        codes
            .store()
            .get(&sent.id)
            .await
            .unwrap()
            .unwrap()
            .is_proof_spent()
    );
    codes
        .store()
        .update(&sent.id, |c| c.unspend_proof())
        .await
        .unwrap();
    let c = codes.store().get(&sent.id).await.unwrap().unwrap();
    assert!(!c.is_proof_spent());
}

async fn account_contract<A: AccountStore>(store: &A) {
    let (a, email) = ann();
    let b = AccountId::new("bob").unwrap();
    let account = Account::new(a.clone())
        .with_locale("pt-BR")
        .with_verified_contact(email.clone(), T0)
        .unwrap();
    store.create(account.clone()).await.unwrap();
    assert_eq!(
        store.get(&a).await.unwrap().as_ref(),
        Some(&account),
        "an account reads back as written, its language too"
    );
    assert!(matches!(
        store.create(account).await,
        Err(Error::AccountExists)
    ));
    // A recovery code's record (its tag, key and time) is kept as written.
    let record = seccode::store::RecoveryCodeRecord {
        tag: [0x5c; 32],
        key_id: 7,
        created_at: T0,
    };
    let kept = record.clone();
    store
        .update(&a, move |acct| {
            acct.set_recovery_code(kept.clone());
            Ok(())
        })
        .await
        .unwrap();
    let read = store.get(&a).await.unwrap().unwrap();
    assert_eq!(read.recovery_code(), Some(&record));
    let same = Contact::email("ANN@example.org").unwrap();
    assert_eq!(store.find_verified(&same).await.unwrap(), Some(a.clone()));
    let taken = Account::new(b.clone())
        .with_verified_contact(same.clone(), T0)
        .unwrap();
    assert!(matches!(
        store.create(taken).await,
        Err(Error::ContactInUse)
    ));
    store.create(Account::new(b.clone())).await.unwrap();
    let ttl = Duration::from_secs(600);
    let s2 = same.clone();
    store
        .update(&b, move |acct| acct.add_pending(&s2, None, 10, ttl, T0))
        .await
        .unwrap();
    let s3 = same.clone();
    let r = store
        .update(&b, move |acct| {
            acct.verify_pending(&s3, T0)?;
            Ok(())
        })
        .await;
    assert!(matches!(r, Err(Error::ContactInUse)), "{r:?}");
    let bob = store.get(&b).await.unwrap().unwrap();
    assert_eq!(
        bob.verified().count(),
        0,
        "a refused update changes nothing"
    );
    assert_eq!(bob.security_info().len(), 1, "the earlier update stays");
    let r = store.update(&b, |_| Err::<(), _>(Error::LastContact)).await;
    assert!(
        matches!(r, Err(Error::LastContact)),
        "the closure's error comes back"
    );
    let missing = AccountId::new("nobody").unwrap();
    assert!(store.update(&missing, |_| Ok(())).await.unwrap().is_none());
    assert_eq!(store.get(&missing).await.unwrap(), None);
    // Every part of an account round-trips: pending info, recovery, hold, tickets.
    let phone = Contact::phone("+14255550100").unwrap();
    let p2 = phone.clone();
    store
        .update(&a, move |acct| {
            acct.add_pending(&p2, None, 10, ttl, T0)?;
            acct.record_recovery(&p2, Duration::from_secs(86400), T0);
            acct.add_ticket([7; 32], T0 + ttl, T0);
            Ok(())
        })
        .await
        .unwrap();
    let p3 = phone.clone();
    let expected = store
        .update(&a, move |acct| {
            acct.verify_pending(&p3, T0)?;
            let id = acct.verified().next().unwrap().id;
            acct.remove(id)?;
            acct.start_hold_if_replaced(Duration::from_secs(86400), T0);
            Ok(acct.clone())
        })
        .await
        .unwrap()
        .unwrap();
    assert!(expected.hold(T0).is_some());
    assert_eq!(store.get(&a).await.unwrap().unwrap(), expected);
    assert_eq!(
        store.find_verified(&email).await.unwrap(),
        None,
        "the index follows removals"
    );
    assert_eq!(store.find_verified(&phone).await.unwrap(), Some(a));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn memory_store_conforms() {
    runtime().block_on(suite(|| {
        (
            seccode::MemoryChallengeStore::new(),
            seccode::MemoryAccountStore::new(),
        )
    }));
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_conforms() {
    let dir = common::temp_dir("conformance");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    runtime().block_on(suite(|| {
        // Each check gets its own file; challenges and accounts share it, as in use.
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let store = Arc::new(seccode::SqliteStore::open(dir.join(format!("{n}.sqlite3"))).unwrap());
        (store.clone(), store)
    }));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_conforms() {
    let server = common::PostgresServer::start("conformance");
    let rt = runtime();
    // One database per check, so checks do not see each other's records; the
    // same store serves challenges and accounts.
    let stores: Vec<_> = (0..STORES_PER_SUITE)
        .map(|i| {
            let url = server.database(&format!("t{i}"));
            rt.block_on(seccode::PostgresStore::connect(&url)).unwrap()
        })
        .collect();
    let stores = std::sync::Mutex::new(stores);
    rt.block_on(suite(|| {
        let store = stores.lock().unwrap().pop().unwrap();
        (store.clone(), store)
    }));
    // A second connect finds the schema in place; a newer one is refused.
    rt.block_on(async {
        let url = server.url("t0");
        let store = seccode::PostgresStore::connect(&url).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 1);
        use seccode::store::tokio_postgres;
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .execute("INSERT INTO seccode_schema (version) VALUES (99)", &[])
            .await
            .unwrap();
        let err = seccode::PostgresStore::connect(&url).await.unwrap_err();
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("newer")
        );
    });
}

/// The suite on a real three-node Redis Cluster, with a resharding in the
/// middle: every check's records move between nodes while the next check runs.
#[cfg(feature = "redis")]
#[test]
fn redis_cluster_store_conforms() {
    let cluster = common::RedisCluster::start("conformance");
    let rt = runtime();
    let urls: Vec<&str> = cluster.urls.iter().map(String::as_str).collect();
    let slot_key = SecretKey::from_bytes([0x77; 32]);
    // Placement tags are keyed: another deployment's key places the same
    // accounts elsewhere, so a tag says nothing without the key.
    rt.block_on(async {
        let ours = seccode::RedisStore::connect_cluster(&urls, "p", &slot_key)
            .await
            .unwrap();
        let theirs =
            seccode::RedisStore::connect_cluster(&urls, "p", &SecretKey::from_bytes([0x78; 32]))
                .await
                .unwrap();
        let keys: Vec<CounterKey> = (0..32)
            .map(|i| CounterKey::account_failures(&AccountId::new(format!("a{i}")).unwrap()))
            .collect();
        let same = keys
            .iter()
            .filter(|k| ours.placement(k) == theirs.placement(k))
            .count();
        assert!(same <= 2, "{same} of 32 placements agree across keys");
        assert!(keys.iter().all(|k| ours.placement(k) == ours.placement(k)));
        assert!(ours.placement(&keys[0]).is_some());
    });
    let stores: Vec<_> = (0..STORES_PER_SUITE)
        .map(|i| {
            rt.block_on(seccode::RedisStore::connect_cluster(
                &urls,
                &format!("k{i}"),
                &slot_key,
            ))
            .unwrap()
        })
        .collect();
    let stores = std::sync::Mutex::new(stores);
    let make = || {
        let store = stores.lock().unwrap().pop().unwrap();
        (store, seccode::MemoryAccountStore::new())
    };
    rt.block_on(suite(&make));
    // Move a third of the first node's slots, with their keys, to the second
    // node while codes are started, guessed and approved on every node.
    let store = rt
        .block_on(seccode::RedisStore::connect_cluster(
            &urls, "moving", &slot_key,
        ))
        .unwrap();
    let (codes, outbox, _clock) = service(store, Config::default());
    let codes = Arc::new(codes);
    let (from, to) = (cluster.ports[0], cluster.ports[1]);
    let before = cluster.slots_of(from);
    let rounds = std::thread::scope(|s| {
        let reshard = s.spawn(|| cluster.reshard(from, to, before / 3));
        let (mut rounds, mut during) = (0usize, 0usize);
        while !reshard.is_finished() || rounds < 200 {
            if !reshard.is_finished() {
                during += 1;
            }
            rt.block_on(async {
                let tasks: Vec<_> = (0..16)
                    .map(|i| {
                        let (codes, outbox) = (codes.clone(), outbox.clone());
                        let account = AccountId::new(format!("mover-{rounds}-{i}")).unwrap();
                        tokio::spawn(async move {
                            let to = Contact::email(&format!("{account}@example.org")).unwrap();
                            let sent = codes
                                .start(
                                    &account,
                                    Purpose::IdentityCheck,
                                    &to,
                                    SendOptions::default(),
                                )
                                .await
                                .unwrap();
                            let code = outbox.last_code_to(&to).unwrap().expose().to_owned();
                            let wrong = codes
                                .verify(&sent.id, Purpose::IdentityCheck, &wrong_code(&code))
                                .await
                                .unwrap();
                            assert!(matches!(wrong, Verification::Rejected { .. }), "{wrong:?}");
                            let right = codes
                                .verify(&sent.id, Purpose::IdentityCheck, &code)
                                .await
                                .unwrap();
                            assert!(right.is_approved(), "{right:?}");
                            let again = codes
                                .verify(&sent.id, Purpose::IdentityCheck, &code)
                                .await
                                .unwrap();
                            assert!(matches!(again, Verification::AlreadyUsed), "{again:?}");
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            });
            rounds += 1;
        }
        reshard.join().unwrap();
        assert!(during > 0, "no round ran during the resharding");
        (rounds, during)
    });
    let after = cluster.slots_of(from);
    assert!(after < before, "the slots moved: {before} → {after}");
    eprintln!(
        "{} of {} rounds of 16 codes ran while {} slots moved",
        rounds.1,
        rounds.0,
        before - after
    );
}

#[cfg(feature = "redis")]
#[test]
fn redis_store_conforms() {
    let server = common::RedisServer::start("conformance");
    let rt = runtime();
    // The suite makes one store per check; connect them up front (each with its
    // own key prefix, so checks do not see each other's records).
    let stores: Vec<_> = (0..STORES_PER_SUITE)
        .map(|i| {
            rt.block_on(seccode::RedisStore::connect_with_prefix(
                &server.url,
                &format!("t{i}"),
            ))
            .unwrap()
        })
        .collect();
    let stores = std::sync::Mutex::new(stores);
    rt.block_on(suite(|| {
        let store = stores.lock().unwrap().pop().unwrap();
        (store, seccode::MemoryAccountStore::new())
    }));
    // Redis expires records by itself: every key carries the record's time to live.
    rt.block_on(async {
        let store = seccode::RedisStore::connect_with_prefix(&server.url, "ttl")
            .await
            .unwrap();
        let (account, email) = ann();
        let c = seccode::store::Challenge::issue(
            account,
            Purpose::Recovery,
            email,
            &Default::default(),
            1,
            &mut rand::rng(),
            T0,
        );
        let key = format!("ttl:c:{{{}}}", c.id());
        store.insert(c, T0).await.unwrap();
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        // Ten minutes of life plus fifteen of retention.
        assert!(ttl > 24 * 60 * 1000 && ttl <= 25 * 60 * 1000, "{ttl}");
        let counter = CounterKey::account_failures(&AccountId::new("ttl").unwrap());
        store
            .update_counter(&counter, T0, |c| {
                c.count = 1;
                c.expires_at = T0 + Duration::from_secs(60);
            })
            .await
            .unwrap();
        let key = format!("ttl:n:{{{}}}", counter.storage_key());
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 59_000 && ttl <= 60_000, "{ttl}");
    });
}

/// A code bound to a payment (PSD2's dynamic linking) keeps its binding in
/// the store: a check naming another amount or payee, or none, is answered
/// and counted as a wrong code — on Redis too, where the guess script leaves
/// a bound record's guesses to the keyring's comparison — a resend keeps it
/// (and refuses to name another payment), and only the same payment
/// approves.
async fn a_payment_code_approves_only_its_payment<S: ChallengeStore>(store: S) {
    let (codes, outbox, clock) = service(store, Config::default());
    let (account, email) = ann();
    let payment = seccode::Transaction::new("€39.99", "Acme Inc.").unwrap();
    let options = SendOptions::default().transaction(payment);
    let sent = codes
        .start(&account, Purpose::IdentityCheck, &email, options)
        .await
        .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let text = outbox.messages_to(&email).last().unwrap().body().to_owned();
    assert!(
        text.contains("Amount: €39.99. Payee: Acme Inc."),
        "the message names the payment: {text}"
    );
    let more = seccode::Transaction::new("€399.99", "Acme Inc.").unwrap();
    let elsewhere = seccode::Transaction::new("€39.99", "Mallory Ltd").unwrap();
    for other in [&more, &elsewhere] {
        let v = codes
            .verify_transaction(&sent.id, Purpose::IdentityCheck, code.expose(), other)
            .await
            .unwrap();
        assert!(matches!(v, Verification::Rejected { .. }), "{v:?}");
    }
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await
        .unwrap();
    assert!(
        matches!(v, Verification::Rejected { remaining: 2, .. }),
        "a check must name the payment, and each miss counts: {v:?}"
    );
    clock.advance(Duration::from_secs(31));
    assert!(matches!(
        codes
            .resend(&sent.id, SendOptions::default().transaction(more))
            .await,
        Err(Error::InvalidInput { .. })
    ));
    codes.resend(&sent.id, options).await.unwrap();
    assert_eq!(outbox.last_code_to(&email).unwrap().expose(), code.expose());
    let v = codes
        .verify_transaction(&sent.id, Purpose::IdentityCheck, code.expose(), &payment)
        .await
        .unwrap();
    assert!(matches!(v, Verification::Approved(_)), "{v:?}");
    // A code bound to no payment is not approved by a check naming one.
    let plain = codes
        .start(
            &account,
            Purpose::AddSecurityInfo,
            &email,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let v = codes
        .verify_transaction(&plain.id, Purpose::AddSecurityInfo, code.expose(), &payment)
        .await
        .unwrap();
    assert!(matches!(v, Verification::Rejected { .. }), "{v:?}");
    let v = codes
        .verify(&plain.id, Purpose::AddSecurityInfo, code.expose())
        .await
        .unwrap();
    assert!(matches!(v, Verification::Approved(_)), "{v:?}");
}
