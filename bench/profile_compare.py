#!/usr/bin/env python3
"""Suture's profile beside torch.profiler's, for bench/RESULTS.md section 6.

Reads the JSON rows of `suture profile --case C --json` and of
`bench/torch_profile.py --case C --json` (one object per row with op, vertex,
phase, calls, ms, self_ms, ...; the last row op "total") and prints markdown
tables of self time per step: by phase, by kind of vertex and phase, and the
vertices where Suture spends the most time over PyTorch. Suture's halves of
the double-batched step are folded ("forward ref" and "forward alt" are
"forward"): PyTorch runs both halves as one tensor.

    python3 bench/profile_compare.py suture.jsonl torch.jsonl [--top 15]
"""
import argparse
import collections
import json
import re


def read(path):
    rows, total = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r["op"] == "total":
                total = r
            else:
                rows.append(r)
    if total is None:
        raise SystemExit("%s: no total row (is it the output of --json?)" % path)
    return rows, total


def fold(phase):
    return phase.replace(" ref", "").replace(" alt", "")


def kind(vertex):
    """The kind of a vertex: conv, norm, act, up, cat, seg, stitch, switch, loss."""
    if not vertex:
        return "(no vertex)"
    v = re.sub(r"^[AB]/", "", vertex)
    if v in ("A", "B"):
        return "(network scope)"
    if v.startswith("stitch "):
        return "stitch conv"
    if v.startswith("switch "):
        return "switch (MSE, select)"
    if v == "loss":
        return "loss"
    m = re.search(r"\.([a-z]+)\d*$", v)
    return m.group(1) if m else v


def sums(rows, key):
    out = collections.defaultdict(float)
    for r in rows:
        out[key(r)] += r["self_ms"]
    return out


def ratio(t, s):
    return "%.2fx" % (t / s) if s > 0 and t > 0 else "-"


def table(title, keys, su, to, label):
    print("\n%s\n" % title)
    print("| %s | Suture ms | PyTorch ms | PyTorch / Suture |" % label)
    print("|---|---:|---:|---:|")
    for k in keys:
        s, t = su.get(k, 0.0), to.get(k, 0.0)
        name = " / ".join(k) if isinstance(k, tuple) else k
        print("| %s | %.1f | %.1f | %s |" % (name, s, t, ratio(t, s)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suture")
    p.add_argument("torch")
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args()
    srows, stot = read(a.suture)
    trows, ttot = read(a.torch)
    print("Step: Suture %.1f ms, PyTorch %.1f ms (PyTorch / Suture %s); self times add up to %.1f and %.1f ms." % (
        stot["ms"], ttot["ms"], ratio(ttot["ms"], stot["ms"]), sum(r["self_ms"] for r in srows), sum(r["self_ms"] for r in trows)))

    sp, tp = sums(srows, lambda r: fold(r["phase"])), sums(trows, lambda r: fold(r["phase"]))
    phases = sorted(set(sp) | set(tp), key=lambda k: -max(sp.get(k, 0), tp.get(k, 0)))
    table("By phase (self ms per step)", phases, sp, tp, "phase")

    key = lambda r: (kind(r["vertex"]), fold(r["phase"]))  # noqa: E731
    sk, tk = sums(srows, key), sums(trows, key)
    kinds = sorted(set(sk) | set(tk), key=lambda k: -max(sk.get(k, 0), tk.get(k, 0)))
    table("By kind of vertex and phase (self ms per step)", kinds, sk, tk, "vertex kind / phase")

    key = lambda r: (r["vertex"] or "(no vertex)", fold(r["phase"]))  # noqa: E731
    sv, tv = sums(srows, key), sums(trows, key)
    worst = sorted(set(sv) | set(tv), key=lambda k: -(sv.get(k, 0) - tv.get(k, 0)))[:a.top]
    table("Where Suture loses most: vertices by Suture ms - PyTorch ms (top %d)" % a.top, worst, sv, tv, "vertex / phase")
    best = sorted(set(sv) | set(tv), key=lambda k: -(tv.get(k, 0) - sv.get(k, 0)))[:a.top]
    table("Where Suture gains most: vertices by PyTorch ms - Suture ms (top %d)" % a.top, best, sv, tv, "vertex / phase")


if __name__ == "__main__":
    main()
