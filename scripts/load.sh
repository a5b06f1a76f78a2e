#!/usr/bin/env bash
# Several `veritrial serve` processes on one database, loaded over HTTP on 127.0.0.1
# (nothing else is contacted):
#   scripts/load.sh [--short]
# Builds `veritrial` and the `load` generator (backend/examples/load/) in release (the
# short form, which CI runs after the test suite, uses the test suite's dev build), then
# runs six legs: SQLite and PostgreSQL (a database `veritrial_load_<pid>` on
# 127.0.0.1:5432, created afresh for each leg and dropped at the end), each with 1, 2 and 3
# processes sharing one key directory (`--keys-dir`). 64 clients spread their requests
# round robin over the processes;
# each leg measures for 20 s per phase (3 s with --short, one SQLite and one PostgreSQL leg
# with 2 processes):
#   - ledgered writes (`submitTrialData`) per second, p50/p99 latency;
#   - cohort queries (a site's exact count) per second, p50/p99;
#   - index freshness: a new consenting patient through one process, the time until the next
#     process counts them.
# Prints each leg's figures and a Markdown table (docs/benchmarks.md, "Several processes on
# one database"); exits non-zero when any request failed. Bounded in time: the generator is
# stopped after 20 minutes (plus the build).
set -euo pipefail

seconds=20
profile=release
legs=sqlite:1,sqlite:2,sqlite:3,postgres:1,postgres:2,postgres:3
case "${1:-}" in
  --short) seconds=3; profile=dev; legs=sqlite:2,postgres:2 ;;
  "") ;;
  *) echo "usage: scripts/load.sh [--short]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --profile "$profile" -q -p veritrial --bin veritrial --example load
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out_dir=$([[ "$profile" == dev ]] && echo debug || echo release)
bin="$target_dir/$out_dir/veritrial"
load="$target_dir/$out_dir/examples/load"

# The generator drops its database after each leg; this catches an interrupted run.
database="veritrial_load_$$"
cleanup() {
  psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "load: $profile build, $legs, $seconds s per phase, one shared --keys-dir"
# `timeout` signals its whole process group, so the servers the generator started go too.
timeout 1200 "$load" --veritrial "$bin" --legs "$legs" --seconds "$seconds" --clients 64 \
  --keys keys-dir --postgres-database "$database"
