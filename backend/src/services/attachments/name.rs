//! Attachment file names: which are accepted, and how one is sent back in a
//! `Content-Disposition` header (RFC 6266, with RFC 8187 `filename*` for non-ASCII names).

use std::fmt::Write as _;

use crate::error::{AppError, AppResult};

/// Longest accepted file name, in bytes of UTF-8 (what file systems allow).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// The name to store (without surrounding spaces), or `BAD_INPUT` saying what is wrong: an
/// empty name, `.` or `..`, a path separator, a control character (NUL, CR, LF, TAB, DEL, C1)
/// or an invisible direction/format mark (which can disguise an extension), or more than
/// [`MAX_FILE_NAME_BYTES`] bytes.
pub fn check_file_name(raw: &str) -> AppResult<&str> {
    if let Some(c) = raw.chars().find(|c| c.is_control() || is_format_mark(*c)) {
        return Err(AppError::bad_input(format!(
            "the fileName must not contain control or formatting characters (found U+{:04X})",
            u32::from(c)
        )));
    }
    let name = raw.trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(AppError::bad_input("give a fileName, such as scan.pdf"));
    }
    if name.contains(['/', '\\']) {
        return Err(AppError::bad_input(
            "the fileName must be a plain name, without / or \\",
        ));
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(AppError::bad_input(format!(
            "the fileName may be at most {MAX_FILE_NAME_BYTES} bytes long in UTF-8"
        )));
    }
    Ok(name)
}

/// Bidirectional and zero-width marks (Unicode general category Cf that matter in names).
fn is_format_mark(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`: the
/// fallback replaces non-ASCII characters, `"` and `\` with `_`; `filename*` carries the
/// exact name.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if is_attr_char(byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// RFC 8187 `attr-char`: what may appear unencoded in an extended parameter value.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_trimmed() {
        assert_eq!(check_file_name(" scan 1.pdf ").ok(), Some("scan 1.pdf"));
        assert_eq!(
            check_file_name("Röntgen-Aufnahme.png").ok(),
            Some("Röntgen-Aufnahme.png")
        );
        assert!(check_file_name(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "  ",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "a\rb",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            "evil\u{202E}fdp.exe",
            "x\u{200B}",
            "\n",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_name(&"é".repeat(128)).is_err());
    }

    #[test]
    fn disposition_has_an_ascii_fallback_and_the_exact_name() {
        assert_eq!(
            content_disposition("Röntgen \"1\".png"),
            "attachment; filename=\"R_ntgen _1_.png\"; filename*=UTF-8''R%C3%B6ntgen%20%221%22.png"
        );
        assert_eq!(
            content_disposition("scan.pdf"),
            "attachment; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf"
        );
    }
}
