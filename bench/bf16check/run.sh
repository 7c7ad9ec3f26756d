#!/usr/bin/env bash
# The BF16 check of docs/bf16-check.md: Kvasir-SEG 64 px, fold 0, 30 epochs,
# FP32 and BF16, both scored on validation and test; then the curves.
# Usage: bench/bf16check/run.sh OUT   (resumable; run from the repository root;
# CURVES=FILE: the plot's path, default bench/bf16check/curves.png)
set -euo pipefail
out=${1:?usage: run.sh OUT}
data=${DATA:-../shared/data/polyp/kvasir/64}
bin=${BIN:-bin/suture}
mkdir -p "$out"
for p in fp32 bf16; do
	dir=$out/$p
	if [ ! -f "$dir/best.ckpt" ] || [ ! -f "$dir/done" ]; then
		args=(--data "$data" --out "$dir" --epochs 30 --fold 0 --seed 1 --split-seed 0 --precision "$p")
		if [ -f "$dir/last.ckpt" ]; then args=(--out "$dir" --resume); fi
		start=$SECONDS
		"$bin" train "${args[@]}" > "$dir.train.log" 2>&1
		echo "$((SECONDS - start))" > "$dir/done"
	fi
	for split in val test; do
		[ -f "$dir/$split.json" ] || "$bin" eval --model "$dir/best.ckpt" --data "$data" --split "$split" --json --out "$dir/$split.csv" > "$dir/$split.json"
	done
done
go run ./bench/bf16check "$out/fp32/log.csv" "$out/bf16/log.csv" "${CURVES:-bench/bf16check/curves.png}"
