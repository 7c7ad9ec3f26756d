#!/usr/bin/env python3
"""Summarise bench/isa-measure.sh's rounds: per case, the median time of each
variant over rounds (min-max), the ratios to BASE and to PyTorch (same
round), the GFLOP/s and %peak of the avx512 path. Usage: isa_summary.py DIR"""
import json, statistics, sys
from pathlib import Path

d = Path(sys.argv[1])
variants = ["base", "avx2", "avx512", "bf16"]
rows = {}  # case -> variant -> list of (round, result)
for v in variants:
    for f in sorted(d.glob(f"{v}-*.jsonl")):
        rnd = f.stem.split("-")[1]
        for line in f.read_text().splitlines():
            r = json.loads(line)
            rows.setdefault(r["case"], {}).setdefault(v, []).append((rnd, r))

def med(xs):
    return statistics.median(xs) if xs else float("nan")

print("| case | base ms | avx2 ms | avx512 ms | bf16 ms | avx2/base | avx512/avx2 speed | bf16/avx512 speed | PyTorch ms | avx512 vs PyTorch | bf16 vs PyTorch | avx512 GFLOP/s (%peak) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for case, vs in rows.items():
    ms = {v: [r["ms"] for _, r in vs.get(v, [])] for v in variants}
    torch = [r.get("torch_ms") for _, r in vs.get("avx512", []) if r.get("torch_ms")]
    def fmt(xs):
        return f"{med(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})" if xs else "-"
    def ratio(a, b):  # per round a/b, median (min-max)
        ra = dict((rnd, r["ms"]) for rnd, r in vs.get(a, []))
        rb = dict((rnd, r["ms"]) for rnd, r in vs.get(b, []))
        xs = [ra[k] / rb[k] for k in ra if k in rb]
        return f"{med(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})" if xs else "-"
    def vs_torch(v):
        rv = dict((rnd, r["ms"]) for rnd, r in vs.get(v, []))
        rt = dict((rnd, r.get("torch_ms")) for rnd, r in vs.get("avx512", []) if r.get("torch_ms"))
        xs = [rt[k] / rv[k] for k in rv if k in rt]
        return f"{med(xs):.2f}x ({min(xs):.2f}-{max(xs):.2f})" if xs else "-"
    a512 = [r for _, r in vs.get("avx512", [])]
    gf = med([r["gflops"] for r in a512 if r.get("gflops")])
    pk = med([r["peak_frac"] for r in a512 if r.get("peak_frac")])
    print(f"| {case} | {fmt(ms['base'])} | {fmt(ms['avx2'])} | {fmt(ms['avx512'])} | {fmt(ms['bf16'])} | "
          f"{ratio('avx2', 'base')} | {ratio('avx2', 'avx512')} | {ratio('avx512', 'bf16')} | {fmt(torch)} | "
          f"{vs_torch('avx512')} | {vs_torch('bf16')} | {gf:.0f} ({100*pk:.0f}%) |")

# The fastest sample of each variant over all rounds: on a VM whose
# neighbours come and go, noise only adds time, so the minimum is the
# steadiest figure of what the code can do (medians above, for the spread).
print()
print("| case | fastest sample, ms: base | avx2 | avx512 | bf16 | base / avx512 | avx512 / bf16 |")
print("|---|---|---|---|---|---|---|")
for case, vs in rows.items():
    mins = {v: min((r.get("min_ms", r["ms"]) for _, r in vs.get(v, [])), default=float("nan")) for v in variants}
    print(f"| {case} | {mins['base']:.1f} | {mins['avx2']:.1f} | {mins['avx512']:.1f} | {mins['bf16']:.1f} | "
          f"{mins['base'] / mins['avx512']:.2f} | {mins['avx512'] / mins['bf16']:.2f} |")
