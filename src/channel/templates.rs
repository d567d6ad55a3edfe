use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;
use zeroize::Zeroizing;

use crate::code::Code;
use crate::contact::{Contact, ContactKind};
use crate::error::Error;
use crate::policy::Purpose;

#[cfg(test)]
use super::holes::MAX_COMPILED;
use super::holes::{CODE_MESSAGES, Compiled, CompiledKey, HOLE_CODE, HOLE_SPOKEN, Holes, ast_walk};

/// The locales the crate ships, and their Fluent sources.
const BUILTIN: &[(&str, &str)] = &[
    ("en", include_str!("locales/en.ftl")),
    ("es", include_str!("locales/es.ftl")),
    ("fr", include_str!("locales/fr.ftl")),
    ("de", include_str!("locales/de.ftl")),
    ("pt-BR", include_str!("locales/pt-BR.ftl")),
    ("ja", include_str!("locales/ja.ftl")),
    ("it", include_str!("locales/it.ftl")),
    ("nl", include_str!("locales/nl.ftl")),
    ("sv", include_str!("locales/sv.ftl")),
    ("da", include_str!("locales/da.ftl")),
    ("nb", include_str!("locales/nb.ftl")),
    ("pl", include_str!("locales/pl.ftl")),
    ("ru", include_str!("locales/ru.ftl")),
    ("zh", include_str!("locales/zh.ftl")),
];

/// The message ids every locale should define.
pub const MESSAGE_IDS: [&str; 10] = [
    "code-subject",
    "code-sms",
    "code-email-text",
    "code-email-html",
    "code-voice",
    "code-do-not-share",
    "code-transaction",
    "code-voice-prompt",
    "notice-subject",
    "notice-body",
];

/// What changed on an account, for the notice its contacts are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoticeEvent {
    /// A contact was added.
    Added,
    /// A contact replaced another (a phone number change).
    Replaced,
    /// A contact was removed.
    Removed,
    /// The account was recovered.
    Recovered,
    /// The account was recovered with its recovery code (no contact used).
    RecoveredWithCode,
    /// The account was recovered with a code from an authenticator app.
    RecoveredWithApp,
}

impl NoticeEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Replaced => "replaced",
            Self::Removed => "removed",
            Self::Recovered => "recovered",
            Self::RecoveredWithCode => "recovered_with_code",
            Self::RecoveredWithApp => "recovered_with_app",
        }
    }
}

pub(super) type Bundle = FluentBundle<FluentResource>;

/// Fluent templates for code messages: see the [module docs](crate::Templates).
///
/// Cheap to clone (the bundles are shared).
///
/// # Locales, overrides and SMS lines
///
/// The texts of code messages: per purpose, contact kind (SMS, email subject, text
/// and HTML, voice) and locale, in [Fluent](https://projectfluent.org) — so plurals
/// ("1 minute", "10 minutes") and word order are each language's own.
///
/// The crate ships English, Spanish, French, German, Brazilian Portuguese,
/// Japanese, Italian, Dutch, Swedish, Danish, Norwegian Bokmål, Polish,
/// Russian and Simplified Chinese (`src/channel/locales/*.ftl`). An application overrides any message or
/// adds a language with [`Templates::with_locale`]; a locale nobody provides falls
/// back to its language (`pt-PT` → `pt-BR`), then to the default locale (English
/// unless [`Templates::with_default_locale`] says otherwise), one message at a
/// time.
///
/// Messages a template file defines (see `en.ftl`): `code-subject`, `code-sms`,
/// `code-email-text`, `code-email-html`, `code-voice`, `code-do-not-share` (the
/// warning [`SendOptions::do_not_share_warning`](crate::SendOptions::do_not_share_warning)
/// adds), with the variables `$code`,
/// `$minutes`, `$purpose` (`add_security_info`, `change_phone`, `recovery`,
/// `identity_check`), `$what` (`email` or `phone`) and `$spoken` (the code's
/// characters one by one, for a voice call).
///
/// Notices to an account's contacts when its security info changes:
/// `notice-subject` and `notice-body`, with `$event` (`added`, `replaced`,
/// `removed`, `recovered`, `recovered_with_code`, `recovered_with_app`),
/// `$contact` and `$old` (masked contacts) and `$days`
/// (how long earlier contacts can undo changes after a recovery). The account
/// flows send them in the account's language.
///
/// SMS conventions: with [`Templates::with_web_otp_origin`] the SMS ends with the
/// origin-bound line `@example.com #123456` that Safari and Chrome's WebOTP read;
/// with [`Templates::with_android_app_hash`] it ends with the 11-character hash the
/// Android SMS Retriever API matches. [`sms_segments`] tells how many SMS a text
/// takes (160 GSM-7 or 70 UCS-2 characters in one).
///
/// For one send, an application may put its own words in place of these:
/// [`CodeText`](crate::CodeText) for an SMS or a call,
/// [`EmailText`](crate::EmailText) for an email (a Verify template, say) —
/// the payment and the SMS's last line still follow them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::{CodeFormat, Contact, Purpose, Templates};
///
/// let templates = Templates::builtin().with_web_otp_origin("example.com")?;
/// let code = CodeFormat::default().normalize("402918")?;
/// let phone = Contact::phone("+44 7400 123456")?;
/// let fr = templates.render(Purpose::IdentityCheck, &phone, &code, Duration::from_secs(600), "fr-CA")?;
/// assert!(fr.sms().starts_with("Votre code de sécurité : 402918."));
/// assert!(fr.sms().contains("Il expire dans 10 minutes."));
/// assert!(fr.sms().ends_with("\n\n@example.com #402918"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Templates {
    /// Each locale's Fluent sources, later ones overriding earlier ones.
    sources: Vec<(LanguageIdentifier, Vec<Arc<str>>)>,
    bundles: Arc<Vec<(LanguageIdentifier, Bundle)>>,
    /// Code messages rendered once with the code as a hole, for these bundles.
    compiled: Arc<Compiled>,
    default: LanguageIdentifier,
    origin: Option<String>,
    app_hash: Option<String>,
}

