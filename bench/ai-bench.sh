#!/usr/bin/env bash
# AI gateway benchmark: Konnect's ai-proxy and LiteLLM's proxy side by side, both in front of the
# same fast mock provider (nginx answering a fixed OpenAI chat completion, whole or streamed),
# then time to first token through both in front of a provider that streams slowly (ttft.py).
#
#   bench/ai-bench.sh                       # builds konnect (release) first
#   KONNECT_BIN=/path/to/konnect bench/ai-bench.sh
#
# LiteLLM is installed from PyPI into a virtualenv of its own (LITELLM_VENV). Everything listens
# on 127.0.0.1; every process started here is stopped on exit. Results go to stdout and to
# bench/results/ai-latest.md.
#
# Tunables (environment): THREADS (2: Konnect's threads, LiteLLM's workers), ROUNDS (3),
# DURATION (10s), WARMUP (2s), CONNECTIONS (32, the throughput runs), MODERATE_CONNECTIONS (2, the
# latency runs), LITELLM_SPEC ('litellm[proxy]==1.106.2'), LITELLM_VENV
# (~/.cache/konnect-bench/litellm-venv), TTFT_REQUESTS (200), PROVIDER_PORT (19400),
# KONNECT_PORT (19410), LITELLM_PORT (19420), SLOW_PROVIDER_PORT (19430).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
RESULTS_DIR="$BENCH_DIR/results"
HOST=127.0.0.1

THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
MODERATE_CONNECTIONS=${MODERATE_CONNECTIONS:-2}
LITELLM_SPEC=${LITELLM_SPEC:-'litellm[proxy]==1.106.2'}
LITELLM_VENV=${LITELLM_VENV:-$HOME/.cache/konnect-bench/litellm-venv}
PROVIDER_PORT=${PROVIDER_PORT:-19400}
KONNECT_PORT=${KONNECT_PORT:-19410}
LITELLM_PORT=${LITELLM_PORT:-19420}
SLOW_PROVIDER_PORT=${SLOW_PROVIDER_PORT:-19430}
TTFT_REQUESTS=${TTFT_REQUESTS:-200}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# The mock provider's answers: what a small real completion looks like.
COMPLETION='{"id":"chatcmpl-bench","object":"chat.completion","created":1760000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"The capital of France is Paris.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":8,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_bench"}'
chunk() { printf 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1760000000,"model":"bench-model","system_fingerprint":"fp_bench","choices":[%s],"usage":%s}\n\n' "$1" "$2"; }
stream_body() {
    chunk '{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}' null
    local word
    for word in The ' capital' ' of' ' France' ' is' ' Paris.'; do
        chunk "{\"index\":0,\"delta\":{\"content\":\"$word\"},\"logprobs\":null,\"finish_reason\":null}" null
    done
    chunk '{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}' null
    chunk '' '{"prompt_tokens":14,"completion_tokens":8,"total_tokens":22}'
    printf 'data: [DONE]\n\n'
}
request_body() {
    printf '{"model":"%s","messages":[{"role":"system","content":"Answer in one sentence."},{"role":"user","content":"What is the capital of France?"}],"max_tokens":64%s}' \
        "$1" "$2"
}

install_litellm() {
    if [[ -x $LITELLM_VENV/bin/litellm ]]; then return 0; fi
    log "installing $LITELLM_SPEC into $LITELLM_VENV"
    python3 -m venv "$LITELLM_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$LITELLM_VENV/bin/pip" install -q "$LITELLM_SPEC" >&2 || die "pip could not install $LITELLM_SPEC"
}

write_configs() {
    mkdir -p "$WORK/provider/logs" "$WORK/logs"
    cat >"$WORK/provider/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/provider/nginx.pid;
error_log $WORK/provider/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_buffer_size 64k;
    server {
        listen $HOST:$PROVIDER_PORT reuseport backlog=4096;
        location = /v1/chat/completions { default_type application/json; return 200 '$COMPLETION'; }
        location = /stream/v1/chat/completions { default_type text/event-stream; return 200 '$(stream_body)'; }
    }
}
EOF
    cat >"$WORK/konnect.yaml" <<EOF
