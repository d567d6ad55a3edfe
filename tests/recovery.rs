//! Account recovery under attack: the review's findings of the recovery issue
//! (enumeration by shape and by linked lockouts, owner lockout, store exhaustion),
//! each replayed as a test that fails on the code that had the bug.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::{
    Account, AccountId, AccountSecurity, AccountStore, Contact, Error, Keyring, ManualClock,
    MemoryAccountStore, MemoryChallengeStore, Outbox, RateLimit, SecretKey, SecurityCodes,
};

use common::{T0, ready};

type Flows =
    AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>, Arc<ManualClock>>;

struct World {
    flows: Flows,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    id: AccountId,
    email: Contact,
    phone: Contact,
}

/// An account with a verified email and phone.
fn world() -> World {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x44; 32]));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), keyring)
        .with_clock(clock.clone());
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let id = AccountId::new("owner").unwrap();
    let email = Contact::email("owner@example.org").unwrap();
    let phone = Contact::phone("+44 7400 123456").unwrap();
    let account = Account::new(id.clone())
        .with_verified_contact(email.clone(), T0)
        .unwrap()
        .with_verified_contact(phone.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    World {
        flows,
        outbox,
        clock,
        id,
        email,
        phone,
    }
}

impl World {
    /// Fails `n` confirmations of `identifier`'s first choice, waiting out every
    /// throttle delay as a patient attacker would. Returns the last refusal's
    /// retry time if the budget locked.
    fn fail_confirmations(&self, identifier: &str, n: usize) -> Option<Duration> {
        let mut failed = 0;
        let mut last_wait = None;
        while failed < n {
            let start = ready(self.flows.start_recovery(identifier)).unwrap();
            match ready(
                self.flows
                    .choose_recovery_contact(&start.token, 0, "nope@example.org"),
            ) {
                Err(Error::ContactProofFailed) => failed += 1,
                Err(Error::RateLimited {
                    limit: RateLimit::RecoveryFailures,
                    retry_after,
                }) => {
                    last_wait = Some(retry_after);
                    self.clock.advance(retry_after);
                }
                other => panic!("{other:?}"),
            }
        }
        last_wait
    }

    /// Confirms `contact` as its recovery choice; `Ok` if a code was sent (or a
    /// decoy started).
    fn confirm(&self, identifier: &str, contact: &Contact) -> seccode::Result<seccode::Sent> {
        let start = ready(self.flows.start_recovery(identifier)).unwrap();
        let i = start
            .choices
            .iter()
            .position(|c| c.contact == contact.masked())
            .unwrap();
        let proof = if identifier.contains('@') {
            contact.expose().to_owned()
        } else {
            contact.expose()[contact.expose().len() - 4..].to_owned()
        };
        ready(self.flows.choose_recovery_contact(&start.token, i, &proof))
    }
}

#[test]
fn finding_2_a_locked_identifier_links_to_no_other() {
    let w = world();
    // A hundred wrong confirmations through the account's email…
    w.fail_confirmations(w.email.expose(), 100);
    let refused = w.confirm(w.email.expose(), &w.email).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::RateLimited {
                limit: RateLimit::RecoveryFailures,
                ..
            }
        ),
        "{refused:?}"
    );
    // …do not limit the same account's phone identifier.
    w.confirm("+44 7400 123456", &w.phone).unwrap();
    // An unknown identifier locks the same way, with the same words.
    let unknown = "nobody@example.org";
    w.fail_confirmations(unknown, 100);
    let start = ready(w.flows.start_recovery(unknown)).unwrap();
    let i = start
        .choices
        .iter()
        .position(|c| c.contact == Contact::email(unknown).unwrap().masked())
        .unwrap();
    let refused_unknown =
        ready(w.flows.choose_recovery_contact(&start.token, i, unknown)).unwrap_err();
    let words = |e: &Error| -> String {
        e.to_string()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect()
    };
    assert_eq!(words(&refused_unknown), words(&refused));
}

#[test]
fn finding_4_recovery_failures_never_lock_the_signed_in_owner() {
    let w = world();
    // 101 wrong last-four guesses on the recovery page, no sign-in.
    let mut failed = 0;
    while failed < 101 {
        let start = ready(w.flows.start_recovery("+44 7400 123456")).unwrap();
        match ready(w.flows.choose_recovery_contact(&start.token, 1, "0000")) {
            Err(Error::ContactProofFailed) => failed += 1,
            Err(Error::RateLimited { retry_after, .. }) => w.clock.advance(retry_after),
            other => panic!("{other:?}"),
        }
    }
    // The owner, signed in, still proves their identity and changes security info.
    let entry = ready(w.flows.accounts().get(&w.id))
        .unwrap()
        .unwrap()
        .verified_entry(&w.email)
        .unwrap()
        .id;
    let sent = ready(w.flows.start_identity_check(&w.id, entry)).unwrap();
    let code = w.outbox.last_code_to(&w.email).unwrap();
    let v = ready(
        w.flows
            .finish_identity_check(&w.id, &sent.id, code.expose()),
    )
    .unwrap();
    assert!(v.is_approved(), "{v:?}");
    let backup = Contact::email("backup@example.org").unwrap();
    ready(w.flows.start_add_security_info(&w.id, &backup)).unwrap();
    // And recovers through the email: the phone identifier's budget is not theirs.
    w.confirm(w.email.expose(), &w.email).unwrap();
}
