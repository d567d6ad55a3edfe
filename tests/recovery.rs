//! Account recovery under attack (guarantees 5 and 7 of the crate docs):
//! enumeration by the shape of the answers and by linked lockouts, the owner
//! locked out by strangers, store exhaustion — each attack replayed as a test
//! that fails if the defence is removed.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use seccode::SendOptions;
use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, Contact, ContactKind, DecoyProfile, Error, FlowSettings,
    Keyring, ManualClock, MemoryAccountStore, MemoryChallengeStore, Outbox, RateLimit,
    RecoveryStart, SecretKey, SecurityCodes,
};

use common::{T0, ready};

type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

struct World {
    flows: Flows,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    id: AccountId,
    email: Contact,
    phone: Contact,
}

/// The keyring the worlds use: code key 1 and a recovery secret.
fn keyring() -> Keyring {
    Keyring::new(1, SecretKey::from_bytes([0x44; 32]))
        .with_recovery_secret(SecretKey::from_bytes([0x55; 32]))
}

/// An account with a verified email and phone.
fn world() -> World {
    world_with(keyring())
}

fn world_with(keyring: Keyring) -> World {
    world_in(keyring, MemoryChallengeStore::new())
}

fn world_in(keyring: Keyring, store: MemoryChallengeStore) -> World {
    let (flows, outbox, clock) = common::memory_flows(keyring, store);
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
    /// Enrols and verifies an authenticator app on `account`.
    fn add_app(&self, account: &AccountId) {
        use seccode::Clock;
        let enrolment = ready(self.flows.start_add_authenticator(account, "Contoso")).unwrap();
        let secret = seccode::TotpSecret::from_base32(enrolment.secret()).unwrap();
        let code = seccode::TotpSettings::default()
            .code_at(&secret, self.clock.now().as_unix_millis() / 1000)
            .to_string();
        ready(
            self.flows
                .finish_add_authenticator(account, enrolment.entry, &code),
        )
        .unwrap();
    }

    /// Fails `n` confirmations of `identifier`'s first choice, waiting out every
    /// throttle delay as a patient attacker would. Returns the last refusal's
    /// retry time if the budget locked.
    fn fail_confirmations(&self, identifier: &str, n: usize) -> Option<Duration> {
        let mut failed = 0;
        let mut last_wait = None;
        while failed < n {
            let start = ready(self.flows.start_recovery(identifier)).unwrap();
            match ready(self.flows.choose_recovery_contact(
                &start.token,
                0,
                "nope@example.org",
                None,
            )) {
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
        ready(
            self.flows
                .choose_recovery_contact(&start.token, i, &proof, None),
        )
    }
}

#[test]
fn a_locked_identifier_links_to_no_other() {
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
    let refused_unknown = ready(
        w.flows
            .choose_recovery_contact(&start.token, i, unknown, None),
    )
    .unwrap_err();
    let words = |e: &Error| -> String {
        e.to_string()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect()
    };
    assert_eq!(words(&refused_unknown), words(&refused));
}

#[test]
fn recovery_failures_never_lock_the_signed_in_owner() {
    let w = world();
    // 101 wrong last-four guesses on the recovery page, no sign-in.
    let mut failed = 0;
    while failed < 101 {
        let start = ready(w.flows.start_recovery("+44 7400 123456")).unwrap();
        match ready(
            w.flows
                .choose_recovery_contact(&start.token, 1, "0000", None),
        ) {
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

// ----- the shape of the answers --------------------------------------------------------

/// Draws contacts and accounts the way [`DecoyProfile::default`] says accounts
/// look: 1–4 verified contacts (weights 30/45/20/5), half of them email
/// addresses (local parts of 2–3 characters one time in ten, else 4–12, at the
/// profile's domains), the others mobile numbers of one country.
struct Population {
    rng: StdRng,
    used: HashSet<String>,
}

impl Population {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            used: HashSet::new(),
        }
    }

    fn contact(&mut self) -> Contact {
        loop {
            let text = if self.rng.random_bool(0.5) {
                let len = if self.rng.random_range(0..10) == 0 {
                    self.rng.random_range(2..=3)
                } else {
                    self.rng.random_range(4..=12)
                };
                let local: String = (0..len)
                    .map(|_| char::from(self.rng.random_range(b'a'..=b'z')))
                    .collect();
                let domain =
                    DecoyProfile::DOMAINS[self.rng.random_range(0..DecoyProfile::DOMAINS.len())];
                format!("{local}@{domain}")
            } else {
                format!("+447400{:06}", self.rng.random_range(0..1_000_000))
            };
            if self.used.insert(text.clone()) {
                return Contact::parse(&text).unwrap();
            }
        }
    }

    fn account(&mut self, id: usize) -> Account {
        let n = [1, 2, 3, 4][pick(&mut self.rng, &[30, 45, 20, 5])];
        let mut account = Account::new(AccountId::new(format!("user-{id}")).unwrap());
        for _ in 0..n {
            account = account.with_verified_contact(self.contact(), T0).unwrap();
        }
        account
    }
}

fn pick(rng: &mut StdRng, weights: &[u32]) -> usize {
    let mut x = rng.random_range(0..weights.iter().sum::<u32>());
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    unreachable!()
}

/// What an answer shows, reduced to what a statistical test compares: the number
/// of choices, of emails and of apps among them; and per made-up (non-identifier) email
/// choice, how many characters its mask shows and its domain's length.
fn shape(start: &RecoveryStart, identifier: &Contact) -> (String, Vec<String>) {
    let emails = start
        .choices
        .iter()
        .filter(|c| c.kind == ContactKind::Email)
        .count();
    let masks = start
        .choices
        .iter()
        .filter(|c| c.kind == ContactKind::Email && c.contact != identifier.masked())
        .map(|c| {
            let (shown, domain) = c.contact.as_str().split_once("•••@").unwrap();
            format!("{}:{}", shown.chars().count(), domain.len())
        })
        .collect();
    let apps = start
        .choices
        .iter()
        .filter(|c| c.kind == ContactKind::App)
        .count();
    (format!("{}:{emails}:{apps}", start.choices.len()), masks)
}

/// Pearson's chi-square test of homogeneity of two samples over categories;
/// returns the p-value. Categories with fewer than 5 expected in either sample
/// are pooled.
fn chi_square_p(a: &[String], b: &[String]) -> f64 {
    let mut counts: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for x in a {
        counts.entry(x).or_default().0 += 1.0;
    }
    for x in b {
        counts.entry(x).or_default().1 += 1.0;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let mut cells: Vec<(f64, f64)> = Vec::new();
    let mut pooled = (0.0, 0.0);
    for &(x, y) in counts.values() {
        if (x + y) * na.min(nb) / (na + nb) < 5.0 {
            pooled.0 += x;
            pooled.1 += y;
        } else {
            cells.push((x, y));
        }
    }
    if pooled.0 + pooled.1 > 0.0 {
        cells.push(pooled);
    }
    let mut stat = 0.0;
    for &(x, y) in &cells {
        let total = x + y;
        let (ea, eb) = (total * na / (na + nb), total * nb / (na + nb));
        stat += (x - ea).powi(2) / ea + (y - eb).powi(2) / eb;
    }
    let dof = cells.len().saturating_sub(1).max(1) as f64;
    upper_gamma_regularized(dof / 2.0, stat / 2.0)
}

/// Q(s, x), the regularized upper incomplete gamma function (Numerical Recipes'
/// series and continued fraction), so that Q(k/2, χ²/2) is the chi-square p-value.
fn upper_gamma_regularized(s: f64, x: f64) -> f64 {
    let ln_gamma = |z: f64| -> f64 {
        // Lanczos approximation (g = 7, n = 9).
        const C: [f64; 9] = [
            0.999_999_999_999_809_9,
            676.520_368_121_885_1,
            -1_259.139_216_722_402_8,
            771.323_428_777_653_1,
            -176.615_029_162_140_6,
            12.507_343_278_686_905,
            -0.138_571_095_265_720_12,
            9.984_369_578_019_572e-6,
            1.505_632_735_149_311_6e-7,
        ];
        let z = z - 1.0;
        let mut a = C[0];
        let t = z + 7.5;
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (z + i as f64);
        }
        0.5 * (2.0 * std::f64::consts::PI).ln() + (z + 0.5) * t.ln() - t + a.ln()
    };
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + s * x.ln() - ln_gamma(s)).exp();
    if x < s + 1.0 {
        let (mut sum, mut term, mut n) = (1.0 / s, 1.0 / s, s);
        for _ in 0..500 {
            n += 1.0;
            term *= x / n;
            sum += term;
        }
        1.0 - front * sum
    } else {
        let (mut b, mut c, mut d) = (x + 1.0 - s, 1.0 / 1e-300, 1.0 / (x + 1.0 - s));
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - s);
            b += 2.0;
            d = 1.0 / (an * d + b);
            c = b + an / c;
            h *= d * c;
        }
        front * h
    }
}

