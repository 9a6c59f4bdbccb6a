# Sourced by the bench scripts (not run): pick_port prints a random port in
# 20000-31999 (below the kernel's ephemeral range, so no outgoing connection
# holds it) that nothing listens on or is connected from right now. After 50
# tries it gives up and exits the calling script.
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    if [[ -z $(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ]]; then
      echo "$p"
      return
    fi
  done
  echo "${0##*/}: no free port found" >&2
  exit 1
}
