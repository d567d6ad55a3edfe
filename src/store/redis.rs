//! [`RedisStore`]: challenges and counters in Redis, shared by many app servers.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, Value};
use sha2::Sha256;

use crate::challenge::{Attempt, Challenge, ChallengeId, Verification};
use crate::clock::Timestamp;
use crate::code::{Alphabet, InputShape};
use crate::counter::{Counter, CounterKey};
use crate::error::Error;
use crate::keys::SecretKey;
use crate::store::cipher::{ContactCodec, DataKeys};
use crate::store::record::{decode_challenge, decode_counter, encode_challenge, encode_counter};
use crate::store::{
    ChallengeStore, CheckTags, Guess, GuessRule, Opened, Refusal, SendBudget, Sends,
    count_in_order, open_in_steps,
};

/// Optimistic writes retried this many times before a store error.
const MAX_RETRIES: usize = 64;

/// Stores a new challenge unless the key exists. KEYS[1]: the record; ARGV: the
/// encoded record, its time to live in ms, the key of its failure counter, a
/// fresh version.
const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', ARGV[1], 'f', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Compare-and-set on a record's version. KEYS[1]: the record; ARGV: the
/// version read ('0' for none), the new encoding ('' deletes), a time to live in
/// ms (0 keeps the current one), a fresh version. Returns 1 if written, 0 on a
/// version mismatch.
///
/// Versions are random tokens the client draws for every write, not a count: a
/// count restarts after a `DEL` or an expiry, so a stale compare-and-set could
/// match a newer record of the same key (ABA); a fresh 64-bit token cannot.
const COMPARE_AND_SET: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if v == false then v = '0' end
if v ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
";

/// Compare-and-set on a challenge and its failure counter together. KEYS[1]:
/// the challenge, KEYS[2]: the counter; ARGV: the versions read (`'0'` for
/// none), the challenge's new encoding and `'1'` to write it, the counter's
/// ('' deletes) and `'1'` to write it, the counter's time to live in ms, a
/// fresh version. Returns 1 if written, 0 on a version mismatch.
const COMPARE_AND_SET_PAIR: &str = r"
local function version(key)
  local v = redis.call('HGET', key, 'v')
  if v == false then return '0' end
  return v
end
if version(KEYS[1]) ~= ARGV[1] or version(KEYS[2]) ~= ARGV[2] then return 0 end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'v', ARGV[8], 'd', ARGV[3]) end
if ARGV[6] == '1' then
  if ARGV[5] == '' then
    redis.call('DEL', KEYS[2])
  else
    redis.call('HSET', KEYS[2], 'v', ARGV[8], 'd', ARGV[5])
    redis.call('PEXPIRE', KEYS[2], ARGV[7])
  end
end
return 1
";

