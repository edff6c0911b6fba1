#!/usr/bin/env bash
# TCP under random loss: iperf3 sends 400 kB from the client (10.77.1.1) through a router to the
# server (10.77.2.2); the router drops each forwarded client->server TCP segment of 1000 bytes or
# more with probability 0.05 (iptables statistic, there is no netem here), so only data segments
# are lost, never the handshake, ACKs or FIN, and the client retransmits them. Recorded on the
# client's interface (the sender's side: originals and retransmissions both appear), headers only
# (snaplen 128). The count of drops varies run to run; facts.json holds this run's.
source "$(dirname "$0")/../lib.sh"
netns_routed
in_router iptables -A FORWARD -i rc -o rs -p tcp --dport 5201 -m length --length 1000:65535 \
    -m statistic --mode random --probability 0.05 -j DROP
background "$SERVER" timeout 60 iperf3 -s -1 -B 10.77.2.2 -p 5201 -J --logfile "$WORK/iperf3-server.json"
SERVER_PID=$LAST_PID
listening :5201
record "$FIXTURE_DIR/tcp-loss-retransmissions.pcap" -s 128
run iperf3 in_client timeout 30 iperf3 -c 10.77.2.2 -p 5201 -n 400K -J --connect-timeout 3000
record_stop
wait "$SERVER_PID" || true
in_router iptables -L FORWARD -v -x -n >"$WORK/run/forward.out"
extra_facts <<'PY'
client = json.loads(out("iperf3"))
drop = next(line.split() for line in out("forward").splitlines() if " DROP " in line)
start, end = client["start"], client["end"]
FACTS["iperf3"] = {
    "exit_status": rc("iperf3"),
    "server": "10.77.2.2:5201",
    "data_stream_client_port": start["connected"][0]["local_port"],
    "bytes_requested": start["test_start"]["bytes"],
    "bytes_sent": end["sum_sent"]["bytes"],
    "bytes_received": end["sum_received"]["bytes"],
    "sender_retransmits": end["sum_sent"]["retransmits"],
    "tcp_mss": start.get("tcp_mss_default"),
}
FACTS["router_drop_rule"] = {"chain": "FORWARD", "direction": "client->server", "probability": 0.05,
                             "min_ip_length": 1000, "dropped_packets": int(drop[0]),
                             "dropped_bytes": int(drop[1])}
FACTS["link_mtus"] = {"client-router": 1500, "router-server": 1500}
FACTS["notes"] = ("Two TCP connections to 10.77.2.2:5201: iperf3's control connection, then the data "
                  "connection (data_stream_client_port). sender_retransmits is the client kernel's "
                  "count (tcp_info) as iperf3 reported it; dropped_packets the router's DROP counter.")
PY
write_facts tcp-loss-retransmissions.pcap @"$WORK/extra.json"
