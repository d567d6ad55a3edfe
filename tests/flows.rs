//! The account flows through the public API with a manual clock: each happy path
//! and its failure paths.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::SendOptions;
use seccode::channel::MessageKind;
use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, ChallengeId, Confirmation, Contact, ContactKind, Error,
    Event, EventLog, FlowSettings, Keyring, ManualClock, MemoryAccountStore, MemoryChallengeStore,
    Outbox, Purpose, RateLimit, SecretKey, SecurityCodes, SecurityInfoId, Sent, Verification,
};

use common::{T0, ready, wrong_code};

type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

struct World {
    flows: Flows,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    events: Arc<EventLog>,
    id: AccountId,
    email: Contact,
    phone: Contact,
}

/// An account `user-1` with a verified email and phone.
fn world() -> World {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let events = Arc::new(EventLog::new());
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x77; 32]));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), keyring)
        .with_clock(clock.clone())
        .with_events(events.clone());
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let id = AccountId::new("user-1").unwrap();
    let email = Contact::email("john.doe@example.com").unwrap();
    let phone = Contact::phone("+1 425 555 0123").unwrap();
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
        events,
        id,
        email,
        phone,
    }
}

impl World {
    fn code_to(&self, to: &Contact) -> String {
        self.outbox.last_code_to(to).unwrap().expose().to_owned()
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

    fn verified(&self) -> Vec<String> {
        let account = ready(self.flows.accounts().get(&self.id)).unwrap().unwrap();
        account
            .verified()
            .map(|i| i.contact.expose().to_owned())
            .collect()
    }

    fn notices_to(&self, to: &Contact) -> Vec<String> {
        self.outbox
            .messages_to(to)
            .iter()
            .filter(|m| m.kind() == MessageKind::Notice)
            .map(|m| m.body().to_owned())
            .collect()
    }

    /// A fresh identity-check proof through the email.
    fn identity_proof(&self) -> seccode::Proof {
        self.identity_proof_via(&self.email)
    }

    /// A fresh identity-check proof through `contact`.
    fn identity_proof_via(&self, contact: &Contact) -> seccode::Proof {
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

    /// Adds `contact` through the whole add-security-info flow.
    fn add_verified(&self, contact: &Contact) {
        let sent = ready(self.flows.start_add_security_info(&self.id, contact)).unwrap();
        let code = self.code_to(contact);
        let v = ready(
            self.flows
                .finish_add_security_info(&self.id, &sent.id, &code),
        )
        .unwrap();
        assert!(v.is_approved(), "{v:?}");
    }
}

// ----- add security info ---------------------------------------------------------

#[test]
fn add_security_info_verifies_then_notifies_the_others() {
    let w = world();
    let new = Contact::email("backup@example.org").unwrap();
    let sent = ready(w.flows.start_add_security_info(&w.id, &new)).unwrap();
    assert_eq!(sent.destination.as_str(), "ba•••@example.org");
    let views = ready(w.flows.security_info(&w.id)).unwrap();
    assert_eq!(views.len(), 3);
    assert!(!views[2].verified, "pending until the code is entered");
    assert_eq!(w.verified().len(), 2);
    // A pending contact is not security info: recovery does not find it.
    assert_eq!(ready(w.flows.accounts().find_verified(&new)).unwrap(), None);

    let code = w.code_to(&new);
    let v = ready(w.flows.finish_add_security_info(&w.id, &sent.id, &code)).unwrap();
    assert!(v.is_approved());
    assert_eq!(w.verified().len(), 3);
    assert_eq!(
        ready(w.flows.accounts().find_verified(&new)).unwrap(),
        Some(w.id.clone())
    );
    // The other verified contacts are told, masked; the new one is not.
    for other in [&w.email, &w.phone] {
        let notices = w.notices_to(other);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].contains("ba•••@example.org was added"),
            "{}",
            notices[0]
        );
        assert!(
            !notices[0].contains("backup@"),
            "no unmasked contact in a notice"
        );
    }
    assert!(w.notices_to(&new).is_empty());
    assert!(w.events.events().contains(&Event::SecurityInfoAdded {
        account: w.id.clone(),
        contact: new.masked()
    }));
}

#[test]
fn add_security_info_failure_paths() {
    let w = world();
    let new = Contact::phone("+44 20 7183 8750").unwrap();
    // Wrong code: rejected, nothing added.
    let sent = ready(w.flows.start_add_security_info(&w.id, &new)).unwrap();
    let code = w.code_to(&new);
    let v = ready(
        w.flows
            .finish_add_security_info(&w.id, &sent.id, &wrong_code(&code)),
    )
    .unwrap();
    assert!(matches!(v, Verification::Rejected { remaining: 4, .. }));
    assert_eq!(w.verified().len(), 2);
    // Expired: still nothing.
    w.clock.advance(Duration::from_secs(600));
    let v = ready(w.flows.finish_add_security_info(&w.id, &sent.id, &code)).unwrap();
    assert!(matches!(v, Verification::Expired));
    assert_eq!(w.verified().len(), 2);
    // Duplicates, unknown accounts.
    let dup = Contact::email("JOHN.DOE@example.com").unwrap();
    assert!(matches!(
        ready(w.flows.start_add_security_info(&w.id, &dup)),
        Err(Error::DuplicateContact)
    ));
    let nobody = AccountId::new("nobody").unwrap();
    assert!(matches!(
        ready(w.flows.start_add_security_info(&nobody, &new)),
        Err(Error::AccountNotFound)
    ));
    // A code for another account does not add anything to this one.
    let other = AccountId::new("user-2").unwrap();
    ready(w.flows.accounts().create(Account::new(other.clone()))).unwrap();
    w.clock.advance(Duration::from_secs(60));
    let sent = ready(w.flows.start_add_security_info(&w.id, &new)).unwrap();
    let code = w.code_to(&new);
    let v = ready(w.flows.finish_add_security_info(&other, &sent.id, &code)).unwrap();
    assert!(matches!(
        v,
        Verification::Rejected {
            reason: seccode::Rejection::WrongAccount,
            ..
        }
    ));
}

