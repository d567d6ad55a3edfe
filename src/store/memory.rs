//! [`MemoryChallengeStore`]: sharded, bounded, expiring; the default store.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};

use crate::challenge::{Challenge, ChallengeId};
use crate::clock::Timestamp;
use crate::counter::{Counter, CounterKey};
use crate::error::Error;
use crate::store::ChallengeStore;

/// Challenges and counters in this process's memory.
///
/// * **Atomic** per record: each update runs under its shard's mutex.
/// * **Sharded** 64 ways by challenge id, so threads rarely wait for each other.
/// * **Bounded**, and fair to real users: challenges and counters each have a
///   capacity (default: 1 048 576 of each). An insert into a full shard first
///   sweeps it; then a new challenge evicts the oldest *decoy* (see
///   [`AccountSecurity`](crate::AccountSecurity): the made-up challenges of unknown recovery identifiers), and
///   a new counter the least recently updated counter that blocks nothing (no
///   delay or lockout running); only then does it fail with [`Error::Store`].
///   So unauthenticated requests can fill the store with decoys and counters but
///   not keep a real user from starting a challenge, and a running lockout is
///   never forgotten. The price: flooding the store with fresh counters resets
///   idle ones, so an attacker who stops between floods gets the free failures of
///   a budget again — at most `free_failures` (10) guesses per `capacity` (about
///   a million) requests.
/// * **Memory it can be made to hold** (measured on x86-64 by
///   `cargo bench --bench memory`, resident set growth at a million of each):
///   about 270 bytes a challenge, about 160 a counter, so at most about 450 MB at
///   the default capacities, whatever an attacker sends. An unauthenticated
///   recovery request adds at most one decoy and two counters (its identifier's
///   confirmations, its destination's sends): under 600 bytes.
/// * **Expiring**: each shard files its challenges by the minute their retention
///   ends ([`Challenge::retain_until`] rounded up to a whole minute); a sweep
///   (run by [`ChallengeStore::sweep`] and by inserts into a full shard) takes
///   only the minutes that have passed, so it costs work proportional to what
///   expired, not to what is stored. A record goes at the first sweep at or after
///   its minute.
///
/// Challenges are lost when the process exits and are not shared between
/// processes; use the SQLite or Redis stores for that.
///
/// # Examples
///
/// ```
/// use seccode::MemoryChallengeStore;
///
/// let store = MemoryChallengeStore::with_capacity(10_000);
/// assert_eq!(store.len(), 0);
/// ```
pub struct MemoryChallengeStore {
    shards: Box<[Mutex<Shard>]>,
    counters: Box<[Mutex<CounterShard>]>,
    shard_capacity: usize,
}

/// How many of a full counter shard's least recently updated records are looked
/// at for one that blocks nothing before an insert is refused.
const EVICTION_SCAN: usize = 32;

const SHARDS: usize = 64;

/// Challenge ids are uniformly random, so their first 8 bytes are already a good
/// hash; this hasher passes them through instead of running SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Records are keyed by the first 8 bytes of the id (a `u64` key keeps buckets
/// small); the full id is checked on every lookup.
#[derive(Default)]
struct Shard {
    challenges: HashMap<u64, Box<Challenge>, BuildHasherDefault<IdHasher>>,
    /// Map keys of the challenges whose retention ends in each minute: 8 bytes a
    /// challenge, where a heap of (deadline, key) pairs would take 16.
    expiry: BTreeMap<u64, Vec<u64>>,
    /// Map keys of decoy challenges, oldest first (some may be gone already).
    decoys: VecDeque<u64>,
}

const MINUTE_MS: u64 = 60_000;

/// The minute a record filed at `deadline` is swept: the first whole minute at or
/// after it.
fn minute_of(deadline: Timestamp) -> u64 {
    deadline.as_unix_millis().div_ceil(MINUTE_MS)
}

/// Counter keys are digests, so they hash by passing through too.
#[derive(Default)]
struct CounterShard {
    counters: HashMap<CounterKey, Counter, BuildHasherDefault<IdHasher>>,
    expiry: BinaryHeap<Reverse<(Timestamp, CounterKey)>>,
}

