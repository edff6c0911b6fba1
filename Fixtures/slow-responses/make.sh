#!/usr/bin/env bash
# Servers that take a known time to answer, and a client that takes a known time between answers
# (exchanges.py beside this script). Three connections from the client (10.77.0.1) over a direct
# link, one after the other:
#   port 40094 -> 10.77.0.2:7400, a line protocol: 20 requests "WAIT MS" answered after sleeping MS
#     (80 to 130 ms, and 1,100 to 1,250 ms for four of them), the client waiting 50 ms after each
#     answer before the next request: slow responses, p95 over a second;
#   port 40095 -> 10.77.0.2:8080, HTTP/1.1: curl fetching /delay/MS for 10 delays on one kept-alive
#     connection (time_starttransfer per request in facts, and tshark's http.time);
#   port 40096 -> 10.77.0.2:7401, the line protocol's "SEND 16384" answered at once with 16 KiB,
#     20 times, the client thinking 200 ms after each: the server idle with the window open, for
#     the client's think time.
# The clients' own timings are facts (ms from connect: request sent, first and last byte of each
# answer). Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/exchanges.py" serve 10.77.0.2
SERVER_PID=$LAST_PID
listening 10.77.0.2:7400
listening 10.77.0.2:7401
listening 10.77.0.2:8080
record_at "$CLIENT" c "$FIXTURE_DIR/slow-responses.pcap"
WAITS=(80 120 100 90 1200 110 95 105 130 85 1250 100 115 90 125 1100 100 95 110 1150)
export WAIT_LIST="${WAITS[*]}"
run waits in_client timeout 60 python3 "$FIXTURE_DIR/exchanges.py" ask 10.77.0.2 7400 40094 50 \
    $(printf 'WAIT:%s ' "${WAITS[@]}")
DELAYS=(50 100 150 200 300 400 600 800 1000 1500)
export DELAY_LIST="${DELAYS[*]}"
URLS=()
for ms in "${DELAYS[@]}"; do URLS+=(-o /dev/null "http://10.77.0.2:8080/delay/$ms"); done
run curl in_client timeout 60 curl -s --local-port 40095 -w '%{time_starttransfer} %{time_pretransfer} %{num_connects}\n' "${URLS[@]}"
run sends in_client timeout 60 python3 "$FIXTURE_DIR/exchanges.py" ask 10.77.0.2 7401 40096 200 \
    $(printf 'SEND:16384 %.0s' $(seq 20))
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
import statistics
def tshark_fields(filter, *fields):
    cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], "slow-responses.pcap"), "-Y", filter,
           "-T", "fields"] + [a for f in fields for a in ("-e", f)]
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")
    return [l.split("\t") for l in subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.splitlines()]
FACTS["waits"] = json.loads(out("waits"))
FACTS["waits"]["server_sleep_ms"] = [int(x) for x in os.environ["WAIT_LIST"].split()]
FACTS["waits"]["exit_status"] = rc("waits")
FACTS["sends"] = json.loads(out("sends"))
FACTS["sends"]["exit_status"] = rc("sends")
curl = [line.split() for line in out("curl").splitlines()]
FACTS["curl"] = {"server_sleep_ms": [int(x) for x in os.environ["DELAY_LIST"].split()],
                 "time_starttransfer_s": [float(c[0]) for c in curl], "time_pretransfer_s": [float(c[1]) for c in curl],
                 "connects": [int(c[2]) for c in curl], "exit_status": rc("curl")}
FACTS["tshark_http_time_s"] = [float(f[0]) for f in tshark_fields("http.response && tcp.dstport == 40095", "http.time")]
FACTS["notes"] = ("waits: the line client on port 40094 (server 10.77.0.2:7400): per request the ms from connect it "
                  "was sent and the first and last byte of its answer came, and the server's sleep; think_ms after "
                  "each answer. sends: the same for port 40096 (10.77.0.2:7401, 16 KiB answers at once). curl: port "
                  "40095 to 10.77.0.2:8080, one connection (num_connects 1 then 0), time_starttransfer per request "
                  "(from curl's start of that request). tshark_http_time_s: tshark's http.time per response.")
PY
write_facts slow-responses.pcap @"$WORK/extra.json"
