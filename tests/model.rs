//! Model-based property test: random interleavings of start / resend / new code /
//! verify (right, wrong, stale, malformed, wrong purpose) / cancel / sweep / clock
//! moves, run against the real service on the memory store and compared, step by
//! step, with a small reference model of the crate's rules (guarantees 2–4 of the crate docs). 10 000 cases.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use seccode::SendOptions;
use seccode::{
    AccountId, ChallengeId, Config, Contact, Error, Limits, Purpose, RateLimit, Rejection, Status,
    Timestamp, Verification,
};

use common::{memory_service, ready, wrong_code};

const LIFETIME: Duration = Duration::from_secs(600);
const COOLDOWN: Duration = Duration::from_secs(30);
const RETENTION: Duration = Duration::from_secs(900);
const MAX_ATTEMPTS: u8 = 5;
const MAX_SENDS: u8 = 5;
const ACCOUNT_CAP: u32 = 7;
const LOCKOUT: Duration = Duration::from_secs(3600);
const FREE_FAILURES: u32 = 3;
const MAX_DELAY: Duration = Duration::from_secs(20);
const DEST_CAP: u32 = 4;
const RECOVERY_CAP: u32 = 3;
const DEST_WINDOW: Duration = Duration::from_secs(600);

#[derive(Clone, Debug)]
enum Op {
    Start {
        account: u8,
        purpose: u8,
        destination: u8,
    },
    Resend(Index),
    NewCode(Index),
    VerifyRight(Index),
    VerifyWrong(Index),
    VerifyStale(Index),
    VerifyMalformed(Index),
    VerifyWrongPurpose(Index),
    VerifyWrongAccount(Index),
    Cancel(Index),
    Sweep,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..2, 0u8..2, 0u8..3).prop_map(|(account, purpose, destination)| Op::Start { account, purpose, destination }),
        2 => any::<Index>().prop_map(Op::Resend),
        2 => any::<Index>().prop_map(Op::NewCode),
        3 => any::<Index>().prop_map(Op::VerifyRight),
        4 => any::<Index>().prop_map(Op::VerifyWrong),
        1 => any::<Index>().prop_map(Op::VerifyStale),
        1 => any::<Index>().prop_map(Op::VerifyMalformed),
        1 => any::<Index>().prop_map(Op::VerifyWrongPurpose),
        1 => any::<Index>().prop_map(Op::VerifyWrongAccount),
        1 => any::<Index>().prop_map(Op::Cancel),
        1 => Just(Op::Sweep),
        3 => prop_oneof![Just(0u64), Just(10), Just(31), Just(300), Just(660), Just(3600)].prop_map(Op::Advance),
    ]
}

/// What the model says a challenge is.
#[derive(Clone, Debug)]
struct ModelChallenge {
    id: ChallengeId,
    account: u8,
    purpose: Purpose,
    destination: u8,
    status: Status,
    attempts: u8,
    sends: u8,
    generation: u32,
    last_sent: Timestamp,
    expires_at: Timestamp,
    /// The code of each generation, as read from the outbox.
    codes: Vec<String>,
    forgotten: bool,
    approvals: u32,
}

impl ModelChallenge {
    fn settle(&mut self, now: Timestamp) -> Status {
        if self.status == Status::Pending && self.attempts >= MAX_ATTEMPTS {
            self.status = Status::Locked;
        } else if self.status == Status::Pending && now >= self.expires_at {
            self.status = Status::Expired;
        }
        self.status
    }
}

#[derive(Default, Debug)]
struct Window {
    count: u32,
    start: Timestamp,
}

#[derive(Default, Debug)]
struct Failures {
    count: u32,
    blocked_until: Timestamp,
    forget_at: Timestamp,
}

#[derive(Default)]
struct Model {
    challenges: Vec<ModelChallenge>,
    /// Send windows by lane: a destination's anonymous recovery budget
    /// (`(None, d)`), or an account's own lane to it (`(Some(account), d)`).
    destinations: HashMap<(Option<u8>, u8), Window>,
    /// Failure budgets by account and whether they are the recovery budget.
    accounts: HashMap<(u8, bool), Failures>,
}

