#!/usr/bin/env python3
"""The most a BF16 run can gain over an FP32 run of the same step, from an
FP32 `suture profile` (its by-op table and peak line): Amdahl's law with
every convolution row sped up by the machine's BF16-dot/FP32-FMA peak ratio
and every other row (norms, activations, fills, copies, the loss, the
optimizer: FP32 by issue 20's rule) unchanged. Two bounds:

  all convs   every convolution row in BF16 at the full ratio;
  as built    the F(4x4) forward and backward-data rows kept FP32 (their
              BF16 form failed the accuracy bound; bench/RESULTS.md 10).

Both are optimistic: no BF16 kernel reaches the dot rate's full ratio over
its FP32 form. Usage: bf16_bound.py PROFILE.txt..."""
import re
import statistics
import sys

ROW = re.compile(r"^(\S.*?)\s{2,}(\d+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+%")


def parse(path):
    text = open(path).read()
    step = float(re.search(r"([\d.]+) ms per step", text).group(1))
    fma = float(re.search(r"AVX-512 FMA ([\d.]+)", text).group(1))
    dot = float(re.search(r"BF16 dot ([\d.]+)", text).group(1))
    ops = {}
    section = text.split("by op", 1)[1].split("by vertex", 1)[0]
    for line in section.splitlines():
        m = ROW.match(line)
        if m and m.group(1) != "op":
            ops[m.group(1)] = float(m.group(4))  # self ms: the rows add up to the step
    return step, dot / fma, ops


def bounds(step, r, ops):
    conv = sum(ms for op, ms in ops.items() if op.startswith("conv"))
    f4 = sum(ms for op, ms in ops.items()
             if op in ("conv3x3 forward (winograd4x4)", "conv3x3 backward-data (winograd4x4)"))
    other = step - conv
    return conv, f4, other, step / (other + conv / r), step / (other + f4 + (conv - f4) / r)


def main():
    rows = []
    print("| profile | FP32 step ms | convolutions ms | of which F(4x4) fwd+bwd-data | other ms | BF16/FP32 peak | bound, all convs | bound, as built |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        step, r, ops = parse(path)
        conv, f4, other, all_convs, as_built = bounds(step, r, ops)
        rows.append((all_convs, as_built))
        print(f"| {path} | {step:.1f} | {conv:.1f} | {f4:.1f} | {other:.1f} | {r:.2f} | {all_convs:.2f}x | {as_built:.2f}x |")
    if len(rows) > 1:
        print(f"\nmedian bound: all convs {statistics.median(a for a, _ in rows):.2f}x, "
              f"as built {statistics.median(b for _, b in rows):.2f}x")


if __name__ == "__main__":
    main()