/// Reads the fields of a challenge record (the layout of `encode_challenge`)
/// that the guess scripts decide on, and defines `write(attempts, status)`,
/// which stores the record with those two fields replaced and a fresh version
/// (`ARGV[1]`). Answers `{0}` for no record and `{1}` for a record written
/// before failure-counter keys were kept (the caller then takes the two-step
/// path).
const READ_CHALLENGE: &str = r"
local rec = redis.call('HMGET', KEYS[1], 'd', 'f')
local d, fkey = rec[1], rec[2]
if not d then return {0, false, false, 0} end
if not fkey then return {1, false, false, 0} end
-- A retry during a slot migration declares the counter's key too.
if KEYS[2] and KEYS[2] ~= fkey then return redis.error_reply('seccode: failure counter key mismatch') end
-- version byte, 16-byte id, 16-byte salt, then the account and destination texts
local pos = 34
local alen = struct.unpack('>I2', d, pos)
local account = string.sub(d, pos + 2, pos + 1 + alen)
pos = pos + 2 + alen
pos = pos + 2 + struct.unpack('>I2', d, pos)
local expires = struct.unpack('>I8', d, pos)
local key_id = struct.unpack('>I4', d, pos + 16)
-- expires, last sent, key id, resend cooldown; then one byte each: generation,
-- attempts, max attempts, sends, max sends, code length, flags
local fixed = pos + 24
local generation, attempts, max_attempts = string.byte(d, fixed, fixed + 2)
local length, flags = string.byte(d, fixed + 5, fixed + 6)
local p = fixed + 7
local plen = struct.unpack('>I2', d, p)
local purpose = string.sub(d, p + 2, p + 1 + plen)
p = p + 2 + plen
local blen = struct.unpack('>I2', d, p)
local alphabet = string.sub(d, p + 2, p + 1 + blen)
p = p + 2 + blen
local slen = struct.unpack('>I2', d, p)
local status = string.sub(d, p + 2, p + 1 + slen)
-- The code check, when the record has one: its generation, then the tag.
local check = string.sub(d, p + 2 + slen)
local function write(new_attempts, new_status)
  local out = string.sub(d, 1, fixed) .. string.char(new_attempts)
    .. string.sub(d, fixed + 2, p - 1) .. struct.pack('>I2', #new_status) .. new_status .. check
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', out)
end
";

/// One guess counted server-side: the rule of `GuessRule::count` —
/// `Challenge::begin_attempt` then `Counter::count_failure` — with its data
/// passed in. KEYS[1]: the challenge (its failure counter's key is in the
/// record). ARGV: a fresh version for the challenge, one for the counter, now
/// (ms), the purpose, '1' and the account when the caller knows it (else '0'
/// and ''), the failure cap, the lockout (ms), the free failures, the longest
/// wait (ms), and the typed input's symbols as decimal and as Crockford (-1
/// where it is malformed: `InputShape`). Answers `{2, challenge, counter}` as they were before: the caller
/// applies the same pure rule to them for the outcome, and a differential test
/// holds the two to the same writes.
const COUNT_GUESS: &str = r"
local now = tonumber(ARGV[3])
local counter = redis.call('HGET', fkey, 'd')
-- Input that is no code of the challenge's format counts nothing.
local typed = -1
if alphabet == 'decimal' then typed = tonumber(ARGV[11])
elseif alphabet == 'crockford' then typed = tonumber(ARGV[12]) end
if typed ~= length then return {2, d, counter, 0} end
local settled = status
if status == 'pending' then
  if attempts >= max_attempts then settled = 'locked'
  elseif now >= expires then settled = 'expired' end
end
if settled ~= 'pending' then
  if settled ~= status then write(attempts, settled) end
  return {2, d, counter, 0}
end
write(attempts + 1, status)
if purpose ~= ARGV[4] then return {2, d, counter, 0} end
if ARGV[5] == '1' and account ~= ARGV[6] then return {2, d, counter, 0} end
local count, start, blocked, cexp = 0, 0, 0, 0
if counter then count, start, blocked, cexp = struct.unpack('>I4I8I8I8', counter) end
if now < blocked then return {2, d, counter, 0} end
local cap, lockout = tonumber(ARGV[7]), tonumber(ARGV[8])
local free, longest = tonumber(ARGV[9]), tonumber(ARGV[10])
if count >= cap or now >= cexp then count, start, blocked, cexp = 0, 0, 0, 0 end
if count == 0 then start = now end
count = count + 1
local wait = 0
if count >= cap then wait = lockout
elseif count > free then
  wait = math.min(1000 * 2 ^ math.min(count - free - 1, 40), longest, lockout)
end
if wait == 0 then blocked = 0 else blocked = now + wait end
cexp = now + lockout
redis.call('HSET', fkey, 'v', ARGV[2], 'd', struct.pack('>I4I8I8I8', count, start, blocked, cexp))
redis.call('PEXPIRE', fkey, math.max(cexp - now, 1))
-- The attempt is counted: settle it here when the record's check is of the
-- current generation and the caller sent the typed code's tag under the
-- record's key and alphabet. 1: compared, no match; 2: matched and approved
-- (never a decoy); 0: not compared (the caller compares and approves).
if #check ~= 17 or string.byte(check, 1) ~= generation then return {2, d, counter, 0} end
local tag = false
for i = 0, (tonumber(ARGV[13]) or 0) - 1 do
  if tonumber(ARGV[14 + 3 * i]) == key_id then
    if alphabet == 'decimal' then tag = ARGV[15 + 3 * i] else tag = ARGV[16 + 3 * i] end
  end
end
if not tag or #tag ~= 16 then return {2, d, counter, 0} end
if tag ~= string.sub(check, 2) or flags % 2 == 1 then return {2, d, counter, 1} end
-- The counter first: should it be out of reach, nothing more is written.
redis.call('DEL', fkey)
write(attempts + 1, 'approved')
return {2, d, counter, 2}
";

/// Approval of a right guess, server-side: the rule of `Challenge::approve`,
/// and the failure counter cleared with it. KEYS[1]: the challenge. ARGV: a
/// fresh version, the attempt's number and generation. Answers `{2, challenge,
/// false}` as it was before.
const APPROVE_GUESS: &str = r"
local number, gen = tonumber(ARGV[2]), tonumber(ARGV[3])
if (status == 'pending' or status == 'locked') and number <= max_attempts
    and gen == generation and flags % 2 == 0 then
  -- The counter first: should it be out of reach, nothing is written.
  redis.call('DEL', fkey)
  write(attempts, 'approved')
end
return {2, d, false, 0}
";

/// One send budget, counted server-side: the rule of
/// [`Counter::count_in_window`](crate::Counter::count_in_window), with its data —
/// the time, the cap, the window — passed in, on the record's own encoding
/// (`>I4I8I8I8`: count, window start, blocked until, expires at). KEYS[1]: the
/// counter; ARGV: now (ms), cap, window (ms), a fresh version, the weight (1; 0
/// for a decoy on a spend cap; -1 with an unreachable cap to refund). Returns -1 if counted, else the
/// milliseconds until the window ends. No compare-and-set: Redis runs the script
/// atomically, however many servers send at once.
const COUNT_IN_WINDOW: &str = r"
local now, cap, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rec = redis.call('HMGET', KEYS[1], 'v', 'd')
local count, start, blocked, expires = 0, 0, 0, 0
if rec[2] then count, start, blocked, expires = struct.unpack('>I4I8I8I8', rec[2]) end
if count == 0 or now >= start + window then
  count, start, blocked, expires = 0, now, 0, 0
end
local window_end = start + window
if count >= cap then
  local wait = window_end - now
  if wait < 0 then wait = 0 end
  return wait
end
count = count + tonumber(ARGV[5])
if count < 0 then count = 0 end
expires = window_end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', struct.pack('>I4I8I8I8', count, start, blocked, expires))
local ttl = expires - now
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return -1
";

/// A start in one script (one server only: its keys are in many slots):
/// refused while the failure counter blocks guesses, else the message counted
/// on every send budget by the rule of `COUNT_IN_WINDOW` — all or none —
/// and the challenge stored as `INSERT` does. KEYS[1]: the challenge,
/// KEYS[2]: its failure counter, KEYS[3..]: the budgets' counters in order.
/// ARGV: the encoded record, its time to live in ms, the failure counter's
/// key, a fresh version, now (ms), then cap, window (ms) and weight per
/// budget. Answers `{0}` when stored, `{1, index, ms}` when the budget at
/// `index` (from 0) is used up, `{2, ms}` while the account is locked, `{3}`
/// when the id is already stored.
const OPEN: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {3} end
local now = tonumber(ARGV[5])
local failures = redis.call('HGET', KEYS[2], 'd')
if failures then
  local _, _, blocked = struct.unpack('>I4I8I8I8', failures)
  if now < blocked then return {2, blocked - now} end
end
local counted = {}
for i = 3, #KEYS do
  local a = 6 + (i - 3) * 3
  local cap, window, weight = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local d = redis.call('HGET', KEYS[i], 'd')
  local count, start, blocked, expires = 0, 0, 0, 0
  if d then count, start, blocked, expires = struct.unpack('>I4I8I8I8', d) end
  if count == 0 or now >= start + window then
    count, start, blocked, expires = 0, now, 0, 0
  end
  if count >= cap then
    local wait = start + window - now
    if wait < 0 then wait = 0 end
    return {1, i - 3, wait}
  end
  counted[i] = {count + weight, start, blocked, start + window}
end
for i = 3, #KEYS do
  local c = counted[i]
  redis.call('HSET', KEYS[i], 'v', ARGV[4], 'd', struct.pack('>I4I8I8I8', c[1], c[2], c[3], c[4]))
  redis.call('PEXPIRE', KEYS[i], math.max(c[4] - now, 1))
end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', ARGV[1], 'f', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0}
";

/// Challenges and counters in Redis: one record per key, shared by every app
/// server that connects to the same Redis (or Redis Cluster), so attempt
/// counts and lockouts hold across instances (RFC 4226 §7.3).
///
/// * **Records**: a hash `{v: version, d: bytes}` per key —
///   `{prefix}:c:{<challenge id>}` and `{prefix}:n:{<counter key>}` on one
///   server; on a cluster the hash tag is the placement of the account's
///   failure counter, so a challenge and its counter share a slot (see
///   [`RedisStore::connect_cluster`]). Versions are random tokens drawn for
///   every write: a count would restart after a `DEL` or an expiry, and a stale
///   compare-and-set could then match a newer record (ABA).
/// * **Updates** ([`ChallengeStore::update`], `update_counter`,
///   `update_with_counter`): read, apply the pure closure here, write back with
///   a script that checks the version(s) first, retry on a conflict. An update
///   that changes nothing writes nothing.
/// * **Guesses** ([`ChallengeStore::guess`]): one script counts the attempt by
///   [`GuessRule::count`] with its data passed in ([`RedisStore::count_guess`])
///   and settles it by the record's [`CodeCheck`](crate::store::CodeCheck) — a keyed tag of the code,
///   which the script compares with the tag of the typed code computed here
///   ([`Guess::check_tags`]) — approving a right code and clearing the failure
///   counter in the same step: one round trip per guess, never a retry. The
///   keyring's own comparison here decides the answer; a record without a
///   check (written before checks existed) takes a second script to approve
///   ([`RedisStore::approve_guess`]).
/// * **Starts** ([`ChallengeStore::open`]): one script on one server — the
///   locked-account check, every send budget (all or none) and the insert; on a
///   cluster, whose keys are in many slots, the three steps one after another.
/// * **Send budgets** ([`ChallengeStore::count_sends`], for resends): one
///   script per budget applies [`SendBudget::apply`] with its data passed in —
///   no retries however many servers send at once — and a refusal refunds the
///   earlier budgets.
/// * **Expiring**: each key carries a time to live — a challenge until its
///   retention ends, a counter until [`Counter::expires_at`] — so Redis forgets
///   records by itself and [`ChallengeStore::sweep`] has nothing to do.
/// * **Failures**: a [`ConnectionManager`] reconnects after a lost connection;
///   a request that fails mid-flight reports [`Error::Store`] (the version check
///   makes a retried write safe); see [`RedisStore::connect_with_timeout`].
///
/// The scripts restate the core's rules in Lua; `tests/redis_rules.rs` holds
/// them to the core in a differential property test against a real
/// `redis-server`. What a deployment must configure (persistence: `appendonly
/// yes`) is in the README, "Running Redis".
///
/// Requires the `redis` feature and a Tokio runtime.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    /// Cluster mode: the key of placement tags (see [`RedisStore::connect_cluster`]).
    slots: Option<Hmac<Sha256>>,
    prefix: String,
    codec: ContactCodec,
    insert: Script,
    open: Script,
    cas: Script,
    cas_pair: Script,
    count_in_window: Script,
    count_guess: Script,
    approve_guess: Script,
}