impl Model {
    /// A send to `d`: recovery codes count on the destination's recovery
    /// budget, identity checks on the account's own lane to it.
    fn destination_send(
        &mut self,
        account: u8,
        recovery: bool,
        d: u8,
        now: Timestamp,
    ) -> Result<(), Duration> {
        let (key, cap) = if recovery {
            ((None, d), RECOVERY_CAP)
        } else {
            ((Some(account), d), DEST_CAP)
        };
        let w = self.destinations.entry(key).or_default();
        if w.count == 0 || now >= w.start + DEST_WINDOW {
            *w = Window {
                count: 0,
                start: now,
            };
        }
        if w.count >= cap {
            return Err((w.start + DEST_WINDOW).saturating_since(now));
        }
        w.count += 1;
        Ok(())
    }

    fn account_failure(&mut self, budget: (u8, bool), now: Timestamp) -> Result<(), Duration> {
        let f = self.accounts.entry(budget).or_default();
        if now < f.blocked_until {
            return Err(f.blocked_until.saturating_since(now));
        }
        if f.count >= ACCOUNT_CAP || now >= f.forget_at {
            *f = Failures::default();
        }
        f.count += 1;
        f.blocked_until = if f.count >= ACCOUNT_CAP {
            now + LOCKOUT
        } else if f.count > FREE_FAILURES {
            now + Duration::from_secs(1 << (f.count - FREE_FAILURES - 1)).min(MAX_DELAY)
        } else {
            Timestamp::UNIX_EPOCH
        };
        f.forget_at = now + LOCKOUT;
        Ok(())
    }

    fn account_blocked(&self, budget: (u8, bool), now: Timestamp) -> bool {
        self.accounts
            .get(&budget)
            .is_some_and(|f| now < f.blocked_until)
    }
}

/// Outcomes reduced to what the model predicts.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Sent { sends_left: u8, attempts_left: u8 },
    Approved,
    Rejected(u8, Rejection),
    Expired,
    Locked,
    AccountLocked(Duration),
    AlreadyUsed,
    Canceled,
    NotFound,
    RateLimited(RateLimit, Duration),
    SendLimit,
    NotPending(Status),
    ChallengeNotFound,
}

fn seen_verification(v: seccode::Result<Verification>) -> Seen {
    match v.expect("no faults in memory") {
        Verification::Approved(_) => Seen::Approved,
        Verification::Rejected { remaining, reason } => Seen::Rejected(remaining, reason),
        Verification::Expired => Seen::Expired,
        Verification::Locked => Seen::Locked,
        Verification::AccountLocked { retry_after } => Seen::AccountLocked(retry_after),
        Verification::AlreadyUsed => Seen::AlreadyUsed,
        Verification::Canceled => Seen::Canceled,
        Verification::NotFound => Seen::NotFound,
        other => panic!("unexpected {other:?}"),
    }
}

fn seen_error(e: Error) -> Seen {
    match e {
        Error::RateLimited { limit, retry_after } => Seen::RateLimited(limit, retry_after),
        Error::SendLimitReached => Seen::SendLimit,
        Error::ChallengeNotPending(s) => Seen::NotPending(s),
        Error::ChallengeNotFound => Seen::ChallengeNotFound,
        other => panic!("unexpected error {other:?}"),
    }
}

