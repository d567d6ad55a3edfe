//! Bytes per pending challenge and per counter in the memory store at one million
//! of each, measured as the growth of the process's resident set (so allocator
//! overhead, hash-table slack and the expiry indexes are all counted). Together
//! they bound what unauthenticated requests can make the store hold.
//!
//! Run: `cargo bench -p seccode-benches --bench memory`

mod support;

use rand::SeedableRng;
use rand::rngs::StdRng;
use seccode::store::{Challenge, ChallengeStore, CounterKey, SendKind};
use seccode::{AccountId, Contact, Limits, MemoryChallengeStore, Policy, Purpose, Timestamp};

use support::ready;

const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);
const N: usize = 1_000_000;

/// Resident set size in bytes, from /proc/self/statm (Linux).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let Some(before) = rss() else {
        eprintln!("memory: /proc/self/statm is unavailable; skipped");
        return;
    };
    let policy = Policy::default();
    let mut rng = StdRng::seed_from_u64(7);
    let store = MemoryChallengeStore::with_capacity(2 * N);
    let base = before;
    let mut string_bytes = 0u64;
    for i in 0..N {
        let account = AccountId::new(format!("account-{i:06}")).expect("valid id");
        let to = Contact::email(&format!("user{i:06}@example.com")).expect("valid address");
        string_bytes += (account.as_str().len() + to.expose().len()) as u64;
        let mut c = Challenge::issue(account, Purpose::Recovery, to, &policy, 1, &mut rng, T0);
        c.record_send(SendKind::First, T0).expect("first send");
        ready(store.insert(c, T0)).expect("insert");
    }
    let after = rss().unwrap_or(base);
    assert_eq!(store.len(), N);
    let grown = after.saturating_sub(base);
    println!("memory/pending_challenges: {N}");
    println!("memory/rss_growth_bytes: {grown}");
    println!(
        "memory/bytes_per_pending_challenge: {:.1}",
        grown as f64 / N as f64
    );
    println!(
        "memory/string_bytes_per_challenge: {:.1} (account id + address)",
        string_bytes as f64 / N as f64
    );

    // One failure on each of a million recovery identifiers: a million counters.
    let limits = Limits::default();
    let base = rss().unwrap_or(after);
    for i in 0..N {
        let identifier = Contact::email(&format!("nobody{i:06}@example.com")).expect("valid");
        let key = CounterKey::recovery_confirmations(&identifier);
        ready(store.update_counter(&key, T0, move |c| c.count_failure(&limits, T0)))
            .expect("room for a counter")
            .expect("not blocked");
    }
    assert_eq!(store.counter_len(), N);
    let grown = rss().unwrap_or(base).saturating_sub(base);
    println!("memory/counters: {N}");
    println!("memory/bytes_per_counter: {:.1}", grown as f64 / N as f64);
}