/// A Redis error as a [`StoreFailure`](crate::StoreFailure): the kind of
/// fault and the error's class, never its text (which may quote a key).
fn db(e: redis::RedisError) -> Error {
    use crate::error::{StoreFailure, StoreFault};
    let fault = if e.is_timeout() {
        StoreFault::TimedOut
    } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
        StoreFault::Unreachable
    } else {
        StoreFault::Other
    };
    let detail = if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_connection_dropped() {
        "connection dropped".to_owned()
    } else {
        format!("{:?}", e.kind())
    };
    Error::store(StoreFailure::new("redis", fault, detail))
}

/// One server (a reconnecting connection manager) or a cluster (a client that
/// follows `MOVED`/`ASK` redirections and slot migrations).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379/0`) with the key prefix
    /// `seccode`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_prefix(url, "seccode").await
    }

    /// Connects with another key prefix (e.g. one per environment or test).
    ///
    /// # Errors
    ///
    /// As [`RedisStore::connect`].
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, Error> {
        Self::connect_with_timeout(url, prefix, Self::TIMEOUT).await
    }

    /// How long a connection attempt may take by default; a command may wait
    /// four times as long for its answer.
    pub const TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects with the key prefix `prefix`, giving up on a connection attempt
    /// after `timeout` and on a command's answer after four times that.
    ///
    /// # While Redis is down
    ///
    /// A request fails at once with an [`Error::Store`] whose
    /// [`StoreFailure`](crate::StoreFailure) says `unreachable` (or `timed
    /// out`), rather than waiting: the connection is re-established in the
    /// background with one retry and short back-off (at most 200 ms), so the
    /// first request after Redis returns finds it. A long back-off would hold
    /// every request for seconds during an outage.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::connect`].
    pub async fn connect_with_timeout(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(db)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout * 4))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(db)?;
        Ok(Self::with_conn(Conn::Single(conn), None, prefix))
    }

    /// Connects to a Redis Cluster through any of its `nodes` (e.g.
    /// `["redis://10.0.0.1:6379/", …]`), with the key prefix `prefix`.
    ///
    /// Every record of one account — its challenges and its failure counter —
    /// lives in one hash slot, so each script touches one slot: a challenge's
    /// key and its counter's key carry the same hash tag, a 16-bit placement
    /// derived from the counter key under `slot_key` (HMAC-SHA256), and the
    /// service issues the account's challenge ids with that tag in their last
    /// two bytes ([`ChallengeStore::placement`]). The key keeps the tag from
    /// telling whether two challenge ids belong to one account or to a guessed
    /// account id. **Every server of a deployment must use the same
    /// `slot_key`**, and keep it: a new one files counters under new keys.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if a URL is invalid or no node can be reached.
    pub async fn connect_cluster(
        nodes: &[&str],
        prefix: &str,
        slot_key: &SecretKey,
    ) -> Result<Self, Error> {
        let client = redis::cluster::ClusterClient::new(nodes.iter().copied()).map_err(db)?;
        let conn = client.get_async_connection().await.map_err(db)?;
        let slots = match <Hmac<Sha256> as KeyInit>::new_from_slice(slot_key.bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        Ok(Self::with_conn(Conn::Cluster(conn), Some(slots), prefix))
    }

    fn with_conn(conn: Conn, slots: Option<Hmac<Sha256>>, prefix: &str) -> Self {
        Self {
            conn,
            slots,
            prefix: prefix.to_owned(),
            codec: ContactCodec::default(),
            insert: Script::new(INSERT),
            open: Script::new(OPEN),
            count_in_window: Script::new(COUNT_IN_WINDOW),
            cas: Script::new(COMPARE_AND_SET),
            cas_pair: Script::new(COMPARE_AND_SET_PAIR),
            count_guess: Script::new(&format!("{READ_CHALLENGE}{COUNT_GUESS}")),
            approve_guess: Script::new(&format!("{READ_CHALLENGE}{APPROVE_GUESS}")),
        }
    }

    /// One `PING`: the floor of any operation, for benchmarks and health checks.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the server does not answer.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The same store with challenge destinations encrypted at rest under `keys`
    /// (see [`DataKeys`]); records written in the clear before still read.
    #[must_use]
    pub fn with_encryption(mut self, keys: DataKeys) -> Self {
        self.codec = ContactCodec::encrypted(keys);
        self
    }

    /// One server: `{prefix}:c:{<id>}`. A cluster: `{prefix}:c:{<tag>}<id>`,
    /// the tag being the id's placement (the slot of its failure counter).
    fn challenge_key(&self, id: &ChallengeId) -> String {
        match self.slots {
            None => format!("{}:c:{{{id}}}", self.prefix),
            Some(_) => format!("{}:c:{{{:04x}}}{id}", self.prefix, id.placement()),
        }
    }

    /// One server: `{prefix}:n:{<key>}`. A cluster: `{prefix}:n:{<tag>}<key>`.
    fn counter_key(&self, key: &CounterKey) -> String {
        match self.tag(key) {
            None => format!("{}:n:{{{}}}", self.prefix, key.storage_key()),
            Some(tag) => format!("{}:n:{{{tag:04x}}}{}", self.prefix, key.storage_key()),
        }
    }

    /// The placement tag of a counter in cluster mode.
    fn tag(&self, key: &CounterKey) -> Option<u16> {
        let mut mac = self.slots.clone()?;
        mac.update(b"seccode-slot:");
        mac.update(key.storage_key().as_bytes());
        let out = mac.finalize().into_bytes();
        Some(u16::from_be_bytes([out[0], out[1]]))
    }

    async fn read(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        let mut conn = self.conn.clone();
        let (version, data): (Option<String>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(key)
            .arg("v")
            .arg("d")
            .query_async(&mut conn)
            .await
            .map_err(db)?;
        Ok(version.zip(data))
    }

    /// A challenge record and its version; `None` if there is none.
    async fn read_challenge(&self, key: &str) -> Result<Option<(String, Challenge)>, Error> {
        match self.read(key).await? {
            Some((version, data)) => Ok(Some((version, decode_challenge(&data, &self.codec)?))),
            None => Ok(None),
        }
    }

    /// A counter record and its version: an empty counter at version `0` if
    /// there is none (the compare-and-set scripts read a missing version so).
    async fn read_counter(&self, key: &str) -> Result<(String, Counter), Error> {
        match self.read(key).await? {
            Some((version, data)) => Ok((version, decode_counter(&data)?)),
            None => Ok(("0".to_owned(), Counter::default())),
        }
    }

    async fn compare_and_set(
        &self,
        key: &str,
        version: &str,
        data: &[u8],
        ttl_ms: u64,
    ) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let written: i32 = self
            .cas
            .key(key)
            .arg(version)
            .arg(data)
            .arg(ttl_ms)
            .arg(fresh_version())
            .invoke_async(&mut conn)
            .await
            .map_err(db)?;
        Ok(written == 1)
    }
}

