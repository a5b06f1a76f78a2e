//! Normalisation of coded values (`system:code`).
//!
//! Systems are case-insensitive and stored in lower case; codes are stored in upper case.
//! Profiles and criteria are both normalised with [`normalise_code`], so comparisons are
//! plain byte comparisons afterwards.

/// Normalises a `system:code` value: trims surrounding whitespace, lower-cases the system and
/// upper-cases the code. A value without a `:` is upper-cased as a whole (it can never match a
/// criterion, which always names a system).
pub fn normalise_code(raw: &str) -> String {
    let raw = raw.trim();
    match raw.split_once(':') {
        Some((system, code)) => {
            let mut out = String::with_capacity(raw.len());
            out.push_str(&system.trim().to_lowercase());
            out.push(':');
            out.push_str(&code.trim().to_uppercase());
            out
        }
        None => raw.to_uppercase(),
    }
}

/// True when `code` is `prefix` itself or starts with it (prefix matching for `*`).
pub fn code_matches(code: &str, pattern: &str, prefix: bool) -> bool {
    if prefix {
        code.starts_with(pattern)
    } else {
        code == pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(normalise_code(" ICD10:e11.9 "), "icd10:E11.9");
        assert_eq!(normalise_code("Loinc:4548-4"), "loinc:4548-4");
        assert_eq!(normalise_code("nocolon"), "NOCOLON");
    }

    #[test]
    fn prefix_matching() {
        assert!(code_matches("icd10:E11.9", "icd10:E11", true));
        assert!(code_matches("icd10:E11", "icd10:E11", true));
        assert!(!code_matches("icd10:E11.9", "icd10:E11", false));
        assert!(!code_matches("icd10:E1", "icd10:E11", true));
    }
}
