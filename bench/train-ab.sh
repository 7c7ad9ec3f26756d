#!/usr/bin/env bash
# Same-run A/B of two suture binaries on the evaluation plan's training job:
# one epoch of `suture train` on Kvasir-SEG 64 px (664 training, 166
# validation images), features 16-32-64-128, batch 8, on one core
# (GOMAXPROCS=1, as each worker of bench/eval/run.sh), in alternating
# rounds. Prints each run's wall seconds (loading, one epoch of training and
# validation, checkpoints) per binary into OUT/walls.txt; logs beside it.
#   bench/train-ab.sh OUT BASE_BIN NEW_BIN [ROUNDS]
set -euo pipefail
out=$1 base=$2 new=$3 rounds=${4:-3}
data=${DATA:-../shared/data/polyp/kvasir/64}
[ -d "$data" ] || { echo "train-ab: $data is missing (see ../shared/data/polyp/README)" >&2; exit 1; }
mkdir -p "$out"
grep -m1 'model name' /proc/cpuinfo > "$out/cpu"; grep -m1 'cpu family' /proc/cpuinfo >> "$out/cpu"
for i in $(seq "$rounds"); do
  for b in base new; do
    bin=$base; [ $b = new ] && bin=$new
    rm -rf "$out/run-$b"
    echo "== $(date -u +%FT%TZ) round $i $b, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/log"
    t0=$(date +%s.%N)
    GOMAXPROCS=1 "$bin" train --data "$data" --features 16,32,64,128 --epochs 1 --batch 8 --seed 1 \
      --out "$out/run-$b" > "$out/$b-$i.log" 2>&1
    t1=$(date +%s.%N)
    echo "round $i $b $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s" | tee -a "$out/walls.txt"
  done
done
rm -rf "$out/run-base" "$out/run-new"
