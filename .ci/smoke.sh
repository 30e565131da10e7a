#!/usr/bin/env bash
# Starts the real binary the way the README does and checks what a user would: proxying,
# config validation errors, reload on SIGHUP and on file change, exit 0 on SIGTERM, and the
# Admin API over the SQLite store, whose acknowledged writes survive kill -9.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product konnect >/dev/null
bin=.build/debug/konnect
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "smoke: FAILED: $*"; [ -f "$work/serve.log" ] && cat "$work/serve.log"; exit 1; }

# Two origins on the quickstart's ports.
for port in 9000 9001; do
    mkdir -p "$work/o$port"
    echo "origin $port" > "$work/o$port/hello.txt"
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/o$port" >/dev/null 2>&1 &
    pids+=($!)
done

"$bin" version | grep -q '^konnect ' || fail "version"
"$bin" config validate examples/quickstart.yaml || fail "quickstart does not validate"
"$bin" config validate examples/ai-gateway.yaml || fail "the AI gateway example does not validate"

cat > "$work/bad.yaml" <<'YAML'
_format_version: "3.0"
services:
  - name: a
    url: http://127.0.0.1:9000
    routes:
      - paths: [relative]
YAML
if "$bin" config validate "$work/bad.yaml" > "$work/bad.out" 2>&1; then fail "invalid file accepted"; fi
grep -q 'services\[0\].routes\[0\].paths\[0\]' "$work/bad.out" || fail "error without path: $(cat "$work/bad.out")"
grep -q 'line 6' "$work/bad.out" || fail "error without line: $(cat "$work/bad.out")"

# No declarative file: database mode, with nothing stored yet every request gets the no-route
# 404. The flag wins over the environment variable naming another address.
KONNECT_PROXY_LISTEN=127.0.0.1:18099 "$bin" serve --proxy-listen 127.0.0.1:18001 --data-dir "$work/empty-data" \
    --admin-listen 127.0.0.1:18011 > "$work/empty.log" 2>&1 &
empty=$!
pids+=($empty)
for _ in $(seq 50); do curl -s -o /dev/null 127.0.0.1:18001 && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18001/anything)" = 404 ] || fail "empty configuration or --proxy-listen"
curl -s -o /dev/null 127.0.0.1:18099 && fail "KONNECT_PROXY_LISTEN won over --proxy-listen"
kill -TERM "$empty"
wait "$empty" || fail "empty gateway did not exit 0 on SIGTERM"

