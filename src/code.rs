//! Codes: their format, the plaintext [`Code`] on its way to a channel, and the
//! normalisation of what a person types back.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::PolicyError;
use crate::typed;

/// The longest code any [`CodeFormat`] produces.
pub(crate) const MAX_LEN: usize = 10;

/// Typed input longer than this is rejected before any other work.
const MAX_INPUT_BYTES: usize = 64;

/// The symbols a code is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alphabet {
    /// `0`–`9`: 3.32 bits per symbol. Easy to type on a phone keypad.
    Decimal,
    /// Crockford's base 32 (`0`–`9`, `A`–`Z` without `I`, `L`, `O`, `U`): 5 bits per
    /// symbol. Input is case-insensitive and `O`, `I`, `L` are read as `0`, `1`, `1`,
    /// so the symbols people confuse never make a code fail.
    Crockford,
}

impl Alphabet {
    const CROCKFORD: &'static [u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// A stable name, for storage: `decimal` or `crockford`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alphabet::Decimal => "decimal",
            Alphabet::Crockford => "crockford",
        }
    }

    /// Reads back [`Alphabet::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Alphabet::Decimal, Alphabet::Crockford]
            .into_iter()
            .find(|a| a.as_str() == name)
    }

    /// The number of distinct symbols.
    pub const fn radix(self) -> u8 {
        match self {
            Alphabet::Decimal => 10,
            Alphabet::Crockford => 32,
        }
    }

    fn symbol(self, value: u8) -> u8 {
        match self {
            // Arithmetic, not a table: the value is secret.
            Alphabet::Decimal => b'0' + value,
            // One 32-byte table fits in a cache line.
            Alphabet::Crockford => Self::CROCKFORD[usize::from(value & 31)],
        }
    }

    fn value(self, c: char) -> Option<u8> {
        match self {
            Alphabet::Decimal => c.to_digit(10).map(|d| d as u8),
            Alphabet::Crockford => {
                let c = match c.to_ascii_uppercase() {
                    'O' => '0',
                    'I' | 'L' => '1',
                    other => other,
                };
                let c = u8::try_from(c).ok()?;
                Self::CROCKFORD
                    .iter()
                    .position(|&s| s == c)
                    .map(|p| p as u8)
            }
        }
    }

    pub(crate) const fn tag(self) -> u8 {
        match self {
            Alphabet::Decimal => 0,
            Alphabet::Crockford => 1,
        }
    }
}

/// The shape of a code: an [`Alphabet`] and a length of 4 to 10 symbols.
///
/// The default is 6 decimal digits, the minimum of NIST SP 800-63B rev. 4 for
/// out-of-band secrets and ≈ 20 bits (OWASP ASVS 2.7.6 / 6.5.4).
///
/// # Examples
///
/// ```
/// use seccode::CodeFormat;
///
/// assert_eq!(CodeFormat::default(), CodeFormat::digits(6)?);
/// assert_eq!(CodeFormat::digits(8)?.combinations(), 100_000_000);
/// assert!(CodeFormat::digits(3).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodeFormat {
    alphabet: Alphabet,
    length: u8,
}

impl CodeFormat {
    /// Shortest allowed code.
    pub const MIN_LEN: u8 = 4;
    /// Longest allowed code.
    pub const MAX_LEN: u8 = MAX_LEN as u8;

    /// `length` decimal digits.
    ///
    /// # Errors
    ///
    /// [`PolicyError::CodeLength`] unless `4 <= length <= 10`.
    pub const fn digits(length: u8) -> Result<Self, PolicyError> {
        Self::new(Alphabet::Decimal, length)
    }

    /// `length` symbols of Crockford's base 32.
    ///
    /// # Errors
    ///
    /// [`PolicyError::CodeLength`] unless `4 <= length <= 10`.
    pub const fn alphanumeric(length: u8) -> Result<Self, PolicyError> {
        Self::new(Alphabet::Crockford, length)
    }

    /// A code of `length` symbols from `alphabet`.
    ///
    /// # Errors
    ///
    /// [`PolicyError::CodeLength`] unless `4 <= length <= 10`.
    pub const fn new(alphabet: Alphabet, length: u8) -> Result<Self, PolicyError> {
        if length < Self::MIN_LEN || length > Self::MAX_LEN {
            return Err(PolicyError::CodeLength);
        }
        Ok(Self { alphabet, length })
    }

    /// The alphabet.
    pub const fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// The number of symbols.
    pub const fn length(&self) -> u8 {
        self.length
    }

