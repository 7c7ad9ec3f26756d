#!/usr/bin/env python3
"""PyTorch (cuDNN) timings of the cases of `suture bench`, on the GPU.

`suture bench --backend cuda --vs-torch` runs this script with the shapes of
its own cases (flags below) and prints the two side by side; gpu-check.sh does
that on a GPU machine. It can also be run by hand:

    python3 torch_gpu_bench.py                  # the full-scale cases, TF32 off and on
    python3 torch_gpu_bench.py --list           # their names (needs no PyTorch)
    python3 torch_gpu_bench.py --cases ops      # the ops of BenchmarkDeviceTime (bench_test.go)
    python3 torch_gpu_bench.py --device cpu --scale small --reps 1   # a smoke test without a GPU

Method, as the Go side's device timer (launch.Backend.Time): warm-up calls,
then the median of --reps calls, each between two CUDA events, with the L2
cache flushed (a buffer twice its size zeroed) before each call. cuDNN picks
its fastest algorithm (torch.backends.cudnn.benchmark). FP32 is timed with
TF32 off (the Go kernels are plain FP32) and, printed apart, with TF32 on.
PyTorch runs eagerly (no torch.compile).

Output: one JSON object per line. The first has "meta" (versions, device);
each other has "case" (the name `suture bench` gives it), "tf32", "ms"
(median), "min_ms", "max_ms", "reps".
"""
import argparse
import json
import statistics
import sys
import time


def shape_list(s):
    return [tuple(int(v) for v in part.split("x")) for part in s.split(",") if part]


def int_list(s):
    return [int(v) for v in s.split(",") if v]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                   help="cuda (default), or cpu for a smoke test and for the CUDA emulator's comparison")
    p.add_argument("--tf32", default="both", choices=["off", "on", "both"], help="FP32 with TF32 off, on, or both")
    p.add_argument("--cases", default="sgemm,conv,unet,stitch", help="families: sgemm,conv,unet,stitch; or ops")
    p.add_argument("--only", default="", help="keep cases whose names start with one of these comma-separated prefixes")
    p.add_argument("--list", action="store_true", help="print the case names and exit (no PyTorch needed)")
    p.add_argument("--scale", default="full", choices=["full", "small"],
                   help="defaults for the shape flags: bench.Full or bench.Small of the Go package")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--seed", type=int, default=0)
    # Shapes (suture bench passes its own; None: the --scale default).
    p.add_argument("--gemm", type=int, help="sgemm/N: N x N x N")
    p.add_argument("--conv-batch", type=int)
    p.add_argument("--conv3x3", type=shape_list, help="CinxCoutxHxW,... (3x3, stride 1, padding 1)")
    p.add_argument("--conv1x1", type=lambda s: tuple(int(v) for v in s.split("x")), help="CinxCoutxHxWxBatch")
    p.add_argument("--unet", type=int_list, help="features per stage of the U-Net and of stitch network A")
    p.add_argument("--stitch-b", type=int_list, help="features per stage of stitch network B")
    p.add_argument("--size", type=int, help="U-Net input size")
    p.add_argument("--batch", type=int, help="U-Net batch")
    p.add_argument("--stitch-batch", type=int, help="unique images per stitch step")
    a = p.parse_args(argv)
    defaults = {
        "full": dict(gemm=1024, conv_batch=8,
                     conv3x3=[(3, 32, 128, 128), (32, 32, 128, 128), (64, 64, 64, 64), (128, 128, 32, 32), (256, 256, 16, 16)],
                     conv1x1=(32, 32, 128, 128, 16), unet=[32, 64, 128, 256, 320], stitch_b=[24, 48, 96, 192, 256],
                     size=128, batch=8, stitch_batch=4),
        "small": dict(gemm=96, conv_batch=2, conv3x3=[(3, 8, 16, 16), (8, 8, 16, 16), (16, 16, 8, 8)],
                      conv1x1=(8, 8, 16, 16, 4), unet=[4, 8, 16], stitch_b=[3, 6, 12], size=32, batch=2, stitch_batch=2),
    }[a.scale]
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if len(a.unet) != len(a.stitch_b):
        p.error("--unet and --stitch-b need the same number of stages")
    return a


