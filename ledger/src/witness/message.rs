//! The `cosignature/v1` signed message and its timestamp rule.

use super::error::WitnessError;

/// The domain-separation header line of `cosignature/v1`.
const HEADER: &str = "cosignature/v1\n";

/// `cosignature/v1\ntime <t>\n` followed by the checkpoint body.
pub(super) fn signed_message(checkpoint_body: &str, timestamp_secs: u64) -> Vec<u8> {
    format!("{HEADER}time {timestamp_secs}\n{checkpoint_body}").into_bytes()
}

/// A cosignature timestamp is a POSIX time in seconds, never zero and at most 2^63 - 1.
pub(super) fn check_timestamp(timestamp_secs: u64) -> Result<(), WitnessError> {
    if timestamp_secs == 0 || timestamp_secs > i64::MAX as u64 {
        return Err(WitnessError::TimestampOutOfRange(timestamp_secs));
    }
    Ok(())
}