#[test]
fn entries_per_account_are_capped() {
    let mut w = world();
    w.flows = w
        .flows
        .with_settings(FlowSettings::default().with_max_security_info(3));
    ready(
        w.flows
            .start_add_security_info(&w.id, &Contact::email("a@example.org").unwrap()),
    )
    .unwrap();
    let err = ready(
        w.flows
            .start_add_security_info(&w.id, &Contact::email("b@example.org").unwrap()),
    );
    assert!(matches!(err, Err(Error::TooManyContacts)));
    // An abandoned pending entry stops counting once its code has expired.
    w.clock.advance(Duration::from_secs(600));
    ready(
        w.flows
            .start_add_security_info(&w.id, &Contact::email("b@example.org").unwrap()),
    )
    .unwrap();
}

#[test]
fn a_contact_verified_elsewhere_is_refused_only_after_its_code() {
    let w = world();
    let other = AccountId::new("user-2").unwrap();
    ready(w.flows.accounts().create(Account::new(other.clone()))).unwrap();
    // Starting reveals nothing: a code goes out as for any contact.
    let sent = ready(w.flows.start_add_security_info(&other, &w.email)).unwrap();
    let code = w.code_to(&w.email);
    let err = ready(w.flows.finish_add_security_info(&other, &sent.id, &code));
    assert!(matches!(err, Err(Error::ContactInUse)), "{err:?}");
    assert_eq!(
        ready(w.flows.accounts().find_verified(&w.email)).unwrap(),
        Some(w.id.clone())
    );
}

// ----- change phone number ---------------------------------------------------------

fn change_phone_to(w: &World, new: &Contact) -> Sent {
    let current = w.entry(&w.phone);
    let sent = ready(w.flows.start_change_phone(&w.id, current, "0123")).unwrap();
    assert_eq!(sent.destination.as_str(), "•••••••23");
    let code = w.code_to(&w.phone);
    let proof = ready(w.flows.confirm_current_phone(&w.id, &sent.id, &code))
        .unwrap()
        .into_proof()
        .unwrap();
    ready(w.flows.start_new_phone(&proof, new)).unwrap()
}

#[test]
fn change_phone_replaces_the_number_only_when_the_new_one_is_verified() {
    let w = world();
    let new = Contact::phone("+1 206 555 0188").unwrap();
    let sent = change_phone_to(&w, &new);
    assert_eq!(sent.destination.as_str(), "•••••••88");
    assert!(
        w.verified().contains(&"+14255550123".to_owned()),
        "old number kept until the new one is proven"
    );
    let code = w.code_to(&new);
    assert!(
        ready(w.flows.finish_change_phone(&w.id, &sent.id, &code))
            .unwrap()
            .is_approved()
    );
    assert_eq!(
        w.verified(),
        vec!["john.doe@example.com".to_owned(), "+12065550188".to_owned()]
    );
    let notices = w.notices_to(&w.email);
    assert!(
        notices
            .iter()
            .any(|n| n.contains("•••••••88 replaced •••••••23")),
        "{notices:?}"
    );
    assert_eq!(
        w.notices_to(&w.phone).len(),
        1,
        "the removed number is told too"
    );
}

#[test]
fn a_wrong_last_four_counts_and_reveals_nothing() {
    let w = world();
    let current = w.entry(&w.phone);
    let err = ready(w.flows.start_change_phone(&w.id, current, "9999")).unwrap_err();
    assert!(matches!(err, Error::ContactProofFailed));
    assert_eq!(
        err.to_string(),
        "that doesn't match the security info on file"
    );
    assert!(w.outbox.is_empty(), "no code was sent");
    // It counts on the account: with a cap of 3, the third failure locks it.
    let limits = seccode::Limits::builder()
        .account_failure_cap(3)
        .build()
        .unwrap();
    let w = world();
    let flows = AccountSecurity::new(
        SecurityCodes::new(
            MemoryChallengeStore::new(),
            w.outbox.clone(),
            Keyring::generate(),
        )
        .with_clock(w.clock.clone())
        .with_config(seccode::Config::default().with_limits(limits)),
        MemoryAccountStore::new(),
    );
    ready(
        flows
            .accounts()
            .create(ready(w.flows.accounts().get(&w.id)).unwrap().unwrap()),
    )
    .unwrap();
    let current = w.entry(&w.phone);
    for _ in 0..2 {
        assert!(matches!(
            ready(flows.start_change_phone(&w.id, current, "12")),
            Err(Error::ContactProofFailed)
        ));
    }
    let err = ready(flows.start_change_phone(&w.id, current, "0000")).unwrap_err();
    assert!(
        matches!(err, Error::ContactProofFailed),
        "the third failure is counted, then the lock holds"
    );
    let err = ready(flows.start_change_phone(&w.id, current, "0123")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                limit: RateLimit::AccountFailures,
                ..
            }
        ),
        "{err:?}"
    );
    // Only a verified phone can be picked.
    assert!(matches!(
        ready(w.flows.start_change_phone(&w.id, w.entry(&w.email), "0123")),
        Err(Error::UnknownSecurityInfo)
    ));
}

#[test]
fn an_abandoned_change_leaves_the_account_as_it_was() {
    let w = world();
    let before = w.verified();
    let new = Contact::phone("+1 206 555 0188").unwrap();
    let sent = change_phone_to(&w, &new);
    // The person never enters the second code; it expires.
    w.clock.advance(Duration::from_secs(601));
    let code = w.code_to(&new);
    assert!(matches!(
        ready(w.flows.finish_change_phone(&w.id, &sent.id, &code)).unwrap(),
        Verification::Expired
    ));
    assert_eq!(w.verified(), before);
    assert_eq!(ready(w.flows.accounts().find_verified(&new)).unwrap(), None);
}

