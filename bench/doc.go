// Package bench times Suture's training path the way
// ../shared/bench/torch_cpu_bench.py times PyTorch's (warm-up, samples of at
// least 0.2 s, the median of 7, samples rejected while other processes used
// the CPU), so the two can be compared as ratios measured in one run.
//
// Cases: sgemm/1024; conv3x3/CinxCoutxHxW/{fwd,fwdbwd} for the five layers of
// the torch script's conv case; conv1x1/32x32x128x128/fwdbwd; unet/infer and
// unet/train (the benchmark U-Net of DESIGN.md section 8, batch 8, 128 px);
// stitch/direct and stitch/double (A 32..320 and B 24..256 joined at their 9
// stage outputs, 4 unique images per step). NetworkCases makes the network
// cases at other sizes.
//
// Profile runs a case under the per-op profiler of bench/profile (`suture
// profile`), ProfileOverhead measures what that profiler costs a step.
package bench
