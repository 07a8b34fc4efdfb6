#!/usr/bin/env bash
# Keel's bus and loop primitives against Node's, side by side.
#
#   tests/perf/bus.sh                      # builds keel-bench-bus in ./build, runs both, prints the table
#   BUILD_DIR=/tmp/b tests/perf/bus.sh     # another build directory (relative paths: from the repo root)
#   SKIP_BUILD=1 tests/perf/bus.sh         # run the binary already built, do not invoke cmake
#   PERF_CPU=0 tests/perf/bus.sh           # pin to another CPU (default 1; "none" to not pin)
#
# Runs keel-bench-bus (Google Benchmark, median of 3 repetitions) and bus-peer.js (median of
# 7 samples after warm-up) one after the other, never at the same time, each pinned to the
# same CPU with taskset when available. The raw results are kept in
# $BUILD_DIR/tests/perf/bus-results/. Takes about 30 s plus the build.
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

command -v node >/dev/null 2>&1 || die "node not found on PATH: the Node peer needs Node.js 20 (apt-get install nodejs)"
[[ -f "$peer" ]] || die "missing $peer"

# --- build --------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
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
[[ -x "$bin" ]] || die "benchmark binary not found: $bin (build it: cmake --build $build_dir --target keel-bench-bus, with -DKEEL_BUILD_PERF=ON)"

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
out="$build_dir/tests/perf/bus-results"
mkdir -p "$out"
echo "bus.sh: running keel-bench-bus, $pin_note" >&2
${pin[@]+"${pin[@]}"} "$bin" --benchmark_format=json --benchmark_min_time=0.2 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true >"$out/keel.json" || die "keel-bench-bus failed (see $out/keel.json)"
echo "bus.sh: running bus-peer.js on $(node --version), $pin_note" >&2
${pin[@]+"${pin[@]}"} node "$peer" >"$out/node.jsonl" || die "bus-peer.js failed (see $out/node.jsonl)"

# --- the table ----------------------------------------------------------------------------
node - "$out/keel.json" "$out/node.jsonl" "$build_type" "$pin_note" <<'EOF'
'use strict';
const fs = require('node:fs');
const [keelFile, nodeFile, buildType, pinNote] = process.argv.slice(2);

const keel = JSON.parse(fs.readFileSync(keelFile, 'utf8'));
const unit = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
const runs = new Map(); // run_name -> median aggregate
const errors = [];
for (const b of keel.benchmarks) {
  if (b.error_occurred) errors.push(`${b.name}: ${b.error_message}`);
  if (b.run_type === 'aggregate' && b.aggregate_name !== 'median') continue;
  // Our benchmarks use real time: "BM_X/8/real_time" -> "BM_X/8".
  runs.set(b.run_name.replace(/\/real_time$/, ''), b);
}
const peer = new Map();
for (const line of fs.readFileSync(nodeFile, 'utf8').split('\n')) {
  if (line.trim()) {
    const r = JSON.parse(line);
    peer.set(r.name, r.ns);
  }
}

// A Keel value: the benchmark's real time per iteration, or one of its per-item counters.
function k(run, counter) {
  const b = runs.get(run);
  if (b === undefined) return undefined;
  if (counter) return b[counter];
  return b.real_time * unit[b.time_unit];
}

const rows = [
  ['publish, no subscriber', k('BM_PublishNoSubscriber'), 'emit.none'],
  ['publish, no subscriber (Node: 64 other events)', k('BM_PublishNoSubscriber'), 'emit.none_64_other_events'],
  ['publish, no subscriber, via C ABI', k('BM_PublishNoSubscriberViaAbi'), 'emit.none'],
  ['publish, 1 subscriber', k('BM_PublishSubscribers/1'), 'emit.listeners.1'],
  ['publish, 8 subscribers', k('BM_PublishSubscribers/8'), 'emit.listeners.8'],
  ['publish, 64 subscribers', k('BM_PublishSubscribers/64'), 'emit.listeners.64'],
  ['  per subscriber call (8)', k('BM_PublishSubscribers/8', 'ns_per_subscriber'), 'emit.per_listener.8'],
  ['  per subscriber call (64)', k('BM_PublishSubscribers/64', 'ns_per_subscriber'), 'emit.per_listener.64'],
  ['publish via C ABI, 1 subscriber', k('BM_PublishSubscribersViaAbi/1'), 'emit.listeners.1'],
  ['publish via C ABI, 8 subscribers', k('BM_PublishSubscribersViaAbi/8'), 'emit.listeners.8'],
  ['publish via C ABI, 64 subscribers', k('BM_PublishSubscribersViaAbi/64'), 'emit.listeners.64'],
  ['  per subscriber call via C ABI (64)', k('BM_PublishSubscribersViaAbi/64', 'ns_per_subscriber'), 'emit.per_listener.64'],
  ['topic lookup, 12-byte name (Node: Map.get)', k('BM_Intern/short'), 'map_get.short'],
  ['topic lookup, 28-byte name (Node: Map.get)', k('BM_Intern/long'), 'map_get.long'],
  ['nextTick: queue 1 + drain via runMain', k('BM_NextTickDrain'), 'nextTick.per_task'],
  ['nextTick per task (1000 per drain)', k('BM_NextTickBatch', 'ns_per_tick'), 'nextTick.per_task'],
  ['setImmediate per task (1000 per loop run)', k('BM_SetImmediate', 'ns_per_immediate'), 'setImmediate.per_task'],
  ['setTimeout + clearTimeout pair', k('BM_TimerCreateClear', 'ns_per_pair'), 'setTimeout_clearTimeout.pair'],
  ['uv_hrtime (Keel reads 2 per callback)', k('BM_CallbackClock'), null],
];

const fmt = (v) => (v === undefined || v === null ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const table = [['operation', 'Keel ns', 'Node ns', 'Keel/Node']];
for (const [label, keelNs, peerName] of rows) {
  const nodeNs = peerName ? peer.get(peerName) : undefined;
  const ratio = keelNs !== undefined && nodeNs ? (keelNs / nodeNs).toFixed(2) : '-';
  table.push([label, fmt(keelNs), peerName ? fmt(nodeNs) : '-', ratio]);
}
const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
const line = (r) => '| ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ') + ' |';
const ctx = keel.context || {};
console.log(`Keel: keel-bench-bus (${buildType || 'unknown'} build), median of 3 repetitions; ` +
            `Node ${process.version}: bus-peer.js, median of 7 samples; ${pinNote}; ` +
            `${ctx.num_cpus || '?'} CPUs at ${ctx.mhz_per_cpu || '?'} MHz`);
console.log(line(table[0]));
console.log('|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of table.slice(1)) console.log(line(r));
if (errors.length) {
  console.error('bus.sh: benchmark errors:\n  ' + errors.join('\n  '));
  process.exit(1);
}
EOF
