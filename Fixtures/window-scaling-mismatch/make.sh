#!/usr/bin/env bash
# Window scaling offered by one side only: net.ipv4.tcp_window_scaling=0 in the server's namespace
# (sysctls are per network namespace), so the client's SYN offers a window scale and the server's
# SYN/ACK does not; RFC 7323 then turns scaling off both ways. The client (10.77.0.1:40097)
# downloads 1 MiB from a python server (10.77.0.2:7300) over a 20 ms round trip (the delay bridge,
# 10 ms each way): with unscaled windows at most 64 KiB per round trip. Recorded on the server's
# interface (the sender's side). Facts: what the client measured, and tshark's reading of the
# handshake (tcp.options.wscale per SYN, tcp.window_size_scalefactor per direction).
source "$(dirname "$0")/../lib.sh"
netns_delayed 10
in_server sysctl -qw net.ipv4.tcp_window_scaling=0
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.0.2 7300 1048576
SERVER_PID=$LAST_PID
listening 10.77.0.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/window-scaling-mismatch.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.0.2 7300 40097
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
exec(open(os.path.join(os.environ["NSFT_FIXTURE_DIR"], "../window-scaling-facts.py")).read())
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["server_sysctl"] = {"net.ipv4.tcp_window_scaling": 0}
FACTS["path"] = {"one_way_delay_ms": 10, "round_trip_ms": 20}
FACTS["window_scaling"] = window_scaling("window-scaling-mismatch.pcap")
FACTS["notes"] = ("client: what the receiving client measured. server_sysctl: set in the server's namespace only. "
                  "window_scaling: tshark on the capture (see Fixtures/window-scaling-facts.py). Server "
                  "10.77.0.2:7300, client port 40097.")
PY
write_facts window-scaling-mismatch.pcap @"$WORK/extra.json"
