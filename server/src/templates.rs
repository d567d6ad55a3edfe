//! Message templates: the texts an operator configures (`[[templates]]`)
//! for a verification's `TemplateSid` or a service's `DefaultTemplateSid`
//! to name, as Twilio's Verify templates are named — each with its
//! translations, the code at `{{code}}`, the service's name at
//! `{{friendly_name}}` and any other `{{Name}}` filled in from the
//! verification's `TemplateCustomSubstitutions`.
//!
//! A text is checked when the server starts (the code exactly once, every
//! `{{` closed, variable names of letters, digits and `_`), and the message a
//! start would send is checked before anything is counted: every variable
//! given and no other, and, for an SMS, one segment at most — as Twilio's
//! reviewed templates are.

use std::collections::{BTreeMap, BTreeSet};

use seccode::{CodeText, EmailText};

use crate::config::{EmailTemplateConfig, TemplateConfig, is_sid};

/// The locales the server writes its own messages in (each a shipped
/// Fluent file of seccode's, or one whose language's file reads right for it).
pub(crate) const WRITTEN: &[&str] = &[
    "en", "en-GB", "da", "de", "es", "fr", "fr-CA", "it", "ja", "nb", "nl", "pl", "pt-BR", "ru",
    "sv", "zh", "zh-CN",
];

/// The other locales Twilio lists for Verify: a template may be translated
/// into them.
pub(crate) const NOT_WRITTEN: &[&str] = &[
    "af", "ar", "ca", "cs", "el", "et", "fi", "he", "hi", "hr", "hu", "id", "ko", "lt", "ms", "pt",
    "ro", "th", "tl", "tr", "uk", "vi", "zh-HK",
];

/// The Verify locale `tag` names (any case), as Twilio spells it.
pub(crate) fn twilio_locale(tag: &str) -> Option<&'static str> {
    WRITTEN
        .iter()
        .chain(NOT_WRITTEN)
        .copied()
        .find(|l| l.eq_ignore_ascii_case(tag.trim()))
}

/// What the code's place is called in a template.
const CODE: &str = "code";
/// What the service's (or the verification's custom) name is called.
const FRIENDLY_NAME: &str = "friendly_name";
/// The longest value a custom variable may take.
const MAX_VALUE_CHARS: usize = 128;

/// A part of a template's text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(String),
}

/// One translation of a template, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Translation {
    /// The text as configured (what `/v2/Templates` lists).
    pub(crate) source: String,
    /// What the code's variable is called (`code`; `twilio_code` in an
    /// email).
    code: &'static str,
    parts: Vec<Part>,
}

/// A configured template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    /// `HJ…`.
    pub(crate) sid: String,
    pub(crate) friendly_name: String,
    /// `sms` and/or `voice` (a `call` verification).
    pub(crate) channels: Vec<String>,
    /// The translation used where the verification's locale has none.
    pub(crate) default_locale: String,
    pub(crate) translations: BTreeMap<String, Translation>,
}

/// The configured templates, by SID, and the email templates, by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct TemplateSet {
    by_sid: BTreeMap<String, Template>,
    emails: BTreeMap<String, EmailTemplate>,
}

