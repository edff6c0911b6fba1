#!/usr/bin/env bash
# Bufferbloat: a python server (10.77.0.2:7300) sends 8 MiB to a client (10.77.0.1, port 40096)
# through the delay bridge (lib.sh netns_delayed: 5 ms each way, a 10 ms round trip when idle).
# The bridge is a slow link (one python process copying frames) with a deep queue in front of it
# (its sockets' 8 MiB receive buffers): the sender's window fills that queue, and every segment
# then waits behind it, so round trips grow several-fold while the transfer runs. Recorded on the
# server's interface (the sender's side).
source "$(dirname "$0")/../lib.sh"
netns_delayed 5
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 8388608
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/rtt-inflation.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40096
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["path"] = {"one_way_delay_ms": 5, "round_trip_ms": 10}
FACTS["notes"] = ("client: what the receiving client measured. path: the delay bridge's added delay (the "
                  "round trip when nothing waits in its queue). Server 10.77.0.2:7300, client port 40096.")
PY
write_facts rtt-inflation.pcap @"$WORK/extra.json"
