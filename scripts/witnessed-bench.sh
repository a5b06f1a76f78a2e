#!/usr/bin/env bash
# scripts/witnessed-bench.sh none|two [ENTRIES]: one leg of the witnessed-append benchmark
# (docs/benchmarks.md, "Witnesses"): a fresh log; MODE none or two (two fresh
# `veritrial witness` processes on loopback).
set -euo pipefail
B=${VERITRIAL:-target/debug/veritrial}; W=${WITNESS:-$B}
mode=$1; entries=${2:-20000}; dir=$(mktemp -d /tmp/csbench.XXXX)
$B migrate --data-dir "$dir/log" >/dev/null 2>&1
KEY=$($B keys show --data-dir "$dir/log" 2>/dev/null | grep -o 'veritrial.local/ledger+[^ ]*' | head -1)
args=(); pids=()
if [ "$mode" = two ]; then
  for i in 1 2; do
    port=$((18100 + i + RANDOM % 500))
    wk=$($W witness --show-key --data-dir "$dir/w$i" 2>/dev/null)
    $W witness --data-dir "$dir/w$i" --listen 127.0.0.1:$port --log "veritrial.local/ledger=$KEY" >/dev/null 2>&1 &
    pids+=($!); args+=(--witness "$wk=http://127.0.0.1:$port/")
  done
fi
sleep 2 # both modes: the witnesses start, and the previous leg's writes settle
$B bench ledger --data-dir "$dir/log" --entries "$entries" --batch 1 --writers 64 "${args[@]}" 2>/dev/null | grep -E 'durable|cosigned' | tr '\n' ' '
echo
for p in "${pids[@]}"; do kill "$p"; done
rm -rf "$dir"