fn split(id: &ChallengeId) -> (usize, u64) {
    let b = id.as_bytes();
    let key = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    (usize::from(b[8]) % SHARDS, key)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The closures run under the lock are the crate's own pure transitions; if one
    // panicked the record it held is still consistent, so poisoning is ignored.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shard {
    fn sweep(&mut self, now: Timestamp) -> usize {
        let mut removed = 0;
        while let Some(entry) = self.expiry.first_entry() {
            if entry.key().saturating_mul(MINUTE_MS) > now.as_unix_millis() {
                break;
            }
            for key in entry.remove() {
                if self.challenges.remove(&key).is_some() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Removes the oldest decoy still held; whether there was one.
    fn evict_decoy(&mut self) -> bool {
        while let Some(key) = self.decoys.pop_front() {
            if self.challenges.get(&key).is_some_and(|c| c.is_decoy()) {
                self.challenges.remove(&key);
                return true;
            }
        }
        false
    }
}

impl CounterShard {
    /// Makes room for one more counter in a full shard: expired ones go first,
    /// then the least recently updated one that blocks nothing at `now`.
    fn make_room(&mut self, capacity: usize, now: Timestamp) -> bool {
        if self.counters.len() < capacity {
            return true;
        }
        self.sweep(now);
        let mut kept = Vec::new();
        let mut room = self.counters.len() < capacity;
        while !room && kept.len() < EVICTION_SCAN {
            let Some(Reverse((at, key))) = self.expiry.pop() else {
                break;
            };
            match self.counters.get(&key) {
                // A stale entry (the counter was updated since): requeue it.
                Some(c) if c.expires_at != at => kept.push(Reverse((c.expires_at, key))),
                Some(c) if c.blocked_for(now).is_some() => kept.push(Reverse((at, key))),
                Some(_) => {
                    self.counters.remove(&key);
                    room = true;
                }
                None => {}
            }
        }
        self.expiry.extend(kept);
        room
    }

    fn sweep(&mut self, now: Timestamp) -> usize {
        let mut removed = 0;
        while self
            .expiry
            .peek()
            .is_some_and(|Reverse((at, _))| *at <= now)
        {
            let Some(Reverse((_, key))) = self.expiry.pop() else {
                break;
            };
            match self.counters.get(&key) {
                // Updated since it was queued: queue it again at its new deadline.
                Some(c) if c.expires_at > now => self.expiry.push(Reverse((c.expires_at, key))),
                Some(_) => {
                    self.counters.remove(&key);
                    removed += 1;
                }
                None => {}
            }
        }
        removed
    }
}

impl MemoryChallengeStore {
    /// A store for about one million challenges.
    pub fn new() -> Self {
        Self::with_capacity(1 << 20)
    }

    /// A store refusing inserts beyond roughly `capacity` live challenges (the
    /// bound is per shard: `capacity / 64`, at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            counters: (0..SHARDS)
                .map(|_| Mutex::new(CounterShard::default()))
                .collect(),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// Challenges held, expired or not.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).challenges.len()).sum()
    }

    /// Whether no challenge is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters held.
    pub fn counter_len(&self) -> usize {
        self.counters.iter().map(|s| lock(s).counters.len()).sum()
    }

    fn counter_shard(&self, key: &CounterKey) -> &Mutex<CounterShard> {
        &self.counters[usize::from(key.digest()[8]) % SHARDS]
    }

    /// The synchronous core of [`ChallengeStore::insert`].
    fn insert_now(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        let (shard, key) = split(challenge.id());
        let mut shard = lock(&self.shards[shard]);
        if shard.challenges.len() >= self.shard_capacity {
            shard.sweep(now);
            if shard.challenges.len() >= self.shard_capacity && !shard.evict_decoy() {
                return Err(Error::store("memory store is full"));
            }
        }
        if challenge.is_decoy() {
            if shard.decoys.len() >= 2 * self.shard_capacity {
                let Shard {
                    challenges, decoys, ..
                } = &mut *shard;
                decoys.retain(|k| challenges.get(k).is_some_and(|c| c.is_decoy()));
            }
            shard.decoys.push_back(key);
        }
        let deadline = challenge.retain_until();
        match shard.challenges.entry(key) {
            Entry::Occupied(_) => return Err(Error::store("challenge id already stored")),
            Entry::Vacant(v) => {
                v.insert(Box::new(challenge));
            }
        }
        shard
            .expiry
            .entry(minute_of(deadline))
            .or_default()
            .push(key);
        Ok(())
    }

    fn update_now<R>(&self, id: &ChallengeId, mut f: impl FnMut(&mut Challenge) -> R) -> Option<R> {
        let (shard, key) = split(id);
        let mut shard = lock(&self.shards[shard]);
        let challenge = shard.challenges.get_mut(&key)?;
        (challenge.id() == id).then(|| f(challenge))
    }

    /// Updates one counter; a new one needs room (see the type's docs).
    fn update_counter_now<R>(
        &self,
        key: &CounterKey,
        now: Timestamp,
        f: impl FnMut(&mut Counter) -> R,
    ) -> Result<R, Error> {
        let mut shard = lock(self.counter_shard(key));
        self.update_counter_in(&mut shard, key, now, f)
    }

    /// [`MemoryChallengeStore::update_counter_now`] in a shard the caller locked.
    fn update_counter_in<R>(
        &self,
        shard: &mut CounterShard,
        key: &CounterKey,
        now: Timestamp,
        mut f: impl FnMut(&mut Counter) -> R,
    ) -> Result<R, Error> {
        if let Some(counter) = shard.counters.get_mut(key) {
            let out = f(counter);
            if counter.is_empty() {
                shard.counters.remove(key);
            }
            return Ok(out);
        }
        let mut counter = Counter::default();
        let out = f(&mut counter);
        if !counter.is_empty() {
            if !shard.make_room(self.shard_capacity, now) {
                // Nothing counted: the caller must not act as if it had been.
                return Err(Error::store("memory store is full"));
            }
            shard.expiry.push(Reverse((counter.expires_at, *key)));
            shard.counters.insert(*key, counter);
        }
        Ok(out)
    }
}

impl Default for MemoryChallengeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryChallengeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryChallengeStore")
            .field("shards", &SHARDS)
            .field("shard_capacity", &self.shard_capacity)
            .finish_non_exhaustive()
    }
}

