//! Web-ready flows: proofs sealed for the next request and single use on every
//! server, a failed step that keeps its proof, and Microsoft's page order for
//! changing a phone number.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, Contact, Error, FlowSettings, Keyring, ManualClock,
    MemoryAccountStore, MemoryChallengeStore, Outbox, Proof, Purpose, SecretKey, SecurityCodes,
    SecurityInfoId,
};

use common::{T0, ready};

type Server = AccountSecurity<Arc<MemoryAccountStore>, Arc<MemoryChallengeStore>, Arc<Outbox>>;

/// Two app servers sharing one account store, one challenge store and one key.
struct Cluster {
    a: Server,
    b: Server,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    id: AccountId,
    email: Contact,
    phone: Contact,
}

fn keyring() -> Keyring {
    Keyring::new(1, SecretKey::from_bytes([0x21; 32]))
}

fn cluster_with(settings: FlowSettings) -> Cluster {
    let (accounts, challenges) = (
        Arc::new(MemoryAccountStore::new()),
        Arc::new(MemoryChallengeStore::new()),
    );
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let server = |keyring: Keyring| {
        let codes = SecurityCodes::new(challenges.clone(), outbox.clone(), keyring)
            .with_clock(clock.clone());
        AccountSecurity::new(codes, accounts.clone()).with_settings(settings)
    };
    let (a, b) = (server(keyring()), server(keyring()));
    let id = AccountId::new("owner").unwrap();
    let email = Contact::email("owner@example.org").unwrap();
    let phone = Contact::phone("+44 7400 123456").unwrap();
    let account = Account::new(id.clone())
        .with_verified_contact(email.clone(), T0)
        .unwrap()
        .with_verified_contact(phone.clone(), T0)
        .unwrap();
    ready(a.accounts().create(account)).unwrap();
    Cluster {
        a,
        b,
        outbox,
        clock,
        id,
        email,
        phone,
    }
}

fn cluster() -> Cluster {
    cluster_with(FlowSettings::default())
}

impl Cluster {
    fn entry(&self, contact: &Contact) -> SecurityInfoId {
        ready(self.a.accounts().get(&self.id))
            .unwrap()
            .unwrap()
            .verified_entry(contact)
            .map(|i| i.id)
            .unwrap()
    }

    fn code_to(&self, to: &Contact) -> String {
        self.outbox.last_code_to(to).unwrap().expose().to_owned()
    }

    /// An identity-check proof through the email, verified on server A.
    fn identity_proof(&self) -> Proof {
        self.clock.advance(Duration::from_secs(31));
        let sent = ready(
            self.a
                .start_identity_check(&self.id, self.entry(&self.email)),
        )
        .unwrap();
        let code = self.code_to(&self.email);
        ready(self.a.finish_identity_check(&self.id, &sent.id, &code))
            .unwrap()
            .into_proof()
            .unwrap()
    }

    /// A change-phone proof of the current phone, through server A.
    fn change_phone_proof(&self) -> Proof {
        self.clock.advance(Duration::from_secs(31));
        let sent = ready(
            self.a
                .start_change_phone(&self.id, self.entry(&self.phone), "3456"),
        )
        .unwrap();
        let code = self.code_to(&self.phone);
        ready(self.a.confirm_current_phone(&self.id, &sent.id, &code))
            .unwrap()
            .into_proof()
            .unwrap()
    }
}

#[test]
fn a_sealed_proof_opens_on_another_server_and_is_used_once_everywhere() {
    let c = cluster();
    let proof = c.identity_proof();
    let token = c.a.seal(&proof).unwrap();
    assert_eq!(format!("{token:?}"), "SealedProof(<redacted>)");
    let text = token.expose();
    assert!(
        text.starts_with("p1.")
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    );
    assert!(!text.contains("owner"));
    // Server B opens it: the same proof.
    let opened = c.b.unseal(text).unwrap();
    assert_eq!(opened, proof);
    // B uses it; A cannot use the original, nor B the token again.
    ready(c.b.remove_security_info(&opened, c.entry(&c.phone))).unwrap();
    assert!(matches!(
        ready(c.a.remove_security_info(&proof, c.entry(&c.email))),
        Err(Error::ProofMismatch)
    ));
    let again = c.b.unseal(text).unwrap();
    assert!(matches!(
        ready(c.b.remove_security_info(&again, c.entry(&c.email))),
        Err(Error::ProofMismatch)
    ));
}

