//! Code messages rendered once with the code as a hole: a template's texts
//! through Fluent once per locale chain, purpose, kind of contact and lifetime,
//! then filled per message with a few copies. Only templates that use the code
//! as a placeable are kept this way (see [`ast_walk`]); the others render
//! through Fluent every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::templates::Texts;
use crate::contact::ContactKind;
use crate::policy::Purpose;

/// The messages of a code message's texts.
pub(super) const CODE_MESSAGES: [&str; 5] = [
    "code-subject",
    "code-email-text",
    "code-email-html",
    "code-sms",
    "code-voice",
];

/// Reading a Fluent pattern for where the code's variables are used.
pub(super) mod ast_walk {
    use fluent_syntax::ast::{
        CallArguments, Expression, InlineExpression, Pattern, PatternElement,
    };

    use super::super::templates::Bundle;

    /// The variables the holes stand for.
    fn is_hole(name: &str) -> bool {
        name == "code" || name == "spoken"
    }

    /// Whether the code's variables appear in `pattern` (and the messages it
    /// references, `depth` deep) only as placeables of their own.
    pub(in crate::channel) fn pattern_ok(
        bundle: &Bundle,
        pattern: &Pattern<&str>,
        depth: u8,
    ) -> bool {
        pattern.elements.iter().all(|e| match e {
            PatternElement::TextElement { .. } => true,
            PatternElement::Placeable { expression } => expression_ok(bundle, expression, depth),
        })
    }

    fn expression_ok(bundle: &Bundle, e: &Expression<&str>, depth: u8) -> bool {
        match e {
            Expression::Select { selector, variants } => {
                !mentions(selector)
                    && inline_ok(bundle, selector, depth)
                    && variants.iter().all(|v| pattern_ok(bundle, &v.value, depth))
            }
            Expression::Inline(i) => inline_ok(bundle, i, depth),
        }
    }

    fn inline_ok(bundle: &Bundle, i: &InlineExpression<&str>, depth: u8) -> bool {
        match i {
            InlineExpression::FunctionReference { arguments, .. } => !arguments_mention(arguments),
            InlineExpression::TermReference { arguments, .. } => {
                arguments.as_ref().is_none_or(|a| !arguments_mention(a))
            }
            InlineExpression::MessageReference { id, attribute } => {
                let Some(message) = bundle.get_message(id.name) else {
                    return true;
                };
                let pattern = match attribute {
                    None => message.value(),
                    Some(a) => message.get_attribute(a.name).map(|a| a.value()),
                };
                pattern.is_none_or(|p| depth > 0 && pattern_ok(bundle, p, depth - 1))
            }
            InlineExpression::Placeable { expression } => expression_ok(bundle, expression, depth),
            _ => true,
        }
    }

    /// Whether the code's variables are read anywhere in `i`.
    fn mentions(i: &InlineExpression<&str>) -> bool {
        match i {
            InlineExpression::VariableReference { id } => is_hole(id.name),
            InlineExpression::FunctionReference { arguments, .. } => arguments_mention(arguments),
            InlineExpression::TermReference { arguments, .. } => {
                arguments.as_ref().is_some_and(arguments_mention)
            }
            // A message's text may hold the code: not a safe selector.
            InlineExpression::MessageReference { .. } => true,
            InlineExpression::Placeable { expression } => match &**expression {
                Expression::Inline(i) => mentions(i),
                Expression::Select { .. } => true,
            },
            InlineExpression::StringLiteral { .. } | InlineExpression::NumberLiteral { .. } => {
                false
            }
        }
    }

    fn arguments_mention(a: &CallArguments<&str>) -> bool {
        a.positional.iter().any(mentions) || a.named.iter().any(|n| mentions(&n.value))
    }
}

/// Stand-ins for the code and its spoken form while rendering the holes:
/// characters of Unicode's private use area, which no template writes.
pub(super) const HOLE_CODE: &str = "\u{E000}";
pub(super) const HOLE_SPOKEN: &str = "\u{E001}";

/// Which rendering a set of holes is for: the bundle chain, the purpose, the
/// kind of contact and the lifetime in minutes.
pub(super) type CompiledKey = (Vec<usize>, Purpose, ContactKind, u64);

/// At most this many renderings are kept (the chains of requested locales and
/// the lifetimes in use are few; a flood of odd locale tags is not kept).
pub(super) const MAX_COMPILED: usize = 1024;

/// Code messages rendered once per [`CompiledKey`] with holes for the code:
/// filling them costs a few copies, where Fluent costs microseconds per text.
#[derive(Default)]
pub(super) struct Compiled(pub(super) Mutex<HashMap<CompiledKey, Option<Arc<Holes>>>>);

impl Compiled {
    /// `Some(None)`: known not to be kept (render through Fluent).
    pub(super) fn get(&self, key: &CompiledKey) -> Option<Option<Arc<Holes>>> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key).cloned()
    }

    pub(super) fn put(&self, key: CompiledKey, holes: Option<Arc<Holes>>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() < MAX_COMPILED {
            map.insert(key, holes);
        }
    }
}

/// One text split at its holes.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Code,
    Spoken,
}

/// The five texts of a code message with holes for the code.
pub(super) struct Holes {
    subject: Vec<Piece>,
    text: Vec<Piece>,
    html: Vec<Piece>,
    sms: Vec<Piece>,
    voice: Vec<Piece>,
}

impl Holes {
    pub(super) fn of(texts: &Texts) -> Self {
        Self {
            subject: pieces(&texts.subject),
            text: pieces(&texts.text),
            html: pieces(&texts.html),
            sms: pieces(&texts.sms),
            voice: pieces(&texts.voice),
        }
    }

    pub(super) fn fill(&self, code: &str, spoken: &str) -> Texts {
        self.fill_for(None, code, spoken)
    }

    /// The texts with the code in its holes; for `Some(kind)`, only those a
    /// message to that kind of contact carries (the others empty).
    pub(super) fn fill_for(&self, kind: Option<ContactKind>, code: &str, spoken: &str) -> Texts {
        let email = kind.is_none_or(|k| k == ContactKind::Email);
        let phone = kind.is_none_or(|k| k == ContactKind::Phone);
        let part = |pieces: &[Piece], wanted: bool| {
            if wanted {
                fill(pieces, code, spoken)
            } else {
                Zeroizing::default()
            }
        };
        Texts {
            subject: fill(&self.subject, code, spoken).to_string(),
            text: part(&self.text, email),
            html: part(&self.html, email),
            sms: part(&self.sms, phone),
            voice: part(&self.voice, phone),
        }
    }
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\u{E000}', '\u{E001}']) {
        if at > 0 {
            out.push(Piece::Text(rest[..at].to_owned()));
        }
        let hole = rest[at..].chars().next().unwrap_or('\u{E000}');
        out.push(if hole == '\u{E000}' {
            Piece::Code
        } else {
            Piece::Spoken
        });
        rest = &rest[at + hole.len_utf8()..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    out
}

fn fill(pieces: &[Piece], code: &str, spoken: &str) -> Zeroizing<String> {
    let len = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Code => code.len(),
            Piece::Spoken => spoken.len(),
        })
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(len));
    for p in pieces {
        out.push_str(match p {
            Piece::Text(t) => t,
            Piece::Code => code,
            Piece::Spoken => spoken,
        });
    }
    out
}
