#!/usr/bin/env python3
"""torch.profiler tables of the unet/train and stitch/double steps, laid out
like `suture profile` (bench/RESULTS.md section 6).

The networks, sizes and steps are those of ../shared/bench/torch_cpu_bench.py
(which `suture bench --vs-torch` times): the nnU-Net-style 2D U-Net with
features 32,64,128,256,320 on 128x128 images, batch 8, SGD with Nesterov
momentum 0.99, CE + soft Dice; and two frozen U-Nets (A: 32..320, B:
24..256) joined at their nine stage outputs by 1x1 stitches, trained
double-batched on 4 images ([reference; alternative] as one tensor of 8,
candidates own, S(other ref), S(other alt), an MSE against the reference for
each, one candidate per sample), AdamW lr 1e-3.

Every leaf module runs inside a record_function named after its vertex in
Suture's graphs ("enc2.conv1", "A/dec0.up", "stitch 3 a->b", "loss"), and
every step inside "forward", "backward" and "optimizer". Backward ops are
given the vertex of the forward op that made their autograd node (same
sequence number). Rows (op, vertex, phase) then get calls, total and self
CPU time per step, as in Suture's profile; self times add up to the step.
PyTorch runs the double-batched step's halves as one tensor, so its rows have
no ref/alt halves.

    /usr/bin/python3 bench/torch_profile.py --case unet/train [--steps 5] [--json] [--trace T.json]
"""
import argparse
import bisect
import collections
import json
import os
import random
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True, choices=["unet/train", "stitch/double"])
    p.add_argument("--steps", type=int, default=5, help="steps recorded")
    p.add_argument("--warmup", type=int, default=2, help="steps run before recording")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=128, help="image size")
    p.add_argument("--batch", type=int, default=0, help="images per step (0: 8 for unet/train, 4 for stitch/double)")
    p.add_argument("--rows", type=int, default=25, help="rows per section (0: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per row (op, vertex, phase, calls, ms, self_ms, gflops, frac_step), then the total")
    p.add_argument("--trace", default="", help="also write torch.profiler's Chrome trace to this file")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


ARGS = parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.autograd.profiler import record_function  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

torch.set_num_threads(ARGS.threads)

VERTEX, PHASE = "vertex:", "phase:"


# ----------------------------------------------------------------------------- vertex scopes

class Scopes:
    """Opens a record_function named after a module's vertex around its call."""

    def __init__(self):
        self.open = []

    def attach(self, module, name):
        def pre(mod, inp):
            rf = record_function(VERTEX + name)
            rf.__enter__()
            self.open.append(rf)

        def post(mod, inp, out):
            self.open.pop().__exit__(None, None, None)

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)


SCOPES = Scopes()


# ----------------------------------------------------------------------------- the networks

class Block(nn.Module):
    """conv 3x3 (bias) -> instance norm (affine) -> leaky ReLU 0.01, in place."""

    def __init__(self, cin, cout, stride, prefix, j):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=True)
        self.norm = nn.InstanceNorm2d(cout, eps=1e-5, affine=True)
        self.act = nn.LeakyReLU(0.01, inplace=True)
        self.names = {"conv": "%s.conv%d" % (prefix, j), "norm": "%s.norm%d" % (prefix, j), "act": "%s.act%d" % (prefix, j)}

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class UNet(nn.Module):
    """The benchmark U-Net; vertex names as Suture's unet.Build gives them."""

    def __init__(self, features, in_ch=3, classes=2):
        super().__init__()
        self.enc = nn.ModuleList()
        c = in_ch
        for s, f in enumerate(features):
            stride = 1 if s == 0 else 2
            self.enc.append(nn.ModuleList([Block(c, f, stride, "enc%d" % s, 0), Block(f, f, 1, "enc%d" % s, 1)]))
            c = f
        self.up, self.dec = nn.ModuleList(), nn.ModuleList()
        n = len(features)
        for d in range(n - 1):
            below, skip = features[n - 1 - d], features[n - 2 - d]
            self.up.append(nn.ConvTranspose2d(below, skip, 2, 2, bias=True))
            self.dec.append(nn.ModuleList([Block(2 * skip, skip, 1, "dec%d" % d, 0), Block(skip, skip, 1, "dec%d" % d, 1)]))
        self.seg = nn.Conv2d(features[0], classes, 1, bias=True)
        self.seg_name = "dec%d.seg" % (n - 2)
        self.prefix = ""

    def scoped(self, prefix):
        """Puts every leaf module under a vertex scope named prefix + its vertex."""
        self.prefix = prefix
        for blocks in list(self.enc) + list(self.dec):
            for b in blocks:
                for attr, name in b.names.items():
                    SCOPES.attach(getattr(b, attr), prefix + name)
        for d, up in enumerate(self.up):
            SCOPES.attach(up, prefix + "dec%d.up" % d)
        SCOPES.attach(self.seg, prefix + self.seg_name)
        return self

    def points(self, x):
        """Runs the network, yielding the output of each stage (5 encoder, 4
        decoder) and going on with the tensor sent back; returns the logits."""
        skips = []
        for blocks in self.enc:
            for b in blocks:
                x = b(x)
            x = yield x
            skips.append(x)
        for d, up in enumerate(self.up):
            u = up(x)
            with record_function(VERTEX + self.prefix + "dec%d.cat" % d):
                x = torch.cat((u, skips[-(d + 2)]), 1)
            for b in self.dec[d]:
                x = b(x)
            x = yield x
        return self.seg(x)

    def forward(self, x):
        gen = self.points(x)
        h = next(gen)
        try:
            while True:
                h = gen.send(h)
        except StopIteration as stop:
            return stop.value


