#!/usr/bin/env bash
# A sender that pauses: a python server (10.77.0.2:7300) sends 20 bursts of 16 KiB with 200 ms of
# sleep after each (320 KiB in about 4 s) to a client (10.77.0.1, port 40093) that reads at once,
# through the delay bridge (10 ms each way). The window is open and nothing is lost: the
# application, not the network, sets the pace. Recorded on the server's interface.
source "$(dirname "$0")/../lib.sh"
netns_delayed 10
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 327680 --burst 16384 --pause 0.2
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/application-limited.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40093
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["sender"] = {"bursts": 20, "burst_bytes": 16384, "pause_seconds": 0.2}
FACTS["path"] = {"one_way_delay_ms": 10, "round_trip_ms": 20}
FACTS["notes"] = ("sender: how the server wrote (bursts, their size, the sleep after each but the last). client: "
                  "what the client measured. path: the delay bridge's setting. Server 10.77.0.2:7300, client port 40093.")
PY
write_facts application-limited.pcap @"$WORK/extra.json"
