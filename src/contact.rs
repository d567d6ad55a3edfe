//! Contacts — an account's *security info* — their parsing, masking and the
//! constant-time proofs a person gives that they know one.

use std::fmt;

use email_address::{EmailAddress, Options};
use sha2::{Digest, Sha256};

use crate::error::ContactError;
use crate::keys::ct_eq;

/// The longest email address that can be delivered (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;
/// Typed phone numbers longer than this are refused before parsing.
const MAX_PHONE_INPUT: usize = 40;
/// The mask shown in place of hidden characters. A fixed count, so the mask never
/// tells how long the hidden part is.
const BULLETS: &str = "•••";
const PHONE_BULLETS: &str = "•••••••";

/// What kind of address a [`Contact`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContactKind {
    /// An email address.
    Email,
    /// A phone number (SMS or voice).
    Phone,
}

/// An email address or an E.164 phone number, in canonical form.
///
/// * **Email** is validated with the `email_address` crate in strict mode (no
///   display name, no IP-literal domain, a dot in the domain). The domain is
///   lower-cased; the local part is kept as typed, because RFC 5321 leaves its case
///   to the receiving server.
/// * **Phone** is `+`, a country code and 8 to 15 digits in all (E.164). Spaces,
///   dashes, dots and parentheses are accepted and stripped, so
///   `+1 (425) 555-0100` and `+14255550100` are the same contact.
///
/// `Debug` shows only the [masked](Contact::masked) form. [`Contact::expose`] returns
/// the address itself, for the channel that delivers to it.
///
/// # Examples
///
/// ```
/// use seccode::Contact;
///
/// let phone = Contact::phone("+1 (425) 555-0123")?;
/// assert_eq!(phone, Contact::parse("+14255550123")?);
/// assert_eq!(phone.masked().as_str(), "•••••••23");
/// assert!(phone.confirm_last_four("0123"));
///
/// let email = Contact::email("John.Doe@Example.COM")?;
/// assert_eq!(email.expose(), "John.Doe@example.com");
/// assert_eq!(email.masked().as_str(), "Jo•••@example.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Contact(Box<str>);

impl Contact {
    /// Parses an email address.
    ///
    /// # Errors
    ///
    /// [`ContactError`] if `input` is empty, too long or not a deliverable address.
    pub fn email(input: &str) -> Result<Self, ContactError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ContactError::Empty);
        }
        if input.len() > MAX_EMAIL {
            return Err(ContactError::TooLong);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = EmailAddress::parse_with_options(input, options)
            .map_err(|_| ContactError::InvalidEmail)?;
        let canonical = format!(
            "{}@{}",
            parsed.local_part(),
            parsed.domain().to_ascii_lowercase()
        );
        Ok(Self(canonical.into_boxed_str()))
    }

    /// Parses an international phone number (E.164, with separators allowed).
    ///
    /// # Errors
    ///
    /// [`ContactError`] if `input` does not start with `+`, has a character other
    /// than digits and separators, or does not have 8 to 15 digits.
    pub fn phone(input: &str) -> Result<Self, ContactError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ContactError::Empty);
        }
        if input.len() > MAX_PHONE_INPUT {
            return Err(ContactError::TooLong);
        }
        let rest = input
            .strip_prefix('+')
            .ok_or(ContactError::MissingCountryCode)?;
        let mut canonical = String::with_capacity(16);
        canonical.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => canonical.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ContactError::PhoneCharacter),
            }
        }
        let digits = canonical.len() - 1;
        if !(8..=15).contains(&digits) {
            return Err(ContactError::PhoneLength);
        }
        if canonical.as_bytes()[1] == b'0' {
            return Err(ContactError::MissingCountryCode);
        }
        Ok(Self(canonical.into_boxed_str()))
    }

    /// Parses either kind: input with an `@` is an email address, anything else a
    /// phone number.
    ///
    /// # Errors
    ///
    /// As [`Contact::email`] or [`Contact::phone`].
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        if input.contains('@') {
            Self::email(input)
        } else {
            Self::phone(input)
        }
    }

    /// Email or phone.
    pub fn kind(&self) -> ContactKind {
        // A canonical phone number never contains '@'.
        if self.0.contains('@') {
            ContactKind::Email
        } else {
            ContactKind::Phone
        }
    }

    /// The form accounts are looked up by: the canonical form, with an email
    /// address's local part lower-cased too. RFC 5321 lets a server treat `John@`
    /// and `john@` as two mailboxes, but practically none do, and a lookup that
    /// kept the case would let the two be security info of two accounts.
    pub fn lookup_key(&self) -> String {
        match self.kind() {
            ContactKind::Email => self.0.to_lowercase(),
            ContactKind::Phone => self.0.to_string(),
        }
    }

    /// Whether two contacts name the same mailbox or number (equal
    /// [lookup keys](Contact::lookup_key)).
    pub fn same_as(&self, other: &Contact) -> bool {
        self.lookup_key() == other.lookup_key()
    }

    /// The address itself, for the channel that delivers to it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form shown to people and logs.
    ///
    /// * Email: the first two characters of the local part (one if it has two or
    ///   three, none if it has one), then `•••`, then `@` and the domain, e.g.
    ///   `jo•••@example.com`.
    /// * Phone: `•••••••` and the last **two** digits, e.g. `•••••••23`. Two, not
    ///   four, because the last four digits are what a person types to prove they
    ///   know the number ([`Contact::confirm_last_four`]), as on Microsoft accounts.
    ///
    /// The bullet counts are fixed, so a mask never reveals the address's length.
    pub fn masked(&self) -> MaskedContact {
        match self.kind() {
            ContactKind::Email => {
                let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
                let shown = match local.chars().count() {
                    0 | 1 => 0,
                    2 | 3 => 1,
                    _ => 2,
                };
                let prefix: String = local.chars().take(shown).collect();
                MaskedContact(format!("{prefix}{BULLETS}@{domain}"))
            }
            ContactKind::Phone => {
                let last_two = &self.0[self.0.len() - 2..];
                MaskedContact(format!("{PHONE_BULLETS}{last_two}"))
            }
        }
    }

    /// Whether `typed` is this phone number's last four digits, compared in constant
    /// time. Separators and surrounding spaces in `typed` are ignored. Always false
    /// for an email address.
    pub fn confirm_last_four(&self, typed: &str) -> bool {
        if self.kind() != ContactKind::Phone || typed.len() > MAX_PHONE_INPUT {
            return false;
        }
        let mut digits = [0u8; 4];
        let mut n = 0usize;
        for c in typed.chars() {
            match c {
                '0'..='9' if n < 4 => {
                    digits[n] = c as u8;
                    n += 1;
                }
                '0'..='9' => return false,
                ' ' | '-' => {}
                _ => return false,
            }
        }
        let last_four = &self.0.as_bytes()[self.0.len() - 4..];
        // Compare even when too few digits were typed, so timing does not say which.
        ct_eq(&digits, last_four) && n == 4
    }

    /// Whether `typed` is this whole contact (an email address, or a phone number),
    /// compared in constant time. `typed` is parsed the same way first, so case in
    /// the domain and separators in numbers do not matter.
    pub fn confirm_address(&self, typed: &str) -> bool {
        let Ok(typed) = Contact::parse(typed) else {
            return false;
        };
        // Equal-length digests: the comparison does not leak the address length.
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(typed.0.as_bytes());
        ct_eq(&a, &b)
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Contact({:?}, {})", self.kind(), self.masked())
    }
}