#[test]
fn the_chi_square_helper_agrees_with_tables() {
    // χ² = 3.841 with 1 degree of freedom is p = 0.05; 9.210 with 2 is p = 0.01.
    assert!((upper_gamma_regularized(0.5, 3.841 / 2.0) - 0.05).abs() < 1e-3);
    assert!((upper_gamma_regularized(1.0, 9.210 / 2.0) - 0.01).abs() < 1e-3);
    let a: Vec<String> = (0..1000).map(|i| (i % 2).to_string()).collect();
    let b: Vec<String> = (0..1000).map(|i| (i % 3 / 2).to_string()).collect();
    assert!(
        chi_square_p(&a, &b) < 1e-6,
        "different shares must be told apart"
    );
}

#[test]
fn made_up_answers_have_the_shape_of_real_ones() {
    // The profile is learnt from a sample of the same population (another
    // seed): counts, and the kinds given the identifier's kind.
    let mut sample = Population::new(99);
    let learnt: Vec<Account> = (0..20_000).map(|i| sample.account(i)).collect();
    // A quarter of the real accounts have an authenticator app, and the
    // profile says so.
    let profile = DecoyProfile::learn(&learnt).with_app_percent(25).unwrap();
    let mut w = world();
    w.flows = w
        .flows
        .with_settings(FlowSettings::default().with_decoy_profile(profile));
    let mut apps = StdRng::seed_from_u64(10);
    let mut population = Population::new(7);
    let (mut known_counts, mut known_masks) = (Vec::new(), Vec::new());
    let (mut unknown_counts, mut unknown_masks) = (Vec::new(), Vec::new());
    let mut rng = StdRng::seed_from_u64(8);
    for i in 0..2500 {
        // A real account, asked for by one of its contacts…
        let account = population.account(i);
        let contacts: Vec<Contact> = account.verified().map(|c| c.contact.clone()).collect();
        let id = account.id().clone();
        ready(w.flows.accounts().create(account)).unwrap();
        if apps.random_bool(0.25) {
            w.add_app(&id);
        }
        let identifier = &contacts[rng.random_range(0..contacts.len())];
        let start = ready(w.flows.start_recovery(identifier.expose())).unwrap();
        let (counts, masks) = shape(&start, identifier);
        known_counts.push(counts);
        known_masks.extend(masks);
        // …and an identifier drawn the same way that no account has.
        let unknown = population.account(usize::MAX - i);
        let contacts: Vec<Contact> = unknown.verified().map(|c| c.contact.clone()).collect();
        let identifier = &contacts[rng.random_range(0..contacts.len())];
        let start = ready(w.flows.start_recovery(identifier.expose())).unwrap();
        let (counts, masks) = shape(&start, identifier);
        unknown_counts.push(counts);
        unknown_masks.extend(masks);
    }
    let p_counts = chi_square_p(&known_counts, &unknown_counts);
    let p_masks = chi_square_p(&known_masks, &unknown_masks);
    assert!(
        p_counts > 0.01,
        "choices and kinds told apart: p = {p_counts}"
    );
    assert!(p_masks > 0.01, "mask lengths told apart: p = {p_masks}");
    // A phone identifier's choices include an email for unknown identifiers
    // too, and an app about as often as for known ones.
    let with_email = |counts: &[String]| counts.iter().filter(|c| !c.contains(":0:")).count();
    let with_app = |counts: &[String]| counts.iter().filter(|c| c.ends_with(":1")).count();
    for counts in [&known_counts, &unknown_counts] {
        assert!(
            (500..750).contains(&with_app(counts)),
            "{}",
            with_app(counts)
        );
    }
    assert!(
        with_email(&unknown_counts) > 1000,
        "{}",
        with_email(&unknown_counts)
    );
}

