#!/usr/bin/env bash
# A receiver with a tiny buffer on a 20 ms path: the client (10.77.0.1, port 40091) sets SO_RCVBUF
# to 4096 before connecting and downloads 512 KiB from a python server (10.77.0.2:7300); the delay
# bridge (lib.sh netns_delayed, Fixtures/delay-bridge.py) holds every frame 10 ms each way. The
# client's window stays at a few kB, so the server sends a window, waits a round trip for the ACK,
# and sends the next: about window / 20 ms. The client measures its throughput (facts). Recorded
# on the server's interface (the sender's side, where bytes in flight show the window).
source "$(dirname "$0")/../lib.sh"
netns_delayed 10
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 524288
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/receive-window-small-buffer.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40091 --rcvbuf 4096
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["path"] = {"one_way_delay_ms": 10, "round_trip_ms": 20}
FACTS["notes"] = ("client: what the receiving client measured (bytes, seconds from connect to the last byte, "
                  "throughput) and the SO_RCVBUF the kernel granted for the 4096 asked (Linux doubles it). "
                  "path: the delay bridge's setting. Server 10.77.0.2:7300, client port 40091.")
PY
write_facts receive-window-small-buffer.pcap @"$WORK/extra.json"
