//! The criteria parser on any text: never panics, never accepts text over the limits, and
//! whatever it accepts prints to canonical text that parses back to the same AST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use matcher::criteria::{MAX_CRITERIA_BYTES, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = parse(text) else {
        return;
    };
    assert!(text.len() <= MAX_CRITERIA_BYTES);
    let printed = expr.to_string();
    // Canonical spacing can make text near the length limit longer than the limit.
    if printed.len() <= MAX_CRITERIA_BYTES {
        assert_eq!(parse(&printed).as_ref(), Ok(&expr), "printed: {printed}");
    }
});
