#!/usr/bin/env python3
"""A user-space delay line between two interfaces, for fixtures that need a round-trip time on
a machine without netem: every Ethernet frame received on one interface is sent out of the other
DELAY_MS milliseconds later (frames keep their order: the delay is the same for all). Frames the
sockets see leaving (our own copies) are skipped. Stops after MAX_SECONDS.

    delay-bridge.py IFACE_A IFACE_B DELAY_MS MAX_SECONDS"""
import collections, select, socket, sys, time

a, b, delay, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000, float(sys.argv[4])
ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4

def open_socket(name):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((name, 0))
    sock.setblocking(False)
    return sock

sockets = {a: open_socket(a), b: open_socket(b)}
other = {sockets[a]: sockets[b], sockets[b]: sockets[a]}
waiting = collections.deque()   # (due, out socket, frame), in arrival order: due times ascend
end = time.monotonic() + limit
print(f"bridging {a} and {b}, {delay * 1000:g} ms each way", flush=True)
while time.monotonic() < end:
    now = time.monotonic()
    while waiting and waiting[0][0] <= now:
        _, out, frame = waiting.popleft()
        try:
            out.send(frame)
        except OSError:   # a full queue drops the frame, as a link would
            pass
    timeout = max(0.0, waiting[0][0] - now) if waiting else 0.2
    readable, _, _ = select.select(list(sockets.values()), [], [], timeout)
    for sock in readable:
        while True:
            try:
                frame, address = sock.recvfrom(65535)
            except BlockingIOError:
                break
            if address[2] != PACKET_OUTGOING:
                waiting.append((time.monotonic() + delay, other[sock], frame))
