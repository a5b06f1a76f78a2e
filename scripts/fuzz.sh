#!/usr/bin/env bash
# Runs one coverage-guided fuzz target for a while:  scripts/fuzz.sh TARGET SECONDS
#   TARGET: criteria | ledger_export      SECONDS: how long to fuzz (default 60)
# libFuzzer (from the libfuzzer-sys crate, built with the system C++ compiler) on the stable
# toolchain: the Rust code is instrumented with LLVM's SanitizerCoverage pass through
# RUSTFLAGS, which is what `cargo fuzz` does on nightly. Starts from fuzz/corpus/TARGET
# (never modified; new inputs go to a scratch directory) and exits non-zero on a crash, whose
# input is saved as fuzz/artifacts/TARGET/crash-*.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS (targets: criteria, ledger_export)}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"
[[ -f "$fuzz/fuzz_targets/$target.rs" ]] || { echo "no fuzz target named $target" >&2; exit 2; }
command -v c++ >/dev/null || { apt-get update -qq && apt-get install -y -qq g++; }

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$fuzz/target}"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Cdebuginfo=1"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (as cargo fuzz does).
host=$(rustc -vV | sed -n 's/^host: //p')
(cd "$fuzz" && cargo build --release --target "$host" --features "$target" --bin "$target")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$fuzz/artifacts/$target"
# libFuzzer exits 0 when time runs out, non-zero on a crash, a leak or a timeout.
"$CARGO_TARGET_DIR/$host/release/$target" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix="$fuzz/artifacts/$target/" \
  "$scratch" "$fuzz/corpus/$target"
