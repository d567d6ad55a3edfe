#!/usr/bin/env bash
# Load test of seccode-server next to its floor, an axum route returning a fixed
# JSON body, in one run: wrk on loopback, 2 threads, 16 connections, 10 s each.
# Prints wrk's summaries; the wrong checks are also run paced at about half the
# saturating rate, for the latency there.
#
#   bash server/load/run.sh            SQLite configuration (needs wrk: apt-get install wrk)
#   STORE=redis bash server/load/run.sh  codes' records in a redis-server the script starts
#   STORE=postgres bash server/load/run.sh         everything in a PostgreSQL the script starts
#   STORE=redis+postgres bash server/load/run.sh   the several-servers configuration
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/seccode-target}"
cargo build --quiet --release -p seccode-server --bins --examples
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
floor_port=$(free_port); server_port=$(free_port)
"$bin/examples/floor" "127.0.0.1:$floor_port" & floor_pid=$!
redis_line=""; redis_pid=""; pg_dir=""
stop_postgres() {
    [ -n "$pg_dir" ] || return 0
    [ -f "$pg_dir/data/postmaster.pid" ] && kill -INT "$(head -1 "$pg_dir/data/postmaster.pid")" 2>/dev/null
    for _ in $(seq 100); do [ -f "$pg_dir/data/postmaster.pid" ] || break; sleep 0.1; done
    rm -rf "$pg_dir"
}
case "${STORE:-sqlite}" in *postgres*)
    # initdb and postgres run as the postgres user when the script runs as root.
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    pg_dir=$(mktemp -d /tmp/seccode-load-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$pg_dir"
    as_pg "$pg_bin/initdb" -A trust -U seccode --no-sync -E UTF8 -D "$pg_dir/data" >/dev/null
    pg_port=$(free_port)
    as_pg "$pg_bin/postgres" -D "$pg_dir/data" -p "$pg_port" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories="$pg_dir" -c max_connections=200 >/dev/null 2>&1 &
    for _ in $(seq 300); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.1; done
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U seccode -d postgres -c 'CREATE DATABASE verify'
    redis_line="database_url = \"postgres://seccode@127.0.0.1:$pg_port/verify\""
esac
case "${STORE:-sqlite}" in *redis*)
    redis_port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null & redis_pid=$!
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis_line="$redis_line
redis_url = \"redis://127.0.0.1:$redis_port/\""
esac
sid=AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
cat > "$work/seccode.toml" <<TOML
listen = "127.0.0.1:$server_port"
database = "$work/seccode.db"
$redis_line
[sms]
kind = "webhook"
url = "http://127.0.0.1:$floor_port/floor"
secret = "a load-test webhook secret of 32+ bytes"
[limits]
per_destination = 1000000
per_contact = 1000000
per_calling_code = 1000000
total = 10000000
TOML
SECCODE_CODE_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
SECCODE_ACCOUNT_SID=$sid SECCODE_AUTH_TOKEN=$token RUST_LOG=warn \
    "$bin/seccode-server" --config "$work/seccode.toml" & server_pid=$!
trap 'kill $floor_pid $server_pid $redis_pid 2>/dev/null || true; stop_postgres; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$server_port/healthz" >/dev/null && break; sleep 0.1; done
auth=$(printf '%s:%s' "$sid" "$token" | base64 -w0)
service=$(curl -fs -u "$sid:$token" -d FriendlyName=load "http://127.0.0.1:$server_port/v2/Services" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["sid"])')
# Verifications to wrong-check: 5 checks each at most over both check runs
# (VERIFICATIONS x 5 must exceed 1.5 x the saturating rate x 10 s).
python3 - "$server_port" "$service" "$auth" "$work/sids" "${VERIFICATIONS:-12000}" <<'PY'
import http.client, sys
port, service, auth, out, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"}
with open(out, "w") as f:
    for i in range(n):
        # US numbers in the 555 exchange of area codes 201, 202, …
        to = "%%2B1%d555%04d" % (201 + i // 10000, i % 10000)
        conn.request("POST", "/v2/Services/%s/Verifications" % service,
                     "To=%s&Channel=sms" % to, headers)
        r = conn.getresponse(); body = r.read()
        assert r.status == 201, body
        f.write(body.split(b'"sid":"')[1][:34].decode() + "\n")
PY
run() { echo "== $1"; shift; wrk -t2 -c16 -d10s --latency "$@"; }
run "floor: POST /floor (fixed JSON)" -s server/load/floor.lua "http://127.0.0.1:$floor_port/floor"
SIDS="$work/sids" SERVICE="$service" AUTH="$auth" THREADS=2 \
    run "wrong checks: POST VerificationCheck" -s server/load/check.lua "http://127.0.0.1:$server_port" |
    tee "$work/checks"
# The same at about half that rate, paced (2 ms between a response and the next
# request on each connection; connections = half rate x 3 ms), on sids not used yet.
done_checks=$(awk '/requests in/ {print $1}' "$work/checks")
rate=$(awk '/Requests\/sec/ {print int($2)}' "$work/checks")
conns=$(( (rate / 2 * 30 / 10000 + 1) / 2 * 2 )); [ "$conns" -ge 2 ] || conns=2
echo "(saturating: $rate/s; paced run: $conns connections, 2 ms pauses; aim $((rate / 2))/s)"
echo "== wrong checks, paced at about half the saturating rate"
SIDS="$work/sids" SERVICE="$service" AUTH="$auth" THREADS=2 OFFSET="$done_checks" PACE_MS=2 \
    wrk -t2 -c"$conns" -d10s --latency -s server/load/check.lua "http://127.0.0.1:$server_port"
SERVICE="$service" AUTH="$auth" \
    run "starts: POST Verifications (SMS to the webhook)" -s server/load/start.lua "http://127.0.0.1:$server_port"