ARGS = parse_args()


def case_names():
    """Names in `suture bench` order (bench.CasesAt), for the selected families."""
    fams = ARGS.cases.split(",")
    names = []
    if "sgemm" in fams:
        names.append(f"sgemm/{ARGS.gemm}")
    if "conv" in fams:
        for ci, co, h, w in ARGS.conv3x3:
            names += [f"conv3x3/{ci}x{co}x{h}x{w}/fwd", f"conv3x3/{ci}x{co}x{h}x{w}/fwdbwd"]
        ci, co, h, w, _ = ARGS.conv1x1
        names.append(f"conv1x1/{ci}x{co}x{h}x{w}/fwdbwd")
    if "unet" in fams:
        names += ["unet/infer", "unet/train"]
    if "stitch" in fams:
        names += ["stitch/direct", "stitch/double"]
    if "ops" in fams:
        names += [n for n, _ in OPS_NAMES]
    if ARGS.only:
        prefixes = [p.strip() for p in ARGS.only.split(",")]
        names = [n for n in names if any(n.startswith(p) for p in prefixes)]
    return names


# The ops of BenchmarkDeviceTime (kernels/cuda/bench_test.go), same names.
OPS_NAMES = [(f"ops/gemm/NN/{n}", n) for n in (1024, 4096)]
OPS_CONVS = [(3, 32, 128, 128, 8, 3), (32, 32, 128, 128, 8, 3), (64, 64, 64, 64, 8, 3),
             (128, 128, 32, 32, 8, 3), (256, 256, 16, 16, 8, 3), (32, 32, 128, 128, 16, 1)]
for _ci, _co, _h, _w, _n, _k in OPS_CONVS:
    _op = "conv1x1" if _k == 1 else "conv2d"
    OPS_NAMES += [(f"ops/{_op}/{d}/{_ci}x{_co}x{_h}x{_w}", None) for d in ("fwd", "bwd-data", "bwd-filter")]
OPS_NAMES += [(f"ops/conv-transpose2d/fwd/{c}", None) for c in ("64x32x64x64", "128x64x32x32", "320x256x8x8")]
OPS_NAMES += [("ops/instance-norm/fwd/8x32x128x128", None), ("ops/leaky-relu/fwd/8x32x128x128", None)]

if ARGS.list:
    print("\n".join(case_names()))
    sys.exit(0)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

if ARGS.device == "cuda" and not torch.cuda.is_available():
    sys.exit("torch_gpu_bench.py: torch.cuda.is_available() is False (torch %s, built for CUDA %s)"
             % (torch.__version__, torch.version.cuda))
DEV = torch.device(ARGS.device)
torch.backends.cudnn.benchmark = True
FLUSH = None
if ARGS.device == "cuda":
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 64 << 20)
    FLUSH = torch.empty(2 * l2 // 4 + (1 << 18), dtype=torch.float32, device=DEV)


def set_tf32(on):
    """TF32 for matmuls and cuDNN convolutions, on or off, through one API:
    the fp32_precision settings where this PyTorch has them (2.9 and later,
    which may refuse a mix of the two), else the allow_tf32 flags. Returns
    the settings now in effect, as read back."""
    def has(obj, name):  # torch.backends.cuda.matmul raises AssertionError for unknown names
        try:
            getattr(obj, name)
            return True
        except Exception:
            return False

    matmul, conv = torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None)
    if has(matmul, "fp32_precision") and conv is not None and has(conv, "fp32_precision"):
        matmul.fp32_precision = conv.fp32_precision = "tf32" if on else "ieee"
        return {"matmul": matmul.fp32_precision, "cudnn_conv": conv.fp32_precision}
    matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    return {"matmul_allow_tf32": matmul.allow_tf32, "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}


def time_ms(fn):
    """Median, min and max ms per call of fn (see the module doc)."""
    for _ in range(ARGS.warmup):
        fn()
    times = []
    for _ in range(ARGS.reps):
        if FLUSH is not None:
            FLUSH.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), max(times)


