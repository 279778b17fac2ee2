#!/usr/bin/env bash
# run-all.sh: the whole test suite on a fresh Debian 12 machine: installs dependencies,
# builds with warnings as errors, runs every ctest suite (unit, actor protocols, storage,
# CLI integration incl. the kill -9 restart test), then rebuilds the unit suites with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs them again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
jobs=${JOBS:-2}
cmake -S . -B build-ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARMUP_WERROR=ON \
  -DWARMUP_BUILD_BENCH=ON >/dev/null
cmake --build build-ci -j"$jobs"
(cd build-ci && ctest --output-on-failure --timeout 600 -j"$jobs")
if [ "${WARMUP_SKIP_SANITIZERS:-0}" != "1" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWARMUP_SANITIZE=ON \
    -DWARMUP_WERROR=ON -DWARMUP_BUILD_BENCH=OFF >/dev/null
  units=$(cd build-asan && ninja -t targets all | grep -o '^unit_[a-z]*:' | tr -d ':' | sort -u)
  cmake --build build-asan -j"$jobs" --target $units
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  for t in $units; do
    echo "== sanitizers: $t"
    ./build-asan/tests/$t --gtest_brief=1
  done
fi