# Database mode: configured over the Admin API; a write that was answered survives kill -9.
admin=127.0.0.1:18021
start_db_node() {
    "$bin" serve --data-dir "$work/data" --proxy-listen 127.0.0.1:18020 --admin-listen "$admin" >> "$work/db.log" 2>&1 &
    db=$!
    pids+=($db)
    for _ in $(seq 100); do curl -s -o /dev/null "$admin/status" && break; sleep 0.1; done
}
start_db_node
json() { curl -s -o "$work/out.json" -w '%{http_code}' -H 'Content-Type: application/json' "$@"; }
[ "$(json -X POST "$admin/services" -d '{"name": "echo", "url": "http://127.0.0.1:9000"}')" = 201 ] \
    || fail "creating a service: $(cat "$work/out.json")"
[ "$(json -X POST "$admin/services/echo/routes" -d '{"name": "echo", "paths": ["/echo"]}')" = 201 ] \
    || fail "creating a route: $(cat "$work/out.json")"
[ "$(json -X POST "$admin/services" -d '{"name": "echo", "host": "x"}')" = 409 ] || fail "duplicate name not refused"
[ "$(json -X POST "$admin/routes" -d '{"paths": ["no-slash"]}')" = 400 ] || fail "invalid route not refused"
grep -q '"paths"' "$work/out.json" || fail "400 without the field: $(cat "$work/out.json")"
# Credentials and certificates (stored now, used by the auth plugins and TLS later).
[ "$(json -X POST "$admin/consumers" -d '{"username": "alice"}')" = 201 ] || fail "creating a consumer"
[ "$(json -X POST "$admin/consumers/alice/key-auth" -d '{"key": "alice-key"}')" = 201 ] || fail "creating a key"
[ "$(json -X POST "$admin/consumers/alice/basic-auth" -d '{"username": "alice", "password": "wonderland"}')" = 201 ] \
    || fail "creating a basic-auth credential: $(cat "$work/out.json")"
grep -q wonderland "$work/out.json" && fail "a basic-auth password came back in clear"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=smoke.test -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
[ "$(curl -s -o "$work/out.json" -w '%{http_code}' "$admin/certificates" -F cert=@"$work/cert.pem" \
    -F key=@"$work/key.pem" -F 'snis[]=smoke.test')" = 201 ] || fail "uploading a certificate: $(cat "$work/out.json")"
[ "$(curl -s 127.0.0.1:18020/echo/hello.txt)" = "origin 9000" ] || fail "route from the Admin API not serving"
{ kill -9 "$db" && wait "$db"; } 2>/dev/null || true
start_db_node
[ "$(curl -s 127.0.0.1:18020/echo/hello.txt)" = "origin 9000" ] || fail "configuration lost after kill -9: $(cat "$work/db.log")"
[ "$(json "$admin/routes/echo")" = 200 ] || fail "route not found after restart"
[ "$(json "$admin/key-auths/alice-key")" = 200 ] || fail "key-auth credential lost after restart"
[ "$(json "$admin/snis/smoke.test")" = 200 ] || fail "SNI lost after restart"
kill -TERM "$db"
wait "$db" || fail "database node did not exit 0 on SIGTERM"
"$bin" migrations status --data-dir "$work/data" > "$work/migrations.out" || fail "migrations status"
grep -q 'applied' "$work/migrations.out" || fail "no migration applied: $(cat "$work/migrations.out")"
"$bin" config dump --data-dir "$work/data" > "$work/dump.yaml" || fail "config dump"
"$bin" config validate "$work/dump.yaml" >/dev/null || fail "the dump does not validate"
"$bin" config diff "$work/dump.yaml" --data-dir "$work/data" >/dev/null || fail "a dump differs from its database"
"$bin" config apply "$work/dump.yaml" --data-dir "$work/copy" >/dev/null || fail "config apply"
"$bin" config diff "$work/dump.yaml" --data-dir "$work/copy" >/dev/null || fail "apply did not make the database equal the file"

cp examples/quickstart.yaml "$work/live.yaml"
KONNECT_PROXY_LISTEN=127.0.0.1:18000 "$bin" serve --declarative "$work/live.yaml" --admin-listen 127.0.0.1:18031 \
    > "$work/serve.log" 2>&1 &
serve=$!
pids+=($serve)
for _ in $(seq 50); do curl -s -o /dev/null 127.0.0.1:18000 && break; sleep 0.1; done

# Wait until the origins answer too.
for _ in $(seq 50); do curl -sf -o /dev/null 127.0.0.1:9001/hello.txt && break; sleep 0.1; done

[ "$(curl -s 127.0.0.1:18000/echo/hello.txt)" = "origin 9000" ] || fail "proxying /echo"
seen=$(for _ in 1 2 3 4 5 6; do curl -s 127.0.0.1:18000/balanced/hello.txt; done | sort -u | wc -l)
[ "$seen" = 2 ] || fail "balancing over both targets (saw $seen)"
[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18000/nothing)" = 404 ] || fail "no-route 404"

# An invalid file is rejected and the old configuration keeps serving.
cp "$work/bad.yaml" "$work/live.yaml"
kill -HUP "$serve"
sleep 1.5
grep -q 'configuration rejected' "$work/serve.log" || fail "invalid reload not reported"
[ "$(curl -s 127.0.0.1:18000/echo/hello.txt)" = "origin 9000" ] || fail "old config stopped serving"

# A valid change on disk is picked up without a signal.
sed 's#- /echo#- /renamed#' examples/quickstart.yaml > "$work/live.yaml"
for _ in $(seq 50); do
    [ "$(curl -s 127.0.0.1:18000/renamed/hello.txt)" = "origin 9000" ] && break
    sleep 0.1
done
[ "$(curl -s 127.0.0.1:18000/renamed/hello.txt)" = "origin 9000" ] || fail "file change not applied"

# Malformed, mutated and pipelined requests for a while: never a hang, never a crash.
python3 tools/fuzz-proxy.py --port 18000 --pid "$serve" --seconds 15 --seed "${FUZZ_SEED:-$RANDOM}" \
    --healthy-path /renamed/hello.txt \
    || fail "fuzzing the proxy"

# And what plugins read: well-formed requests whose header values, query arguments, bodies and
# tokens are junk, on routes behind the plugins that parse them.
"$bin" serve --declarative tools/fuzz-plugins.yaml --proxy-listen 127.0.0.1:18100 --admin-listen off \
    > "$work/plugins.log" 2>&1 &
plugins=$!
pids+=($plugins)
for _ in $(seq 50); do curl -s -o /dev/null 127.0.0.1:18100 && break; sleep 0.1; done
python3 tools/fuzz-proxy.py --plugins --port 18100 --pid "$plugins" --seconds 15 --seed "${FUZZ_SEED:-$RANDOM}" \
    --healthy-path /p/guards/hello.txt \
    || { cat "$work/plugins.log"; fail "fuzzing the plugins"; }
kill -TERM "$plugins"

kill -TERM "$serve"
status=0
wait "$serve" || status=$?
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
echo "smoke test: every check passed"
