#!/usr/bin/env python3
"""Median GFLOP/s of each old/new kernel benchmark (kernel-ab.txt) per
layer: rows benchmark/layer, columns the variants. Usage:
kernel_ab_summary.py kernel-ab.txt"""
import re, statistics, sys
from collections import OrderedDict

rows = OrderedDict()
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(\w+)/(\d+x\d+x\d+x\d+)/(\S+?)(?:-\d+)?\s+\d+\s+\d+ ns/op\s+\S+ GFLOP/cpu-s\s+(\S+) GFLOP/s", line)
    if not m:
        continue
    bench, layer, variant, gf = m.group(1), m.group(2), m.group(3), float(m.group(4))
    rows.setdefault((bench, layer), OrderedDict()).setdefault(variant, []).append(gf)
for (bench, layer), vs in rows.items():
    cells = ", ".join(f"{v} {statistics.median(x):.0f}" for v, x in vs.items())
    print(f"{bench} {layer}: {cells}")
