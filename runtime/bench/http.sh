#!/usr/bin/env bash
# Events per second through the HTTP API of the real binary, measured from
# a second process: wrk with 32 keep-alive connections sends ping events to
# 32 leads of testdata/bench.lead (the workflow of the Go benchmarks),
# served by `lead run` with a fresh Badger store. Needs wrk (Debian: apt-get
# install wrk).
#
#	runtime/bench/http.sh [SECONDS] [CONNECTIONS]
#
# WARMUP=S sends load for S seconds before the measured run (a store past
# its first memtables and compactions); LEAD_BIN=path measures another
# build, for A/B runs; LEAD_ARGS adds flags to lead run (LEAD_ARGS=--no-reports
# measures the cost of the reports' counters).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-32}
addr=127.0.0.1:7499
command -v wrk >/dev/null || { echo "http.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
go build -o bin/lead ./cmd/lead
bin=${LEAD_BIN:-bin/lead}
tmp=$(mktemp -d)
"$bin" run --addr "$addr" --data "$tmp/data" ${LEAD_ARGS:-} runtime/bench/testdata/bench.lead 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
	curl -sf "http://$addr/v1/workflows" >/dev/null && break
	sleep 0.1
done
for i in $(seq 0 $((conns - 1))); do
	curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"id\":\"h$i\",\"fields\":{\"email\":\"x@y.example\"}}" "http://$addr/v1/workflows/bench/leads"
done
# The server's CPU time (user + system, in clock ticks) around the run
# gives its CPU cost per event: on a small machine wrk competes with the
# server for the same cores, so that cost, more than any wait, bounds the
# rate.
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
if [ "${WARMUP:-0}" -gt 0 ]; then
	LEADS=$conns wrk -t2 -c"$conns" -d"${WARMUP}s" -s runtime/bench/events.lua "http://$addr" >/dev/null
fi
before=$(ticks)
LEADS=$conns wrk -t"$(( conns < 2 ? conns : 2 ))" -c"$conns" -d"${secs}s" --latency -s runtime/bench/events.lua "http://$addr" | tee "$tmp/wrk"
after=$(ticks)
requests=$(awk '/requests in/ {print $1}' "$tmp/wrk")
curl -sf "http://$addr/metrics" | awk '/^lead_commit_batch_steps_sum/ {s=$2} /^lead_commit_batch_steps_count/ {n=$2} END {printf "Steps per group commit: %.1f\n", s/n}'
awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
	'BEGIN { printf "Server CPU per event: %.1f µs\n", t / hz / n * 1e6 }'