def rand(*shape, grad=False):
    return (torch.rand(*shape, device=DEV) * 2 - 1).requires_grad_(grad)


# ----------------------------------------------------------------------------- the benchmark networks

class ConvNormAct(nn.Module):
    """3x3 conv with bias, instance norm (affine, eps 1e-5), leaky ReLU 0.01."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=True)
        self.norm = nn.InstanceNorm2d(cout, eps=1e-5, affine=True)

    def forward(self, x):
        return F.leaky_relu(self.norm(self.conv(x)), 0.01, inplace=True)


class UNet(nn.Module):
    """unet.BenchConfig: stages of two ConvNormAct (stride 2 from the second
    stage on), transposed-conv up-sampling, [up, skip] concatenation, a 1x1
    conv to 2 classes."""

    def __init__(self, features, in_ch=3, classes=2):
        super().__init__()
        self.enc = nn.ModuleList()
        c = in_ch
        for i, f in enumerate(features):
            self.enc.append(nn.Sequential(ConvNormAct(c, f, 1 if i == 0 else 2), ConvNormAct(f, f, 1)))
            c = f
        self.up, self.dec = nn.ModuleList(), nn.ModuleList()
        for i in range(len(features) - 1, 0, -1):
            below, skip = features[i], features[i - 1]
            self.up.append(nn.ConvTranspose2d(below, skip, 2, 2, bias=True))
            self.dec.append(nn.Sequential(ConvNormAct(2 * skip, skip, 1), ConvNormAct(skip, skip, 1)))
        self.seg = nn.Conv2d(features[0], classes, 1, bias=True)

    def forward(self, x, switch=None):
        """switch(point, h) may replace the output h of each stage (encoder
        stages, then decoder stages) before the network goes on."""
        point = 0
        skips = []
        for stage in self.enc:
            x = stage(x)
            if switch is not None:
                x = switch(point, x)
            point += 1
            skips.append(x)
        x = skips[-1]
        for i, (up, dec) in enumerate(zip(self.up, self.dec)):
            x = dec(torch.cat((up(x), skips[-2 - i]), 1))
            if switch is not None:
                x = switch(point, x)
            point += 1
        return self.seg(x)

    def points(self):
        return [s[-1].conv.out_channels for s in self.enc] + [d[-1].conv.out_channels for d in self.dec]


def blob_batch(n, size, gen):
    x = torch.randn(n, 3, size, size, generator=gen)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy = torch.randint(size // 4, 3 * size // 4, (n, 1, 1), generator=gen)
    cx = torch.randint(size // 4, 3 * size // 4, (n, 1, 1), generator=gen)
    r = torch.randint(size // 8, max(size // 3, size // 8 + 1), (n, 1, 1), generator=gen)
    t = (((yy[None] - cy) ** 2 + (xx[None] - cx) ** 2) < r ** 2).long()
    return x.to(DEV), t.to(DEV)


def dice_ce(logits, target):
    """Cross-entropy + (1 - soft Dice over the foreground, batch Dice)."""
    ce = F.cross_entropy(logits, target)
    p = logits.softmax(1)[:, 1:]
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].to(p.dtype)
    inter = (p * onehot).sum((0, 2, 3))
    denom = p.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return ce + 1 - ((2 * inter + 1e-5) / (denom + 1e-5).clamp_min(1e-8)).mean()


# ----------------------------------------------------------------------------- cases

def sgemm_cases():
    n = ARGS.gemm
    a, b, c = rand(n, n), rand(n, n), torch.empty(n, n, device=DEV)
    yield f"sgemm/{n}", lambda: torch.mm(a, b, out=c)


def conv_cases():
    layers = [(ci, co, h, w, ARGS.conv_batch, 3) for ci, co, h, w in ARGS.conv3x3]
    ci, co, h, w, n = ARGS.conv1x1
    layers.append((ci, co, h, w, n, 1))
    for ci, co, h, w, n, k in layers:
        conv = nn.Conv2d(ci, co, k, 1, k // 2, bias=True).to(DEV)
        x = rand(n, ci, h, w, grad=True)
        dy = rand(n, co, h, w)
        name = f"conv{k}x{k}/{ci}x{co}x{h}x{w}"

        def fwd(conv=conv, x=x):
            with torch.no_grad():
                conv(x)

        def fwdbwd(conv=conv, x=x, dy=dy):
            x.grad = conv.weight.grad = conv.bias.grad = None
            conv(x).backward(dy)

        if k == 3:
            yield name + "/fwd", fwd
        yield name + "/fwdbwd", fwdbwd


def unet_cases():
    torch.manual_seed(ARGS.seed)
    model = UNet(ARGS.unet).to(DEV)
    x, t = blob_batch(ARGS.batch, ARGS.size, torch.Generator().manual_seed(ARGS.seed))

    def infer():
        model.eval()
        with torch.no_grad():
            model(x)

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.99, nesterov=True)

    def train():
        model.train()
        opt.zero_grad(set_to_none=True)
        dice_ce(model(x), t).backward()
        opt.step()

    yield "unet/infer", infer
    yield "unet/train", train


def stitch_cases():
    torch.manual_seed(ARGS.seed)
    a = UNet(ARGS.unet).to(DEV).eval()
    torch.manual_seed(ARGS.seed + 1)
    b = UNet(ARGS.stitch_b).to(DEV).eval()
    for p in list(a.parameters()) + list(b.parameters()):
        p.requires_grad_(False)
    ca, cb = a.points(), b.points()
    torch.manual_seed(ARGS.seed + 2)
    s_ab = nn.ModuleList(nn.Conv2d(i, o, 1, bias=True) for i, o in zip(ca, cb)).to(DEV)  # A -> B
    s_ba = nn.ModuleList(nn.Conv2d(o, i, 1, bias=True) for i, o in zip(ca, cb)).to(DEV)  # B -> A
    opt = torch.optim.AdamW(list(s_ab.parameters()) + list(s_ba.parameters()), lr=1e-3)
    n = ARGS.stitch_batch
    x, _ = blob_batch(n, ARGS.size, torch.Generator().manual_seed(ARGS.seed))
    mse = F.mse_loss

    def features(net, inp):
        fs = []
        net(inp, lambda i, h: fs.append(h) or h)
        return fs

    def direct():
        with torch.no_grad():
            fa, fb = features(a, x), features(b, x)
        loss = sum(mse(s_ab[i](fa[i]), fb[i]) + mse(s_ba[i](fb[i]), fa[i]) for i in range(len(ca)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # Double-batched (DESIGN.md section 6.5): both networks run [reference;
    # alternative] halves in one batch; at each point every sample of the
    # alternative half goes on with its own feature or one stitched from the
    # other network's reference or alternative half, with a loss against the
    # reference for each candidate. The two networks advance point by point.
    xx = torch.cat([x, x], 0)
    gen = torch.Generator().manual_seed(ARGS.seed)
    idx = torch.arange(n, device=DEV)

    def double():
        losses = []

        def switch_pair(i, ha, hb):
            ref_a, ref_b, own_a, own_b = ha[:n].detach(), hb[:n].detach(), ha[n:], hb[n:]
            for own, ref in ((own_a, ref_a), (own_b, ref_b)):
                if own.requires_grad:
                    losses.append(mse(own, ref))
            cand_a = [own_a, s_ba[i](ref_b), s_ba[i](own_b)]
            cand_b = [own_b, s_ab[i](ref_a), s_ab[i](own_a)]
            losses.extend(mse(c, ref_a) for c in cand_a[1:])
            losses.extend(mse(c, ref_b) for c in cand_b[1:])
            pick_a = torch.randint(0, 3, (n,), generator=gen).to(DEV)
            pick_b = torch.randint(0, 3, (n,), generator=gen).to(DEV)
            alt_a = torch.stack(cand_a)[pick_a, idx]
            alt_b = torch.stack(cand_b)[pick_b, idx]
            return torch.cat([ref_a, alt_a], 0), torch.cat([ref_b, alt_b], 0)

        # The two networks advance point by point (stage_runner).
        ha_all, hb_all = stage_runner(a, xx), stage_runner(b, xx)
        ha, hb = next(ha_all), next(hb_all)
        for i in range(len(ca)):
            na, nb = switch_pair(i, ha, hb)
            ha, hb = ha_all.send(na), hb_all.send(nb)
        loss = torch.stack(losses).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    yield "stitch/direct", direct
    yield "stitch/double", double


def stage_runner(net, x):
    """A generator running net stage by stage: it yields each stage output
    and goes on with the tensor sent back; after the last point it yields
    the logits."""
    skips = []
    for stage in net.enc:
        x = stage(x)
        x = yield x
        skips.append(x)
    x = skips[-1]
    for i, (up, dec) in enumerate(zip(net.up, net.dec)):
        x = dec(torch.cat((up(x), skips[-2 - i]), 1))
        x = yield x
    yield net.seg(x)


def ops_cases():
    for n in (1024, 4096):
        a, b, c = rand(n, n), rand(n, n), rand(n, n)
        yield f"ops/gemm/NN/{n}", lambda a=a, b=b, c=c: torch.mm(a, b, out=c)
    for ci, co, h, w, n, k in OPS_CONVS:
        op, pad = ("conv1x1", 0) if k == 1 else ("conv2d", 1)
        size = f"{ci}x{co}x{h}x{w}"
        x, wt, dy = rand(n, ci, h, w), rand(co, ci, k, k), rand(n, co, h, w)
        yield f"ops/{op}/fwd/{size}", lambda x=x, wt=wt, pad=pad: F.conv2d(x, wt, padding=pad)
        yield f"ops/{op}/bwd-data/{size}", \
            lambda x=x, wt=wt, dy=dy, pad=pad: torch.nn.grad.conv2d_input(x.shape, wt, dy, padding=pad)
        yield f"ops/{op}/bwd-filter/{size}", \
            lambda x=x, wt=wt, dy=dy, pad=pad: torch.nn.grad.conv2d_weight(x, wt.shape, dy, padding=pad)
    for ci, co, h, w in ((64, 32, 64, 64), (128, 64, 32, 32), (320, 256, 8, 8)):
        x, wt = rand(8, ci, h, w), rand(ci, co, 2, 2)
        yield f"ops/conv-transpose2d/fwd/{ci}x{co}x{h}x{w}", lambda x=x, wt=wt: F.conv_transpose2d(x, wt, stride=2)
    x, g, b = rand(8, 32, 128, 128), rand(32), rand(32)
    yield "ops/instance-norm/fwd/8x32x128x128", lambda: F.instance_norm(x, weight=g, bias=b, eps=1e-5)
    yield "ops/leaky-relu/fwd/8x32x128x128", lambda: F.leaky_relu(x, 0.01)


FAMILIES = {"sgemm": sgemm_cases, "conv": conv_cases, "unet": unet_cases, "stitch": stitch_cases, "ops": ops_cases}


def main():
    wanted = set(case_names())
    meta = {"torch": torch.__version__, "device": ARGS.device, "cudnn": torch.backends.cudnn.version()}
    if ARGS.device == "cuda":
        meta.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                    capability="sm_%d%d" % torch.cuda.get_device_capability(0))
    print(json.dumps({"meta": meta}), flush=True)
    modes = {"off": [False], "on": [True], "both": [False, True]}[ARGS.tf32]
    for fam in ARGS.cases.split(","):
        if fam not in FAMILIES:
            sys.exit(f"torch_gpu_bench.py: no case family {fam!r} (have {', '.join(FAMILIES)})")
        for name, fn in FAMILIES[fam]():
            if name not in wanted:
                continue
            for tf32 in modes:
                settings = set_tf32(tf32)
                med, lo, hi = time_ms(fn)
                print(json.dumps({"case": name, "tf32": tf32, "ms": round(med, 5), "min_ms": round(lo, 5),
                                  "max_ms": round(hi, 5), "reps": ARGS.reps, "settings": settings}), flush=True)
    set_tf32(False)


if __name__ == "__main__":
    main()