#[test]
fn start_new_phone_needs_a_fresh_change_phone_proof() {
    let w = world();
    let proof = w.identity_proof();
    let new = Contact::phone("+1 206 555 0188").unwrap();
    assert!(matches!(
        ready(w.flows.start_new_phone(&proof, &new)),
        Err(Error::ProofMismatch)
    ));
    let current = w.entry(&w.phone);
    w.clock.advance(Duration::from_secs(60));
    let sent = ready(w.flows.start_change_phone(&w.id, current, "0123")).unwrap();
    let code = w.code_to(&w.phone);
    let proof = ready(w.flows.confirm_current_phone(&w.id, &sent.id, &code))
        .unwrap()
        .into_proof()
        .unwrap();
    w.clock.advance(Duration::from_secs(601));
    assert!(matches!(
        ready(w.flows.start_new_phone(&proof, &new)),
        Err(Error::ProofMismatch)
    ));
}

// ----- remove ------------------------------------------------------------------------

#[test]
fn removing_needs_a_proof_and_keeps_the_last_contact() {
    let w = world();
    let proof = w.identity_proof();
    ready(w.flows.remove_security_info(&proof, w.entry(&w.phone))).unwrap();
    assert_eq!(w.verified(), vec!["john.doe@example.com".to_owned()]);
    assert_eq!(
        w.notices_to(&w.phone).len(),
        1,
        "the removed contact is told"
    );
    assert_eq!(w.notices_to(&w.email).len(), 1);
    w.clock.advance(Duration::from_secs(30));
    let proof = w.identity_proof();
    let err = ready(w.flows.remove_security_info(&proof, w.entry(&w.email)));
    assert!(matches!(err, Err(Error::LastContact)));
    assert_eq!(w.verified().len(), 1);
}

// ----- identity check -----------------------------------------------------------------

#[test]
fn identity_check_proves_account_and_purpose() {
    let w = world();
    let proof = w.identity_proof();
    assert_eq!(proof.account(), &w.id);
    assert_eq!(proof.purpose(), Purpose::IdentityCheck);
    // Only verified entries can be used.
    let pending = Contact::email("pending@example.org").unwrap();
    ready(w.flows.start_add_security_info(&w.id, &pending)).unwrap();
    assert!(matches!(
        ready(w.flows.start_identity_check(&w.id, w.entry(&pending))),
        Err(Error::UnknownSecurityInfo)
    ));
}

// ----- recovery ---------------------------------------------------------------------------

fn recover(w: &World) -> seccode::Proof {
    let start = ready(w.flows.start_recovery("+1 (425) 555-0123")).unwrap();
    let phone_choice = start
        .choices
        .iter()
        .find(|c| c.kind == ContactKind::Phone)
        .unwrap();
    assert_eq!(phone_choice.confirm_with, Confirmation::LastFourDigits);
    let sent =
        ready(
            w.flows
                .choose_recovery_contact(&start.token, phone_choice.index, "0123", None),
        )
        .unwrap();
    let code = w.code_to(&w.phone);
    ready(w.flows.finish_recovery(&sent.id, &code))
        .unwrap()
        .into_proof()
        .unwrap()
}

#[test]
fn recovery_by_phone_gets_the_person_back_in() {
    let w = world();
    let start = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let masks: Vec<&str> = start.choices.iter().map(|c| c.contact.as_str()).collect();
    assert_eq!(masks, vec!["jo•••@example.com", "•••••••23"]);
    assert!(
        w.outbox.is_empty(),
        "nothing is sent before a choice is confirmed"
    );
    let proof = recover(&w);
    assert_eq!(proof.account(), &w.id);
    assert_eq!(proof.purpose(), Purpose::Recovery);
    let notices = w.notices_to(&w.email);
    assert_eq!(notices.len(), 1);
    assert!(notices[0].contains("recovered with a code sent to •••••••23"));
    assert!(w.events.events().contains(&Event::RecoveryCompleted {
        account: w.id.clone()
    }));
}