fn verdict(status: Status) -> Seen {
    match status {
        Status::Approved => Seen::AlreadyUsed,
        Status::Canceled => Seen::Canceled,
        Status::Expired => Seen::Expired,
        _ => Seen::Locked,
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let limits = Limits::builder()
        .account_failure_cap(ACCOUNT_CAP)
        .throttle(FREE_FAILURES, MAX_DELAY)
        .account_lockout(LOCKOUT)
        .destination_sends(DEST_CAP, DEST_WINDOW)
        .recovery_sends(RECOVERY_CAP, 1_000)
        .build()
        .expect("valid limits");
    let (codes, outbox, clock) = memory_service();
    let codes = codes.with_config(Config::default().with_limits(limits));
    let accounts = [
        AccountId::new("alice").unwrap(),
        AccountId::new("bob").unwrap(),
    ];
    let purposes = [Purpose::Recovery, Purpose::IdentityCheck];
    let destinations = [
        Contact::email("alice@example.org").unwrap(),
        Contact::phone("+14255550100").unwrap(),
        Contact::email("bob@example.org").unwrap(),
    ];
    let mut model = Model::default();

    for op in ops {
        let now = clock.now_ts();
        let pick = |i: &Index, model: &Model| {
            (!model.challenges.is_empty()).then(|| i.index(model.challenges.len()))
        };
        match op {
            Op::Advance(secs) => clock.advance(Duration::from_secs(secs)),
            Op::Sweep => {
                ready(codes.sweep()).expect("sweep");
                for c in &mut model.challenges {
                    // The memory store files records by the whole minute after
                    // their retention ends.
                    let minute = (c.expires_at + RETENTION).as_unix_millis().div_ceil(60_000);
                    if minute * 60_000 <= now.as_unix_millis() {
                        c.forgotten = true;
                    }
                }
            }
            Op::Start {
                account,
                purpose,
                destination,
            } => {
                let purpose_v = purposes[usize::from(purpose)];
                let got = ready(codes.start(
                    &accounts[usize::from(account)],
                    purpose_v,
                    &destinations[usize::from(destination)],
                    SendOptions::default(),
                ));
                let recovery = purpose_v == Purpose::Recovery;
                let want = if model.account_blocked((account, recovery), now) {
                    let f = &model.accounts[&(account, recovery)];
                    let limit = if recovery {
                        RateLimit::RecoveryFailures
                    } else {
                        RateLimit::AccountFailures
                    };
                    Err(Seen::RateLimited(
                        limit,
                        f.blocked_until.saturating_since(now),
                    ))
                } else {
                    model
                        .destination_send(account, recovery, destination, now)
                        .map_err(|d| Seen::RateLimited(RateLimit::DestinationSends, d))
                };
                match (got, want) {
                    (Ok(sent), Ok(())) => {
                        prop_assert_eq!(sent.expires_at, now + LIFETIME);
                        prop_assert_eq!(sent.resend_after, now + COOLDOWN);
                        let code = outbox
                            .last_code_to(&destinations[usize::from(destination)])
                            .expect("code sent");
                        model.challenges.push(ModelChallenge {
                            id: sent.id,
                            account,
                            purpose: purpose_v,
                            destination,
                            status: Status::Pending,
                            attempts: 0,
                            sends: 1,
                            generation: 0,
                            last_sent: now,
                            expires_at: now + LIFETIME,
                            codes: vec![code.expose().to_owned()],
                            forgotten: false,
                            approvals: 0,
                        });
                    }
                    (Err(e), Err(want)) => prop_assert_eq!(seen_error(e), want),
                    (got, want) => prop_assert!(false, "start: got {:?}, model {:?}", got, want),
                }
            }
            Op::Resend(i) | Op::NewCode(i) => {
                let Some(i) = pick(&i, &model) else { continue };
                let new_code = matches!(op, Op::NewCode(_));
                let id = model.challenges[i].id;
                let got = if new_code {
                    ready(codes.new_code(&id, SendOptions::default()))
                } else {
                    ready(codes.resend(&id, SendOptions::default()))
                };
                let c = &mut model.challenges[i];
                let want = if c.forgotten {
                    Err(Seen::ChallengeNotFound)
                } else {
                    match c.settle(now) {
                        Status::Pending if c.sends >= MAX_SENDS => Err(Seen::SendLimit),
                        Status::Pending if now < c.last_sent + COOLDOWN => Err(Seen::RateLimited(
                            RateLimit::ResendCooldown,
                            (c.last_sent + COOLDOWN).saturating_since(now),
                        )),
                        Status::Pending => {
                            let (a, d) = (c.account, c.destination);
                            let recovery = c.purpose == Purpose::Recovery;
                            match model.destination_send(a, recovery, d, now) {
                                Err(d) => Err(Seen::RateLimited(RateLimit::DestinationSends, d)),
                                Ok(()) => {
                                    let c = &mut model.challenges[i];
                                    c.sends += 1;
                                    c.last_sent = now;
                                    if new_code {
                                        c.generation += 1;
                                    }
                                    Ok(Seen::Sent {
                                        sends_left: MAX_SENDS - c.sends,
                                        attempts_left: MAX_ATTEMPTS - c.attempts,
                                    })
                                }
                            }
                        }
                        other => Err(Seen::NotPending(other)),
                    }
                };
                match (got, want) {
                    (Ok(sent), Ok(want)) => {
                        prop_assert_eq!(
                            Seen::Sent {
                                sends_left: sent.sends_left,
                                attempts_left: sent.attempts_left
                            },
                            want
                        );
                        let c = &mut model.challenges[i];
                        let code = outbox
                            .last_code_to(&destinations[usize::from(c.destination)])
                            .expect("code");
                        if new_code {
                            c.codes.push(code.expose().to_owned());
                        } else {
                            prop_assert_eq!(
                                code.expose(),
                                c.codes.last().unwrap().as_str(),
                                "a resend repeats the code"
                            );
                        }
                    }
                    (Err(e), Err(want)) => prop_assert_eq!(seen_error(e), want),
                    (got, want) => prop_assert!(false, "resend: got {:?}, model {:?}", got, want),
                }
            }
            Op::VerifyRight(i)
            | Op::VerifyWrong(i)
            | Op::VerifyStale(i)
            | Op::VerifyMalformed(i)
            | Op::VerifyWrongPurpose(i)
            | Op::VerifyWrongAccount(i) => {
                let Some(i) = pick(&i, &model) else { continue };
                let c = model.challenges[i].clone();
                let current = c.codes.last().unwrap().clone();
                let (input, purpose, account) = match op {
                    Op::VerifyRight(_) => (current.clone(), c.purpose, c.account),
                    Op::VerifyWrong(_) => (wrong_code(&current), c.purpose, c.account),
                    Op::VerifyStale(_) => (c.codes[0].clone(), c.purpose, c.account),
                    Op::VerifyMalformed(_) => ("12a4".to_owned(), c.purpose, c.account),
                    Op::VerifyWrongPurpose(_) => {
                        let other = if c.purpose == purposes[0] {
                            purposes[1]
                        } else {
                            purposes[0]
                        };
                        (current.clone(), other, c.account)
                    }
                    _ => (current.clone(), c.purpose, 1 - c.account),
                };
                let got = seen_verification(ready(codes.verify_for_account(
                    &c.id,
                    purpose,
                    &accounts[usize::from(account)],
                    &input,
                )));
                let want = {
                    let c = &mut model.challenges[i];
                    if c.forgotten {
                        Seen::NotFound
                    } else {
                        match c.settle(now) {
                            // Malformed input can match no code: answered from the
                            // record, counting nothing on the challenge or account.
                            Status::Pending if matches!(op, Op::VerifyMalformed(_)) => {
                                Seen::Rejected(
                                    MAX_ATTEMPTS - c.attempts,
                                    Rejection::Malformed(seccode::Malformed::InvalidCharacter),
                                )
                            }
                            Status::Pending => {
                                c.attempts += 1;
                                let remaining = MAX_ATTEMPTS - c.attempts;
                                if purpose != c.purpose {
                                    Seen::Rejected(remaining, Rejection::WrongPurpose)
                                } else if account != c.account {
                                    Seen::Rejected(remaining, Rejection::WrongAccount)
                                } else {
                                    let budget = (c.account, c.purpose == Purpose::Recovery);
                                    let right = input == current;
                                    match model.account_failure(budget, now) {
                                        Err(d) => Seen::AccountLocked(d),
                                        Ok(()) if right => {
                                            let c = &mut model.challenges[i];
                                            c.status = Status::Approved;
                                            c.approvals += 1;
                                            model.accounts.remove(&budget);
                                            Seen::Approved
                                        }
                                        Ok(()) => Seen::Rejected(remaining, Rejection::WrongCode),
                                    }
                                }
                            }
                            other => verdict(other),
                        }
                    }
                };
                prop_assert_eq!(&got, &want, "verify {:?} of {:?}", op, model.challenges[i]);
                prop_assert!(
                    model.challenges[i].approvals <= 1,
                    "a challenge approved twice"
                );
                prop_assert!(model.challenges[i].attempts <= MAX_ATTEMPTS);
            }
            Op::Cancel(i) => {
                let Some(i) = pick(&i, &model) else { continue };
                let got = ready(codes.cancel(&model.challenges[i].id));
                let c = &mut model.challenges[i];
                let want = if c.forgotten {
                    Err(Seen::ChallengeNotFound)
                } else {
                    match c.settle(now) {
                        Status::Pending | Status::Locked => {
                            c.status = Status::Canceled;
                            Ok(())
                        }
                        other => Err(Seen::NotPending(other)),
                    }
                };
                match (got, want) {
                    (Ok(()), Ok(())) => {}
                    (Err(e), Err(want)) => prop_assert_eq!(seen_error(e), want),
                    (got, want) => prop_assert!(false, "cancel: got {:?}, model {:?}", got, want),
                }
            }
        }
    }
    // The status the service reports agrees with the model at the end.
    let now = clock.now_ts();
    for c in &mut model.challenges {
        if !c.forgotten {
            let status = ready(codes.status(&c.id)).expect("status");
            prop_assert_eq!(status, c.settle(now));
        }
    }
    Ok(())
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for std::sync::Arc<seccode::ManualClock> {
    fn now_ts(&self) -> Timestamp {
        seccode::Clock::now(self)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn prop_service_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
