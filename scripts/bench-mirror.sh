#!/usr/bin/env bash
# Catch-up benchmark: a new copy of an N-entry log (default 1,000,000) fetched through the
# log's tlog-tiles endpoints, every entry, payload, link and the root verified, and stored.
#
#   scripts/bench-mirror.sh [ENTRIES]        # VERITRIAL_BIN overrides target/release/veritrial
#
# It seeds a log with `veritrial bench ledger`, serves it on 127.0.0.1, signs an admin in, and
# times `veritrial ledger restore --from-witness` into a fresh SQLite store, then verifies it.
set -euo pipefail

entries=${1:-1000000}
bin=${VERITRIAL_BIN:-target/release/veritrial}
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

log="$work/log"
echo "== seeding $entries entries"
"$bin" bench ledger --data-dir "$log" --entries "$entries" --batch 1000
"$bin" org add --data-dir "$log" --name Operator --kind sponsor >/dev/null
echo "bench-mirror-password" | "$bin" user add --data-dir "$log" --email admin@bench.invalid \
    --org Operator --role admin --password-stdin >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$log" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break
    sleep 0.1
done
curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$port/graphql" \
    -d '{"query":"mutation { login(email: \"admin@bench.invalid\", password: \"bench-mirror-password\") { token } }"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["login"]["token"])' >"$work/token"

echo "== catching up from http://127.0.0.1:$port/ledger"
start=$(date +%s.%N)
"$bin" ledger restore --data-dir "$work/copy" --keys-dir "$log/keys" \
    --from-witness "http://127.0.0.1:$port/ledger" --token-file "$work/token"
end=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'catch-up: {int(sys.argv[3]):,} entries in {s:.1f} s, {int(sys.argv[3])/s:,.0f} entries/s')" "$start" "$end" "$entries"
"$bin" ledger verify --data-dir "$work/copy" --keys-dir "$log/keys"