#[test]
fn recovery_confirmation_failures() {
    let w = world();
    let start = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let err = ready(
        w.flows
            .choose_recovery_contact(&start.token, 0, "jane@example.com", None),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ContactProofFailed));
    assert!(matches!(
        ready(w.flows.choose_recovery_contact(&start.token, 7, "x", None)),
        Err(Error::UnknownSecurityInfo)
    ));
    let mut forged = start.token.clone();
    forged.replace_range(
        forged.len() - 1..,
        if forged.ends_with('0') { "1" } else { "0" },
    );
    assert!(matches!(
        ready(
            w.flows
                .choose_recovery_contact(&forged, 0, "john.doe@example.com", None)
        ),
        Err(Error::InvalidToken)
    ));
    w.clock.advance(Duration::from_secs(30 * 60));
    assert!(matches!(
        ready(
            w.flows
                .choose_recovery_contact(&start.token, 0, "john.doe@example.com", None)
        ),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn recovery_for_unknown_and_known_identifiers_has_one_shape() {
    let w = world();
    for (known, unknown) in [
        ("john.doe@example.com", "jane.roe@example.com"),
        ("+14255550123", "+14255550999"),
    ] {
        let k = ready(w.flows.start_recovery(known)).unwrap();
        let u = ready(w.flows.start_recovery(unknown)).unwrap();
        // Same token shape: same parts, same lengths for same-length identifiers.
        let shape = |t: &str| t.split('.').map(str::len).collect::<Vec<_>>();
        assert_eq!(
            shape(&k.token),
            shape(&u.token),
            "{} / {}",
            k.token,
            u.token
        );
        // Choices: the identifier is among them, masked by the same rules, with the
        // same fields.
        assert!(!u.choices.is_empty() && u.choices.len() <= seccode::DecoyProfile::MAX_CONTACTS);
        let mask_of = |s: &str| Contact::parse(s).unwrap().masked();
        assert!(k.choices.iter().any(|c| c.contact == mask_of(known)));
        assert!(u.choices.iter().any(|c| c.contact == mask_of(unknown)));
        for c in k.choices.iter().chain(&u.choices) {
            let expected = if c.kind == ContactKind::Email {
                Confirmation::FullAddress
            } else {
                Confirmation::LastFourDigits
            };
            assert_eq!(c.confirm_with, expected);
            if c.kind == ContactKind::Phone {
                assert_eq!(c.contact.as_str().chars().count(), 9, "•••••••NN");
            }
        }
        // Asking again gives the same made-up answer.
        let again = ready(w.flows.start_recovery(unknown)).unwrap();
        assert_eq!(again.choices, u.choices);

        // Confirming the identifier itself: a Sent of the same shape, nothing
        // delivered, and the "code" never works.
        let before = w.outbox.len();
        let proof_of = |s: &str| {
            if s.contains('@') {
                s.to_owned()
            } else {
                s[s.len() - 4..].to_owned()
            }
        };
        let ui = u
            .choices
            .iter()
            .position(|c| c.contact == mask_of(unknown))
            .unwrap();
        let sent_u = ready(
            w.flows
                .choose_recovery_contact(&u.token, ui, &proof_of(unknown), None),
        )
        .unwrap();
        assert_eq!(
            w.outbox.len(),
            before,
            "nothing is sent for an unknown identifier"
        );
        let ki = k
            .choices
            .iter()
            .position(|c| c.contact == mask_of(known))
            .unwrap();
        let sent_k = ready(
            w.flows
                .choose_recovery_contact(&k.token, ki, &proof_of(known), None),
        )
        .unwrap();
        assert_eq!(
            sent_u.destination.as_str().len(),
            sent_k.destination.as_str().len()
        );
        assert_eq!(sent_u.expires_at, sent_k.expires_at);
        assert_eq!(sent_u.resend_after, sent_k.resend_after);
        assert_eq!(
            (sent_u.sends_left, sent_u.attempts_left),
            (sent_k.sends_left, sent_k.attempts_left)
        );
        for remaining in (0..5).rev() {
            let v = ready(w.flows.finish_recovery(&sent_u.id, "000000")).unwrap();
            assert!(
                matches!(v, Verification::Rejected { remaining: r, .. } if r == remaining),
                "{v:?}"
            );
        }
        assert!(matches!(
            ready(w.flows.finish_recovery(&sent_u.id, "000000")).unwrap(),
            Verification::Locked
        ));
        // A resend of the decoy looks like a resend and sends nothing.
        w.clock.advance(Duration::from_secs(31));
        let decoy = ready(w.flows.codes().resend(&sent_u.id, SendOptions::default()));
        assert!(
            matches!(decoy, Err(Error::ChallengeNotPending(_))),
            "{decoy:?}"
        );
        // Wrong confirmations fail alike.
        let eu = ready(w.flows.choose_recovery_contact(&u.token, ui, "0000", None)).unwrap_err();
        let ek = ready(w.flows.choose_recovery_contact(&k.token, ki, "0000", None)).unwrap_err();
        assert_eq!(eu.to_string(), ek.to_string());
        w.clock.advance(Duration::from_secs(3600));
    }
    // Only the known account changed; the unknown identifiers left no account.
    assert_eq!(
        ready(
            w.flows
                .accounts()
                .find_verified(&Contact::email("jane.roe@example.com").unwrap())
        )
        .unwrap(),
        None
    );
}

#[test]
fn a_decoy_never_approves_even_with_its_own_code() {
    // The decoy's code is derived like any other but never delivered; with the
    // key, a test can derive it from the stored record and enter it.
    let w = world();
    let u = ready(w.flows.start_recovery("nobody@example.org")).unwrap();
    let i = u
        .choices
        .iter()
        .position(|c| c.kind == ContactKind::Email)
        .unwrap();
    let sent = ready(
        w.flows
            .choose_recovery_contact(&u.token, i, "nobody@example.org", None),
    )
    .unwrap();
    let challenge = ready(seccode::store::ChallengeStore::get(
        w.flows.codes().store(),
        &sent.id,
    ))
    .unwrap()
    .unwrap();
    assert!(challenge.is_decoy());
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x77; 32]));
    let code = challenge.code(&keyring).unwrap();
    let v = ready(w.flows.finish_recovery(&sent.id, code.expose())).unwrap();
    assert!(
        matches!(v, Verification::Rejected { remaining: 4, .. }),
        "{v:?}"
    );
}

#[test]
fn tickets_redeem_once_and_expire() {
    let w = world();
    let proof = recover(&w);
    let ticket = ready(w.flows.issue_ticket(&proof)).unwrap();
    assert_eq!(format!("{ticket:?}"), "Ticket(<redacted>)");
    assert_eq!(ready(w.flows.redeem_ticket(ticket.expose())).unwrap(), w.id);
    assert!(
        matches!(
            ready(w.flows.redeem_ticket(ticket.expose())),
            Err(Error::InvalidTicket)
        ),
        "reused"
    );
    for bad in ["", "t1.zz.00", "t1.757365722d31.00", "x.y.z"] {
        assert!(
            matches!(ready(w.flows.redeem_ticket(bad)), Err(Error::InvalidTicket)),
            "{bad}"
        );
    }
    w.clock.advance(Duration::from_secs(40));
    let proof = recover(&w);
    let ticket = ready(w.flows.issue_ticket(&proof)).unwrap();
    w.clock.advance(Duration::from_secs(15 * 60));
    assert!(
        matches!(
            ready(w.flows.redeem_ticket(ticket.expose())),
            Err(Error::InvalidTicket)
        ),
        "expired"
    );
    // Only recovery proofs become tickets.
    let proof = w.identity_proof();
    assert!(matches!(
        ready(w.flows.issue_ticket(&proof)),
        Err(Error::ProofMismatch)
    ));
}

// ----- replacement hold -------------------------------------------------------------

