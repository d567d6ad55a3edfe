//! [`CodeText`] and [`EmailText`]: the words of one SMS, call or email,
//! chosen by the application for one send instead of the templates'.

use std::fmt;

use crate::error::Error;

/// The most characters a [`CodeText`] may have around its code (a long
/// email's HTML).
const MAX_CHARS: usize = 20_000;
/// The most characters of an [`EmailText`]'s subject.
const MAX_SUBJECT_CHARS: usize = 200;

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
/// each on a line of its own. An email keeps its templates' texts (see
/// [`EmailText`] for an email's own).
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
    /// than a line feed or a tab, have more than 20 000 characters together,
    /// or say nothing (both blank). (Whether an SMS fits one segment is the
    /// application's to check: [`sms_segments`](crate::channel::sms_segments).)
    pub fn around(before: &str, after: &str) -> Result<Self, Error> {
        let chars = before.chars().chain(after.chars());
        if chars
            .clone()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(invalid("no control characters but line feeds and tabs"));
        }
        if chars.clone().count() > MAX_CHARS {
            return Err(invalid("at most 20000 characters around the code"));
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

/// The words of one code email, chosen by the application for one send
/// ([`SendOptions::email_text`](crate::SendOptions::email_text)) instead of
/// the [`Templates`](crate::Templates)' — an email template with its
/// variables filled in, say (seccode-server's `ChannelConfiguration`
/// `template_id`): a subject, a plain text and, if given, an HTML part, the
/// code in each text where its [`CodeText`] places it. As with a
/// [`CodeText`], no application name is put before the subject, and a
/// payment's amount and payee still follow the texts (escaped in the HTML).
/// An SMS or a call keeps its own words.
///
/// The HTML is taken as it is: escape any value filled into it first
/// ([`escape_html`](crate::channel::escape_html)).
/// `Debug` shows the lengths only.
///
/// # Examples
///
/// ```
/// use seccode::{CodeText, EmailText};
///
/// let email = EmailText::new("Your Contoso code", CodeText::new("Your code is {code}.")?)?
///     .with_html(CodeText::new("<p>Your code is <b>{code}</b>.</p>")?);
/// assert_eq!(email.subject(), "Your Contoso code");
/// assert!(EmailText::new("Two\nlines", CodeText::new("{code}!")?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EmailText {
    subject: String,
    text: CodeText,
    html: Option<CodeText>,
}

impl EmailText {
    /// A subject (1 to 200 characters, no line breaks or other control
    /// characters) and a plain text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the subject is not one.
    pub fn new(subject: &str, text: CodeText) -> Result<Self, Error> {
        let chars = subject.chars().count();
        if !(1..=MAX_SUBJECT_CHARS).contains(&chars) || subject.chars().any(char::is_control) {
            return Err(Error::InvalidInput {
                field: "email subject",
                reason: "1 to 200 characters without line breaks",
            });
        }
        Ok(Self {
            subject: subject.to_owned(),
            text,
            html: None,
        })
    }

    /// The same with an HTML part.
    #[must_use]
    pub fn with_html(mut self, html: CodeText) -> Self {
        self.html = Some(html);
        self
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain text.
    pub fn text(&self) -> &CodeText {
        &self.text
    }

    /// The HTML part, if any.
    pub fn html(&self) -> Option<&CodeText> {
        self.html.as_ref()
    }
}

impl fmt::Debug for EmailText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailText")
            .field("subject_chars", &self.subject.chars().count())
            .field("text", &self.text)
            .field("html", &self.html)
            .finish()
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
        assert!(CodeText::new(&format!("{}{{code}}", "x".repeat(20_001))).is_err());
        assert!(CodeText::new(&format!("{}{{code}}", "x".repeat(20_000))).is_ok());
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