/// An Android app hash: 11 characters of the base64 alphabet.
pub(crate) fn check_app_hash(hash: &str) -> Result<(), Error> {
    let ok = hash.len() == 11
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err(invalid("android app hash", "expected 11 base64 characters"))
    }
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidInput { field, reason }
}

fn bundle_for(locale: &LanguageIdentifier) -> Bundle {
    let mut bundle = FluentBundle::new_concurrent(vec![locale.clone()]);
    // No Unicode isolation marks around placeables: they would reach SMS texts
    // as invisible characters and push GSM-7 messages to UCS-2.
    bundle.set_use_isolating(false);
    bundle
}

/// One bundle per locale, each source overriding the ones before it.
fn build(
    sources: &[(LanguageIdentifier, Vec<Arc<str>>)],
) -> Result<Vec<(LanguageIdentifier, Bundle)>, Error> {
    sources
        .iter()
        .map(|(locale, list)| {
            let mut bundle = bundle_for(locale);
            for source in list {
                bundle.add_resource_overriding(parse_resource(source)?);
            }
            Ok((locale.clone(), bundle))
        })
        .collect()
}

fn parse_resource(source: &str) -> Result<FluentResource, Error> {
    FluentResource::try_new(source.to_owned())
        .map_err(|_| invalid("template", "not valid Fluent syntax"))
}

impl Templates {
    /// The shipped texts, in the locales of the module docs, English by default.
    ///
    /// # Panics
    ///
    /// Never: the shipped templates are parsed by the crate's tests.
    pub fn builtin() -> Self {
        static BUILTIN_TEMPLATES: OnceLock<Templates> = OnceLock::new();
        BUILTIN_TEMPLATES
            .get_or_init(|| {
                let sources: Vec<(LanguageIdentifier, Vec<Arc<str>>)> = BUILTIN
                    .iter()
                    .map(|(tag, source)| {
                        let locale = tag.parse().expect("the shipped locale tags parse");
                        (locale, vec![Arc::from(*source)])
                    })
                    .collect();
                Templates {
                    bundles: Arc::new(build(&sources).expect("the shipped templates parse")),
                    compiled: Arc::default(),
                    sources,
                    default: "en".parse().expect("en parses"),
                    origin: None,
                    app_hash: None,
                }
            })
            .clone()
    }

    /// Adds a locale, or overrides messages of one, from Fluent source. Messages
    /// it does not define keep their current text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a locale tag that does not parse (BCP 47) or a
    /// source that is not valid Fluent.
    pub fn with_locale(mut self, tag: &str, source: &str) -> Result<Self, Error> {
        let locale: LanguageIdentifier = tag
            .parse()
            .map_err(|_| invalid("locale", "not a BCP 47 language tag"))?;
        parse_resource(source)?;
        match self.sources.iter_mut().find(|(l, _)| *l == locale) {
            Some((_, list)) => list.push(Arc::from(source)),
            None => self.sources.push((locale, vec![Arc::from(source)])),
        }
        self.bundles = Arc::new(build(&self.sources)?);
        self.compiled = Arc::default();
        Ok(self)
    }

    /// The locale used when a requested one is not provided (default: `en`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] unless the tag parses and a bundle has it.
    pub fn with_default_locale(mut self, tag: &str) -> Result<Self, Error> {
        let locale: LanguageIdentifier = tag
            .parse()
            .map_err(|_| invalid("locale", "not a BCP 47 language tag"))?;
        if !self.bundles.iter().any(|(l, _)| *l == locale) {
            return Err(invalid("locale", "no templates for this locale"));
        }
        self.default = locale;
        Ok(self)
    }