#[test]
fn replacing_all_security_info_after_recovery_starts_a_hold() {
    let w = world();
    let proof = recover(&w);
    // The person who recovered adds a new email and removes both originals.
    let new = Contact::email("new.owner@example.net").unwrap();
    w.add_verified(&new);
    ready(w.flows.remove_security_info(&proof, w.entry(&w.phone))).unwrap();
    w.clock.advance(Duration::from_secs(30));
    let proof = w.identity_proof_via(&new);
    ready(w.flows.remove_security_info(&proof, w.entry(&w.email))).unwrap();

    let hold = ready(w.flows.hold(&w.id)).unwrap().unwrap();
    assert_eq!(hold.until, w.clock_now() + Duration::from_secs(30 * 86400));
    // Both were originals; the phone the recovery went through cannot end it.
    assert_eq!(
        hold.originals
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
        ["jo•••@example.com"]
    );
    assert!(
        w.events
            .events()
            .iter()
            .any(|e| matches!(e, Event::HoldStarted { .. }))
    );
    // Sensitive operations wait.
    let another = Contact::email("another@example.net").unwrap();
    assert!(matches!(
        ready(w.flows.start_add_security_info(&w.id, &another)),
        Err(Error::OnHold { .. })
    ));
    assert!(matches!(
        ready(w.flows.start_identity_check(&w.id, w.entry(&new))),
        Err(Error::OnHold { .. })
    ));

    // The original owner proves the original email: the hold ends.
    w.clock.advance(Duration::from_secs(30));
    let i = hold
        .originals
        .iter()
        .position(|m| m.as_str() == "jo•••@example.com")
        .unwrap();
    let sent = ready(w.flows.start_hold_release(&w.id, i)).unwrap();
    let code = w.code_to(&w.email);
    assert!(
        ready(w.flows.finish_hold_release(&w.id, &sent.id, &code))
            .unwrap()
            .is_approved()
    );
    assert_eq!(ready(w.flows.hold(&w.id)).unwrap(), None);
    ready(w.flows.start_add_security_info(&w.id, &another)).unwrap();
}

#[test]
fn a_hold_ends_by_itself() {
    let w = world();
    let proof = recover(&w);
    let new = Contact::email("new.owner@example.net").unwrap();
    w.add_verified(&new);
    ready(w.flows.remove_security_info(&proof, w.entry(&w.phone))).unwrap();
    assert_eq!(
        ready(w.flows.hold(&w.id)).unwrap(),
        None,
        "the email is still an original"
    );
    w.clock.advance(Duration::from_secs(31 * 86400));
    // Past the hold period after the recovery, replacing the last original is free.
    let proof = w.identity_proof_via(&new);
    ready(w.flows.remove_security_info(&proof, w.entry(&w.email))).unwrap();
    assert_eq!(ready(w.flows.hold(&w.id)).unwrap(), None);
}

impl World {
    fn clock_now(&self) -> seccode::Timestamp {
        seccode::Clock::now(&self.clock)
    }
}

#[test]
fn unused_challenge_ids_are_not_found() {
    let w = world();
    let v = ready(
        w.flows
            .finish_recovery(&ChallengeId::from_bytes([1; 16]), "123456"),
    )
    .unwrap();
    assert!(matches!(v, Verification::NotFound));
}

// ----- recovery codes ----------------------------------------------------------------

/// A recovery code is made for an identity-check proof and shown once; it gets
/// the person back in without any code being sent, works once, and is replaced
/// by a new one (shown once) that works next time; every contact is told, and
/// no notice or record holds the code.
#[test]
fn a_recovery_code_recovers_once_and_is_replaced() {
    let w = world();
    let proof = w.identity_proof();
    let code = ready(w.flows.generate_recovery_code(&proof)).unwrap();
    assert!(
        matches!(
            ready(w.flows.generate_recovery_code(&proof)),
            Err(Error::ProofMismatch)
        ),
        "the proof is spent"
    );
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    assert!(account.recovery_code().is_some());
    assert!(!format!("{account:?}").contains(code.expose()));
    let sent_before = w.outbox.len();

    let start = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let typed = code.expose().to_lowercase().replace('-', " ");
    let recovered = ready(w.flows.recover_with_code(&start.token, &typed)).unwrap();
    assert_eq!(recovered.account, w.id);
    assert_ne!(recovered.new_code.expose(), code.expose());
    assert_eq!(
        ready(w.flows.redeem_ticket(recovered.ticket.expose())).unwrap(),
        w.id
    );
    // No code was sent: the only messages are the notices to both contacts.
    let notices = [w.notices_to(&w.email), w.notices_to(&w.phone)];
    assert_eq!(w.outbox.len(), sent_before + 2);
    for n in &notices {
        let last = n.last().unwrap();
        assert!(last.contains("recovery code"), "{last}");
        assert!(!last.contains(code.expose()) && !last.contains(recovered.new_code.expose()));
    }
    assert!(
        matches!(
            ready(w.flows.recover_with_code(&start.token, code.expose())),
            Err(Error::WrongRecoveryCode)
        ),
        "a code works once"
    );
    let again = ready(
        w.flows
            .recover_with_code(&start.token, recovered.new_code.expose()),
    )
    .unwrap();
    assert_eq!(again.account, w.id);
    // The recovery opened a hold window, as a recovery through a contact does.
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    assert!(matches!(
        account.hold_state(),
        seccode::store::HoldState::Watching(_)
    ));
}

