#!/usr/bin/env bash
# Sockets stuck in CLOSE_WAIT: a python server (10.77.0.2:7000) accepts connections, reads what
# comes, and never closes a socket, not even after the client's FIN. The client opens 30
# connections, one every 0.1 s; each sends one line and closes. So every connection shows the
# client's FIN acknowledged by the server and no FIN back. The ground truth is `ss` in the server
# namespace, counted just before the capture stops, while the server still holds its sockets.
# Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
cat > "$WORK/holder.py" <<'PY'
import select, socket, time
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.0.2", 7000))
listener.listen(64)
watched, held = [listener], []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    ready, _, _ = select.select(watched, [], [], 1)
    for sock in ready:
        if sock is listener:
            conn, _ = listener.accept()
            watched.append(conn)
            held.append(conn)   # never closed: the process keeps it until it is stopped
        elif not sock.recv(4096):
            watched.remove(sock)   # the client's FIN: stop reading, but do not close
PY
background "$SERVER" python3 "$WORK/holder.py"
listening 10.77.0.2:7000
CONNECTIONS=30
record "$FIXTURE_DIR/close-wait.pcap"
ok=0
for i in $(seq "$CONNECTIONS"); do
    in_client timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.0.2/7000 && printf "hello %s\n" "$1" >&3 && exec 3>&-' \
        _ "$i" && ok=$((ok + 1))
    sleep 0.1
done
sleep 0.5
in_server ss -Htan state close-wait >"$WORK/run/server-ss.out"
in_client ss -Htan state fin-wait-2 >"$WORK/run/client-ss.out"
record_stop
OK=$ok CONNECTIONS=$CONNECTIONS extra_facts <<'PY'
def sockets(name):   # ss -H lines: Recv-Q Send-Q Local Peer (no state column with "state X")
    return [line.split() for line in out(name).splitlines() if line.strip()]
server, client = sockets("server-ss"), sockets("client-ss")
FACTS["server"] = "10.77.0.2:7000"
FACTS["connections_attempted"] = int(os.environ["CONNECTIONS"])
FACTS["connections_completed"] = int(os.environ["OK"])
FACTS["close_wait_sockets"] = len(server)
FACTS["close_wait_peers"] = sorted(s[3] for s in server)
FACTS["client_fin_wait_2_sockets"] = len(client)
FACTS["notes"] = ("close_wait_sockets: `ss -tan state close-wait` in the server namespace just before "
                  "the capture stopped; client_fin_wait_2_sockets: `ss -tan state fin-wait-2` in the "
                  "client's. Each client sent one line and closed; the server never sent a FIN.")
PY
write_facts close-wait.pcap @"$WORK/extra.json"
