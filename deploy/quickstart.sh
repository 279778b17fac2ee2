#!/usr/bin/env bash
# quickstart.sh: on a fresh Debian 12 machine, installs what is needed, builds the engine
# and runs the demo on the embedded defaults (SQLite store, sandbox mail network: a
# simulation, no real mail) while printing `warmup status` as simulated days pass.
#   DEMO_MAILBOXES (300)  DEMO_SCALE (2880: a warmup day in 30 s)  DEMO_SECONDS (150)
#   DEMO_DATA (./demo-data; removed first so the demo starts on day one)
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DWARMUP_BUILD_TESTS=OFF >/dev/null
cmake --build build --target warmup -j2
n=${DEMO_MAILBOXES:-300}; scale=${DEMO_SCALE:-2880}; secs=${DEMO_SECONDS:-150}
data=${DEMO_DATA:-./demo-data}
rm -rf "$data"
echo "== warmup run --demo $n --time-scale $scale --for ${secs}s --data $data"
./build/app/warmup run --demo "$n" --time-scale "$scale" --for "${secs}s" --data "$data" \
  2>"$data.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 5
while kill -0 $pid 2>/dev/null; do
  echo "== warmup status --data $data   ($(date +%T))"
  ./build/app/warmup status --data "$data" || true
  sleep 20
done
wait $pid
echo "== final: warmup status --data $data"
./build/app/warmup status --data "$data"
echo "Engine log: $data.log. Try: ./build/app/warmup mailbox list --data $data --limit 10"