#[test]
fn case_rotation_and_confirmation_do_not_tell_unknown_identifiers() {
    let w = world();
    for unknown in ["Someone.Else@Example.ORG", "+44 7400 999888"] {
        let lower = unknown.to_lowercase();
        let typed = ready(w.flows.start_recovery(unknown)).unwrap();
        let again = ready(w.flows.start_recovery(&lower)).unwrap();
        assert_eq!(
            typed.choices, again.choices,
            "the case typed changes nothing"
        );
        let mask = Contact::parse(unknown).unwrap().masked();
        let i = typed
            .choices
            .iter()
            .position(|c| c.contact == mask)
            .unwrap();
        assert!(
            !mask.as_str().contains('S'),
            "masked from the identity: {mask}"
        );
        // An upper-case full address confirms, as it does for a real account.
        let confirmation = if unknown.contains('@') {
            unknown.to_uppercase()
        } else {
            "9888".to_owned()
        };
        ready(
            w.flows
                .choose_recovery_contact(&typed.token, i, &confirmation, None),
        )
        .unwrap();
        w.clock.advance(Duration::from_secs(60));
    }
    // A real account's upper-case address confirms too.
    w.confirm("OWNER@EXAMPLE.ORG", &w.email).unwrap();

    // Rotating the code keys does not change made-up answers.
    let before = ready(w.flows.start_recovery("someone.else@example.org")).unwrap();
    let rotated = Keyring::new(2, SecretKey::from_bytes([0x66; 32]))
        .with_retired(1, SecretKey::from_bytes([0x44; 32]))
        .unwrap()
        .with_recovery_secret(SecretKey::from_bytes([0x55; 32]));
    let w2 = world_with(rotated);
    let after = ready(w2.flows.start_recovery("someone.else@example.org")).unwrap();
    assert_eq!(before.choices, after.choices);
}

