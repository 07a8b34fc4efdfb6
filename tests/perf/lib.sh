# shellcheck shell=bash disable=SC2154 # conns, dur and rounds are the sourcing script's
# lib.sh: what tests/perf/{http,bench,fs}.sh share, sourced after their header comment.
#
# Method of ../shared/bench/README.md: servers pinned to CPU 1, the load generator to CPU 0,
# one server after the other; the figure that matters is the server's CPU-microseconds per
# request (utime+stime of the whole process, every thread, over the run / requests served).
#
# Sourcing sets: here (tests/perf), repo, build (the script's $1, default <repo>/build),
# shared (KEEL_SHARED_DIR, default <repo>/../shared), keel (the binary), tmp (a temporary
# folder removed at exit), pids (every server started; killed at exit), hz, and the
# functions below. Needs `set -euo pipefail` in the caller (set here too).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build}
shared=${KEEL_SHARED_DIR:-$repo/../shared}
keel="$build/bin/keel"
perf_name=$(basename "${BASH_SOURCE[1]:-$0}")
hz=$(getconf CLK_TCK)

fail() { echo "$perf_name: $*" >&2; exit 2; }

# need_limit_server: the reference server's source must be there.
need_limit_server() {
  [ -f "$shared/bench/limit-server.c" ] || fail "no $shared/bench/limit-server.c (set KEEL_SHARED_DIR to the shared folder)"
}

# need_keel PLUGIN...: the binary and these plugins, built.
need_keel() {
  [ -x "$keel" ] || fail "no $keel: build first (cmake --build $build), or pass the build directory"
  local p
  for p in "$@"; do
    [ -f "$build/lib/keel/plugins/keel_$p.so" ] || fail "no $p plugin under $build/lib/keel/plugins"
  done
}

# need_two_cpus: the servers on CPU 1, the clients on CPU 0.
need_two_cpus() {
  command -v taskset >/dev/null || fail "taskset (util-linux) is missing"
  [ "$(nproc)" -ge 2 ] || fail "needs two CPUs: the servers on CPU 1, the clients on CPU 0"
}

# apt_install_missing COMMAND:PACKAGE...: installs the Debian package of each missing command.
apt_install_missing() {
  local spec missing=()
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "$perf_name: installing ${missing[*]} (Debian packages)" >&2
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
  fi
}

# raise_nofile: thousands of connections need thousands of descriptors (children inherit it).
raise_nofile() { ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; }

tmp=$(mktemp -d)
pids=()
perf_cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap perf_cleanup EXIT

# wait_port PORT NAME: until something accepts on 127.0.0.1:PORT (10 s).
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  fail "nothing listens on port $1 ($2)"
}

# start_limit_server PORT: builds and starts the limit server on CPU 1; sets pid_limit.
start_limit_server() {
  cc -O2 "$shared/bench/limit-server.c" -o "$tmp/limit-server"
  taskset -c 1 "$tmp/limit-server" "$1" &
  pid_limit=$!
  pids+=("$pid_limit")
}

# ticks_of PID: "user total" CPU ticks of every thread of PID, from one read of its stat.
ticks_of() { local f; read -r -a f <"/proc/$1/stat"; echo "${f[13]} $((f[13] + f[14]))"; }
rss_of() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }                      # KiB

# per_request TICKS REQUESTS: CPU-microseconds per request, "na" for no requests.
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN{ if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "na" }'; }

# wrk_run URL PID: one `wrk -t1 -c$conns -d${dur}s --latency` on CPU 0 against the server PID.
# Prints "rps p99 cpu-us/req transfer/sec user-cpu-us/req errors" (errors last: it has
# blanks, or is "-"). The user-space part of the CPU is what a server's own code costs: the
# kernel's part (the same read and write per request) is much the same for every server.
wrk_run() {
  local c0 c1 u0 u1 out rps reqs p99 err cpu xfer user
  read -r u0 c0 <<<"$(ticks_of "$2")"
  out=$(taskset -c 0 wrk -t1 -c"$conns" -d"${dur}s" --latency "$1" 2>&1)
  read -r u1 c1 <<<"$(ticks_of "$2")"
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  xfer=$(awk '/Transfer\/sec/{print $2}' <<<"$out")
  err=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ';' || true)
  cpu=$(per_request $((c1 - c0)) "${reqs:-0}")
  user=$(per_request $((u1 - u0)) "${reqs:-0}")
  echo "${rps:-0} ${p99:-na} $cpu ${xfer:-0B} $user ${err:--}"
}

# bytes_of SIZE: wrk's "2.43GB" (binary units, as wrk prints them) in bytes.
bytes_of() {
  awk -v s="$1" 'BEGIN{ n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
    m = (u == "KB") ? 1024 : (u == "MB") ? 1048576 : (u == "GB") ? 1073741824 : (u == "TB") ? 1099511627776 : 1
    printf "%.0f", n * m }'
}

# us_of LATENCY: wrk's "618.00us" / "1.42ms" / "1.01s" in microseconds.
us_of() {
  awk -v s="$1" 'BEGIN{ n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
    m = (u == "ms") ? 1000 : (u == "s") ? 1000000 : 1
    printf "%.0f", n * m }'
}