impl Translation {
    /// Parses an SMS or call text: literal text and `{{name}}` variables,
    /// `{{code}}` exactly once.
    ///
    /// # Errors
    ///
    /// What is wrong with it, for the configuration's error.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Self::parse_with(text, CODE, 1)
    }

    /// Parses `text` with the code called `code`, standing `times` times
    /// (an email's subject: none).
    fn parse_with(text: &str, code: &'static str, times: usize) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| "a `{{` is not closed by `}}`".to_owned())?;
            let name = after[..close].trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "`{{{{{name}}}}}` is not a variable name (letters, digits and _)"
                ));
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err("a `}}` closes nothing".to_owned());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let codes = parts
            .iter()
            .filter(|p| matches!(p, Part::Variable(v) if v == code))
            .count();
        if codes != times {
            return Err(format!(
                "`{{{{{code}}}}}` must stand {} (it stands {codes} times)",
                if times == 1 {
                    "exactly once"
                } else {
                    "nowhere"
                }
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("no control characters but line feeds and tabs".to_owned());
        }
        Ok(Self {
            source: text.to_owned(),
            code,
            parts,
        })
    }

    /// The variables a verification fills in through
    /// `TemplateCustomSubstitutions` (all but the code and `friendly_name`).
    pub(crate) fn custom_variables(&self) -> BTreeSet<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Variable(v) if v != self.code && v != FRIENDLY_NAME => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The text with `friendly_name` and `values` filled in (through
    /// `escape`), split where the code stands.
    fn fill(
        &self,
        friendly_name: &str,
        values: &BTreeMap<String, String>,
        escape: fn(&str) -> String,
    ) -> (String, String) {
        let (mut before, mut after) = (String::new(), String::new());
        let mut seen_code = false;
        for part in &self.parts {
            let out = if seen_code { &mut after } else { &mut before };
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(v) if v == self.code => seen_code = true,
                Part::Variable(v) if v == FRIENDLY_NAME => out.push_str(&escape(friendly_name)),
                Part::Variable(v) => {
                    out.push_str(&escape(values.get(v).map_or("", String::as_str)));
                }
            }
        }
        (before, after)
    }

    /// The text with `friendly_name` and `values` filled in, the code's
    /// place left for seccode to fill ([`CodeText::around`]: a value that
    /// reads `{code}` stays text).
    ///
    /// # Errors
    ///
    /// A variable without a value, or a value nothing uses, named.
    pub(crate) fn code_text(
        &self,
        friendly_name: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<CodeText, String> {
        all_given(&self.custom_variables(), values)?;
        let (before, after) = self.fill(friendly_name, values, str::to_owned);
        CodeText::around(&before, &after).map_err(|e| e.to_string())
    }
}

/// Every variable of `wanted` has a value, and every value a variable.
fn all_given(wanted: &BTreeSet<&str>, values: &BTreeMap<String, String>) -> Result<(), String> {
    if let Some(missing) = wanted.iter().find(|v| !values.contains_key(**v)) {
        return Err(format!("the template's variable {missing} has no value"));
    }
    if let Some(unused) = values.keys().find(|k| !wanted.contains(k.as_str())) {
        return Err(format!("the template has no variable {unused}"));
    }
    Ok(())
}

/// A configured email template (`[[email_templates]]`), named by an email
/// verification's `ChannelConfiguration` `template_id`: a subject, a text and
/// an HTML part, the code at `{{twilio_code}}` (as Twilio's SendGrid
/// templates have it) and the `substitutions` filled in — escaped in the
/// HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EmailTemplate {
    pub(crate) id: String,
    subject: Translation,
    text: Translation,
    html: Option<Translation>,
}

/// What an email template calls the code.
const EMAIL_CODE: &str = "twilio_code";

impl EmailTemplate {
    /// Checks and parses a configured email template; the error names the
    /// key.
    fn from_config(c: &EmailTemplateConfig) -> Result<Self, (String, String)> {
        let ok_id = (1..=64).contains(&c.id.len())
            && c.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok_id {
            return Err((
                "id".to_owned(),
                "1 to 64 letters, digits, - or _ (a SendGrid id such as d-0123…)".to_owned(),
            ));
        }
        let subject = Translation::parse_with(&c.subject, EMAIL_CODE, 0)
            .map_err(|p| ("subject".to_owned(), p))?;
        if c.subject.contains('\n') || c.subject.trim().is_empty() {
            return Err(("subject".to_owned(), "one line, not blank".to_owned()));
        }
        let text =
            Translation::parse_with(&c.text, EMAIL_CODE, 1).map_err(|p| ("text".to_owned(), p))?;
        let html = match &c.html {
            Some(html) => Some(
                Translation::parse_with(html, EMAIL_CODE, 1).map_err(|p| ("html".to_owned(), p))?,
            ),
            None => None,
        };
        Ok(Self {
            id: c.id.clone(),
            subject,
            text,
            html,
        })
    }

