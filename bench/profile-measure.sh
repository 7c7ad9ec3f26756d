#!/usr/bin/env bash
# The measurements of bench/RESULTS.md section 6, in one go, on a quiet
# machine: Suture's and torch.profiler's tables for unet/train and
# stitch/double with their side-by-side comparison, the cost of profiling
# on (suture profile --overhead) and of profiling off (suture bench with
# this commit's binary against BASE's, alternated). Outputs in $OUT
# (default prof/). Needs Debian's python3-torch (run as /usr/bin/python3).
#   bench/profile-measure.sh [BASE]   (BASE: a commit without the profiler)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-198bd90}
OUT=${OUT:-prof}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT" bin
go build -o bin/suture ./cmd/suture
if [ ! -x "$OUT/suture-base" ]; then
  tmp=$(mktemp -d)
  trap 'git worktree remove --force "$tmp"' EXIT
  git worktree add -q --detach "$tmp" "$base"
  (cd "$tmp" && go build -o "$OLDPWD/$OUT/suture-base" ./cmd/suture)
fi
py=/usr/bin/python3
note() { echo "== $(date -u +%FT%TZ) $*, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/log"; }
for c in unet/train stitch/double; do
  n=$(echo $c | tr / -)
  note "profile $c"
  ./bin/suture profile --case $c --steps 5 --warmup 2 --json > "$OUT/suture-$n.jsonl"
  ./bin/suture profile --case $c --steps 5 --warmup 2 --rows 30 --trace "$OUT/suture-$n.trace.json" > "$OUT/suture-$n.txt"
  $py bench/torch_profile.py --case $c --steps 5 --warmup 2 --json > "$OUT/torch-$n.jsonl"
  $py bench/torch_profile.py --case $c --steps 5 --warmup 2 --rows 30 > "$OUT/torch-$n.txt"
  $py bench/profile_compare.py "$OUT/suture-$n.jsonl" "$OUT/torch-$n.jsonl" > "$OUT/compare-$n.md"
done
note "overhead on"
./bin/suture profile --case unet/train --overhead "${OVERHEAD_ROUNDS:-9}" > "$OUT/overhead-on.txt"
for i in $(seq "$ROUNDS"); do
  note "overhead off, round $i"
  ./bin/suture bench --case unet/train,stitch/double --json > "$OUT/off-head-$i.jsonl"
  "$OUT/suture-base" bench --case unet/train,stitch/double --json > "$OUT/off-base-$i.jsonl"
done
note done
