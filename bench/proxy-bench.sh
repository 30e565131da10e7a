#!/usr/bin/env bash
# Side-by-side proxy benchmark: Konnect and nginx, both in front of the same nginx origin.
#
#   bench/proxy-bench.sh                      # builds konnect (release) first
#   KONNECT_BIN=/path/to/konnect bench/proxy-bench.sh
#
# Everything listens on 127.0.0.1. Generated configs, logs and the sparse 2 GB file live in a
# temporary directory that is removed on exit; every process started here is stopped on exit.
# The markdown results go to stdout and to bench/results/latest.md.
#
# Tunables (environment): THREAD_COUNTS ("1 2"), ROUNDS (5), DURATION (10s), WARMUP (2s), CONNECTIONS (50),
# PLUGIN_ROUNDS (8), PLUGIN_DURATION (4s), PAIR_ROUNDS (5), IDLE_CONNECTIONS (5000), ROUTE_COUNTS ("10 10000"), BIG_SIZE (2G), ORIGIN_PORT (19100),
# SINK_PORT (19110), REDIS_PORT (19120), NGINX_PORT (19200), KONNECT_PORT (19300; the paired plugin-cost runs also
# take the port after it).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
RESULTS_DIR="$BENCH_DIR/results"

THREAD_COUNTS=${THREAD_COUNTS:-"1 2"}
# nginx and Konnect are measured in turn this many times per thread count; the tables show medians.
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-50}
# Rounds of the plugin-cost runs, where Konnect has a core of its own, and the length of each run.
PLUGIN_ROUNDS=${PLUGIN_ROUNDS:-8}
PLUGIN_DURATION=${PLUGIN_DURATION:-4s}
# Rounds of the paired plugin-cost runs (two Konnect processes measured at the same time).
PAIR_ROUNDS=${PAIR_ROUNDS:-5}
WRK_THREADS=${WRK_THREADS:-1}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-5000}
ROUTE_COUNTS=${ROUTE_COUNTS:-"10 10000"}
BIG_SIZE=${BIG_SIZE:-2G}
ORIGIN_PORT=${ORIGIN_PORT:-19100}
SINK_PORT=${SINK_PORT:-19110}
REDIS_PORT=${REDIS_PORT:-19120}
NGINX_PORT=${NGINX_PORT:-19200}
KONNECT_PORT=${KONNECT_PORT:-19300}
HOST=127.0.0.1
# The key of the consumer that may use /key-auth.
BENCH_KEY=bench-key-0123456789abcdef
# The key of the consumer in the group "gold", whose rate limit applies on /tier.
TIER_KEY=tier-key-0123456789abcdef
# The origin's response body: 50 bytes.
BODY='origin says hello: this body is fifty bytes long.'
BODY_BYTES=$((${#BODY} + 1))

# Shared helpers: logging, processes stopped on exit, tools, /proc readings, medians.
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# Checks that url answers 200 with the origin's body.
check_body() {
    local url=$1 out
    out=$(curl -s --max-time 5 -w '\n%{http_code}' "$url") || return 1
    [[ $out == "$BODY"$'\n'$'\n'200 ]]
}

# ---------------------------------------------------------------------------------------------
# Configuration files.
write_origin_config() {
    local dir=$WORK/origin
    mkdir -p "$dir" "$WORK/big"
    truncate -s "$BIG_SIZE" "$WORK/big/file.bin"
    chmod 755 "$WORK" "$WORK/big" && chmod 644 "$WORK/big/file.bin"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $WORK/logs/origin-error.log warn;
events { worker_connections $((NOFILE / 2)); }
http {
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    sendfile on;
    default_type text/plain;
    server {
        listen $HOST:$ORIGIN_PORT backlog=4096;
        location / { return 200 "$BODY\n"; }
        location /big/ { alias $WORK/big/; }
        # Answers at once and discards the body in the background.
        location = /early-upload {
            client_max_body_size 0;
            return 200 "uploaded\n";
        }
    }
}
EOF
}

write_nginx_proxy_config() {
    local threads=$1 dir=$WORK/nginx-$1
    mkdir -p "$dir"
    # The same request headers Konnect adds upstream, and the same keep-alive limits on both sides.
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $threads;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $WORK/logs/nginx-$threads-error.log warn;
events { worker_connections $((NOFILE / 2)); }
http {
    access_log off;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    upstream origin {
        server $HOST:$ORIGIN_PORT;
        keepalive 64;
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }
    server {
        listen $HOST:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
            proxy_set_header X-Forwarded-Path \$request_uri;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header Via "1.1 nginx";
            add_header Via "1.1 nginx";
        }
        # Streams request bodies like Konnect does, instead of buffering them to a temp file.
        location /early-upload {
            client_max_body_size 0;
            proxy_request_buffering off;
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

# Konnect's declarative file: the bench route plus $1 generated prefix routes /r0 ... /r<n-1>.
write_konnect_config() {
    local file=$1 extra_routes=$2
    {
        printf '_format_version: "3.0"\nservices:\n  - name: origin\n    url: http://%s:%s\n    routes:\n' "$HOST" "$ORIGIN_PORT"
        printf '      - name: bench\n        paths: ["/bench"]\n        strip_path: false\n'
        # The same route behind key-auth and acl (issue #4's benchmark).
        printf '      - name: key-auth\n        paths: ["/key-auth"]\n        strip_path: false\n'
        printf '        plugins:\n          - name: key-auth\n          - name: acl\n            config: {allow: [bench]}\n'
        # The same route behind rate-limiting, local policy, with a limit never reached (issue #5's benchmark).
        printf '      - name: rate-local\n        paths: ["/rate-local"]\n        strip_path: false\n'
        printf '        plugins:\n          - name: rate-limiting\n            config: {minute: 1000000000, limit_by: ip}\n'
        # And with rate-limiting's redis policy, against the redis-server started here.
        printf '      - name: rate-redis\n        paths: ["/rate-redis"]\n        strip_path: false\n'
        printf '        plugins:\n          - name: rate-limiting\n            config: {minute: 1000000000, limit_by: ip, policy: redis, fault_tolerant: false, redis: {host: %s, port: %s}}\n' "$HOST" "$REDIS_PORT"
        # And behind proxy-cache: after the first request, every one is a hit (issue #5's benchmark).
        printf '      - name: cache-hit\n        paths: ["/cache-hit"]\n        strip_path: false\n'
        printf '        plugins:\n          - name: proxy-cache\n            config: {content_type: ["*/*"], cache_ttl: 3600}\n'
        # key-auth, with the rate limit of the consumer's group (a tier): a plugin scoped to a
        # consumer group, in the file, makes every identified request look up its consumer's plugins.
        printf '      - name: tier\n        paths: ["/tier"]\n        strip_path: false\n'
        printf '        plugins:\n          - name: key-auth\n'
        printf '      - name: big\n        paths: ["/big/"]\n        strip_path: false\n'
        printf '      - name: early-upload\n        paths: ["/early-upload"]\n        strip_path: false\n'
        awk -v n="$extra_routes" 'BEGIN {
            for (i = 0; i < n; i++)
                printf "      - name: r%d\n        paths: [\"/r%d\"]\n        strip_path: false\n", i, i
        }'
        printf '  - name: sink\n    url: http://%s:%s\n    routes:\n' "$HOST" "$SINK_PORT"
        printf '      - name: upload\n        paths: ["/upload"]\n        strip_path: false\n'
        printf 'consumers:\n  - username: bench\n    keyauth_credentials: [{key: %s}]\n    acls: [{group: bench}]\n' "$BENCH_KEY"
        printf '  - username: tier-bench\n    keyauth_credentials: [{key: %s}]\n    groups: [gold]\n' "$TIER_KEY"
        printf 'consumer_groups:\n  - name: gold\n    plugins:\n      - name: rate-limiting\n'
        printf '        config: {minute: 1000000000, limit_by: consumer}\n'
    } >"$file"
}

# ---------------------------------------------------------------------------------------------
# Process start-up. Each sets the named variable to the PID.
start_nginx() {
    local var=$1 dir=$2 port=$3 pid
    port_free "$port" || die "port $port on $HOST is already in use"
    nginx -e "$WORK/logs/$(basename "$dir")-stderr.log" -p "$dir" -c "$dir/nginx.conf" \
        >>"$WORK/logs/$(basename "$dir")-stdout.log" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    wait_ready "http://$HOST:$port/bench" "$pid" 15 ||
        die "nginx in $dir did not answer 200 on port $port: $(tail -5 "$WORK/logs/"*"$(basename "$dir")"*error.log 2>/dev/null)"
    printf -v "$var" '%s' "$pid"
}

KONNECT_RUNS=0
start_konnect() {
    local var=$1 config=$2 threads=$3 pid logfile
    KONNECT_RUNS=$((KONNECT_RUNS + 1))
    logfile="$WORK/logs/konnect-$KONNECT_RUNS-t$threads-$(basename "$config" .yaml).log"
    port_free "$KONNECT_PORT" || die "port $KONNECT_PORT on $HOST is already in use"
    "${KONNECT_PIN[@]}" "$KONNECT_BIN" serve --declarative "$config" --proxy-listen "$HOST:$KONNECT_PORT" --admin-listen off \
        --threads "$threads" --log-level warning >"$logfile" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    KONNECT_STARTED_AT=$(date +%s.%N)
    if ! wait_ready "http://$HOST:$KONNECT_PORT/bench" "$pid" 60; then
        log "konnect log ($logfile):"
        tail -20 "$logfile" >&2 || true
        die "konnect did not answer 200 on /bench within 60s (config $config, threads $threads)"
    fi
    KONNECT_READY_SECONDS=$(awk -v a="$KONNECT_STARTED_AT" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    printf -v "$var" '%s' "$pid"
}

# ---------------------------------------------------------------------------------------------
# Load runs.

# Extra wrk arguments (a request header) for the next runs.
WRK_EXTRA=()
# A command that wrk and Konnect are started under (taskset), for the plugin-cost runs.
WRK_PIN=()
KONNECT_PIN=()

# run_wrk URL PID...: warm-up, then a measured run. Sets W_RPS W_P50 W_P99 W_REQUESTS W_CPU_US
# W_USER_US W_CORES W_ERRORS; the raw wrk output goes to the logs.
WRK_RUNS=0
run_wrk() {
    local url=$1 out before after user_before user_after t0 t1 seconds non2xx socket_errors
    shift
    WRK_RUNS=$((WRK_RUNS + 1))
    timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${WRK_EXTRA[@]}" "$url" >/dev/null
    before=$(cpu_ticks "$@") user_before=$(user_ticks "$@")
    t0=$(date +%s.%N)
    out=$(timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency "${WRK_EXTRA[@]}" "$url")
    t1=$(date +%s.%N)
    after=$(cpu_ticks "$@") user_after=$(user_ticks "$@")
    printf '%s\n%s\n' "$url" "$out" >"$WORK/logs/wrk-$WRK_RUNS.txt"
    W_REQUESTS=$(awk '/ requests in / { print $1; exit }' <<<"$out")
    W_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    W_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    W_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    socket_errors=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' <<<"$out")
    W_ERRORS=""
    [[ -n $non2xx ]] && W_ERRORS="non-2xx: $non2xx"
    [[ -n $socket_errors ]] && W_ERRORS="${W_ERRORS:+$W_ERRORS; }socket errors: $socket_errors"
    W_ERRORS=${W_ERRORS:-none}
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    W_CPU_US=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$W_REQUESTS" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }')
    W_USER_US=$(awk -v t=$((user_after - user_before)) -v hz="$CLK_TCK" -v n="$W_REQUESTS" \
        'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "n/a" }')
    W_CORES=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v s="$seconds" 'BEGIN { printf "%.2f", t / hz / s }')
    [[ $W_ERRORS == none ]] || NOTES+=("wrk against $url: $W_ERRORS (see log wrk-$WRK_RUNS.txt)")
}

# idle_hold PORT PID...: sets I_RSS_KIB and I_SUMMARY.
idle_hold() {
    local port=$1 out pid args=()
    shift
    for pid in "$@"; do args+=(--pid "$pid"); done
    if out=$(timeout 300 python3 "$BENCH_DIR/idle_connections.py" --host "$HOST" --port "$port" \
        --count "$IDLE_CONNECTIONS" "${args[@]}" --hold 3 2>"$WORK/logs/idle-$port.err"); then
        I_RSS_KIB=$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' <<<"$out")
        I_SUMMARY=ok
    else
        I_RSS_KIB=$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' <<<"$out")
        I_SUMMARY="FAILED: ${out:-no output} $(head -3 "$WORK/logs/idle-$port.err" | tr '\n' ' ')"
        NOTES+=("idle connections on port $port: $I_SUMMARY")
    fi
    log "idle connections on port $port: $out"
}

# ---------------------------------------------------------------------------------------------
# The routes the plugin-cost sections compare with the bare route; the first is the bare route
# itself, the control.
PLUGIN_ROUTE_NAMES=("bare route again (the control)" "key-auth + acl" "rate-limiting (local)" "rate-limiting (redis)" "proxy-cache (hits)"
    "key-auth + the consumer group's rate-limiting")
PLUGIN_ROUTE_PATHS=(/bench /key-auth /rate-local /rate-redis /cache-hit /tier)

# The header a route needs (the key of its consumer), or nothing.
route_key_header() {
    case $1 in
    */key-auth) echo "apikey: $BENCH_KEY" ;;
    */tier) echo "apikey: $TIER_KEY" ;;
    esac
}

# Leaves core 0 to Konnect: the origin, redis-server and wrk go to the other cores. Fails (and
# nothing moves) on a one-core machine. Uses main's origin_pid and redis_pid.
leave_core_zero() {
    local pid cores
    cores=$(nproc)
    ((cores >= 2)) || return 1
    for pid in $(nginx_pids "$origin_pid") "$redis_pid"; do taskset -apc "1-$((cores - 1))" "$pid" >/dev/null; done
    WRK_PIN=(taskset -c "1-$((cores - 1))")
}

# Prints a Markdown table (header line, alignment line, then the rows given after them), or
# the note when there are no rows (a section that was skipped).
table_or_note() {
    local header=$1 align=$2 note=$3
    shift 3
    if (($# > 0)); then
        echo "$header"
        echo "$align"
        printf '%s\n' "$@"
    else
        echo "$note"
    fi
}

# Starts a Konnect of one thread on core 0 (left to it by leave_core_zero), on KONNECT_PORT;
# its pid goes in the variable named $1.
start_konnect_on_core_zero() {
    KONNECT_PIN=(taskset -c 0)
    start_konnect "$1" "$WORK/konnect-bench.yaml" 1
    KONNECT_PIN=()
}

# Undoes leave_core_zero.
share_all_cores() {
    local pid
    WRK_PIN=()
    for pid in $(nginx_pids "$origin_pid") "$redis_pid"; do taskset -apc "0-$(($(nproc) - 1))" "$pid" >/dev/null; done
}

# ---------------------------------------------------------------------------------------------
# Plugin cost: Konnect with one thread, alone on core 0; wrk, the origin and redis-server on the
# other cores. Konnect is then the busy party (about one core busy), so its CPU per request is
# its own work. In the runs above it shares cores with wrk and the origin, and how often it is
# woken, and how much each wake-up finds to do, moves with them (a plugin route whose response
# is longer makes wrk slower, for one). Even so the machine drifts by 10% and more within a
# minute, so every plugin route runs between two runs of the bare route and is compared with
# their mean: bare, route, bare, route, … bare, the routes in an order that turns from round to
# round. One of the "routes" is the bare route itself, the control: its ratio shows the noise.
# Sets PLUGIN_COST (table rows) and PLUGIN_COST_NOTE. Uses main's origin_pid and redis_pid.
plugin_cost() {
    local konnect_pid round i k key
    PLUGIN_COST=()
    PLUGIN_COST_NOTE=""
    if ! leave_core_zero; then
        PLUGIN_COST_NOTE="Skipped: the machine has one core."
        return
    fi
    start_konnect_on_core_zero konnect_pid
    # Shorter runs than above: less drift between a route and the bare runs around it.
    local DURATION=$PLUGIN_DURATION WARMUP=1s
    local -a names=("${PLUGIN_ROUTE_NAMES[@]}") paths=("${PLUGIN_ROUTE_PATHS[@]}")
    local n=${#paths[@]}
    # Indexed by round * n + route: the route's CPU, user CPU and cores busy, and the mean CPU
    # of the bare runs before and after it.
    local -a cpu=() user=() busy=() bare=() bare_all=()
    local before after
    for ((round = 0; round < PLUGIN_ROUNDS; round++)); do
        log "plugin cost, Konnect alone on core 0: round $((round + 1)) of $PLUGIN_ROUNDS"
        run_wrk "http://$HOST:$KONNECT_PORT/bench" "$konnect_pid"
        before=$W_CPU_US
        bare_all+=("$W_CPU_US")
        for ((k = 0; k < n; k++)); do
            i=$(((k + round) % n))
            key=$(route_key_header "${paths[i]}")
            [[ -n $key ]] && WRK_EXTRA=(-H "$key")
            run_wrk "http://$HOST:$KONNECT_PORT${paths[i]}" "$konnect_pid"
            WRK_EXTRA=()
            cpu[round * n + i]=$W_CPU_US user[round * n + i]=$W_USER_US busy[round * n + i]=$W_CORES
            run_wrk "http://$HOST:$KONNECT_PORT/bench" "$konnect_pid"
            after=$W_CPU_US
            bare_all+=("$W_CPU_US")
            bare[round * n + i]=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", (a + b) / 2 }')
            before=$after
        done
    done
    kill -0 "$konnect_pid" 2>/dev/null || die "konnect exited during the plugin-cost runs"
    stop_pid "$konnect_pid"
    share_all_cores

    PLUGIN_COST+=("| bare route | \`/bench\` | $(median "${bare_all[@]}") | | | | |")
    local -a c=() u=() b=() r=()
    for ((i = 0; i < n; i++)); do
        c=() u=() b=() r=()
        for ((round = 0; round < PLUGIN_ROUNDS; round++)); do
            c+=("${cpu[round * n + i]}") u+=("${user[round * n + i]}") b+=("${busy[round * n + i]}")
            r+=("$(awk -v a="${cpu[round * n + i]}" -v b="${bare[round * n + i]}" 'BEGIN { printf "%.3f", a / b }')")
        done
        PLUGIN_COST+=("| ${names[i]} | \`${paths[i]}\` | $(median "${c[@]}") | $(median "${u[@]}") | **$(median "${r[@]}")** | $(median "${b[@]}") | ${r[*]} |")
    done
}

# Plugin cost, paired: the machine's drift is fast (the control above moves by 10% from one
# 4 s run to the next), so here the bare route and a plugin route are measured at the same time,
# by two Konnect processes of one thread each that share core 0 and so share whatever the machine
# does meanwhile. Each round measures a route twice, once on each process (A bare and B the
# route, then A the route and B bare), and takes the geometric mean of the two ratios, which
# cancels what differs between the processes. The control is the bare route on both.
# Sets PAIR_COST (table rows) and PAIR_COST_NOTE. Uses main's origin_pid and redis_pid.
pair_cost() {
    local pid_a pid_b round i
    PAIR_COST=()
    PAIR_COST_NOTE=""
    if ! leave_core_zero; then
        PAIR_COST_NOTE="Skipped: the machine has one core."
        return
    fi
    start_konnect_on_core_zero pid_a
    local port_a=$KONNECT_PORT KONNECT_PORT=$((KONNECT_PORT + 1))
    start_konnect_on_core_zero pid_b
    local port_b=$KONNECT_PORT
    local -a names=("${PLUGIN_ROUTE_NAMES[@]}") paths=("${PLUGIN_ROUTE_PATHS[@]}")
    local n=${#paths[@]}
    local -a ratios=()
    local first second
    for ((round = 0; round < PAIR_ROUNDS; round++)); do
        log "plugin cost, paired on core 0: round $((round + 1)) of $PAIR_ROUNDS"
        for ((i = 0; i < n; i++)); do
            run_pair "http://$HOST:$port_a/bench" "$pid_a" "http://$HOST:$port_b${paths[i]}" "$pid_b"
            first=$(awk -v a="$P_CPU1" -v b="$P_CPU2" 'BEGIN { print b / a }')
            run_pair "http://$HOST:$port_a${paths[i]}" "$pid_a" "http://$HOST:$port_b/bench" "$pid_b"
            second=$(awk -v a="$P_CPU1" -v b="$P_CPU2" 'BEGIN { print a / b }')
            ratios[round * n + i]=$(awk -v x="$first" -v y="$second" 'BEGIN { printf "%.3f", sqrt(x * y) }')
        done
    done
    kill -0 "$pid_a" 2>/dev/null && kill -0 "$pid_b" 2>/dev/null || die "konnect exited during the paired runs"
    stop_pid "$pid_a"
    stop_pid "$pid_b"
    share_all_cores

    local -a r=()
    for ((i = 0; i < n; i++)); do
        r=()
        for ((round = 0; round < PAIR_ROUNDS; round++)); do r+=("${ratios[round * n + i]}"); done
        PAIR_COST+=("| ${names[i]} | \`${paths[i]}\` | **$(median "${r[@]}")** | ${r[*]} |")
    done
}

# run_pair URL1 PID1 URL2 PID2: one wrk against each at the same time, after warm-ups; sets
# P_CPU1 and P_CPU2, each process's CPU µs per request. Errors go to NOTES.
run_pair() {
    local u1=$1 p1=$2 u2=$3 p2=$4 w b1 b2 a1 a2 f1 f2
    local -a x1=() x2=()
    local key1 key2
    key1=$(route_key_header "$u1") key2=$(route_key_header "$u2")
    [[ -n $key1 ]] && x1=(-H "$key1")
    [[ -n $key2 ]] && x2=(-H "$key2")
    WRK_RUNS=$((WRK_RUNS + 2))
    f1="$WORK/logs/wrk-$((WRK_RUNS - 1)).txt" f2="$WORK/logs/wrk-$WRK_RUNS.txt"
    timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d1s "${x1[@]}" "$u1" >/dev/null &
    w=$!
    timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d1s "${x2[@]}" "$u2" >/dev/null
    wait "$w"
    b1=$(cpu_ticks "$p1") b2=$(cpu_ticks "$p2")
    { echo "$u1"; timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$PLUGIN_DURATION" --timeout 5s "${x1[@]}" "$u1"; } >"$f1" &
    w=$!
    { echo "$u2"; timeout 120 "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$PLUGIN_DURATION" --timeout 5s "${x2[@]}" "$u2"; } >"$f2"
    wait "$w"
    a1=$(cpu_ticks "$p1") a2=$(cpu_ticks "$p2")
    P_CPU1=$(awk -v t=$((a1 - b1)) -v hz="$CLK_TCK" '/ requests in / { printf "%.3f", t / hz * 1e6 / $1 }' "$f1")
    P_CPU2=$(awk -v t=$((a2 - b2)) -v hz="$CLK_TCK" '/ requests in / { printf "%.3f", t / hz * 1e6 / $1 }' "$f2")
    local f
    for f in "$f1" "$f2"; do
        grep -qE 'Non-2xx|Socket errors' "$f" && NOTES+=("paired run $(head -1 "$f"): $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')(see $(basename "$f"))")
    done
    return 0
}

# ---------------------------------------------------------------------------------------------
# Streaming 2 GB through Konnect. Each sets S_PEAK_KIB S_BEFORE_KIB S_RESULT S_MBPS S_CPU (seconds).

# Direct download from the origin; the first read also pulls the sparse file into the page cache,
# so that the download through Konnect is not slowed by it.
direct_download_mbps() {
    local out
    out=$(curl -sS --max-time 300 -o /dev/null -w '%{size_download} %{time_total}' "http://$HOST:$ORIGIN_PORT/big/file.bin")
    out=$(curl -sS --max-time 300 -o /dev/null -w '%{size_download} %{time_total}' "http://$HOST:$ORIGIN_PORT/big/file.bin")
    awk -v b="${out% *}" -v s="${out#* }" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1048576; else print "n/a" }'
}
stream_download() {
    local pid=$1 out code bytes seconds ticks
    S_BEFORE_KIB=$(status_kib VmRSS "$pid")
    ticks=$(cpu_ticks "$pid")
    out=$(curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
        "http://$HOST:$KONNECT_PORT/big/file.bin" 2>&1) || true
    S_PEAK_KIB=$(status_kib VmHWM "$pid")
    S_CPU=$(awk -v t=$(($(cpu_ticks "$pid") - ticks)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    read -r code bytes seconds <<<"$out" || true
    S_MBPS=$(awk -v b="${bytes:-0}" -v s="${seconds:-0}" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1048576; else print "n/a" }')
    if [[ $code == 200 && $bytes == "$BIG_BYTES" ]]; then
        S_RESULT="200, $bytes bytes"
    else
        S_RESULT="FAILED: curl said '$out' (expected 200 and $BIG_BYTES bytes)"
        NOTES+=("download of $BIG_SIZE through Konnect: $S_RESULT")
    fi
}

# The upload goes to upload_sink.py, which reads the whole body before it answers "received N".
stream_upload() {
    local pid=$1 out code sent seconds answer ticks
    S_BEFORE_KIB=$(status_kib VmRSS "$pid")
    ticks=$(cpu_ticks "$pid")
    out=$(head -c "$BIG_BYTES" /dev/zero |
        curl -sS --max-time 300 -T - -o "$WORK/upload-answer.txt" -w '%{http_code} %{size_upload} %{time_total}' \
            "http://$HOST:$KONNECT_PORT/upload" 2>&1) || true
    S_PEAK_KIB=$(status_kib VmHWM "$pid")
    S_CPU=$(awk -v t=$(($(cpu_ticks "$pid") - ticks)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    read -r code sent seconds <<<"$out" || true
    answer=$(cat "$WORK/upload-answer.txt" 2>/dev/null || true)
    S_MBPS=$(awk -v b="$BIG_BYTES" -v s="${seconds:-0}" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1048576; else print "n/a" }')
    if [[ $code == 200 && $answer == "received $BIG_BYTES" ]]; then
        S_RESULT="200, origin received $BIG_BYTES body bytes (curl sent $sent bytes with chunk framing)"
    else
        S_RESULT="FAILED: curl said '$out', origin answered '$answer' (expected 200 and 'received $BIG_BYTES')"
        NOTES+=("upload of $BIG_SIZE through Konnect: $S_RESULT")
    fi
}

# early_upload PORT: $BIG_SIZE chunked upload to an origin that answers 200 before reading the body
# (nginx discards it in the background). Sets E_RESULT to what the client saw.
early_upload() {
    local port=$1 out rc code sent seconds
    out=$(head -c "$BIG_BYTES" /dev/zero |
        curl -sS --max-time 120 -T - -o /dev/null -w '%{http_code} %{size_upload} %{time_total}' \
            "http://$HOST:$port/early-upload" 2>"$WORK/early-$port.err") && rc=0 || rc=$?
    read -r code sent seconds <<<"$out" || true
    if ((rc == 0)) && [[ $code == 200 ]] && ((sent >= BIG_BYTES)); then
        E_RESULT="200, whole body sent"
    else
        E_RESULT="curl exit $rc, status ${code:-none}, $sent of $BIG_BYTES bytes sent in ${seconds}s"
        if [[ -s $WORK/early-$port.err ]]; then E_RESULT+=" ($(tr -d '\n' <"$WORK/early-$port.err"))"; fi
    fi
}

# ---------------------------------------------------------------------------------------------
main() {
    install_missing
    build_konnect
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    NOFILE=$(ulimit -n)
    ((NOFILE >= IDLE_CONNECTIONS + 1000)) || die "open-file limit $NOFILE is too low for $IDLE_CONNECTIONS connections"

    LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
    WORK=$(mktemp -d /tmp/konnect-bench.XXXXXX)
    mkdir -p "$WORK/logs" "$RESULTS_DIR"
    chmod 755 "$WORK/logs"
    NOTES=()
    BIG_BYTES=$(numfmt --from=iec "$BIG_SIZE")

    write_origin_config
    local origin_pid origin_worker
    start_nginx origin_pid "$WORK/origin" "$ORIGIN_PORT"
    origin_worker=$(pgrep -P "$origin_pid")
    check_body "http://$HOST:$ORIGIN_PORT/bench" || die "origin does not answer with the expected body"
    log "origin nginx pid $origin_pid (worker $origin_worker) on $HOST:$ORIGIN_PORT"
    local sink_pid
    port_free "$SINK_PORT" || die "port $SINK_PORT on $HOST is already in use"
    python3 "$BENCH_DIR/upload_sink.py" --host "$HOST" --port "$SINK_PORT" 2>"$WORK/logs/upload-sink.log" &
    sink_pid=$!
    STARTED_PIDS+=("$sink_pid")
    wait_ready "http://$HOST:$SINK_PORT/" "$sink_pid" 15 || die "upload_sink.py did not start on port $SINK_PORT"
    local redis_pid redis_bin
    redis_bin=$(command -v redis-server || echo /usr/bin/redis-server)
    port_free "$REDIS_PORT" || die "port $REDIS_PORT on $HOST is already in use"
    "$redis_bin" --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK" >"$WORK/logs/redis.log" 2>&1 &
    redis_pid=$!
    STARTED_PIDS+=("$redis_pid")
    sleep 0.5
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server did not start on port $REDIS_PORT"

    write_konnect_config "$WORK/konnect-bench.yaml" 0

    local threads nginx_pid konnect_pid
    local -a comparison=() ratios=() rounds=() memory=() behaviour=() plugins=()
    for threads in $THREAD_COUNTS; do
        write_nginx_proxy_config "$threads"
        start_nginx nginx_pid "$WORK/nginx-$threads" "$NGINX_PORT"
        start_konnect konnect_pid "$WORK/konnect-bench.yaml" "$threads"
        check_body "http://$HOST:$NGINX_PORT/bench" || die "nginx proxy does not relay the origin's body"
        check_body "http://$HOST:$KONNECT_PORT/bench" ||
            die "konnect does not relay the origin's body: $(curl -s -i --max-time 5 "http://$HOST:$KONNECT_PORT/bench" | head -20)"
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$HOST:$KONNECT_PORT/key-auth") == 401 ]] ||
            die "konnect lets /key-auth through without a key"
        [[ $(curl -s -H "apikey: $BENCH_KEY" "http://$HOST:$KONNECT_PORT/key-auth") == "$BODY" ]] ||
            die "konnect does not relay /key-auth with the consumer's key"
        curl -s -i -H "apikey: $TIER_KEY" "http://$HOST:$KONNECT_PORT/tier" | grep -qi '^x-ratelimit-remaining-minute:' ||
            die "konnect does not apply the consumer group's rate limit on /tier"
        curl -s -i "http://$HOST:$KONNECT_PORT/rate-local" | grep -qi '^x-ratelimit-remaining-minute:' ||
            die "konnect does not count /rate-local"
        curl -s -i "http://$HOST:$KONNECT_PORT/rate-redis" | grep -qi '^x-ratelimit-remaining-minute:' ||
            die "konnect does not count /rate-redis in Redis"
        curl -s -o /dev/null "http://$HOST:$KONNECT_PORT/cache-hit"
        curl -s -i "http://$HOST:$KONNECT_PORT/cache-hit" | grep -qi '^x-cache-status: hit' ||
            die "konnect does not answer /cache-hit from its cache"

        local -a npids
        read -r -a npids <<<"$(nginx_pids "$nginx_pid")"
        local nginx_idle konnect_idle
        nginx_idle=$(status_kib VmRSS "${npids[@]}")
        konnect_idle=$(status_kib VmRSS "$konnect_pid")

        # nginx and Konnect in turn, ROUNDS times, so that a slow spell of the machine hits both.
        local round
        local -a n_rps=() n_p50=() n_p99=() n_cpu=() n_user=() n_cores=() n_req=() k_rps=() k_p50=() k_p99=() k_cpu=() k_user=() k_cores=() k_req=()
        local -a a_rps=() a_cpu=() a_user=() l_rps=() l_cpu=() d_rps=() d_cpu=() c_rps=() c_cpu=()
        local n_errors=none k_errors=none a_errors=none l_errors=none d_errors=none c_errors=none
        konnect_bare_route() {
            run_wrk "http://$HOST:$KONNECT_PORT/bench" "$konnect_pid"
            k_rps+=("$W_RPS") k_p50+=("$W_P50") k_p99+=("$W_P99") k_cpu+=("$W_CPU_US") k_user+=("$W_USER_US") k_cores+=("$W_CORES") k_req+=("$W_REQUESTS")
            [[ $W_ERRORS == none ]] || k_errors=$W_ERRORS
        }
        for ((round = 1; round <= ROUNDS; round++)); do
            log "threads=$threads: round $round of $ROUNDS, wrk against nginx, then konnect's bare route and its routes with key-auth + acl, rate-limiting (local, redis) and proxy-cache hits (the bare route first in odd rounds, last in even ones)"
            run_wrk "http://$HOST:$NGINX_PORT/bench" "${npids[@]}"
            n_rps+=("$W_RPS") n_p50+=("$W_P50") n_p99+=("$W_P99") n_cpu+=("$W_CPU_US") n_user+=("$W_USER_US") n_cores+=("$W_CORES") n_req+=("$W_REQUESTS")
            [[ $W_ERRORS == none ]] || n_errors=$W_ERRORS
            # The bare route before the plugin routes in odd rounds, after them in even ones:
            # whichever runs second in a pair tends to cost a little more.
            ((round % 2 == 0)) || konnect_bare_route
            WRK_EXTRA=(-H "apikey: $BENCH_KEY")
            run_wrk "http://$HOST:$KONNECT_PORT/key-auth" "$konnect_pid"
            WRK_EXTRA=()
            a_rps+=("$W_RPS") a_cpu+=("$W_CPU_US") a_user+=("$W_USER_US")
            [[ $W_ERRORS == none ]] || a_errors=$W_ERRORS
            run_wrk "http://$HOST:$KONNECT_PORT/rate-local" "$konnect_pid"
            l_rps+=("$W_RPS") l_cpu+=("$W_CPU_US")
            [[ $W_ERRORS == none ]] || l_errors=$W_ERRORS
            run_wrk "http://$HOST:$KONNECT_PORT/rate-redis" "$konnect_pid"
            d_rps+=("$W_RPS") d_cpu+=("$W_CPU_US")
            [[ $W_ERRORS == none ]] || d_errors=$W_ERRORS
            run_wrk "http://$HOST:$KONNECT_PORT/cache-hit" "$konnect_pid"
            c_rps+=("$W_RPS") c_cpu+=("$W_CPU_US")
            [[ $W_ERRORS == none ]] || c_errors=$W_ERRORS
            ((round % 2 == 1)) || konnect_bare_route
        done
        local nr np50 np99 nc nu kr kp50 kp99 kc ku
        nr=$(median "${n_rps[@]}") np50=$(median "${n_p50[@]}") np99=$(median "${n_p99[@]}") nc=$(median "${n_cpu[@]}") nu=$(median "${n_user[@]}")
        kr=$(median "${k_rps[@]}") kp50=$(median "${k_p50[@]}") kp99=$(median "${k_p99[@]}") kc=$(median "${k_cpu[@]}") ku=$(median "${k_user[@]}")
        comparison+=("| nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') | $threads | $nr | $np50 | $np99 | $nc | $nu | $(median "${n_cores[@]}") | $(mib "$nginx_idle") | $(median "${n_req[@]}") | $n_errors |")
        comparison+=("| Konnect | $threads | $kr | $kp50 | $kp99 | $kc | $ku | $(median "${k_cores[@]}") | $(mib "$konnect_idle") | $(median "${k_req[@]}") | $k_errors |")
        ratios+=("| $threads | $(awk -v a="$kr" -v b="$nr" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$kp50" -v b="$np50" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$kp99" -v b="$np99" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$kc" -v b="$nc" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$ku" -v b="$nu" 'BEGIN { printf "%.2f", a / b }') |")
        local ar ac au
        ar=$(median "${a_rps[@]}") ac=$(median "${a_cpu[@]}") au=$(median "${a_user[@]}")
        plugins+=("| $threads | key-auth + acl | $kr | $ar | $kc | $ac | $(awk -v a="$ac" -v b="$kc" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$ac" -v b="$nc" 'BEGIN { printf "%.2f", a / b }') | ${k_cpu[*]} | ${a_cpu[*]} | $a_errors |")
        local lr lc
        lr=$(median "${l_rps[@]}") lc=$(median "${l_cpu[@]}")
        plugins+=("| $threads | rate-limiting (local) | $kr | $lr | $kc | $lc | $(awk -v a="$lc" -v b="$kc" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$lc" -v b="$nc" 'BEGIN { printf "%.2f", a / b }') | ${k_cpu[*]} | ${l_cpu[*]} | $l_errors |")
        local dr dc
        dr=$(median "${d_rps[@]}") dc=$(median "${d_cpu[@]}")
        local cr cc
        cr=$(median "${c_rps[@]}") cc=$(median "${c_cpu[@]}")
        plugins+=("| $threads | proxy-cache (hits) | $kr | $cr | $kc | $cc | $(awk -v a="$cc" -v b="$kc" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$cc" -v b="$nc" 'BEGIN { printf "%.2f", a / b }') | ${k_cpu[*]} | ${c_cpu[*]} | $c_errors |")
        plugins+=("| $threads | rate-limiting (redis) | $kr | $dr | $kc | $dc | $(awk -v a="$dc" -v b="$kc" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$dc" -v b="$nc" 'BEGIN { printf "%.2f", a / b }') | ${k_cpu[*]} | ${d_cpu[*]} | $d_errors |")
        rounds+=("| $threads | ${n_cpu[*]} | ${k_cpu[*]} | $(paste -d' ' <(printf '%s\n' "${k_cpu[@]}") <(printf '%s\n' "${n_cpu[@]}") | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2 }') |")
        kill -0 "$konnect_pid" 2>/dev/null || die "konnect (threads $threads) exited during the load run"

        if [[ $threads == "${THREAD_COUNTS##* }" ]]; then
            log "threads=$threads: $IDLE_CONNECTIONS idle keep-alive connections on each proxy"
            idle_hold "$NGINX_PORT" "${npids[@]}"
            local nginx_held=$I_RSS_KIB nginx_held_summary=$I_SUMMARY
            idle_hold "$KONNECT_PORT" "$konnect_pid"
            memory+=("| RSS idle, after start-up and a few requests (threads $threads) | $(mib "$konnect_idle") | $(mib "$nginx_idle") | |")
            memory+=("| RSS with $IDLE_CONNECTIONS idle keep-alive client connections (threads $threads) | $(mib "${I_RSS_KIB:-0}") | $(mib "${nginx_held:-0}") | Konnect: $I_SUMMARY; nginx: $nginx_held_summary |")

            log "threads=$threads: $BIG_SIZE upload to an origin that answers before reading the body"
            early_upload "$NGINX_PORT"
            local nginx_early=$E_RESULT
            early_upload "$KONNECT_PORT"
            behaviour+=("| $BIG_SIZE chunked upload (\`curl -T -\`) to an origin that answers 200 at once and discards the body (nginx \`return 200\`) | $E_RESULT | $nginx_early (nginx: \`proxy_request_buffering off\`) |")
            MEMORY_THREADS=$threads
        fi
        stop_pid "$konnect_pid"
        stop_pid "$nginx_pid"
    done

    plugin_cost
    pair_cost

    log "route table size: Konnect, threads 1"
    local -a routes=()
    local count path config
    for count in $ROUTE_COUNTS; do
        config="$WORK/konnect-routes-$count.yaml"
        write_konnect_config "$config" "$count"
        path="/r$((count / 2))"
        start_konnect konnect_pid "$config" 1
        check_body "http://$HOST:$KONNECT_PORT$path" || die "konnect with $count routes does not relay $path"
        local idle ready=$KONNECT_READY_SECONDS
        idle=$(status_kib VmRSS "$konnect_pid")
        run_wrk "http://$HOST:$KONNECT_PORT$path" "$konnect_pid"
        routes+=("| $count + 3 | \`$path\` | $W_RPS | $W_P50 | $W_P99 | $W_CPU_US | $(mib "$idle") | $ready | $W_ERRORS |")
        kill -0 "$konnect_pid" 2>/dev/null || die "konnect ($count routes) exited during the load run"
        stop_pid "$konnect_pid"
    done

    local stream_threads=${MEMORY_THREADS:-1}
    log "streaming $BIG_SIZE down through Konnect (threads $stream_threads)"
    local direct_mbps
    direct_mbps=$(direct_download_mbps)
    start_konnect konnect_pid "$WORK/konnect-bench.yaml" "$stream_threads"
    stream_download "$konnect_pid"
    memory+=("| Peak RSS (VmHWM), $BIG_SIZE download streamed through (threads $stream_threads) | $(mib "$S_PEAK_KIB") | | RSS before: $(mib "$S_BEFORE_KIB") MiB; $S_RESULT; $S_MBPS MiB/s (direct from origin: $direct_mbps MiB/s); Konnect CPU $S_CPU s |")
    stop_pid "$konnect_pid"

    log "streaming $BIG_SIZE up through Konnect (threads $stream_threads)"
    start_konnect konnect_pid "$WORK/konnect-bench.yaml" "$stream_threads"
    stream_upload "$konnect_pid"
    memory+=("| Peak RSS (VmHWM), $BIG_SIZE chunked upload streamed through to upload_sink.py (threads $stream_threads) | $(mib "$S_PEAK_KIB") | | RSS before: $(mib "$S_BEFORE_KIB") MiB; $S_RESULT; $S_MBPS MiB/s; Konnect CPU $S_CPU s |")
    stop_pid "$konnect_pid"
    stop_pid "$origin_pid"
    stop_pid "$sink_pid"

    local report
    report=$(
        echo "## Proxy benchmark results"
        echo
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r), $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
        echo "- Load average when the run started: $LOADAVG_START (1, 5, 15 min); anything else running on the machine skews requests/s and latency."
        echo "- Konnect: \`$KONNECT_BIN\` ($("$KONNECT_BIN" version 2>/dev/null || echo unknown version)); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'); $(curl --version | head -1 | awk '{ print $1, $2 }')"
        echo "- Load: \`wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency\` after a $WARMUP warm-up, GET of a $BODY_BYTES-byte body from one nginx origin (1 worker); all on 127.0.0.1."
        echo "- wrk, the origin and the proxy share the $(nproc) cores, so requests/s and latency measure the whole machine;"
        echo "  **CPU µs/request** (the proxy's own utime+stime from /proc/PID/stat, nginx master + workers, divided by requests completed) is the comparable figure."
        echo "  **User µs/request** is the utime part alone: the proxy's own code, without the kernel's socket and TCP work, which is about the same for both."
        echo
        echo "### Konnect vs nginx, same origin, same worker/thread count"
        echo
        echo "Medians of $ROUNDS rounds; in each round nginx and then Konnect ran under the same load."
        echo
        echo "| Proxy | Threads | Requests/s | p50 ms | p99 ms | CPU µs/request | User µs/request | Proxy cores busy | RSS idle MiB | Requests | Errors |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        printf '%s\n' "${comparison[@]}"
        echo
        echo "Ratios Konnect / nginx (requests/s: higher is better for Konnect; latency and CPU: lower is better):"
        echo
        echo "| Threads | Requests/s | p50 | p99 | CPU µs/request | User µs/request |"
        echo "|---:|---:|---:|---:|---:|---:|"
        printf '%s\n' "${ratios[@]}"
        echo
        echo "CPU µs/request of each round, in order, and Konnect / nginx per round:"
        echo
        echo "| Threads | nginx | Konnect | ratio |"
        echo "|---:|---|---|---|"
        printf '%s\n' "${rounds[@]}"
        echo
        echo "### Plugins on the route"
        echo
        echo 'The same route with key-auth and acl (allow one group; the key sent in `apikey`), and with rate-limiting (`minute: 1000000000`, `limit_by: ip`: every request counted under one key, headers sent; local policy, and redis policy against a local redis-server whose own CPU is not counted), and with proxy-cache (every request after the first a hit), each measured next to the bare route in every round (the bare route first in odd rounds, last in even ones). Medians; the per-round figures in order.'
        echo
        echo "| Threads | Plugins | Requests/s bare | Requests/s with plugins | CPU µs/request bare | CPU µs/request with plugins | plugins / bare | plugins / nginx | bare rounds | plugin rounds | Errors |"
        echo "|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|"
        printf '%s\n' "${plugins[@]}"
        echo
        echo "### Plugin cost, Konnect alone on one core"
        echo
        echo "Konnect with one thread on core 0 by itself; wrk, the origin and redis-server on the other cores (\`taskset\`). $PLUGIN_ROUNDS rounds of \`wrk -d$PLUGIN_DURATION\` runs after 1 s warm-ups; in each round every route runs between two runs of the bare route (bare, route, bare, route, …, bare), the routes in an order that turns from round to round. Ratio: the median over the rounds of the route's CPU µs/request divided by the mean of the two bare runs around it. The control is the bare route measured as if it were a plugin route: its ratio shows the noise. Medians; per-round ratios in order."
        echo
        table_or_note "| Route | Path | CPU µs/request | User µs/request | / bare route | Konnect cores busy | per-round ratios |" \
            "|---|---|---:|---:|---:|---:|---|" "$PLUGIN_COST_NOTE" "${PLUGIN_COST[@]}"
        echo
        echo "### Plugin cost, paired"
        echo
        echo "Two Konnect processes with one thread each, both on core 0; wrk (one per process), the origin and redis-server on the other cores. The bare route and a plugin route are measured at the same time, once each way (process A bare and B the route, then A the route and B bare), for \`wrk -d$PLUGIN_DURATION\` after 1 s warm-ups; a round's ratio is the geometric mean of the two, and the table shows the median of $PAIR_ROUNDS rounds. Both processes live through the same moments of the machine, so its drift cancels; sharing the core costs each request some time of its own, which both routes pay. The control is the bare route on both sides."
        echo
        table_or_note "| Route | Path | / bare route | per-round ratios |" "|---|---|---:|---|" "$PAIR_COST_NOTE" "${PAIR_COST[@]}"
        echo
        echo "### Konnect route table size (threads 1)"
        echo
        echo "| Routes | Path requested | Requests/s | p50 ms | p99 ms | CPU µs/request | RSS idle MiB | Start to first 200 (s) | Errors |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
        printf '%s\n' "${routes[@]}"
        echo
        echo "### Memory"
        echo
        echo "| Measure | Konnect MiB | nginx MiB (master + workers) | Notes |"
        echo "|---|---:|---:|---|"
        printf '%s\n' "${memory[@]}"
        if ((${#behaviour[@]} > 0)); then
            echo
            echo "### Behaviour check (not a speed figure)"
            echo
            echo "| Case | Konnect | nginx |"
            echo "|---|---|---|"
            printf '%s\n' "${behaviour[@]}"
        fi
        if ((${#NOTES[@]} > 0)); then
            echo
            echo "### Problems seen"
            echo
            printf -- '- %s\n' "${NOTES[@]}"
        fi
    )
    printf '%s\n' "$report" | tee "$RESULTS_DIR/latest.md"
    if ((${#NOTES[@]} > 0)); then
        mkdir -p "$RESULTS_DIR/logs" && cp -r "$WORK/logs/." "$RESULTS_DIR/logs/"
        log "problems were seen; logs kept in $RESULTS_DIR/logs"
    fi
}

main "$@"
