#!/usr/bin/env python3
"""Both ends of the slow-responses fixture.

    exchanges.py serve ADDR
        a line protocol on ADDR:7400 and ADDR:7401, one connection each: "WAIT MS\\n" is answered
        after sleeping MS milliseconds with a 64-byte line; "SEND BYTES\\n" is answered at once with
        BYTES bytes. And HTTP/1.1 with keep-alive on ADDR:8080: GET /delay/MS answers 200 with a
        1,000-byte body after sleeping MS milliseconds. Each listener stops after its connection
        closes (or 30 s).
    exchanges.py ask ADDR PORT CLIENT_PORT THINK_MS REQUEST...
        one connection from CLIENT_PORT; for each REQUEST ("WAIT:100", "SEND:16384") sends it as a
        line ("WAIT 100\n"),
        reads the whole answer, then sleeps THINK_MS before the next. Prints JSON: per request,
        what it sent and when (ms from connect) it sent it, read the first byte and the last byte
        of the answer."""
import json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

def line_server(address, port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    listener.settimeout(30)
    conn, _ = listener.accept()
    reader = conn.makefile("rb")
    for line in reader:
        verb, value = line.split()
        if verb == b"WAIT":
            time.sleep(int(value) / 1000)
            conn.sendall(b"done".ljust(63) + b"\n")
        else:
            conn.sendall(b"d" * int(value))
    conn.close()

class Delayed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: curl's requests share the connection
    wbufsize = 65536   # the head and the body written together (two writes would meet Nagle and a delayed ACK)
    def do_GET(self):
        time.sleep(int(self.path.rsplit("/", 1)[1]) / 1000)
        body = b"b" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass

mode = sys.argv[1]
if mode == "serve":
    address = sys.argv[2]
    threads = [threading.Thread(target=line_server, args=(address, port), daemon=True) for port in (7400, 7401)]
    http = HTTPServer((address, 8080), Delayed)
    http.timeout = 30
    threads.append(threading.Thread(target=http.handle_request, daemon=True))   # one connection
    for t in threads: t.start()
    for t in threads: t.join(40)
else:
    address, port, client_port, think = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("", client_port))
    sock.connect((address, port))
    start = time.monotonic()
    ms = lambda: round((time.monotonic() - start) * 1000, 3)
    exchanges = []
    for index, request in enumerate(sys.argv[6:]):
        if index: time.sleep(think / 1000)
        verb, value = request.split(":")
        expected = 64 if verb == "WAIT" else int(value)
        sent = ms()
        sock.sendall(f"{verb} {value}\n".encode())
        received, first = 0, None
        while received < expected:
            data = sock.recv(65536)
            if not data: sys.exit("the server closed early")
            if first is None: first = ms()
            received += len(data)
        exchanges.append({"request": f"{verb} {value}", "sent_ms": sent, "first_byte_ms": first, "last_byte_ms": ms()})
    sock.close()
    print(json.dumps({"think_ms": think, "exchanges": exchanges}))
