//! Availability: what a stranger who knows only a person's email address and
//! phone number can make the crate send, refuse or lock — and that the owner's
//! own codes still reach them (the policy module's "budgets that protect
//! people, and budgets that protect money").

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, Config, Contact, ContactKind, Error, Keyring, Limits,
    ManualClock, MemoryAccountStore, MemoryChallengeStore, Outbox, Purpose, RateLimit, SecretKey,
    SecurityCodes, SecurityInfoId, SendLane, SendOptions,
};

use common::{MemoryFlows, T0, memory_service, ready};

struct Owner {
    flows: MemoryFlows,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    id: AccountId,
    email: Contact,
    phone: Contact,
}

fn owner() -> Owner {
    owner_with(Limits::default())
}

/// The victim's account (an email and a +1 phone, both verified) on flows whose
/// service enforces `limits`.
fn owner_with(limits: Limits) -> Owner {
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x42; 32]));
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), keyring)
        .with_clock(clock.clone())
        .with_config(Config::default().with_limits(limits));
    let flows: MemoryFlows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let id = AccountId::new("victim").unwrap();
    let email = Contact::email("victim@example.org").unwrap();
    let phone = Contact::phone("+14255550188").unwrap();
    let account = Account::new(id.clone())
        .with_verified_contact(email.clone(), T0)
        .unwrap()
        .with_verified_contact(phone.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    Owner {
        flows,
        outbox,
        clock,
        id,
        email,
        phone,
    }
}

impl Owner {
    fn entry(&self, contact: &Contact) -> SecurityInfoId {
        ready(self.flows.accounts().get(&self.id))
            .unwrap()
            .unwrap()
            .verified_entry(contact)
            .unwrap()
            .id
    }

    /// One request of the attacker: the recovery page with the victim's
    /// address or number, then the choice confirmed with what they know
    /// (no failure is counted). Refusals are expected: they are the point.
    fn attack(&self, identifier: &Contact, requester: &str) -> bool {
        let start = ready(self.flows.start_recovery(identifier.expose())).unwrap();
        let (i, confirmation) = match identifier.kind() {
            ContactKind::Email => (
                start
                    .choices
                    .iter()
                    .position(|c| c.kind == ContactKind::Email)
                    .unwrap(),
                identifier.expose().to_owned(),
            ),
            _ => (
                start
                    .choices
                    .iter()
                    .position(|c| c.kind == ContactKind::Phone)
                    .unwrap(),
                identifier.expose()[identifier.expose().len() - 4..].to_owned(),
            ),
        };
        ready(
            self.flows
                .choose_recovery_contact(&start.token, i, &confirmation, Some(requester)),
        )
        .is_ok()
    }

    /// The signed-in owner asks for an identity check to `contact`; true if
    /// the code was sent.
    fn owner_check(&self, contact: &Contact) -> bool {
        ready(
            self.flows
                .start_identity_check(&self.id, self.entry(contact)),
        )
        .is_ok()
    }
}

#[test]
fn a_stranger_flooding_the_recovery_page_cannot_keep_the_owners_codes_from_them() {
    // For 24 simulated hours the attacker types the victim's address and number
    // into the recovery page twice a minute (alternating, from 20 client
    // addresses); every 5 minutes the signed-in owner asks for an identity check,
    // alternating email and phone (6 an hour to each, under the owner's lane of
    // 10 per contact and hour).
    let w = owner();
    let (mut owner_tries, mut owner_sent, mut attack_sent) = (0u32, 0u32, 0u32);
    for minute in 0..24 * 60u32 {
        for half in 0..2u32 {
            let target = if half == 0 { &w.email } else { &w.phone };
            let requester = format!("198.51.100.{}", (minute + half) % 20);
            attack_sent += u32::from(w.attack(target, &requester));
            w.clock.advance(Duration::from_secs(30));
        }
        if minute % 5 == 0 {
            let contact = if (minute / 5) % 2 == 0 {
                &w.email
            } else {
                &w.phone
            };
            owner_tries += 1;
            owner_sent += u32::from(w.owner_check(contact));
        }
    }
    assert_eq!(owner_tries, 288);
    assert_eq!(
        owner_sent, owner_tries,
        "the owner got every code they asked for"
    );
    // What the attacker could make each contact receive: the recovery budget,
    // 5 per contact and hour — not 10, and never the owner's lane.
    let bound = Config::default().availability_bound();
    assert_eq!(bound.recovery_messages_per_contact, 5);
    assert!(
        attack_sent <= 2 * 24 * bound.recovery_messages_per_contact,
        "{attack_sent} recovery messages"
    );
    assert!(
        attack_sent > 0,
        "the attack itself was not refused outright"
    );
    eprintln!(
        "owner: {owner_sent} of {owner_tries} codes; attacker's recovery messages: {attack_sent} in 24 h"
    );
}

