//! The one normaliser for what people type: codes, phone numbers and the last four
//! digits of a phone all go through [`symbols`], so a form field accepts the same
//! things whichever of them it asks for.
//!
//! * **NFKC** (Unicode compatibility composition, the `unicode-normalization`
//!   crate) first: full-width forms from East Asian input methods (`１２３`, `＋`,
//!   `ｊｏｈｎ`) become their ASCII letters and digits, and compatibility spaces
//!   (no-break, ideographic) become plain spaces.
//! * Then **separators** are dropped: any white space (space, no-break space, tab,
//!   newline…), dashes (`-`, U+2010–U+2015, the minus sign U+2212, the katakana
//!   long vowel mark U+30FC that Japanese keyboards type for a dash) and dots.

use unicode_normalization::UnicodeNormalization;

/// Whether `c` only separates groups of symbols (after NFKC).
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}'
        )
}

/// The symbols of `input`: NFKC-normalised, separators removed.
pub(crate) fn symbols(input: &str) -> impl Iterator<Item = char> + '_ {
    input.nfkc().filter(|&c| !is_separator(c))
}

/// The NFKC form of `input`, trimmed of surrounding white space.
pub(crate) fn nfkc(input: &str) -> String {
    input.trim().nfkc().collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_full_width_forms_are_read_alike() {
        let read = |s: &str| symbols(s).collect::<String>();
        for typed in [
            "0100",
            " 01 00 ",
            "01-00",
            "01.00",
            "0100\n",
            "01\t00",
            "01\u{00A0}00",
            "01\u{3000}00",
            "０１００",
            "01\u{2013}00",
            "01\u{2212}00",
            "01\u{30FC}00",
        ] {
            assert_eq!(read(typed), "0100", "{typed:?}");
        }
        assert_eq!(read("＋４４"), "+44");
        assert_eq!(nfkc("  ｊｏｈｎ＠example.com\u{3000}"), "john@example.com");
    }
}
