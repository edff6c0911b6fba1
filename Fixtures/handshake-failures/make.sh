#!/usr/bin/env bash
# TCP handshakes that fail, one curl each, client ports pinned, across two network namespaces:
#   port 81: nothing listens, the server's kernel answers the SYN with RST (curl exit 7);
#   port 82: the server namespace drops SYNs (iptables INPUT), the client retransmits its SYN
#            until curl's --connect-timeout 3.5 (exit 28; this kernel retransmits a SYN after 1 s
#            four times before backing off, so 4 SYNs);
#   port 83: a listener exists, but the client namespace drops its own outgoing packets to port 83
#            that carry ACK without SYN (iptables OUTPUT, so they never reach the wire): the
#            SYN/ACK is never acknowledged and the server retransmits it; curl, connected from its
#            side, gives up after --max-time 4 (exit 28).
# Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
in_server iptables -A INPUT -p tcp --dport 82 --syn -j DROP
in_client iptables -A OUTPUT -p tcp --dport 83 --tcp-flags SYN,ACK ACK -j DROP
cat > "$WORK/listen.py" <<'PY'
import socket, time
listener = socket.socket()
listener.bind(("10.77.0.2", 83))
listener.listen(8)   # never accepts: the handshake never completes anyway
time.sleep(60)
PY
background "$SERVER" python3 "$WORK/listen.py"
listening 10.77.0.2:83
CURL=(in_client timeout 10 curl -sS -o /dev/null -w 'http_code=%{http_code}\n')
record "$FIXTURE_DIR/handshake-failures.pcap"
run closed  "${CURL[@]}" --connect-timeout 3.5 --local-port 40061 http://10.77.0.2:81/
run dropped "${CURL[@]}" --connect-timeout 3.5 --local-port 40062 http://10.77.0.2:82/
run no_ack  "${CURL[@]}" --max-time 4 --local-port 40063 http://10.77.0.2:83/
record_stop
in_server iptables -L INPUT -v -x -n >"$WORK/run/server-input.out"
in_client iptables -L OUTPUT -v -x -n >"$WORK/run/client-output.out"
extra_facts <<'PY'
def drops(name): return int(next(l.split() for l in out(name).splitlines() if " DROP " in l)[0])
def curl(name, port, server_port, case):
    return {"case": case, "client_port": port, "server": f"10.77.0.2:{server_port}",
            "exit_status": rc(name),
            "error": next((l for l in out(name).splitlines() if l.startswith("curl: (")), None)}
CAPTURE = "handshake-failures.pcap"
def frames(port, flags):   # what tshark counts in the capture on that connection
    return tshark_count(CAPTURE, f"tcp.port == {port} && tcp.flags == {flags}")
FACTS["connections"] = [
    {**curl("closed", 40061, 81, "closed_port"), "expect": "SYN answered by RST",
     "syn_frames": frames(40061, "0x002"), "rst_frames": frames(40061, "0x014")},
    {**curl("dropped", 40062, 82, "syn_dropped"), "expect": "SYN retransmitted, no answer",
     "syn_frames": frames(40062, "0x002"), "server_iptables_syn_drops": drops("server-input")},
    {**curl("no_ack", 40063, 83, "synack_unacknowledged"),
     "expect": "SYN/ACK retransmitted by the server, never acknowledged",
     "syn_frames": frames(40063, "0x002"), "synack_frames": frames(40063, "0x012"),
     "client_frames_after_syn": tshark_count(CAPTURE, "tcp.srcport == 40063 && tcp.flags.syn == 0"),
     "client_iptables_ack_drops": drops("client-output")},
]
FACTS["notes"] = ("connections in the order made. *_frames: tshark's count in the capture "
                  "(flags exactly SYN 0x002, RST+ACK 0x014, SYN+ACK 0x012). server_iptables_syn_drops: SYNs the server namespace "
                  "dropped (each is in the capture, recorded before the server); "
                  "client_iptables_ack_drops: packets the client namespace dropped before they reached "
                  "its interface (none of them is in the capture).")
PY
write_facts handshake-failures.pcap @"$WORK/extra.json"
