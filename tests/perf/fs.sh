#!/bin/bash
# fs.sh: the fs plugin's static files (sites/bench) beside lighttpd, nginx, Node and the limit
# server, in one run, as ratios (issue 5's performance targets).
#
# Method of ../shared/bench/README.md (the shared part is tests/perf/lib.sh): every server
# pinned to CPU 1, the clients to CPU 0, one server after the other, `wrk -t1 -c64 -d5s
# --latency`, server CPU-microseconds per request from /proc (every thread of the process).
# Every peer serves the very files keel serves (copied into one temporary root):
#   lighttpd  static files, sendfile, one process (lighttpd -D, a temporary config)
#   nginx     static files, sendfile on, one process (master_process off, a temporary config)
#   node      http.createServer + fs.createReadStream(file).pipe(res) (skipped when no node)
#   keel      `keel run sites/bench` (its `static` route: hello.txt and the 1 MiB file in its
#             root, found by size); for the slow part a site written to the temporary folder
#
# Three parts:
#   small  GET /hello.txt (12 bytes, keep-alive): CPU-us/request, ratio to the limit server
#          (a canned 12-byte response) and to lighttpd.        Target: keel <= lighttpd.
#   large  GET the 1 MiB file (, keep-alive, wrk -c64): GiB a second from wrk's Transfer/sec,
#          and CPU-us/request.                        Target: keel >= nginx (sendfile).
#   Both are judged by the median over the rounds of keel's figure divided by the peer's in
#   the same round (lib.sh's round_ratio): the servers of a round run seconds apart, while a
#   ratio of each server's best round compared rounds minutes apart, and swung from 0.75x to
#   1.20x between runs of the same code. The tables show each server's best round.
#   slow   SLOW_COUNT (1000) concurrent downloads of a 100 MiB file by slow readers
#          (fs-slow-readers.py: SLOW_RATE bytes/s each for SLOW_SECONDS): the server's RSS
#          growth, VmRSS before against the peak during (VmHWM, reset through clear_refs
#          just before; else sampled every 0.1 s).             Target: keel <= 64 MiB.
# Then a summary with PASS/FAIL per target.
#
# usage: tests/perf/fs.sh [BUILD_DIR]            (default: <repo>/build; a Release build)
# env:   DUR (1), CONNS (64), ROUNDS (15; the servers take turns within a round), PARTS
#        ("small large slow"), SERVERS ("limit lighttpd nginx node keel"), SLOW_COUNT (1000),
#        SLOW_SECONDS (10), SLOW_RATE (262144), PORT_BASE (18180), KEEL_SHARED_DIR
#        (<repo>/../shared)
# Needs: wrk, nginx, lighttpd (installed with apt when missing), python3, taskset, cc;
# node optional. About 4 minutes with the defaults.
# Exit: 0 when every target measured is met, 1 when one is not, 2 when something is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dur=${DUR:-1}
conns=${CONNS:-64}
rounds=${ROUNDS:-15}
parts=${PARTS:-small large slow}
servers=${SERVERS:-limit lighttpd nginx node keel}
slow_count=${SLOW_COUNT:-1000}
slow_seconds=${SLOW_SECONDS:-10}
slow_rate=${SLOW_RATE:-262144}
base=${PORT_BASE:-18180}
big_bytes=$((100 * 1024 * 1024))

want() { [[ " $servers " == *" $1 "* ]]; }
need_two_cpus
apt_install_missing wrk:wrk nginx:nginx-light lighttpd:lighttpd
for tool in wrk python3 cc; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
want nginx && { command -v nginx >/dev/null || fail "nginx is missing (apt-get install nginx-light)"; }
want lighttpd && { command -v lighttpd >/dev/null || fail "lighttpd is missing (apt-get install lighttpd)"; }
want limit && need_limit_server
if want node && ! command -v node >/dev/null; then
  echo "$perf_name: no node: Node's column is left out" >&2
  servers=${servers/node/}
fi
want keel && need_keel http fs
raise_nofile

p_limit=$base p_lighttpd=$((base + 1)) p_nginx=$((base + 2)) p_node=$((base + 3))
p_keel=$((base + 4)) p_keel_big=$((base + 5))

