#!/usr/bin/env bash
# Keel's bus and loop primitives against Node's, side by side.
#
#   tests/perf/bus.sh                      # builds keel-bench-bus in ./build, runs both, prints the table
#   BUILD_DIR=/tmp/b tests/perf/bus.sh     # another build directory (relative paths: from the repo root)
#   SKIP_BUILD=1 tests/perf/bus.sh         # run the binary already built, do not invoke cmake
#   PERF_CPU=0 tests/perf/bus.sh           # pin to another CPU (default 1; "none" to not pin)
#   STAT=median tests/perf/bus.sh          # median instead of best repetition / sample
#   CLOCK=cpu tests/perf/bus.sh            # CPU time instead of wall-clock time (busy machine)
#   SKIP_RUN=1 CLOCK=cpu tests/perf/bus.sh # no build, no run: the table of the last run's results
#
# Runs keel-bench-bus (Google Benchmark, 5 repetitions) and bus-peer.js (9 samples after a
# warm-up) one after the other, never at the same time, each pinned to the same CPU with
# taskset when available, and reports for each side the best repetition/sample (STAT=min,
# the default: on a shared machine the least disturbed run is the reproducible one) or the
# median. Wall-clock time by default; CLOCK=cpu uses each process's CPU time instead, which
# time slices taken by other processes (a build on the same CPU) do not inflate. The raw
# results, both clocks, are kept in $BUILD_DIR/tests/perf/bus-results/. Takes about 25 s
# plus the build.
set -euo pipefail

