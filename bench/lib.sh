# Helpers the benchmark scripts share (sourced; the caller sets BENCH_DIR, REPO_DIR, RESULTS_DIR,
# HOST and WORK).

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes started here, stopped on exit.
STARTED_PIDS=()
WORK=""

stop_pid() {
    local pid=$1 waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < 150)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for 15s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${STARTED_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    STARTED_PIDS=("${kept[@]}")
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    if [[ -n $WORK && -d $WORK ]]; then
        if ((status != 0)) && [[ -d $WORK/logs ]]; then
            mkdir -p "$RESULTS_DIR/logs" && cp -r "$WORK/logs/." "$RESULTS_DIR/logs/" 2>/dev/null || true
            log "logs of the failed run kept in $RESULTS_DIR/logs"
        fi
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Tools.
install_missing() {
    local missing=() packages=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    command -v redis-server >/dev/null || [[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
        die "missing tools: ${missing[*]} (install them, or run as root on Debian/Ubuntu to let this script apt-get them)"
    fi
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    local tool
    for tool in "${missing[@]}"; do
        case $tool in
            nginx) packages+=(nginx-light) ;;
            *) packages+=("$tool") ;;
        esac
    done
    # Keep the nginx package from starting its own service on port 80 while it is installed.
    local policy=/usr/sbin/policy-rc.d created=0 status=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null; then
        packages=("${packages[@]/nginx-light/nginx}")
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null || status=$?
    fi
    if ((created)); then rm -f "$policy"; fi
    ((status == 0)) || die "apt-get could not install ${packages[*]}"
}

build_konnect() {
    if [[ -n ${KONNECT_BIN:-} ]]; then
        [[ -x $KONNECT_BIN ]] || die "KONNECT_BIN=$KONNECT_BIN is not an executable"
        return 0
    fi
    log "building konnect (release); a first build takes several minutes"
    if command -v flock >/dev/null; then
        (cd "$REPO_DIR" && flock /tmp/konnect-build.lock swift build -c release --product konnect) >&2
    else
        (cd "$REPO_DIR" && swift build -c release --product konnect) >&2
    fi
    KONNECT_BIN="$REPO_DIR/.build/release/konnect"
    [[ -x $KONNECT_BIN ]] || die "build finished but $KONNECT_BIN is missing"
}

# ---------------------------------------------------------------------------------------------
# /proc readings.
CLK_TCK=$(getconf CLK_TCK)

# utime + stime (cpu_ticks) or utime alone (user_ticks: the proxy's own code, without the
# kernel's socket work), in clock ticks, summed over the given PIDs (all threads of each process).
stat_ticks() {
    local fields=$1 pid total=0 ticks
    shift
    for pid in "$@"; do
        ticks=$(awk -v which="$fields" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print which == "user" ? f[12] : f[12] + f[13] }' "/proc/$pid/stat")
        total=$((total + ticks))
    done
    echo "$total"
}
cpu_ticks() { stat_ticks all "$@"; }
user_ticks() { stat_ticks user "$@"; }

# A /proc/PID/status field in KiB (VmRSS, VmHWM), summed over the given PIDs.
status_kib() {
    local field=$1 pid total=0 value
    shift
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status")
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# The median of the numbers given (the middle one for an odd count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# An nginx master and its workers.
nginx_pids() { echo "$1" $(pgrep -P "$1" || true); }

port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Waits until GET url answers 200; fails when the process dies or after $3 seconds.
wait_ready() {
    local url=$1 pid=$2 limit=${3:-30} start=$SECONDS code
    while ((SECONDS - start < limit)); do
        kill -0 "$pid" 2>/dev/null || return 1
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        [[ $code == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

# A wrk latency (`850.00us`, `1.23ms`, `1.02s`) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n = n / 1000
        else if (v ~ /ms$/) n = n
        else if (v ~ /m$/) n = n * 60000
        else if (v ~ /s$/) n = n * 1000
        printf "%.2f", n
    }'
}
