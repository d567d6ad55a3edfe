//! The replacement hold through the flows — what an attacker who recovered the
//! account can and cannot do with it — and a model-based property test of the
//! hold's state machine.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use seccode::store::{AccountStore, HoldState};
use seccode::{
    Account, AccountId, AccountSecurity, Contact, Error, Keyring, ManualClock, MemoryAccountStore,
    MemoryChallengeStore, Outbox, Proof, SecretKey, SecurityInfoId, Timestamp,
};

use common::{T0, ready};

type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

const DAY: Duration = Duration::from_secs(86_400);
const PERIOD: Duration = Duration::from_secs(30 * 86_400);

struct World {
    flows: Flows,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    id: AccountId,
    /// The owner's email.
    v: Contact,
    /// The owner's phone, in worlds that have one.
    p: Option<Contact>,
}

fn world() -> World {
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x33; 32]));
    let (flows, outbox, clock) = common::memory_flows(keyring, MemoryChallengeStore::new());
    let id = AccountId::new("owner").unwrap();
    let v = Contact::email("owner@example.org").unwrap();
    let account = Account::new(id.clone())
        .with_verified_contact(v.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    World {
        flows,
        outbox,
        clock,
        id,
        v,
        p: None,
    }
}

/// The owner with an email V and a phone P (+1 425 555 0123).
fn world_with_phone() -> World {
    let mut w = world();
    let p = Contact::phone("+14255550123").unwrap();
    let now = w.now();
    let p2 = p.clone();
    ready(w.flows.accounts().update(&w.id, move |a| {
        *a = a.clone().with_verified_contact(p2.clone(), now)?;
        Ok(())
    }))
    .unwrap()
    .unwrap();
    w.p = Some(p);
    w
}

impl World {
    fn code_to(&self, to: &Contact) -> String {
        self.outbox.last_code_to(to).unwrap().expose().to_owned()
    }

    /// Moves on past every cooldown, as a person clicking through pages would.
    fn later(&self) {
        self.clock.advance(Duration::from_secs(60));
    }

    fn entry(&self, contact: &Contact) -> SecurityInfoId {
        let account = ready(self.flows.accounts().get(&self.id)).unwrap().unwrap();
        account
            .security_info()
            .iter()
            .find(|i| i.contact == *contact)
            .unwrap()
            .id
    }

    fn now(&self) -> Timestamp {
        seccode::Clock::now(&self.clock)
    }

    /// A full recovery through `via`, confirmed with `confirmation` (the whole
    /// address, or a phone's last four digits).
    fn recover_via(&self, via: &Contact, confirmation: &str) -> Proof {
        self.later();
        let start = ready(self.flows.start_recovery(via.expose())).unwrap();
        let i = start
            .choices
            .iter()
            .position(|c| c.contact == via.masked())
            .unwrap();
        let sent = ready(
            self.flows
                .choose_recovery_contact(&start.token, i, confirmation, None),
        )
        .unwrap();
        let code = self.code_to(via);
        ready(self.flows.finish_recovery(&sent.id, &code))
            .unwrap()
            .into_proof()
            .unwrap()
    }

    fn add_verified(&self, contact: &Contact) {
        self.later();
        let sent = ready(self.flows.start_add_security_info(&self.id, contact)).unwrap();
        let code = self.code_to(contact);
        let v = ready(
            self.flows
                .finish_add_security_info(&self.id, &sent.id, &code),
        )
        .unwrap();
        assert!(v.is_approved(), "{v:?}");
    }

    fn identity_proof_via(&self, contact: &Contact) -> Proof {
        self.later();
        let sent = ready(
            self.flows
                .start_identity_check(&self.id, self.entry(contact)),
        )
        .unwrap();
        let code = self.code_to(contact);
        ready(self.flows.finish_identity_check(&self.id, &sent.id, &code))
            .unwrap()
            .into_proof()
            .unwrap()
    }

    /// The takeover the hold exists for, in a world with a phone: whoever
    /// holds V recovers through it and adds A — returning the recovery proof
    /// and A — before [`World::remove_originals`].
    fn recover_via_v_and_add(&self) -> (Proof, Contact) {
        let a = Contact::email("attacker@example.net").unwrap();
        let proof = self.recover_via(&self.v, self.v.expose());
        self.add_verified(&a);
        (proof, a)
    }

    /// …then removes the phone P (with the recovery proof) and V (with an
    /// identity check through A): a hold starts with originals {V, P}.
    fn remove_originals(&self, proof: &Proof, a: &Contact) {
        let p = self.p.clone().unwrap();
        ready(self.flows.remove_security_info(proof, self.entry(&p))).unwrap();
        let proof = self.identity_proof_via(a);
        ready(self.flows.remove_security_info(&proof, self.entry(&self.v))).unwrap();
    }