def stage_channels(features):
    return list(features) + list(reversed(features[:-1]))


def blob_batch(n, size, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy = torch.randint(size // 4, 3 * size // 4, (n, 1, 1), generator=g)
    cx = torch.randint(size // 4, 3 * size // 4, (n, 1, 1), generator=g)
    r = torch.randint(size // 8, size // 3, (n, 1, 1), generator=g)
    return x, (((yy[None] - cy) ** 2 + (xx[None] - cx) ** 2) < r ** 2).long()


def dice_ce(logits, target, smooth=1e-5):
    """CE + 1 - soft Dice over the foreground classes (batch Dice)."""
    probs = logits.softmax(1)[:, 1:]
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].to(probs.dtype)
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    dice = (2 * inter + smooth) / (denom + smooth).clamp_min(1e-8)
    return F.cross_entropy(logits, target) + 1 - dice.mean()


# ----------------------------------------------------------------------------- the steps

def unet_step(size, batch):
    torch.manual_seed(ARGS.seed)
    net = UNet([32, 64, 128, 256, 320]).scoped("")
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True, weight_decay=0.0)
    x, target = blob_batch(batch, size, ARGS.seed)

    def step():
        with record_function(PHASE + "optimizer"):
            opt.zero_grad(set_to_none=True)
        with record_function(PHASE + "forward"):
            out = net(x)
            with record_function(VERTEX + "loss"):
                loss = dice_ce(out, target)
        with record_function(PHASE + "backward"):
            loss.backward()
        with record_function(PHASE + "optimizer"):
            opt.step()
    return step


def stitch_double_step(size, batch):
    fa, fb = [32, 64, 128, 256, 320], [24, 48, 96, 192, 256]
    torch.manual_seed(ARGS.seed)
    a = UNet(fa).scoped("A/")
    torch.manual_seed(ARGS.seed + 1)
    b = UNet(fb).scoped("B/")
    for net in (a, b):
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
    ca, cb = stage_channels(fa), stage_channels(fb)
    torch.manual_seed(ARGS.seed + 2)
    s_ab = nn.ModuleList([nn.Conv2d(i, o, 1, bias=True) for i, o in zip(ca, cb)])  # A features into B's space
    s_ba = nn.ModuleList([nn.Conv2d(o, i, 1, bias=True) for i, o in zip(ca, cb)])  # B features into A's space
    for k in range(len(ca)):
        SCOPES.attach(s_ab[k], "stitch %d a->b" % k)
        SCOPES.attach(s_ba[k], "stitch %d b->a" % k)
    opt = torch.optim.AdamW(list(s_ab.parameters()) + list(s_ba.parameters()), lr=1e-3)
    x, _ = blob_batch(batch, size, ARGS.seed)
    xx = torch.cat([x, x], 0)
    gen = torch.Generator().manual_seed(ARGS.seed)
    mse = F.mse_loss
    rows = torch.arange(batch)

    def switch(k, net, own, other, s_other):
        """The switch after pair k of net: losses, and (ref, one candidate per
        sample). The stitch convs run in their own vertex, as in Suture."""
        o_ref, o_alt = other[:batch].detach(), other[batch:]
        stitched = [s_other[k](o_ref), s_other[k](o_alt)]
        with record_function(VERTEX + "%s/switch %d" % (net, k)):
            ref, alt = own[:batch].detach(), own[batch:]
            cands = [alt] + stitched
            losses = [mse(c, ref) for c in stitched]
            if alt.requires_grad:
                losses.append(mse(alt, ref))
            choice = torch.randint(0, 3, (batch,), generator=gen)
            return losses, torch.cat([ref, torch.stack(cands)[choice, rows]], 0)

    def step():
        with record_function(PHASE + "optimizer"):
            opt.zero_grad(set_to_none=True)
        with record_function(PHASE + "forward"):
            ga, gb = a.points(xx), b.points(xx)
            ha, hb = next(ga), next(gb)
            losses = []
            for k in range(len(ca)):
                la, na = switch(k, "A", ha, hb, s_ba)
                lb, nb = switch(k, "B", hb, ha, s_ab)
                losses += la + lb
                try:
                    ha, hb = ga.send(na), gb.send(nb)
                except StopIteration:
                    pass  # the output stage: the logits are not used
            with record_function(VERTEX + "loss"):
                loss = torch.stack(losses).sum()
        with record_function(PHASE + "backward"):
            loss.backward()
        with record_function(PHASE + "optimizer"):
            opt.step()
    return step


# ----------------------------------------------------------------------------- rows

def enclosing(e, prefix):
    p = e.cpu_parent
    while p is not None:
        if p.name.startswith(prefix):
            return p.name[len(prefix):]
        p = p.cpu_parent
    return ""


def vertex_of_node(seq_vertex, seqs, seq):
    """The vertex of an autograd node: that of the forward op with its
    sequence number, or, for nodes made inside an op without one of their
    own (CopySlices, when an in-place op such as the leaky ReLU writes into a
    view such as instance norm's output), that of the op just before."""
    if seq in seq_vertex:
        return seq_vertex[seq]
    i = bisect.bisect_left(seqs, seq)
    return seq_vertex[seqs[i - 1]] if i > 0 and seq >= 0 else ""


def rows_of(events, steps):
    """(op, vertex, phase) rows per step from the profiler's events; the
    record_functions of vertices and phases become "(outside ops)" rows."""
    seq_vertex = {}  # forward op sequence number -> its vertex
    for e in events:
        if e.sequence_nr >= 0 and not e.name.startswith("autograd::engine") and enclosing(e, PHASE) == "forward":
            seq_vertex.setdefault(e.sequence_nr, enclosing(e, VERTEX))
    seqs = sorted(seq_vertex)
    acc = collections.defaultdict(lambda: {"calls": 0, "total": 0.0, "self": 0.0, "flops": 0.0})
    step_us = 0.0
    for e in events:
        if e.name == "step":
            step_us += e.cpu_time_total
            continue
        if e.name.startswith(PHASE):
            key = ("(outside ops)", "", e.name[len(PHASE):])
        elif e.name.startswith(VERTEX):
            key = ("(outside ops)", e.name[len(VERTEX):], enclosing(e, PHASE))
        else:
            phase = enclosing(e, PHASE) or "(between phases)"
            vertex = enclosing(e, VERTEX)
            if phase == "backward" and not vertex:
                # The autograd node's function, or an op inside it, belongs to
                # the forward op that made the node.
                p = e
                while p is not None and not p.name.startswith("autograd::engine::evaluate_function"):
                    p = p.cpu_parent
                if p is not None:
                    vertex = vertex_of_node(seq_vertex, seqs, p.sequence_nr)
            key = (e.name, vertex, phase)
        a = acc[key]
        a["calls"] += 1
        a["self"] += e.self_cpu_time_total
        a["total"] += e.cpu_time_total
        a["flops"] += e.flops or 0
    for e in events:  # the step's own time between its phases
        if e.name == "step":
            acc[("(outside ops)", "", "(between phases)")]["self"] += e.self_cpu_time_total
    step_ms = step_us / 1e3 / steps
    rows = []
    for (op, vertex, phase), a in acc.items():
        ms = a["total"] / 1e3 / steps
        rows.append({"op": op, "vertex": vertex, "phase": phase, "calls": a["calls"] / steps, "ms": ms,
                     "self_ms": a["self"] / 1e3 / steps,
                     "gflops": (a["flops"] / steps) / (ms / 1e3) / 1e9 if a["flops"] and ms > 0 else None,
                     "frac_step": a["self"] / 1e3 / steps / step_ms if step_ms > 0 else 0})
    rows.sort(key=lambda r: (-r["self_ms"], r["op"], r["vertex"], r["phase"]))
    return rows, step_ms


def group(rows, key, step_ms):
    """Rows by op (totals of nested ops overlap, as in key_averages), by
    vertex (total: everything attributed to it, forward and backward; calls:
    forward entries) or by phase (total: the phase's time)."""
    g = collections.OrderedDict()
    for r in rows:
        k = r[key]
        x = g.setdefault(k, {key: k, "calls": 0.0, "ms": 0.0, "self_ms": 0.0})
        x["self_ms"] += r["self_ms"]
        outside = r["op"] == "(outside ops)"
        if key == "op":
            x["ms"] += r["self_ms"] if outside else r["ms"]
            x["calls"] += 0 if outside else r["calls"]
        elif key == "vertex":
            x["ms"] += r["self_ms"]
            x["calls"] += r["calls"] if outside else 0
        else:
            x["ms"] += r["self_ms"]
            x["calls"] += r["calls"] if outside and not r["vertex"] else 0
    out = list(g.values())
    for x in out:
        x["frac_step"] = x["self_ms"] / step_ms if step_ms else 0
    out.sort(key=lambda x: -x["self_ms"])
    return out


def print_table(rows, step_ms, steps, top):
    print("%d steps of %s recorded with torch.profiler (PyTorch %s, %d threads): %.2f ms per step" % (
        steps, ARGS.case, torch.__version__, ARGS.threads, step_ms))
    print("per step; self = CPU time of the event minus its children; ops nest (aten::conv2d > aten::convolution > ...),")
    print("so an op's total includes the ops it calls; the self column adds up to the step")

    def section(title, key, rs):
        n = len(rs)
        if top and n > top:
            rs = rs[:top]
            title += " (top %d of %d)" % (top, n)
        print("\n" + title)
        width = max([len(key)] + [len(label(key, r)) for r in rs])
        print("%-*s %8s %10s %10s %6s %8s" % (width, key, "calls", "total ms", "self ms", "%step", "GFLOP/s"))
        for r in rs:
            gf = r.get("gflops")
            print("%-*s %8.4g %10.3f %10.3f %5.1f%% %8s" % (width, label(key, r), r["calls"], r["ms"], r["self_ms"],
                                                         100 * r["frac_step"], "%.1f" % gf if gf else "-"))

    section("by op", "op", group(rows, "op", step_ms))
    section("by vertex", "vertex", group(rows, "vertex", step_ms))
    section("by phase", "phase", group(rows, "phase", step_ms))
    section("by op, vertex and phase", "op | vertex | phase", rows)


def label(key, r):
    if key == "op | vertex | phase":
        return "%s | %s | %s" % (r["op"], r["vertex"] or "-", r["phase"])
    if key == "vertex" and not r["vertex"]:
        return "(no vertex)"
    return r[key]


def main():
    size = ARGS.size
    if ARGS.case == "unet/train":
        step = unet_step(size, ARGS.batch or 8)
    else:
        step = stitch_double_step(size, ARGS.batch or 4)
    for _ in range(ARGS.warmup):
        step()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        for _ in range(ARGS.steps):
            with record_function("step"):
                step()
    wall_ms = (time.perf_counter() - t0) * 1e3 / ARGS.steps
    rows, step_ms = rows_of(prof.events(), ARGS.steps)
    if ARGS.trace:
        prof.export_chrome_trace(ARGS.trace)
    if ARGS.json:
        for r in rows:
            print(json.dumps(r))
        print(json.dumps({"op": "total", "vertex": "", "phase": "", "calls": ARGS.steps, "ms": step_ms,
                          "self_ms": sum(r["self_ms"] for r in rows), "gflops": None, "frac_step": 1,
                          "wall_ms": wall_ms, "torch": torch.__version__, "threads": ARGS.threads}))
    else:
        print_table(rows, step_ms, ARGS.steps, ARGS.rows)
        print("\nwall time per step under the profiler: %.2f ms" % wall_ms)
    sys.stderr.write("[torch_profile] %s: %d steps, %.1f ms each\n" % (ARGS.case, ARGS.steps, step_ms))


if __name__ == "__main__":
    random.seed(ARGS.seed)
    main()
