#!/usr/bin/env python3
"""PyTorch/cuDNN timings of the ops BenchmarkDeviceTime times (bench_test.go).

Same names, shapes and method: 5 warm-up calls, then the median of 20 calls,
each between two CUDA events, with the L2 cache flushed (a buffer twice its
size zeroed) before each call. cuDNN may pick its fastest algorithm
(torch.backends.cudnn.benchmark = True); TF32 is off, as the Go kernels are
plain FP32.

Run it on the GPU machine right after the Go benchmark, in the same command,
so both see the same GPU, clocks and driver (docs/gpu.md):

    ./cuda.test -test.run '^$' -test.bench DeviceTime -test.benchtime 1x
    python3 torch_gpu_bench.py

Output lines look like the Go benchmark's, prefixed BenchmarkTorch/.
"""
import statistics

import torch
import torch.nn.functional as F

torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
props = torch.cuda.get_device_properties(0)
l2 = getattr(props, "L2_cache_size", 64 << 20)
flush = torch.empty(2 * l2 // 4 + (1 << 18), dtype=torch.float32, device=dev)


def rand(*shape, grad=False):
    return (torch.rand(*shape, device=dev) * 2 - 1).requires_grad_(grad)


def time_ms(fn, warmup=5, repeats=20):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def report(name, ms, flops=0.0, nbytes=0.0):
    if flops:
        print(f"BenchmarkTorch/{name}\t1\t{ms:.4f} gpu-ms\t{flops / ms / 1e6:.1f} GFLOP/s", flush=True)
    else:
        print(f"BenchmarkTorch/{name}\t1\t{ms:.4f} gpu-ms\t{nbytes / ms / 1e6:.1f} GB/s", flush=True)


def main():
    print(f"# {props.name}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    for n in (1024, 4096):
        a, b, c = rand(n, n), rand(n, n), rand(n, n)
        report(f"gemm/NN/{n}", time_ms(lambda: torch.mm(a, b, out=c)), flops=2.0 * n ** 3)
    convs = [(3, 32, 128, 128, 8, 3), (32, 32, 128, 128, 8, 3), (64, 64, 64, 64, 8, 3),
             (128, 128, 32, 32, 8, 3), (256, 256, 16, 16, 8, 3), (32, 32, 128, 128, 16, 1)]
    for ci, co, h, w, n, k in convs:
        op, pad = ("conv1x1", 0) if k == 1 else ("conv2d", 1)
        size = f"{ci}x{co}x{h}x{w}"
        flops = 2.0 * n * co * h * w * ci * k * k
        x, wt, dy = rand(n, ci, h, w), rand(co, ci, k, k), rand(n, co, h, w)
        report(f"{op}/fwd/{size}", time_ms(lambda: F.conv2d(x, wt, padding=pad)), flops=flops)
        report(f"{op}/bwd-data/{size}",
               time_ms(lambda: torch.nn.grad.conv2d_input(x.shape, wt, dy, padding=pad)), flops=flops)
        report(f"{op}/bwd-filter/{size}",
               time_ms(lambda: torch.nn.grad.conv2d_weight(x, wt.shape, dy, padding=pad)), flops=flops)
    for ci, co, h, w in ((64, 32, 64, 64), (128, 64, 32, 32), (320, 256, 8, 8)):
        x, wt = rand(8, ci, h, w), rand(ci, co, 2, 2)
        report(f"conv-transpose2d/fwd/{ci}x{co}x{h}x{w}",
               time_ms(lambda: F.conv_transpose2d(x, wt, stride=2)), flops=2.0 * 8 * co * h * w * 4 * ci)
    x, g, b = rand(8, 32, 128, 128), rand(32), rand(32)
    elems = x.numel()
    report("instance-norm/fwd/8x32x128x128",
           time_ms(lambda: F.instance_norm(x, weight=g, bias=b, eps=1e-5)), nbytes=4.0 * 3 * elems)
    report("leaky-relu/fwd/8x32x128x128", time_ms(lambda: F.leaky_relu(x, 0.01)), nbytes=4.0 * 2 * elems)


if __name__ == "__main__":
    main()
