#!/usr/bin/env bash
# instructions.sh: user-space instructions per GET /plain request, keel beside nginx, counted
# by callgrind (valgrind), in one run, as a ratio.
#
# Why this beside http.sh: CPU time per request on a shared virtual machine drifts by a third
# within minutes, so http.sh needs many rounds to see a 5% change. An instruction count is
# exact and does not drift: it shows what a change to the request path costs or saves, at
# once, on any machine. It is not the goal itself (instructions do not all cost the same:
# keel runs fewer than nginx yet spends about as much time in user space, see the closing
# notes of issue 4), and it leaves out the kernel's share, which is most of a request here.
#
# Method: each server runs alone under `valgrind --tool=callgrind` (one process, no access
# log); wrk -t1 -c16 warms it for WARM seconds, callgrind's counters are dumped, wrk runs DUR
# more seconds, the counters are dumped again: the instructions of that second dump divided
# by the requests wrk counted. nginx answers `return 200 "Hello World!"` as in http.sh.
# The last column is the request's code footprint (code-lines.py): the distinct 64-byte lines
# of machine code run on every request, which the caches fetch again per request.
#
# usage: tests/perf/instructions.sh [BUILD_DIR]    (default: <repo>/build)
# env:   DUR (4), WARM (2), URLPATH (/plain: another path of sites/bench, for keel only),
#        PORT_BASE (18380), KEEP (a folder: the callgrind files are copied there)
# Needs: valgrind, wrk, nginx (installed from Debian when missing).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dur=${DUR:-4}
warm=${WARM:-2}
path=${URLPATH:-/plain}
base=${PORT_BASE:-18380}

need_keel http
apt_install_missing valgrind:valgrind wrk:wrk nginx:nginx-light
raise_nofile

p_keel=$base p_nginx=$((base + 1))
write_nginx_conf nginx <<EOF
  server {
    listen 127.0.0.1:$p_nginx;
    location /plain { default_type text/plain; return 200 "Hello World!"; }
  }
EOF

# count NAME PORT URLPATH COMMAND...: starts COMMAND under callgrind and prints
# "NAME requests instructions instructions/request".
count() {
  local name=$1 port=$2 url=$3 pid out reqs file ir
  shift 3
  valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.%p" --dump-instr=yes \
    --compress-strings=no --compress-pos=no \
    "$@" 2>"$tmp/$name.valgrind" &
  pid=$!
  pids+=("$pid")
  # Under valgrind a server takes seconds to start.
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "$name did not start under valgrind ($tmp/$name.valgrind)"
  wrk -t1 -c16 -d"${warm}s" "http://127.0.0.1:$port$url" >/dev/null
  callgrind_control -d "$pid" >/dev/null 2>&1
  out=$(wrk -t1 -c16 -d"${dur}s" "http://127.0.0.1:$port$url")
  callgrind_control -d "$pid" >/dev/null 2>&1
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  grep -qE "Non-2xx|Socket errors" <<<"$out" && fail "$name answered errors: $out"
  # The newest dump is the measured one (its "totals:" line counts only since the first dump).
  # shellcheck disable=SC2012 # our own file names
  file=$(ls -t "$tmp/$name.$pid"* | head -1)
  ir=$(awk '/^totals:/{print $2}' "$file")
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$file" "$KEEP/$name.callgrind"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$name $reqs $ir $(awk -v i="$ir" -v n="$reqs" 'BEGIN{ printf "%.0f", i / n }')" \
    "$(python3 "$here/code-lines.py" "$file" "$reqs")"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) callgrind, wrk -t1 -c16: ${warm}s warm-up, then ${dur}s counted"
echo "# keel $("$keel" --version 2>/dev/null | awk 'NR==1{print $2}'), $(nginx -v 2>&1 | awk '{print $3}'), $(valgrind --version)"
echo
printf "%-8s %10s %16s %14s  %s\n" server requests instructions "per request" "code lines per request (by object)"
k=$(count keel "$p_keel" "$path" "$keel" --log-level warn run "$repo/sites/bench" --listen "127.0.0.1:$p_keel" --no-lock)
n=$(count nginx "$p_nginx" /plain nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf")
for line in "$k" "$n"; do
  read -r name reqs ir per lines <<<"$line"
  printf "%-8s %10s %16s %14s  %s\n" "$name" "$reqs" "$ir" "$per" "$lines"
done
awk -v a="$(awk '{print $4}' <<<"$k")" -v b="$(awk '{print $4}' <<<"$n")" -v p="$path" \
  'BEGIN{ printf "keel %s / nginx /plain: %.2fx the user-space instructions per request\n", p, a / b }'
