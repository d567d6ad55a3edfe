//! [`CodeText`]: the words of one SMS or call, chosen by the application for
//! one send instead of the templates'.

use std::fmt;

use crate::error::Error;

/// The most characters a [`CodeText`] may have around its code: four SMS of
/// GSM-7 text.
const MAX_CHARS: usize = 640;

/// The words of one code SMS or call, chosen by the application for one send
/// ([`SendOptions::code_text`](crate::SendOptions::code_text)) instead of the
/// [`Templates`](crate::Templates)' — a Twilio Verify message template with
/// its variables already filled in, say (seccode-server's `TemplateSid`).
///
/// The code stands exactly once, where `{code}` stands in [`CodeText::new`]'s
/// text (or between [`CodeText::around`]'s two parts): an SMS carries the
/// code as it is, a call its characters one by one. The text is the whole
/// sentence — no application name is put before it and no do-not-share
/// warning after it, since the text says what it wants said — but what
/// protects the person still follows it: a payment's amount and payee
/// ([`SendOptions::transaction`](crate::SendOptions::transaction)), then the
/// templates' WebOTP or app-hash line and the send's
/// [`SendOptions::android_app_hash`](crate::SendOptions::android_app_hash),
/// each on a line of its own. An email keeps its templates' texts.
///
/// `Debug` shows the text's length only (an application's variables may be
/// personal).
///
/// # Examples
///
/// ```
/// use seccode::CodeText;
///
/// let text = CodeText::new("Your Contoso verification code is: {code}. Do not share it.")?;
/// assert_eq!(text.fill("402918"), "Your Contoso verification code is: 402918. Do not share it.");
/// assert!(CodeText::new("No code here").is_err());
/// assert!(CodeText::new("{code} and {code}").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CodeText {
    before: String,
    after: String,
}

impl CodeText {
    /// Where the code stands in [`CodeText::new`]'s text.
    pub const PLACEHOLDER: &'static str = "{code}";

    /// A text with the code where [`CodeText::PLACEHOLDER`] (`{code}`) stands.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if `{code}` does not stand exactly once, or as
    /// [`CodeText::around`] says.
    pub fn new(text: &str) -> Result<Self, Error> {
        let mut parts = text.split(Self::PLACEHOLDER);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(before), Some(after), None) => Self::around(before, after),
            _ => Err(invalid("`{code}` must stand exactly once")),
        }
    }

    /// A text with the code between `before` and `after`, taken as they are
    /// (a `{code}` inside them is text, not a placeholder: an application
    /// that fills in its own variables first cannot be tricked by a value
    /// into repeating the code).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the parts hold a control character other
    /// than a line feed, have more than 640 characters together, or say
    /// nothing (both blank).
    pub fn around(before: &str, after: &str) -> Result<Self, Error> {
        let chars = before.chars().chain(after.chars());
        if chars.clone().any(|c| c.is_control() && c != '\n') {
            return Err(invalid("no control characters but line feeds"));
        }
        if chars.clone().count() > MAX_CHARS {
            return Err(invalid("at most 640 characters around the code"));
        }
        if chars.clone().all(char::is_whitespace) {
            return Err(invalid("words around the code"));
        }
        Ok(Self {
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    /// The text with `code` in its place.
    #[must_use]
    pub fn fill(&self, code: &str) -> String {
        let mut text = String::with_capacity(self.before.len() + code.len() + self.after.len());
        text.push_str(&self.before);
        text.push_str(code);
        text.push_str(&self.after);
        text
    }
}

fn invalid(reason: &'static str) -> Error {
    Error::InvalidInput {
        field: "code text",
        reason,
    }
}

impl fmt::Debug for CodeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeText")
            .field(
                "chars",
                &(self.before.chars().count() + self.after.chars().count()),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_stands_once_where_the_placeholder_stood() {
        let text = CodeText::new("{code} is your code").unwrap();
        assert_eq!(text.fill("1234"), "1234 is your code");
        let text = CodeText::new("Code:\n{code}").unwrap();
        assert_eq!(text.fill("99"), "Code:\n99");
        for bad in [
            "",
            "no code",
            "{code}{code}",
            "{code}",
            "  {code} \n",
            "a\r{code}",
        ] {
            assert!(CodeText::new(bad).is_err(), "{bad:?}");
        }
        assert!(CodeText::new(&format!("{}{{code}}", "x".repeat(641))).is_err());
        assert!(CodeText::new(&format!("{}{{code}}", "x".repeat(640))).is_ok());
    }

    #[test]
    fn a_placeholder_inside_a_part_is_text() {
        let text = CodeText::around("Hi {code} ", ".").unwrap();
        assert_eq!(text.fill("12"), "Hi {code} 12.");
    }

    #[test]
    fn debug_shows_no_words() {
        let text = CodeText::new("Ann Smith, your code is {code}").unwrap();
        let debug = format!("{text:?}");
        assert!(!debug.contains("Ann"), "{debug}");
    }
}