    fn hold_originals(&self) -> Option<Vec<String>> {
        ready(self.flows.hold(&self.id))
            .unwrap()
            .map(|h| h.originals.iter().map(|m| m.to_string()).collect())
    }
}

#[test]
fn a_second_recovery_through_another_original_keeps_the_originals() {
    // The owner has V and P. Recover via V, add A, recover again via P, remove
    // V and P: the originals are still {V, P}, so a hold starts; both
    // recoveries of the window went through one of them, so neither ends it
    // early (whoever recovered may hold both): it runs its period.
    let w = world_with_phone();
    let p = w.p.clone().unwrap();
    let a = Contact::email("attacker@example.net").unwrap();
    let _first = w.recover_via(&w.v, w.v.expose());
    w.add_verified(&a);
    let _second = w.recover_via(&p, "0123");
    let proof = w.identity_proof_via(&a);
    ready(w.flows.remove_security_info(&proof, w.entry(&w.v))).unwrap();
    let proof = w.identity_proof_via(&a);
    ready(w.flows.remove_security_info(&proof, w.entry(&p))).unwrap();
    let hold = ready(w.flows.hold(&w.id)).unwrap().expect("a hold started");
    assert_eq!(hold.originals, [], "every original was recovered through");
    assert!(matches!(
        ready(w.flows.start_hold_release(&w.id, 0)),
        Err(Error::UnknownSecurityInfo)
    ));
}

#[test]
fn the_original_a_recovery_went_through_cannot_end_the_hold() {
    // The attacker controls the owner's mailbox V: recovers through it, adds A,
    // removes the phone P, removes V. A hold starts with originals {V, P}; a code
    // to V — which the attacker reads — does not end it. P, the owner's, does.
    let w = world_with_phone();
    let p = w.p.clone().unwrap();
    let (proof, a) = w.recover_via_v_and_add();
    w.remove_originals(&proof, &a);
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    let hold = account.hold(w.now()).expect("a hold started").clone();
    assert_eq!(hold.originals, [w.v.clone(), p.clone()]);
    assert_eq!(hold.through, std::slice::from_ref(&w.v));
    // Offered to end it: only P.
    assert_eq!(w.hold_originals(), Some(vec![p.masked().to_string()]));
    // Even a proof of V (an identity-check code the attacker reads) is refused.
    assert!(!account.clone().release_hold(&w.v, w.now()));
    w.later();
    let sent = ready(w.flows.start_hold_release(&w.id, 0)).unwrap();
    assert_eq!(sent.destination, p.masked());
    let code = w.code_to(&p);
    let v = ready(w.flows.finish_hold_release(&w.id, &sent.id, &code)).unwrap();
    assert!(v.is_approved(), "{v:?}");
    assert_eq!(ready(w.flows.hold(&w.id)).unwrap(), None);
}

#[test]
fn security_info_added_during_a_hold_window_cannot_recover_until_it_ends() {
    // Recover via V, add A: for the hold period, A is not offered for recovery
    // (only the originals are); remove V: the hold starts, and a recovery typed
    // with A is answered as for an unknown identifier — no code reaches A, no
    // ticket can be had through it.
    let w = world_with_phone();
    let (proof, a) = w.recover_via_v_and_add();
    let start = ready(w.flows.start_recovery(a.expose())).unwrap();
    assert!(
        !start.choices.iter().any(|c| c.contact == a.masked()),
        "a contact added in the window is not offered"
    );
    w.remove_originals(&proof, &a);
    assert!(ready(w.flows.hold(&w.id)).unwrap().is_some());
    // Typed with A during the hold: a made-up answer (A among its choices, as for
    // any unknown address), and confirming A sends nothing.
    w.later();
    let start = ready(w.flows.start_recovery(a.expose())).unwrap();
    let i = start
        .choices
        .iter()
        .position(|c| c.contact == a.masked())
        .expect("a made-up answer lists the identifier");
    let before = w.outbox.len();
    let sent = ready(
        w.flows
            .choose_recovery_contact(&start.token, i, a.expose(), None),
    )
    .unwrap();
    assert_eq!(w.outbox.len(), before, "nothing is sent to A");
    // The decoy's code cannot be had, so no recovery proof and no ticket.
    for guess in ["000000", "123456"] {
        let v = ready(w.flows.finish_recovery(&sent.id, guess)).unwrap();
        assert!(!v.is_approved());
    }
    // Once the hold has run out, A recovers like any other contact.
    w.clock.advance(PERIOD);
    let start = ready(w.flows.start_recovery(a.expose())).unwrap();
    let i = start
        .choices
        .iter()
        .position(|c| c.contact == a.masked())
        .unwrap();
    ready(
        w.flows
            .choose_recovery_contact(&start.token, i, a.expose(), None),
    )
    .unwrap();
    assert!(w.outbox.last_code_to(&a).is_some());
}