#[test]
fn one_client_cannot_use_up_a_contacts_recovery_budget() {
    // A requester named by the application has its own budget (10 an hour):
    // one client hammering many addresses is refused before it spends them.
    let w = owner();
    let mut refused = None;
    for i in 0..12 {
        w.clock.advance(Duration::from_secs(31));
        let start = ready(w.flows.start_recovery(&format!("someone{i}@example.net"))).unwrap();
        let index = start
            .choices
            .iter()
            .position(|c| c.contact.as_str().starts_with("so"))
            .unwrap();
        let answer = ready(w.flows.choose_recovery_contact(
            &start.token,
            index,
            &format!("someone{i}@example.net"),
            Some("203.0.113.9"),
        ));
        if let Err(e) = answer {
            refused = Some((i, e));
            break;
        }
    }
    let (at, e) = refused.expect("the requester's budget refused");
    assert_eq!(at, 10);
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::RequesterSends,
                ..
            }
        ),
        "{e}"
    );
    // The victim's own recovery budget was not touched by that client.
    assert!(w.attack(&w.email, "198.51.100.1"));
}

#[test]
fn requests_for_unknown_numbers_spend_no_money_budget() {
    // 2 200 recovery requests for +1 numbers nobody has (nothing is delivered)
    // used to count 1 000 sends on the +1 calling-code budget, refusing every
    // SMS to +1 for an hour. Decoys pass the spend caps but add nothing.
    let w = owner();
    let flows = &w.flows;
    let mut decoys = 0;
    for i in 0..2_200u32 {
        let number = format!("+1 201 555 {:04}", i % 10_000);
        let start = ready(flows.start_recovery(&number)).unwrap();
        let Some(choice) = start.choices.iter().find(|c| {
            c.kind == ContactKind::Phone
                && c.contact.as_str().ends_with(&number[number.len() - 2..])
        }) else {
            continue;
        };
        let answer = ready(flows.choose_recovery_contact(
            &start.token,
            choice.index,
            &number[number.len() - 4..],
            None,
        ));
        decoys += u32::from(answer.is_ok());
        w.clock.advance(Duration::from_millis(1_500));
    }
    assert!(decoys > 1_000, "{decoys} decoy challenges started");
    assert!(w.outbox.is_empty(), "nothing was delivered");
    // The signed-in owner's SMS to their +1 number goes out.
    let sent = ready(flows.start_identity_check(&w.id, w.entry(&w.phone)));
    assert!(sent.is_ok(), "{sent:?}");
    // And a stranger's new +1 number can still be added by its own owner.
    let other = AccountId::new("someone-else").unwrap();
    ready(flows.accounts().create(Account::new(other.clone()))).unwrap();
    let new = Contact::phone("+1 206 555 0100").unwrap();
    assert!(ready(flows.start_add_security_info(&other, &new)).is_ok());
}

#[test]
fn a_full_spend_cap_still_leaves_the_owners_lane_its_reserve() {
    // Real messages to unproven contacts fill the +1 cap (3); owners' codes to
    // their proven contacts still go out until the reserve (100 %) is used.
    let (codes, _outbox, _clock) = memory_service();
    let limits = Limits::builder()
        .send_caps(1_000, 3, 100_000, Duration::from_secs(3600))
        .build()
        .unwrap();
    let codes = codes.with_config(Config::default().with_limits(limits));
    for i in 0..3 {
        let account = AccountId::new(format!("stranger-{i}")).unwrap();
        let to = Contact::parse(&format!("+1 201 555 010{i}")).unwrap();
        ready(codes.start(
            &account,
            Purpose::AddSecurityInfo,
            &to,
            SendOptions::default(),
        ))
        .unwrap();
    }
    let stranger = AccountId::new("stranger-9").unwrap();
    let e = ready(codes.start(
        &stranger,
        Purpose::AddSecurityInfo,
        &Contact::parse("+1 201 555 0109").unwrap(),
        SendOptions::default(),
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::CallingCodeSends,
                ..
            }
        ),
        "{e}"
    );
    for i in 0..3 {
        let owner = AccountId::new(format!("owner-{i}")).unwrap();
        let to = Contact::parse(&format!("+1 425 555 010{i}")).unwrap();
        let sent = ready(codes.start(
            &owner,
            Purpose::IdentityCheck,
            &to,
            SendOptions::default().lane(SendLane::Owner),
        ));
        assert!(sent.is_ok(), "owner {i}: {sent:?}");
    }
    let owner = AccountId::new("owner-3").unwrap();
    let e = ready(codes.start(
        &owner,
        Purpose::IdentityCheck,
        &Contact::parse("+1 425 555 0103").unwrap(),
        SendOptions::default(),
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::CallingCodeSends,
                ..
            }
        ),
        "the reserve is bounded too: {e}"
    );
}

