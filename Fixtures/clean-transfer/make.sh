#!/usr/bin/env bash
# Nothing slows it: a python server (10.77.0.2:7300) sends 4 MiB to a client (10.77.0.1, port
# 40095) that reads at once, over a direct veth link (no delay, no loss, window scaling on, the
# client's buffers autotuned). The server's send buffer is 64 KiB (SO_SNDBUF), so it never outruns
# the reading client (which then never closes its window) and never pauses. The no-alarm
# baseline for the throughput findings. Recorded on the server's
# interface, headers only.
source "$(dirname "$0")/../lib.sh"
netns_pair
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 4194304 --sndbuf 65536
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/clean-transfer.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40095
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["sender"] = {"so_sndbuf_requested": 65536}
FACTS["notes"] = "sender: the server's send buffer request. client: what the receiving client measured. Server 10.77.0.2:7300, client port 40095."
PY
write_facts clean-transfer.pcap @"$WORK/extra.json"
