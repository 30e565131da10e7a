#!/usr/bin/env bash
# Property-based tests of the Admin API from its own OpenAPI document (schemathesis, from PyPI):
# thousands of generated requests, valid and invalid, against the real binary in database mode.
# Fails on any 5xx answer.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/schemathesis ]; then
    python3 -m venv .venv 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv .venv
    }
    .venv/bin/pip install -q 'schemathesis==4.32.5'
fi

swift build --product konnect >/dev/null
work=$(mktemp -d)
.build/debug/konnect serve --data-dir "$work/data" --proxy-listen 127.0.0.1:18400 --admin-listen 127.0.0.1:18401 \
    --log-level warning > "$work/konnect.log" 2>&1 &
node=$!
cleanup() { kill "$node" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -s -o /dev/null 127.0.0.1:18401/status && break; sleep 0.1; done

# The entities the document's path examples name (AdminOpenAPI.exampleKey), so that item
# endpoints are tested against something that exists.
admin=127.0.0.1:18401
seed() { curl -sf -o /dev/null -X POST "$admin$1" -H 'Content-Type: application/json' -d "$2" || { echo "seeding $1 failed"; exit 1; }; }
seed /services '{"name": "example-service", "host": "example.internal"}'
seed /routes '{"name": "example-route", "paths": ["/example"], "service": {"name": "example-service"}}'
seed /upstreams '{"name": "example-upstream"}'
seed /upstreams/example-upstream/targets '{"id": "0b5c7a7e-5d0a-4b7e-8a41-3f6c1d2e9a10", "target": "10.0.0.1:80"}'
seed /consumers '{"username": "example-consumer"}'
seed /plugins '{"id": "6f2d9c1b-8e4a-4c3f-b5d7-1a9e0c8b7d64", "name": "cors", "route": {"name": "example-route"}}'
seed /consumers/example-consumer/key-auth '{"key": "example-key"}'
seed /consumers/example-consumer/basic-auth '{"username": "example-user", "password": "example-password"}'
seed /consumers/example-consumer/jwt '{"key": "example-issuer"}'
seed /consumers/example-consumer/acls '{"id": "3a7e1c52-9b0d-4f6e-8c21-5d4b7a9e0f13", "group": "example-group"}'
seed /consumer_groups '{"name": "example-consumer-group"}'
seed /consumer_groups/example-consumer-group/consumers '{"consumer": "example-consumer"}'
seed /ai-models '{"name": "example-model", "deployments": [{"provider": "openai", "model": "gpt-4o-mini", "auth": {"header_value": "example-key"}}]}'
# A global ai-gateway plugin serves every AI model, so each model written is built into a plugin.
seed /plugins '{"name": "ai-gateway"}'
# Certificates go up as multipart forms, as with `curl -F cert=@cert.pem`.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=example.test \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Example CA" \
    -addext basicConstraints=critical,CA:TRUE -keyout "$work/ca-key.pem" -out "$work/ca.pem" 2>/dev/null
curl -sf -o /dev/null "$admin/certificates" -F id=8c4f2a1e-6d3b-4e7a-9f05-2b1c8d7e6a54 \
    -F cert=@"$work/cert.pem" -F key=@"$work/key.pem" -F 'snis[]=example.test' || { echo "seeding a certificate failed"; exit 1; }
curl -sf -o /dev/null "$admin/ca_certificates" -F id=1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28 -F cert=@"$work/ca.pem" \
    || { echo "seeding a CA certificate failed"; exit 1; }

.venv/bin/schemathesis run "http://$admin/openapi.json" --checks not_a_server_error \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-10}" --seed "${SCHEMATHESIS_SEED:-$RANDOM}" --no-color 2>&1 \
    | sed -n '/SUMMARY/,$p'
status=${PIPESTATUS[0]}
kill -0 "$node" 2>/dev/null || { echo "schemathesis: the node died"; cat "$work/konnect.log"; exit 1; }
exit "$status"
