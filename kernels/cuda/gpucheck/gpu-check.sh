#!/usr/bin/env bash
# gpu-check.sh [--budget SECONDS] [--profile full|emu]: the GPU kit's one
# command (make gpu-kit builds the kit, bin/gpu; docs/gpu.md). It prints the
# GPU, driver and library versions, checks that the kernels' module loads
# (stopping at once, with the JIT's log, if it does not), runs the kernels
# against the CPU reference, the conformance suite and a U-Net and a
# double-batched stitch training step against the CPU, then `suture bench`
# beside PyTorch with cuDNN (TF32 off and on), and ends with
#   RESULT: PASS
# or
#   RESULT: FAIL: <reason>
# within the budget (default 540 s) whatever happens: each step runs under
# `timeout` with what is left of the budget. Every step's full output goes to
# $OUT (or a new folder under /tmp, named at the start) with a summary and
# the verdict (RESULT). Exit status: 0 on PASS, 1 on FAIL, 2 on bad usage.
#
# The kit beside this script: gpucheck.test (the check's test binary),
# suture (the CLI, same build tag), torch_gpu_bench.py, and kit.env (the
# backend and default profile of the build: cuda/full or cudaemu/emu).
set -u
here=$(cd "$(dirname "$0")" && pwd)
budget=540
profile=""
while [ $# -gt 0 ]; do
	case "$1" in
	--budget) budget=${2:-}; shift 2 || { echo "gpu-check.sh: --budget needs a value" >&2; exit 2; } ;;
	--budget=*) budget=${1#--budget=}; shift ;;
	--profile) profile=${2:-}; shift 2 || { echo "gpu-check.sh: --profile needs a value" >&2; exit 2; } ;;
	--profile=*) profile=${1#--profile=}; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "gpu-check.sh: unknown argument $1 (usage: gpu-check.sh [--budget SECONDS] [--profile full|emu])" >&2; exit 2 ;;
	esac
done
case "$budget" in ''|*[!0-9]*) echo "gpu-check.sh: --budget $budget: want whole seconds" >&2; exit 2 ;; esac
backend=cuda
kit_profile=full
kit_commit=unknown
# kit.env: backend=..., profile=..., commit=... (written by make gpu-kit).
if [ -f "$here/kit.env" ]; then
	while IFS='=' read -r k v; do
		case "$k" in backend) backend=$v ;; profile) kit_profile=$v ;; commit) kit_commit=$v ;; esac
	done <"$here/kit.env"
fi
profile=${profile:-$kit_profile}
case "$profile" in full) scale=full ;; emu) scale=small ;; *) echo "gpu-check.sh: --profile $profile: want full or emu" >&2; exit 2 ;; esac

start=$SECONDS
deadline=$((start + budget))
reserve=5 # seconds kept back for the verdict
out=${OUT:-}
if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/gpu-check.XXXXXX)
fi
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
fails=()
notes=()
child=""
current="start"
skipped=0

say() { echo "$*" | tee -a "$summary"; }