/// A version for one write: a random token, so that no later record of the same
/// key can carry it again (see `COMPARE_AND_SET`).
fn fresh_version() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A guess script's raw answer: found (0, 1 or 2), the challenge, the counter,
/// and whether the script settled the guess by the code check (0 not
/// compared, 1 no match, 2 approved).
type GuessAnswer = (i64, Option<Vec<u8>>, Option<Vec<u8>>, i64);

/// What a guess script answered: `None` without a record, `Some(None)` for a
/// record written before failure-counter keys were kept, else the challenge and
/// its counter as they were before the script, and how it settled the guess.
type Before = Option<Option<(Challenge, Counter, i64)>>;

/// The guess script compared the code check and found no match.
const SETTLED_NO_MATCH: i64 = 1;
/// The guess script matched the code check and approved the challenge.
const SETTLED_APPROVED: i64 = 2;

/// A counted guess: the attempt to compare or the outcome to answer, the
/// challenge as the count left it (when the script answered it), and how the
/// script settled the guess (see [`GuessAnswer`]).
type Counted = (Result<Attempt, Verification>, Option<Challenge>, i64);

impl RedisStore {
    /// Runs a guess script on the challenge `key`. The script reads the
    /// failure counter's key from the record; on a cluster, while that slot is
    /// being migrated, Redis refuses an undeclared key that is not (or no
    /// longer) on the node, and nothing has been written. The script then runs
    /// again with the counter's key declared, so that Redis redirects or asks
    /// to try again — which the cluster client follows — instead of refusing.
    async fn run_guess(
        &self,
        script: &Script,
        key: &str,
        args: &[String],
        tags: &[Vec<u8>],
    ) -> Result<GuessAnswer, Error> {
        let mut conn = self.conn.clone();
        let mut first = script.key(key);
        Self::guess_args(&mut first, args, tags);
        match first.invoke_async(&mut conn).await {
            Ok(answer) => Ok(answer),
            Err(e) if self.slots.is_some() && e.to_string().contains("non local key") => {
                let fkey: Option<String> = redis::cmd("HGET")
                    .arg(key)
                    .arg("f")
                    .query_async(&mut conn)
                    .await
                    .map_err(db)?;
                let Some(fkey) = fkey else {
                    return Err(db(e));
                };
                let mut again = script.key(key);
                again.key(&fkey);
                Self::guess_args(&mut again, args, tags);
                again.invoke_async(&mut conn).await.map_err(db)
            }
            Err(e) => Err(db(e)),
        }
    }