_format_version: "3.0"
services:
  - name: unused
    url: http://$HOST:9
    routes:
      - name: ai
        paths: ["/ai"]
        plugins:
          - name: ai-proxy
            config:
              auth: {header_value: "Bearer bench-key"}
              model: {provider: openai, name: bench-model, options: {upstream_url: "http://$HOST:$PROVIDER_PORT/v1/chat/completions"}}
      - name: ai-stream
        paths: ["/ai-stream"]
        plugins:
          - name: ai-proxy
            config:
              auth: {header_value: "Bearer bench-key"}
              model: {provider: openai, name: bench-model, options: {upstream_url: "http://$HOST:$PROVIDER_PORT/stream/v1/chat/completions"}}
      - name: ai-slow
        paths: ["/ai-slow"]
        plugins:
          - name: ai-proxy
            config:
              auth: {header_value: "Bearer bench-key"}
              model: {provider: openai, name: bench-model, options: {upstream_url: "http://$HOST:$SLOW_PROVIDER_PORT/v1/chat/completions"}}
EOF
    cat >"$WORK/litellm.yaml" <<EOF
model_list:
  - model_name: bench-model
    litellm_params: {model: openai/bench-model, api_base: "http://$HOST:$PROVIDER_PORT/v1", api_key: bench-key}
  - model_name: bench-model-stream
    litellm_params: {model: openai/bench-model, api_base: "http://$HOST:$PROVIDER_PORT/stream/v1", api_key: bench-key}
  - model_name: bench-model-slow
    litellm_params: {model: openai/bench-model, api_base: "http://$HOST:$SLOW_PROVIDER_PORT/v1", api_key: bench-key}
litellm_settings:
  telemetry: false
  drop_params: false
# Neither gateway checks the client's key here (Konnect's route has no auth plugin either).
general_settings:
  dangerously_permit_weak_or_unset_master_key: true
EOF
    request_body bench-model '' >"$WORK/chat.json"
    request_body bench-model ',"stream":true,"stream_options":{"include_usage":true}' >"$WORK/stream.json"
    request_body bench-model-stream ',"stream":true,"stream_options":{"include_usage":true}' >"$WORK/litellm-stream.json"
    request_body bench-model-slow ',"stream":true,"stream_options":{"include_usage":true}' >"$WORK/litellm-slow.json"
    cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
local file = io.open(os.getenv("BODY_FILE"), "r")
wrk.body = file:read("*a")
file:close()
EOF
}

# Every process of a tree (LiteLLM's workers are children of its master).
tree_pids() {
    local pid=$1 child
    echo "$pid"
    for child in $(pgrep -P "$pid" || true); do tree_pids "$child"; done
}

# run_post URL BODY_FILE CONNECTIONS PID...: warm-up, then a measured run. Sets R_RPS R_P50 R_P99
# R_CPU_US R_ERRORS.
RUNS=0
run_post() {
    local url=$1 body=$2 connections=$3 out before after non2xx errors
    shift 3
    RUNS=$((RUNS + 1))
    BODY_FILE=$body timeout 300 wrk -t1 -c"$connections" -d"$WARMUP" -s "$WORK/post.lua" "$url" >/dev/null
    before=$(cpu_ticks "$@")
    out=$(BODY_FILE=$body timeout 300 wrk -t1 -c"$connections" -d"$DURATION" --timeout 10s --latency -s "$WORK/post.lua" "$url")
    after=$(cpu_ticks "$@")
    printf '%s %s c=%s\n%s\n' "$url" "$body" "$connections" "$out" >"$WORK/logs/wrk-$RUNS.txt"
    local requests
    requests=$(awk '/ requests in / { print $1; exit }' <<<"$out")
    R_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    R_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    R_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    R_CPU_US=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    errors=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' <<<"$out")
    R_ERRORS=none
    [[ -n $non2xx || -n $errors ]] && R_ERRORS="non-2xx: ${non2xx:-0}; ${errors:-no socket errors}"
    return 0
}

check_answer() {
    local name=$1 url=$2 body=$3 expect=$4 out
    out=$(curl -s --max-time 20 -H 'Content-Type: application/json' -H 'Authorization: Bearer bench-key' --data-binary @"$body" "$url") ||
        die "$name does not answer at $url"
    grep -q -- "$expect" <<<"$out" || die "$name answered unexpectedly at $url: ${out:0:400}"
}