    /// The email with `friendly_name` and `values` filled in (escaped in
    /// the HTML).
    ///
    /// # Errors
    ///
    /// A variable without a value, or a value nothing uses, named.
    pub(crate) fn email_text(
        &self,
        friendly_name: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<EmailText, String> {
        let mut wanted = self.subject.custom_variables();
        wanted.extend(self.text.custom_variables());
        if let Some(html) = &self.html {
            wanted.extend(html.custom_variables());
        }
        all_given(&wanted, values)?;
        let (subject, _) = self.subject.fill(friendly_name, values, str::to_owned);
        let (before, after) = self.text.fill(friendly_name, values, str::to_owned);
        let text = CodeText::around(&before, &after).map_err(|e| e.to_string())?;
        let mut email = EmailText::new(&subject, text).map_err(|e| e.to_string())?;
        if let Some(html) = &self.html {
            let (before, after) = html.fill(friendly_name, values, seccode::channel::escape_html);
            email = email.with_html(CodeText::around(&before, &after).map_err(|e| e.to_string())?);
        }
        Ok(email)
    }
}

impl Template {
    /// Checks and parses a configured template; the error names the key
    /// under `templates[index]`.
    pub(crate) fn from_config(c: &TemplateConfig) -> Result<Self, (String, String)> {
        let key = |k: &str| k.to_owned();
        if !is_sid(&c.sid, "HJ") {
            return Err((key("sid"), "expected HJ and 32 hex digits".to_owned()));
        }
        let name_chars = c.friendly_name.chars().count();
        if !(1..=32).contains(&name_chars) || c.friendly_name.chars().any(char::is_control) {
            return Err((
                key("friendly_name"),
                "1 to 32 characters without line breaks".to_owned(),
            ));
        }
        if c.channels.is_empty()
            || c.channels
                .iter()
                .any(|ch| !matches!(ch.as_str(), "sms" | "voice"))
        {
            return Err((
                key("channels"),
                "one or both of \"sms\" and \"voice\"".to_owned(),
            ));
        }
        if c.translations.is_empty() {
            return Err((
                key("translations"),
                "at least one: a locale = the text".to_owned(),
            ));
        }
        let mut translations = BTreeMap::new();
        for (locale, text) in &c.translations {
            if twilio_locale(locale) != Some(locale.as_str()) {
                return Err((
                    format!("translations.{locale}"),
                    "not one of Twilio's Verify locales as Twilio spells them (en, pt-BR, zh-HK, …)"
                        .to_owned(),
                ));
            }
            let parsed = Translation::parse(text)
                .map_err(|problem| (format!("translations.{locale}"), problem))?;
            translations.insert(locale.clone(), parsed);
        }
        let default_locale = match &c.default_locale {
            Some(locale) => locale.clone(),
            None if translations.contains_key("en") => "en".to_owned(),
            None => {
                return Err((
                    key("default_locale"),
                    "required where there is no `en` translation".to_owned(),
                ));
            }
        };
        if !translations.contains_key(&default_locale) {
            return Err((
                key("default_locale"),
                "expected the locale of one of the translations".to_owned(),
            ));
        }
        let mut channels = c.channels.clone();
        channels.dedup();
        Ok(Self {
            sid: c.sid.clone(),
            friendly_name: c.friendly_name.clone(),
            channels,
            default_locale,
            translations,
        })
    }

    /// Whether the template serves a verification over `channel` (`sms`, or
    /// `call` for its `voice`).
    pub(crate) fn serves(&self, channel: &str) -> bool {
        let wanted = match channel {
            "sms" => "sms",
            "call" => "voice",
            _ => return false,
        };
        self.channels.iter().any(|c| c == wanted)
    }