#[test]
fn accounts_adding_someone_elses_contact_cannot_block_its_owner() {
    // Three accounts add the victim's email as pending security info until its
    // destination budget (10 an hour, shared by all of them) refuses; the owner's
    // identity checks to it still go out.
    let w = owner();
    let mut refused = false;
    for i in 0..3 {
        let other = AccountId::new(format!("stranger-{i}")).unwrap();
        ready(w.flows.accounts().create(Account::new(other.clone()))).unwrap();
        for _ in 0..5 {
            w.clock.advance(Duration::from_secs(31));
            match ready(w.flows.start_add_security_info(&other, &w.email)) {
                Ok(_) => {}
                Err(Error::RateLimited {
                    limit: RateLimit::DestinationSends,
                    ..
                }) => refused = true,
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(refused, "the strangers reached the shared budget");
    assert_eq!(w.outbox.messages_to(&w.email).len(), 10);
    assert!(w.owner_check(&w.email), "the owner's lane is their own");
}

#[test]
fn a_refused_add_leaves_no_pending_entry_behind() {
    let w = owner_with(
        Limits::builder()
            .destination_sends(1, Duration::from_secs(3600))
            .build()
            .unwrap(),
    );
    let flows = &w.flows;
    let new = Contact::email("new@example.org").unwrap();
    let other = AccountId::new("stranger").unwrap();
    ready(flows.accounts().create(Account::new(other.clone()))).unwrap();
    ready(flows.start_add_security_info(&other, &new)).unwrap();
    // The destination's budget is spent: the owner's add is refused after its
    // pending entry was written — and the entry is taken back.
    let before = ready(flows.accounts().get(&w.id)).unwrap().unwrap();
    let e = ready(flows.start_add_security_info(&w.id, &new)).unwrap_err();
    assert!(matches!(e, Error::RateLimited { .. }), "{e}");
    let after = ready(flows.accounts().get(&w.id)).unwrap().unwrap();
    assert_eq!(after.security_info(), before.security_info());
}

#[test]
fn a_refused_new_phone_leaves_no_pending_entry_and_gives_the_proof_back() {
    // One change-phone proof used to leave six pending numbers when each send
    // was refused. Now every refusal takes its entry back and the proof stays
    // usable.
    let w = owner_with(
        Limits::builder()
            .send_caps(1, 1_000, 100_000, Duration::from_secs(3600))
            .build()
            .unwrap(),
    );
    let flows = &w.flows;
    // The owner's confirmation of the current phone (owner's lane).
    let started = ready(flows.start_change_phone(&w.id, w.entry(&w.phone), "0188")).unwrap();
    let code = w.outbox.last_code_to(&w.phone).unwrap();
    let proof = ready(flows.confirm_current_phone(&w.id, &started.id, code.expose()))
        .unwrap()
        .into_proof()
        .unwrap();
    // The account's budget for unproven contacts (1) goes to a first new number.
    ready(flows.start_new_phone(&proof, &Contact::phone("+14255550101").unwrap())).unwrap();
    let before = ready(flows.accounts().get(&w.id)).unwrap().unwrap();
    let proof2 = {
        w.clock.advance(Duration::from_secs(31));
        let started = ready(flows.start_change_phone(&w.id, w.entry(&w.phone), "0188")).unwrap();
        let code = w.outbox.last_code_to(&w.phone).unwrap();
        ready(flows.confirm_current_phone(&w.id, &started.id, code.expose()))
            .unwrap()
            .into_proof()
            .unwrap()
    };
    for i in 2..8 {
        let number = Contact::phone(&format!("+1425555010{i}")).unwrap();
        let e = ready(flows.start_new_phone(&proof2, &number)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::RateLimited {
                    limit: RateLimit::AccountSends,
                    ..
                }
            ),
            "{e}"
        );
    }
    let after = ready(flows.accounts().get(&w.id)).unwrap().unwrap();
    assert_eq!(
        after.security_info(),
        before.security_info(),
        "no pending number left behind"
    );
    // The proof was given back each time: it still removes the current phone.
    ready(flows.remove_security_info(&proof2, w.entry(&w.phone))).unwrap();
}

#[test]
fn the_published_availability_bound_follows_the_limits() {
    let limits = Limits::builder()
        .destination_sends(6, Duration::from_secs(1800))
        .recovery_sends(2, 10)
        .build()
        .unwrap();
    let bound = Config::default().with_limits(limits).availability_bound();
    assert_eq!(bound.owner_codes_per_contact, 6);
    assert_eq!(bound.window, Duration::from_secs(1800));
    assert_eq!(bound.recovery_messages_per_contact, 2);
    assert_eq!(bound.unproven_messages_per_contact, 6);
    assert!(
        Limits::builder().recovery_sends(0, 10).build().is_err(),
        "a cap of zero would refuse every recovery"
    );
    assert!(
        Limits::builder()
            .owner_reserve_percent(1_001)
            .build()
            .is_err()
    );
}
