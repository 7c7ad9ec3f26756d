#!/usr/bin/env python3
"""Side-by-side table of the CPU fast path against PyTorch (bench/RESULTS.md).

Each round directory holds torch.jsonl (shared/bench/torch_cpu_bench.py
--cases sgemm,conv), go.txt (the kernels/cpu fastpath benchmarks, -bench
'Sgemm/asm|Conv') and start/mid/end.txt (date and /proc/loadavg). Prints a
markdown table of medians over rounds, the spread (min-max) and the ratio
Go/PyTorch of the medians.

    python3 bench/fastpath_compare.py ROUND_DIR...
"""
import json
import re
import statistics
import sys


def torch_figures(path):
    out, dirty = {}, set()
    for line in open(path):
        r = json.loads(line)
        if r.get("case") == "sgemm":
            key = "sgemm %dx%dx%d" % (r["M"], r["K"], r["N"])
            out[key] = r["gflops"]
            if r["timing"]["contaminated"]:
                dirty.add(key)
        elif r.get("case") == "conv2d":
            base = "conv%dx%d %dx%dx%dx%d b%d" % (r["kernel"], r["kernel"], r["Cin"], r["Cout"], r["H"], r["W"], r["batch"])
            for mode, t in (("fwd", "timing_fwd"), ("fwdbwd", "timing_fwdbwd")):
                out[base + " " + mode] = r[mode + "_gflops"]
                if r[t]["contaminated"]:
                    dirty.add(base + " " + mode)
    return out, dirty


GO_LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op(.*)$")


def go_figures(path):
    out, cpu = {}, {}
    for line in open(path):
        m = GO_LINE.match(line.strip())
        if not m:
            continue
        name, rest = m.group(1), m.group(2)
        metrics = dict((u, float(v)) for v, u in re.findall(r"([\d.]+) (\S+)", rest))
        parts = name.split("/")
        if parts[0] == "Sgemm":
            s = parts[2]
            key = "sgemm " + ("%sx%sx%s" % (s, s, s) if "x" not in s else s)
        elif parts[0] in ("Conv3x3", "Conv1x1"):
            k = 3 if parts[0] == "Conv3x3" else 1
            batch = 8 if k == 3 else 16
            key = "conv%dx%d %s b%d %s" % (k, k, parts[1], batch, parts[2])
        else:
            continue
        out[key] = metrics.get("GFLOP/s")
        cpu[key] = metrics.get("GFLOP/cpu-s")
    return out, cpu


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, ""
    return statistics.median(xs), "%.1f-%.1f" % (min(xs), max(xs))


def main(dirs):
    torch_runs, go_runs, go_cpu, dirty = [], [], [], set()
    for d in dirs:
        t, dt = torch_figures(d + "/torch.jsonl")
        g, c = go_figures(d + "/go.txt")
        torch_runs.append(t)
        go_runs.append(g)
        go_cpu.append(c)
        dirty |= dt
        loads = [open(d + "/" + f).read().split("\n")[1].split()[0] for f in ("start.txt", "mid.txt", "end.txt")]
        print("%s: started %s, load average (1 min) at start/mid/end %s" % (d, open(d + "/start.txt").readline().strip(), "/".join(loads)))
    print()
    print("| case | PyTorch GFLOP/s median (range) | Suture GFLOP/s median (range) | ratio | Suture GFLOP per CPU-s |")
    print("|---|---|---|---|---|")
    keys = [k for k in torch_runs[0] if k.endswith("fwdbwd") or k.startswith("sgemm") or k.endswith("fwd")]
    for k in keys:
        tm, ts = spread([r.get(k) for r in torch_runs])
        gm, gs = spread([r.get(k) for r in go_runs])
        cm, _ = spread([r.get(k) for r in go_cpu])
        ratio = "%.2f" % (gm / tm) if tm and gm else "-"
        mark = " (contaminated in some round)" if k in dirty else ""
        print("| %s | %s (%s)%s | %s (%s) | %s | %s |" % (
            k, "%.1f" % tm if tm else "-", ts, mark, "%.1f" % gm if gm else "-", gs, ratio, "%.1f" % cm if cm else "-"))


if __name__ == "__main__":
    main(sys.argv[1:])
