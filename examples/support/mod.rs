//! Set-up shared by the examples: the in-memory defaults and one account.
#![allow(dead_code)]

use std::sync::Arc;

use seccode::channel::MessageKind;
use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, Contact, Keyring, MemoryAccountStore,
    MemoryChallengeStore, Outbox, SecurityCodes,
};

pub type Flows = AccountSecurity<MemoryAccountStore, MemoryChallengeStore, Arc<Outbox>>;

/// The flows on memory stores and an outbox, with account `user-42` holding a
/// verified email address and phone number.
pub async fn demo() -> Result<(Flows, Arc<Outbox>, AccountId), seccode::Error> {
    let outbox = Arc::new(Outbox::new());
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::generate(),
    );
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let id = AccountId::new("user-42")?;
    let now = flows.codes().now();
    let account = Account::new(id.clone())
        .with_verified_contact(Contact::email("john.doe@example.com")?, now)?
        .with_verified_contact(Contact::phone("+1 425 555 0123")?, now)?;
    flows.accounts().create(account).await?;
    Ok((flows, outbox, id))
}

/// Prints the newest message the outbox got, as the person would see it.
pub fn show_last_message(outbox: &Outbox) {
    if let Some(m) = outbox.last() {
        let kind = if m.kind() == MessageKind::Code {
            "code"
        } else {
            "notice"
        };
        println!("   [{kind} message to {}] {}", m.to().masked(), m.body());
    }
}

/// Prints the notices (messages without a code) the outbox holds.
pub fn show_notices(outbox: &Outbox) {
    for m in outbox
        .messages()
        .iter()
        .filter(|m| m.kind() == MessageKind::Notice)
    {
        println!("   [notice to {}] {}", m.to().masked(), m.body());
    }
}

/// Prints the account's security info as a settings page would.
pub async fn show_security_info(flows: &Flows, id: &AccountId) -> Result<(), seccode::Error> {
    for info in flows.security_info(id).await? {
        let state = if info.verified { "verified" } else { "pending" };
        println!("   #{} {:?} {} ({state})", info.id, info.kind, info.contact);
    }
    Ok(())
}