impl ChallengeStore for MemoryChallengeStore {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        self.insert_now(challenge, now)
    }

    async fn update<R, F>(&self, id: &ChallengeId, f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        Ok(self.update_now(id, f))
    }

    async fn update_counter<R, F>(&self, key: &CounterKey, now: Timestamp, f: F) -> Result<R, Error>
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.update_counter_now(key, now, f)
    }

    /// Under the challenge's shard lock, then its counter's (always in that
    /// order; nothing takes them the other way round).
    async fn update_with_counter<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        mut f: F,
    ) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (shard, key) = split(id);
        let mut shard = lock(&self.shards[shard]);
        let Some(challenge) = shard.challenges.get_mut(&key).filter(|c| c.id() == id) else {
            return Ok(None);
        };
        let counter_key = challenge.failure_key();
        let mut counters = lock(self.counter_shard(&counter_key));
        self.update_counter_in(&mut counters, &counter_key, now, |counter| {
            f(challenge, counter)
        })
        .map(Some)
    }

    async fn sweep(&self, now: Timestamp) -> Result<usize, Error> {
        let challenges: usize = self.shards.iter().map(|s| lock(s).sweep(now)).sum();
        let counters: usize = self.counters.iter().map(|s| lock(s).sweep(now)).sum();
        Ok(challenges + counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::{AccountId, SendKind};
    use crate::contact::Contact;
    use crate::policy::{Policy, Purpose};
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::time::Duration;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    fn challenge(rng: &mut StdRng, now: Timestamp) -> Challenge {
        Challenge::issue(
            AccountId::new("a").unwrap(),
            Purpose::IdentityCheck,
            Contact::phone("+14255550100").unwrap(),
            &Policy::default(),
            1,
            rng,
            now,
        )
    }

    #[test]
    fn insert_update_and_refuse_duplicates() {
        let store = MemoryChallengeStore::with_capacity(100);
        let mut rng = StdRng::seed_from_u64(1);
        let c = challenge(&mut rng, T0);
        let id = *c.id();
        store.insert_now(c.clone(), T0).unwrap();
        assert!(store.insert_now(c, T0).is_err());
        let sends = store.update_now(&id, |c| {
            c.record_send(SendKind::First, T0).unwrap();
            c.sends()
        });
        assert_eq!(sends, Some(1));
        let missing = ChallengeId::from_bytes([0; 16]);
        assert_eq!(store.update_now(&missing, |c| c.sends()), None);
    }

    #[test]
    fn lookup_checks_the_whole_id() {
        let store = MemoryChallengeStore::with_capacity(100);
        let c = challenge(&mut StdRng::seed_from_u64(2), T0);
        let mut bytes = *c.id().as_bytes();
        store.insert_now(c, T0).unwrap();
        bytes[15] ^= 1; // same shard and map key, different id
        assert_eq!(
            store.update_now(&ChallengeId::from_bytes(bytes), |c| c.sends()),
            None
        );
    }

    #[test]
    fn full_store_sweeps_then_refuses() {
        let store = MemoryChallengeStore::with_capacity(64); // one per shard
        let mut rng = StdRng::seed_from_u64(3);
        let mut stored = 0;
        for _ in 0..200 {
            if store.insert_now(challenge(&mut rng, T0), T0).is_ok() {
                stored += 1;
            }
        }
        assert_eq!(stored, store.len());
        assert!(stored <= 64);
        // A minute after retention everything can be swept and inserted again.
        let later = T0 + Duration::from_secs(600 + 60) + crate::challenge::RETENTION;
        let c = challenge(&mut rng, later);
        store.insert_now(c, later).unwrap();
    }

    #[test]
    fn sweep_work_is_proportional_to_what_expired() {
        let store = MemoryChallengeStore::with_capacity(10_000);
        let mut rng = StdRng::seed_from_u64(4);
        for i in 0..1000u64 {
            let at = T0 + Duration::from_secs(i);
            store.insert_now(challenge(&mut rng, at), at).unwrap();
        }
        // Retention ends 10 + 15 minutes after issue, and records go at the first
        // whole minute after that. T0 is 20 s past a minute, so at T0+25m+100s the
        // records issued in the first 100 s have had their minute (T0+25m+40s).
        let now = T0 + Duration::from_secs(25 * 60 + 100);
        let removed: usize = store.shards.iter().map(|s| lock(s).sweep(now)).sum();
        assert_eq!(removed, 101);
        assert_eq!(store.len(), 899);
        let left: usize = store
            .shards
            .iter()
            .map(|s| lock(s).expiry.values().map(Vec::len).sum::<usize>())
            .sum();
        assert_eq!(left, 899, "only expired minutes were taken");
    }

    #[test]
    fn counters_expire_and_empty_ones_vanish() {
        let store = MemoryChallengeStore::new();
        let key = CounterKey::account_failures(&AccountId::new("a").unwrap());
        store
            .update_counter_now(&key, T0, |c| {
                c.count = 1;
                c.expires_at = T0;
            })
            .unwrap();
        assert_eq!(store.counter_len(), 1);
        // Touched: it moves its deadline; the sweep requeues it.
        store
            .update_counter_now(&key, T0, |c| c.expires_at = T0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(
            store
                .counters
                .iter()
                .map(|s| lock(s).sweep(T0))
                .sum::<usize>(),
            0
        );
        assert_eq!(
            store
                .counters
                .iter()
                .map(|s| lock(s).sweep(T0 + Duration::from_secs(10)))
                .sum::<usize>(),
            1
        );
        store.update_counter_now(&key, T0, |c| c.count = 0).unwrap();
        assert_eq!(store.counter_len(), 0, "an empty counter is not stored");
    }

    #[test]
    fn a_full_store_evicts_decoys_before_refusing_real_challenges() {
        let store = MemoryChallengeStore::with_capacity(64); // one per shard
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..500 {
            let _ = store.insert_now(challenge(&mut rng, T0).into_decoy(), T0);
        }
        assert_eq!(store.len(), 64, "decoys replace decoys");
        // Real challenges find room, each at the expense of a decoy, until every
        // shard holds a real one.
        let real = |store: &MemoryChallengeStore| -> usize {
            store
                .shards
                .iter()
                .map(|s| {
                    lock(s)
                        .challenges
                        .values()
                        .filter(|c| !c.is_decoy())
                        .count()
                })
                .sum()
        };
        for _ in 0..10_000 {
            if real(&store) == 64 {
                break;
            }
            let _ = store.insert_now(challenge(&mut rng, T0), T0);
        }
        assert_eq!(real(&store), 64);
        assert_eq!(store.len(), 64);
        // Now full of real challenges: a decoy and a real one are both refused.
        assert!(
            store
                .insert_now(challenge(&mut rng, T0).into_decoy(), T0)
                .is_err()
        );
        assert!(store.insert_now(challenge(&mut rng, T0), T0).is_err());
    }

    #[test]
    fn a_full_counter_table_evicts_idle_counters_never_blocked_ones() {
        let store = MemoryChallengeStore::with_capacity(64); // 1 counter per shard
        let key = |i: u32| CounterKey::account_failures(&AccountId::new(i.to_string()).unwrap());
        let hour = Duration::from_secs(3600);
        // A counter with a lockout running, then a flood of fresh ones.
        let locked = key(0);
        store
            .update_counter_now(&locked, T0, |c| {
                c.count = 100;
                c.blocked_until = T0 + hour;
                c.expires_at = T0 + hour;
            })
            .unwrap();
        let mut refused = 0;
        for i in 1..10_000 {
            let r = store.update_counter_now(&key(i), T0, |c| {
                c.count = 1;
                c.expires_at = T0 + hour;
            });
            refused += usize::from(r.is_err());
        }
        assert!(store.counter_len() <= 64);
        let kept = lock(store.counter_shard(&locked))
            .counters
            .get(&locked)
            .copied();
        assert_eq!(
            kept.map(|c| c.count),
            Some(100),
            "a lockout is never forgotten"
        );
        // Only the locked counter's shard refuses newcomers.
        assert!(refused > 0 && refused < 10_000 / 32, "{refused}");
    }
}
