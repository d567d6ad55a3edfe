//! No code, key or unmasked contact in any `Debug`, `Display` or error text
//! (guarantee 1 of the crate docs); derived codes are uniform and always well-formed.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use seccode::SendOptions;
use seccode::channel::Message;
use seccode::store::{Challenge, ChallengeStore};
use seccode::{
    AccountId, CodeFormat, Config, Contact, Error, Keyring, Policy, Purpose, SecretKey,
    Verification,
};

use common::{memory_service, ready, wrong_code};

const KEY: [u8; 32] = [0xC3; 32];

fn assert_clean(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{text:?} contains a secret");
    }
}

#[test]
fn debug_display_and_errors_hide_secrets() {
    let (codes, outbox, clock) = memory_service();
    let email = Contact::email("very.private.person@example.org").unwrap();
    let phone = Contact::phone("+14255550199").unwrap();
    let account = AccountId::new("acct").unwrap();
    let mut texts = Vec::new();

    let sent =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let code_text = code.expose().to_owned();
    texts.push(format!(
        "{sent:?} {code:?} {:?} {email:?} {phone:?}",
        outbox.last().unwrap()
    ));
    texts.push(format!("{} {}", email.masked(), phone.masked()));
    texts.push(format!("{codes:?}"));
    texts.push(format!(
        "{:?}",
        ready(codes.store().get(&sent.id)).unwrap().unwrap()
    ));

    let wrong = ready(codes.verify(&sent.id, Purpose::Recovery, &wrong_code(&code_text))).unwrap();
    texts.push(format!("{wrong:?}"));
    if let Verification::Rejected { reason, .. } = wrong {
        texts.push(reason.to_string());
    }
    let malformed = ready(codes.verify(&sent.id, Purpose::Recovery, "12")).unwrap();
    texts.push(format!("{malformed:?}"));
    let proof = ready(codes.verify(&sent.id, Purpose::Recovery, &code_text)).unwrap();
    texts.push(format!("{proof:?}"));

    // Every error the service can produce, with its source chain.
    let errors: Vec<Error> = vec![
        ready(codes.resend(&sent.id, SendOptions::default())).unwrap_err(),
        Contact::email("not-an-address").unwrap_err().into(),
        Contact::phone("+1 425 555 01x9").unwrap_err().into(),
        Policy::builder()
            .max_attempts(0)
            .build()
            .unwrap_err()
            .into(),
        {
            outbox.set_failing(true);
            clock.advance(Duration::from_secs(60));
            ready(codes.start(
                &account,
                Purpose::IdentityCheck,
                &phone,
                SendOptions::default(),
            ))
            .unwrap_err()
        },
    ];
    for e in &errors {
        let mut text = format!("{e} {e:?}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&s.to_string());
            source = s.source();
        }
        texts.push(text);
    }

    let key = SecretKey::from_bytes(KEY);
    let ring = Keyring::new(7, key.clone());
    texts.push(format!("{key:?} {ring:?}"));

    let key_forms = ["c3c3", "C3C3", "195, 195"];
    for text in &texts {
        assert_clean(text, &[&code_text, "very.private", "4255550199", "5550199"]);
        assert_clean(text, &key_forms);
    }
    // The masked forms are there: the check above is not passing on empty text.
    let all = texts.join("\n");
    assert!(
        all.contains("ve•••@example.org") && all.contains("•••••••99"),
        "{all}"
    );
}

#[test]
fn message_text_holds_the_code_but_debug_does_not() {
    let ring = Keyring::new(1, SecretKey::from_bytes(KEY));
    let to = Contact::phone("+14255550199").unwrap();
    let c = Challenge::issue(
        AccountId::new("a").unwrap(),
        Purpose::AddSecurityInfo,
        to.clone(),
        &Policy::default(),
        1,
        &mut StdRng::seed_from_u64(1),
        common::T0,
    );
    let code = c.code(&ring).unwrap();
    let value = code.expose().to_owned();
    let m = Message::code(to, Purpose::AddSecurityInfo, code, Duration::from_secs(600));
    assert!(m.body().contains(&value));
    assert_clean(&format!("{m:?}"), &[&value, "4255550199"]);
    assert_clean(&format!("{c:?}"), &[&value, "4255550199"]);
}

/// Derives `n` codes of `format` under one key with seeded ids and salts.
fn derive(format: CodeFormat, n: usize) -> Vec<String> {
    let ring = Keyring::new(1, SecretKey::from_bytes(KEY));
    let policy = Policy::builder().format(format).build().unwrap();
    let mut rng = StdRng::seed_from_u64(0xC0DE);
    let account = AccountId::new("a").unwrap();
    let to = Contact::email("a@example.org").unwrap();
    (0..n)
        .map(|_| {
            let c = Challenge::issue(
                account.clone(),
                Purpose::Recovery,
                to.clone(),
                &policy,
                1,
                &mut rng,
                common::T0,
            );
            c.code(&ring).unwrap().expose().to_owned()
        })
        .collect()
}