    /// Ends each SMS with the origin-bound line `@domain #code` (WebOTP; Safari's
    /// one-time-code autofill), so the browser offers the code only on `domain`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a domain that is not a host name, or when an
    /// Android app hash is set (each wants the last line).
    pub fn with_web_otp_origin(mut self, domain: &str) -> Result<Self, Error> {
        let domain = idna::domain_to_ascii_strict(domain)
            .map_err(|_| invalid("web otp origin", "not a domain name"))?;
        if self.app_hash.is_some() {
            return Err(invalid(
                "web otp origin",
                "an Android app hash already ends the SMS",
            ));
        }
        self.origin = Some(domain);
        Ok(self)
    }

    /// Ends each SMS with the app's 11-character hash, for the Android SMS
    /// Retriever API.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] unless 11 characters of the base64 alphabet, or
    /// when a WebOTP origin is set.
    pub fn with_android_app_hash(mut self, hash: &str) -> Result<Self, Error> {
        check_app_hash(hash)?;
        if self.origin.is_some() {
            return Err(invalid(
                "android app hash",
                "a WebOTP origin line already ends the SMS",
            ));
        }
        self.app_hash = Some(hash.to_owned());
        Ok(self)
    }

    /// Whether the templates already end each SMS with a line of their own
    /// (a WebOTP origin or an app hash).
    pub(crate) fn ends_sms(&self) -> bool {
        self.origin.is_some() || self.app_hash.is_some()
    }

    /// The locale used when a requested one is not provided.
    pub fn default_locale(&self) -> String {
        self.default.to_string()
    }

    /// The locales with templates.
    pub fn locales(&self) -> Vec<String> {
        self.bundles.iter().map(|(l, _)| l.to_string()).collect()
    }

    /// The bundles to try for `requested`, best first: the exact locale, then one
    /// of the same language, then the default — as indices into `bundles`.
    fn chain(&self, requested: &str) -> Vec<usize> {
        let requested: Option<LanguageIdentifier> = requested.parse().ok();
        let bundles = || self.bundles.iter().enumerate();
        let mut chain = Vec::new();
        if let Some(r) = &requested {
            chain.extend(bundles().filter(|(_, (l, _))| l == r).map(|(i, _)| i));
            chain.extend(
                bundles()
                    .filter(|(_, (l, _))| l.language == r.language && l != r)
                    .map(|(i, _)| i),
            );
        }
        chain.extend(
            bundles()
                .filter(|(_, (l, _))| *l == self.default)
                .map(|(i, _)| i),
        );
        chain
    }

    fn format(&self, chain: &[usize], id: &str, args: &FluentArgs<'_>) -> Result<String, Error> {
        for bundle in chain
            .iter()
            .filter_map(|&i| self.bundles.get(i).map(|(_, b)| b))
        {
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(args), &mut errors);
            if errors.is_empty() {
                return Ok(text.into_owned());
            }
        }
        Err(invalid(
            "template",
            "a message is missing or does not render",
        ))
    }

    /// Renders the texts of a code message for `to` in `locale` (a BCP 47 tag
    /// such as `fr-CA`; see the fallbacks in the [module docs](crate::Templates)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if no bundle in the chain renders a message
    /// (an override referring to an unknown variable, say).
    pub fn render(
        &self,
        purpose: Purpose,
        to: &Contact,
        code: &Code,
        expires_in: Duration,
        locale: &str,
    ) -> Result<Texts, Error> {
        let mut texts = self.render_texts(purpose, to, code, expires_in, locale, false)?;
        texts.sms.push_str(&self.sms_ending(code));
        Ok(texts)
    }

    /// [`Templates::render`] without the SMS's last line
    /// ([`Templates::sms_ending`]); with `only_needed`, the texts a message
    /// to `to` does not carry (SMS and voice for an email, email texts for a
    /// phone) may be left empty.
    pub(crate) fn render_texts(
        &self,
        purpose: Purpose,
        to: &Contact,
        code: &Code,
        expires_in: Duration,
        locale: &str,
        only_needed: bool,
    ) -> Result<Texts, Error> {
        let minutes = expires_in.as_secs().div_ceil(60).max(1);
        let chain = self.chain(locale);
        let spoken = spoken(code.expose());
        let key = (chain, purpose, to.kind(), minutes);
        let cached = self.compiled.get(&key);
        let texts = match cached {
            Some(Some(holes)) => {
                let kind = only_needed.then_some(to.kind());
                holes.fill_for(kind, code.expose(), &spoken)
            }
            Some(None) => self.render_fluent(&key, code.expose(), &spoken)?,
            None => {
                // Render the holes once and keep them if they give exactly what
                // Fluent gives (a template that selects on the code cannot be
                // kept: it renders every time).
                let texts = self.render_fluent(&key, code.expose(), &spoken)?;
                let keep = if self.code_only_in_placeables(&key.0) {
                    let holes = Holes::of(&self.render_fluent(&key, HOLE_CODE, HOLE_SPOKEN)?);
                    holes
                        .fill(code.expose(), &spoken)
                        .same_as(&texts)
                        .then(|| Arc::new(holes))
                } else {
                    None
                };
                self.compiled.put(key, keep);
                texts
            }
        };
        Ok(texts)
    }

    /// What ends every SMS of these templates for `code`, on a line of its
    /// own: the WebOTP origin line or the app hash (empty without them). It
    /// comes last, after anything a send adds, as WebOTP and the SMS
    /// Retriever read it.
    pub(crate) fn sms_ending(&self, code: &Code) -> Zeroizing<String> {
        Zeroizing::new(match (&self.origin, &self.app_hash) {
            (Some(origin), _) => format!("\n\n@{origin} #{}", code.expose()),
            (None, Some(hash)) => format!("\n\n{hash}"),
            (None, None) => String::new(),
        })
    }

    /// Whether every bundle of `chain` uses the code (and its spoken form) in
    /// the code messages only as a placeable — never to choose between
    /// variants, as a function's argument or a term's — so that the texts
    /// differ between codes only where the code stands.
    fn code_only_in_placeables(&self, chain: &[usize]) -> bool {
        chain
            .iter()
            .filter_map(|&i| self.bundles.get(i).map(|(_, b)| b))
            .all(|bundle| {
                CODE_MESSAGES.iter().all(|id| {
                    bundle
                        .get_message(id)
                        .and_then(|m| m.value())
                        .is_none_or(|p| ast_walk::pattern_ok(bundle, p, 8))
                })
            })
    }

    /// The five texts of a code message through Fluent, for `key`'s chain,
    /// purpose, kind and minutes, with `code` and `spoken` as they are given.
    fn render_fluent(&self, key: &CompiledKey, code: &str, spoken: &str) -> Result<Texts, Error> {
        let (chain, purpose, kind, minutes) = key;
        let mut args = FluentArgs::new();
        args.set("code", FluentValue::from(code));
        args.set("minutes", FluentValue::from(*minutes));
        args.set("purpose", FluentValue::from(purpose.as_str()));
        args.set(
            "what",
            FluentValue::from(match kind {
                ContactKind::Email => "email",
                ContactKind::Phone => "phone",
                ContactKind::App => "app",
            }),
        );
        args.set("spoken", FluentValue::from(spoken));
        Ok(Texts {
            subject: self.format(chain, "code-subject", &args)?,
            text: Zeroizing::new(self.format(chain, "code-email-text", &args)?),
            html: Zeroizing::new(self.format(chain, "code-email-html", &args)?),
            sms: Zeroizing::new(self.format(chain, "code-sms", &args)?),
            voice: Zeroizing::new(self.format(chain, "code-voice", &args)?),
        })
    }
}