#[test]
fn sealed_proofs_refuse_tampering_strangers_and_age_and_survive_rotation() {
    let c = cluster();
    let proof = c.identity_proof();
    let token = c.a.seal(&proof).unwrap();
    let text = token.expose().to_owned();
    // Any altered character, another prefix, garbage: refused.
    let mut altered = text.clone().into_bytes();
    let at = altered.len() - 5;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(altered).unwrap(),
        text.replacen("p1.", "p2.", 1),
        "p1.".to_owned(),
        "nonsense".to_owned(),
        text[..text.len() - 10].to_owned(),
    ] {
        assert!(
            matches!(c.b.unseal(&bad), Err(Error::InvalidToken)),
            "{bad}"
        );
    }
    // A server with another key cannot open it.
    let stranger = AccountSecurity::new(
        SecurityCodes::new(
            MemoryChallengeStore::new(),
            Outbox::new(),
            Keyring::new(1, SecretKey::from_bytes([0x99; 32])),
        )
        .with_clock(c.clock.clone()),
        MemoryAccountStore::new(),
    );
    assert!(matches!(stranger.unseal(&text), Err(Error::InvalidToken)));
    // After a rotation, the old key (retired) still opens it.
    let rotated = AccountSecurity::new(
        SecurityCodes::new(
            MemoryChallengeStore::new(),
            Outbox::new(),
            Keyring::new(2, SecretKey::from_bytes([0x22; 32]))
                .with_retired(1, SecretKey::from_bytes([0x21; 32]))
                .unwrap(),
        )
        .with_clock(c.clock.clone()),
        MemoryAccountStore::new(),
    );
    assert_eq!(rotated.unseal(&text).unwrap(), proof);
    // Ten minutes after the code was entered it no longer opens.
    c.clock.advance(Duration::from_secs(10 * 60));
    assert!(matches!(c.b.unseal(&text), Err(Error::InvalidToken)));
    assert!(matches!(c.a.seal(&proof), Err(Error::ProofMismatch)));
}

#[test]
fn a_failed_step_keeps_its_proof() {
    let c = cluster();
    let proof = c.change_phone_proof();
    // The person types the old number again: refused, and the proof still works.
    assert!(matches!(
        ready(c.a.start_new_phone(&proof, &c.phone)),
        Err(Error::DuplicateContact)
    ));
    let new = Contact::phone("+44 7400 654321").unwrap();
    let sent = ready(c.b.start_new_phone(
        &c.b.unseal(c.a.seal(&proof).unwrap().expose()).unwrap(),
        &new,
    ))
    .unwrap();
    let code = c.code_to(&new);
    assert!(
        ready(c.b.finish_change_phone(&c.id, &sent.id, &code))
            .unwrap()
            .is_approved()
    );
    let numbers: Vec<String> = ready(c.a.accounts().get(&c.id))
        .unwrap()
        .unwrap()
        .verified()
        .map(|i| i.contact.expose().to_owned())
        .collect();
    assert_eq!(numbers, ["owner@example.org", "+447400654321"]);
    // Used once: not again.
    assert!(matches!(
        ready(c.a.start_new_phone(&proof, &Contact::phone("+44 7400 111111").unwrap())),
        Err(Error::ProofMismatch)
    ));
}

#[test]
fn the_seeds_page_order_removes_the_old_phone_then_adds_the_new_one() {
    let c = cluster();
    // Verify the last four digits, enter the code…
    let proof = c.change_phone_proof();
    assert_eq!(proof.purpose(), Purpose::ChangePhone);
    // …the change-phone proof removes only the phone it proved…
    assert!(matches!(
        ready(c.a.remove_security_info(&proof, c.entry(&c.email))),
        Err(Error::ProofMismatch)
    ));
    // …click "Remove" next to the old number (on the other server)…
    let token = c.a.seal(&proof).unwrap();
    let opened = c.b.unseal(token.expose()).unwrap();
    ready(c.b.remove_security_info(&opened, c.entry(&c.phone))).unwrap();
    // …then "Add security info" with the new number, and its code.
    let new = Contact::phone("+44 7400 654321").unwrap();
    c.clock.advance(Duration::from_secs(31));
    let sent = ready(c.a.start_add_security_info(&c.id, &new)).unwrap();
    let code = c.code_to(&new);
    assert!(
        ready(c.b.finish_add_security_info(&c.id, &sent.id, &code))
            .unwrap()
            .is_approved()
    );
    let account = ready(c.a.accounts().get(&c.id)).unwrap().unwrap();
    assert!(account.verified_entry(&new).is_some());
    assert!(account.verified_entry(&c.phone).is_none());
}

