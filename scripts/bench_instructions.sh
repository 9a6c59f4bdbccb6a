#!/usr/bin/env bash
# The engine's user-space instructions per operation, counted by valgrind's
# callgrind: a number that does not move with the machine's noise, for
# regressions a few percent wide that timed runs cannot show on a shared VM.
#
#   scripts/bench_instructions.sh --bin BENCH [--baseline-bin BENCH --baseline-tag TAG]
#
# Normally run as `scripts/bench instructions [--baseline REV]`, which builds
# the bench programs. For each side below, one process runs under callgrind
# while its peer runs at full speed, so the counted side always has work
# waiting and its batches are full, as in a loaded server:
#   rpc_server   hms-rpc-server answering start requests (128 in flight):
#                instructions per request answered
#   rpc_client   hms-rpc-client issuing them: per request
#   stdout_recv  hms-recv reading 64-byte stdout frames: per frame
#   stdout_send  hms-send writing them: per frame
# Each is counted for a short and a long run and the difference divided by
# the difference in operations (the side's own frame counters), so start-up
# and shutdown cancel out. Both backends (hms = io_uring, hms-epoll); with a
# baseline, its two impls too, and a table of today against it.
#
# Prints a table and one JSON object per line, also kept in
# build-bench/bench-instructions.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin="" base_bin="" base_tag=""
while (($#)); do
  case $1 in
    --bin) bin=${2:?}; shift ;;
    --baseline-bin) base_bin=${2:?}; shift ;;
    --baseline-tag) base_tag=${2:?}; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_instructions: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $bin ]] || { echo "bench_instructions: --bin must name the built hms_engine_bench" >&2; exit 2; }
if [[ -n $base_bin && ( ! -x $base_bin || -z $base_tag ) ]]; then
  echo "bench_instructions: --baseline-bin needs a built program and --baseline-tag" >&2
  exit 2
fi
command -v valgrind >/dev/null ||
  { echo "bench_instructions: valgrind not found (apt-get install valgrind)" >&2; exit 1; }

build=$root/build-bench
logs=$build/bench-instructions-logs
mkdir -p "$logs"
rm -f "$logs"/*

live=()
cleanup() {
  local p
  for p in "${live[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${live[@]}"; do wait "$p" 2>/dev/null || true; done
  live=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pick_port: a free high port (scripts/bench_port.sh).
# shellcheck source=scripts/bench_port.sh
source "$root/scripts/bench_port.sh"

program_of() {  # impl -> the bench program
  case $1 in
    *@*) echo "$base_bin" ;;
    *) echo "$bin" ;;
  esac
}
backend_of() {  # impl -> HMS_BACKEND
  case $1 in
    hms-epoll*) echo epoll ;;
    *) echo uring ;;
  esac
}

# count TAG IMPL SERVER_ROLE CLIENT_ROLE COUNTED(server|client) SECONDS ARGS...
# Runs the pair once with the counted side under callgrind; prints
# "instructions operations" (operations: that side's frames in for a
# server, frames out for a client, from the reactor counters it logs).
count() {
  local tag=$1 impl=$2 srole=$3 crole=$4 counted=$5 secs=$6
  shift 6
  local prog be port
  prog=$(program_of "$impl")
  be=$(backend_of "$impl")
  port=$(pick_port)
  local args=(--port "$port" --duration "$secs" --warmup 0 "$@")
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$logs/$tag.callgrind")
  local sv=() cv=()
  if [[ $counted == server ]]; then sv=("${vg[@]}"); else cv=("${vg[@]}"); fi
  # The server ends when its one connection closes; the limit only catches hangs.
  local limit=$((secs * 60 + 60)) spid crc=0 src=0
  HMS_BACKEND=$be timeout -k 5 "$limit" taskset -c 0 "${sv[@]}" "$prog" "hms-$srole" "${args[@]}" \
    >"$logs/$tag.server.out" 2>"$logs/$tag.server.err" &
  spid=$!
  live+=("$spid")
  # The client retries its connect while the server (maybe under valgrind) starts.
  HMS_BACKEND=$be timeout -k 5 "$limit" taskset -c 1 "${cv[@]}" "$prog" "hms-$crole" "${args[@]}" \
    >"$logs/$tag.client.out" 2>"$logs/$tag.client.err" || crc=$?
  wait "$spid" || src=$?
  live=()
  if ((src != 0 || crc != 0)); then
    echo "bench_instructions: $tag failed (server exit $src, client exit $crc); logs in $logs" >&2
    return 1
  fi
  local ir ops
  ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$logs/$tag.callgrind")
  if [[ $counted == server ]]; then
    ops=$(sed -n 's/.*: frames in \([0-9]*\) out.*/\1/p' "$logs/$tag.$counted.err" | tail -1)
  else
    ops=$(sed -n 's/.*: frames in [0-9]* out \([0-9]*\),.*/\1/p' "$logs/$tag.$counted.err" | tail -1)
  fi
  [[ -n $ir && -n $ops ]] || { echo "bench_instructions: $tag: no count in the logs ($logs)" >&2; return 1; }
  echo "$ir $ops"
}

