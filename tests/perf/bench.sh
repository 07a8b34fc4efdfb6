#!/bin/bash
# bench.sh: `keel bench` beside wrk, in one run, against the physical-limit server.
#
# The goal (issue 6): one keel bench thread pinned to one core reaches >= 0.9x the request
# rate of `wrk -t1` pinned the same way, at -c 64. Method of ../shared/bench/README.md: the
# server (limit-server.c, raw epoll, canned response) pinned to CPU 1, each client pinned to
# CPU 0, one after the other, ROUNDS times alternating; the best round of each is compared.
#
# usage: tests/perf/bench.sh [BUILD_DIR]        (default: <repo>/build)
# env:   DUR (5), CONNS (64), ROUNDS (2), PORT (18083), KEEL_SHARED_DIR (<repo>/../shared)
# Exit: 0 when the goal is met, 1 when not, 2 when something is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dur=${DUR:-5}
conns=${CONNS:-64}
rounds=${ROUNDS:-2}
port=${PORT:-18083}

need_limit_server
need_keel bench
need_two_cpus
apt_install_missing wrk:wrk
command -v wrk >/dev/null || fail "wrk is missing (apt-get install wrk)"

start_limit_server "$port"
wait_port "$port" limit-server
url="http://127.0.0.1:$port/"

best_wrk=0 best_keel=0
# Client CPU per request (user + system, from bash's `time`): the load-independent side of
# the comparison; when the server is the bottleneck both clients show its rate, not theirs.
TIMEFORMAT='%U %S'
cpu_us() { awk -v u="$1" -v s="$2" -v n="$3" 'BEGIN{ if (n>0) printf "%.2f", (u+s)*1e6/n; else print "na" }'; }
printf "%-6s %-6s %14s %10s %16s\n" round client "requests/s" p99 "client-cpu-us/req"
for r in $(seq "$rounds"); do
  { time taskset -c 0 wrk -t1 -c"$conns" -d"${dur}s" --latency "$url" >"$tmp/wrk.out" 2>&1; } 2>"$tmp/wrk.time"
  wrk_rps=$(awk '/Requests\/sec/{print $2}' "$tmp/wrk.out")
  wrk_p99=$(awk '$1=="99%"{print $2}' "$tmp/wrk.out")
  wrk_n=$(awk '/requests in/{print $1}' "$tmp/wrk.out")
  read -r u s <"$tmp/wrk.time"
  printf "%-6s %-6s %14s %10s %16s\n" "$r" wrk "$wrk_rps" "$wrk_p99" "$(cpu_us "$u" "$s" "$wrk_n")"

  { time taskset -c 0 "$keel" bench quick -q -c "$conns" -d "$dur" -o "$tmp/keel.json" "$url" >/dev/null; } 2>"$tmp/keel.time"
  keel_rps=$(sed -n 's/.*"requestsPerSecond": \([0-9.]*\).*/\1/p' "$tmp/keel.json" | head -1)
  keel_p99=$(sed -n 's/.*"p99": \([0-9.]*\),.*"p99.9".*/\1/p' "$tmp/keel.json" | head -1)
  keel_n=$(sed -n 's/^  "requests": \([0-9]*\),/\1/p' "$tmp/keel.json")
  read -r u s < <(tail -1 "$tmp/keel.time")
  printf "%-6s %-6s %14.2f %10s %16s\n" "$r" keel "$keel_rps" "${keel_p99}ms" "$(cpu_us "$u" "$s" "$keel_n")"

  best_wrk=$(awk -v a="$best_wrk" -v b="$wrk_rps" 'BEGIN{print (b>a)?b:a}')
  best_keel=$(awk -v a="$best_keel" -v b="$keel_rps" 'BEGIN{print (b>a)?b:a}')
done

ratio=$(awk -v k="$best_keel" -v w="$best_wrk" 'BEGIN{ if (w>0) printf "%.3f", k/w; else print 0 }')
echo
printf "%-22s %14s\n" "best of $rounds" "requests/s"
printf "%-22s %14.2f\n" "wrk -t1 -c$conns" "$best_wrk"
printf "%-22s %14.2f\n" "keel bench -c $conns" "$best_keel"
printf "%-22s %14s   (goal >= 0.9)\n" "ratio keel / wrk" "$ratio"
awk -v r="$ratio" 'BEGIN{ exit (r >= 0.9) ? 0 : 1 }'