/// Every miss answers alike — no account, an account without a code, a wrong
/// code — and counts on the (real or made-up) account's recovery failures,
/// so a guesser meets the same lockout either way; malformed input counts
/// nothing.
#[test]
fn a_wrong_recovery_code_answers_as_an_unknown_identifier_does() {
    let w = world();
    let proof = w.identity_proof();
    let code = ready(w.flows.generate_recovery_code(&proof)).unwrap();
    let known = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let unknown = ready(w.flows.start_recovery("nobody@example.com")).unwrap();
    let guess = "22222-33333-44444-55555-66666";
    assert_ne!(guess, code.expose());
    let misses = |token: &str| {
        let mut answers = Vec::new();
        for _ in 0..12 {
            answers.push(match ready(w.flows.recover_with_code(token, guess)) {
                Err(Error::WrongRecoveryCode) => "wrong",
                Err(Error::RateLimited {
                    limit: RateLimit::RecoveryFailures,
                    ..
                }) => "limited",
                other => panic!("{other:?}"),
            });
        }
        answers
    };
    assert!(matches!(
        ready(w.flows.recover_with_code(&known.token, "not a code")),
        Err(Error::InvalidInput { .. })
    ));
    let (for_known, for_unknown) = (misses(&known.token), misses(&unknown.token));
    assert_eq!(
        for_known, for_unknown,
        "the same answers, in the same order"
    );
    assert!(
        for_known.contains(&"wrong") && for_known.contains(&"limited"),
        "{for_known:?}"
    );
    // Locked out, even the right code waits.
    assert!(matches!(
        ready(w.flows.recover_with_code(&known.token, code.expose())),
        Err(Error::RateLimited { .. })
    ));
    // An account without a code answers as a wrong code does.
    let bare = Account::new(AccountId::new("user-2").unwrap())
        .with_verified_contact(Contact::email("bare@example.com").unwrap(), T0)
        .unwrap();
    ready(w.flows.accounts().create(bare)).unwrap();
    let start = ready(w.flows.start_recovery("bare@example.com")).unwrap();
    assert!(matches!(
        ready(w.flows.recover_with_code(&start.token, guess)),
        Err(Error::WrongRecoveryCode)
    ));
}

/// Two requests with the same code at once: one recovers.
#[test]
fn a_recovery_code_used_twice_at_once_recovers_once() {
    let w = world();
    let code = ready(w.flows.generate_recovery_code(&w.identity_proof())).unwrap();
    let start = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let flows = Arc::new(w.flows);
    let wins: usize = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (flows, token, code) =
                    (flows.clone(), start.token.clone(), code.expose().to_owned());
                tokio::spawn(async move { flows.recover_with_code(&token, &code).await.is_ok() })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        wins
    });
    assert_eq!(wins, 1);
}

// ----- authenticator apps ------------------------------------------------------------

/// The code an app shows at the world's clock, for `enrolment`'s secret.
fn app_code(w: &World, enrolment: &seccode::AppEnrolment, offset_secs: i64) -> String {
    use seccode::Clock;
    let secret = seccode::TotpSecret::from_base32(enrolment.secret()).unwrap();
    let now = w.clock.now().as_unix_millis() / 1000;
    let at = now.checked_add_signed(offset_secs).unwrap();
    seccode::TotpSettings::default()
        .code_at(&secret, at)
        .to_string()
}

/// Adding an app: the secret shown once (a URI to scan, base32 to type), a
/// pending entry that counts for nothing until a code from the app verifies
/// it; then its codes prove it's you — once per time step — and the proof
/// serves like any other; nothing is ever sent to it, and it is never the
/// last way to reach the person.
#[test]
fn an_authenticator_app_is_added_by_its_code_and_proves_it_is_you() {
    let w = world();
    let enrolment = ready(w.flows.start_add_authenticator(&w.id, "Contoso")).unwrap();
    assert!(
        enrolment.uri().starts_with(
            "otpauth://totp/Contoso:jo%E2%80%A2%E2%80%A2%E2%80%A2%40example.com?secret="
        ),
        "{}",
        enrolment.uri()
    );
    assert!(!format!("{enrolment:?}").contains(enrolment.secret()));
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    let stored = format!("{:?}", account.to_parts());
    let plain = enrolment.secret().replace(' ', "");
    assert!(
        !stored.contains(&plain),
        "the account keeps the secret sealed"
    );
    let app = account.app(enrolment.entry).unwrap().0;
    assert_eq!(
        (app.contact.kind(), app.is_verified()),
        (ContactKind::App, false)
    );
    assert_eq!(app.contact.masked().as_str(), "Authenticator app");
    // Pending: no identity check with it yet.
    assert!(matches!(
        ready(
            w.flows
                .check_authenticator(&w.id, enrolment.entry, &app_code(&w, &enrolment, 0))
        ),
        Err(Error::UnknownSecurityInfo)
    ));
    // A wrong code, then the right one.
    assert!(matches!(
        ready(
            w.flows
                .finish_add_authenticator(&w.id, enrolment.entry, "000000")
        ),
        Err(Error::WrongAppCode)
    ));
    ready(
        w.flows
            .finish_add_authenticator(&w.id, enrolment.entry, &app_code(&w, &enrolment, 0)),
    )
    .unwrap();
    let notice = w.notices_to(&w.email).pop().unwrap();
    assert!(
        notice.starts_with("Authenticator app was added"),
        "{notice}"
    );
    // The same step again is refused; the next step's code proves it's you.
    assert!(matches!(
        ready(
            w.flows
                .check_authenticator(&w.id, enrolment.entry, &app_code(&w, &enrolment, 0))
        ),
        Err(Error::WrongAppCode)
    ));
    w.clock.advance(Duration::from_secs(30));
    let proof = ready(w.flows.check_authenticator(
        &w.id,
        enrolment.entry,
        &app_code(&w, &enrolment, 0),
    ))
    .unwrap();
    assert_eq!(
        (proof.account(), proof.purpose()),
        (&w.id, Purpose::IdentityCheck)
    );
    // The proof serves as any other, once: here for a recovery code.
    ready(w.flows.generate_recovery_code(&proof)).unwrap();
    assert!(matches!(
        ready(w.flows.generate_recovery_code(&proof)),
        Err(Error::ProofMismatch)
    ));
    // Nothing is sent to an app; it is no way to start an identity check.
    assert!(matches!(
        ready(w.flows.start_identity_check(&w.id, enrolment.entry)),
        Err(Error::UnknownSecurityInfo)
    ));
    // Removing it takes a proof and leaves the contacts; the last email or
    // phone stays even beside an app.
    w.clock.advance(Duration::from_secs(30));
    let proof = ready(w.flows.check_authenticator(
        &w.id,
        enrolment.entry,
        &app_code(&w, &enrolment, 0),
    ))
    .unwrap();
    ready(w.flows.remove_security_info(&proof, w.entry(&w.phone))).unwrap();
    let proof = w.identity_proof();
    assert!(matches!(
        ready(w.flows.remove_security_info(&proof, w.entry(&w.email))),
        Err(Error::LastContact)
    ));
    let proof = w.identity_proof();
    ready(w.flows.remove_security_info(&proof, enrolment.entry)).unwrap();
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    assert!(
        account.app(enrolment.entry).is_none(),
        "its record went with it"
    );
}