    /// A guess script's arguments: `args`, then per key of the code check its
    /// id (from `args`' tail) and its two tags, interleaved as the script
    /// reads them.
    fn guess_args(invocation: &mut redis::ScriptInvocation<'_>, args: &[String], tags: &[Vec<u8>]) {
        let keys = tags.len() / 2;
        let (head, ids) = args.split_at(args.len() - keys);
        for a in head {
            invocation.arg(a);
        }
        for (id, pair) in ids.iter().zip(tags.chunks(2)) {
            invocation.arg(id);
            for tag in pair {
                invocation.arg(tag.as_slice());
            }
        }
    }

    fn before(&self, (found, challenge, counter, settled): GuessAnswer) -> Result<Before, Error> {
        match (found, challenge) {
            (0, _) => Ok(None),
            (2, Some(data)) => {
                let counter = counter
                    .map(|c| decode_counter(&c))
                    .transpose()?
                    .unwrap_or_default();
                let challenge = decode_challenge(&data, &self.codec)?;
                Ok(Some(Some((challenge, counter, settled))))
            }
            _ => Ok(Some(None)),
        }
    }
}

impl RedisStore {
    /// One script on one budget's counter: counts the message by
    /// [`SendBudget::apply`], or — `refund` — gives it back
    /// ([`Counter::refund`]). `Err` with the wait when the cap is used up.
    async fn count_in_window(
        &self,
        budget: SendBudget,
        now: Timestamp,
        refund: bool,
    ) -> Result<Result<(), std::time::Duration>, Error> {
        let (cap, weight) = if refund {
            (u32::MAX, -1)
        } else {
            (budget.cap, i8::from(budget.counted))
        };
        let mut conn = self.conn.clone();
        let answer: i64 = self
            .count_in_window
            .key(self.counter_key(&budget.key))
            .arg(now.as_unix_millis())
            .arg(cap)
            .arg(millis(budget.window))
            .arg(fresh_version())
            .arg(weight)
            .invoke_async(&mut conn)
            .await
            .map_err(db)?;
        if answer >= 0 {
            Ok(Err(std::time::Duration::from_millis(answer.unsigned_abs())))
        } else {
            Ok(Ok(()))
        }
    }