main() {
    install_missing
    build_konnect
    install_litellm
    WORK=$(mktemp -d /tmp/konnect-ai-bench.XXXXXX)
    write_configs
    local port
    for port in "$PROVIDER_PORT" "$KONNECT_PORT" "$LITELLM_PORT" "$SLOW_PROVIDER_PORT"; do port_free "$port" || die "port $port is in use"; done

    nginx -c "$WORK/provider/nginx.conf" -e "$WORK/provider/logs/error.log"
    local provider_pid
    provider_pid=$(cat "$WORK/provider/nginx.pid")
    STARTED_PIDS+=("$provider_pid")
    python3 "$BENCH_DIR/ttft.py" serve --port "$SLOW_PROVIDER_PORT" >"$WORK/logs/slow-provider.log" 2>&1 &
    STARTED_PIDS+=($!)

    "$KONNECT_BIN" serve --declarative "$WORK/konnect.yaml" --proxy-listen "$HOST:$KONNECT_PORT" \
        --admin-listen "$HOST:$((KONNECT_PORT + 1))" --threads "$THREADS" --log-level warning >"$WORK/logs/konnect.log" 2>&1 &
    local konnect_pid=$!
    STARTED_PIDS+=("$konnect_pid")
    wait_ready "http://$HOST:$((KONNECT_PORT + 1))/status" "$konnect_pid" || die "konnect did not start (see its log)"

    LITELLM_LOG=ERROR LITELLM_TELEMETRY=False "$LITELLM_VENV/bin/litellm" --config "$WORK/litellm.yaml" --host "$HOST" \
        --port "$LITELLM_PORT" --num_workers "$THREADS" >"$WORK/logs/litellm.log" 2>&1 &
    local litellm_pid=$!
    STARTED_PIDS+=("$litellm_pid")
    wait_ready "http://$HOST:$LITELLM_PORT/health/liveliness" "$litellm_pid" 120 || die "litellm did not start (see its log)"

    local direct=http://$HOST:$PROVIDER_PORT direct_slow=http://$HOST:$SLOW_PROVIDER_PORT konnect=http://$HOST:$KONNECT_PORT litellm=http://$HOST:$LITELLM_PORT
    check_answer provider "$direct/v1/chat/completions" "$WORK/chat.json" 'capital of France is Paris'
    check_answer konnect "$konnect/ai/v1/chat/completions" "$WORK/chat.json" 'capital of France is Paris'
    check_answer litellm "$litellm/v1/chat/completions" "$WORK/chat.json" 'capital of France is Paris'
    check_answer "konnect (stream)" "$konnect/ai-stream/v1/chat/completions" "$WORK/stream.json" '"total_tokens":22'
    check_answer "litellm (stream)" "$litellm/v1/chat/completions" "$WORK/litellm-stream.json" '"total_tokens":22'
    check_answer "konnect (slow stream)" "$konnect/ai-slow/v1/chat/completions" "$WORK/stream.json" '"total_tokens":20'
    check_answer "litellm (slow stream)" "$litellm/v1/chat/completions" "$WORK/litellm-slow.json" '"total_tokens":20'
    log "all three answer; $ROUNDS rounds of $DURATION runs"

    local -a konnect_pids litellm_pids
    konnect_pids=("$konnect_pid")
    mapfile -t litellm_pids < <(tree_pids "$litellm_pid")
    # Results per (target, kind, load): space-separated per-round values.
    declare -A RPS P50 P99 CPU ERR
    local round kind load connections target url body pids
    for round in $(seq 1 "$ROUNDS"); do
        for load in busy moderate; do
            connections=$CONNECTIONS
            [[ $load == moderate ]] && connections=$MODERATE_CONNECTIONS
            for kind in chat stream; do
                for target in provider konnect litellm; do
                    case $target/$kind in
                        provider/chat) url=$direct/v1/chat/completions body=$WORK/chat.json pids=("$provider_pid" $(pgrep -P "$provider_pid")) ;;
                        provider/stream) url=$direct/stream/v1/chat/completions body=$WORK/stream.json pids=("$provider_pid" $(pgrep -P "$provider_pid")) ;;
                        konnect/chat) url=$konnect/ai/v1/chat/completions body=$WORK/chat.json pids=("${konnect_pids[@]}") ;;
                        konnect/stream) url=$konnect/ai-stream/v1/chat/completions body=$WORK/stream.json pids=("${konnect_pids[@]}") ;;
                        litellm/chat) url=$litellm/v1/chat/completions body=$WORK/chat.json pids=("${litellm_pids[@]}") ;;
                        litellm/stream) url=$litellm/v1/chat/completions body=$WORK/litellm-stream.json pids=("${litellm_pids[@]}") ;;
                    esac
                    log "round $round: $target $kind, $connections connections"
                    run_post "$url" "$body" "$connections" "${pids[@]}"
                    local key=$target/$kind/$load
                    RPS[$key]+="$R_RPS " P50[$key]+="$R_P50 " P99[$key]+="$R_P99 " CPU[$key]+="$R_CPU_US "
                    [[ $R_ERRORS == none ]] || ERR[$key]+="round $round: $R_ERRORS. "
                done
            done
        done
    done

    local out=$RESULTS_DIR/ai-latest.md
    mkdir -p "$RESULTS_DIR"
    {
        echo "### AI path: Konnect ai-proxy and LiteLLM $("$LITELLM_VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version:/ { print $2 }') ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo
        echo "Both with $THREADS threads/workers, in front of one nginx answering a fixed OpenAI completion; wrk, one thread, POST of a two-message chat request; $ROUNDS rounds of $DURATION, medians. Added latency is the gateway's median minus the provider's own (nginx direct) in the same load. CPU is the gateway's own (all its processes), per request."
        echo
        echo "| load | kind | target | requests/s | p50 ms | p99 ms | added p50 ms | added p99 ms | CPU µs/request | requests/s per round | errors |"
        echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"
        local p50 p99 d50 d99
        for load in busy moderate; do
            for kind in chat stream; do
                d50=$(median ${P50[provider/$kind/$load]}) d99=$(median ${P99[provider/$kind/$load]})
                for target in provider konnect litellm; do
                    local key=$target/$kind/$load
                    p50=$(median ${P50[$key]}) p99=$(median ${P99[$key]})
                    printf '| %s (%s conn.) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                        "$load" "$([[ $load == busy ]] && echo "$CONNECTIONS" || echo "$MODERATE_CONNECTIONS")" "$kind" "$target" \
                        "$(median ${RPS[$key]})" "$p50" "$p99" \
                        "$([[ $target == provider ]] && echo - || awk -v a="$p50" -v b="$d50" 'BEGIN { printf "%.2f", a - b }')" \
                        "$([[ $target == provider ]] && echo - || awk -v a="$p99" -v b="$d99" 'BEGIN { printf "%.2f", a - b }')" \
                        "$(median ${CPU[$key]})" "${RPS[$key]% }" "${ERR[$key]:-none}"
                done
            done
        done
        echo
        echo
        echo "Time to first token: $TTFT_REQUESTS streamed requests, one at a time, in front of a provider that sends the first word at once and the next five 10 ms apart (bench/ttft.py)."
        echo
        python3 "$BENCH_DIR/ttft.py" measure --requests "$TTFT_REQUESTS" \
            "provider=$direct_slow/v1/chat/completions=$WORK/stream.json" \
            "Konnect=$konnect/ai-slow/v1/chat/completions=$WORK/stream.json" \
            "LiteLLM=$litellm/v1/chat/completions=$WORK/litellm-slow.json"
        echo
        for kind in chat stream; do
            printf 'Throughput, %s: Konnect %s requests/s, LiteLLM %s: %s×.\n' "$kind" "$(median ${RPS[konnect/$kind/busy]})" \
                "$(median ${RPS[litellm/$kind/busy]})" \
                "$(awk -v a="$(median ${RPS[konnect/$kind/busy]})" -v b="$(median ${RPS[litellm/$kind/busy]})" 'BEGIN { printf "%.0f", a / b }')"
        done
    } | tee "$out"
}

main "$@"
