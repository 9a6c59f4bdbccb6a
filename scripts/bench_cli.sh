#!/usr/bin/env bash
# CLI benchmarks: our `hms` and the reference CLI (Node, hms 0.4.4) in the
# same run, against one hms-hub on loopback (hub on cpu 0, the CLI on cpu 1).
#
#   scripts/bench_cli.sh [--quick] [--no-build]
#
#   cli_list_ms  wall time of `hms list 127.0.0.1:<port>` (20 services),
#                process start to exit, median of 40 runs (node: 10); ms.
#                Targets: hms < 20 and at least 20x faster than node.
#   log_tail     lines/s that `hms log 127.0.0.1:<port> --color > /dev/null`
#                prints (formatted as on a terminal: padded, coloured), fed
#                by 4 docks (hms-log-feeder, on cpu 0 beside the hub) sending
#                64-byte lines through the hub, at most 50,000 lines in
#                flight; counted from the CLI's /proc/PID/io. Targets: hms
#                >= 1,000,000 and ahead of node.
#   deploy_100mb_s  seconds for `hms deploy --file` of a 100 MB tarball (random
#                bytes: gzip cannot shrink it) with a no-op build: upload,
#                unpack and record on hms-hub, then the CLI's sync and
#                restart. Floor, same run: the same bytes sent over loopback
#                (python3 socket.sendfile) into `tar xzf -`. Target: within
#                2x of the floor.
#
# Prints a table (targets reported, not asserted) and one JSON object per
# line ({"bench","impl","value","unit"}), also kept in
# build-bench/bench-cli.jsonl; logs in build-bench/bench-cli-logs/. --quick
# runs fewer lists and shorter tails. Exits 1 when a run failed (not when a
# target was missed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
build=1
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_cli: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then
  list_runs=15 node_list_runs=4 tail_warm=0.5 tail_dur=1.5
else
  list_runs=40 node_list_runs=10 tail_warm=1 tail_dur=3
fi

bdir=$root/build-bench
logs=$bdir/bench-cli-logs
hub=$bdir/apps/hms-hub
hms=$bdir/apps/cli/hms
feeder=$bdir/apps/cli/hms-log-feeder
node_dir=$bdir/node
node_hms=$node_dir/node_modules/hms/bin/hms.js
preload=$root/tests/node/preload.js

# ---------------------------------------------------------------- clean-up

