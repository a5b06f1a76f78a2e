#!/usr/bin/env bash
# Catch-up benchmark: a new copy of an N-entry log (default 1,000,000) fetched through the
# log's tlog-tiles endpoints, every entry, payload, link and the root verified, and stored.
#
#   scripts/bench-mirror.sh [ENTRIES]        # VERITRIAL_BIN overrides target/release/veritrial
#
# It seeds a log with `veritrial bench ledger`, serves it on 127.0.0.1 and signs an admin in;
# then times (1) a new witness (`veritrial witness --log … --mirror-token …`) until its
# /status shows every entry mirrored, and (2) `veritrial ledger restore --from-witness` from
# that witness's copy into a fresh SQLite store, which it then verifies.
set -euo pipefail

entries=${1:-1000000}
bin=${VERITRIAL_BIN:-target/release/veritrial}
work=$(mktemp -d)
server=""
witness=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    if [ -n "$witness" ]; then kill "$witness" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

log="$work/log"
echo "== seeding $entries entries"
"$bin" bench ledger --data-dir "$log" --entries "$entries" --batch 1000
"$bin" org add --data-dir "$log" --name Operator --kind sponsor >/dev/null
echo "bench-mirror-password" | "$bin" user add --data-dir "$log" --email admin@bench.invalid --name Operator \
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

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
elapsed() {
    python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'{sys.argv[4]}: {int(sys.argv[3]):,} entries in {s:.1f} s, {int(sys.argv[3])/s:,.0f} entries/s')" "$@"
}

origin=veritrial.local/ledger
key=$("$bin" ledger head --data-dir "$log" 2>/dev/null | sed -n 's/^public key: //p')
wport=$(free_port)
echo "copy-reader-secret" >"$work/serve.token"
echo "== a new witness catches up from http://127.0.0.1:$port/ledger"
start=$(date +%s.%N)
"$bin" witness --data-dir "$work/witness" --listen "127.0.0.1:$wport" \
    --log "$origin=$key=http://127.0.0.1:$port" --mirror-token "$origin=$work/token" \
    --mirror-interval-ms 100 --mirror-serve-token-file "$work/serve.token" >"$work/witness.log" 2>&1 &
witness=$!
until curl -sf "http://127.0.0.1:$wport/status" 2>/dev/null |
    python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["logs"][0]["mirroredSize"] == int(sys.argv[1]) else 1)' "$entries" 2>/dev/null; do
    sleep 0.2
done
end=$(date +%s.%N)
elapsed "$start" "$end" "$entries" "witness catch-up"

copy="http://127.0.0.1:$wport/mirror/$(printf '%s' "$origin" | sha256sum | cut -d' ' -f1)"
echo "== restoring from the witness's copy $copy"
start=$(date +%s.%N)
"$bin" ledger restore --data-dir "$work/copy" --keys-dir "$log/keys" \
    --from-witness "$copy" --token-file "$work/serve.token"
end=$(date +%s.%N)
elapsed "$start" "$end" "$entries" "restore"
"$bin" ledger verify --data-dir "$work/copy" --keys-dir "$log/keys"