    /// How many distinct codes exist: `radix ^ length` (at most 32¹⁰ = 2⁵⁰).
    pub const fn combinations(&self) -> u64 {
        (self.alphabet.radix() as u64).pow(self.length as u32)
    }

    /// The code's entropy in bits.
    pub fn bits(&self) -> f64 {
        (self.combinations() as f64).log2()
    }

    /// Reads what a person typed as a code of this format, so a form can check
    /// input before submitting it: `Ok` is the code as the crate reads it (e.g.
    /// `"123456"`), `Err` says why the input cannot be any code of this format.
    ///
    /// Accepted: surrounding white space; separators between symbols (spaces of
    /// any kind, tabs, newlines, dashes and dots); full-width forms (`１２３`) as
    /// produced by East Asian input methods (Unicode NFKC); any case for
    /// alphanumeric codes. The same normaliser reads phone numbers and last-four
    /// digits ([`Contact`](crate::Contact)).
    ///
    /// [`SecurityCodes::verify`](crate::SecurityCodes::verify) answers malformed
    /// input with [`Rejection::Malformed`](crate::Rejection::Malformed) *without*
    /// counting an attempt: it can match no code, and the answer does not depend
    /// on the code, so it tells a guesser nothing.
    ///
    /// # Errors
    ///
    /// [`Malformed`] with the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use seccode::{CodeFormat, Malformed};
    ///
    /// let format = CodeFormat::default();
    /// assert_eq!(format.normalize(" １２３ ４５６ ")?.expose(), "123456");
    /// assert_eq!(format.normalize("12345"), Err(Malformed::WrongLength { expected: 6, found: 5 }));
    /// assert_eq!(format.normalize("12345x"), Err(Malformed::InvalidCharacter));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn normalize(&self, input: &str) -> Result<Code, Malformed> {
        self.value(input).map(|v| self.render(&v))
    }

    /// [`CodeFormat::normalize`] into a code value.
    pub(crate) fn value(&self, input: &str) -> Result<CodeValue, Malformed> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(Malformed::TooLong);
        }
        if let Some(value) = self.normalize_plain(input.as_bytes()) {
            return Ok(value);
        }
        let radix = u64::from(self.alphabet.radix());
        let mut value = CodeValue(0);
        let mut found = 0usize;
        for c in typed::symbols(input) {
            let symbol = self.alphabet.value(c).ok_or(Malformed::InvalidCharacter)?;
            if found < MAX_LEN {
                value.0 = value.0 * radix + u64::from(symbol);
            }
            found += 1;
        }
        if found == 0 {
            return Err(Malformed::Empty);
        }
        if found != usize::from(self.length) {
            return Err(Malformed::WrongLength {
                expected: self.length,
                found,
            });
        }
        Ok(value)
    }

    /// The common case without separators or Unicode: exactly `length` ASCII
    /// digits. `None` sends the input down the general path.
    fn normalize_plain(&self, input: &[u8]) -> Option<CodeValue> {
        if input.len() != usize::from(self.length) || self.alphabet != Alphabet::Decimal {
            return None;
        }
        let mut value = CodeValue(0);
        for &b in input {
            if !b.is_ascii_digit() {
                return None;
            }
            value.0 = value.0 * 10 + u64::from(b - b'0');
        }
        Some(value)
    }

    /// Turns a uniformly random 192-bit big-endian number `x` (the first 24 bytes
    /// of `random`, which must have at least 24) into a code value
    /// `floor(x · m / 2^192)`, where `m = radix^length` is the number of codes.
    ///
    /// This is Lemire's multiply-shift reduction: three 64×64-bit multiplications,
    /// no division (whose timing can depend on the secret), and a statistical
    /// distance from uniform below `m / 2^192 ≤ 2^50 / 2^192 = 2^-142` — far below
    /// the 2^-100 the design asks for, where `x mod m` on 64 bits would be
    /// biased by up to `m / 2^64`.
    pub(crate) fn reduce(&self, random: &[u8]) -> CodeValue {
        let mut limbs = [0u64; 3];
        for (limb, chunk) in limbs.iter_mut().zip(random.chunks_exact(8)) {
            let mut be = [0u8; 8];
            be.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(be);
        }
        let m = u128::from(self.combinations());
        // limbs[0] is the most significant. Accumulate x · m from the bottom limb
        // up, keeping only the carry into the next 64 bits.
        let mut acc = (u128::from(limbs[2]) * m) >> 64;
        acc = (acc + u128::from(limbs[1]) * m) >> 64;
        acc = (acc + u128::from(limbs[0]) * m) >> 64;
        limbs.zeroize();
        CodeValue(acc as u64)
    }

    /// Writes a code value in the format's alphabet, most significant symbol first.
    pub(crate) fn render(&self, value: &CodeValue) -> Code {
        let mut code = Code {
            bytes: [0; MAX_LEN],
            len: self.length,
        };
        let mut rest = value.0;
        for out in code.bytes[..usize::from(self.length)].iter_mut().rev() {
            // Constant divisors compile to multiplications and shifts.
            let symbol = match self.alphabet {
                Alphabet::Decimal => {
                    let d = rest % 10;
                    rest /= 10;
                    d
                }
                Alphabet::Crockford => {
                    let d = rest & 31;
                    rest >>= 5;
                    d
                }
            };
            *out = self.alphabet.symbol(symbol as u8);
        }
        code
    }
}

