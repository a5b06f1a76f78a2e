//! Entry bundles: items framed by a big-endian `u16` length; an item is a canonical entry
//! or a redacted item (`VTLR` and the leaf hash).

use super::decode::{DecodeError, Reader};
use crate::entry::Entry;
use crate::hash::Hash;

/// The 4 bytes that open a redacted item (canonical entries open with `VTLE`).
pub const REDACTED_MAGIC: [u8; 4] = *b"VTLR";

/// One item of an entry bundle, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleItem {
    /// A full entry; its leaf hash is recomputed from it.
    Entry(Entry),
    /// An entry the reader may not see: only its leaf hash.
    Redacted(Hash),
}

impl BundleItem {
    /// The bytes of a redacted item for the entry whose leaf hash is `leaf`.
    pub fn redacted_bytes(leaf: &Hash) -> Vec<u8> {
        let mut out = REDACTED_MAGIC.to_vec();
        out.extend_from_slice(leaf.as_bytes());
        out
    }

    /// Decodes one item's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.strip_prefix(&REDACTED_MAGIC) {
            Some(leaf) => Hash::from_slice(leaf)
                .map(BundleItem::Redacted)
                .map_err(|_| DecodeError::NotCanonical),
            None => Entry::from_canonical_bytes(bytes).map(BundleItem::Entry),
        }
    }
}

/// Frames `items` into a bundle. Fails if an item is longer than 65,535 bytes.
pub fn encode_bundle<I, B>(items: I) -> Result<Vec<u8>, DecodeError>
where
    I: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for item in items {
        let item = item.as_ref();
        let len = u16::try_from(item.len()).map_err(|_| DecodeError::TooLong(item.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(item);
    }
    Ok(out)
}

/// Splits a bundle into its items' bytes.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let mut reader = Reader::new(bytes, "entry bundle");
    let mut items = Vec::new();
    while !reader.is_empty() {
        let len = u16::from_be_bytes(reader.array()?);
        items.push(reader.take(usize::from(len))?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn decode_inverts_encode(items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40)) {
            let bundle = encode_bundle(&items).expect("short items");
            let decoded: Vec<Vec<u8>> = decode_bundle(&bundle).expect("decodes").into_iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(decoded, items);
        }
    }

    #[test]
    fn refuses_long_items_and_truncated_bundles() {
        assert_eq!(
            encode_bundle([vec![0u8; 65_536]]),
            Err(DecodeError::TooLong(65_536))
        );
        assert!(encode_bundle([vec![0u8; 65_535]]).is_ok());
        let bundle = encode_bundle([b"abc".as_slice()]).expect("short");
        assert!(decode_bundle(&bundle[..4]).is_err());
        assert!(decode_bundle(&bundle[..1]).is_err());
    }

    #[test]
    fn redacted_items_round_trip() {
        let leaf = Hash::sha256(b"x");
        assert_eq!(
            BundleItem::parse(&BundleItem::redacted_bytes(&leaf)),
            Ok(BundleItem::Redacted(leaf))
        );
        assert!(BundleItem::parse(b"VTLRshort").is_err());
    }
}
