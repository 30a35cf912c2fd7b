#!/usr/bin/env bash
# Measures fieldgate on this machine, load generator included (wrk, from Debian):
#   1. client-credentials token issuance (tokens/s, p99)
#   2. the gateway's cost: an authenticated get-by-id and list of 50 vs the same handlers
#      served without the gateway, interleaved in one run
#   3. resident memory of the demo server under that load (and, apart, while it set up)
#   4. one client walking an export feed (records/s), on a larger dataset
# Usage: bench/run.sh   (DURATION=10s CONNECTIONS=32 EXPORT_SCALE=10000 to change)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
EXPORT_SCALE=${EXPORT_SCALE:-10000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p fieldgate
cargo build --release -q -p fieldgate-server --example export_walk
BIN=$PWD/target/release/fieldgate
WALK=$PWD/target/release/examples/export_walk
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Starts a demo on the default ports; $1 = scale.
start_demo() {
    rm -f "$WORK/creds.json"
    # The limiter stays on the path, with a limit the load cannot reach.
    FIELDGATE_EXPORT_PAGE_SIZE=5000 FIELDGATE_LOG=warn FIELDGATE_LIMITS__PER_SECOND=100000000 \
        FIELDGATE_OPS_LISTEN=127.0.0.1:7300 "$BIN" --data-dir "$WORK/data" \
        --bench-ungated 127.0.0.1:7299 demo --reset --scale "$1" \
        --credentials-out "$WORK/creds.json" >/dev/null 2>"$WORK/server.log" &
    SERVER=$!
    for _ in $(seq 600); do [ -s "$WORK/creds.json" ] && break; sleep 0.5; done
    sleep 0.5
    eval "$(python3 bench/creds.py "$WORK/creds.json")"
    # The peak so far is the demo's set-up (generating its sample data); what it holds while
    # serving is measured from here: writing 5 to clear_refs restarts the kernel's VmHWM.
    SETUP_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
    echo 5 > "/proc/$SERVER/clear_refs"
}

stop_demo() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

# Prints "requests/s p99" from a wrk run.
measure() {
    wrk --latency -t2 -c"$CONNECTIONS" -d"$DURATION" "$@" > "$WORK/wrk.out" 2>&1
    python3 bench/wrk_summary.py "$WORK/wrk.out"
}

start_demo 300
echo "== token issuance (POST /connect/token, form body)"
for scopes in all three; do
    body="grant_type=client_credentials&client_id=$PROD_ID&client_secret=$PROD_SECRET"
    # The demo app holds every scope of the catalog, which makes for ~6 KB tokens; a typical
    # integration asks for a few.
    [ "$scopes" = three ] && body="$body&scope=tn.crm.customers:r%20tn.jpm.jobs:r%20tn.acc.invoices:r"
    cat > "$WORK/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
    read -r rps p99 <<< "$(measure -s "$WORK/token.lua" "$PROD_AUTH/connect/token")"
    echo "   $scopes scopes: $rps tokens/s, p99 $p99"
done

TOKEN=$(curl -s "$PROD_AUTH/connect/token" -d grant_type=client_credentials \
    -d "client_id=$PROD_ID" -d "client_secret=$PROD_SECRET" | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
LIST="/crm/v2/tenant/$TENANT/customers?pageSize=50"
ONE="/crm/v2/tenant/$TENANT/customers/$CUSTOMER_ID"
AUTH=(-H "ST-App-Key: $APP_KEY" -H "Authorization: Bearer $TOKEN")

echo "== gateway cost (production API, gated vs ungated, interleaved)"
declare -A RPS P99
for round in 1 2; do
    for case in one list; do
        path=$ONE; [ "$case" = list ] && path=$LIST
        read -r r p <<< "$(measure "${AUTH[@]}" "$PROD_API$path")"
        RPS[gated_$case]="${RPS[gated_$case]:-} $r"; P99[gated_$case]=$p
        # The same request, headers included, to the same handlers without the gateway.
        read -r r p <<< "$(measure "${AUTH[@]}" "http://127.0.0.1:7299$path")"
        RPS[bare_$case]="${RPS[bare_$case]:-} $r"; P99[bare_$case]=$p
    done
done
RSS_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
stop_demo
python3 bench/ratio.py "get-by-id" "${RPS[gated_one]}" "${RPS[bare_one]}" "${P99[gated_one]}" "${P99[bare_one]}"
python3 bench/ratio.py "list of 50" "${RPS[gated_list]}" "${RPS[bare_list]}" "${P99[gated_list]}" "${P99[bare_list]}"
echo "== peak resident memory of the demo server under this load: $((RSS_KIB / 1024)) MiB"
echo "   (its peak while creating the demo's data, before serving: $((SETUP_KIB / 1024)) MiB)"

echo "== export walk (one client parsing every record, scale $EXPORT_SCALE)"
start_demo "$EXPORT_SCALE"
for feed in jpm:export/jobs crm:export/customers dispatch:export/appointment-assignments; do
    for mode in values raw; do
        echo "   $feed, client parsing into $mode"
        "$WALK" "$PROD_AUTH" "$PROD_API" "$TENANT" "$PROD_ID" "$PROD_SECRET" "$APP_KEY" "$feed" "$mode"
    done
done
stop_demo