/// The code read aloud: its characters separated by commas (a pause each).
pub(super) fn spoken(code: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(code.len() * 3));
    for (i, c) in code.chars().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push(c);
    }
    out
}

impl Texts {
    /// Subject, text, HTML, SMS and voice texts, moved out.
    pub(crate) fn into_parts(
        self,
    ) -> (
        String,
        Zeroizing<String>,
        Zeroizing<String>,
        Zeroizing<String>,
        Zeroizing<String>,
    ) {
        (self.subject, self.text, self.html, self.sms, self.voice)
    }

    fn same_as(&self, other: &Texts) -> bool {
        self.subject == other.subject
            && self.text == other.text
            && self.html == other.html
            && self.sms == other.sms
            && self.voice == other.voice
    }
}

impl Templates {
    /// The warning not to share a code, in `locale` (`code-do-not-share`):
    /// from the chain, else the shipped text of the locale, else English.
    pub(crate) fn do_not_share(&self, locale: &str) -> String {
        let args = FluentArgs::new();
        self.format(&self.chain(locale), "code-do-not-share", &args)
            .or_else(|_| {
                let builtin = Templates::builtin();
                builtin.format(&builtin.chain(locale), "code-do-not-share", &args)
            })
            .unwrap_or_else(|_| "Don't share it with anyone.".to_owned())
    }

    /// What a call says before it waits for a key press, in `locale`
    /// (`code-voice-prompt`): from the chain, else the shipped text of the
    /// locale, else English.
    pub(crate) fn voice_prompt(&self, locale: &str) -> String {
        let args = FluentArgs::new();
        self.format(&self.chain(locale), "code-voice-prompt", &args)
            .or_else(|_| {
                let builtin = Templates::builtin();
                builtin.format(&builtin.chain(locale), "code-voice-prompt", &args)
            })
            .unwrap_or_else(|_| "Press any key to hear your security code.".to_owned())
    }

    /// The line naming a payment's amount and payee in `locale`
    /// (`code-transaction`): from the chain, else the shipped text of the
    /// locale, else English.
    pub(crate) fn transaction_line(&self, locale: &str, amount: &str, payee: &str) -> String {
        let mut args = FluentArgs::new();
        args.set("amount", FluentValue::from(amount));
        args.set("payee", FluentValue::from(payee));
        self.format(&self.chain(locale), "code-transaction", &args)
            .or_else(|_| {
                let builtin = Templates::builtin();
                builtin.format(&builtin.chain(locale), "code-transaction", &args)
            })
            .unwrap_or_else(|_| format!("Amount: {amount}. Payee: {payee}."))
    }

