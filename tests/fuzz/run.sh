#!/bin/bash
# run.sh: builds the fuzz targets with clang (libFuzzer, ASan, UBSan) and runs each for a
# bounded time from its seed corpus (tests/fuzz/corpus/<target>) and dictionary.
#
# usage: tests/fuzz/run.sh [SECONDS]     (default 60; env FUZZ_BUILD, default /tmp/keel-fuzz-build)
# Exit: 0 when no target found a problem, 1 when one did (the crashing input is kept in the
# build folder and its name printed), 2 when the build failed or clang is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
build=${FUZZ_BUILD:-/tmp/keel-fuzz-build}
command -v clang++ >/dev/null || { echo "run.sh: clang is missing (apt-get install clang)" >&2; exit 2; }

cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 2; }
cmake --build "$build" -j"$(nproc)" --target http-request-fuzz >"$build.build.log" 2>&1 || { tail -50 "$build.build.log" >&2; exit 2; }

status=0
for target in http-request-fuzz; do
  corpus="$build/corpus-$target"
  mkdir -p "$corpus"
  echo "== $target: ${seconds}s"
  # A copy of the seeds: libFuzzer adds what it finds to the first corpus directory.
  cp -n "$here/corpus/${target%-fuzz}/"* "$corpus/" 2>/dev/null || true
  if ! (cd "$build" && ASAN_OPTIONS=detect_leaks=1 "./$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -dict="$here/${target%-fuzz}.dict" -print_final_stats=1 "$corpus" 2>&1 | tail -25); then
    echo "== $target found a problem: see the crash-* file in $build" >&2
    status=1
  fi
done
exit $status