// ----- unauthenticated requests cannot crowd out real users ----------------------------

#[test]
fn decoys_and_counters_are_bounded_and_give_way_to_real_users() {
    let w = world_in(keyring(), MemoryChallengeStore::with_capacity(6_400));
    let store = w.flows.codes().store();
    // 20 000 recoveries of unknown identifiers, each confirmed: 20 000 decoys.
    for i in 0..20_000 {
        let unknown = format!("nobody{i:05}@example.net");
        let start = ready(w.flows.start_recovery(&unknown)).unwrap();
        let mask = Contact::email(&unknown).unwrap().masked();
        let index = start
            .choices
            .iter()
            .position(|c| c.contact == mask)
            .unwrap();
        ready(
            w.flows
                .choose_recovery_contact(&start.token, index, &unknown, None),
        )
        .unwrap();
    }
    assert!(store.len() <= 6_400, "{}", store.len());
    // Every legitimate start still succeeds.
    for i in 0..1_000 {
        let account = AccountId::new(format!("user-{i}")).unwrap();
        let to = Contact::email(&format!("user{i:04}@example.org")).unwrap();
        ready(w.flows.codes().start(
            &account,
            seccode::Purpose::IdentityCheck,
            &to,
            SendOptions::default(),
        ))
        .unwrap();
    }
    // Wrong confirmations on 30 000 fresh identifiers: the counters stay bounded.
    for i in 0..30_000 {
        let unknown = format!("wrong{i:05}@example.net");
        let start = ready(w.flows.start_recovery(&unknown)).unwrap();
        let e = ready(
            w.flows
                .choose_recovery_contact(&start.token, 0, "x@example.net", None),
        );
        assert!(matches!(e, Err(Error::ContactProofFailed)), "{e:?}");
    }
    assert!(store.counter_len() <= 6_400, "{}", store.counter_len());
    // The owner's own recovery still works.
    w.confirm(w.email.expose(), &w.email).unwrap();
}

// ----- the same reads and writes ------------------------------------------------------

