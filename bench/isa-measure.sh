#!/usr/bin/env bash
# The measurements of bench/RESULTS.md section 9 (issue 20), on a quiet
# machine, in alternating rounds: for each case, the binary of BASE (the
# AVX2-only fast path), this commit on each path (SUTURE_ISA=avx2, avx512)
# and in BF16, and PyTorch (`suture bench --vs-torch` on the default path,
# so its ratio is same-run); then the machine's peaks. Outputs in $OUT
# (default isa/); summarise with bench/isa_summary.py $OUT.
#   bench/isa-measure.sh [BASE]   (default 047634e)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-047634e}
OUT=${OUT:-isa}
ROUNDS=${ROUNDS:-2}
CASES=${CASES:-sgemm/1024,unet/train,unet/infer,stitch/double}
mkdir -p "$OUT" bin
go build -o bin/suture ./cmd/suture
if [ ! -x "$OUT/suture-base" ]; then
  tmp=$(mktemp -d)
  trap 'git worktree remove --force "$tmp"' EXIT
  git worktree add -q --detach "$tmp" "$base"
  (cd "$tmp" && go build -o "$OLDPWD/$OUT/suture-base" ./cmd/suture)
fi
note() { echo "== $(date -u +%FT%TZ) $*, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/log"; }
grep -m1 'model name' /proc/cpuinfo > "$OUT/cpu"; grep -m1 'cpu family' /proc/cpuinfo >> "$OUT/cpu"
for i in $(seq "$ROUNDS"); do
  note "round $i: base"
  "$OUT/suture-base" bench --case "$CASES" --json > "$OUT/base-$i.jsonl"
  note "round $i: avx2"
  SUTURE_ISA=avx2 ./bin/suture bench --case "$CASES" --json > "$OUT/avx2-$i.jsonl"
  note "round $i: avx512 + torch"
  ./bin/suture bench --case "$CASES" --json --vs-torch > "$OUT/avx512-$i.jsonl" 2> "$OUT/torch-$i.log"
  note "round $i: bf16"
  ./bin/suture bench --case "$CASES" --json --precision bf16 > "$OUT/bf16-$i.jsonl"
done
note "peaks"
./bin/suture bench --case sgemm/1024 --reps 3 > "$OUT/peaks.txt"
note done