#[test]
fn a_released_hold_cannot_be_turned_on_the_owner() {
    // The attacker recovers via V, adds A, removes P and V: a hold with
    // originals {V, P}. A recovery typed with A during it changes nothing; the
    // owner releases it via P, adds V back and removes A: no new hold whose
    // original the attacker holds.
    let w = world_with_phone();
    let p = w.p.clone().unwrap();
    let (proof, a) = w.recover_via_v_and_add();
    w.remove_originals(&proof, &a);
    let h1 = ready(w.flows.hold(&w.id)).unwrap().unwrap();
    assert_eq!(h1.originals, [p.masked()]);

    w.later();
    let _ = ready(w.flows.start_recovery(a.expose())).unwrap();
    assert_eq!(ready(w.flows.hold(&w.id)).unwrap(), Some(h1.clone()));

    w.later();
    let sent = ready(w.flows.start_hold_release(&w.id, 0)).unwrap();
    let code = w.code_to(&p);
    let v = ready(w.flows.finish_hold_release(&w.id, &sent.id, &code)).unwrap();
    assert!(v.is_approved(), "{v:?}");
    w.add_verified(&w.v);
    let proof = w.identity_proof_via(&w.v);
    ready(w.flows.remove_security_info(&proof, w.entry(&a))).unwrap();
    assert_eq!(
        w.hold_originals(),
        None,
        "the window closed with the release"
    );
}

#[test]
fn steps_started_before_a_hold_do_not_finish_during_it() {
    let w = world();
    let a = Contact::email("attacker@example.net").unwrap();
    let proof = w.recover_via(&w.v, w.v.expose());
    w.add_verified(&a);
    // Both started before the hold…
    w.later();
    let pending = Contact::email("late@example.net").unwrap();
    let add = ready(w.flows.start_add_security_info(&w.id, &pending)).unwrap();
    let check = ready(w.flows.start_identity_check(&w.id, w.entry(&a))).unwrap();
    // …which starts now.
    ready(w.flows.remove_security_info(&proof, w.entry(&w.v))).unwrap();
    assert!(w.hold_originals().is_some());
    let code = w.code_to(&pending);
    assert!(matches!(
        ready(w.flows.finish_add_security_info(&w.id, &add.id, &code)),
        Err(Error::OnHold { .. })
    ));
    let code = w.code_to(&a);
    assert!(matches!(
        ready(w.flows.finish_identity_check(&w.id, &check.id, &code)),
        Err(Error::OnHold { .. })
    ));
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    assert!(account.verified().all(|i| i.contact != pending));
}

#[test]
fn a_late_code_does_not_add_back_a_dropped_pending_entry() {
    let w = world();
    let new = Contact::email("new@example.org").unwrap();
    w.later();
    let sent = ready(w.flows.start_add_security_info(&w.id, &new)).unwrap();
    // The person removes the pending entry; the code arrives afterwards.
    let proof = w.identity_proof_via(&w.v);
    ready(w.flows.remove_security_info(&proof, w.entry(&new))).unwrap();
    let code = w.code_to(&new);
    assert!(matches!(
        ready(w.flows.finish_add_security_info(&w.id, &sent.id, &code)),
        Err(Error::UnknownSecurityInfo)
    ));
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    assert_eq!(account.security_info().len(), 1);
}

// ----- the state machine against a model ------------------------------------------------

/// What the flows do to an account, on a universe of four contacts.
#[derive(Clone, Debug)]
enum Op {
    /// A recovery through contact `i`, if the account offers it for recovery.
    Recover(usize),
    Add(usize),
    Remove(usize),
    Release(usize),
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..4usize).prop_map(Op::Recover),
        3 => (0..4usize).prop_map(Op::Add),
        3 => (0..4usize).prop_map(Op::Remove),
        2 => (0..4usize).prop_map(Op::Release),
        1 => (0..40u8).prop_map(Op::Advance),
    ]
}

/// The rules as a person would state them, written apart from the crate's code.
#[derive(Clone, Debug, PartialEq)]
enum Model {
    Idle,
    Watching {
        end: Timestamp,
        originals: BTreeSet<usize>,
        through: BTreeSet<usize>,
    },
    Held {
        until: Timestamp,
        originals: BTreeSet<usize>,
        through: BTreeSet<usize>,
    },
}

fn contact(i: usize) -> Contact {
    Contact::email(&format!("c{i}@example.org")).unwrap()
}