/// App codes count on the account's failure budget before they are compared,
/// and two requests with one code succeed once.
#[test]
fn app_codes_are_counted_and_a_step_is_accepted_once() {
    let w = world();
    let enrolment = ready(w.flows.start_add_authenticator(&w.id, "Contoso")).unwrap();
    ready(
        w.flows
            .finish_add_authenticator(&w.id, enrolment.entry, &app_code(&w, &enrolment, 0)),
    )
    .unwrap();
    w.clock.advance(Duration::from_secs(30));
    let code = app_code(&w, &enrolment, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let entry = enrolment.entry;
    let flows = Arc::new(w.flows);
    let wins: usize = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (flows, id, code) = (flows.clone(), w.id.clone(), code.clone());
                tokio::spawn(
                    async move { flows.check_authenticator(&id, entry, &code).await.is_ok() },
                )
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        wins
    });
    assert_eq!(wins, 1, "one step, one success");
    let mut answers = Vec::new();
    for _ in 0..13 {
        answers.push(
            match ready(flows.check_authenticator(&w.id, entry, "000000")) {
                Err(Error::WrongAppCode) => "wrong",
                Err(Error::RateLimited {
                    limit: RateLimit::AccountFailures,
                    ..
                }) => "limited",
                other => panic!("{other:?}"),
            },
        );
    }
    assert!(answers.contains(&"limited"), "{answers:?}");
}

/// Enrols an app on the world's account and verifies it; the clock then moves
/// to the next time step, so the app's next code is fresh.
fn add_app(w: &World) -> seccode::AppEnrolment {
    let enrolment = ready(w.flows.start_add_authenticator(&w.id, "Contoso")).unwrap();
    ready(
        w.flows
            .finish_add_authenticator(&w.id, enrolment.entry, &app_code(w, &enrolment, 0)),
    )
    .unwrap();
    w.clock.advance(Duration::from_secs(30));
    enrolment
}

/// Recovery lists "a code from my authenticator app" last and sends it
/// nothing; a code from the app recovers once, gives a recovery proof that
/// becomes a ticket, tells every contact, and opens a hold window in which
/// the app, having been used, cannot end a hold.
#[test]
fn an_app_code_recovers_once_and_sends_nothing() {
    let w = world();
    let enrolment = add_app(&w);
    let start = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let kinds: Vec<_> = start.choices.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ContactKind::Email, ContactKind::Phone, ContactKind::App]
    );
    let app = start.choices.last().unwrap();
    assert_eq!(app.confirm_with, Confirmation::AppCode);
    assert_eq!(app.contact.as_str(), "Authenticator app");
    let sent_before = w.outbox.len();
    assert!(
        matches!(
            ready(
                w.flows
                    .choose_recovery_contact(&start.token, app.index, "000000", None)
            ),
            Err(Error::InvalidInput { .. })
        ),
        "an app is sent nothing"
    );
    assert!(matches!(
        ready(w.flows.recover_with_app(&start.token, "000000")),
        Err(Error::WrongAppCode)
    ));
    let code = app_code(&w, &enrolment, 0);
    let proof = ready(w.flows.recover_with_app(&start.token, &code)).unwrap();
    assert_eq!(
        (proof.account(), proof.purpose()),
        (&w.id, Purpose::Recovery)
    );
    assert!(
        matches!(
            ready(w.flows.recover_with_app(&start.token, &code)),
            Err(Error::WrongAppCode)
        ),
        "one step recovers once"
    );
    let ticket = ready(w.flows.issue_ticket(&proof)).unwrap();
    assert_eq!(ready(w.flows.redeem_ticket(ticket.expose())).unwrap(), w.id);
    // No code was sent: the only messages are the notices to both contacts.
    assert_eq!(w.outbox.len(), sent_before + 2);
    for to in [&w.email, &w.phone] {
        let notice = w.notices_to(to).pop().unwrap();
        assert!(notice.contains("authenticator app"), "{notice}");
        assert!(!notice.contains(&code));
    }
    // A hold window: the app was used, so only the email and phone could end
    // a hold; and the next step's code recovers again.
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    let seccode::store::HoldState::Watching(recovered) = account.hold_state() else {
        panic!("{:?}", account.hold_state());
    };
    let through: Vec<_> = recovered.through.iter().map(Contact::kind).collect();
    assert_eq!(through, [ContactKind::App]);
    w.clock.advance(Duration::from_secs(30));
    ready(
        w.flows
            .recover_with_app(&start.token, &app_code(&w, &enrolment, 0)),
    )
    .unwrap();
}

/// An account store whose first `n` reads each wait until all `n` have
/// read: requests that race are made to read the same account before any of
/// them writes.
struct Gated {
    inner: MemoryAccountStore,
    reads: std::sync::atomic::AtomicUsize,
    n: usize,
    barrier: tokio::sync::Barrier,
}

impl AccountStore for Gated {
    async fn create(&self, account: Account) -> seccode::Result<()> {
        self.inner.create(account).await
    }

    async fn get(&self, id: &AccountId) -> seccode::Result<Option<Account>> {
        let read = self.inner.get(id).await;
        let nth = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if nth < self.n {
            self.barrier.wait().await;
        }
        read
    }