    /// The translation for `locale`: its own, else its language's (`fr` for
    /// `fr-CA`), else the template's default — as Twilio falls back to "the
    /// template's default translation".
    pub(crate) fn translation(&self, locale: &str) -> &Translation {
        let language = locale.split('-').next().unwrap_or(locale);
        self.translations
            .iter()
            .find(|(tag, _)| tag.eq_ignore_ascii_case(locale))
            .or_else(|| {
                self.translations
                    .iter()
                    .find(|(tag, _)| tag.eq_ignore_ascii_case(language))
            })
            .map(|(_, t)| t)
            .or_else(|| self.translations.get(&self.default_locale))
            .unwrap_or_else(|| {
                // `from_config` checked the default is one of them, and
                // there is at least one.
                self.translations
                    .values()
                    .next()
                    .unwrap_or_else(|| unreachable!("a template has a translation"))
            })
    }
}

impl TemplateSet {
    /// The configured templates, checked.
    ///
    /// # Errors
    ///
    /// The first key that is wrong (`templates[i].…`) and why.
    pub(crate) fn from_config(
        list: &[TemplateConfig],
        emails: &[EmailTemplateConfig],
    ) -> Result<Self, (String, String)> {
        let mut by_sid = BTreeMap::new();
        for (i, c) in list.iter().enumerate() {
            let t =
                Template::from_config(c).map_err(|(k, p)| (format!("templates[{i}].{k}"), p))?;
            if by_sid.contains_key(&t.sid) {
                return Err((
                    format!("templates[{i}].sid"),
                    "another template has this sid".to_owned(),
                ));
            }
            by_sid.insert(t.sid.clone(), t);
        }
        let mut by_id = BTreeMap::new();
        for (i, c) in emails.iter().enumerate() {
            let t = EmailTemplate::from_config(c)
                .map_err(|(k, p)| (format!("email_templates[{i}].{k}"), p))?;
            if by_id.contains_key(&t.id) {
                return Err((
                    format!("email_templates[{i}].id"),
                    "another email template has this id".to_owned(),
                ));
            }
            by_id.insert(t.id.clone(), t);
        }
        Ok(Self {
            by_sid,
            emails: by_id,
        })
    }

    /// The email template `id` names, if configured.
    pub(crate) fn email(&self, id: &str) -> Option<&EmailTemplate> {
        self.emails.get(id)
    }

    /// The template `sid` names, if configured.
    pub(crate) fn get(&self, sid: &str) -> Option<&Template> {
        self.by_sid.get(sid)
    }

    /// Every template, by SID.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Template> {
        self.by_sid.values()
    }
}

