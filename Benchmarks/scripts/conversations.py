#!/usr/bin/env python3
"""Many short conversations of small messages, for make-conversations-capture.sh.

    conversations.py serve ADDRESS PORT          echo server: UDP and TCP on PORT, until killed
    conversations.py talk ADDRESS PORT COUNT MESSAGES SEED

`talk` opens COUNT conversations one after another, alternately UDP (a socket of its own, so a
port of its own) and TCP (connect, close), each exchanging MESSAGES messages of 16-120 bytes that
the server echoes; it waits for each echo (at most 0.2 s) before the next, so nothing floods.
"""
import random, selectors, socket, sys

def serve(address, port):
    selector = selectors.DefaultSelector()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, port))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(512)
    selector.register(udp, selectors.EVENT_READ, "udp")
    selector.register(listener, selectors.EVENT_READ, "accept")
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            if key.data == "udp":
                data, peer = sock.recvfrom(2048)
                sock.sendto(data, peer)
            elif key.data == "accept":
                conn, _ = sock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                selector.register(conn, selectors.EVENT_READ, "tcp")
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data:
                    sock.sendall(data)
                else:
                    selector.unregister(sock)
                    sock.close()

def talk(address, port, count, messages, seed):
    rng = random.Random(seed)
    for n in range(count):
        kind = socket.SOCK_DGRAM if n % 2 == 0 else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.settimeout(0.2)
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect((address, port))
            for _ in range(messages):
                payload = rng.randbytes(rng.randint(16, 120))
                if kind == socket.SOCK_DGRAM:
                    sock.sendto(payload, (address, port))
                    sock.recvfrom(2048)
                else:
                    sock.sendall(payload)
                    received = 0
                    while received < len(payload):
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        received += len(chunk)
        except OSError:
            pass   # a lost echo (timeout) or a refused connection: on to the next conversation
        finally:
            sock.close()

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        talk(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