    /// Renders a notice's subject and body in `locale`; `contact` and `old` are
    /// masked contacts.
    pub(crate) fn render_notice(
        &self,
        event: NoticeEvent,
        contact: &str,
        old: Option<&str>,
        days: u64,
        locale: &str,
    ) -> Result<(String, String), Error> {
        let mut args = FluentArgs::new();
        args.set("event", FluentValue::from(event.as_str()));
        args.set("contact", FluentValue::from(contact));
        args.set("old", FluentValue::from(old.unwrap_or("")));
        args.set("days", FluentValue::from(days));
        let chain = self.chain(locale);
        Ok((
            self.format(&chain, "notice-subject", &args)?,
            self.format(&chain, "notice-body", &args)?,
        ))
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::builtin()
    }
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("locales", &self.locales())
            .field("default", &self.default.to_string())
            .field("web_otp_origin", &self.origin)
            .field("android_app_hash", &self.app_hash.is_some())
            .finish()
    }
}

/// The rendered texts of one code message. They contain the code: `Debug` is
/// redacted and they zeroize on drop.
#[derive(Clone)]
pub struct Texts {
    pub(super) subject: String,
    pub(super) text: Zeroizing<String>,
    pub(super) html: Zeroizing<String>,
    pub(super) sms: Zeroizing<String>,
    pub(super) voice: Zeroizing<String>,
}

impl Texts {
    /// The email subject (no code in it).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The email's plain-text part.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The email's HTML part.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The SMS, with its WebOTP or Android line if configured.
    pub fn sms(&self) -> &str {
        &self.sms
    }

    /// What a voice call says: the code digit by digit, twice.
    pub fn voice(&self) -> &str {
        &self.voice
    }
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Texts")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// How an SMS is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmsEncoding {
    /// The GSM 03.38 alphabet: 160 characters in one SMS, 153 per part.
    Gsm7,
    /// Anything else: 70 UTF-16 units in one SMS, 67 per part.
    Ucs2,
}

/// How many SMS a text takes, and in which encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmsSegments {
    /// GSM-7 or UCS-2.
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Messages the text is split into.
    pub segments: usize,
}

/// The GSM 03.38 basic character set.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the GSM 03.38 extension table: two septets each.
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{000C}";

