#!/bin/bash
# Two marc builds side by side: `marc demo --json --systems SYSTEM` with each
# binary in turn, ROUNDS times, printing each run's robot seconds (the whole
# attempt: robot process, browser start, script), documents and WebDriver
# commands. Use it to measure what a change costs, as a ratio in one run.
#
#   tests/benches/ab.sh OLD_MARC NEW_MARC [SYSTEM=esdh] [ROUNDS=5]
#
# Build the old one from another commit into its own target directory, e.g.
#   git worktree add /tmp/old COMMIT && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build -p marc)
set -euo pipefail
old=${1:?old marc binary}; new=${2:?new marc binary}; system=${3:-esdh}; rounds=${4:-5}
export MARC_LISTS_DIR=${MARC_LISTS_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data}
export OMP_THREAD_LIMIT=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    rm -rf "$work/$side"
    "$bin" --data "$work/$side/data" demo --json --systems "$system" --out "$work/$side/out" 2>/dev/null |
      python3 -c "
import json, sys
v = json.load(sys.stdin)
for k, s in v['systems'].items():
    print('$side', k, round(s['seconds'], 3), s['documents'], s['webdriver_commands'])"
  done
done | tee "$work/runs"
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1])]
med = {side: statistics.median(float(r[2]) for r in runs if r[0] == side) for side in ("old", "new")}
print(f"median robot seconds: old {med['old']:.2f}  new {med['new']:.2f}  new/old {med['new'] / med['old']:.2f}")
PY
