#!/usr/bin/env bash
# One load-generator host stalling its senders: a python client (10.77.0.1) opens 40 connections
# to a python server (10.77.0.2:7100) that writes to every connection as fast as it can. The
# client asks for a small receive buffer (SO_RCVBUF 4096) and reads nothing for a second, so each
# connection's window fills and the client announces a zero window, from 40 ephemeral ports; then
# it reads each connection dry once more and closes them all. Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
cat > "$WORK/writer.py" <<'PY'
import select, socket, time
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.0.2", 7100))
listener.listen(64)
listener.setblocking(False)
chunk, writers = b"z" * 4096, []
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    readable, writable, _ = select.select([listener], writers, [], 0.2)
    if readable:
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        conn.setblocking(False)
        writers.append(conn)
    for conn in writable:
        try:
            conn.send(chunk)
        except OSError:   # the client closed: stop writing to it
            writers.remove(conn)
            conn.close()
PY
cat > "$WORK/loader.py" <<'PY'
import socket, sys, time
count, opened = int(sys.argv[1]), []
for _ in range(count):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: the window follows
    sock.connect(("10.77.0.2", 7100))
    opened.append(sock)
    time.sleep(0.02)
time.sleep(1)   # read nothing: every window fills and closes
for sock in opened:
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        pass
print(f"opened={len(opened)}")
for sock in opened:
    sock.close()
PY
background "$SERVER" python3 "$WORK/writer.py"
listening 10.77.0.2:7100
CONNECTIONS=40
record "$FIXTURE_DIR/zero-window-clients.pcap" -s 128
run loader in_client python3 "$WORK/loader.py" "$CONNECTIONS"
record_stop
CONNECTIONS=$CONNECTIONS extra_facts <<'PY'
capture = "zero-window-clients.pcap"
def fields(filter, field):
    cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], capture), "-Y", filter,
           "-T", "fields", "-e", field]
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.split()
FACTS["client"] = "10.77.0.1"
FACTS["server"] = "10.77.0.2:7100"
FACTS["connections_attempted"] = int(os.environ["CONNECTIONS"])
FACTS["loader"] = {"output": out("loader").strip(), "exit_status": rc("loader")}
FACTS["client_ports"] = len(set(fields("ip.src == 10.77.0.1 && tcp.flags.syn == 1", "tcp.srcport")))
FACTS["client_zero_window_frames"] = tshark_count(capture, "tcp.analysis.zero_window && ip.src == 10.77.0.1")
FACTS["streams_with_client_zero_window"] = len(set(fields("tcp.analysis.zero_window && ip.src == 10.77.0.1", "tcp.stream")))
FACTS["server_zero_window_frames"] = tshark_count(capture, "tcp.analysis.zero_window && ip.src == 10.77.0.2")
FACTS["window_full_frames_to_client"] = tshark_count(capture, "tcp.analysis.window_full && ip.src == 10.77.0.2")
FACTS["server_retransmissions"] = tshark_count(capture, "tcp.analysis.retransmission && ip.src == 10.77.0.2")
FACTS["notes"] = ("Recorded on the client's interface, snaplen 128. client_ports: distinct source ports of the "
                  "client's SYNs; client_zero_window_frames: frames tshark marks tcp.analysis.zero_window sent "
                  "by the client, in streams_with_client_zero_window conversations; window_full_frames_to_client: "
                  "tcp.analysis.window_full frames the server sent; server_retransmissions: tcp.analysis.retransmission "
                  "frames the server sent (the client's kernel drops data past its small buffer, so some are resent).")
PY
write_facts zero-window-clients.pcap @"$WORK/extra.json"
