#!/usr/bin/env python3
"""The two ends of the transfer fixtures: a server that sends, a client that receives.

    transfer.py serve ADDR PORT BYTES [--burst N --pause SECONDS] [--sndbuf N]
        accepts one connection and sends BYTES (in bursts of N bytes with a pause after each,
        when given; with SO_SNDBUF N, when given), then closes.
    transfer.py fetch ADDR PORT CLIENT_PORT [--rcvbuf N]
        connects from CLIENT_PORT (with SO_RCVBUF N set before connecting, when given), reads
        until the server closes, and prints what it measured as JSON: bytes, seconds from
        connect to the last byte, throughput, and the receive buffer the kernel granted."""
import json, socket, sys, time

def option(name, default=None, cast=int):
    return cast(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

mode, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "serve":
    total, burst, pause = int(sys.argv[4]), option("--burst"), option("--pause", 0.0, float)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    listener.settimeout(20)
    conn, _ = listener.accept()
    if option("--sndbuf"):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, option("--sndbuf"))
    sent, chunk = 0, b"x" * (burst or 65536)
    while sent < total:
        piece = chunk[: total - sent]
        conn.sendall(piece)
        sent += len(piece)
        if burst and sent < total:
            time.sleep(pause)
    conn.close()
else:
    client_port, rcvbuf = int(sys.argv[4]), option("--rcvbuf")
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)   # before connect: the window follows
    sock.bind(("", client_port))
    start = time.monotonic()
    sock.connect((address, port))
    received = 0
    while True:
        data = sock.recv(65536)
        if not data:
            break
        received += len(data)
    seconds = time.monotonic() - start
    print(json.dumps({"bytes": received, "seconds": round(seconds, 4),
                      "throughput_bytes_per_second": round(received / seconds),
                      "so_rcvbuf": sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}))