/// The crate's state as it reads at `now` (a lapsed window or hold is idle).
fn model_of(state: &HoldState, period: Duration, now: Timestamp) -> Model {
    let set = |cs: &[Contact]| -> BTreeSet<usize> {
        cs.iter()
            .map(|c| (0..4).find(|&i| contact(i) == *c).unwrap())
            .collect()
    };
    match state {
        HoldState::Held(h) if now < h.until => Model::Held {
            until: h.until,
            originals: set(&h.originals),
            through: set(&h.through),
        },
        HoldState::Watching(r) if now < r.at + period => Model::Watching {
            end: r.at + period,
            originals: set(&r.originals),
            through: set(&r.through),
        },
        _ => Model::Idle,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn prop_hold_matches_its_model_and_keeps_its_originals(ops in prop::collection::vec(op(), 1..40)) {
        let mut now = T0;
        let mut account = Account::new(AccountId::new("a").unwrap())
            .with_verified_contact(contact(0), now)
            .unwrap();
        let mut verified: BTreeSet<usize> = [0].into();
        let mut model = Model::Idle;
        for op in ops {
            // Time passing ends windows and holds in the model.
            let settle = |m: &mut Model, now: Timestamp| match m {
                Model::Watching { end, .. } if now >= *end => *m = Model::Idle,
                Model::Held { until, .. } if now >= *until => *m = Model::Idle,
                _ => {}
            };
            let before = model.clone();
            let on_hold = matches!(model, Model::Held { until, .. } if now < until);
            match op {
                Op::Recover(i) => {
                    // Recovery offers the verified contacts, but during a window
                    // or a hold only the originals.
                    settle(&mut model, now);
                    let offered: BTreeSet<usize> = match &model {
                        Model::Idle => verified.clone(),
                        Model::Watching { originals, .. } | Model::Held { originals, .. } => {
                            verified.intersection(originals).copied().collect()
                        }
                    };
                    let crate_offers: BTreeSet<usize> = account
                        .recovery_contacts(PERIOD, now)
                        .map(|c| (0..4).find(|&j| contact(j) == *c).unwrap())
                        .collect();
                    prop_assert_eq!(&crate_offers, &offered);
                    if !offered.contains(&i) {
                        continue;
                    }
                    account.record_recovery(&contact(i), PERIOD, now);
                    model = match model {
                        Model::Idle => Model::Watching {
                            end: now + PERIOD,
                            originals: verified.clone(),
                            through: [i].into(),
                        },
                        Model::Watching { originals, mut through, .. } => {
                            through.insert(i);
                            Model::Watching { end: now + PERIOD, originals, through }
                        }
                        held => held,
                    };
                }
                Op::Add(i) | Op::Remove(i) => {
                    // The flows refuse changes during a hold.
                    prop_assert_eq!(account.check_hold(now).is_err(), on_hold);
                    if on_hold {
                        continue;
                    }
                    let changed = if let Op::Add(_) = op {
                        account.add_pending(&contact(i), None, 10, DAY, now).is_ok()
                            && account.verify_pending(&contact(i), now).is_ok()
                            && verified.insert(i)
                    } else {
                        let entry = account.verified_entry(&contact(i)).map(|e| e.id);
                        entry.is_some_and(|id| account.remove(id).is_ok()) && verified.remove(&i)
                    };
                    let started = account.start_hold_if_replaced(PERIOD, now);
                    settle(&mut model, now);
                    let mut want = None;
                    if let Model::Watching { originals, through, .. } = &model
                        && originals.is_disjoint(&verified)
                    {
                        want = Some(now + PERIOD);
                        model = Model::Held {
                            until: now + PERIOD,
                            originals: originals.clone(),
                            through: through.clone(),
                        };
                    }
                    prop_assert_eq!(started, want, "changed: {}", changed);
                }
                Op::Release(i) => {
                    let ended = account.release_hold(&contact(i), now);
                    // Only an original no recovery of the window went through.
                    let want = matches!(&model, Model::Held { until, originals, through }
                        if now < *until && originals.contains(&i) && !through.contains(&i));
                    prop_assert_eq!(ended, want);
                    if want {
                        model = Model::Idle;
                    }
                }
                Op::Advance(days) => now = now + DAY * u32::from(days),
            }
            settle(&mut model, now);
            prop_assert_eq!(&model_of(account.hold_state(), PERIOD, now), &model);
            // While a hold runs, its originals never change, and only a proof of an
            // original ends it before its time.
            if let Model::Held { until, originals, through } = &before {
                if let Model::Held { until: u2, originals: o2, .. } = &model {
                    prop_assert_eq!((until, originals), (u2, o2));
                } else if now < *until {
                    prop_assert!(
                        matches!(op, Op::Release(i) if originals.contains(&i) && !through.contains(&i)),
                        "{:?}", op
                    );
                }
            }
        }
        // The account's verified contacts are the model's.
        let have: BTreeSet<usize> = (0..4).filter(|&i| account.verified_entry(&contact(i)).is_some()).collect();
        prop_assert_eq!(have, verified);
    }
}
