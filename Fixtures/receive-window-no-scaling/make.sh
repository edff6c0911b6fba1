#!/usr/bin/env bash
# A receiver without window scaling on a 20 ms path: net.ipv4.tcp_window_scaling=0 in the client's
# namespace, so its SYN offers no window scale option and its window can never exceed 65,535
# bytes; it downloads 4 MiB from a python server (10.77.0.2:7300) from port 40092 through the delay
# bridge (10 ms each way). At most 64 KiB per round trip: about 3 MB/s whatever the link. The
# client measures its throughput (facts). Recorded on the server's interface (the sender's side).
source "$(dirname "$0")/../lib.sh"
netns_delayed 10
in_client sysctl -qw net.ipv4.tcp_window_scaling=0
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 4194304
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/receive-window-no-scaling.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40092
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["client_sysctl"] = {"net.ipv4.tcp_window_scaling": 0}
FACTS["path"] = {"one_way_delay_ms": 10, "round_trip_ms": 20}
FACTS["notes"] = ("client: what the receiving client measured (bytes, seconds from connect to the last byte, "
                  "throughput, its SO_RCVBUF). client_sysctl: set in the client's namespace only. path: the delay "
                  "bridge's setting. Server 10.77.0.2:7300, client port 40092.")
PY
write_facts receive-window-no-scaling.pcap @"$WORK/extra.json"