/// How many SMS `text` takes: one segment holds 160 GSM-7 characters (153 in a
/// multi-part message) or 70 UTF-16 units (67).
///
/// ```
/// use seccode::channel::{sms_segments, SmsEncoding};
///
/// assert_eq!(sms_segments(&"a".repeat(160)).segments, 1);
/// assert_eq!(sms_segments(&"a".repeat(161)).segments, 2);
/// let ja = sms_segments("セキュリティコード: 402918");
/// assert_eq!((ja.encoding, ja.segments), (SmsEncoding::Ucs2, 1));
/// ```
pub fn sms_segments(text: &str) -> SmsSegments {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENDED.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, part) = if gsm {
        (SmsEncoding::Gsm7, septets, 160, 153)
    } else {
        (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    SmsSegments {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Message;
    use crate::code::CodeFormat;

    fn code(s: &str) -> Code {
        CodeFormat::default().normalize(s).unwrap()
    }

    #[test]
    fn every_shipped_locale_renders_every_purpose_completely() {
        let t = Templates::builtin();
        assert_eq!(t.locales().len(), 14);
        let email = Contact::email("ann@example.org").unwrap();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        for (tag, _) in BUILTIN {
            for purpose in Purpose::ALL {
                for to in [&email, &phone] {
                    for minutes in [1, 10] {
                        let texts = t
                            .render(
                                purpose,
                                to,
                                &code("402918"),
                                Duration::from_secs(60 * minutes),
                                tag,
                            )
                            .unwrap();
                        for (name, text) in [
                            ("sms", texts.sms()),
                            ("text", texts.text()),
                            ("html", texts.html()),
                        ] {
                            assert!(text.contains("402918"), "{tag} {purpose} {name}: {text}");
                            assert!(text.contains(&minutes.to_string()), "{tag} {name}: {text}");
                            assert!(
                                !text.contains('{') && !text.contains('}') && !text.contains('$'),
                                "{tag} {name}: {text}"
                            );
                        }
                        assert!(texts.voice().contains("4, 0, 2, 9, 1, 8"), "{tag}");
                        assert_eq!(texts.voice().matches("4, 0, 2, 9, 1, 8").count(), 2);
                        assert!(!texts.subject().contains("402918"));
                        // One SMS segment, whatever the language.
                        assert_eq!(
                            sms_segments(texts.sms()).segments,
                            1,
                            "{tag}: {}",
                            texts.sms()
                        );
                    }
                }
            }
        }
    }

    /// With the application's name an SMS still fits one segment in every
    /// shipped language and purpose (a name of up to 12 characters); with
    /// the do-not-share warning too where the language is written in GSM-7
    /// (en, de, fr, it, nl), and in two segments where it needs UCS-2 (es, pt-BR,
    /// ja: 70 characters a segment) — as Twilio's own warned texts do. The
    /// warning is the locale's own.
    #[test]
    fn a_named_sms_with_the_warning_fits_one_segment_in_every_locale() {
        let t = Templates::builtin();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        let email = Contact::email("ann@example.org").unwrap();
        let mut warnings = Vec::new();
        for (tag, _) in BUILTIN {
            let warning = t.do_not_share(tag);
            assert!(!warning.is_empty() && !warning.contains('{'), "{tag}");
            warnings.push(warning.clone());
            for purpose in Purpose::ALL {
                let sms = Message::from_templates(
                    &t,
                    tag,
                    phone.clone(),
                    purpose,
                    code("402918"),
                    Duration::from_secs(600),
                )
                .unwrap();
                let mut named = sms.clone();
                named.worded(&t, Some("Contoso Bank"), None, false);
                assert_eq!(
                    sms_segments(named.body()).segments,
                    1,
                    "{tag}: {}",
                    named.body()
                );
                let mut m = sms;
                m.worded(&t, Some("Contoso Bank"), None, true);
                let body = m.body();
                assert!(body.starts_with("Contoso Bank: "), "{tag}: {body}");
                assert!(body.ends_with(&warning), "{tag}: {body}");
                assert!(body.contains("402918"));
                let fit = sms_segments(body);
                let most = match fit.encoding {
                    SmsEncoding::Gsm7 => 1,
                    SmsEncoding::Ucs2 => 2,
                };
                assert!(fit.segments <= most, "{tag}: {body}");
                let voice = m.voice().unwrap();
                assert!(voice.starts_with("Contoso Bank: ") && voice.ends_with(&warning));
                assert!(m.subject().starts_with("Contoso Bank: "));
                // An email is named in its subject; its text warns already.
                let mail = Message::from_templates(
                    &t,
                    tag,
                    email.clone(),
                    purpose,
                    code("402918"),
                    Duration::from_secs(600),
                )
                .unwrap();
                let mut worded = mail.clone();
                worded.worded(&t, Some("Contoso Bank"), None, true);
                assert!(worded.subject().starts_with("Contoso Bank: "));
                assert_eq!(worded.body(), mail.body(), "{tag}");
            }
        }
        warnings.sort();
        warnings.dedup();
        assert_eq!(warnings.len(), BUILTIN.len(), "one warning per language");
        // Without a name or warning, the message is as before.
        let plain = Message::from_templates(
            &t,
            "en",
            phone.clone(),
            Purpose::IdentityCheck,
            code("402918"),
            Duration::from_secs(600),
        )
        .unwrap();
        let mut unworded = plain.clone();
        unworded.worded(&t, None, None, false);
        assert_eq!(unworded.body(), plain.body());
    }

    /// Every shipped language names a payment's amount and payee after the
    /// code's sentence (SMS, call, email text and — escaped — HTML).
    #[test]
    fn a_payment_is_named_in_every_locale() {
        let t = Templates::builtin();
        let payment = crate::Transaction::new("€39.99", "Acme & <Sons>").unwrap();
        let mut lines = Vec::new();
        for (tag, _) in BUILTIN {
            let line = t.transaction_line(tag, payment.amount(), payment.payee());
            assert!(
                line.contains("€39.99") && line.contains("Acme & <Sons>"),
                "{tag}: {line}"
            );
            lines.push(line.clone());
            for to in [
                Contact::phone("+44 7400 123456").unwrap(),
                Contact::email("ann@example.org").unwrap(),
            ] {
                let mut m = Message::from_templates(
                    &t,
                    tag,
                    to,
                    Purpose::IdentityCheck,
                    code("402918"),
                    Duration::from_secs(600),
                )
                .unwrap();
                m.worded(&t, None, Some(&payment), false);
                assert!(m.body().contains(&line), "{tag}: {}", m.body());
                if let Some(voice) = m.voice() {
                    assert!(voice.contains(&line), "{tag}");
                }
                if let Some(html) = m.html() {
                    assert!(html.contains("Acme &amp; &lt;Sons&gt;"), "{tag}: {html}");
                }
            }
        }
        lines.sort();
        lines.dedup();
        assert_eq!(lines.len(), BUILTIN.len(), "one line per language");
    }

    #[test]
    fn every_shipped_locale_has_its_own_key_press_prompt() {
        let t = Templates::builtin();
        let mut prompts: Vec<String> = BUILTIN.iter().map(|(tag, _)| t.voice_prompt(tag)).collect();
        assert!(prompts.iter().all(|p| !p.is_empty() && !p.contains('{')));
        prompts.sort();
        prompts.dedup();
        assert_eq!(prompts.len(), BUILTIN.len());
    }

    #[test]
    fn every_shipped_locale_renders_every_notice() {
        use super::NoticeEvent::{
            Added, Recovered, RecoveredWithApp, RecoveredWithCode, Removed, Replaced,
        };
        let t = Templates::builtin();
        for (tag, _) in BUILTIN {
            for event in [
                Added,
                Replaced,
                Removed,
                Recovered,
                RecoveredWithCode,
                RecoveredWithApp,
            ] {
                let (subject, body) = t
                    .render_notice(event, "•••••••56", Some("•••••••23"), 30, tag)
                    .unwrap();
                assert!(!subject.is_empty() && !subject.contains('{'), "{tag}");
                // A recovery code or an app is no contact: its notice names none.
                assert_eq!(
                    body.contains("•••••••56"),
                    event != RecoveredWithCode && event != RecoveredWithApp,
                    "{tag} {event:?}: {body}"
                );
                assert_eq!(
                    body.contains("•••••••23"),
                    event == Replaced,
                    "{tag}: {body}"
                );
                assert!(body.contains("30"), "{tag}: {body}");
                assert!(
                    !body.contains('{') && !body.contains('}') && !body.contains('$'),
                    "{tag}: {body}"
                );
            }
        }
        // English reads as the notices always have, with its own plural.
        let (subject, body) = t
            .render_notice(Removed, "a•••@example.org", None, 1, "en")
            .unwrap();
        assert_eq!(subject, "Security info removed");
        assert_eq!(
            body,
            "a•••@example.org was removed from your account's security info. If this \
             wasn't you, recover your account now; for 1 day after a recovery, your \
             earlier contacts can undo changes to security info."
        );
    }

    #[test]
    fn plurals_follow_the_language() {
        let t = Templates::builtin();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        let render = |tag, secs| {
            t.render(
                Purpose::IdentityCheck,
                &phone,
                &code("123456"),
                Duration::from_secs(secs),
                tag,
            )
            .unwrap()
            .sms()
            .to_owned()
        };
        assert!(render("en", 60).contains("It expires in 1 minute."));
        assert!(render("en", 600).contains("It expires in 10 minutes."));
        assert!(render("de", 60).contains("in 1 Minute ab"));
        assert!(render("de", 120).contains("in 2 Minuten ab"));
        assert!(render("fr", 60).contains("dans 1 minute."));
        assert!(render("es", 600).ends_with("Caduca en 10 minutos."));
    }

    #[test]
    fn locales_fall_back_to_the_language_then_the_default() {
        let t = Templates::builtin();
        let email = Contact::email("ann@example.org").unwrap();
        let sms = |tag| {
            t.render(
                Purpose::Recovery,
                &email,
                &code("123456"),
                Duration::from_secs(600),
                tag,
            )
            .unwrap()
            .subject()
            .to_owned()
        };
        assert_eq!(sms("pt-PT"), "Código de recuperação da conta");
        assert_eq!(sms("es-MX"), "Código de recuperación de la cuenta");
        assert_eq!(sms("ko"), "Account recovery code");
        assert_eq!(sms("not a tag"), "Account recovery code");
    }

    #[test]
    fn apps_override_and_add_messages() {
        let t = Templates::builtin()
            .with_locale("en", "code-sms = Example.com code: { $code }")
            .unwrap()
            .with_locale("fi", "code-subject = Suojauskoodisi")
            .unwrap();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        let en = t
            .render(
                Purpose::IdentityCheck,
                &phone,
                &code("123456"),
                Duration::from_secs(600),
                "en",
            )
            .unwrap();
        assert_eq!(en.sms(), "Example.com code: 123456");
        // Other messages keep their shipped text.
        assert!(en.text().starts_with("Your security code is 123456."));
        let fi = t
            .render(
                Purpose::IdentityCheck,
                &phone,
                &code("123456"),
                Duration::from_secs(600),
                "fi",
            )
            .unwrap();
        assert_eq!(fi.subject(), "Suojauskoodisi");
        assert_eq!(
            fi.sms(),
            "Example.com code: 123456",
            "missing ones fall back"
        );
        assert!(
            Templates::builtin()
                .with_locale("en", "code-sms = {")
                .is_err()
        );
        assert!(Templates::builtin().with_default_locale("xx").is_err());
    }

    /// Renders through the kept holes (a second render of the same key) and
    /// through Fluent directly, for every shipped locale, purpose, kind and two
    /// lifetimes, with several codes: the texts are the same.
    #[test]
    fn kept_renderings_give_exactly_what_fluent_gives() {
        let t = Templates::builtin();
        let email = Contact::email("ann@example.org").unwrap();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        for (tag, _) in BUILTIN {
            for purpose in Purpose::ALL {
                for to in [&email, &phone] {
                    for minutes in [1, 10] {
                        for c in ["402918", "000000", "999999"] {
                            let lifetime = Duration::from_secs(60 * minutes);
                            let cached = t.render(purpose, to, &code(c), lifetime, tag).unwrap();
                            let key = (t.chain(tag), purpose, to.kind(), minutes);
                            let direct = t.render_fluent(&key, c, &spoken(c)).unwrap();
                            assert!(cached.same_as(&direct), "{tag} {purpose} {c}");
                            assert!(
                                matches!(t.compiled.get(&key), Some(Some(_))),
                                "{tag} {purpose}: kept"
                            );
                        }
                    }
                }
            }
        }
    }

    /// A template that chooses its words by the code's value cannot be kept
    /// as holes: it is rendered through Fluent every time, and stays right.
    #[test]
    fn a_template_that_selects_on_the_code_is_rendered_every_time() {
        let t = Templates::builtin()
            .with_locale(
                "en",
                "code-sms = { $code ->\n    [ABCDEF] Too easy: { $code }\n   *[other] Code { $code }\n}",
            )
            .unwrap();
        let phone = Contact::phone("+44 7400 123456").unwrap();
        let format = CodeFormat::new(crate::code::Alphabet::Crockford, 6).unwrap();
        let render = |c: &str| {
            t.render(
                Purpose::IdentityCheck,
                &phone,
                &format.normalize(c).unwrap(),
                Duration::from_secs(600),
                "en",
            )
            .unwrap()
            .sms()
            .to_owned()
        };
        assert_eq!(render("4029X8"), "Code 4029X8");
        assert_eq!(render("ABCDEF"), "Too easy: ABCDEF");
        assert_eq!(render("ABCDEF"), "Too easy: ABCDEF");
        assert_eq!(render("4029X8"), "Code 4029X8");
        let key = (
            t.chain("en"),
            Purpose::IdentityCheck,
            ContactKind::Phone,
            10,
        );
        assert!(matches!(t.compiled.get(&key), Some(None)), "not kept");
        // The same choice one message reference away.
        let t = Templates::builtin()
            .with_locale(
                "en",
                "code-sms = Hello. { sms-inner }\nsms-inner = { $code ->\n    [ABCDEF] Too easy\n   *[other] Code { $code }\n}",
            )
            .unwrap();
        let texts = |c: &str| {
            t.render(
                Purpose::IdentityCheck,
                &phone,
                &format.normalize(c).unwrap(),
                Duration::from_secs(600),
                "en",
            )
            .unwrap()
        };
        assert_eq!(texts("4029X8").sms(), "Hello. Code 4029X8");
        assert_eq!(texts("ABCDEF").sms(), "Hello. Too easy");
    }

    /// Locale tags come from requests: however many odd ones arrive, at most
    /// `MAX_COMPILED` renderings are kept, and every message still renders.
    #[test]
    fn kept_renderings_are_bounded() {
        let t = Templates::builtin();
        let email = Contact::email("ann@example.org").unwrap();
        for minutes in 1..=(MAX_COMPILED as u64 + 10) {
            let texts = t
                .render(
                    Purpose::IdentityCheck,
                    &email,
                    &code("402918"),
                    Duration::from_secs(60 * minutes),
                    "en",
                )
                .unwrap();
            assert!(texts.text().contains("402918"));
        }
        let kept = t.compiled.0.lock().unwrap().len();
        assert!(kept <= MAX_COMPILED, "{kept} kept");
    }

    #[test]
    fn sms_lines_for_web_otp_and_android() {
        let phone = Contact::phone("+44 7400 123456").unwrap();
        let t = Templates::builtin()
            .with_web_otp_origin("Example.COM")
            .unwrap();
        let texts = t
            .render(
                Purpose::IdentityCheck,
                &phone,
                &code("747723"),
                Duration::from_secs(600),
                "en",
            )
            .unwrap();
        assert_eq!(texts.sms().lines().last(), Some("@example.com #747723"));
        assert!(t.clone().with_android_app_hash("FA+9qCX9VSu").is_err());
        let t = Templates::builtin()
            .with_android_app_hash("FA+9qCX9VSu")
            .unwrap();
        let sms = t
            .render(
                Purpose::IdentityCheck,
                &phone,
                &code("747723"),
                Duration::from_secs(600),
                "en",
            )
            .unwrap();
        assert!(sms.sms().ends_with("FA+9qCX9VSu"));
        assert!(sms.sms().len() <= 140, "{}", sms.sms().len());
        assert!(Templates::builtin().with_android_app_hash("short").is_err());
        assert!(format!("{texts:?}").find("747723").is_none());
    }

    #[test]
    fn segments_count_gsm7_and_ucs2() {
        assert_eq!(sms_segments("").segments, 1);
        let gsm = sms_segments(&"a".repeat(306));
        assert_eq!((gsm.encoding, gsm.segments), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(307)).segments, 3);
        assert_eq!(sms_segments(&"€".repeat(80)).units, 160);
        let ucs = sms_segments(&"é".repeat(10).replace('é', "ę").repeat(7));
        assert_eq!((ucs.encoding, ucs.segments), (SmsEncoding::Ucs2, 1));
        assert_eq!(sms_segments(&"ę".repeat(71)).segments, 2);
    }
}
