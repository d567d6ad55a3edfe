//! Made-up recovery answers for identifiers no account has.

use crate::challenge::AccountId;
use crate::contact::Contact;

pub(crate) const DECOY_DOMAIN: &str = "recovery-decoy";

/// Who answers a recovery: a real account or a decoy.
pub(crate) struct RecoveryParty {
    pub(crate) account: AccountId,
    pub(crate) choices: Vec<Contact>,
    pub(crate) decoy: bool,
}

/// One or two made-up contacts, the identifier among them, chosen by the bits of
/// a keyed HMAC of the identifier, so that asking again gives the same answer.
pub(crate) fn decoy_choices(identifier: &Contact, tag: &[u8; 32]) -> Vec<Contact> {
    let mut choices = vec![identifier.clone()];
    if tag[0] & 1 == 1 {
        // A made-up phone number ending in two HMAC-chosen digits.
        let number = format!("+1425555{:02}{:02}", tag[1] % 100, tag[2] % 100);
        if let Ok(phone) = Contact::phone(&number) {
            if tag[3] & 1 == 1 {
                choices.insert(0, phone);
            } else {
                choices.push(phone);
            }
        }
    }
    choices
}
