//! Names for clinical codes, from code tables whose licence allows shipping them: ICD-10-CM
//! (US public domain, NCHS/CDC; categories and first-level subcategories, see
//! `data/codes/README.md`). A code deeper than the table is named by its nearest listed
//! ancestor, and says so.

use std::sync::LazyLock;

/// The ICD-10-CM table: `CODE<TAB>Description` lines, sorted by code, codes without the dot.
const ICD10CM: &str = include_str!("../../data/codes/icd10cm.tsv");

/// Most matches one search returns.
pub const MAX_MATCHES: usize = 50;

static TABLE: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    ICD10CM
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .collect()
});

/// A code with its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeName {
    /// `system:code`, as written in profiles and criteria (ICD-10 with its dot: `icd10:E11.9`).
    pub code: String,
    /// The name of the code, or of its nearest listed ancestor.
    pub name: &'static str,
    /// Whether `name` is the code's own (false: an ancestor's).
    pub exact: bool,
}

/// The table's form of an ICD-10 code: upper case, without the dot.
fn bare(code: &str) -> String {
    code.trim().replace('.', "").to_ascii_uppercase()
}

/// ICD-10 as written in profiles: the dot after the third character.
fn dotted(bare: &str) -> String {
    if bare.len() > 3 {
        format!("{}.{}", &bare[..3], &bare[3..])
    } else {
        bare.to_string()
    }
}

fn lookup(bare: &str) -> Option<&'static str> {
    let table = &*TABLE;
    table
        .binary_search_by(|(code, _)| (*code).cmp(bare))
        .ok()
        .map(|at| table[at].1)
}

/// The name of `system:code` (e.g. `icd10:E11.9`, `icd10:E11*`), if its system has a table
/// and the code or an ancestor is in it.
pub fn name_of(qualified: &str) -> Option<CodeName> {
    let (system, code) = qualified.split_once(':')?;
    if !system.eq_ignore_ascii_case("icd10") {
        return None;
    }
    let code = bare(code.trim_end_matches('*'));
    if !code.is_ascii() || code.is_empty() {
        return None;
    }
    (3..=code.len().min(4)).rev().find_map(|len| {
        lookup(&code[..len]).map(|name| CodeName {
            code: format!("icd10:{}", dotted(&code)),
            name,
            exact: len == code.len(),
        })
    })
}

/// Codes matching `query`, for pickers: codes that start with it first (`E11`, `e11.6`),
/// then codes whose name holds every word of it (`type 2 diabetes`), at most `limit`.
pub fn search(query: &str, limit: usize) -> Vec<CodeName> {
    let query = query.trim();
    let query = query.split_once(':').map(|(_, code)| code).unwrap_or(query);
    if query.is_empty() {
        return Vec::new();
    }
    let limit = limit.min(MAX_MATCHES);
    let prefix = bare(query);
    let words: Vec<String> = query
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let found = |(code, name): &(&'static str, &'static str)| CodeName {
        code: format!("icd10:{}", dotted(code)),
        name,
        exact: true,
    };
    let mut matches: Vec<CodeName> = TABLE
        .iter()
        .filter(|(code, _)| code.starts_with(&prefix))
        .take(limit)
        .map(found)
        .collect();
    if matches.len() < limit {
        let named = TABLE
            .iter()
            .filter(|(code, name)| {
                !code.starts_with(&prefix) && {
                    let name = name.to_lowercase();
                    words.iter().all(|w| name.contains(w.as_str()))
                }
            })
            .take(limit - matches.len())
            .map(found);
        matches.extend(named);
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_exactly_or_by_their_category() {
        let e11 = name_of("icd10:E11").unwrap();
        assert_eq!((e11.name, e11.exact), ("Type 2 diabetes mellitus", true));
        let e119 = name_of("icd10:E11.9").unwrap();
        assert_eq!(e119.name, "Type 2 diabetes mellitus without complications");
        let deep = name_of("icd10:E11.65").unwrap();
        assert_eq!((deep.code.as_str(), deep.exact), ("icd10:E11.65", false));
        assert!(deep.name.starts_with("Type 2 diabetes mellitus with"));
        assert_eq!(
            name_of("icd10:E11*").unwrap().name,
            "Type 2 diabetes mellitus"
        );
        assert_eq!(name_of("atc:A10BA02"), None);
        assert_eq!(name_of("icd10:Q"), None);
        assert_eq!(name_of("icd10:ü12"), None);
    }

    #[test]
    fn search_finds_codes_by_prefix_then_by_words() {
        let by_code = search("e11.6", 10);
        assert!(
            by_code.iter().all(|c| c.code.starts_with("icd10:E11.6")),
            "{by_code:?}"
        );
        assert!(!by_code.is_empty());
        let by_words = search("type 2 diabetes", 5);
        assert_eq!(by_words.len(), 5);
        assert!(
            by_words
                .iter()
                .all(|c| c.name.to_lowercase().contains("type 2 diabetes"))
        );
        assert!(search("  ", 10).is_empty());
        assert!(search("a", 500).len() <= MAX_MATCHES);
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TABLE.len() > 10_000);
    }
}
