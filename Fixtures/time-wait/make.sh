#!/usr/bin/env bash
# Many short connections and TIME_WAIT: a python client opens 200 connections, one after another
# (30 ms apart), to one server port (10.77.0.2:7001); each sends "ping", reads "pong" and closes
# first, so the client's side of each ends in TIME_WAIT. The client namespace has only 40
# ephemeral ports (40100-40139) and tcp_tw_reuse=1, so the kernel reuses ports still in
# TIME_WAIT (after tcp_tw_reuse_delay, 1 s): the same four-tuple appears for several
# connections. Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
in_client sysctl -qw net.ipv4.ip_local_port_range="40100 40139" net.ipv4.tcp_tw_reuse=1 \
    net.ipv4.tcp_tw_reuse_delay=1000
cat > "$WORK/pong.py" <<'PY'
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.0.2", 7001))
listener.listen(16)
listener.settimeout(30)
for _ in range(int(sys.argv[1])):
    conn, _ = listener.accept()
    conn.settimeout(5)
    if conn.recv(64): conn.sendall(b"pong\n")
    while conn.recv(64): pass   # until the client's FIN, then close: the client closed first
    conn.close()
PY
cat > "$WORK/ping.py" <<'PY'
import json, socket, sys, time
ports, errors = [], []
for _ in range(int(sys.argv[1])):
    try:
        s = socket.create_connection(("10.77.0.2", 7001), timeout=2)
        ports.append(s.getsockname()[1])
        s.sendall(b"ping\n")
        s.recv(64)
        s.close()
    except OSError as e:
        errors.append(str(e))
    time.sleep(0.03)
print(json.dumps({"client_ports": ports, "errors": errors}))
PY
CONNECTIONS=200
background "$SERVER" python3 "$WORK/pong.py" "$CONNECTIONS"
listening 10.77.0.2:7001
record "$FIXTURE_DIR/time-wait.pcap"
run ping in_client timeout 60 python3 "$WORK/ping.py" "$CONNECTIONS"
in_client ss -Htan state time-wait >"$WORK/run/client-ss.out"
record_stop
CONNECTIONS=$CONNECTIONS extra_facts <<'PY'
client = json.loads(out("ping"))
ports = client["client_ports"]
FACTS["server"] = "10.77.0.2:7001"
FACTS["connections_attempted"] = int(os.environ["CONNECTIONS"])
FACTS["connections"] = len(ports)
FACTS["connection_errors"] = client["errors"]
FACTS["client_ports_in_order"] = ports
FACTS["distinct_client_ports"] = len(set(ports))
FACTS["client_port_range"] = [40100, 40139]
FACTS["client_time_wait_sockets_at_end"] = len([l for l in out("client-ss").splitlines() if l.strip()])
FACTS["notes"] = ("connections: those the client completed (connect, ping, pong, close), in order, "
                  "with the local port getsockname() gave; ports repeat, so four-tuples are reused. "
                  "client_time_wait_sockets_at_end: `ss -tan state time-wait` in the client namespace "
                  "after the last connection.")
PY
write_facts time-wait.pcap @"$WORK/extra.json"
