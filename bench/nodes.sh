#!/usr/bin/env bash
# One node vs three nodes over one PostgreSQL database (rate-limit counters in Redis), driven
# by wrk with authenticated list calls over the demo's tenants. All on this machine: with
# 2 cores, three nodes share the same CPUs, so this shows what sharing costs, not scale-out.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379.
# Usage: bench/nodes.sh   (DURATION=10s CONNECTIONS=30 to change)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-30}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p fieldgate
BIN=$PWD/target/release/fieldgate
WORK=$(mktemp -d)
DB=fg_bench_$$
psql -h 127.0.0.1 -U postgres -qAtc "CREATE DATABASE $DB"
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; psql -h 127.0.0.1 -U postgres -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT

export FIELDGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export FIELDGATE_MASTER_KEY="bench master key shared by every node of this run"
export FIELDGATE_LIMITS__REDIS_URL="redis://127.0.0.1:6379"
# The limiter stays on the path (shared in Redis), with a limit the load cannot reach.
export FIELDGATE_LIMITS__PER_SECOND=100000000
export FIELDGATE_LOG=warn
# Every node tells clients the same public URLs, as behind a load balancer.
export FIELDGATE_PRODUCTION__AUTH_URL=https://auth.fieldgate.test
export FIELDGATE_PRODUCTION__API_URL=https://api.fieldgate.test
export FIELDGATE_INTEGRATION__AUTH_URL=https://auth-integration.fieldgate.test
export FIELDGATE_INTEGRATION__API_URL=https://api-integration.fieldgate.test

# Node n listens on 7n01..7n04, 7n08 (web console) and 7n09 (operators).
node_env() {
    echo "FIELDGATE_INTEGRATION__AUTH_LISTEN=127.0.0.1:7${1}01 FIELDGATE_INTEGRATION__API_LISTEN=127.0.0.1:7${1}02" \
         "FIELDGATE_PRODUCTION__AUTH_LISTEN=127.0.0.1:7${1}03 FIELDGATE_PRODUCTION__API_LISTEN=127.0.0.1:7${1}04" \
         "FIELDGATE_WEB_LISTEN=127.0.0.1:7${1}08 FIELDGATE_OPS_LISTEN=127.0.0.1:7${1}09"
}
wait_ready() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:7${1}09/readyz" >/dev/null && return; sleep 0.2; done; exit 1; }

env $(node_env 1) "$BIN" --data-dir "$WORK/n1" demo --scale 300 --credentials-out "$WORK/creds.json" >/dev/null 2>"$WORK/n1.log" &
for _ in $(seq 300); do [ -s "$WORK/creds.json" ] && break; sleep 0.2; done
wait_ready 1
read -r APP_KEY TENANT ID SECRET SANDBOX SID SSECRET <<< "$(python3 - "$WORK/creds.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, s = d["tenants"][0], d["tenants"][1]
print(d["appKey"], c["id"], c["credentials"]["integration"]["clientId"], c["credentials"]["integration"]["clientSecret"],
      s["id"], s["credentials"]["integration"]["clientId"], s["credentials"]["integration"]["clientSecret"])
PY
)"
token() { curl -s "http://127.0.0.1:7101/connect/token" -d grant_type=client_credentials -d "client_id=$1" -d "client_secret=$2" \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'; }
T1=$(token "$ID" "$SECRET"); T2=$(token "$SID" "$SSECRET")
# Alternate requests between the two tenants, each with its own token.
cat > "$WORK/list.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    return wrk.format("GET", "/crm/v2/tenant/$TENANT/customers?pageSize=50", {["ST-App-Key"]="$APP_KEY", ["Authorization"]="Bearer $T1"})
  end
  return wrk.format("GET", "/crm/v2/tenant/$SANDBOX/customers?pageSize=50", {["ST-App-Key"]="$APP_KEY", ["Authorization"]="Bearer $T2"})
end
LUA

run() { wrk --latency -t1 -c"$2" -d"$DURATION" -s "$WORK/list.lua" "http://127.0.0.1:7${1}02" > "$WORK/wrk$1.out" 2>&1; }

echo "== one node, $CONNECTIONS connections"
run 1 "$CONNECTIONS"
python3 bench/wrk_summary.py "$WORK/wrk1.out" | awk '{print "   " $1 " requests/s, p99 " $2}'

env $(node_env 2) "$BIN" serve >/dev/null 2>"$WORK/n2.log" &
env $(node_env 3) "$BIN" serve >/dev/null 2>"$WORK/n3.log" &
wait_ready 2; wait_ready 3
echo "== three nodes, $((CONNECTIONS / 3)) connections each, at once"
per=$((CONNECTIONS / 3))
run 1 "$per" & W1=$!
run 2 "$per" & W2=$!
run 3 "$per" & W3=$!
wait "$W1" "$W2" "$W3"
python3 - "$WORK" <<'PY'
import subprocess, sys
rates, p99s = [], []
for n in (1, 2, 3):
    rps, p99 = subprocess.check_output(["python3", "bench/wrk_summary.py", f"{sys.argv[1]}/wrk{n}.out"], text=True).split()
    rates.append(float(rps)); p99s.append(float(p99.rstrip("ms")))
print(f"   {sum(rates):.0f} requests/s in all ({', '.join(f'{r:.0f}' for r in rates)}), worst p99 {max(p99s):.2f}ms")
PY