# per_op BENCH IMPL SERVER_ROLE CLIENT_ROLE COUNTED ARGS...: instructions per
# operation from a 1 s and a 4 s run, start-up and shutdown cancelled.
per_op() {
  local bench=$1 impl=$2 srole=$3 crole=$4 counted=$5
  shift 5
  local short long
  short=$(count "$bench.$impl.short" "$impl" "$srole" "$crole" "$counted" 1 "$@") || return 1
  long=$(count "$bench.$impl.long" "$impl" "$srole" "$crole" "$counted" 4 "$@") || return 1
  awk -v s="$short" -v l="$long" 'BEGIN { split(s, a, " "); split(l, b, " ");
    if (b[2] <= a[2]) exit 1; printf "%.1f", (b[1] - a[1]) / (b[2] - a[2]) }'
}

impls=(hms hms-epoll)
[[ -n $base_bin ]] && impls+=("hms@$base_tag" "hms-epoll@$base_tag")
rows=()
failed=0
measure() {  # BENCH UNIT SERVER_ROLE CLIENT_ROLE COUNTED ARGS...
  local bench=$1 unit=$2 impl v
  shift 2
  for impl in "${impls[@]}"; do
    echo "  $bench $impl" >&2
    v=$(per_op "$bench" "$impl" "$@") || { v=null; failed=1; }
    rows+=("$bench $impl $v $unit")
  done
}

echo "bench_instructions: callgrind, counted side on cpu 0 or 1, its peer at full speed on the other" >&2
measure rpc_server instructions/request rpc-server rpc-client server --window 128
measure rpc_client instructions/request rpc-server rpc-client client --window 128
measure stdout_recv instructions/frame recv send server --payload 64
measure stdout_send instructions/frame recv send client --payload 64

printf '%s\n' "${rows[@]}" | awk -v base="$base_tag" -v out="$build/bench-instructions.jsonl" '
  { b[NR] = $1; im[NR] = $2; v[NR] = $3; u[NR] = $4; value[$1, $2] = $3 }
  function ratio(i,    old) {
    if (base == "" || im[i] ~ /@/ || v[i] == "null") return ""
    old = value[b[i], im[i] "@" base]
    return (old == "" || old == "null" || old <= 0) ? "" : v[i] / old
  }
  END {
    printf "%-12s %-17s %10s %-22s %s\n", "bench", "impl", "value", "unit", base == "" ? "" : "vs " base
    printf "%-12s %-17s %10s %-22s %s\n", "-----", "----", "-----", "----", base == "" ? "" : "------"
    printf "" > out
    for (i = 1; i <= NR; i++) {
      r = ratio(i)
      printf "%-12s %-17s %10s %-22s %s\n", b[i], im[i], v[i] == "null" ? "failed" : v[i], u[i],
             r == "" ? "" : sprintf("%.3f", r)
      line = sprintf("{\"bench\":\"%s_instructions\",\"impl\":\"%s\",\"value\":%s,\"unit\":\"%s\"%s}",
                     b[i], im[i], v[i], u[i],
                     r == "" ? "" : sprintf(",\"baseline\":\"%s\",\"ratio_to_baseline\":%.4f", base, r))
      json[i] = line
    }
    printf "\n"
    for (i = 1; i <= NR; i++) { print json[i]; print json[i] > out }
  }'
exit "$failed"
