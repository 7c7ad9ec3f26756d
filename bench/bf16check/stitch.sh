#!/usr/bin/env bash
# The stitch half of docs/bf16-check.md (validation only). Run after run.sh.
# Usage: bench/bf16check/stitch.sh OUT   (resumable)
set -euo pipefail
out=${1:?usage: stitch.sh OUT}
kv=${KVASIR:-../shared/data/polyp/kvasir/64}
cvc=${CVC:-../shared/data/polyp/cvc/64}
bin=${BIN:-bin/suture}
[ -f "$out/cvc/done" ] || { "$bin" train --data "$cvc" --out "$out/cvc" --epochs 12 --fold 0 --seed 2 --split-seed 0 --force > "$out/cvc.train.log" 2>&1; touch "$out/cvc/done"; }
for p in fp32 bf16; do
	st=$out/stitch-$p.ckpt
	[ -f "$st.done" ] || { "$bin" stitch --a "$out/fp32/best.ckpt" --b "$out/cvc/best.ckpt" --data "$kv" --mode double --points stage \
		--epochs 2 --fold 0 --split-seed 0 --seed 9 --precision "$p" --force --out "$st" > "$st.log" 2>&1; touch "$st.done"; }
	[ -f "$out/sweep-$p.csv" ] || "$bin" stitch sweep --model "$st" --data "$kv" --split val --out "$out/sweep-$p.csv" > "$out/sweep-$p.log" 2>&1
done
