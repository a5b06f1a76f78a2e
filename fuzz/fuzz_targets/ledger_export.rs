//! The export reader and verifier on any bytes: never panics, and a report that says "ok"
//! lists no problem and no bad entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = ledger::verify_export(data, None) {
        if report.ok {
            assert!(report.problems.is_empty());
            assert_eq!(report.first_bad_seq, None);
        }
    }
});