finish() {
	local verdict
	if [ ${#fails[@]} -eq 0 ]; then
		verdict="RESULT: PASS"
	else
		local IFS=';'
		verdict="RESULT: FAIL: ${fails[*]}"
		verdict=${verdict//;/; }
	fi
	for n in "${notes[@]}"; do say "note: $n"; done
	say "files: $out ($((SECONDS - start)) s of a $budget s budget)"
	say "$verdict"
	echo "$verdict" >"$out/RESULT"
	[ ${#fails[@]} -eq 0 ]
	exit $?
}

on_signal() {
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
	fails+=("interrupted by $1 during $current after $((SECONDS - start)) s")
	finish
}
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT
trap 'on_signal SIGHUP' HUP

# left prints the seconds a step may take: cap, or what is left of the
# budget (at least 1: timeout 0 would mean no limit).
left() {
	local l=$((deadline - SECONDS - reserve))
	[ "$l" -gt "$1" ] && l=$1
	[ "$l" -lt 1 ] && l=1
	echo "$l"
}

# run NAME CAP CMD...: runs CMD under timeout (CAP seconds or the rest of the
# budget), output to $out/NAME.log; sets rc (124: timed out) and limit.
run() {
	local name=$1 cap=$2
	shift 2
	current=$name
	limit=$(left "$cap")
	skipped=0
	if [ $((deadline - SECONDS - reserve)) -lt 3 ]; then
		rc=124
		skipped=1
		echo "not run: the budget was spent" >"$out/$name.log"
		return
	fi
	timeout -k 5 "$limit" "$@" >"$out/$name.log" 2>&1 &
	child=$!
	wait "$child"
	rc=$?
	child=""
}

# check NAME CAP TESTREGEXP: runs one test of the check binary and records
# its verdict ("verdict: ..." line) or why there is none.
check() {
	local name=$1 cap=$2 test=$3
	say "== $name (at most $(left "$cap") s)"
	run "$name" "$cap" "$here/gpucheck.test" -test.run "$test" -test.v -test.timeout "$(($(left "$cap") + 30))s" \
		-profile "$profile" -out "$out"
	local v
	v=$(grep -o 'verdict: .*' "$out/$name.log" | tail -1 | sed 's/^verdict: //')
	grep -E '^ +[a-z_]+_test\.go:[0-9]+: (device|module|also loads|the JIT)' "$out/$name.log" | sed 's/^ *[a-z_]*_test\.go:[0-9]*: /   /' | tee -a "$summary"
	if [ "$rc" -eq 0 ] && [ "${v#ok}" != "$v" ]; then
		say "   $v"
		return 0
	fi
	if [ "$skipped" = 1 ]; then
		v="not run: the budget was spent"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		v="timed out after $limit s${v:+ (last verdict: $v)}"
	elif [ -z "$v" ]; then
		v="exit $rc: $(grep -v '^\s*$' "$out/$name.log" | tail -3 | tr '\n' ' ')"
	fi
	v=${v#FAIL: }
	say "   FAIL: $v"
	grep -E '^ +[A-Za-z0-9_]+\.go:[0-9]+: ' "$out/$name.log" | grep -vE 'verdict:|, 0 failed$|[a-z]+_test\.go:[0-9]+: (device|module|also loads|the JIT)' |
		head -8 | cut -c1-400 | tee -a "$summary"
	fails+=("$name: $v")
	return 1
}

say "gpu-check.sh: kit $kit_commit, backend $backend, profile $profile, budget $budget s, files in $out"
say "== versions"
{
	if command -v nvidia-smi >/dev/null; then
		timeout "$(left 20)" nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/   nvidia-smi: /'
		timeout "$(left 20)" nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | sed 's/^/   /'
	else
		echo "   nvidia-smi: not found"
	fi
	echo "   libcuda: $( (ldconfig -p 2>/dev/null | grep -o 'libcuda\.so\.1 .*' | head -1) || true)"
	echo "   glibc: $(ldd --version 2>/dev/null | head -1)"
	echo "   kernel: $(uname -r), $(nproc) CPUs"
} | tee -a "$summary"
# The Python with PyTorch: $PYTHON if set, else python3 from $PATH, else
# Debian's /usr/bin/python3.
python=""
torch_why="no python3"
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	command -v "$p" >/dev/null || continue
	if torch_why=$(timeout "$(left 60)" "$p" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), "GPU available:", torch.cuda.is_available())' 2>&1); then
		python=$(command -v "$p")
		say "   $python ($("$p" --version 2>&1)): $(echo "$torch_why" | tail -1)"
		break
	fi
	torch_why="$p: $(echo "$torch_why" | tail -1)"
done
[ -n "$python" ] || say "   PyTorch: not found ($torch_why)"

# The module must load; nothing else can run otherwise.
if ! check device 90 '^TestDevice$'; then
	grep -A40 'JIT error log' "$out/device.log" | head -40 | tee -a "$summary"
	finish
fi
if [ "$profile" = full ]; then
	check kernels 240 '^TestKernels$'
else
	check kernels 120 '^TestKernels$'
fi
check conformance 120 '^TestConformance$'
check steps 150 '^TestSteps$'

# Speed: suture bench beside PyTorch on the same shapes.
say "== bench (at most $(left 600) s)"
bench_args=(bench --backend "$backend" --scale "$scale")
if [ "$profile" = emu ]; then
	bench_args+=(--reps 1 --warmup 1)
fi
if [ -n "$python" ]; then
	bench_args+=(--vs-torch --python "$python" --torch-script "$here/torch_gpu_bench.py")
elif [ "$profile" = full ]; then
	fails+=("bench: no Python with PyTorch ($torch_why): no PyTorch comparison")
else
	notes+=("no PyTorch comparison: no Python with PyTorch ($torch_why)")
fi
run bench 600 "$here/suture" "${bench_args[@]}"
sed 's/^/   /' "$out/bench.log" | tee -a "$summary"
if [ "$skipped" = 1 ]; then
	fails+=("bench: not run: the budget was spent")
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	fails+=("bench: timed out after $limit s (the figures so far are above)")
elif [ "$rc" -ne 0 ]; then
	fails+=("bench: exit $rc: $(grep -v '^\s*$' "$out/bench.log" | tail -1)")
fi

# Targets (with PyTorch): conv layers >= 0.7x cuDNN FP32, the U-Net training
# step >= 0.8x and the double-batched stitch step >= 1.2x PyTorch eager (FP32,
# TF32 off). For the record; they do not decide PASS. (On the emulator the
# ratios mean nothing; they are printed so the script's own test covers this.)
if grep -q 'torch fp32' "$out/bench.log"; then
	[ "$profile" = full ] || say "(targets on the emulator against PyTorch on the CPU: meaningless ratios)"
	awk '
		/torch fp32/ { table = 1; next }
		table && NF >= 4 && $4 ~ /x$/ {
			r = $4; sub(/x$/, "", r)
			if ($1 ~ /^conv/) { n++; if (min == "" || r + 0 < min) min = r + 0; if (max == "" || r + 0 > max) max = r + 0; if (r + 0 < 0.7) miss++ }
			if ($1 == "unet/train") unet = r
			if ($1 == "stitch/double") st = r
		}
		END {
			if (n) {
				how = "met"
				if (miss) how = sprintf("missed at %d of %d", miss, n)
				printf "targets: conv layers %.2f-%.2fx cuDNN FP32 (>= 0.7: %s)\n", min, max, how
			}
			if (unet != "") {
				how = "met"
				if (unet + 0 < 0.8) how = "missed"
				printf "targets: unet/train %.2fx PyTorch eager (>= 0.8: %s)\n", unet, how
			}
			if (st != "") {
				how = "met"
				if (st + 0 < 1.2) how = "missed"
				printf "targets: stitch/double %.2fx PyTorch eager (>= 1.2: %s)\n", st, how
			}
		}' "$out/bench.log" | tee -a "$summary"
fi
finish
