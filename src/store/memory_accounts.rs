//! [`MemoryAccountStore`]: accounts in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};

use crate::account::Account;
use crate::challenge::AccountId;
use crate::contact::Contact;
use crate::error::Error;
use crate::store::AccountStore;

/// Accounts and an index of verified contacts, under one mutex.
///
/// One lock makes the uniqueness of verified contacts across accounts trivially
/// atomic. Account updates are rare next to code verifications (which never
/// touch this store), so the lock is not on the hot path.
///
/// **A miss costs what a hit costs.** Account recovery looks up identifiers that
/// no account has and reads a made-up account id (see [`AccountSecurity`](crate::AccountSecurity)); a hash
/// map answers a miss without touching any record, which made those answers
/// measurably faster than real ones. So a miss of [`AccountStore::get`] or
/// [`AccountStore::find_verified`] reads and copies a stand-in record — an
/// account chosen by the hash of what was asked for — and throws it away; a read
/// after a missed lookup stands in with the same account, as a read after a hit
/// reads the account just found (`cargo bench --bench recovery`).
///
/// # Examples
///
/// ```
/// use seccode::{Account, AccountId, Contact, MemoryAccountStore, Timestamp};
/// use seccode::store::AccountStore;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let store = MemoryAccountStore::new();
/// let ann = Contact::email("ann@example.org")?;
/// let account = Account::new(AccountId::new("1")?).with_verified_contact(ann.clone(), Timestamp::UNIX_EPOCH)?;
/// store.create(account).await?;
/// assert_eq!(store.find_verified(&Contact::email("ANN@example.org")?).await?, Some(AccountId::new("1")?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct MemoryAccountStore {
    inner: Mutex<Inner>,
}

/// Accounts are never deleted, so they live in a slab and the maps hold indexes.
#[derive(Default)]
struct Inner {
    accounts: Vec<Account>,
    by_id: HashMap<AccountId, usize>,
    /// The identity of each verified contact → its account's slot.
    verified: HashMap<String, usize>,
    /// The stand-in of the last missed contact lookup: a read that follows it
    /// (recovery reads the account it found) stands in with the same account,
    /// as a read after a hit reads the account just found.
    last_stand_in: Option<usize>,
}

impl Inner {
    /// Fails if `account` verifies a contact another account has verified.
    fn check_unique(&self, account: &Account) -> Result<(), Error> {
        for info in account.verified() {
            if let Some(&owner) = self.verified.get(info.contact.identity())
                && self.accounts[owner].id() != account.id()
            {
                return Err(Error::ContactInUse);
            }
        }
        Ok(())
    }

    fn index(&mut self, slot: usize) {
        for info in self.accounts[slot].verified() {
            self.verified
                .insert(info.contact.identity().to_owned(), slot);
        }
    }

    fn unindex(&mut self, slot: usize) {
        for info in self.accounts[slot].verified() {
            self.verified.remove(info.contact.identity());
        }
    }

    /// The slot that stands in for a miss on `asked`: one chosen by its hash.
    /// Chosen on hits too, so that both cost the same.
    fn stand_in(&self, asked: &str) -> Option<usize> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        asked.hash(&mut h);
        let n = u64::try_from(self.accounts.len()).ok().filter(|&n| n > 0)?;
        usize::try_from(h.finish() % n).ok()
    }
}

impl MemoryAccountStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.lock().accounts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryAccountStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAccountStore")
            .field("accounts", &self.len())
            .finish_non_exhaustive()
    }
}

impl AccountStore for MemoryAccountStore {
    async fn create(&self, account: Account) -> Result<(), Error> {
        let mut inner = self.lock();
        if inner.by_id.contains_key(account.id()) {
            return Err(Error::AccountExists);
        }
        inner.check_unique(&account)?;
        let slot = inner.accounts.len();
        inner.by_id.insert(account.id().clone(), slot);
        inner.accounts.push(account);
        inner.index(slot);
        Ok(())
    }