#[test]
fn an_app_that_requires_a_phone_refuses_removing_the_last_one() {
    let c = cluster_with(FlowSettings::default().with_phone_required(true));
    let proof = c.change_phone_proof();
    let e = ready(c.a.remove_security_info(&proof, c.entry(&c.phone))).unwrap_err();
    assert!(matches!(e, Error::LastPhone), "{e}");
    assert_eq!(
        e.to_string(),
        "the last verified phone number cannot be removed; add the new number first"
    );
    // The refusal kept the proof: the atomic swap still works with it.
    let new = Contact::phone("+44 7400 654321").unwrap();
    ready(c.a.start_new_phone(&proof, &new)).unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn web_values_are_json_and_proofs_stay_on_the_server() {
    let c = cluster();
    c.clock.advance(Duration::from_secs(31));
    let sent = ready(c.a.start_identity_check(&c.id, c.entry(&c.email))).unwrap();
    let json = serde_json::to_value(&sent).unwrap();
    assert_eq!(json["id"], sent.id.to_string());
    assert_eq!(json["destination"], "ow•••@example.org");
    assert_eq!(json["expires_at"], "2023-11-14T22:23:51Z");
    assert_eq!(json["attempts_left"], 5);
    let back: seccode::Sent = serde_json::from_value(json).unwrap();
    assert_eq!(back, sent);

    let code = c.code_to(&c.email);
    let v = ready(c.a.finish_identity_check(&c.id, &sent.id, &code)).unwrap();
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(
        json,
        r#"{"outcome":"approved","attempts_left":null,"reason":null,"retry_after_secs":null}"#
    );
    assert!(!json.contains("owner"));

    let start = ready(c.a.start_recovery("owner@example.org")).unwrap();
    let json = serde_json::to_value(&start).unwrap();
    assert_eq!(json["choices"][0]["confirm_with"], "full_address");
    assert_eq!(json["choices"][1]["kind"], "phone");
    assert_eq!(json["choices"][1]["contact"], "•••••••56");
    let info = serde_json::to_value(ready(c.a.security_info(&c.id)).unwrap()).unwrap();
    assert_eq!(info[0]["verified"], true);
    assert_eq!(info[0]["id"], 1);
}

#[test]
fn sealed_tokens_have_one_length_whatever_the_account_and_contact() {
    // Unpadded, a token's length grew with the account id and the address
    // (≈ 111 + 4/3 × their lengths): its holder learnt how long the address was.
    let c = cluster();
    let by_email = c.a.seal(&c.identity_proof()).unwrap();
    let by_phone = c.a.seal(&c.change_phone_proof()).unwrap();
    assert_ne!(c.email.expose().len(), c.phone.expose().len());
    assert_eq!(by_email.expose().len(), by_phone.expose().len());
    // Another account with a long id and a long address: the same length.
    let long_id = AccountId::new("a".repeat(AccountId::MAX_LEN)).unwrap();
    let long_email = Contact::email(&format!("{}@example.org", "x".repeat(60))).unwrap();
    let account = Account::new(long_id.clone())
        .with_verified_contact(long_email.clone(), T0)
        .unwrap();
    ready(c.a.accounts().create(account)).unwrap();
    c.clock.advance(Duration::from_secs(31));
    let entry = ready(c.a.accounts().get(&long_id))
        .unwrap()
        .unwrap()
        .verified_entry(&long_email)
        .unwrap()
        .id;
    let sent = ready(c.a.start_identity_check(&long_id, entry)).unwrap();
    let code = c.code_to(&long_email);
    let proof = ready(c.a.finish_identity_check(&long_id, &sent.id, &code))
        .unwrap()
        .into_proof()
        .unwrap();
    let long = c.a.seal(&proof).unwrap();
    assert_eq!(long.expose().len(), by_email.expose().len());
    // And it still opens to the same proof.
    let opened = c.b.unseal(long.expose()).unwrap();
    assert_eq!(opened.account(), &long_id);
}