    /// The first half of [`ChallengeStore::guess`], one script: the attempt
    /// counted on the challenge and on its failure counter by `rule`
    /// ([`GuessRule::count`]), with the attempt to compare or the outcome to
    /// answer without comparing. `None` without a challenge. Public so that
    /// a differential test can hold the script to the pure rule.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn count_guess(
        &self,
        id: &ChallengeId,
        rule: &GuessRule,
        now: Timestamp,
    ) -> Result<Option<Result<Attempt, Verification>>, Error> {
        let counted = self.count_and_check(id, rule, &[], now).await?;
        Ok(counted.map(|(outcome, _, _)| outcome))
    }

    /// [`RedisStore::count_guess`] that also settles the guess by the
    /// record's code check when `tags` ([`Guess::check_tags`]) hold the typed
    /// code's tag under the record's key: a right code is then approved in
    /// the same script.
    async fn count_and_check(
        &self,
        id: &ChallengeId,
        rule: &GuessRule,
        tags: &[CheckTags],
        now: Timestamp,
    ) -> Result<Option<Counted>, Error> {
        let limits = rule.limits;
        let mut args = vec![
            fresh_version(),
            fresh_version(),
            now.as_unix_millis().to_string(),
            rule.purpose.as_str().to_owned(),
            if rule.account.is_some() { "1" } else { "0" }.to_owned(),
            rule.account.as_ref().map_or("", |a| a.as_str()).to_owned(),
            limits.account_failure_cap().to_string(),
            millis(limits.account_lockout()).to_string(),
            limits.free_failures().to_string(),
            millis(limits.max_failure_delay()).to_string(),
            symbols(rule.input, Alphabet::Decimal),
            symbols(rule.input, Alphabet::Crockford),
            tags.len().to_string(),
        ];
        let mut binary: Vec<Vec<u8>> = Vec::with_capacity(tags.len() * 2);
        for (key, [decimal, crockford]) in tags {
            args.push(key.to_string());
            binary.push(decimal.map_or_else(Vec::new, |t| t.to_vec()));
            binary.push(crockford.map_or_else(Vec::new, |t| t.to_vec()));
        }
        let answer = self
            .run_guess(&self.count_guess, &self.challenge_key(id), &args, &binary)
            .await?;
        match self.before(answer)? {
            None => Ok(None),
            Some(None) => {
                // A record written before failure-counter keys were kept.
                let rule = rule.clone();
                let outcome = self
                    .update_with_counter(id, now, move |c, counter| rule.count(c, counter, now))
                    .await?;
                Ok(outcome.map(|outcome| (outcome, None, 0)))
            }
            // The script applied the rule; the same pure rule on the records as
            // they were gives its outcome.
            Some(Some((mut challenge, mut counter, settled))) => {
                let outcome = rule.count(&mut challenge, &mut counter, now);
                Ok(Some((outcome, Some(challenge), settled)))
            }
        }
    }

    /// The second half of [`ChallengeStore::guess`], one script: approves
    /// the challenge for `attempt`, whose code was right, and clears its
    /// failure counter with it ([`Guess::approve`]). `None` without a
    /// challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn approve_guess(
        &self,
        id: &ChallengeId,
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<Option<Verification>, Error> {
        let args = [
            fresh_version(),
            attempt.number().to_string(),
            attempt.generation().to_string(),
        ];
        let answer = self
            .run_guess(&self.approve_guess, &self.challenge_key(id), &args, &[])
            .await?;
        match self.before(answer)? {
            None => Ok(None),
            Some(None) => {
                self.update_with_counter(id, now, move |c, counter| {
                    Guess::approve(c, counter, &attempt)
                })
                .await
            }
            Some(Some((mut challenge, _, _))) => Ok(Some(challenge.approve(&attempt))),
        }
    }
}