# --- the files: sites/bench's, and a 100 MiB one -----------------------------------------
# sites/bench's `static` route: its URL prefix and root; in the root, hello.txt (12 bytes) and
# the file of exactly 1 MiB. Prints "PREFIX ROOT SMALL LARGE" (paths relative to the root).
bench_files() {
  python3 - "$repo/sites/bench/site.json" <<'PY'
import json, os, re, sys
path = sys.argv[1]
text = open(path).read()
# Manifests allow // and /* */ comments outside strings.
text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
site = json.loads(text)
for route in site.get("routes", []):
    prefix = route["path"].rstrip("*")  # "/*" and "/static/*" or "/static/" (the rest)
    if route.get("use") in ("static", "fs/static") and route["path"].endswith(("*", "/")):
        prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        root = os.path.join(os.path.dirname(path), route["config"]["root"])
        small = large = None
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                f = os.path.join(folder, name)
                rel = os.path.relpath(f, root)
                if name == "hello.txt" and os.path.getsize(f) == 12: small = small or rel
                if os.path.getsize(f) == 1 << 20: large = large or rel
        if small and large:
            print(prefix, root, small, large)
            sys.exit(0)
sys.exit("no static route in %s whose root holds hello.txt (12 bytes) and a 1 MiB file" % path)
PY
}
files=$(bench_files) || fail "sites/bench does not serve hello.txt and a 1 MiB file through the fs plugin's static handler"
read -r bench_prefix bench_root small_rel large_rel <<<"$files"
small_path="$bench_prefix$small_rel" large_path="$bench_prefix$large_rel"
www="$tmp/www"
mkdir -p "$www"
for f in "$small_path" "$large_path"; do
  mkdir -p "$(dirname "$www$f")"
done
cp "$bench_root/$small_rel" "$www$small_path"
cp "$bench_root/$large_rel" "$www$large_path"
if [[ " $parts " == *" slow "* ]]; then
  head -c "$big_bytes" /dev/urandom >"$www/big.bin"
fi

# --- the servers ------------------------------------------------------------------------
declare -A pid_of port_of
started() { pid_of[$1]=$2; port_of[$1]=$3; pids+=("$2"); }

if want limit; then
  start_limit_server "$p_limit"
  started limit "$pid_limit" "$p_limit"
fi

if want lighttpd; then
  mkdir -p "$tmp/lighttpd"
  cat >"$tmp/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$www"
server.bind = "127.0.0.1"
server.port = $p_lighttpd
server.errorlog = "$tmp/lighttpd/error.log"
server.event-handler = "linux-sysepoll"
server.network-backend = "sendfile"
server.max-fds = 16384
server.max-connections = 8192
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 75
mimetype.assign = (".txt" => "text/plain", ".bin" => "application/octet-stream")
EOF
  taskset -c 1 lighttpd -D -f "$tmp/lighttpd/lighttpd.conf" 2>"$tmp/lighttpd/stderr" &
  started lighttpd $! "$p_lighttpd"
fi

if want nginx; then
  write_nginx_conf nginx <<EOF
  types { text/plain txt; application/octet-stream bin; }
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$p_nginx;
    root $www;
  }
EOF
  taskset -c 1 nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx/stderr" &
  started nginx $! "$p_nginx"
fi

if want node; then
  cat >"$tmp/node.js" <<'EOF'
// The seed's way: stat, then fs.createReadStream(file).pipe(res) (backpressure by pipe).
const http = require('http');
const fs = require('fs');
const path = require('path');
const root = process.argv[3];
const types = {'.txt': 'text/plain', '.bin': 'application/octet-stream'};
http.createServer((req, res) => {
  const file = path.join(root, path.normalize(decodeURIComponent(req.url.split('?')[0])));
  if (!file.startsWith(root + path.sep)) { res.writeHead(404); res.end(); return; }
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, {'Content-Type': types[path.extname(file)] || 'application/octet-stream',
                        'Content-Length': st.size});
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).pipe(res);
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
EOF
  taskset -c 1 node "$tmp/node.js" "$p_node" "$www" &
  started node $! "$p_node"
fi

if want keel; then
  taskset -c 1 "$keel" --log-level warn run "$repo/sites/bench" --listen "127.0.0.1:$p_keel" --no-lock &
  started keel $! "$p_keel"
  if [[ " $parts " == *" slow "* ]]; then
    # The 100 MiB file from the same temporary root: a site of its own in the temporary folder.
    cat >"$tmp/site-big.json" <<EOF
{
  "name": "bench-big",
  "listeners": [{"address": "127.0.0.1:$p_keel_big"}],
  "plugins": {"http": {"version": "^0.1.0", "config": {"limits": {"max_connections": 20000}}},
              "fs": "^0.1.0"},
  "routes": [{"path": "/*", "methods": ["GET"], "use": "static", "config": {"root": "www"}}]
}
EOF
    taskset -c 1 "$keel" --log-level warn run "$tmp/site-big.json" --no-lock &
    started keel-big $! "$p_keel_big"
  fi
fi

for name in "${!pid_of[@]}"; do wait_port "${port_of[$name]}" "$name"; done