/// A contact with most of it hidden; safe to show and to log. See
/// [`Contact::masked`] for the rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MaskedContact(String);

impl MaskedContact {
    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaskedContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_e164() {
        let want = Contact::phone("+14255550100").unwrap();
        for typed in ["+1 (425) 555-0100", " +1.425.555.0100 ", "+1-425-555-0100"] {
            assert_eq!(Contact::phone(typed).unwrap(), want, "{typed}");
        }
        assert_eq!(
            Contact::phone("4255550100"),
            Err(ContactError::MissingCountryCode)
        );
        assert_eq!(
            Contact::phone("+0255550100"),
            Err(ContactError::MissingCountryCode)
        );
        assert_eq!(Contact::phone("+1234567"), Err(ContactError::PhoneLength));
        assert_eq!(
            Contact::phone("+1234567890123456"),
            Err(ContactError::PhoneLength)
        );
        assert_eq!(
            Contact::phone("+1425555010a"),
            Err(ContactError::PhoneCharacter)
        );
        assert_eq!(Contact::phone("  "), Err(ContactError::Empty));
        assert_eq!(Contact::phone(&"+1".repeat(30)), Err(ContactError::TooLong));
    }

    #[test]
    fn emails_are_strict_and_domain_lowercased() {
        let c = Contact::email(" Ann@Example.ORG ").unwrap();
        assert_eq!(c.expose(), "Ann@example.org");
        assert_eq!(c.kind(), ContactKind::Email);
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "Ann <ann@example.org>",
            "ann@[127.0.0.1]",
            "ann@localhost",
        ] {
            assert_eq!(
                Contact::email(bad),
                Err(ContactError::InvalidEmail),
                "{bad}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Contact::email(&long), Err(ContactError::TooLong));
    }

    #[test]
    fn masks_have_fixed_shape() {
        let m = |s: &str| Contact::parse(s).unwrap().masked().to_string();
        assert_eq!(m("a@example.org"), "•••@example.org");
        assert_eq!(m("ab@example.org"), "a•••@example.org");
        assert_eq!(m("abcdefghij@example.org"), "ab•••@example.org");
        assert_eq!(m("+14255550123"), "•••••••23");
        assert_eq!(m("+442071838750123"), "•••••••23");
    }

    #[test]
    fn last_four_proof() {
        let c = Contact::phone("+14255550123").unwrap();
        assert!(c.confirm_last_four("0123"));
        assert!(c.confirm_last_four(" 01-23 "));
        assert!(!c.confirm_last_four("123"));
        assert!(!c.confirm_last_four("50123"));
        assert!(!c.confirm_last_four("0124"));
        assert!(!c.confirm_last_four("01a3"));
        assert!(
            !Contact::email("a@example.org")
                .unwrap()
                .confirm_last_four("0123")
        );
    }

    #[test]
    fn full_address_proof() {
        let c = Contact::email("Ann@example.org").unwrap();
        assert!(c.confirm_address("Ann@EXAMPLE.org"));
        assert!(!c.confirm_address("ann2@example.org"));
        assert!(!c.confirm_address("not an address"));
        let p = Contact::phone("+14255550123").unwrap();
        assert!(p.confirm_address("+1 425 555 0123"));
    }

    #[test]
    fn lookup_ignores_case_of_the_whole_address() {
        let a = Contact::email("John.Doe@Example.com").unwrap();
        let b = Contact::email("john.doe@example.COM").unwrap();
        assert_ne!(a, b, "delivery keeps the local part as typed");
        assert!(a.same_as(&b));
        assert_eq!(a.lookup_key(), "john.doe@example.com");
    }

    #[test]
    fn debug_is_masked() {
        let c = Contact::email("secret.person@example.org").unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("secret.person"), "{text}");
        assert!(text.contains("se•••@example.org"));
    }
}