# Every process this script started and has not reaped, by pid (never by
# name): killed on any exit.
live=()
tmp=""
cleanup() {
  local p
  for p in "${live[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${live[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  live=()
  [[ -n $tmp ]] && rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stop_pid() {  # pid: TERM, then KILL after 5 s; reaped and forgotten
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${live[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  live=("${keep[@]}")
}

# ---------------------------------------------------------------- set-up

if ((build)); then
  scripts/setup >&2
  # Tests off, as the other bench scripts configure this tree. Warnings are
  # not errors here: a benchmark measures, it does not lint (GCC 12 -O3
  # reports false -Wrestrict positives that -O2 does not).
  cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHMS_WERROR=OFF -DHMS_BUILD_TESTS=OFF >/dev/null
  cmake --build "$bdir" -j "$(nproc)" --target hms hms-hub hms-log-feeder >&2
fi
for f in "$hub" "$hms" "$feeder"; do
  [[ -x $f ]] || { echo "bench_cli: $f missing (build first)" >&2; exit 1; }
done

# The reference CLI, installed once into build-bench/node with npm.
have_node=0
if command -v node >/dev/null; then
  if ! node -e "process.exit(require('$node_dir/node_modules/hms/package.json').version === '0.4.4' ? 0 : 1)" 2>/dev/null; then
    mkdir -p "$node_dir"
    [[ -f $node_dir/package.json ]] || echo '{"name":"hms-bench-reference","private":true}' >"$node_dir/package.json"
    (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error hms@0.4.4 hms-protocol@1.2.3 >&2) ||
      echo "bench_cli: npm install hms@0.4.4 failed: the node rows are skipped" >&2
  fi
  [[ -f $node_hms ]] && have_node=1
else
  echo "bench_cli: node not found: the node rows are skipped" >&2
fi

mkdir -p "$logs"
rm -f "$logs"/*
tmp=$(mktemp -d /tmp/hms-bench-cli.XXXXXX)
mkdir -p "$tmp/home"
export HOME=$tmp/home  # no ~/.hms.json of the user's in the way

# pick_port: a free high port (scripts/bench_port.sh).
# shellcheck source=scripts/bench_port.sh
source "$root/scripts/bench_port.sh"

hub_pid="" hub_port=""
start_hub() {  # tag
  hub_port=$(pick_port)
  taskset -c 0 "$hub" --address 127.0.0.1 --port "$hub_port" --db "$tmp/$1.db" --threads 1 \
    --log-level warn >"$logs/$1.hub.log" 2>&1 &
  hub_pid=$!
  live+=("$hub_pid")
  for _ in $(seq 100); do
    kill -0 "$hub_pid" 2>/dev/null || { echo "bench_cli: the hub exited at start" >&2; return 1; }
    [[ -n $(ss -Htln "sport = :$hub_port" 2>/dev/null) ]] && return 0
    sleep 0.1
  done
  echo "bench_cli: the hub is not listening after 10 s" >&2
  return 1
}

cli_cmd() {  # impl -> the array `cmd`
  case $1 in
    hms) cmd=("$hms") ;;
    node) cmd=(node -r "$preload" "$node_hms") ;;
  esac
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rows=()   # "bench impl value unit target"
failed=0
add_row() { rows+=("$1 $2 ${3:-null} $4 ${5:--}"); }

echo "bench_cli: $(uname -sr), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), node $(node --version 2>/dev/null || echo none); hub on cpu 0, CLI on cpu 1; load average now $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---------------------------------------------------------------- cli_list_ms

list_ms() {  # impl runs -> median ms, or empty on failure
  local impl=$1 runs=$2 cmd t0 t1 i
  cli_cmd "$impl"
  taskset -c 1 "${cmd[@]}" list "127.0.0.1:$hub_port" >"$logs/list.$impl.out" 2>&1 || return 1
  for i in $(seq "$runs"); do
    t0=$EPOCHREALTIME
    taskset -c 1 "${cmd[@]}" list "127.0.0.1:$hub_port" >/dev/null 2>>"$logs/list.$impl.err" || return 1
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
  done | median
}

echo "bench_cli: cli_list_ms ($list_runs runs, node $node_list_runs)" >&2
list_hms="" list_node=""
if start_hub list; then
  for i in $(seq 20); do
    "$hms" add "127.0.0.1:$hub_port" "svc$i" --start "node app$i.js" --tag web --env "PORT=$((8000 + i))" >/dev/null
  done
  list_hms=$(list_ms hms "$list_runs") || failed=1
  ((have_node)) && { list_node=$(list_ms node "$node_list_runs") || failed=1; }
  if ((have_node)) && ! cmp -s "$logs/list.hms.out" "$logs/list.node.out"; then
    echo "bench_cli: WARNING: hms list and the reference's differ (see $logs/list.*.out)" >&2
  fi
else
  failed=1
fi
stop_pid "$hub_pid"
add_row cli_list_ms hms "$list_hms" ms "<20"
((have_node)) && add_row cli_list_ms node "$list_node" ms "-"

# ---------------------------------------------------------------- log_tail

tail_rate() {  # impl -> lines/s, or empty on failure
  local impl=$1 cmd cli rc=0
  start_hub "tail.$impl" || return 1
  cli_cmd "$impl"
  taskset -c 1 "${cmd[@]}" log "127.0.0.1:$hub_port" --color >/dev/null 2>"$logs/tail.$impl.cli.err" &
  cli=$!
  live+=("$cli")
  timeout -k 5 $((30 + ${tail_dur%.*})) taskset -c 0 "$feeder" --hub "127.0.0.1:$hub_port" --cli-pid "$cli" \
    --docks 4 --payload 64 --window 50000 --warmup "$tail_warm" --duration "$tail_dur" \
    >"$logs/tail.$impl.out" 2>"$logs/tail.$impl.err" || rc=$?
  stop_pid "$cli"
  stop_pid "$hub_pid"
  if ((rc != 0)); then
    echo "bench_cli: log_tail $impl failed (feeder exit $rc):" >&2
    tail -3 "$logs/tail.$impl.err" "$logs/tail.$impl.cli.err" >&2 || true
    return 1
  fi
  awk '$1 == "metric" && $2 == "lines_per_s" { print $3 }' "$logs/tail.$impl.out"
}

echo "bench_cli: log_tail (${tail_dur} s after ${tail_warm} s warm-up)" >&2
tail_hms=$(tail_rate hms) || failed=1
add_row log_tail hms "$tail_hms" lines/s ">=1000000"
if ((have_node)); then
  tail_node=$(tail_rate node) || failed=1
  add_row log_tail node "${tail_node:-}" lines/s "-"
fi

# ---------------------------------------------------------------- deploy_100mb_s

deploy_mb=100
((quick)) && deploy_mb=30
mkdir -p "$tmp/deploy-src"
head -c "${deploy_mb}M" /dev/urandom >"$tmp/deploy-src/blob.bin"
echo 'exit 0' >"$tmp/deploy-src/build.sh"
tar czf "$tmp/deploy.tgz" -C "$tmp/deploy-src" .
rm -rf "$tmp/deploy-src"

deploy_seconds() {  # -> seconds for hms deploy --file, or empty on failure
  local t0 t1
  start_hub deploy || return 1
  (cd "$tmp" && "$hms" add "127.0.0.1:$hub_port" big --start 'sleep 1' --build 'true' >/dev/null) || return 1
  t0=$EPOCHREALTIME
  (cd "$tmp" && taskset -c 1 "$hms" deploy "127.0.0.1:$hub_port" big --file "$tmp/deploy.tgz" --no-log \
    >"$logs/deploy.out" 2>&1) || { stop_pid "$hub_pid"; return 1; }
  t1=$EPOCHREALTIME
  stop_pid "$hub_pid"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

floor_seconds() {  # the same bytes over loopback into tar xzf -
  mkdir -p "$tmp/floor"
  python3 - "$tmp/deploy.tgz" "$tmp/floor" <<'PY'
import socket, subprocess, sys, threading, time
path, dest = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
def send():
    with socket.create_connection(("127.0.0.1", port)) as c, open(path, "rb") as f:
        c.sendfile(f)
t0 = time.monotonic()
threading.Thread(target=send, daemon=True).start()
conn, _ = srv.accept()
tar = subprocess.Popen(["taskset", "-c", "0", "tar", "xzf", "-", "-C", dest], stdin=subprocess.PIPE)
while True:
    b = conn.recv(1 << 20)
    if not b:
        break
    tar.stdin.write(b)
tar.stdin.close()
rc = tar.wait()
if rc:
    sys.exit(rc)
print("%.3f" % (time.monotonic() - t0))
PY
}

echo "bench_cli: deploy_100mb_s (${deploy_mb} MB tarball)" >&2
deploy_hms=$(deploy_seconds) || failed=1
deploy_floor=$(floor_seconds) || failed=1
add_row deploy_100mb_s hms "$deploy_hms" s "<2x_floor"
add_row deploy_100mb_s floor "$deploy_floor" s "-"

# ---------------------------------------------------------------- report

printf '%-12s %-6s %14s %-8s %-10s %s\n' bench impl value unit target vs-node
printf '%-12s %-6s %14s %-8s %-10s %s\n' ----- ---- ----- ---- ------ -------
json=()
for r in "${rows[@]}"; do
  read -r b i v u t <<<"$r"
  ratio=""
  if [[ $i == hms && $v != null ]]; then
    other=$(printf '%s\n' "${rows[@]}" | awk -v b="$b" '$1 == b && ($2 == "node" || $2 == "floor") { print $3 }')
    if [[ -n $other && $other != null ]]; then
      if [[ $b == deploy_100mb_s ]]; then ratio=$(awk -v a="$v" -v b="$other" 'BEGIN { printf "%.2fx the floor", a / b }')
      elif [[ $u == ms ]]; then ratio=$(awk -v a="$other" -v b="$v" 'BEGIN { printf "%.1fx faster", a / b }')
      else ratio=$(awk -v a="$v" -v b="$other" 'BEGIN { printf "%.1fx", a / b }'); fi
    fi
  fi
  shown=$v
  [[ $v == null ]] && shown=failed
  [[ $u == ms && $v != null ]] && shown=$(awk -v x="$v" 'BEGIN { printf "%.2f", x }')
  printf '%-12s %-6s %14s %-8s %-10s %s\n' "$b" "$i" "$shown" "$u" "$t" "$ratio"
  json+=("{\"bench\":\"$b\",\"impl\":\"$i\",\"value\":$v,\"unit\":\"$u\"}")
done
echo
printf '%s\n' "${json[@]}" | tee "$bdir/bench-cli.jsonl"
exit "$failed"
