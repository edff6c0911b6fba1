#!/usr/bin/env bash
# HTTP/2 errors, cleartext with prior knowledge, across two network namespaces: a small server on
# the python h2 library (10.77.0.2:8080) answers nghttp's four requests on one connection with
#   /refused      RST_STREAM REFUSED_STREAM, no response
#   /reset        200 headers and part of a body, then RST_STREAM INTERNAL_ERROR
#   /unavailable  503 with a short body
#   /grpc         200 application/grpc, then trailers grpc-status 14 (UNAVAILABLE), no message
# with GOAWAY ENHANCE_YOUR_CALM (debug data "calm down", last stream id that of /grpc) between
# /grpc's headers and its trailers; the server closes once nghttp has.
# The server logs what it sent; nghttp -v what it received. Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
python3 -c 'import h2' 2>/dev/null || { echo "the python h2 library is needed (pip install h2)" >&2; exit 1; }
netns_pair
cat > "$WORK/h2server.py" <<'PY'
import json, socket, sys
import h2.config, h2.connection, h2.errors, h2.events, hyperframe.frame
log = open(sys.argv[1], "w")
def sent(**fact): log.write(json.dumps(fact) + "\n"); log.flush()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("10.77.0.2", 8080))
listener.listen(1)
listener.settimeout(20)
sock, _ = listener.accept()
sock.settimeout(5)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
answered, last, grpc = 0, 0, None
while answered < 4:
    data = sock.recv(65535)
    if not data: break
    for event in conn.receive_data(data):
        if not isinstance(event, h2.events.RequestReceived): continue
        sid, path = event.stream_id, dict(event.headers)[":path"]
        last = max(last, sid)
        answered += 1
        if path == "/refused":
            conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            sent(stream_id=sid, path=path, status=None, rst_stream="REFUSED_STREAM", rst_stream_code=7)
        elif path == "/reset":
            conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain")])
            conn.send_data(sid, b"the first part of a body that never ends\n")
            conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            sent(stream_id=sid, path=path, status=200, rst_stream="INTERNAL_ERROR", rst_stream_code=2)
        elif path == "/unavailable":
            body = b"service unavailable, try later\n"
            conn.send_headers(sid, [(":status", "503"), ("content-type", "text/plain"),
                                    ("content-length", str(len(body))), ("retry-after", "5")])
            conn.send_data(sid, body, end_stream=True)
            sent(stream_id=sid, path=path, status=503, rst_stream=None)
        else:   # a gRPC failure: response headers, no message, then the status in trailers
            conn.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
            grpc = sid
            sent(stream_id=sid, path=path, status=200, grpc_status=14, rst_stream=None)
    sock.sendall(conn.data_to_send())
# GOAWAY while the gRPC stream is still open (its id is the last one, so it may finish), then its
# trailers: nghttp stops reading once its last stream ends, so a GOAWAY after that would go unseen.
# The h2 library allows nothing after its own GOAWAY, so the frame is built with hyperframe.
goaway = hyperframe.frame.GoAwayFrame(0)
goaway.last_stream_id, goaway.error_code, goaway.additional_data = last, 11, b"calm down"
sock.sendall(goaway.serialize())
sent(goaway="ENHANCE_YOUR_CALM", goaway_code=11, last_stream_id=last, debug_data="calm down")
conn.send_headers(grpc, [("grpc-status", "14"), ("grpc-message", "backend unavailable")], end_stream=True)
sock.sendall(conn.data_to_send())
# Read until nghttp closes, so nothing is left unread (which would make close() send a RST).
try:
    while sock.recv(65535): pass
except socket.timeout:
    pass
sock.close()
PY
background "$SERVER" python3 "$WORK/h2server.py" "$WORK/server.jsonl"
SERVER_PID=$LAST_PID
listening 10.77.0.2:8080
record "$FIXTURE_DIR/h2-errors.pcap"
run nghttp client_port 40031 in_client timeout 10 nghttp -v -n -H 'te: trailers' \
    http://10.77.0.2:8080/refused http://10.77.0.2:8080/reset http://10.77.0.2:8080/unavailable \
    http://10.77.0.2:8080/grpc
wait "$SERVER_PID" || true
record_stop
cp "$WORK/server.jsonl" "$WORK/run/server.out"
extra_facts <<'PY'
server = [json.loads(line) for line in out("server").splitlines()]
client = nghttp("nghttp")
FACTS["server_sent"] = {"streams": [s for s in server if "stream_id" in s],
                        "goaway": next(s for s in server if "goaway" in s)}
FACTS["client_received"] = client
FACTS["client"] = {"tool": "nghttp", "client_port": 40031, "server": "10.77.0.2:8080"}
FACTS["notes"] = ("server_sent: what the h2 server logged it sent, per stream in the order answered; "
                  "client_received: what nghttp -v printed (headers include trailers, in order). "
                  "nghttp also sends PRIORITY frames for idle streams 3, 5, 7, 9 and 11, its "
                  "dependency anchors; no request uses them.")
PY
write_facts h2-errors.pcap @"$WORK/extra.json"
