#!/usr/bin/env bash
# A short MTU black hole on an upload: client (10.77.1.1) -- router -- server (10.77.2.2), both
# ends on 1500-byte links, the router's interface toward the server at MTU 1200, and its ICMP
# "fragmentation needed" dropped on the way out. curl PUTs 64 kB to an upload sink (python, reads
# and discards, answers nothing): the request head (a small segment) passes and is acknowledged;
# every full-size segment after it dies at the router.
# curl gives up after one second (--max-time 1), when the client has retransmitted the first
# full-size segment by timeout twice (RTO 200 ms, then 400 ms); the client's further
# retransmissions are then kept off the wire (iptables OUTPUT, before tcpdump sees them) and the
# capture ends — as a capture stopped during an outage would.
# Recorded on the client's interface, where the retransmissions are visible.
source "$(dirname "$0")/../lib.sh"
netns_routed 1500 1500
cat > "$WORK/sink.py" <<'PY'
import socket
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.2.2", 8080))
listener.listen(4)
listener.settimeout(30)
try:
    conn, _ = listener.accept()
    conn.settimeout(30)
    while conn.recv(65536):
        pass
except OSError:   # nothing more came: the upload is stuck, which is the point
    pass
PY
background "$SERVER" python3 "$WORK/sink.py"
listening 10.77.2.2:8080
head -c 65536 /dev/zero | tr '\0' 'u' > "$WORK/upload.bin"
ip -n "$ROUTER" link set rs mtu 1200
in_client sysctl -qw net.ipv4.tcp_mtu_probing=0   # the default, stated: no black hole detection
in_router iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
record "$FIXTURE_DIR/mtu-blackhole-upload.pcap"
run curl in_client curl -sS -o /dev/null --max-time 1 --local-port 40061 -H 'Expect:' -T "$WORK/upload.bin" \
    -w 'http_code=%{http_code} size_upload=%{size_upload}\n' http://10.77.2.2:8080/upload
in_client iptables -A OUTPUT -p tcp --sport 40061 -j DROP
record_stop
in_router iptables -L OUTPUT -v -x -n >"$WORK/run/output.out"
extra_facts <<'PY'
icmp = next(line.split() for line in out("output").splitlines() if "icmptype 3 code 4" in line)
text = out("curl")
capture = "mtu-blackhole-upload.pcap"
def fields(filter, field):   # one field of the frames tshark's display filter matches, as integers
    cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], capture), "-Y", filter,
           "-T", "fields", "-e", field]
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")
    return [int(n) for n in subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.split()]
first_full = fields("ip.src == 10.77.1.1 && tcp.len > 1200", "tcp.seq")[0]
FACTS["link_mtus"] = {"client c": 1500, "router rc": 1500, "router rs (toward server)": 1200, "server s": 1500}
FACTS["path_mtu"] = 1200
FACTS["curl"] = {"client": "10.77.1.1", "client_port": 40061, "server": "10.77.2.2:8080", "upload_bytes": 65536,
                 "exit_status": rc("curl"), "error": next((l for l in text.splitlines() if l.startswith("curl: (")), None)}
FACTS["router_icmp_frag_needed_dropped"] = int(icmp[0])
FACTS["client_data_segment_sizes"] = sorted(set(fields("ip.src == 10.77.1.1 && tcp.len > 0", "tcp.len")))
FACTS["client_bytes_sent"] = max(s + n for s, n in zip(fields("ip.src == 10.77.1.1 && tcp.len > 0", "tcp.seq"),
                                                       fields("ip.src == 10.77.1.1 && tcp.len > 0", "tcp.len"))) - 1
FACTS["retransmissions"] = tshark_count(capture, "tcp.analysis.retransmission && ip.src == 10.77.1.1")
FACTS["retransmissions_of_first_full_segment"] = tshark_count(
    capture, f"tcp.analysis.retransmission && ip.src == 10.77.1.1 && tcp.seq == {first_full}")
FACTS["server_acknowledged_up_to"] = max(fields("ip.src == 10.77.2.2 && tcp.flags.ack == 1", "tcp.ack")) - 1
FACTS["request_head_bytes"] = first_full - 1
FACTS["notes"] = ("Recorded on the client's interface. client_data_segment_sizes: the TCP payload sizes the client "
                  "sent (tshark tcp.len); retransmissions: frames tshark marks tcp.analysis.retransmission from "
                  "the client, of which retransmissions_of_first_full_segment resend the first segment above 1200 "
                  "bytes; request_head_bytes: the bytes before that segment; client_bytes_sent: the highest "
                  "relative sequence number the client's data reached; server_acknowledged_up_to: the bytes "
                  "the server's highest ACK covers (relative ACK - 1). "
                  "The router dropped router_icmp_frag_needed_dropped ICMP fragmentation-needed messages.")
PY
write_facts mtu-blackhole-upload.pcap @"$WORK/extra.json"
