use std::fmt;
use std::str::FromStr;

use email_address::{EmailAddress, Options};
use phonenumber::{Mode, country};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::ContactError;
use crate::keys::ct_eq;
use crate::typed;

/// The longest email address that can be delivered (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;
/// Typed input longer than this is refused before any other work.
const MAX_INPUT: usize = 1024;
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
    /// An authenticator app: a way to prove who you are that nothing is sent
    /// to. Its entry's contact is an id the crate makes when the app is
    /// added ([`AccountSecurity::start_add_authenticator`](crate::AccountSecurity::start_add_authenticator));
    /// typed input never parses as one.
    App,
}

impl ContactKind {
    /// A stable name: `email`, `phone` or `app`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::App => "app",
        }
    }

    /// Reads back [`ContactKind::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [ContactKind::Email, ContactKind::Phone, ContactKind::App]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// Whether messages can go to it (email and phone; not an app).
    pub const fn is_deliverable(self) -> bool {
        !matches!(self, ContactKind::App)
    }
}

/// The address prefix of an authenticator app's entry.
const APP_PREFIX: &str = "app:";

/// What kind of line a phone number is, from libphonenumber's metadata, so an
/// application can refuse SMS to landlines or premium-rate numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhoneType {
    /// A mobile number.
    Mobile,
    /// A fixed line.
    FixedLine,
    /// Either; some countries (e.g. the US) do not tell them apart by number.
    FixedLineOrMobile,
    /// Voice over IP.
    Voip,
    /// Freephone.
    TollFree,
    /// Premium rate: the sender pays extra (a favourite of SMS-pumping fraud).
    PremiumRate,
    /// Shared cost.
    SharedCost,
    /// A personal number routed to another line.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A company's universal access number.
    Uan,
    /// Voicemail access.
    Voicemail,
    /// Anything else, or not known.
    Other,
}

/// An email address or a phone number: the address to deliver to and the one
/// identity the crate compares (see the [module docs](crate::Contact) for the rules).
///
/// `PartialEq`, `Eq` and `Hash` compare identities: `John.Doe@Example.com` and
/// `john.doe@example.com` are equal contacts. `Debug` shows only the
/// [masked](Contact::masked) form; [`Contact::expose`] returns the address, for the
/// channel that delivers to it.
///
/// # Examples
///
/// ```
/// use seccode::{Contact, ContactKind};
///
/// let phone = Contact::phone("+44 (0)20 7946 0958")?;
/// assert_eq!(phone.identity(), "+442079460958");
/// assert_eq!(phone, Contact::phone_in("020 7946 0958", "GB")?);
/// assert_eq!(phone, Contact::parse("00 44 20 7946 0958")?);
/// assert_eq!(phone.masked().as_str(), "•••••••58");
/// assert!(phone.confirm_last_four("0958"));
///
/// let email = Contact::email("John.Doe@Exämple.com")?;
/// assert_eq!(email.expose(), "John.Doe@xn--exmple-cua.com");
/// assert_eq!(email.identity(), "john.doe@xn--exmple-cua.com");
/// assert_eq!(email, Contact::email("JOHN.DOE@xn--exmple-cua.com")?);
/// assert_eq!(email.masked().as_str(), "jo•••@xn--exmple-cua.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # One identity per contact
///
/// Contacts — an account's *security info* — their parsing into **one identity**,
/// their masking, and the constant-time proofs a person gives that they know one.
///
/// # One contact, one identity
///
/// A [`Contact`] keeps two forms:
///
/// * the **address** ([`Contact::expose`]): what a channel delivers to;
/// * the **identity** ([`Contact::identity`]): what the crate compares. Equality,
///   hashing, account lookup, ownership ("a verified contact belongs to one
///   account"), every counter key, recovery confirmations, decoys, masks and the
///   [`Outbox`](crate::Outbox) use the identity and nothing else, so two spellings
///   of one mailbox or number are one contact everywhere.
///
/// The rules:
///
/// * **Email.** Unicode NFKC first (full-width `ｊｏｈｎ＠…` is `john@…`; the
///   Kelvin sign `K` is `K`). Control, format (zero-width, bidi), private-use,
///   unassigned and other invisible characters are refused, so two addresses that
///   look alike are alike. The domain goes through IDNA (UTS 46, the `idna` crate,
///   STD3 rules and DNS lengths checked) to lower-case A-labels: `exämple.com` and
///   `xn--exmple-cua.com` are one domain. The **local part is compared
///   case-insensitively** (Unicode lower case): RFC 5321 lets a receiving server
///   treat `John@` and `john@` as two mailboxes, but Microsoft, Google and
///   practically every provider do not, and keeping the case would let one mailbox
///   be security info of two accounts or escape a send cap by changing case. The
///   address keeps the local part as typed (after NFKC) for delivery.
/// * **Phone.** Parsed, validated and formatted with the `phonenumber` crate
///   (libphonenumber's metadata): a national trunk prefix written after the country
///   code (`+44 (0) 20…`) is dropped, unknown country codes and numbers that cannot
///   exist in their country are refused, and national numbers or international
///   prefixes (`00 44…`, `011 44…`) are read when the caller gives a default region
///   ([`Contact::phone_in`]). Without a region, a leading `00` is read as `+` (no
///   country code starts with 0). The identity and the address are E.164
///   (`+442079460958`).
///
/// Typed input goes through the crate's one normaliser (NFKC, then spaces — also
/// no-break and ideographic ones —, tabs, newlines, dashes and dots are separators),
/// shared with codes and the last four digits.
#[derive(Clone)]
pub struct Contact {
    address: Box<str>,
    /// `None` when the identity is the address (phones, lower-case emails).
    identity: Option<Box<str>>,
}

