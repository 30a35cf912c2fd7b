#!/usr/bin/env bash
# Measures refreshes of an integration copy on this machine, in one run:
#   1. `fieldgate seed`: a production dataset around SCALE customers (records/s)
#   2. `cp` of the production dataset's SQLite file (the yardstick)
#   3. a refresh (production -> integration copy) and a masked refresh, each while wrk sends
#      list requests to the integration API; the p99 of those requests is reported
#   4. the masked refresh again with no requests competing for the cores
# Usage: bench/refresh.sh   (SCALE=1000000 CONNECTIONS=8 WORK=/var/tmp/x to change)
# SCALE=1000000 makes ~20 million records, a ~24 GB file. So that the run needs room for two
# full copies, not three, the integration copy being replaced is the small standard sample data
# each time (a reset to it separates the two refreshes); the reads measured during a refresh go
# to that copy, and the copy being made competes with them for the disk and both cores.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-1000000}
CONNECTIONS=${CONNECTIONS:-8}
SLICE=${SLICE:-2}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p fieldgate
BIN=$PWD/target/release/fieldgate
WORK=${WORK:-$(mktemp -d -p /var/tmp fieldgate-refresh.XXXXXX)}
mkdir -p "$WORK"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# ~1.2 KB per record on disk, ~20 records per customer, two copies, and 10% to spare.
need_kb=$((SCALE * 20 * 12 / 10 * 2 * 11 / 10))
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ]; then
    echo "SCALE=$SCALE needs about $((need_kb / 1048576)) GB free in $WORK; $((free_kb / 1048576)) GB are." >&2
    echo "Pick a smaller SCALE or another WORK directory." >&2
    exit 1
fi

export FIELDGATE_LOG=warn FIELDGATE_REFRESH__MIN_INTERVAL_SECS=0
export FIELDGATE_LIMITS__PER_SECOND=100000000
DATA=$WORK/data
"$BIN" --data-dir "$DATA" demo --reset --no-serve --scale 50 \
    --credentials-out "$WORK/creds.json" >/dev/null
TENANT=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(t["id"] for t in d["tenants"] if t["kind"]=="customer"))' "$WORK/creds.json")

echo "== seed: production of tenant $TENANT around $SCALE customers"
"$BIN" --data-dir "$DATA" seed --env production --tenant "$TENANT" --scale "$SCALE" | tee "$WORK/seed.out"
PROD_FILE=$(ls "$DATA"/datasets/production-"$TENANT"-g*.db | tail -1)
ls -l "$PROD_FILE" | awk '{printf "   production file: %.2f GB\n", $5 / 1e9}'

echo "== cp of the production file"
sync
start=$(date +%s.%N)
cp "$PROD_FILE" "$WORK/copy.db"
CP=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
sync
SYNC=$(echo "$(date +%s.%N) - $start" | bc)
rm -f "$WORK/copy.db"
printf "   cp: %.2f s (and %.2f s more for sync to write it to disk)\n" "$CP" "$SYNC"

"$BIN" --data-dir "$DATA" serve >/dev/null 2>"$WORK/server.log" &
SERVER=$!
eval "$(python3 - "$WORK/creds.json" <<'PY'
import json, sys, time, urllib.request, urllib.parse
doc = json.load(open(sys.argv[1]))
customer = next(t for t in doc["tenants"] if t["kind"] == "customer")
env = doc["environments"]["integration"]
creds = customer["credentials"]["integration"]
body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": creds["clientId"],
                               "client_secret": creds["clientSecret"]}).encode()
for _ in range(100):
    try:
        token = json.load(urllib.request.urlopen(env["authUrl"] + "/connect/token", body))["access_token"]
        break
    except OSError:
        time.sleep(0.2)
print(f"API='{env['apiUrl']}' TOKEN='{token}' APP_KEY='{doc['appKey']}'")
PY
)"
LIST="$API/crm/v2/tenant/$TENANT/customers?pageSize=50"

