#!/usr/bin/env bash
# Nagle's algorithm meeting a delayed ACK: a python client (10.77.0.1) sends each request in two
# writes of 100 bytes and then reads a 100-byte answer, 30 times on one connection (client port
# 40081), and again 30 times on a second connection with TCP_NODELAY set (client port 40082). The
# server (10.77.0.2:7200) answers once it has read all 200 bytes. Without TCP_NODELAY the second
# write waits in the client until the first is acknowledged, and the server delays that ACK
# (Linux: 40 ms) because it has nothing to send yet; with it, both writes leave at once. The
# client times every exchange (facts: exchange_ms per connection). Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
cat > "$WORK/server.py" <<'PY'
import socket
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.0.2", 7200))
listener.listen(4)
listener.settimeout(20)
for _ in range(2):
    conn, _ = listener.accept()
    while True:
        request = b""
        while len(request) < 200:
            data = conn.recv(200 - len(request))
            if not data:
                break
            request += data
        if len(request) < 200:
            break
        conn.sendall(b"r" * 100)
    conn.close()
PY
cat > "$WORK/client.py" <<'PY'
import json, socket, statistics, time
result = {}
for port, nodelay in ((40081, False), (40082, True)):
    sock = socket.socket()
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("10.77.0.1", port))
    sock.connect(("10.77.0.2", 7200))
    times = []
    for _ in range(30):
        start = time.monotonic()
        sock.send(b"a" * 100)
        sock.send(b"b" * 100)
        answer = b""
        while len(answer) < 100:
            answer += sock.recv(100 - len(answer))
        times.append((time.monotonic() - start) * 1000)
    sock.close()
    result[str(port)] = {"tcp_nodelay": nodelay, "exchanges": len(times),
                         "exchange_ms_median": round(statistics.median(times), 2),
                         "exchange_ms_max": round(max(times), 2),
                         "exchanges_over_30_ms": sum(t > 30 for t in times)}
    time.sleep(0.2)
print(json.dumps(result))
PY
background "$SERVER" timeout 60 python3 "$WORK/server.py"
SERVER_PID=$LAST_PID
listening 10.77.0.2:7200
record "$FIXTURE_DIR/nagle-delayed-ack.pcap"
run client in_client timeout 60 python3 "$WORK/client.py"
wait "$SERVER_PID" || true
record_stop
extra_facts <<'PY'
FACTS["client_exchanges"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["notes"] = ("client_exchanges: per client port, what the client timed for each exchange (two writes of "
                  "100 bytes, then reading the 100-byte answer): the median and largest, and how many took "
                  "over 30 ms. Port 40081 without TCP_NODELAY, 40082 with it. Server 10.77.0.2:7200.")
PY
write_facts nagle-delayed-ack.pcap @"$WORK/extra.json"
