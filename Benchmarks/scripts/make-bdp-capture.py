#!/usr/bin/env python3
# Writes Benchmarks/data/bdp.pcap (never committed): a synthetic worst case for the TCP analysis's
# list of unacknowledged segments, not recorded traffic. One transfer of 200,003 packets: 100
# rounds of 1,000 full segments in flight, then 1,000 ACKs that each acknowledge one more segment.
import os
import struct
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
def ip(src, dst, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20+len(payload), 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
def tcp(sp, dp, seq, ack, flags, win, data=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5<<4, flags, win, 0, 0) + data
A, B = [10,0,0,1], [10,0,0,2]
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data')
os.makedirs(data, exist_ok=True)
out = open(os.path.join(data, 'bdp.pcap'), 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
t = 1_700_000_000_000_000
def rec(frame):
    global t
    t += 10
    eth = b'\x02'*6 + b'\x04'*6 + b'\x08\x00'
    f = eth + frame
    out.write(struct.pack('<IIII', t // 1_000_000, t % 1_000_000, len(f), len(f)) + f)
isn, risn = 1000, 5000
rec(ip(A, B, tcp(40000, 80, isn, 0, 0x02, 65535)))
rec(ip(B, A, tcp(80, 40000, risn, isn+1, 0x12, 65535)))
rec(ip(A, B, tcp(40000, 80, isn+1, risn+1, 0x10, 65535)))
seq = isn + 1
data = b'x' * 1448
for r in range(100):
    start = seq
    for i in range(1000):
        rec(ip(A, B, tcp(40000, 80, seq, risn+1, 0x10, 65535, data))); seq += 1448
    for i in range(1000):
        rec(ip(B, A, tcp(80, 40000, risn+1, start + 1448*(i+1), 0x10, 65535)))
out.close()