impl Contact {
    /// Parses an email address.
    ///
    /// # Errors
    ///
    /// [`ContactError`]: empty, too long, a name with the address
    /// ([`ContactError::NameWithEmail`]), a space ([`ContactError::SpaceInEmail`]),
    /// an invisible or control character, a domain that fails IDNA, or not a
    /// deliverable address.
    pub fn email(input: &str) -> Result<Self, ContactError> {
        if input.len() > MAX_INPUT {
            return Err(ContactError::TooLong);
        }
        let input = typed::nfkc(input);
        if input.is_empty() {
            return Err(ContactError::Empty);
        }
        if input.ends_with('>') && input.contains('<') {
            return Err(ContactError::NameWithEmail);
        }
        if input
            .chars()
            .any(|c| c.general_category() == GeneralCategory::SpaceSeparator)
        {
            return Err(ContactError::SpaceInEmail);
        }
        if input.chars().any(is_invisible) {
            return Err(ContactError::InvisibleCharacter);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(ContactError::InvalidEmail)?;
        if local.is_empty() || domain.is_empty() {
            return Err(ContactError::InvalidEmail);
        }
        let domain =
            idna::domain_to_ascii_strict(domain).map_err(|_| ContactError::InvalidDomain)?;
        let address = format!("{local}@{domain}");
        if address.len() > MAX_EMAIL {
            return Err(ContactError::TooLong);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        EmailAddress::parse_with_options(&address, options)
            .map_err(|_| ContactError::InvalidEmail)?;
        Ok(Self::with_identity(address, email_identity(local, &domain)))
    }

    /// Parses an international phone number: `+` (or `00`) and the country code,
    /// with separators allowed. For numbers people type in their own country's
    /// format, see [`Contact::phone_in`].
    ///
    /// # Errors
    ///
    /// [`ContactError::MissingCountryCode`] without `+` or `00`;
    /// [`ContactError::UnknownCountryCode`]; [`ContactError::InvalidPhone`] for a
    /// number that cannot exist in its country; [`ContactError::PhoneCharacter`];
    /// [`ContactError::Empty`], [`ContactError::TooLong`].
    pub fn phone(input: &str) -> Result<Self, ContactError> {
        parse_phone(input, None)
    }

    /// Parses a phone number as a person in `region` would type it (an ISO 3166
    /// two-letter code such as `"GB"` or `"US"`): national numbers with their trunk
    /// prefix (`020 7946 0958`), the region's international prefix (`00 44 …`,
    /// `011 44 …`) and `+` numbers.
    ///
    /// # Errors
    ///
    /// [`ContactError::UnknownRegion`] for a region libphonenumber does not know;
    /// otherwise as [`Contact::phone`].
    pub fn phone_in(input: &str, region: &str) -> Result<Self, ContactError> {
        let region = country::Id::from_str(&region.trim().to_ascii_uppercase())
            .map_err(|_| ContactError::UnknownRegion)?;
        parse_phone(input, Some(region))
    }

    /// Parses either kind: input with an `@` (also a full-width `＠`) is an email
    /// address, input made only of digits, `+` and separators a phone number.
    ///
    /// # Errors
    ///
    /// [`ContactError::NotAContact`] for anything else; otherwise as
    /// [`Contact::email`] or [`Contact::phone`].
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        Self::parse_with(input, None)
    }

    /// As [`Contact::parse`], reading phone numbers as [`Contact::phone_in`] does.
    ///
    /// # Errors
    ///
    /// As [`Contact::parse`] and [`Contact::phone_in`].
    pub fn parse_in(input: &str, region: &str) -> Result<Self, ContactError> {
        Self::parse_with(input, Some(region))
    }

    fn parse_with(input: &str, region: Option<&str>) -> Result<Self, ContactError> {
        if input.len() > MAX_INPUT {
            return Err(ContactError::TooLong);
        }
        let normal = typed::nfkc(input);
        if normal.contains('@') {
            return Self::email(&normal);
        }
        if normal.is_empty() {
            return Err(ContactError::Empty);
        }
        if !typed::symbols(&normal)
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '(' | ')' | '/'))
        {
            return Err(ContactError::NotAContact);
        }
        match region {
            Some(region) => Self::phone_in(&normal, region),
            None => Self::phone(&normal),
        }
    }

    /// Reads back [`Contact::expose`] from a store. Stored forms were valid when
    /// they were written, so this trusts their shape (a phone is `+` and 7 to 15
    /// digits) rather than running libphonenumber again on every read: numbers a
    /// newer metadata release no longer knows keep working.
    pub(crate) fn from_stored(text: &str) -> Result<Self, ContactError> {
        if let Some(id) = text.strip_prefix(APP_PREFIX) {
            return if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(Self::with_identity(text.to_owned(), text.to_owned()))
            } else {
                Err(ContactError::InvalidEmail)
            };
        }
        if let Some(digits) = text.strip_prefix('+') {
            let shaped = (7..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            return if shaped {
                Ok(Self::with_identity(text.to_owned(), text.to_owned()))
            } else {
                Err(ContactError::InvalidPhone)
            };
        }
        match text.rsplit_once('@') {
            // What this version writes: ASCII domain, local part after NFKC.
            Some((local, domain))
                if !local.is_empty()
                    && domain
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && !domain.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                Ok(Self::with_identity(
                    text.to_owned(),
                    email_identity(local, domain),
                ))
            }
            // Written by an earlier version (a Unicode domain): parse it in full.
            _ => Self::email(text),
        }
    }

    fn with_identity(address: String, identity: String) -> Self {
        let identity = (identity != address).then(|| identity.into_boxed_str());
        Self {
            address: address.into_boxed_str(),
            identity,
        }
    }

    /// An authenticator app's entry: a random id (`app:` and 32 hex digits)
    /// that stands where an address would, so that an app is security info
    /// like an email or a phone — verified, proven, listed, a hold's original
    /// — while nothing is ever sent to it. Only the crate makes one (typed
    /// input never parses as one).
    pub(crate) fn authenticator<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self::authenticator_with_id(&id)
    }

    /// The app contact with this id (a made-up account's app draws it from
    /// its stream).
    pub(crate) fn authenticator_with_id(id: &[u8; 16]) -> Self {
        let text = format!("{APP_PREFIX}{}", crate::hex::encode(id));
        Self::with_identity(text.clone(), text)
    }

    /// Email, phone or app.
    pub fn kind(&self) -> ContactKind {
        // An E.164 number never contains '@' nor a letter.
        if self.address.starts_with(APP_PREFIX) {
            ContactKind::App
        } else if self.address.contains('@') {
            ContactKind::Email
        } else {
            ContactKind::Phone
        }
    }

    /// The one form the crate compares: see the [module docs](crate::Contact). Not a secret
    /// to the person, but an unmasked contact: never log it.
    pub fn identity(&self) -> &str {
        self.identity.as_deref().unwrap_or(&self.address)
    }

    /// The address itself, for the channel that delivers to it: an email address
    /// with its local part as typed and its domain in A-labels, or an E.164 number.
    /// Never log it.
    pub fn expose(&self) -> &str {
        &self.address
    }

    /// The line type of a phone number (mobile, fixed line, VoIP…); `None` for an
    /// email address.
    pub fn phone_type(&self) -> Option<PhoneType> {
        let number = self.phone_number()?;
        Some(match number.number_type(&phonenumber::metadata::DATABASE) {
            phonenumber::Type::Mobile => PhoneType::Mobile,
            phonenumber::Type::FixedLine => PhoneType::FixedLine,
            phonenumber::Type::FixedLineOrMobile => PhoneType::FixedLineOrMobile,
            phonenumber::Type::Voip => PhoneType::Voip,
            phonenumber::Type::TollFree => PhoneType::TollFree,
            phonenumber::Type::PremiumRate => PhoneType::PremiumRate,
            phonenumber::Type::SharedCost => PhoneType::SharedCost,
            phonenumber::Type::PersonalNumber => PhoneType::PersonalNumber,
            phonenumber::Type::Pager => PhoneType::Pager,
            phonenumber::Type::Uan => PhoneType::Uan,
            phonenumber::Type::Voicemail => PhoneType::Voicemail,
            _ => PhoneType::Other,
        })
    }

    /// A phone number's country calling code (`44` for `+44…`); `None` for an email
    /// address.
    pub fn calling_code(&self) -> Option<u16> {
        self.phone_number().map(|n| n.code().value())
    }

    /// A phone number's country or region (ISO 3166-1 alpha-2, from
    /// libphonenumber's metadata: `CA` for `+1 514…`, `GB` for `+44…`);
    /// `None` for an email address or a number no region claims.
    ///
    /// ```
    /// use seccode::Contact;
    ///
    /// assert_eq!(Contact::phone("+1 514 555 0100")?.country().as_deref(), Some("CA"));
    /// assert_eq!(Contact::phone("+44 7400 123456")?.country().as_deref(), Some("GB"));
    /// assert_eq!(Contact::email("ann@example.org")?.country(), None);
    /// # Ok::<(), seccode::ContactError>(())
    /// ```
    pub fn country(&self) -> Option<String> {
        let number = self.phone_number()?;
        let id = number.country().id()?;
        Some(id.as_ref().to_owned())
    }

    fn phone_number(&self) -> Option<phonenumber::PhoneNumber> {
        match self.kind() {
            ContactKind::Email | ContactKind::App => None,
            ContactKind::Phone => phonenumber::parse(None, &*self.address).ok(),
        }
    }

    /// The form shown to people and logs, computed from the identity, so a contact
    /// masks the same way whatever case it was typed in.
    ///
    /// * Email: the first two characters of the local part (one if it has two or
    ///   three, none if it has one), then `•••`, then `@` and the domain in
    ///   A-labels, e.g. `jo•••@example.com`. A-labels, not Unicode, so a look-alike
    ///   domain never masks like the real one.
    /// * Phone: `•••••••` and the last **two** digits, e.g. `•••••••23`. Two, not
    ///   four, because the last four digits are what a person types to prove they
    ///   know the number ([`Contact::confirm_last_four`]), as on Microsoft accounts.
    ///
    /// The bullet counts are fixed, so a mask never reveals the address's length.
    pub fn masked(&self) -> MaskedContact {
        let identity = self.identity();
        match self.kind() {
            ContactKind::Email => {
                let (local, domain) = identity.rsplit_once('@').unwrap_or(("", identity));
                let shown = match local.chars().count() {
                    0 | 1 => 0,
                    2 | 3 => 1,
                    _ => 2,
                };
                let prefix: String = local.chars().take(shown).collect();
                MaskedContact(format!("{prefix}{BULLETS}@{domain}"))
            }
            ContactKind::Phone => {
                let last_two = &identity[identity.len().saturating_sub(2)..];
                MaskedContact(format!("{PHONE_BULLETS}{last_two}"))
            }
            ContactKind::App => MaskedContact("Authenticator app".to_owned()),
        }
    }

    /// Whether `typed` is this phone number's last four digits, compared in constant
    /// time. `typed` goes through the crate's normaliser first: full-width digits,
    /// spaces of any kind, tabs, newlines, dashes and dots are fine. Always false
    /// for an email address.
    pub fn confirm_last_four(&self, typed: &str) -> bool {
        if self.kind() != ContactKind::Phone || typed.len() > MAX_INPUT {
            return false;
        }
        let mut digits = [0u8; 4];
        let mut n = 0usize;
        let mut other = false;
        for c in typed::symbols(typed) {
            match c {
                '0'..='9' if n < 4 => {
                    digits[n] = c as u8;
                    n += 1;
                }
                _ => other = true,
            }
        }
        let identity = self.identity().as_bytes();
        let last_four = &identity[identity.len().saturating_sub(4)..];
        // Compare even when the shape is wrong, so timing does not say which.
        ct_eq(&digits, last_four) & (n == 4) & !other
    }

    /// Whether `typed` is this whole contact (an email address, or a phone number),
    /// compared in constant time. `typed` is parsed the same way first, so any
    /// spelling of the same identity confirms.
    pub fn confirm_address(&self, typed: &str) -> bool {
        let typed = Contact::parse(typed);
        // Equal-length digests: the comparison does not leak the address length.
        let a = Sha256::digest(self.identity().as_bytes());
        let b = Sha256::digest(
            typed
                .as_ref()
                .map(Contact::identity)
                .unwrap_or_default()
                .as_bytes(),
        );
        ct_eq(&a, &b) & typed.is_ok()
    }
}

