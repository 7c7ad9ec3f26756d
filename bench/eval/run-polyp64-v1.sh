#!/usr/bin/env bash
# Runs (or resumes) plan polyp64-v1 in the background-friendly way used for
# bench/RESULTS.md: a binary pinned to the current commit, two workers of one
# core each, results in $RESULTS (default /work/runs/polyp64-v1), log appended
# to $RESULTS.log. Run from the repository root. Safe to re-run: finished jobs
# are kept, unfinished ones resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-/work/runs/polyp64-v1}
mkdir -p "$(dirname "$RESULTS")"
bin="$(dirname "$RESULTS")/suture-$(git rev-parse --short HEAD)"
[ -x "$bin" ] || go build -o "$bin" ./cmd/suture
echo "== $(date -u +%FT%TZ) start $bin, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS.log"
"$bin" experiment run --plan bench/eval/polyp64-v1.json --dir "$RESULTS" --workers 2 >> "$RESULTS.log" 2>&1
echo "== $(date -u +%FT%TZ) exit $?" >> "$RESULTS.log"