die() {
  echo "bus.sh: error: $*" >&2
  exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build_dir="${BUILD_DIR:-build}"
[[ "$build_dir" == /* ]] || build_dir="$root/$build_dir"
bin="$build_dir/tests/perf/keel-bench-bus"
peer="$here/bus-peer.js"
stat="${STAT:-min}"
[[ "$stat" == min || "$stat" == median ]] || die "STAT must be min or median, not '$stat'"
clock="${CLOCK:-real}"
[[ "$clock" == real || "$clock" == cpu ]] || die "CLOCK must be real or cpu, not '$clock'"

command -v node >/dev/null 2>&1 || die "node not found on PATH: the Node peer needs Node.js 20 (apt-get install nodejs)"
[[ -f "$peer" ]] || die "missing $peer"

out="$build_dir/tests/perf/bus-results"
skip_run="${SKIP_RUN:-0}"
if [[ "$skip_run" == 1 ]]; then
  [[ -f "$out/keel.json" && -f "$out/node.jsonl" ]] || die "SKIP_RUN=1 but no results of a previous run in $out"
fi

# --- build --------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 && "$skip_run" != 1 ]]; then
  command -v cmake >/dev/null 2>&1 || die "cmake not found on PATH (or run with SKIP_BUILD=1 and an existing binary)"
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    echo "bus.sh: configuring $build_dir (Release, KEEL_BUILD_PERF=ON)" >&2
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_PERF=ON >&2 ||
      die "configuring $build_dir failed"
  elif grep -q '^KEEL_BUILD_PERF:BOOL=OFF' "$build_dir/CMakeCache.txt"; then
    echo "bus.sh: enabling KEEL_BUILD_PERF in $build_dir" >&2
    cmake -DKEEL_BUILD_PERF=ON "$build_dir" >&2 || die "reconfiguring $build_dir with KEEL_BUILD_PERF=ON failed"
  fi
  cmake --build "$build_dir" --target keel-bench-bus -j "$(nproc 2>/dev/null || echo 2)" >&2 ||
    die "building keel-bench-bus in $build_dir failed (Google Benchmark: apt-get install libbenchmark-dev)"
fi
[[ "$skip_run" == 1 || -x "$bin" ]] || die "benchmark binary not found: $bin (build it: cmake --build $build_dir --target keel-bench-bus, with -DKEEL_BUILD_PERF=ON)"

build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)"
sanitize="$(sed -n 's/^KEEL_SANITIZE:BOOL=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)"
case "$build_type" in
  Release | RelWithDebInfo) ;;
  *) echo "bus.sh: warning: $build_dir is a '${build_type:-unknown}' build: numbers are not representative" >&2 ;;
esac
[[ "$sanitize" != ON ]] || echo "bus.sh: warning: $build_dir is built with sanitizers: numbers are not representative" >&2

# --- pinning ------------------------------------------------------------------------------
cpu="${PERF_CPU:-1}"
pin=()
if [[ "$cpu" == none ]]; then
  pin_note="not pinned"
elif command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
  pin=(taskset -c "$cpu")
  pin_note="pinned to CPU $cpu (taskset)"
else
  pin_note="not pinned (taskset missing or CPU $cpu unavailable)"
fi

# --- run, one after the other -------------------------------------------------------------
if [[ "$skip_run" != 1 ]]; then
  mkdir -p "$out"
  echo "bus.sh: running keel-bench-bus, $pin_note" >&2
  ${pin[@]+"${pin[@]}"} "$bin" --benchmark_format=json --benchmark_min_time=0.1 --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true >"$out/keel.json" || die "keel-bench-bus failed (see $out/keel.json)"
  echo "bus.sh: running bus-peer.js on $(node --version), $pin_note" >&2
  ${pin[@]+"${pin[@]}"} node "$peer" --stat="$stat" >"$out/node.jsonl" || die "bus-peer.js failed (see $out/node.jsonl)"
  echo "$stat" >"$out/stat"
else
  stat="$(cat "$out/stat" 2>/dev/null || echo "$stat")" # the Node side was summarised at run time
fi

# --- the table ----------------------------------------------------------------------------
node - "$out/keel.json" "$out/node.jsonl" "$build_type" "$pin_note" "$stat" "$clock" <<'EOF'
'use strict';
const fs = require('node:fs');
const [keelFile, nodeFile, buildType, pinNote, stat, clock] = process.argv.slice(2);

const keel = JSON.parse(fs.readFileSync(keelFile, 'utf8'));
const unit = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
const runs = new Map(); // run_name -> the `stat` aggregate
const errors = [];
for (const b of keel.benchmarks) {
  if (b.error_occurred) errors.push(`${b.name}: ${b.error_message}`);
  if (b.run_type === 'aggregate' && b.aggregate_name !== stat) continue;
  // Our benchmarks use real time: "BM_X/8/real_time" -> "BM_X/8".
  runs.set(b.run_name.replace(/\/real_time$/, ''), b);
}
const peer = new Map();
for (const line of fs.readFileSync(nodeFile, 'utf8').split('\n')) {
  if (line.trim()) {
    const r = JSON.parse(line);
    peer.set(r.name, r);
  }
}

// A Keel value: the benchmark's time per iteration on `clock`, divided by the operations one
// iteration does (subscribers called, tasks in a batch).
function k(run, per = 1) {
  const b = runs.get(run);
  if (b === undefined) return undefined;
  return ((clock === 'cpu' ? b.cpu_time : b.real_time) * unit[b.time_unit]) / per;
}
function n(name) {
  const r = peer.get(name);
  return r === undefined ? undefined : clock === 'cpu' ? r.cpu_ns : r.ns;
}

const rows = [
  ['publish, no subscriber', k('BM_PublishNoSubscriber'), n('emit.none')],
  ['publish, no subscriber (Node: 64 other events)', k('BM_PublishNoSubscriber'), n('emit.none_64_other_events')],
  ['publish, no subscriber, via C ABI', k('BM_PublishNoSubscriberViaAbi'), n('emit.none')],
  ['publish, 1 subscriber', k('BM_PublishSubscribers/1'), n('emit.listeners.1')],
  ['publish, 8 subscribers', k('BM_PublishSubscribers/8'), n('emit.listeners.8')],
  ['publish, 64 subscribers', k('BM_PublishSubscribers/64'), n('emit.listeners.64')],
  ['  per subscriber call (8)', k('BM_PublishSubscribers/8', 8), n('emit.per_listener.8')],
  ['  per subscriber call (64)', k('BM_PublishSubscribers/64', 64), n('emit.per_listener.64')],
  ['publish via C ABI, 1 subscriber', k('BM_PublishSubscribersViaAbi/1'), n('emit.listeners.1')],
  ['publish via C ABI, 8 subscribers', k('BM_PublishSubscribersViaAbi/8'), n('emit.listeners.8')],
  ['publish via C ABI, 64 subscribers', k('BM_PublishSubscribersViaAbi/64'), n('emit.listeners.64')],
  ['  per subscriber call via C ABI (64)', k('BM_PublishSubscribersViaAbi/64', 64), n('emit.per_listener.64')],
  ['topic lookup, 12-byte name (Node: Map.get)', k('BM_Intern/short'), n('map_get.short')],
  ['topic lookup, 28-byte name (Node: Map.get)', k('BM_Intern/long'), n('map_get.long')],
  ['nextTick: queue 1 + drain via runMain', k('BM_NextTickDrain'), n('nextTick.per_task')],
  ['nextTick per task (1000 per drain)', k('BM_NextTickBatch', 1000), n('nextTick.per_task')],
  ['setImmediate per task (1000 per loop run)', k('BM_SetImmediate', 1000), n('setImmediate.per_task')],
  ['setTimeout + clearTimeout pair', k('BM_TimerCreateClear', 1000), n('setTimeout_clearTimeout.pair')],
  ['uv_hrtime (Keel reads 2 per callback)', k('BM_CallbackClock'), null],
];

const fmt = (v) => (v === undefined || v === null ? 'n/a' : Number(v.toFixed(2)) < 10 ? v.toFixed(2) : v.toFixed(1));
const table = [['operation', 'Keel ns', 'Node ns', 'Keel/Node']];
for (const [label, keelNs, nodeNs] of rows) {
  const ratio = keelNs !== undefined && nodeNs ? (keelNs / nodeNs).toFixed(2) : '-';
  table.push([label, fmt(keelNs), nodeNs === null ? '-' : fmt(nodeNs), ratio]);
}
const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
const line = (r) => '| ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ') + ' |';
const ctx = keel.context || {};
const what = stat === 'min' ? 'best' : 'median';
console.log(`Keel: keel-bench-bus (${buildType || 'unknown'} build), ${what} of 5 repetitions; ` +
            `Node ${process.version}: bus-peer.js, ${what} of 9 samples; ` +
            `${clock === 'cpu' ? 'CPU time' : 'wall-clock time'}; ${pinNote}; ` +
            `${ctx.num_cpus || '?'} CPUs at ${ctx.mhz_per_cpu || '?'} MHz`);
console.log(line(table[0]));
console.log('|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of table.slice(1)) console.log(line(r));
if (errors.length) {
  console.error('bus.sh: benchmark errors:\n  ' + errors.join('\n  '));
  process.exit(1);
}
EOF
