#!/usr/bin/env bash
# hms-load (the hub bench's load generator) against a real hub for half a
# second at a fixed rate: the run is clean (exit 0), frames were delivered
# and none lost, and with --keep-awake the spinners' CPU is its own JSON
# line, apart from hms-load's.
#
#   load_smoke.sh HMS_HUB HMS_LOAD
set -euo pipefail
hub=$1 load=$2
tmp=$(mktemp -d)
hub_pid=""
cleanup() {
  [[ -n $hub_pid ]] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "load_smoke: $*" >&2; exit 1; }

"$hub" --address 127.0.0.1 --port 0 --db "$tmp/registry.db" --threads 1 --log-level warn >"$tmp/hub.out" 2>&1 &
hub_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^hms-hub listening on port \([0-9]*\)$/\1/p' "$tmp/hub.out")
  [[ -n $port ]] && break
  kill -0 "$hub_pid" 2>/dev/null || fail "the hub exited: $(cat "$tmp/hub.out")"
  sleep 0.1
done
[[ -n $port ]] || fail "the hub did not say its port within 10 s"

timeout -k 5 60 "$load" --hub "127.0.0.1:$port" --hub-pid "$hub_pid" --docks 5 --clients 2 --rate 200 \
  --warmup 0.2 --duration 0.5 --keep-awake 0 --json --name t >"$tmp/load.out" 2>"$tmp/load.err" ||
  fail "hms-load failed: $(cat "$tmp/load.out" "$tmp/load.err")"

value() { sed -n "s/^{\"bench\":\"$1\",\"impl\":\"hms\",\"value\":\([0-9.]*\),.*/\1/p" "$tmp/load.out"; }
delivered=$(value t) lost=$(value t_lost) awake=$(value t_keep_awake_cpu) own=$(value t_load_cpu)
[[ -n $delivered ]] && awk -v d="$delivered" 'BEGIN { exit !(d > 0) }' || fail "nothing delivered: $(cat "$tmp/load.out")"
[[ $lost == 0 ]] || fail "lost '$lost' frames"
[[ -n $awake ]] || fail "no keep-awake line: $(cat "$tmp/load.out")"
[[ -n $own ]] || fail "no load CPU line"
grep -q "keep-awake spinners (SCHED_IDLE)" "$tmp/load.out" || fail "the summary does not name the spinners"
echo "load_smoke: $delivered frames/s delivered, 0 lost, spinners ${awake}%, hms-load ${own}%"