impl Default for CodeFormat {
    fn default() -> Self {
        Self {
            alphabet: Alphabet::Decimal,
            length: 6,
        }
    }
}

/// What typed input amounts to under each alphabet — how many symbols it
/// has, or why it can be no code of that alphabet — without the input itself
/// (no code is in it). [`GuessRule::count`](crate::store::GuessRule::count)
/// decides with it whether input fits the challenge's own format before
/// counting anything, and a store that counts guesses where the input is not
/// (a Redis script) is given it to decide the same: input that fits no code
/// of the challenge counts nothing, whatever format each challenge was issued
/// with.
///
/// # Examples
///
/// ```
/// use seccode::{Alphabet, CodeFormat, Malformed, store::InputShape};
///
/// let shape = InputShape::of("12 34 5");
/// assert_eq!(shape.symbols(Alphabet::Decimal), Ok(5));
/// assert_eq!(shape.fits(CodeFormat::digits(5)?), Ok(()));
/// assert_eq!(
///     shape.fits(CodeFormat::digits(6)?),
///     Err(Malformed::WrongLength { expected: 6, found: 5 })
/// );
/// assert_eq!(InputShape::of("7K3Q").symbols(Alphabet::Decimal), Err(Malformed::InvalidCharacter));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    decimal: Result<usize, Malformed>,
    crockford: Result<usize, Malformed>,
}

impl InputShape {
    /// The shape of `input`, read as [`CodeFormat::normalize`] reads it.
    pub fn of(input: &str) -> Self {
        if !input.is_empty()
            && input.len() <= MAX_INPUT_BYTES
            && input.bytes().all(|b| b.is_ascii_digit())
        {
            // The common case: plain digits, which both alphabets hold.
            return Self {
                decimal: Ok(input.len()),
                crockford: Ok(input.len()),
            };
        }
        Self {
            decimal: count_symbols(Alphabet::Decimal, input),
            crockford: count_symbols(Alphabet::Crockford, input),
        }
    }

    /// How many symbols of `alphabet` the input has, or why it has none.
    ///
    /// # Errors
    ///
    /// Why the input is no code of `alphabet`.
    pub fn symbols(&self, alphabet: Alphabet) -> Result<usize, Malformed> {
        match alphabet {
            Alphabet::Decimal => self.decimal,
            Alphabet::Crockford => self.crockford,
        }
    }

    /// Whether the input is shaped like a code of `format`: exactly what
    /// [`CodeFormat::normalize`] accepts.
    ///
    /// # Errors
    ///
    /// The [`Malformed`] reason `normalize` gives.
    pub fn fits(&self, format: CodeFormat) -> Result<(), Malformed> {
        let found = self.symbols(format.alphabet())?;
        if found == usize::from(format.length()) {
            Ok(())
        } else {
            Err(Malformed::WrongLength {
                expected: format.length(),
                found,
            })
        }
    }
}

/// The symbols of `alphabet` in `input`, by the rules of [`CodeFormat::value`].
fn count_symbols(alphabet: Alphabet, input: &str) -> Result<usize, Malformed> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(Malformed::TooLong);
    }
    let mut found = 0usize;
    for c in typed::symbols(input) {
        alphabet.value(c).ok_or(Malformed::InvalidCharacter)?;
        found += 1;
    }
    if found == 0 {
        return Err(Malformed::Empty);
    }
    Ok(found)
}

/// Why typed input is not a code of the expected format. It can match no code, so
/// it is answered without counting an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Nothing but white space and separators.
    #[error("no code was entered")]
    Empty,
    /// The wrong number of symbols.
    #[error("expected {expected} characters, got {found}")]
    WrongLength {
        /// Symbols the format has.
        expected: u8,
        /// Symbols entered.
        found: usize,
    },
    /// A character outside the code's alphabet.
    #[error("the code contains a character that is not allowed")]
    InvalidCharacter,
    /// Far longer than any code.
    #[error("the input is too long")]
    TooLong,
}

