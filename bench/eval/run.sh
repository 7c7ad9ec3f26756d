#!/usr/bin/env bash
# Runs (or resumes) a committed evaluation plan, bench/eval/PLAN.json, the
# way used for bench/RESULTS.md: a binary pinned to the current commit, two
# workers of one core each, results in $RESULTS (default /work/runs/PLAN),
# log appended to $RESULTS.log. Run from anywhere inside the repository:
#   bench/eval/run.sh polyp64-v2
# Safe to re-run: finished jobs are kept, unfinished ones resume. BIN=PATH
# runs another binary instead.
set -euo pipefail
plan=${1:?usage: bench/eval/run.sh PLAN (a name under bench/eval, e.g. polyp64-v2)}
cd "$(dirname "$0")/../.."
[ -f "bench/eval/$plan.json" ] || { echo "run.sh: no plan bench/eval/$plan.json" >&2; exit 2; }
RESULTS=${RESULTS:-/work/runs/$plan}
mkdir -p "$(dirname "$RESULTS")"
bin=${BIN:-"$(dirname "$RESULTS")/suture-$(git rev-parse --short HEAD)"}
[ -x "$bin" ] || go build -o "$bin" ./cmd/suture
echo "== $(date -u +%FT%TZ) start $bin, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS.log"
rc=0
"$bin" experiment run --plan "bench/eval/$plan.json" --dir "$RESULTS" --workers 2 >> "$RESULTS.log" 2>&1 || rc=$?
echo "== $(date -u +%FT%TZ) exit $rc" >> "$RESULTS.log"
exit $rc
