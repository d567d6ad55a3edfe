//! One identity per contact, and typed input read the way people type it.
//!
//! Guarantee 10 of the crate docs. The first tests each replay one way two
//! spellings of one contact were once treated as two, and fail if that comes
//! back; `prop_*` tests generate spellings of
//! one contact and require every place that compares contacts to treat them as
//! one; the phone table checks real-world inputs from many countries.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use seccode::SendOptions;
use seccode::store::{AccountStore, CounterKey};
use seccode::{
    Account, AccountId, AccountSecurity, CodeFormat, Contact, ContactError, Error, Keyring,
    Malformed, ManualClock, MemoryAccountStore, MemoryChallengeStore, Outbox, PhoneType, Purpose,
    RateLimit, Rejection, SecretKey, Verification,
};

use common::{T0, memory_service, ready};

type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

/// Flows over memory stores, and an account `owner` with `contacts` verified.
fn flows_with(contacts: &[&str]) -> (Flows, Arc<Outbox>, Arc<ManualClock>, AccountId) {
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x1d; 32]));
    let (flows, outbox, clock) = common::memory_flows(keyring, MemoryChallengeStore::new());
    let id = AccountId::new("owner").unwrap();
    let mut account = Account::new(id.clone());
    for c in contacts {
        account = account
            .with_verified_contact(Contact::parse(c).unwrap(), T0)
            .unwrap();
    }
    ready(flows.accounts().create(account)).unwrap();
    (flows, outbox, clock, id)
}

/// Adds `contact` to `account` through the add-security-info flow, entering the code.
fn add_and_prove(
    flows: &Flows,
    outbox: &Outbox,
    account: &AccountId,
    contact: &Contact,
) -> seccode::Result<Verification> {
    let sent = ready(flows.start_add_security_info(account, contact))?;
    let code = outbox.last_code_to(contact).unwrap();
    ready(flows.finish_add_security_info(account, &sent.id, code.expose()))
}

