#!/bin/sh
# make demo-cluster: the --quick experiment run through a NATS JetStream
# queue on this machine, as two hospitals would run it: `suture queue
# serve`, one worker per site holding only that site's data, the
# coordinator (which holds no data) offering the jobs. Prints the report's
# main table, then stops everything it started. Files stay in
# demo-cluster-out/ (the report in demo-cluster-out/report/).
set -eu
BIN=${BIN:-bin/suture}
OUT=${OUT:-demo-cluster-out}
rm -rf "$OUT"
mkdir -p "$OUT"
pids=""
stop() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

# Each site's data, in its own folder (the synthetic parties, 48 images of
# 16 pixels: what --quick uses).
"$BIN" data synth --party a --n 48 --size 16 --out "$OUT/site-a/data" >/dev/null
"$BIN" data synth --party b --n 48 --size 16 --out "$OUT/site-b/data" >/dev/null

# The server, on a free loopback port.
"$BIN" queue serve --listen 127.0.0.1:0 --store "$OUT/nats" >"$OUT/server.log" 2>&1 &
pids="$!"
url=""
for _ in $(seq 1 100); do
	url=$(sed -n 's/^serving NATS with JetStream on \([^ ]*\) .*/\1/p' "$OUT/server.log")
	[ -n "$url" ] && break
	sleep 0.1
done
if [ -z "$url" ]; then
	cat "$OUT/server.log"
	echo "demo-cluster: the NATS server did not start" >&2
	exit 1
fi
echo "NATS server with JetStream at $url"

# One worker per site, each told only where its own party's data is.
for site in a b; do
	"$BIN" worker --queue "$url" --name "site-$site" --party "$site=$OUT/site-$site/data" --cache "$OUT/site-$site/cache" \
		>"$OUT/site-$site/worker.log" 2>&1 &
	pids="$pids $!"
	echo "worker site-$site: party $site's data only (log: $OUT/site-$site/worker.log)"
done

# The plan: no site holds both parties' data, so pooled training (a + b)
# is left out.
"$BIN" experiment plan --a "$OUT/site-a/data" --b "$OUT/site-b/data" --quick --drop 'a + b' --no-estimate \
	--name demo-cluster --out "$OUT/plan.json" >/dev/null
"$BIN" experiment run --plan "$OUT/plan.json" --queue "$url" --dir "$OUT/results" >"$OUT/run.log" 2>&1 || {
	tail -20 "$OUT/run.log"
	exit 1
}
tail -1 "$OUT/run.log"
"$BIN" experiment report --dir "$OUT/results" --out "$OUT/report" >/dev/null
echo
sed -n '/^## Every approach on both test sets/,/^HD95 in pixels/p' "$OUT/report/report.md"
echo
echo "jobs per worker: $(grep -c '] .* done by site-a ' "$OUT/run.log") by site-a, $(grep -c '] .* done by site-b ' "$OUT/run.log") by site-b"
echo "full report: $OUT/report/report.md"
