#!/usr/bin/env bash
# redis-benchmark against the key/value service as real processes (a 3-server kvcluster,
# through the leader's Redis port), beside a real redis-server on the same machine in the same
# run: once with its defaults (in memory, no fsync per write) and once with every write
# fsync'ed to its append-only file. Rounds alternate between the three, so that a load change
# on a shared machine hits them alike. Prints one CSV line per system, round and test.
#
#   kvnet/scripts/redis-benchmark.sh            # 3 rounds of -t set,get -n 100000 -c 50
#   ROUNDS=1 REQUESTS=20000 kvnet/scripts/redis-benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3}
requests=${REQUESTS:-100000}
clients=${CLIENTS:-50}
for tool in redis-benchmark redis-server redis-cli; do
    command -v "$tool" >/dev/null || {
        echo "needs $tool (Debian: apt-get install redis-tools redis-server)"
        exit 1
    }
done
cargo build --release --quiet -p kvnet
kvcluster=target/release/kvcluster
work=$(mktemp -d)
redis_pid=""
cleanup() {
    for d in "$work"/cluster-*; do [ -d "$d" ] && "$kvcluster" stop --dir "$d" >/dev/null 2>&1 || true; done
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bench() { # LABEL PORT
    redis-benchmark -p "$2" -t set,get -n "$requests" -c "$clients" --csv 2>/dev/null \
        | grep -v '^"test"' | sed "s/^/\"$1\",$round,/"
}

start_redis() { # PORT ARGS...
    local port=$1
    shift
    redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" "$@" \
        --daemonize no --logfile "$work/redis-$port.log" &
    redis_pid=$!
    until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.05; done
}

stop_redis() {
    kill "$redis_pid" && wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
}

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $requests requests, $clients clients"
echo '"system","round","test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"'
for round in $(seq 1 "$rounds"); do
    dir="$work/cluster-$round"
    "$kvcluster" start 3 --dir "$dir" >/dev/null
    leader=""
    for _ in $(seq 1 200); do
        leader=$("$kvcluster" status --dir "$dir" | awk '$4 == "leader" { split($6, a, ":"); print a[2] }')
        [ -n "$leader" ] && break
        sleep 0.05
    done
    [ -n "$leader" ] || { echo "no leader"; exit 1; }
    bench "kvraft, 3 kvservers, leader's port" "$leader"
    "$kvcluster" stop --dir "$dir" >/dev/null

    port=$(free_port)
    start_redis "$port" --appendonly no
    bench "redis-server, defaults (no fsync per write)" "$port"
    stop_redis

    port=$(free_port)
    start_redis "$port" --appendonly yes --appendfsync always --appendfilename "aof-$round"
    bench "redis-server, appendfsync always" "$port"
    stop_redis
done
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