# Every server serves the same bytes (and so the comparison is of the same work).
check_body() { # NAME PATH
  local got want
  got=$(curl -sS --max-time 30 "http://127.0.0.1:${port_of[$1]}$2" | sha256sum | cut -d' ' -f1)
  want=$(sha256sum <"$www$2" | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "$1 does not serve $2 as it is on disk (sha256 $got, file $want)"
}
for name in "${!pid_of[@]}"; do
  case $name in
    limit) ;;
    keel-big) check_body "$name" /big.bin ;;
    *)
      check_body "$name" "$small_path"
      check_body "$name" "$large_path"
      [[ " $parts " == *" slow "* && $name != keel ]] && check_body "$name" /big.bin
      ;;
  esac
done

# --- measuring -------------------------------------------------------------------------
version_of() {
  case $1 in
    keel) "$keel" version | head -1 | cut -d' ' -f2 ;;
    nginx) nginx -v 2>&1 | cut -d' ' -f3 ;;
    lighttpd) lighttpd -v | cut -d' ' -f1 ;;
    node) node --version ;;
  esac
}
versions=""
for name in keel lighttpd nginx node; do want "$name" && versions+="$name $(version_of "$name"), "; done
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs; wrk -t1 -c$conns -d${dur}s --latency, $rounds rounds; servers on CPU 1, clients on CPU 0"
echo "# ${versions%, }"

declare -A summary_keel summary_peer summary_ratio summary_result
targets=()
target() { # KEY KEEL PEER RATIO PASS(0|1)
  targets+=("$1")
  summary_keel[$1]=$2 summary_peer[$1]=$3 summary_ratio[$1]=$4
  if [ "$5" = 1 ]; then summary_result[$1]=PASS; else summary_result[$1]=FAIL; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "na" }'; }

if [[ " $parts " == *" small "* ]]; then
  echo
  echo "## GET $small_path (12 bytes), keep-alive: server CPU per request"
  echo "(each server's round with the least CPU per request; the target is judged by the same-round median)"
  list=()
  for name in limit lighttpd nginx node keel; do
    want "$name" || continue
    path=$small_path; [ "$name" = limit ] && path=/
    list+=("$name http://127.0.0.1:${port_of[$name]}$path ${pid_of[$name]}")
  done
  MEASURE_BY=cpu measure "${list[@]}"
  printf "%-10s %12s %10s %12s %10s %12s  %s\n" server req/s p99 cpu-us/req "vs limit" "vs lighttpd" errors
  for name in limit lighttpd nginx node keel; do
    want "$name" || continue
    read -r rps p99 cpu _ _ err <<<"${best_line[$name]}"
    vl=-; want limit && vl="$(ratio "$cpu" "${best_cpu[limit]}")x"
    vh=-; want lighttpd && vh="$(ratio "$cpu" "${best_cpu[lighttpd]}")x"
    printf "%-10s %12s %10s %12s %10s %12s  %s\n" "$name" "$rps" "$p99" "$cpu" "$vl" "$vh" "$err"
  done
  if want keel && want lighttpd; then
    # shellcheck disable=SC2086 # the rounds' figures, one word each
    k=$(median_fmt "%.2f" ${cpus[keel]}) l=$(median_fmt "%.2f" ${cpus[lighttpd]}) same=$(round_ratio keel lighttpd)
    echo "same-round median ratio: keel/lighttpd ${same}x (medians over the rounds: keel $k, lighttpd $l us/req)"
    target small "$k us/req" "$l us/req (lighttpd)" "${same}x" \
      "$(awk -v r="$same" 'BEGIN{print (r <= 1.00) ? 1 : 0}')"
  fi
fi

if [[ " $parts " == *" large "* ]]; then
  echo
  echo "## GET $large_path (1 MiB), keep-alive, $conns connections: throughput"
  echo "(each server's round with the most bytes a second; the target is judged by the same-round median)"
  list=()
  for name in lighttpd nginx node keel; do
    want "$name" && list+=("$name http://127.0.0.1:${port_of[$name]}$large_path ${pid_of[$name]}")
  done
  MEASURE_BY=transfer measure "${list[@]}"
  # wrk's Transfer/sec in bytes (its units are binary), shown as GiB/s.
  xfer_of() { bytes_of "$(awk '{print $4}' <<<"${best_line[$1]}")"; }
  gib() { awk -v b="$1" 'BEGIN{ printf "%.2f", b / 1073741824 }'; }
  printf "%-10s %12s %10s %12s %10s %10s  %s\n" server req/s p99 cpu-us/req GiB/s "vs nginx" errors
  for name in lighttpd nginx node keel; do
    want "$name" || continue
    read -r rps p99 cpu _ _ err <<<"${best_line[$name]}"
    vn=-; want nginx && vn="$(ratio "$(xfer_of "$name")" "$(xfer_of nginx)")x"
    printf "%-10s %12s %10s %12s %10s %10s  %s\n" "$name" "$rps" "$p99" "$cpu" "$(gib "$(xfer_of "$name")")" "$vn" "$err"
  done
  if want keel && want nginx; then
    # shellcheck disable=SC2086 # the rounds' figures, one word each
    kb=$(median_of ${xfers[keel]}) nb=$(median_of ${xfers[nginx]}) same=$(round_ratio keel nginx xfers)
    echo "same-round median ratio: keel/nginx ${same}x (medians over the rounds: keel $(gib "$kb"), nginx $(gib "$nb") GiB/s)"
    target large "$(gib "$kb") GiB/s" "$(gib "$nb") GiB/s (nginx)" "${same}x" \
      "$(awk -v r="$same" 'BEGIN{print (r >= 1.00) ? 1 : 0}')"
  fi