/// Pearson's chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn decimal_codes_are_uniform_and_well_formed() {
    let codes = derive(CodeFormat::default(), 200_000);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
    );
    // Each position: 10 bins, 9 degrees of freedom; 27.88 is the p = 0.001 critical value.
    for pos in 0..6 {
        let mut counts = [0u64; 10];
        for c in &codes {
            counts[usize::from(c.as_bytes()[pos] - b'0')] += 1;
        }
        let x2 = chi_square(&counts);
        assert!(x2 < 27.88, "position {pos}: chi-square {x2}");
    }
    // The first three digits together: 1000 bins, 999 d.o.f.; 1143.9 is p = 0.001.
    let mut counts = vec![0u64; 1000];
    for c in &codes {
        counts[c[..3].parse::<usize>().unwrap()] += 1;
    }
    let x2 = chi_square(&counts);
    assert!(x2 < 1143.9, "first three digits: chi-square {x2}");
    // The statistic is not trivially small either (a constant code would be huge,
    // a counter-like sequence suspiciously close to zero).
    assert!(x2 > 850.0, "first three digits: chi-square {x2}");
}

#[test]
fn alphanumeric_codes_are_uniform_and_well_formed() {
    let format = CodeFormat::alphanumeric(8).unwrap();
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let codes = derive(format, 100_000);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 8 && c.chars().all(|ch| alphabet.contains(ch)))
    );
    // 32 bins, 31 d.o.f.; 61.10 is the p = 0.001 critical value.
    for pos in 0..8 {
        let mut counts = [0u64; 32];
        for c in &codes {
            counts[alphabet.find(c.as_bytes()[pos] as char).unwrap()] += 1;
        }
        let x2 = chi_square(&counts);
        assert!(x2 < 61.10, "position {pos}: chi-square {x2}");
    }
}

#[test]
fn every_length_renders_in_format() {
    for len in 4..=10 {
        for format in [
            CodeFormat::digits(len).unwrap(),
            CodeFormat::alphanumeric(len).unwrap(),
        ] {
            let policy = Policy::builder()
                .format(format)
                .max_attempts(1)
                .danger_allow_short_codes()
                .build()
                .unwrap();
            let config = Config::default().with_policy(Purpose::Recovery, policy);
            assert!(config.guess_bound(Purpose::Recovery).per_challenge <= 1e-4);
            let ring = Keyring::new(1, SecretKey::from_bytes(KEY));
            let mut rng = StdRng::seed_from_u64(u64::from(len));
            for _ in 0..200 {
                let c = Challenge::issue(
                    AccountId::new("a").unwrap(),
                    Purpose::Recovery,
                    Contact::email("a@example.org").unwrap(),
                    &policy,
                    1,
                    &mut rng,
                    common::T0,
                );
                assert_eq!(c.code(&ring).unwrap().len(), usize::from(len));
            }
        }
    }
}

/// The account flows' outputs — events, recovery answers, tickets, accounts,
/// errors — carry no code and no unmasked contact.
#[test]
fn flow_outputs_hide_secrets() {
    use std::sync::Arc;

    use seccode::{
        Account, AccountSecurity, EventLog, ManualClock, MemoryAccountStore, MemoryChallengeStore,
        Outbox, SecurityCodes,
    };

    let outbox = Arc::new(Outbox::new());
    let events = Arc::new(EventLog::new());
    let clock = Arc::new(ManualClock::new(common::T0));
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes(KEY)),
    )
    .with_clock(clock)
    .with_events(events.clone());
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let id = AccountId::new("user-7").unwrap();
    let email = Contact::email("very.private.person@example.org").unwrap();
    let phone = Contact::phone("+14255550199").unwrap();
    let account = Account::new(id.clone())
        .with_verified_contact(email.clone(), common::T0)
        .unwrap()
        .with_verified_contact(phone.clone(), common::T0)
        .unwrap();
    ready(seccode::store::AccountStore::create(
        flows.accounts(),
        account,
    ))
    .unwrap();

    let mut texts = Vec::new();
    let start = ready(flows.start_recovery("very.private.person@example.org")).unwrap();
    texts.push(format!("{start:?}"));
    let unknown = ready(flows.start_recovery("someone.else@example.org")).unwrap();
    texts.push(format!("{unknown:?}"));
    let err = ready(flows.choose_recovery_contact(&start.token, 1, "1234", None)).unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let sent = ready(flows.choose_recovery_contact(&start.token, 1, "0199", None)).unwrap();
    let code = outbox.last_code_to(&phone).unwrap().expose().to_owned();
    let proof = ready(flows.finish_recovery(&sent.id, &code))
        .unwrap()
        .into_proof()
        .unwrap();
    texts.push(format!("{proof:?}"));
    let ticket = ready(flows.issue_ticket(&proof)).unwrap();
    let ticket_text = ticket.expose().to_owned();
    texts.push(format!("{ticket:?}"));
    let stored = ready(seccode::store::AccountStore::get(flows.accounts(), &id))
        .unwrap()
        .unwrap();
    texts.push(format!("{stored:?}"));
    texts.push(format!("{:?}", ready(flows.security_info(&id)).unwrap()));
    texts.push(format!("{flows:?}"));
    for e in events.events() {
        texts.push(format!("{e:?}"));
    }
    let secret_part = ticket_text.rsplit('.').next().unwrap();
    for text in &texts {
        assert_clean(
            text,
            &[
                &code,
                "very.private",
                "someone.else",
                "4255550199",
                "5550199",
                secret_part,
            ],
        );
        assert_clean(text, &[&start.token]);
    }
    let all = texts.join("\n");
    assert!(
        all.contains("RecoveryCompleted") && all.contains("•••••••99"),
        "{all}"
    );
}