/// `TemplateCustomSubstitutions`: a JSON object of strings (1 to 128
/// characters, no control characters).
///
/// # Errors
///
/// What is wrong with it.
pub(crate) fn substitutions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "a JSON object of strings".to_owned())?;
    let object = value
        .as_object()
        .ok_or_else(|| "a JSON object of strings".to_owned())?;
    object
        .iter()
        .map(|(k, v)| {
            // A key is a variable name: safe to name in an error (an error
            // body never echoes arbitrary text).
            let name = (1..=64).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !name {
                return Err(
                    "its keys are variable names (1 to 64 letters, digits and _)".to_owned(),
                );
            }
            let value = v
                .as_str()
                .ok_or_else(|| format!("the value of {k} is not a string"))?;
            let chars = value.chars().count();
            if !(1..=MAX_VALUE_CHARS).contains(&chars) || value.chars().any(char::is_control) {
                return Err(format!(
                    "the value of {k}: 1 to {MAX_VALUE_CHARS} characters without line breaks"
                ));
            }
            Ok((k.clone(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_translation_fills_its_variables_and_leaves_the_code_to_seccode() {
        let t = Translation::parse(
            "{{AppName}}: your {{friendly_name}} code is {{ code }}. {{Contact}}",
        )
        .unwrap();
        assert_eq!(t.custom_variables(), BTreeSet::from(["AppName", "Contact"]));
        let text = t
            .code_text(
                "Contoso",
                &values(&[("AppName", "MyApp"), ("Contact", "{code}")]),
            )
            .unwrap();
        // A value that reads `{code}` stays text: the code stands once.
        assert_eq!(
            text.fill("1234"),
            "MyApp: your Contoso code is 1234. {code}"
        );
        assert_eq!(
            t.code_text("Contoso", &values(&[("AppName", "MyApp")])),
            Err("the template's variable Contact has no value".to_owned())
        );
        assert_eq!(
            t.code_text(
                "Contoso",
                &values(&[("AppName", "a"), ("Contact", "b"), ("Other", "c")])
            ),
            Err("the template has no variable Other".to_owned())
        );
    }

    #[test]
    fn a_text_without_its_code_or_with_broken_braces_is_refused() {
        for bad in [
            "no code",
            "{{code}} {{code}}",
            "{{code",
            "{{code}} }}",
            "{{}} {{code}}",
            "{{a b}} {{code}}",
            "{{code}}\r",
        ] {
            assert!(Translation::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_locale_without_a_translation_falls_back_to_its_language_then_the_default() {
        let config = TemplateConfig {
            sid: "HJ0123456789abcdef0123456789abcdef".to_owned(),
            friendly_name: "Base".to_owned(),
            channels: vec!["sms".to_owned()],
            default_locale: Some("fr".to_owned()),
            translations: BTreeMap::from([
                ("fr".to_owned(), "Code : {{code}}".to_owned()),
                ("pt-BR".to_owned(), "Código: {{code}}".to_owned()),
            ]),
        };
        let t = Template::from_config(&config).unwrap();
        assert_eq!(t.translation("pt-BR").source, "Código: {{code}}");
        assert_eq!(t.translation("fr-CA").source, "Code : {{code}}");
        assert_eq!(t.translation("de").source, "Code : {{code}}");
        assert!(t.serves("sms") && !t.serves("call") && !t.serves("email"));
    }

    #[test]
    fn an_email_template_puts_the_code_in_its_texts_and_escapes_values_in_its_html() {
        let config = EmailTemplateConfig {
            id: "d-1".to_owned(),
            subject: "{{friendly_name}} for {{user}}".to_owned(),
            text: "{{user}}: {{twilio_code}}".to_owned(),
            html: Some("<p>{{user}}: {{ twilio_code }}</p>".to_owned()),
        };
        let t = EmailTemplate::from_config(&config).unwrap();
        let email = t
            .email_text("Contoso", &values(&[("user", "<Ann>")]))
            .unwrap();
        assert_eq!(email.subject(), "Contoso for <Ann>");
        assert_eq!(email.text().fill("12"), "<Ann>: 12");
        assert_eq!(email.html().unwrap().fill("12"), "<p>&lt;Ann&gt;: 12</p>");
        for (subject, text, key) in [
            ("{{twilio_code}}", "{{twilio_code}}", "subject"),
            ("Two\nlines", "{{twilio_code}}", "subject"),
            ("S", "no code", "text"),
            ("S", "{{code}}", "text"),
        ] {
            let bad = EmailTemplateConfig {
                subject: subject.to_owned(),
                text: text.to_owned(),
                html: None,
                ..config.clone()
            };
            assert_eq!(
                EmailTemplate::from_config(&bad).unwrap_err().0,
                key,
                "{subject} {text}"
            );
        }
    }

    #[test]
    fn substitutions_are_an_object_of_short_strings() {
        assert_eq!(
            substitutions(r#"{"AppName": "MyApp"}"#).unwrap(),
            values(&[("AppName", "MyApp")])
        );
        for bad in [
            "[]",
            "{\"a\": 1}",
            "{\"a\": \"\"}",
            "{\"a\": \"x\\ny\"}",
            "nope",
            "{\"<script>\": \"x\"}",
        ] {
            assert!(substitutions(bad).is_err(), "{bad}");
        }
        assert!(substitutions(&format!("{{\"a\": \"{}\"}}", "x".repeat(129))).is_err());
    }
}