/// The store calls a step made, by name and in order; what they carried is left out.
#[derive(Default)]
struct Calls(std::sync::Mutex<Vec<&'static str>>);

impl Calls {
    fn log(&self, call: &'static str) {
        self.0.lock().unwrap().push(call);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A store that records which of its methods run, then does what `S` does.
struct Recording<S> {
    inner: S,
    calls: Arc<Calls>,
}

impl<S: AccountStore> AccountStore for Recording<S> {
    async fn create(&self, account: Account) -> seccode::Result<()> {
        self.calls.log("accounts.create");
        self.inner.create(account).await
    }

    async fn get(&self, id: &AccountId) -> seccode::Result<Option<Account>> {
        self.calls.log("accounts.get");
        self.inner.get(id).await
    }

    async fn find_verified(&self, contact: &Contact) -> seccode::Result<Option<AccountId>> {
        self.calls.log("accounts.find_verified");
        self.inner.find_verified(contact).await
    }

    async fn update<R, F>(&self, id: &AccountId, f: F) -> seccode::Result<Option<R>>
    where
        F: FnMut(&mut Account) -> seccode::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.calls.log("accounts.update");
        self.inner.update(id, f).await
    }
}

impl<S: seccode::store::ChallengeStore> seccode::store::ChallengeStore for Recording<S> {
    async fn insert(
        &self,
        c: seccode::store::Challenge,
        now: seccode::Timestamp,
    ) -> seccode::Result<()> {
        self.calls.log("challenges.insert");
        self.inner.insert(c, now).await
    }

    async fn get(
        &self,
        id: &seccode::ChallengeId,
    ) -> seccode::Result<Option<seccode::store::Challenge>> {
        self.calls.log("challenges.get");
        self.inner.get(id).await
    }

    async fn update<R, F>(&self, id: &seccode::ChallengeId, f: F) -> seccode::Result<Option<R>>
    where
        F: FnMut(&mut seccode::store::Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.calls.log("challenges.update");
        self.inner.update(id, f).await
    }

    async fn update_counter<R, F>(
        &self,
        key: &seccode::store::CounterKey,
        now: seccode::Timestamp,
        f: F,
    ) -> seccode::Result<R>
    where
        F: FnMut(&mut seccode::store::Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.calls.log(key.kind().as_str());
        self.inner.update_counter(key, now, f).await
    }

    async fn update_with_counter<R, F>(
        &self,
        id: &seccode::ChallengeId,
        now: seccode::Timestamp,
        f: F,
    ) -> seccode::Result<Option<R>>
    where
        F: FnMut(&mut seccode::store::Challenge, &mut seccode::store::Counter) -> R
            + Send
            + 'static,
        R: Send + 'static,
    {
        self.calls.log("challenges.update_with_counter");
        self.inner.update_with_counter(id, now, f).await
    }

    async fn get_counter(
        &self,
        key: &seccode::store::CounterKey,
    ) -> seccode::Result<Option<seccode::store::Counter>> {
        self.calls.log("counter.get");
        self.inner.get_counter(key).await
    }

    async fn sweep(&self, now: seccode::Timestamp) -> seccode::Result<usize> {
        self.inner.sweep(now).await
    }
}

#[test]
fn known_and_unknown_identifiers_make_the_same_store_calls() {
    let calls = Arc::new(Calls::default());
    let outbox = Arc::new(Outbox::new());
    let codes = SecurityCodes::new(
        Recording {
            inner: MemoryChallengeStore::new(),
            calls: calls.clone(),
        },
        outbox.clone(),
        keyring(),
    )
    .with_clock(Arc::new(ManualClock::new(T0)));
    let flows = AccountSecurity::new(
        codes,
        Recording {
            inner: MemoryAccountStore::new(),
            calls: calls.clone(),
        },
    );
    let known = Contact::email("known@example.org").unwrap();
    let account = Account::new(AccountId::new("k").unwrap())
        .with_verified_contact(known.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    let unknown = Contact::email("other@example.org").unwrap();

    let steps = |c: &Contact| -> Vec<Vec<&'static str>> {
        calls.take();
        let start = ready(flows.start_recovery(c.expose())).unwrap();
        let i = start
            .choices
            .iter()
            .position(|x| x.contact == c.masked())
            .unwrap();
        let started = calls.take();
        let _ = ready(flows.choose_recovery_contact(&start.token, i, "wrong@example.org", None));
        let wrong = calls.take();
        ready(flows.choose_recovery_contact(&start.token, i, c.expose(), None)).unwrap();
        let right = calls.take();
        let _ = ready(flows.recover_with_app(&start.token, "000000"));
        let app = calls.take();
        vec![started, wrong, right, app]
    };
    let (k, u) = (steps(&known), steps(&unknown));
    assert_eq!(k, u);
    assert_eq!(k[0], ["accounts.find_verified", "accounts.get"]);
    assert!(k[2].contains(&"global_sends"), "{:?}", k[2]);
    assert!(k[3].contains(&"accounts.get"), "{:?}", k[3]);
    // Nothing was delivered for the unknown identifier; a code was for the known.
    assert_eq!(outbox.messages_to(&unknown).len(), 0);
    assert_eq!(outbox.messages_to(&known).len(), 1);
}
