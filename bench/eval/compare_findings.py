#!/usr/bin/env python3
"""Puts the fixed-rule findings of two evaluation reports side by side.

Usage: bench/eval/compare_findings.py OLD/report.md NEW/report.md

Reads the section "The paper's findings" of each report (written by
`suture experiment report`), pairs its lines by finding and statement, and
prints a Markdown table: the difference, the Holm-adjusted p-value and the
verdict in each report, and whether the verdict changed. Lines only one
report has (a setting the other plan lacks) are listed with "-" for the
other. Nothing is recomputed: the numbers are the reports' own.
"""
import re
import sys

LINE = re.compile(r"^(\s*)- (?:(.*?): )?(dice|hd95|Dice) ([+-][0-9.]+), p \(Holm\) ([^ :]+)(?::| \()\s*(.*?)\)?\.?$")


def findings(path):
    text = open(path, encoding="utf-8").read()
    start = text.find("## The paper's findings")
    if start < 0:
        sys.exit(f"{path}: no findings section")
    end = text.find("\n## ", start + 3)
    section = text[start:end if end > 0 else len(text)]
    out, order = {}, []
    finding, parent = None, None
    for raw in section.splitlines():
        m = re.match(r"^- \*\*(F\d)\*\*", raw)
        if m:
            finding, parent = m.group(1), None
            continue
        if finding is None:
            continue
        f4 = re.match(r"^\s*- (`[^`]+`): mean validation Dice of indices ([0-9-]+) ([0-9.]+), of ([0-9-]+) ([0-9.]+): later > first (holds|does not hold); the last stitch \((\d+)\) ([0-9.]+): last is worst (holds|does not hold)", raw)
        if f4:
            key = (finding, f4.group(1) + " later > first")
            out[key] = (f"{f4.group(3)} vs {f4.group(5)}", "", f4.group(6))
            order.append(key)
            key = (finding, f4.group(1) + " last is worst")
            out[key] = (f4.group(8), "", f4.group(9))
            order.append(key)
            continue
        m = LINE.match(raw)
        if not m:
            continue
        indent, what, metric, diff, p, verdict = m.groups()
        what = what or "the statement"
        verdict = verdict.strip(" .()*")
        if len(indent) == 2:
            parent = what
        label = what if len(indent) <= 2 or parent is None else f"{parent} / {what}"
        key = (finding, f"{label} ({metric.lower()})")
        out[key] = (diff, p, verdict)
        order.append(key)
    return out, order


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    old, old_order = findings(sys.argv[1])
    new, new_order = findings(sys.argv[2])
    keys = old_order + [k for k in new_order if k not in old]
    print("| finding | statement | old: diff, p (Holm) | old verdict | new: diff, p (Holm) | new verdict | changed |")
    print("|---|---|---|---|---|---|---|")
    for k in keys:
        o, n = old.get(k), new.get(k)
        cell = lambda v: "-" if v is None else (f"{v[0]}, {v[1]}" if v[1] else v[0])
        verdict = lambda v: "-" if v is None else v[2]
        changed = "" if o is None or n is None else ("**yes**" if o[2] != n[2] else "")
        print(f"| {k[0]} | {k[1]} | {cell(o)} | {verdict(o)} | {cell(n)} | {verdict(n)} | {changed} |")


if __name__ == "__main__":
    main()
