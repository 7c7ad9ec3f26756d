# Writes the per-sample CSVs of TestCompareMatchesSciPy and prints the values
# SciPy gives for them. Run from this folder: /usr/bin/python3 make.py
import csv, math, random
import numpy as np
from scipy.stats import wilcoxon

rng = random.Random(7)
folds, per = 3, 40
ref, alts = [], {"up": [], "tie": [], "mixed": []}
for f in range(folds):
    for i in range(per):
        name = f"img{i:03d}"
        d = round(rng.uniform(0.3, 0.95), 3)          # 3 decimals: ties in |diff|
        h = round(rng.uniform(2, 20), 2)
        if i == 5:
            h = float("nan")                           # undefined HD95 on the ref side
        ref.append((f, name, d, h))
        alts["up"].append((f, name, round(d + rng.uniform(-0.02, 0.06), 3), round(h - rng.uniform(-1, 3), 2)))
        alts["tie"].append((f, name, d if i % 3 == 0 else round(d + rng.choice([-0.01, 0.01]), 3), h))
        alts["mixed"].append((f, name, round(d + rng.gauss(0, 0.05), 3), float("nan") if i == 7 else round(h + rng.gauss(0, 2), 2)))

def write(path, rows, shuffle):
    rows = list(rows)
    if shuffle:
        rng.shuffle(rows)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "fold", "dice", "hd95"] if shuffle else ["fold", "name", "dice", "hd95"])
        for f, n, d, h in rows:
            w.writerow([n, f, repr(d), "NaN" if math.isnan(h) else repr(h)] if shuffle else [f, n, repr(d), "NaN" if math.isnan(h) else repr(h)])

write("ref.csv", ref, False)
for k, rows in alts.items():
    write(k + ".csv", rows, True)

def holm(ps):
    m = len(ps); order = sorted(range(m), key=lambda i: ps[i]); out = [0.0] * m; run = 0.0
    for r, i in enumerate(order):
        run = max(run, min(1.0, (m - r) * ps[i])); out[i] = run
    return out

for metric, col in (("dice", 2), ("hd95", 3)):
    res = []
    for k in alts:
        x = np.array([a[col] for a in alts[k]]); y = np.array([r[col] for r in ref])
        ok = ~(np.isnan(x) | np.isnan(y))
        try:
            p = wilcoxon(x[ok], y[ok], zero_method="wilcox", correction=False, method="approx").pvalue
        except ValueError:  # every difference zero: SciPy gives no p-value
            p = float("nan")
        res.append((k, int(ok.sum()), int((~ok).sum()), float(np.mean(x[ok] - y[ok])), float(np.median(x[ok] - y[ok])), float(p)))
    tested = [i for i, r in enumerate(res) if not math.isnan(r[5])]
    adj = [float("nan")] * len(res)
    for i, a in zip(tested, holm([res[i][5] for i in tested])):
        adj[i] = a
    for r, a in zip(res, adj):
        print(f'{{"{metric}", "{r[0]}", {r[1]}, {r[2]}, {r[3]!r}, {r[4]!r}, {r[5]!r}, {a!r}}},')
