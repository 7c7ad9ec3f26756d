#!/usr/bin/env bash
# Recomputes finished jobs of a plan's run from scratch and compares what
# they write with the first computation, file by file. Usage, from anywhere
# in the repository, after bench/eval/run.sh PLAN has finished:
#   bench/eval/recompute-check.sh PLAN 'fold 0: finetune b -> a' 'fold 0: sweep a <-[a]-> b' ...
# Each named job's folder is moved aside (to FOLDER.first), the plan is run
# again with the same pinned binary and workers (only those jobs are not
# done, so only they run), and then:
#   - checkpoints (*.ckpt) are compared through `suture export safetensors`
#     (the weights and the network's plans; a checkpoint also records
#     seconds of training time, which differ from run to run);
#   - log.csv is compared without its seconds column;
#   - done.json (times) and lock files are skipped; every other file must be
#     identical byte for byte.
# BIN=PATH picks the binary (run.sh takes it too; default: one built from
# the current commit). Prints one line per file and exits non-zero on any
# difference.
set -euo pipefail
plan=${1:?usage: bench/eval/recompute-check.sh PLAN JOB-ID...}
shift
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-/work/runs/$plan}
bin=${BIN:-"$(dirname "$RESULTS")/suture-$(git rev-parse --short HEAD)"}
[ -x "$bin" ] || go build -o "$bin" ./cmd/suture
dirs=()
for id in "$@"; do
  d=$(python3 -c 'import json,sys,glob,os
for f in sorted(glob.glob(sys.argv[1] + "/jobs/*/*/done.json")):
    if json.load(open(f))["id"] == sys.argv[2]: print(os.path.dirname(f)); break' "$RESULTS" "$id")
  [ -n "$d" ] || { echo "recompute-check: no finished job \"$id\" in $RESULTS" >&2; exit 2; }
  [ ! -e "$d.first" ] || { echo "recompute-check: $d.first exists (an earlier check?); move it away first" >&2; exit 2; }
  mv "$d" "$d.first"
  dirs+=("$d")
done
echo "== $(date -u +%FT%TZ) recomputing ${#dirs[@]} job(s) with $bin"
"$(dirname "$0")/run.sh" "$plan"
bad=0
tmp=$(mktemp -d)
for d in "${dirs[@]}"; do
  secs() { sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p' "$1"; }
  echo "== $(basename "$d"): $(secs "$d.first/done.json") s first, $(secs "$d/done.json") s now"
  for f in "$d.first"/*; do
    n=$(basename "$f")
    case "$n" in
      done.json|.lock|.job.lock) continue ;;
    esac
    g="$d/$n"
    if [ ! -e "$g" ]; then echo "MISSING  $n"; bad=1; continue; fi
    case "$n" in
      *.ckpt)
        "$bin" export safetensors --model "$f" --out "$tmp/a.safetensors" --force >/dev/null
        "$bin" export safetensors --model "$g" --out "$tmp/b.safetensors" --force >/dev/null
        a="$tmp/a.safetensors"; b="$tmp/b.safetensors" ;;
      log.csv)
        cut -d, -f1-4 "$f" > "$tmp/a.csv"; cut -d, -f1-4 "$g" > "$tmp/b.csv"
        a="$tmp/a.csv"; b="$tmp/b.csv" ;;
      *) a="$f"; b="$g" ;;
    esac
    if cmp -s "$a" "$b"; then echo "same     $n"; else echo "DIFFERS  $n"; bad=1; fi
  done
done
rm -rf "$tmp"
exit $bad