/// A code as a number in `[0, radix^length)`; zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub(crate) struct CodeValue(u64);

impl CodeValue {
    pub(crate) fn to_bytes(&self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
}

impl fmt::Debug for CodeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeValue(<redacted>)")
    }
}

/// A plaintext security code, on its way to a [`DeliveryChannel`](crate::channel::DeliveryChannel).
///
/// It zeroizes its bytes on drop, prints as `Code(<redacted>)` under `Debug` and has
/// no `Display`, so it cannot end up in a log by accident. [`Code::expose`] is the
/// one way to read it, for the channel that sends it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl Code {
    /// The code's characters, e.g. `"402918"`. Hand them to the person, never to a log.
    pub fn expose(&self) -> &str {
        // Only ASCII symbols are ever written.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: codes have at least four characters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn an_input_shape_fits_exactly_what_normalize_accepts(
            input in "[0-9a-zA-Z \\-.\t\u{3000}\u{FF10}-\u{FF19}ｌé]{0,14}|.{0,70}",
            length in CodeFormat::MIN_LEN..=CodeFormat::MAX_LEN,
            crockford: bool,
        ) {
            let alphabet = if crockford { Alphabet::Crockford } else { Alphabet::Decimal };
            let format = CodeFormat::new(alphabet, length).unwrap();
            proptest::prop_assert_eq!(
                InputShape::of(&input).fits(format),
                format.value(&input).map(|_| ()),
                "{:?}", input
            );
        }
    }

    fn digits6() -> CodeFormat {
        CodeFormat::default()
    }

    #[test]
    fn normalizes_what_people_type() {
        let f = digits6();
        let want = f.value("123456").unwrap();
        for typed in [
            " 123456 ",
            "123 456",
            "123-456",
            "１２３４５６",
            "12 34 56\n",
            "123\u{3000}456",
        ] {
            assert_eq!(f.value(typed).unwrap(), want, "{typed:?}");
        }
    }

    #[test]
    fn malformed_input_is_reported_not_panicked() {
        let f = digits6();
        assert_eq!(f.value(""), Err(Malformed::Empty));
        assert_eq!(f.value(" - "), Err(Malformed::Empty));
        assert_eq!(
            f.value("12345"),
            Err(Malformed::WrongLength {
                expected: 6,
                found: 5
            })
        );
        assert_eq!(
            f.value("12345678901234"),
            Err(Malformed::WrongLength {
                expected: 6,
                found: 14
            })
        );
        assert_eq!(f.value("12a456"), Err(Malformed::InvalidCharacter));
        assert_eq!(f.value("١٢٣٤٥٦"), Err(Malformed::InvalidCharacter));
        assert_eq!(f.value(&"1".repeat(65)), Err(Malformed::TooLong));
    }

    #[test]
    fn crockford_input_ignores_case_and_confusables() {
        let f = CodeFormat::alphanumeric(6).unwrap();
        let a = f.value("01ABCZ").unwrap();
        assert_eq!(f.value("oiabcz").unwrap(), a);
        assert_eq!(f.value("OL-abc-z").unwrap(), a);
        assert_eq!(f.value("0UABCZ"), Err(Malformed::InvalidCharacter));
    }

    #[test]
    fn reduce_renders_in_format() {
        for format in [
            CodeFormat::digits(4).unwrap(),
            CodeFormat::digits(10).unwrap(),
            CodeFormat::alphanumeric(8).unwrap(),
        ] {
            for seed in 0u8..50 {
                let value = format.reduce(&[seed.wrapping_mul(37); 24]);
                let code = format.render(&value);
                assert_eq!(code.len(), usize::from(format.length()));
                assert_eq!(format.value(code.expose()).unwrap(), value);
            }
        }
    }

    #[test]
    fn reduce_is_multiply_shift() {
        // x = 0.5 → 0.5 · 10^6 = 500000.
        let mut half = [0u8; 24];
        half[0] = 0x80;
        let f = digits6();
        assert_eq!(f.render(&f.reduce(&half)).expose(), "500000");
        assert_eq!(f.render(&f.reduce(&[0xFF; 24])).expose(), "999999");
        assert_eq!(f.render(&f.reduce(&[0; 24])).expose(), "000000");
    }

    #[test]
    fn code_debug_is_redacted() {
        let f = digits6();
        let code = f.render(&f.reduce(&[7; 24]));
        assert_eq!(format!("{code:?}"), "Code(<redacted>)");
        assert!(!format!("{code:?}").contains(code.expose()));
    }
}
