#!/usr/bin/env bash
# Reload under load: wrk drives Konnect for DURATION while the declarative file is rewritten and
# Konnect is sent SIGHUP every second, alternating two configurations that both serve /bench.
# Passes when wrk saw no socket error and no non-2xx response.
#
#   bench/reload-under-load.sh              # builds konnect (release) first
#   KONNECT_BIN=/path/to/konnect DURATION=60 bench/reload-under-load.sh
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-60}
ORIGIN_PORT=${ORIGIN_PORT:-19400}
KONNECT_PORT=${KONNECT_PORT:-19401}
THREADS=${THREADS:-2}

if [[ $EUID -eq 0 ]] && ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get install -y -qq wrk nginx-light >/dev/null
fi
if [[ -z ${KONNECT_BIN:-} ]]; then
    (cd "$REPO_DIR" && swift build -c release --product konnect >/dev/null)
    KONNECT_BIN="$REPO_DIR/.build/release/konnect"
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/origin/logs"
cat > "$work/origin/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/origin/nginx.pid;
error_log $work/origin/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ORIGIN_PORT;
        location / { return 200 "ok\n"; }
    }
}
CONF
nginx -p "$work/origin" -c "$work/origin/nginx.conf" -e "$work/origin/logs/stderr.log" &
pids+=($!)

write_config() {  # $1: variant 0 or 1
    {
        echo '_format_version: "3.0"'
        echo 'services:'
        echo "  - name: origin"
        echo "    url: http://127.0.0.1:$ORIGIN_PORT"
        echo "    routes:"
        echo "      - name: bench"
        echo "        paths: [/bench]"
        if [[ $1 == 1 ]]; then
            echo "        strip_path: false"
            for i in $(seq 0 199); do
                echo "      - name: extra-$i"
                echo "        paths: [/extra/$i]"
            done
        fi
    } > "$work/konnect.yaml.tmp"
    mv "$work/konnect.yaml.tmp" "$work/konnect.yaml"
}
write_config 0
"$KONNECT_BIN" serve --declarative "$work/konnect.yaml" --proxy-listen "127.0.0.1:$KONNECT_PORT" --admin-listen off \
    --threads "$THREADS" --log-level info > "$work/konnect.log" 2>&1 &
konnect=$!
pids+=($konnect)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$KONNECT_PORT/bench" && break; sleep 0.1; done

wrk -t1 -c50 -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$KONNECT_PORT/bench" > "$work/wrk.out" 2>&1 &
wrk_pid=$!
reloads=0
for second in $(seq 1 "$DURATION"); do
    sleep 1
    kill -0 "$wrk_pid" 2>/dev/null || break
    write_config $((second % 2))
    kill -HUP "$konnect"
    reloads=$((reloads + 1))
done
wait "$wrk_pid"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
non2xx=$(awk -F': ' '/Non-2xx/ {print $2}' "$work/wrk.out")
socket_errors=$(grep -o 'Socket errors:.*' "$work/wrk.out" || true)
# Each "configuration applied" line is a reload that took effect (start-up does not log one).
applied=$(( $(grep -c 'configuration applied' "$work/konnect.log" || true) ))
echo "reload under load: ${DURATION}s, $reloads SIGHUP reloads ($applied applied), $requests requests," \
    "non-2xx: ${non2xx:-0}, ${socket_errors:-no socket errors}"
cat "$work/wrk.out"
if [[ -n $non2xx || -n $socket_errors ]]; then
    echo "FAILED: requests failed during reloads"
    exit 1
fi
