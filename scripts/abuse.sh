#!/usr/bin/env bash
# Abuse checks against a fresh release server on 127.0.0.1 (nothing else is contacted):
#   scripts/abuse.sh [--short]
# Builds `veritrial` and the `abuse` load generator (backend/examples/abuse.rs) in release
# (the short form, which CI runs after the test suite, uses the test suite's dev build),
# starts `veritrial serve` on a fresh data directory with a few accounts, and runs:
#   - 2,000-clause criteria: refused with BAD_CRITERIA in under 100 ms;
#   - 500 aliases of verifyLedger: refused by the complexity limit;
#   - a deactivated user's token: refused with UNAUTHENTICATED;
#   - a login flood, 64 clients for 20 s (5 s with --short): /healthz probed every 50 ms
#     answers 200 with p99 under 100 ms, and the server's peak RSS stays under 512 MB.
# Prints each check's figures with PASS or FAIL; exits non-zero on any FAIL. Bounded in time:
# the whole run is stopped after 10 minutes (plus the build).
set -euo pipefail

seconds=20
profile=release
case "${1:-}" in
  --short) seconds=5; profile=dev ;;
  "") ;;
  *) echo "usage: scripts/abuse.sh [--short]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --profile "$profile" -q -p veritrial --bin veritrial --example abuse
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out_dir=$([[ "$profile" == dev ]] && echo debug || echo release)
bin="$target_dir/$out_dir/veritrial"
abuse="$target_dir/$out_dir/examples/abuse"

data=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
export VERITRIAL_DATA_DIR="$data"
unset DATABASE_URL

password=abuse-password-123
"$bin" migrate >/dev/null 2>&1
"$bin" org add --name "Abuse Site" --kind site >/dev/null 2>&1
"$bin" org add --name "Abuse Ethics" --kind ethics >/dev/null 2>&1
"$bin" org add --name "Abuse Recruiting" --kind recruiter >/dev/null 2>&1
add_user() { echo "$password" | "$bin" user add --email "$1" --name "Abuse Test" --org "$2" --role "$3" --password-stdin >/dev/null 2>&1; }
add_user flood@abuse.test "Abuse Site" site
add_user leaver@abuse.test "Abuse Site" site
add_user ethics@abuse.test "Abuse Ethics" ethics
add_user recruiter@abuse.test "Abuse Recruiting" recruiter

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

timeout 600 "$abuse" --url "http://127.0.0.1:$port" --pid "$server" --seconds "$seconds" \
  --veritrial "$bin" --data-dir "$data"
