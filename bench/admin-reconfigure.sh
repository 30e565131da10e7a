#!/usr/bin/env bash
# Live reconfiguration through the Admin API, measured and under load:
#   1. with ROUTES routes stored, how long one route change takes to be answered (it is applied
#      to the proxy before the answer), median of CHANGES changes;
#   2. on a declarative node, how long POST /config of ROUTES routes takes, median of 5;
#   3. wrk drives the proxy for DURATION seconds while a route is changed every 100 ms; passes
#      when wrk saw no socket error and no non-2xx response.
#
#   bench/admin-reconfigure.sh              # builds konnect (release) first
#   KONNECT_BIN=/path/to/konnect ROUTES=10000 DURATION=60 bench/admin-reconfigure.sh
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUTES=${ROUTES:-10000}
CHANGES=${CHANGES:-20}
DURATION=${DURATION:-60}
ORIGIN_PORT=${ORIGIN_PORT:-19600}
PROXY_PORT=${PROXY_PORT:-19601}
ADMIN_PORT=${ADMIN_PORT:-19602}

for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx-light curl python3)"; exit 1; }
done
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
admin="127.0.0.1:$ADMIN_PORT"

mkdir -p "$work/origin/logs"
cat > "$work/origin/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/origin/nginx.pid;
error_log $work/origin/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$ORIGIN_PORT; location / { return 200 "ok\n"; } } }
CONF
nginx -p "$work/origin" -c "$work/origin/nginx.conf" -e "$work/origin/logs/stderr.log" &
pids+=($!)

# One service with /bench and ROUTES more routes, as a declarative file (YAML and JSON).
python3 - "$work" "$ORIGIN_PORT" "$ROUTES" <<'PY'
import json, sys
work, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
routes = [{"name": "bench", "paths": ["/bench"], "strip_path": False}]
routes += [{"name": f"r{i}", "paths": [f"/r{i}"]} for i in range(count)]
document = {"_format_version": "3.0",
            "services": [{"name": "origin", "url": f"http://127.0.0.1:{port}", "routes": routes}]}
open(f"{work}/routes.json", "w").write(json.dumps(document))
PY

wait_admin() { for _ in $(seq 300); do curl -s -o /dev/null "$admin/status" && return; sleep 0.1; done; echo "no Admin API"; exit 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. One change with ROUTES routes stored.
"$KONNECT_BIN" config apply "$work/routes.json" --data-dir "$work/data" >/dev/null
"$KONNECT_BIN" serve --data-dir "$work/data" --proxy-listen "127.0.0.1:$PROXY_PORT" --admin-listen "$admin" \
    --threads 2 --log-level warning > "$work/db.log" 2>&1 &
db=$!
pids+=($db)
wait_admin
middle=$((ROUTES / 2))
for i in $(seq "$CHANGES"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X PATCH "$admin/routes/r$middle" \
        -H 'Content-Type: application/json' -d "{\"paths\": [\"/changed-$i\"]}"
done > "$work/patch.times"
[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PROXY_PORT/changed-$CHANGES")" = 200 ] || { echo "change not applied"; exit 1; }
echo "one route change with $ROUTES routes stored: median $(median < "$work/patch.times") s over $CHANGES changes (PATCH answered after the proxy took it)"

# 3. A change every 100 ms under load (on the same node).
wrk -t1 -c50 -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$PROXY_PORT/bench" > "$work/wrk.out" 2>&1 &
wrk_pid=$!
changes=0 failed=0
end=$((SECONDS + DURATION - 1))
next=$(date +%s%N)
while ((SECONDS < end)); do
    # One change every 100 ms, counted from when each should start.
    next=$((next + 100000000))
    strip=$((changes % 2 == 0 ? 1 : 0))
    [[ $strip == 1 ]] && value=true || value=false
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$admin/routes/bench" \
        -H 'Content-Type: application/json' -d "{\"strip_path\": $value, \"tags\": [\"change-$changes\"]}")
    if [[ $code == 200 ]]; then changes=$((changes + 1)); else failed=$((failed + 1)); fi
    wait_ns=$((next - $(date +%s%N)))
    ((wait_ns > 0)) && sleep "$(awk -v n="$wait_ns" 'BEGIN { printf "%.3f", n / 1e9 }')"
done
wait "$wrk_pid"
requests=$(awk '/ requests in / { print $1 }' "$work/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$work/wrk.out")
socket=$(grep 'Socket errors' "$work/wrk.out" || true)
echo "changes under load: ${DURATION}s, $changes changes applied ($failed refused), $requests requests, non-2xx: ${non2xx:-0}, ${socket:-no socket errors}"
kill -TERM "$db"; wait "$db" || true

# 2. POST /config of ROUTES routes on a declarative node.
printf '_format_version: "3.0"\n' > "$work/empty.yaml"
"$KONNECT_BIN" serve --declarative "$work/empty.yaml" --proxy-listen "127.0.0.1:$PROXY_PORT" --admin-listen "$admin" \
    --threads 2 --log-level warning > "$work/dbless.log" 2>&1 &
pids+=($!)
wait_admin
for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "$admin/config" -H 'Content-Type: application/json' \
        --data-binary "@$work/routes.json"
done > "$work/post.times"
[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PROXY_PORT/r$((ROUTES - 1))")" = 200 ] || { echo "POST /config not applied"; exit 1; }
echo "POST /config of $ROUTES routes (JSON, $(wc -c < "$work/routes.json") bytes): median $(median < "$work/post.times") s over 5"

[[ -z ${non2xx:-} && -z $socket && $failed == 0 ]] || { echo "FAILED: requests or changes failed under reconfiguration"; exit 1; }