fi

# slow_run NAME PORT PID: prints "before-KiB peak-KiB how" (how: hwm or sampled).
slow_run() {
  local before peak hwm=0 how=sampled line sampler
  before=$(rss_of "$3")
  if echo 5 >"/proc/$3/clear_refs" 2>/dev/null; then hwm=1; fi
  # The sampler: the peak of VmRSS every 0.1 s, on CPU 0, until told to stop.
  (
    trap 'echo "$max"; exit 0' TERM
    max=0
    while :; do
      v=$(awk '/VmRSS/{print $2}' "/proc/$3/status" 2>/dev/null || echo 0)
      [ "${v:-0}" -gt "$max" ] && max=$v
      sleep 0.1
    done
  ) >"$tmp/sampled" &
  sampler=$!
  if ! taskset -c 0 python3 "$here/fs-slow-readers.py" "$2" /big.bin "$slow_count" "$slow_seconds" "$slow_rate" \
      >"$tmp/slow.out" 2>&1; then
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    echo "$perf_name: the slow readers failed against $1: $(tail -1 "$tmp/slow.out")" >&2
    echo "na na failed"
    return
  fi
  kill -TERM "$sampler"; wait "$sampler" 2>/dev/null || true
  peak=$(cat "$tmp/sampled")
  if [ "$hwm" = 1 ]; then
    how=hwm
    line=$(awk '/VmHWM/{print $2}' "/proc/$3/status")
    [ "$line" -gt "$peak" ] && peak=$line
  fi
  echo "$before $peak $how $(awk '/^done/{printf "%.0f", $3/1048576}' "$tmp/slow.out")"
}

declare -A growth_of
if [[ " $parts " == *" slow "* ]]; then
  echo
  echo "## $slow_count concurrent downloads of a 100 MiB file, slow readers ($slow_rate B/s each for ${slow_seconds}s): server RSS"
  printf "%-10s %12s %12s %12s %14s  %s\n" server "rss before" "rss peak" growth "MiB delivered" "peak from"
  for name in lighttpd nginx node keel; do
    want "$name" || continue
    s=$name; [ "$name" = keel ] && s="keel-big"
    read -r before peak how delivered <<<"$(slow_run "$name" "${port_of[$s]}" "${pid_of[$s]}")"
    if [ "$how" = failed ]; then
      printf "%-10s %s\n" "$name" "the slow readers failed"
      [ "$name" = keel ] && target slow "failed" "-" "-" 0
      continue
    fi
    growth=$(awk -v a="$before" -v b="$peak" 'BEGIN{ printf "%.1f", (b-a)/1024 }')
    printf "%-10s %8s KiB %8s KiB %8s MiB %14s  %s\n" "$name" "$before" "$peak" "$growth" "$delivered" \
      "$([ "$how" = hwm ] && echo "VmHWM" || echo "VmRSS every 0.1 s")"
    growth_of[$name]=$growth
  done
  if [ -n "${growth_of[keel]:-}" ]; then
    target slow "${growth_of[keel]} MiB" "${growth_of[nginx]:-na} MiB (nginx)" "-" \
      "$(awk -v a="${growth_of[keel]}" 'BEGIN{print (a <= 64) ? 1 : 0}')"
  fi
fi

echo
echo "## Summary"
declare -A label=(
  [small]="12-byte file: CPU per request <= lighttpd's"
  [large]="1 MiB file: throughput >= nginx sendfile"
  [slow]="$slow_count slow downloads: RSS growth <= 64 MiB"
)
printf "%-46s %16s %26s %8s  %s\n" target keel peer ratio result
status=0
for t in ${targets[@]+"${targets[@]}"}; do
  printf "%-46s %16s %26s %8s  %s\n" "${label[$t]}" "${summary_keel[$t]}" "${summary_peer[$t]}" \
    "${summary_ratio[$t]}" "${summary_result[$t]}"
  [ "${summary_result[$t]}" = PASS ] || status=1
done
[ ${#targets[@]} -gt 0 ] || echo "(no target measured: keel and its peer were not both in SERVERS)"
exit "$status"
