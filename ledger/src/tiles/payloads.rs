//! Payload bundles (`payloads/<N>[.p/<W>]`, a Veritrial extension beside the entry
//! bundles): the payloads of entries `256 × N ..`, one item per entry. An item is a tag
//! byte, then for a body a big-endian `u32` length and the canonical payload bytes:
//!
//! | tag | item |
//! |-----|------|
//! | `0` | withheld: the reader may not read this payload |
//! | `1` | erased: the log no longer holds it |
//! | `2` | the canonical payload bytes follow |

use super::decode::{DecodeError, Reader};

/// One payload as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadItem {
    /// The reader may not read it.
    Withheld,
    /// The log erased it.
    Erased,
    /// The canonical payload bytes.
    Body(Vec<u8>),
}

/// Encodes payload items into a bundle.
pub fn encode_payloads<'a>(
    items: impl IntoIterator<Item = &'a PayloadItem>,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    for item in items {
        match item {
            PayloadItem::Withheld => out.push(0),
            PayloadItem::Erased => out.push(1),
            PayloadItem::Body(body) => {
                let len =
                    u32::try_from(body.len()).map_err(|_| DecodeError::TooLong(body.len()))?;
                out.push(2);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(body);
            }
        }
    }
    Ok(out)
}

/// Decodes a payload bundle.
pub fn decode_payloads(bytes: &[u8]) -> Result<Vec<PayloadItem>, DecodeError> {
    let mut reader = Reader::new(bytes, "payload bundle");
    let mut items = Vec::new();
    while !reader.is_empty() {
        let [tag] = reader.array()?;
        items.push(match tag {
            0 => PayloadItem::Withheld,
            1 => PayloadItem::Erased,
            2 => {
                let len = u32::from_be_bytes(reader.array()?);
                let len = usize::try_from(len).map_err(|_| DecodeError::TooLong(usize::MAX))?;
                PayloadItem::Body(reader.take(len)?.to_vec())
            }
            other => return Err(DecodeError::BadTag(other)),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn item() -> impl Strategy<Value = PayloadItem> {
        prop_oneof![
            Just(PayloadItem::Withheld),
            Just(PayloadItem::Erased),
            proptest::collection::vec(any::<u8>(), 0..100).prop_map(PayloadItem::Body),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(items in proptest::collection::vec(item(), 0..30)) {
            let bytes = encode_payloads(&items).expect("encodes");
            prop_assert_eq!(decode_payloads(&bytes), Ok(items));
        }
    }

    #[test]
    fn refuses_unknown_tags_and_truncation() {
        assert_eq!(decode_payloads(&[7]), Err(DecodeError::BadTag(7)));
        assert!(decode_payloads(&[2, 0, 0, 0, 5, b'a']).is_err());
    }
}