    async fn find_verified(&self, contact: &Contact) -> seccode::Result<Option<AccountId>> {
        self.inner.find_verified(contact).await
    }

    async fn update<R, F>(&self, id: &AccountId, f: F) -> seccode::Result<Option<R>>
    where
        F: FnMut(&mut Account) -> seccode::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.inner.update(id, f).await
    }
}

/// 32 requests with one app code, all of which read the account before any
/// writes: one recovers (the step is taken in the update, not only checked
/// against the read).
#[test]
fn an_app_code_sent_by_many_at_once_recovers_once() {
    const N: usize = 32;
    let w = world();
    let enrolment = add_app(&w);
    let start = ready(w.flows.start_recovery("+1 425 555 0123")).unwrap();
    let code = app_code(&w, &enrolment, 0);
    let account = ready(w.flows.accounts().get(&w.id)).unwrap().unwrap();
    let gated = Gated {
        inner: MemoryAccountStore::new(),
        // The reads so far are not counted: the gate is for the racers'.
        reads: std::sync::atomic::AtomicUsize::new(0),
        n: N,
        barrier: tokio::sync::Barrier::new(N),
    };
    ready(gated.create(account)).unwrap();
    // The world's keys and clock: its token and the app's sealed secret
    // serve as they are.
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x77; 32]));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), w.outbox.clone(), keyring)
        .with_clock(w.clock.clone());
    let flows = Arc::new(AccountSecurity::new(codes, gated));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let wins: usize = rt.block_on(async {
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let (flows, token, code) = (flows.clone(), start.token.clone(), code.clone());
                tokio::spawn(async move { flows.recover_with_app(&token, &code).await.is_ok() })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        wins
    });
    assert_eq!(wins, 1);
}

/// An unknown identifier lists an app at the profile's rate, and its made-up
/// app answers every code as a real app answers a wrong one — counted on a
/// budget, so a guesser meets the same lockout, in the same order.
#[test]
fn a_wrong_app_code_answers_as_an_unknown_identifier_does() {
    let mut w = world();
    let profile = seccode::DecoyProfile::default()
        .with_app_percent(100)
        .unwrap();
    w.flows = w
        .flows
        .with_settings(FlowSettings::default().with_decoy_profile(profile));
    let enrolment = add_app(&w);
    let known = ready(w.flows.start_recovery("john.doe@example.com")).unwrap();
    let unknown = ready(w.flows.start_recovery("nobody@example.com")).unwrap();
    assert_eq!(unknown.choices.last().unwrap().kind, ContactKind::App);
    assert_eq!(
        unknown.choices.last().unwrap().confirm_with,
        Confirmation::AppCode
    );
    let right = app_code(&w, &enrolment, 0);
    let guess = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let misses = |token: &str| {
        let mut answers = Vec::new();
        for _ in 0..12 {
            answers.push(match ready(w.flows.recover_with_app(token, guess)) {
                Err(Error::WrongAppCode) => "wrong",
                Err(Error::RateLimited {
                    limit: RateLimit::RecoveryFailures,
                    ..
                }) => "limited",
                other => panic!("{other:?}"),
            });
        }
        answers
    };
    let (for_known, for_unknown) = (misses(&known.token), misses(&unknown.token));
    assert_eq!(for_known, for_unknown);
    assert!(
        for_known.contains(&"wrong") && for_known.contains(&"limited"),
        "{for_known:?}"
    );
    // Locked out, even the right code waits; an account without an app lists
    // none and answers a code as a wrong one.
    assert!(matches!(
        ready(w.flows.recover_with_app(&known.token, &right)),
        Err(Error::RateLimited { .. })
    ));
    let bare = Account::new(AccountId::new("user-2").unwrap())
        .with_verified_contact(Contact::email("bare@example.com").unwrap(), T0)
        .unwrap();
    ready(w.flows.accounts().create(bare)).unwrap();
    let start = ready(w.flows.start_recovery("bare@example.com")).unwrap();
    assert!(start.choices.iter().all(|c| c.kind != ContactKind::App));
    assert!(matches!(
        ready(w.flows.recover_with_app(&start.token, guess)),
        Err(Error::WrongAppCode)
    ));
}

/// Changing the phone number with the app as the way to prove it's you: a
/// code from the app stands for the last four digits and the code to the
/// current phone (nothing is sent to it); the rest of the change is as ever.
#[test]
fn an_app_code_confirms_the_current_phone_for_a_change() {
    let w = world();
    let enrolment = add_app(&w);
    let (phone, app) = (w.entry(&w.phone), enrolment.entry);
    assert!(matches!(
        ready(
            w.flows
                .confirm_current_phone_with_app(&w.id, phone, app, "000000")
        ),
        Err(Error::WrongAppCode)
    ));
    assert!(
        matches!(
            ready(w.flows.confirm_current_phone_with_app(
                &w.id,
                w.entry(&w.email),
                app,
                &app_code(&w, &enrolment, 0)
            )),
            Err(Error::UnknownSecurityInfo)
        ),
        "only a phone is changed"
    );
    let proof = ready(w.flows.confirm_current_phone_with_app(
        &w.id,
        phone,
        app,
        &app_code(&w, &enrolment, 0),
    ))
    .unwrap();
    assert_eq!(proof.purpose(), Purpose::ChangePhone);
    assert!(
        w.outbox.last_code_to(&w.phone).is_none(),
        "nothing sent to the current phone"
    );
    let new_phone = Contact::phone("+1 425 555 0199").unwrap();
    let sent = ready(w.flows.start_new_phone(&proof, &new_phone)).unwrap();
    let v = ready(
        w.flows
            .finish_change_phone(&w.id, &sent.id, &w.code_to(&new_phone)),
    )
    .unwrap();
    assert!(matches!(v, Verification::Approved(_)));
    let verified = w.verified();
    assert!(verified.contains(&new_phone.expose().to_owned()));
    assert!(!verified.contains(&w.phone.expose().to_owned()));
}