impl PartialEq for Contact {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for Contact {}

impl std::hash::Hash for Contact {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Contact({:?}, {})", self.kind(), self.masked())
    }
}

/// `lower(NFKC(local))@domain`; `domain` is already lower-case A-labels.
fn email_identity(local: &str, domain: &str) -> String {
    let local: String = local.to_lowercase().nfkc().collect();
    format!("{local}@{domain}")
}

/// Characters that cannot be seen, or change how others are seen: controls,
/// format characters (zero-width spaces and joiners, bidi controls, the BOM),
/// private-use and unassigned code points, line and paragraph separators, spaces,
/// and the default-ignorable fillers and variation selectors.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::Surrogate
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

fn parse_phone(input: &str, region: Option<country::Id>) -> Result<Contact, ContactError> {
    if input.len() > MAX_INPUT {
        return Err(ContactError::TooLong);
    }
    let mut digits = String::with_capacity(20);
    let mut plus = false;
    for c in typed::symbols(input) {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '(' | ')' | '/' => {}
            _ => return Err(ContactError::PhoneCharacter),
        }
    }
    if digits.is_empty() {
        return Err(if plus {
            ContactError::InvalidPhone
        } else {
            ContactError::Empty
        });
    }
    if digits.len() > 20 {
        return Err(ContactError::TooLong);
    }
    let text = match (plus, region) {
        (true, _) => format!("+{digits}"),
        // Without a region, 00 can only be an international prefix.
        (false, None) => match digits.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => return Err(ContactError::MissingCountryCode),
        },
        (false, Some(_)) => digits,
    };
    let number = phonenumber::parse(region, &text).map_err(|e| match e {
        phonenumber::ParseError::InvalidCountryCode => ContactError::UnknownCountryCode,
        _ => ContactError::InvalidPhone,
    })?;
    if !phonenumber::is_valid(&number) {
        return Err(ContactError::InvalidPhone);
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    Ok(Contact::with_identity(e164.clone(), e164))
}