# median_fmt FORMAT NUMBER...: the median (the mean of the middle two for an even count),
# printed with the awk printf FORMAT; "na" for no numbers.
median_fmt() {
  local format=$1
  shift
  printf "%s\n" "$@" | sort -g | awk -v f="$format" 'NF { v[++n] = $1 } END { if (n == 0) { print "na"; exit }
    m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2; printf f "\n", m }'
}

# median_of NUMBER...: the median, rounded to an integer (microseconds, bytes).
median_of() { median_fmt "%.0f" "$@"; }

declare -A best_cpu best_line p99s cpus users xfers
# measure "NAME URL PID"...: ROUNDS rounds, the servers taking turns within each round (so a
# busy moment on the machine hits them all; each round starts with the next server); each keeps its round with the lowest CPU per
# request (interference only ever adds CPU), or with MEASURE_BY=transfer its round with the
# most bytes a second (interference only ever takes some away). Results in best_cpu[NAME]
# (that round's CPU-us/req) and best_line[NAME] (that round's wrk_run line); p99s[NAME] has
# every round's p99 in microseconds (a tail is judged by its median over the rounds: one
# round's p99 moves by a third between runs of the same server), cpus[NAME] every round's
# CPU-us/req (see round_ratio), users[NAME] every round's user-space CPU-us/req, xfers[NAME]
# every round's bytes a second.
measure() {
  local r s name u pid line p99 cpu xfer user better i
  local -a order
  local -A best_xfer=()
  # A server measured again (another part of a script) starts afresh.
  for s in "$@"; do
    read -r name _ <<<"$s"
    unset "best_cpu[$name]" "best_line[$name]"
    p99s[$name]="" cpus[$name]="" users[$name]="" xfers[$name]=""
  done
  for r in $(seq "$rounds"); do
    # Each round starts one server later, so that no server always follows the same one
    # (Node collects garbage on CPU 1 for a while after its run, for one).
    order=()
    for ((i = 0; i < $#; i++)); do order+=("${@:$(((r - 1 + i) % $# + 1)):1}"); done
    for s in "${order[@]}"; do
      read -r name u pid <<<"$s"
      line=$(wrk_run "$u" "$pid")
      read -r _ p99 cpu xfer user _ <<<"$line"
      xfer=$(bytes_of "$xfer")
      p99s[$name]+="$(us_of "$p99") "
      cpus[$name]+="$cpu "
      users[$name]+="$user "
      xfers[$name]+="$xfer "
      if [ -z "${best_cpu[$name]:-}" ]; then
        better=1
      elif [ "${MEASURE_BY:-cpu}" = transfer ]; then
        better=$(awk -v a="$xfer" -v b="${best_xfer[$name]}" 'BEGIN{print (a > b) ? 1 : 0}')
      else
        better=$(awk -v a="$cpu" -v b="${best_cpu[$name]}" 'BEGIN{print (a < b) ? 1 : 0}')
      fi
      if [ "$better" = 1 ]; then
        best_cpu[$name]=$cpu
        best_xfer[$name]=$xfer
        # shellcheck disable=SC2034 # read by the scripts that source this file
        best_line[$name]=$line
      fi
    done
  done
}

# round_ratio A B [FIGURE]: the median over the rounds of A's CPU per request (FIGURE cpus,
# the default) or bytes a second (xfers) divided by B's in the same round. On a shared
# machine the CPU a request costs drifts by a third over minutes; servers measured in the
# same round see the same drift, so their ratio holds better than the ratio of two best
# rounds taken at different times. A and B may each be several names (one word, blank-
# separated: the processes of one server, see http.sh's PROCS): every pair of an A and a B
# gives its ratio in each round, and the median is over all of them.
round_ratio() {
  local -n figure=${3:-cpus}
  local -a r
  local x y
  r=()
  for x in $1; do
    for y in $2; do
      # One awk for the pair's rounds, not one a round.
      # shellcheck disable=SC2207 # numbers, one word each
      r+=($(awk -v a="${figure[$x]}" -v b="${figure[$y]}" \
        'BEGIN{ n = split(a, p, " "); split(b, q, " "); for (i = 1; i <= n; i++) printf "%.4f\n", p[i] / q[i] }'))
    done
  done
  median_fmt "%.2f" "${r[@]}"
}

# pooled FIGURE NAME...: every round's FIGURE (p99s, cpus, users, xfers) of all these names,
# one word each, for a median over the processes of one server.
pooled() {
  local -n figure=$1
  shift
  local name out=""
  for name in "$@"; do out+="${figure[$name]} "; done
  echo "$out"
}

# write_nginx_conf [DIR]: writes $tmp/DIR/nginx.conf (DIR: nginx by default) for a peer run:
# one process, no access log, temporary files under $tmp/DIR, keep-alive as long as Keel's
# bench site keeps it. The contents of the http { } block (servers, and anything else) come
# from standard input.
write_nginx_conf() {
  local dir=$tmp/${1:-nginx}
  mkdir -p "$dir"
  {
    cat <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
EOF
    cat
    echo "}"
  } >"$dir/nginx.conf"
}