    async fn get(&self, id: &AccountId) -> Result<Option<Account>, Error> {
        let mut inner = self.lock();
        let found = inner.by_id.get(id).copied();
        // Hit or miss, choose a stand-in and copy one record: the found one or
        // the stand-in.
        let stand_in = inner.stand_in(id.as_str());
        let stand_in = inner.last_stand_in.take().or(stand_in);
        let copy = found.or(stand_in).map(|slot| inner.accounts[slot].clone());
        Ok(if found.is_some() {
            copy
        } else {
            black_box(copy);
            None
        })
    }

    async fn find_verified(&self, contact: &Contact) -> Result<Option<AccountId>, Error> {
        let mut inner = self.lock();
        let found = inner.verified.get(contact.identity()).copied();
        let stand_in = inner.stand_in(contact.identity());
        inner.last_stand_in = if found.is_some() { None } else { stand_in };
        let copy = found
            .or(stand_in)
            .map(|slot| inner.accounts[slot].id().clone());
        Ok(if found.is_some() {
            copy
        } else {
            black_box(copy);
            None
        })
    }

    async fn update<R, F>(&self, id: &AccountId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Account) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let mut inner = self.lock();
        let Some(&slot) = inner.by_id.get(id) else {
            return Ok(None);
        };
        let mut next = inner.accounts[slot].clone();
        let out = f(&mut next)?;
        inner.check_unique(&next)?;
        inner.unindex(slot);
        inner.accounts[slot] = next;
        inner.index(slot);
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use std::time::Duration;

    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("not ready"),
        }
    }

    const T0: Timestamp = Timestamp::from_unix_millis(0);

    #[test]
    fn a_verified_contact_belongs_to_one_account() {
        let store = MemoryAccountStore::new();
        let ann = Contact::email("ann@example.org").unwrap();
        let a = AccountId::new("a").unwrap();
        let b = AccountId::new("b").unwrap();
        ready(
            store.create(
                Account::new(a.clone())
                    .with_verified_contact(ann.clone(), T0)
                    .unwrap(),
            ),
        )
        .unwrap();
        let dup = Account::new(b.clone())
            .with_verified_contact(Contact::email("ANN@example.org").unwrap(), T0)
            .unwrap();
        assert!(matches!(ready(store.create(dup)), Err(Error::ContactInUse)));
        ready(store.create(Account::new(b.clone()))).unwrap();
        // b may hold it pending, but not verify it.
        let ttl = Duration::from_secs(600);
        let a2 = ann.clone();
        ready(store.update(&b, move |acct| acct.add_pending(&a2, None, 10, ttl, T0))).unwrap();
        assert_eq!(ready(store.find_verified(&ann)).unwrap(), Some(a.clone()));
        let a3 = ann.clone();
        let verify = ready(store.update(&b, move |acct| {
            acct.verify_pending(&a3, T0)?;
            Ok(())
        }));
        assert!(matches!(verify, Err(Error::ContactInUse)));
        let b_now = ready(store.get(&b)).unwrap().unwrap();
        assert_eq!(
            b_now.verified().count(),
            0,
            "a refused update changes nothing"
        );
        assert!(matches!(
            ready(store.create(Account::new(a))),
            Err(Error::AccountExists)
        ));
    }

    #[test]
    fn the_index_follows_removals() {
        let store = MemoryAccountStore::new();
        let a = AccountId::new("a").unwrap();
        let ann = Contact::email("ann@example.org").unwrap();
        let bob = Contact::email("bob@example.org").unwrap();
        let acct = Account::new(a.clone())
            .with_verified_contact(ann.clone(), T0)
            .unwrap()
            .with_verified_contact(bob.clone(), T0)
            .unwrap();
        ready(store.create(acct)).unwrap();
        let id = ready(store.get(&a))
            .unwrap()
            .unwrap()
            .verified_entry(&ann)
            .unwrap()
            .id;
        ready(store.update(&a, move |acct| acct.remove(id).map(|_| ()))).unwrap();
        assert_eq!(ready(store.find_verified(&ann)).unwrap(), None);
        assert_eq!(ready(store.find_verified(&bob)).unwrap(), Some(a));
    }
}