# Runs one refresh while wrk sends list requests in slices of $SLICE s; prints the refresh's
# time and the worst p99 of the slices that overlapped it.
refresh_under_load() {
    local flag=$1 out=$WORK/slices.txt
    : > "$out"
    ( while [ ! -e "$WORK/stop" ]; do
          wrk --latency -t2 -c"$CONNECTIONS" -d"${SLICE}s" -H "ST-App-Key: $APP_KEY" \
              -H "Authorization: Bearer $TOKEN" "$LIST" > "$WORK/wrk.out" 2>&1 || true
          python3 bench/wrk_summary.py "$WORK/wrk.out" >> "$out" || echo "failed 0ms" >> "$out"
      done ) &
    local loader=$!
    sleep "$SLICE"
    local start end
    start=$(date +%s.%N)
    "$BIN" --data-dir "$DATA" refresh request --tenant "$TENANT" --force $flag \
        > "$WORK/refresh.out" 2>&1 || { cat "$WORK/refresh.out"; exit 1; }
    end=$(date +%s.%N)
    touch "$WORK/stop"
    wait "$loader"
    rm -f "$WORK/stop"
    local secs
    secs=$(echo "$end - $start" | bc)
    python3 - "$out" "$secs" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
p99 = [float(r[1].rstrip("ms")) for r in rows if r[0] != "failed"]
failed = sum(1 for r in rows if r[0] == "failed")
rps = [float(r[0]) for r in rows if r[0] != "failed"]
print(f"{float(sys.argv[2]):.2f} {max(p99):.1f} {sum(rps)/len(rps):.0f} {len(rows)} {failed}")
PY
    # Every slice's p99, in order, so a spike can be placed in the refresh.
    awk '{printf "%s ", $2} END {print ""}' "$out" > "$WORK/slices-$flag.txt"
}

# Resets the integration copy to the sample data and waits until the server has removed the
# copy it replaced.
reset_to_sample() {
    "$BIN" --data-dir "$DATA" refresh request --tenant "$TENANT" --force --source sample >/dev/null 2>&1
    for _ in $(seq 60); do
        [ "$(ls "$DATA"/datasets/integration-"$TENANT"-g*.db | wc -l)" -le 1 ] && break
        sleep 1
    done
}

echo "== refresh, without masking, under list load"
read -r PLAIN PLAIN_P99 PLAIN_RPS PLAIN_SLICES PLAIN_FAILED <<< "$(refresh_under_load --no-mask)"
printf "   %.2f s; reads during it: worst p99 %.1f ms over %s slices of %s s (%s req/s, %s failed slices)\n" \
    "$PLAIN" "$PLAIN_P99" "$PLAIN_SLICES" "$SLICE" "$PLAIN_RPS" "$PLAIN_FAILED"
echo "   p99 by slice: $(cat "$WORK/slices---no-mask.txt")"
# Back to the sample data, which removes the full copy, so the next refresh also needs room
# for one more copy only.
reset_to_sample
echo "== refresh, with masking, under list load"
read -r MASKED MASKED_P99 MASKED_RPS MASKED_SLICES MASKED_FAILED <<< "$(refresh_under_load --mask)"
printf "   %.2f s; reads during it: worst p99 %.1f ms over %s slices of %s s (%s req/s, %s failed slices)\n" \
    "$MASKED" "$MASKED_P99" "$MASKED_SLICES" "$SLICE" "$MASKED_RPS" "$MASKED_FAILED"
echo "   p99 by slice: $(cat "$WORK/slices---mask.txt")"
# The same masked refresh once more with no requests competing for the two cores.
reset_to_sample
echo "== refresh, with masking, no load"
start=$(date +%s.%N)
"$BIN" --data-dir "$DATA" refresh request --tenant "$TENANT" --force --mask > "$WORK/refresh.out" 2>&1 \
    || { cat "$WORK/refresh.out"; exit 1; }
IDLE=$(echo "$(date +%s.%N) - $start" | bc)
printf "   %.2f s\n" "$IDLE"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

echo "== summary (targets: refresh <= 3x cp, masked <= 6x cp, p99 of reads < 50 ms)"
python3 - "$CP" "$PLAIN" "$MASKED" "$PLAIN_P99" "$MASKED_P99" "$IDLE" <<'PY'
import sys
cp, plain, masked, p1, p2, idle = map(float, sys.argv[1:])
print(f"   cp {cp:.2f} s | refresh {plain:.2f} s = {plain/cp:.2f}x cp | masked {masked:.2f} s = {masked/cp:.2f}x cp")
print(f"   masked with no load: {idle:.2f} s = {idle/cp:.2f}x cp")
print(f"   p99 of list requests during refresh: {p1:.1f} ms, during masked refresh: {p2:.1f} ms")
PY