/// A contact with most of it hidden; safe to show and to log. See
/// [`Contact::masked`] for the rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MaskedContact(String);

impl MaskedContact {
    /// A masked form read back from a client (feature `serde`); it masks nothing
    /// itself.
    #[cfg(feature = "serde")]
    pub(crate) fn from_text(text: &str) -> Self {
        Self(text.to_owned())
    }

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
        for typed in [
            "+1 (425) 555-0100",
            " +1.425.555.0100 ",
            "+1-425-555-0100",
            "＋１ ４２５ ５５５ ０１００",
            "+1\u{00A0}425\u{00A0}555\u{00A0}0100",
            "001 425 555 0100",
        ] {
            assert_eq!(Contact::phone(typed).unwrap(), want, "{typed}");
        }
        assert_eq!(
            Contact::phone("4255550100"),
            Err(ContactError::MissingCountryCode)
        );
        assert_eq!(
            Contact::phone("+999 1234 5678"),
            Err(ContactError::UnknownCountryCode)
        );
        assert_eq!(Contact::phone("+1234567"), Err(ContactError::InvalidPhone));
        assert_eq!(
            Contact::phone("+1425555010a"),
            Err(ContactError::PhoneCharacter)
        );
        assert_eq!(Contact::phone("  "), Err(ContactError::Empty));
        assert_eq!(
            Contact::phone(&"+1".repeat(30)),
            Err(ContactError::PhoneCharacter)
        );
        assert_eq!(Contact::phone(&"1".repeat(30)), Err(ContactError::TooLong));
        assert_eq!(
            Contact::phone_in("020 7946 0958", "ZZ"),
            Err(ContactError::UnknownRegion)
        );
    }

    #[test]
    fn emails_are_strict_and_domain_in_a_labels() {
        let c = Contact::email(" Ann@Example.ORG ").unwrap();
        assert_eq!(c.expose(), "Ann@example.org");
        assert_eq!(c.identity(), "ann@example.org");
        assert_eq!(c.kind(), ContactKind::Email);
        for bad in [
            "ann@",
            "@example.org",
            "Ann <ann@example.org>",
            "ann@[127.0.0.1]",
            "ann@localhost",
        ] {
            assert!(Contact::email(bad).is_err(), "{bad}");
        }
        assert_eq!(Contact::email("ann"), Err(ContactError::InvalidEmail));
        assert_eq!(
            Contact::email("ann@exa_mple.org"),
            Err(ContactError::InvalidDomain)
        );
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Contact::email(&long), Err(ContactError::TooLong));
    }

    #[test]
    fn spaces_and_names_in_email_addresses_are_refused_saying_so() {
        for (typed, why) in [
            ("\"john doe\"@example.com", ContactError::SpaceInEmail),
            ("john@exa mple.com", ContactError::SpaceInEmail),
            ("john\u{00A0}doe@example.com", ContactError::SpaceInEmail),
            ("John Doe <john@example.com>", ContactError::NameWithEmail),
            ("<john@example.com>", ContactError::NameWithEmail),
        ] {
            assert_eq!(Contact::email(typed), Err(why), "{typed:?}");
        }
        // Surrounding white space is not part of the address.
        assert_eq!(
            Contact::email("  john@example.com ").unwrap().expose(),
            "john@example.com"
        );
    }

    #[test]
    fn invisible_characters_are_refused() {
        for bad in [
            "ann\u{200B}@example.org",
            "ann\u{200D}@example.org",
            "ann\u{202E}@example.org",
            "an\u{FEFF}n@example.org",
            "ann\u{0007}@example.org",
            "ann\u{E000}@example.org",
            "a\u{3164}nn@example.org",
            "an\u{FE0F}n@example.org",
        ] {
            assert_eq!(
                Contact::email(bad),
                Err(ContactError::InvisibleCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_tells_what_it_is_not() {
        assert_eq!(Contact::parse("john"), Err(ContactError::NotAContact));
        assert_eq!(
            Contact::parse("ｊｏｈｎ＠example.com").unwrap(),
            Contact::email("john@example.com").unwrap()
        );
        assert_eq!(
            Contact::parse("425 555 0100"),
            Err(ContactError::MissingCountryCode)
        );
        assert_eq!(
            Contact::parse_in("(425) 555-0100", "us")
                .unwrap()
                .identity(),
            "+14255550100"
        );
    }

    #[test]
    fn masks_have_fixed_shape() {
        let m = |s: &str| Contact::parse(s).unwrap().masked().to_string();
        assert_eq!(m("a@example.org"), "•••@example.org");
        assert_eq!(m("ab@example.org"), "a•••@example.org");
        assert_eq!(m("abcdefghij@example.org"), "ab•••@example.org");
        assert_eq!(m("ABcdefghij@Example.org"), "ab•••@example.org");
        assert_eq!(m("+14255550123"), "•••••••23");
        assert_eq!(m("+442079460958"), "•••••••58");
    }

    #[test]
    fn last_four_proof() {
        let c = Contact::phone("+14255550123").unwrap();
        assert!(c.confirm_last_four("0123"));
        assert!(c.confirm_last_four(" 01-23 "));
        assert!(c.confirm_last_four("0123\n"));
        assert!(c.confirm_last_four("０１２３"));
        assert!(c.confirm_last_four("01\u{00A0}23"));
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
        assert!(c.confirm_address("ann@example.org"));
        assert!(!c.confirm_address("ann2@example.org"));
        assert!(!c.confirm_address("not an address"));
        let p = Contact::phone("+14255550123").unwrap();
        assert!(p.confirm_address("+1 425 555 0123"));
    }

    #[test]
    fn stored_forms_read_back_to_the_same_contact() {
        for typed in [
            "John.Doe@Example.com",
            "x@exämple.com",
            "+44 20 7946 0958",
            "ｊｏｈｎ＠example.com",
        ] {
            let c = Contact::parse(typed).unwrap();
            let back = Contact::from_stored(c.expose()).unwrap();
            assert_eq!(back, c, "{typed}");
            assert_eq!(back.expose(), c.expose());
            assert_eq!(back.identity(), c.identity());
        }
        // An earlier version stored Unicode domains lower-cased as typed.
        let old = Contact::from_stored("X@exämple.com").unwrap();
        assert_eq!(old.identity(), "x@xn--exmple-cua.com");
        assert!(Contact::from_stored("+0123").is_err());
    }

    #[test]
    fn debug_is_masked() {
        let c = Contact::email("secret.person@example.org").unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("secret.person"), "{text}");
        assert!(text.contains("se•••@example.org"));
    }
}