/// Every spelling of `name` that differs only in the case of its letters, in a
/// fixed order: `victim`, `Victim`, `vIctim`, `VIctim`, …
fn case_variants(name: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|mask| {
            name.chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask >> i & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect()
}

// ----- the nine findings ------------------------------------------------------------

#[test]
fn recovery_confirmation_ignores_the_case_of_the_address() {
    let (flows, outbox, _clock, _id) = flows_with(&["John.Doe@example.com"]);
    let start = ready(flows.start_recovery("john.doe@example.com")).unwrap();
    assert_eq!(start.choices.len(), 1);
    let sent = ready(flows.choose_recovery_contact(&start.token, 0, "john.doe@example.com", None))
        .expect("the address in another case confirms");
    let code = outbox
        .last_code_to(&Contact::email("JOHN.DOE@EXAMPLE.COM").unwrap())
        .unwrap();
    let v = ready(flows.finish_recovery(&sent.id, code.expose())).unwrap();
    assert!(v.is_approved(), "{v:?}");
}

#[test]
fn case_variants_of_one_mailbox_share_one_send_cap() {
    // Straight at the service: 64 spellings, one counter.
    let (codes, outbox, clock) = memory_service();
    let account = AccountId::new("attacker").unwrap();
    let cap = codes.config().limits().destination_sends();
    let mut delivered = 0;
    for name in case_variants("victim", 64) {
        let to = Contact::email(&format!("{name}@example.com")).unwrap();
        match ready(codes.start(
            &account,
            Purpose::AddSecurityInfo,
            &to,
            SendOptions::default(),
        )) {
            Ok(_) => delivered += 1,
            Err(Error::RateLimited {
                limit: RateLimit::DestinationSends,
                ..
            }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        clock.advance(Duration::from_secs(5));
    }
    assert_eq!(delivered, cap);
    let victim = Contact::email("victim@example.com").unwrap();
    assert_eq!(outbox.messages_to(&victim).len(), cap as usize);

    // Through the add-security-info flow, for six minutes.
    let (flows, outbox, clock, id) = flows_with(&["attacker@example.org"]);
    for round in 0..10 {
        for name in case_variants("victim", 64) {
            let to = Contact::email(&format!("{name}@example.com")).unwrap();
            match ready(flows.start_add_security_info(&id, &to)) {
                Ok(_)
                | Err(Error::RateLimited {
                    limit: RateLimit::DestinationSends,
                    ..
                }) => {}
                Err(e) => panic!("round {round}: unexpected {e}"),
            }
        }
        clock.advance(Duration::from_secs(36));
    }
    assert_eq!(outbox.messages_to(&victim).len(), cap as usize);
}

#[test]
fn an_idna_domain_in_either_form_belongs_to_one_account() {
    let (flows, outbox, _clock, owner) = flows_with(&["owner@example.org"]);
    let unicode = Contact::email("x@exämple.com").unwrap();
    assert!(
        add_and_prove(&flows, &outbox, &owner, &unicode)
            .unwrap()
            .is_approved()
    );
    let other = AccountId::new("other").unwrap();
    let account = Account::new(other.clone())
        .with_verified_contact(Contact::email("other@example.org").unwrap(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    let a_label = Contact::email("x@xn--exmple-cua.com").unwrap();
    assert_eq!(a_label, unicode);
    assert!(matches!(
        add_and_prove(&flows, &outbox, &other, &a_label),
        Err(Error::ContactInUse)
    ));
    assert_eq!(
        ready(flows.accounts().find_verified(&a_label)).unwrap(),
        Some(owner)
    );
}

#[test]
fn kelvin_sign_is_the_same_contact_everywhere_and_invisibles_are_refused() {
    let kelvin = Contact::email("\u{212A}ate@example.com").unwrap();
    let plain = Contact::email("kate@example.com").unwrap();
    assert_eq!(kelvin, plain);
    assert_eq!(kelvin.identity(), plain.identity());
    assert_eq!(kelvin.masked(), plain.masked());
    assert_eq!(
        CounterKey::destination_sends(&kelvin),
        CounterKey::destination_sends(&plain)
    );
    assert!(plain.confirm_address("\u{212A}ate@example.com"));
    // A zero-width space would mask exactly like the address without it.
    assert_eq!(
        Contact::email("ka\u{200B}te@example.com"),
        Err(ContactError::InvisibleCharacter)
    );
    assert_eq!(
        Contact::parse("kate\u{2060}@example.com"),
        Err(ContactError::InvisibleCharacter)
    );
}

#[test]
fn phone_numbers_are_read_with_libphonenumber() {
    let uk = Contact::phone("+44 (0) 20 7946 0958").unwrap();
    assert_eq!(uk.identity(), "+442079460958");
    assert_eq!(
        Contact::phone("+999 1234 5678"),
        Err(ContactError::UnknownCountryCode)
    );
    assert_eq!(Contact::phone("00 44 20 7946 0958").unwrap(), uk);
    assert_eq!(Contact::phone_in("011 44 20 7946 0958", "US").unwrap(), uk);
    assert_eq!(Contact::phone_in("020 7946 0958", "GB").unwrap(), uk);
    assert_eq!(
        Contact::phone("020 7946 0958"),
        Err(ContactError::MissingCountryCode)
    );
}

#[test]
fn one_normaliser_for_codes_phones_and_last_four() {
    let phone = Contact::phone("＋４４\u{00A0}７４００\u{3000}１２３４５６").unwrap();
    assert_eq!(phone.identity(), "+447400123456");
    assert!(phone.confirm_last_four("3456\n"));
    assert!(phone.confirm_last_four("３４\u{00A0}５６"));
    let format = CodeFormat::default();
    for typed in [
        "１２３\u{00A0}４５６",
        "123\n456",
        "12.34.56",
        "123\u{2212}456",
    ] {
        assert_eq!(
            format.normalize(typed).unwrap().expose(),
            "123456",
            "{typed:?}"
        );
    }
    let us = Contact::phone("+1 206 555 0100").unwrap();
    assert!(us.confirm_last_four("0100\n"));
    assert!(us.confirm_last_four("\t01\u{00A0}00 "));
}

#[test]
fn errors_say_what_is_wrong_without_repeating_the_input() {
    assert_eq!(
        Contact::parse("ｊｏｈｎ＠example.com").unwrap(),
        Contact::email("john@example.com").unwrap()
    );
    let cases = [
        ("john", "not an email address or a phone number"),
        (
            "425 555 0100",
            "phone numbers need a country code such as +44",
        ),
        ("+999 555 0100", "that country code does not exist"),
        ("+44 12", "not a valid phone number for its country"),
        (
            "john@exa_mple.com",
            "the part after @ is not a valid domain name",
        ),
    ];
    for (typed, message) in cases {
        let e = Error::from(Contact::parse(typed).unwrap_err());
        let text = e.to_string();
        assert!(text.ends_with(message), "{typed}: {text}");
        assert!(!text.contains(typed), "{text}");
    }
    assert_eq!(
        Contact::parse_in("020 7946 0958", "XX")
            .unwrap_err()
            .to_string(),
        "unknown region; use a two-letter country code such as GB"
    );
}

#[test]
fn the_outbox_finds_codes_by_identity() {
    let (flows, outbox, _clock, id) = flows_with(&["owner@example.org"]);
    let typed = Contact::email("Backup.Person@Example.ORG").unwrap();
    ready(flows.start_add_security_info(&id, &typed)).unwrap();
    let lower = Contact::email("backup.person@example.org").unwrap();
    assert!(outbox.last_code_to(&lower).is_some());
    assert_eq!(outbox.messages_to(&lower).len(), 1);
    // Delivery keeps the local part as typed.
    assert_eq!(
        outbox.messages_to(&lower)[0].to().expose(),
        "Backup.Person@example.org"
    );
}

#[test]
fn malformed_codes_use_no_attempt_and_no_account_failure() {
    let (codes, outbox, _clock) = memory_service();
    let account = AccountId::new("ann").unwrap();
    let email = Contact::email("ann@example.org").unwrap();
    let sent = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    // More malformed inputs than the challenge's and the account's budgets together.
    for typed in ["12345", "1234567", "12a456", "", " - ", "١٢٣٤٥٦"]
        .iter()
        .cycle()
        .take(150)
    {
        let v = ready(codes.verify(&sent.id, Purpose::IdentityCheck, typed)).unwrap();
        assert!(
            matches!(
                v,
                Verification::Rejected {
                    remaining: 5,
                    reason: Rejection::Malformed(_)
                }
            ),
            "{typed:?}: {v:?}"
        );
    }
    let code = outbox.last_code_to(&email).unwrap();
    let v = ready(codes.verify(&sent.id, Purpose::IdentityCheck, code.expose())).unwrap();
    assert!(v.is_approved(), "{v:?}");
    // An app can pre-check input with the same rules.
    assert_eq!(
        CodeFormat::default().normalize("12345"),
        Err(Malformed::WrongLength {
            expected: 6,
            found: 5
        })
    );
    // A well-formed wrong code still counts, before it is compared.
    let sent = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let wrong = common::wrong_code(code.expose());
    let v = ready(codes.verify(&sent.id, Purpose::IdentityCheck, &wrong)).unwrap();
    assert!(
        matches!(v, Verification::Rejected { remaining: 4, .. }),
        "{v:?}"
    );
}

// ----- real-world phone numbers ---------------------------------------------------------

/// (typed, default region, expected E.164 or error). Numbers are libphonenumber's
/// example numbers and the ranges set aside for fiction (Ofcom's 020 7946 0xxx, the
/// North American 555-01xx), written the ways people write them.
const PHONES: &[(&str, Option<&str>, Result<&str, ContactError>)] = &[
    // United Kingdom
    ("+44 20 7946 0958", None, Ok("+442079460958")),
    ("+44 (0)20 7946 0958", None, Ok("+442079460958")),
    ("020 7946 0958", Some("GB"), Ok("+442079460958")),
    ("00 44 20 7946 0958", Some("GB"), Ok("+442079460958")),
    ("07400 123456", Some("GB"), Ok("+447400123456")),
    ("+44 7400 123456", Some("US"), Ok("+447400123456")),
    // United States / Canada
    ("+1 (201) 555-0123", None, Ok("+12015550123")),
    ("201.555.0123", Some("US"), Ok("+12015550123")),
    ("1-201-555-0123", Some("US"), Ok("+12015550123")),
    ("011 44 20 7946 0958", Some("US"), Ok("+442079460958")),
    ("+1 613 555 0123", None, Ok("+16135550123")),
    ("(613) 555-0123", Some("CA"), Ok("+16135550123")),
    // Germany
    ("+49 30 123456", None, Ok("+4930123456")),
    ("030 123456", Some("DE"), Ok("+4930123456")),
    ("+49 (0)151 23456789", None, Ok("+4915123456789")),
    ("0049 1512 3456789", None, Ok("+4915123456789")),
    // France
    ("+33 1 23 45 67 89", None, Ok("+33123456789")),
    ("01 23 45 67 89", Some("FR"), Ok("+33123456789")),
    ("06 12 34 56 78", Some("FR"), Ok("+33612345678")),
    // Japan
    ("+81 3-1234-5678", None, Ok("+81312345678")),
    ("03-1234-5678", Some("JP"), Ok("+81312345678")),
    (
        "０９０－１２３４－５６７８",
        Some("JP"),
        Ok("+819012345678"),
    ),
    // India
    ("+91 81234 56789", None, Ok("+918123456789")),
    ("081234 56789", Some("IN"), Ok("+918123456789")),
    // Brazil
    ("+55 11 96123-4567", None, Ok("+5511961234567")),
    ("(11) 96123-4567", Some("BR"), Ok("+5511961234567")),
    // Australia
    ("+61 412 345 678", None, Ok("+61412345678")),
    ("0412 345 678", Some("AU"), Ok("+61412345678")),
    // Italy: the leading 0 of fixed lines is part of the number.
    ("+39 02 1234 5678", None, Ok("+390212345678")),
    ("02 1234 5678", Some("IT"), Ok("+390212345678")),
    ("+39 312 345 6789", None, Ok("+393123456789")),
    // Spain
    ("+34 612 34 56 78", None, Ok("+34612345678")),
    ("612 345 678", Some("ES"), Ok("+34612345678")),
    // China
    ("+86 131 2345 6789", None, Ok("+8613123456789")),
    // Netherlands
    ("+31 6 12345678", None, Ok("+31612345678")),
    ("06-12345678", Some("NL"), Ok("+31612345678")),
    // Switzerland
    ("+41 78 123 45 67", None, Ok("+41781234567")),
    ("078 123 45 67", Some("CH"), Ok("+41781234567")),
    // South Korea
    ("+82 10-2000-0000", None, Ok("+821020000000")),
    ("010-2000-0000", Some("KR"), Ok("+821020000000")),
    // Refusals
    (
        "+999 1234 5678",
        None,
        Err(ContactError::UnknownCountryCode),
    ),
    ("+44 20 7946", None, Err(ContactError::InvalidPhone)),
    ("+1 201 555 01234567", None, Err(ContactError::InvalidPhone)),
    ("201 555 0123", None, Err(ContactError::MissingCountryCode)),
    (
        "011 44 20 7946 0958",
        None,
        Err(ContactError::MissingCountryCode),
    ),
    (
        "+44 20 7946 0958 ext 12",
        None,
        Err(ContactError::NotAContact),
    ),
    ("+44 20 79x6 0958", None, Err(ContactError::NotAContact)),
    (
        "020 7946 0958",
        Some("XX"),
        Err(ContactError::UnknownRegion),
    ),
];

#[test]
fn real_world_phone_inputs_from_many_countries() {
    let mut countries = std::collections::BTreeSet::new();
    for &(typed, region, want) in PHONES {
        let got = match region {
            Some(region) => Contact::parse_in(typed, region),
            None => Contact::parse(typed),
        };
        match (got, want) {
            (Ok(c), Ok(e164)) => {
                assert_eq!(c.identity(), e164, "{typed:?} in {region:?}");
                assert_eq!(c.expose(), e164);
                countries.insert(c.calling_code().unwrap());
            }
            (Err(e), Err(want)) => assert_eq!(e, want, "{typed:?} in {region:?}"),
            (got, want) => panic!("{typed:?} in {region:?}: got {got:?}, want {want:?}"),
        }
    }
    assert!(PHONES.len() >= 40);
    assert!(countries.len() >= 10, "{countries:?}");
}

#[test]
fn phone_types_come_from_the_metadata() {
    let t = |s: &str| Contact::phone(s).unwrap().phone_type();
    assert_eq!(t("+44 7400 123456"), Some(PhoneType::Mobile));
    assert_eq!(t("+44 20 7946 0958"), Some(PhoneType::FixedLine));
    assert_eq!(t("+1 201 555 0123"), Some(PhoneType::FixedLineOrMobile));
    assert_eq!(t("+44 800 123 4567"), Some(PhoneType::TollFree));
    assert_eq!(Contact::email("a@example.org").unwrap().phone_type(), None);
}

// ----- generated spellings ----------------------------------------------------------------

/// A mailbox and spellings of it that differ only in case, NFKC-equivalent
/// forms (full width), the IDNA form of the domain and surrounding space.
fn email_spellings() -> impl Strategy<Value = (String, Vec<String>)> {
    let domains = prop::sample::select(vec![
        ("example.com", "example.com"),
        ("exämple.com", "xn--exmple-cua.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("mail.example.org", "mail.example.org"),
    ]);
    (
        "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8})?",
        domains,
        any::<[u64; 4]>(),
    )
        .prop_map(|(local, (unicode, ascii), seeds)| {
            let spell = |seed: u64| -> String {
                let local: String = local
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        let c = if seed >> (i % 48) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        };
                        // Full-width forms of ASCII letters and digits.
                        if seed >> 50 & 1 == 1 && c.is_ascii_alphanumeric() {
                            char::from_u32(c as u32 + 0xFEE0).unwrap()
                        } else {
                            c
                        }
                    })
                    .collect();
                let domain = if seed >> 51 & 1 == 1 { unicode } else { ascii };
                let domain = if seed >> 52 & 1 == 1 {
                    domain.to_uppercase()
                } else {
                    domain.to_owned()
                };
                let at = if seed >> 53 & 1 == 1 { '＠' } else { '@' };
                let pad = if seed >> 54 & 1 == 1 { " \u{3000}" } else { "" };
                format!("{pad}{local}{at}{domain}{pad}")
            };
            let canonical = format!("{local}@{ascii}");
            (canonical, seeds.iter().map(|&s| spell(s)).collect())
        })
}

/// A phone number and spellings of it: separators, a trunk prefix after the
/// country code, `00` for `+`, full-width digits, a national form with its region.
fn phone_spellings() -> impl Strategy<Value = (String, Vec<(String, Option<&'static str>)>)> {
    let numbers = prop::sample::select(vec![
        ("+44", "7400123456", "0", "GB"),
        ("+44", "2079460958", "0", "GB"),
        ("+49", "15123456789", "0", "DE"),
        ("+33", "612345678", "0", "FR"),
        ("+81", "9012345678", "0", "JP"),
        ("+61", "412345678", "0", "AU"),
        ("+1", "2015550123", "1", "US"),
    ]);
    (numbers, any::<[u64; 4]>()).prop_map(|((cc, national, trunk, region), seeds)| {
        let e164 = format!("{cc}{national}");
        let separators = [" ", "-", ".", "\u{00A0}", "\t", ""];
        let spell = |seed: u64| -> (String, Option<&'static str>) {
            let mut digits = String::new();
            for (i, c) in national.chars().enumerate() {
                if i > 0 && seed >> i & 1 == 1 {
                    digits.push_str(separators[(seed >> (20 + i % 8)) as usize % separators.len()]);
                }
                digits.push(c);
            }
            let full_width = |s: String| -> String {
                if seed >> 40 & 1 == 1 {
                    s.chars()
                        .map(|c| match c {
                            '0'..='9' | '+' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                            other => other,
                        })
                        .collect()
                } else {
                    s
                }
            };
            match seed >> 44 & 3 {
                0 => (full_width(format!("{cc} {digits}")), None),
                1 if trunk == "0" => (full_width(format!("{cc} ({trunk}){digits}")), None),
                2 => (full_width(format!("00{} {digits}", &cc[1..])), None),
                _ => (full_width(format!("{trunk}{digits}")), Some(region)),
            }
        };
        (e164, seeds.iter().map(|&s| spell(s)).collect())
    })
}

fn parse(typed: &str, region: Option<&str>) -> Contact {
    match region {
        Some(region) => Contact::parse_in(typed, region),
        None => Contact::parse(typed),
    }
    .unwrap_or_else(|e| panic!("{typed:?} in {region:?}: {e}"))
}

/// Every place that compares contacts treats the spellings as one: identity,
/// equality and mask; account lookup and ownership; the send-cap counter key;
/// recovery's confirmation; the outbox.
fn assert_one_contact(spellings: &[Contact], confirm: &[String]) -> Result<(), TestCaseError> {
    let first = &spellings[0];
    let owner = AccountId::new("owner").unwrap();
    let accounts = MemoryAccountStore::new();
    let account = Account::new(owner.clone())
        .with_verified_contact(first.clone(), T0)
        .unwrap();
    ready(accounts.create(account)).unwrap();
    let outbox = Outbox::new();
    ready(seccode::channel::DeliveryChannel::deliver(
        &outbox,
        &seccode::channel::Message::notice(first.clone(), Purpose::IdentityCheck, "s", "b"),
    ))
    .unwrap();
    for (i, other) in spellings.iter().enumerate() {
        prop_assert_eq!(other.identity(), first.identity());
        prop_assert_eq!(other, first);
        prop_assert_eq!(other.masked(), first.masked());
        prop_assert_eq!(
            CounterKey::destination_sends(other),
            CounterKey::destination_sends(first)
        );
        prop_assert_eq!(
            ready(accounts.find_verified(other)).unwrap(),
            Some(owner.clone())
        );
        let second = Account::new(AccountId::new(format!("other-{i}")).unwrap())
            .with_verified_contact(other.clone(), T0)
            .unwrap();
        prop_assert!(matches!(
            ready(accounts.create(second)),
            Err(Error::ContactInUse)
        ));
        prop_assert_eq!(outbox.messages_to(other).len(), 1);
    }
    for typed in confirm {
        prop_assert!(first.confirm_address(typed), "{:?}", typed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn prop_email_spellings_are_one_contact((canonical, typed) in email_spellings()) {
        let spellings: Vec<Contact> = typed.iter().map(|t| parse(t, None)).collect();
        prop_assert_eq!(spellings[0].identity(), canonical.as_str());
        assert_one_contact(&spellings, &typed)?;
    }

    #[test]
    fn prop_phone_spellings_are_one_contact((e164, typed) in phone_spellings()) {
        let spellings: Vec<Contact> = typed.iter().map(|(t, r)| parse(t, *r)).collect();
        prop_assert_eq!(spellings[0].identity(), e164.as_str());
        let last_four = &e164[e164.len() - 4..];
        for c in &spellings {
            prop_assert!(c.confirm_last_four(last_four));
        }
        let international: Vec<String> =
            typed.iter().filter(|(_, r)| r.is_none()).map(|(t, _)| t.clone()).collect();
        assert_one_contact(&spellings, &international)?;
    }
}

// ----- stored data from the previous version ------------------------------------------------

/// `tests/data/schema-v1.sqlite3` was written by the crate as it was before this
/// change (schema 1): account `alice` has `John.Doe@example.com`, `x@exämple.com`
/// and `+14255550123` verified at T; `bob` has `x@xn--exmple-cua.com` (the same
/// mailbox in its other IDNA form) and `bob@example.org` verified a minute later; a
/// pending identity check for alice went to John.Doe@example.com under key 1 =
/// `[7; 32]`, its code `758583`.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_schema_1_sqlite_file_is_migrated_to_identities() {
    use seccode::{ChallengeId, SecurityCodes, SqliteStore, Timestamp};

    let dir = common::temp_dir("schema-v1");
    let path = dir.join("db.sqlite3");
    std::fs::copy("tests/data/schema-v1.sqlite3", &path).unwrap();
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let alice = AccountId::new("alice").unwrap();
    let bob = AccountId::new("bob").unwrap();
    for typed in [
        "john.doe@EXAMPLE.com",
        "X@exämple.com",
        "x@xn--exmple-cua.com",
        "+1 425 555 0123",
    ] {
        let found = store
            .find_verified(&Contact::parse(typed).unwrap())
            .await
            .unwrap();
        assert_eq!(found, Some(alice.clone()), "{typed}");
    }
    // The later verification of the same mailbox went back to pending.
    let b = store.get(&bob).await.unwrap().unwrap();
    let verified: Vec<&str> = b.verified().map(|i| i.contact.expose()).collect();
    assert_eq!(verified, ["bob@example.org"]);
    assert_eq!(b.security_info().len(), 2);
    // The challenge written before still verifies with its code.
    let t0 = Timestamp::from_unix_millis(1_790_000_000_000);
    let clock = Arc::new(ManualClock::new(t0));
    let keyring = Keyring::new(1, SecretKey::from_bytes([7; 32]));
    let codes =
        SecurityCodes::new(store.clone(), Arc::new(Outbox::new()), keyring).with_clock(clock);
    let id: ChallengeId = "246de71e7a03be6f5d212a2849db15bd".parse().unwrap();
    let v = codes
        .verify_for_account(&id, Purpose::IdentityCheck, &alice, "758583")
        .await
        .unwrap();
    let proof = v.into_proof().expect("approved");
    assert_eq!(proof.destination().expose(), "John.Doe@example.com");
    drop(codes);
    drop(store);
    // Reopening does not migrate twice.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .find_verified(&Contact::parse("x@exämple.com").unwrap())
            .await
            .unwrap(),
        Some(alice)
    );
}
