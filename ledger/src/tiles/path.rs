//! Tile paths: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` and our
//! `payloads/<N>[.p/<W>]`, formatted and parsed strictly (one spelling per tile).

use std::fmt;

use super::TILE_WIDTH;

/// Highest tile level: level 7 covers tree level 56, and 2^64 leaves need no more.
const MAX_TILE_LEVEL: u8 = 7;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes of tree level `8 × level`.
    Hash {
        /// The tile level `L` (0 holds the leaf hashes).
        level: u8,
    },
    /// An entry bundle.
    Entries,
    /// The payloads of an entry bundle's entries (a Veritrial extension).
    Payloads,
}

/// One tile (or bundle): its kind, index `N` and width `W` (`1..=256`; 256 is a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// What it holds.
    pub kind: TileKind,
    /// The tile index `N`: it covers items `256 × N .. 256 × N + width`.
    pub index: u64,
    /// How many items it holds.
    pub width: u64,
}

/// Why a path is not a tile path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tile path: {0:?}")]
pub struct TilePathError(pub String);

impl TilePath {
    /// Whether the tile is full (256 items), hence immutable and cacheable forever.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The first item (entry index, or node index on its level) the tile covers.
    pub fn first_item(&self) -> u64 {
        self.index.saturating_mul(TILE_WIDTH)
    }

    /// Parses a path relative to the log prefix, e.g. `tile/0/x001/234.p/17`.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        let bad = || TilePathError(path.to_string());
        let (kind, rest) = if let Some(rest) = path.strip_prefix("tile/entries/") {
            (TileKind::Entries, rest)
        } else if let Some(rest) = path.strip_prefix("payloads/") {
            (TileKind::Payloads, rest)
        } else {
            let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
            let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
            let level = parse_decimal(level).ok_or_else(bad)?;
            let level = u8::try_from(level)
                .ok()
                .filter(|l| *l <= MAX_TILE_LEVEL)
                .ok_or_else(bad)?;
            (TileKind::Hash { level }, rest)
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = parse_decimal(width)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(bad)?;
                (index, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index).ok_or_else(bad)?;
        Ok(TilePath { kind, index, width })
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hash { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
            TileKind::Payloads => f.write_str("payloads/")?,
        }
        write_index(f, self.index)?;
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// `N` in groups of three digits, all but the last prefixed by `x`.
fn write_index(f: &mut fmt::Formatter<'_>, index: u64) -> fmt::Result {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    for (i, group) in groups.iter().rev().enumerate() {
        if i < last {
            write!(f, "x{group:03}/")?;
        } else {
            write!(f, "{group:03}")?;
        }
    }
    Ok(())
}

/// Parses `x001/x234/067`; the first group may not be `x000` (one spelling per index).
fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    let mut n: u64 = 0;
    for (i, group) in leading.iter().enumerate() {
        let digits = group.strip_prefix('x')?;
        let value = three_digits(digits)?;
        if i == 0 && value == 0 {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(value)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A decimal number without leading zeros (`0` itself is allowed).
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hash_tile(level: u8, index: u64, width: u64) -> TilePath {
        TilePath {
            kind: TileKind::Hash { level },
            index,
            width,
        }
    }

    #[test]
    fn formats_like_the_spec() {
        assert_eq!(hash_tile(0, 0, 256).to_string(), "tile/0/000");
        assert_eq!(
            hash_tile(3, 1_234_067, 1).to_string(),
            "tile/3/x001/x234/067.p/1"
        );
        assert_eq!(hash_tile(1, 1000, 256).to_string(), "tile/1/x001/000");
        let bundle = TilePath {
            kind: TileKind::Entries,
            index: 5,
            width: 17,
        };
        assert_eq!(bundle.to_string(), "tile/entries/005.p/17");
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in [
            "tile/0/0",
            "tile/0/0000",
            "tile/00/000",
            "tile/8/000",
            "tile/0/x000/001",
            "tile/0/x1/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/017",
            "tile/0/001/",
            "tile/data/001",
            "tile/entries/",
            "tile/0/x001",
            "../tile/0/000",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    proptest! {
        #[test]
        fn parse_inverts_display(level in 0u8..=7, index in any::<u64>(), width in 1u64..=256, kind in 0u8..3) {
            let kind = match kind {
                0 => TileKind::Hash { level },
                1 => TileKind::Entries,
                _ => TileKind::Payloads,
            };
            let tile = TilePath { kind, index, width };
            prop_assert_eq!(TilePath::parse(&tile.to_string()), Ok(tile));
        }
    }
}