/// The typed input's symbols under `alphabet` for the guess script; -1 when
/// malformed (no code's length).
fn symbols(shape: InputShape, alphabet: Alphabet) -> String {
    shape
        .symbols(alphabet)
        .map_or_else(|_| "-1".to_owned(), |n| n.to_string())
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn ttl_ms(until: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(until.saturating_since(now).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ChallengeStore for RedisStore {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        if self
            .tag(&challenge.failure_key())
            .is_some_and(|tag| tag != challenge.id().placement())
        {
            // Its counter would live in another slot: no script could reach both.
            return Err(Error::store(
                "challenge id is not placed for this cluster (issue challenges through SecurityCodes, or use Challenge::placed)",
            ));
        }
        let key = self.challenge_key(challenge.id());
        let mut conn = self.conn.clone();
        let stored: i32 = self
            .insert
            .key(&key)
            .arg(encode_challenge(&challenge, &self.codec))
            .arg(ttl_ms(challenge.retain_until(), now))
            .arg(self.counter_key(&challenge.failure_key()))
            .arg(fresh_version())
            .invoke_async(&mut conn)
            .await
            .map_err(db)?;
        if stored == 1 {
            Ok(())
        } else {
            Err(Error::store("challenge id already stored"))
        }
    }

    async fn get(&self, id: &ChallengeId) -> Result<Option<Challenge>, Error> {
        let record = self.read_challenge(&self.challenge_key(id)).await?;
        Ok(record.map(|(_, challenge)| challenge))
    }

    async fn update<R, F>(&self, id: &ChallengeId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        let key = self.challenge_key(id);
        for _ in 0..MAX_RETRIES {
            let Some((version, mut challenge)) = self.read_challenge(&key).await? else {
                return Ok(None);
            };
            let before = challenge.clone();
            let out = f(&mut challenge);
            if challenge == before {
                return Ok(Some(out));
            }
            // The retention never changes after insert: keep the key's TTL.
            if self
                .compare_and_set(
                    &key,
                    &version,
                    &encode_challenge(&challenge, &self.codec),
                    0,
                )
                .await?
            {
                return Ok(Some(out));
            }
        }
        Err(Error::store("too many concurrent updates of one challenge"))
    }

    async fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        now: Timestamp,
        mut f: F,
    ) -> Result<R, Error>
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        let key = self.counter_key(key);
        for _ in 0..MAX_RETRIES {
            let (version, before) = self.read_counter(&key).await?;
            let mut counter = before;
            let out = f(&mut counter);
            if counter == before {
                return Ok(out);
            }
            let data = if counter.is_empty() {
                Vec::new()
            } else {
                encode_counter(&counter)
            };
            let ttl = ttl_ms(counter.expires_at, now);
            if self.compare_and_set(&key, &version, &data, ttl).await? {
                return Ok(out);
            }
        }
        Err(Error::store("too many concurrent updates of one counter"))
    }

    /// Read together, written by one compare-and-set script on both keys
    /// (one hash slot on a cluster: the challenge is placed with its counter).
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
        let key = self.challenge_key(id);
        for _ in 0..MAX_RETRIES {
            let Some((version, mut challenge)) = self.read_challenge(&key).await? else {
                return Ok(None);
            };
            let counter_key = self.counter_key(&challenge.failure_key());
            let (counter_version, before) = self.read_counter(&counter_key).await?;
            let challenge_before = challenge.clone();
            let mut counter = before;
            let out = f(&mut challenge, &mut counter);
            let (write_challenge, write_counter) =
                (challenge != challenge_before, counter != before);
            if !write_challenge && !write_counter {
                return Ok(Some(out));
            }
            let counter_data = if counter.is_empty() {
                Vec::new()
            } else {
                encode_counter(&counter)
            };
            let mut conn = self.conn.clone();
            let written: i32 = self
                .cas_pair
                .key(&key)
                .key(&counter_key)
                .arg(&version)
                .arg(&counter_version)
                .arg(encode_challenge(&challenge, &self.codec))
                .arg(u8::from(write_challenge))
                .arg(counter_data)
                .arg(u8::from(write_counter))
                .arg(ttl_ms(counter.expires_at, now))
                .arg(fresh_version())
                .invoke_async(&mut conn)
                .await
                .map_err(db)?;
            if written == 1 {
                return Ok(Some(out));
            }
        }
        Err(Error::store("too many concurrent updates of one challenge"))
    }

    /// One script: the guess counted on the challenge and on its failure
    /// counter and — when the record holds its code's check ([`CodeCheck`](crate::store::CodeCheck))
    /// — compared by check and, when right, approved with the counter
    /// cleared. HMAC-SHA256 is not available to a script, so the typed code's
    /// tags are computed here ([`Guess::check_tags`]) and the keyring's own
    /// comparison is the authority: a record without a check takes a second
    /// script to approve, as a guess always did.
    async fn guess(
        &self,
        id: &ChallengeId,
        guess: Guess,
        now: Timestamp,
    ) -> Result<Verification, Error> {
        let tags = guess.check_tags(id);
        let Some((counted, challenge, settled)) =
            self.count_and_check(id, guess.rule(), &tags, now).await?
        else {
            return Ok(Verification::NotFound);
        };
        let attempt = match counted {
            Err(outcome) => return Ok(outcome),
            Ok(attempt) => attempt,
        };
        match (guess.compare(&attempt)?, challenge, settled) {
            (Err(_), _, SETTLED_APPROVED) => Err(Error::store(
                "the guess script approved a code the keyring rejects",
            )),
            (Err(reason), _, _) => Ok(Guess::rejected(&attempt, reason)),
            // Approved by the script: the pure rule on the record as the
            // count left it gives the same answer (and the proof).
            (Ok(()), Some(mut challenge), SETTLED_APPROVED) => Ok(challenge.approve(&attempt)),
            // A decoy never approves; its answer needs no second script.
            (Ok(()), Some(mut challenge), SETTLED_NO_MATCH) if challenge.is_decoy() => {
                Ok(challenge.approve(&attempt))
            }
            (Ok(()), _, _) => Ok(self
                .approve_guess(id, attempt, now)
                .await?
                .unwrap_or(Verification::NotFound)),
        }
    }

    /// One script on one server (the failure counter, the budgets and the
    /// challenge in one round trip); on a cluster, whose keys are in many
    /// slots, [`open_in_steps`].
    async fn open(
        &self,
        challenge: Challenge,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> Result<Opened, Error> {
        if self.slots.is_some() {
            return open_in_steps(self, challenge, budgets, now).await;
        }
        let failure_key = self.counter_key(&challenge.failure_key());
        let mut invocation = self.open.key(self.challenge_key(challenge.id()));
        invocation.key(&failure_key);
        for b in &budgets {
            invocation.key(self.counter_key(&b.key));
        }
        invocation
            .arg(encode_challenge(&challenge, &self.codec))
            .arg(ttl_ms(challenge.retain_until(), now))
            .arg(&failure_key)
            .arg(fresh_version())
            .arg(now.as_unix_millis());
        for b in &budgets {
            invocation
                .arg(b.cap)
                .arg(millis(b.window))
                .arg(u8::from(b.counted));
        }
        let mut conn = self.conn.clone();
        let answer: Vec<u64> = invocation.invoke_async(&mut conn).await.map_err(db)?;
        let wait = |ms: Option<&u64>| std::time::Duration::from_millis(ms.copied().unwrap_or(0));
        match answer.as_slice() {
            [0] => Ok(Ok(())),
            [1, index, ms] => Ok(Err(Refusal::Budget {
                index: usize::try_from(*index).unwrap_or(usize::MAX),
                retry_after: wait(Some(ms)),
            })),
            [2, rest @ ..] => Ok(Err(Refusal::Locked(wait(rest.first())))),
            [3] => Err(Error::store("challenge id already stored")),
            _ => Err(Error::store("unexpected answer from the start script")),
        }
    }

    /// One script per budget, in order: a round trip each and never a retry.
    async fn count_sends(&self, budgets: Vec<SendBudget>, now: Timestamp) -> Result<Sends, Error> {
        let counted = count_in_order(&budgets, |b| self.count_in_window(b, now, false)).await?;
        if let Err((index, _)) = counted {
            // A refused message spends nothing: refund the earlier budgets.
            for earlier in budgets.iter().take(index).filter(|e| e.counted) {
                // A refund has no cap: it is never refused.
                let _never_refused = self.count_in_window(*earlier, now, true).await?;
            }
        }
        Ok(counted)
    }

    fn placement(&self, key: &CounterKey) -> Option<u16> {
        self.tag(key)
    }

    /// The guess script settles a guess by the record's code check.
    fn keeps_code_checks(&self) -> bool {
        true
    }

    async fn get_counter(&self, key: &CounterKey) -> Result<Option<Counter>, Error> {
        match self.read(&self.counter_key(key)).await? {
            Some((_, data)) => decode_counter(&data).map(Some),
            None => Ok(None),
        }
    }

    async fn sweep(&self, _now: Timestamp) -> Result<usize, Error> {
        // Every key carries a time to live: Redis forgets records by itself.
        Ok(0)
    }
}
