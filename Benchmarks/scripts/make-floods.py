#!/usr/bin/env python3
"""Flood captures at full size for the memory and speed measurements (Benchmarks/README.md,
"Floods"), written straight to files with Fixtures/floods/make.py's packet builders and fixed
seeds: never sent on any network.

    python3 Benchmarks/scripts/make-floods.py [DIR] [SCALE] [NAME...]   # default Benchmarks/data, 1.0, all

NAME is one of syn, syn-cookies, scan, udp, fragments (default: all of them); SCALE multiplies
every count (0.25 and 4 make the 250,000 and 4,000,000-SYN floods of Benchmarks/README.md).

data/flood-syn.pcap        1,000,000 SYNs to 10.0.0.2:80 over 10 s from random (spoofed) sources,
                           unanswered (the issue's capture)
data/flood-syn-cookies.pcap 500,000 SYNs, each answered by a SYN/ACK (a server with SYN cookies on)
data/flood-scan.pcap       a full port scan: ports 1-65535 of 8 hosts, each answered by a reset
data/flood-udp.pcap        1,000,000 datagrams of 32 bytes to 10.0.0.2:27015, each from its own
                           random source address and port (a new conversation each)
data/flood-fragments.pcap  1,000,000 first fragments (8 bytes) of distinct datagrams that never complete
"""
import importlib.util
import os
import random
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("floods", os.path.join(here, "../../Fixtures/floods/make.py"))
floods = importlib.util.module_from_spec(spec)
spec.loader.exec_module(floods)
ip, tcp, udp, SYN, ACK, RST = floods.ip, floods.tcp, floods.udp, floods.SYN, floods.ACK, floods.RST


class Writer:
    """Records written as they are made (in time order), not held in memory."""

    def __init__(self, path):
        self.file = open(path, "wb")
        self.file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def add(self, time, packet):
        frame = floods.ethernet(packet)
        micros = round(time * 1_000_000)
        self.file.write(struct.pack("<IIII", floods.T0 + micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
        self.file.write(frame)

    def close(self):
        self.file.close()


def fragment(src, dst, ident, payload):
    header = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident, 0x2000, 64, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", floods.checksum(header)) + header[12:]
    return header + payload


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../data")
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    names = set(sys.argv[3:]) or {"syn", "syn-cookies", "scan", "udp", "fragments"}
    os.makedirs(folder, exist_ok=True)
    server = ip("10.0.0.2")
    if "syn" in names:
        syn_flood(folder, scale, server)
    if "syn-cookies" in names:
        syn_cookies(folder, scale, server)
    if "scan" in names:
        port_scan(folder, scale)
    if "udp" in names:
        udp_flood(folder, scale, server)
    if "fragments" in names:
        fragments(folder, scale, server)


def syn_flood(folder, scale, server):
    rng, n = random.Random("flood-syn"), int(1_000_000 * scale)
    w = Writer(os.path.join(folder, "flood-syn.pcap"))
    for i in range(n):
        w.add(10 * i / n, tcp(floods.spoofed(rng), server, rng.randrange(1024, 65536), 80, rng.getrandbits(32), 0, SYN, mss=1460))
    w.close()


def syn_cookies(folder, scale, server):
    rng, n = random.Random("flood-syn-cookies"), int(500_000 * scale)
    w = Writer(os.path.join(folder, "flood-syn-cookies.pcap"))
    for i in range(n):
        source, port, isn = floods.spoofed(rng), rng.randrange(1024, 65536), rng.getrandbits(32)
        w.add(10 * i / n, tcp(source, server, port, 80, isn, 0, SYN, mss=1460))
        w.add(10 * i / n + 0.00001, tcp(server, source, 80, port, rng.getrandbits(32), isn + 1, SYN | ACK, mss=1460))
    w.close()


def port_scan(folder, scale):
    rng, hosts = random.Random("flood-scan"), max(1, int(8 * scale))
    w = Writer(os.path.join(folder, "flood-scan.pcap"))
    scanner, t = ip("203.0.113.66"), 0.0
    for host in range(hosts):
        target = ip("10.0.2.0") + 1 + host
        for port in range(1, 65536):
            isn = rng.getrandbits(32)
            w.add(t, tcp(scanner, target, 40000 + port % 1000, port, isn, 0, SYN, window=1024, mss=1460))
            w.add(t + 0.000005, tcp(target, scanner, port, 40000 + port % 1000, 0, isn + 1, RST | ACK, window=0))
            t += 0.00001
    w.close()


def udp_flood(folder, scale, server):
    rng, n = random.Random("flood-udp"), int(1_000_000 * scale)
    w = Writer(os.path.join(folder, "flood-udp.pcap"))
    payload = bytes(32)
    for i in range(n):
        w.add(10 * i / n, udp(floods.spoofed(rng), server, rng.randrange(1024, 65536), 27015, payload))
    w.close()


def fragments(folder, scale, server):
    rng, n = random.Random("flood-fragments"), int(1_000_000 * scale)
    w = Writer(os.path.join(folder, "flood-fragments.pcap"))
    for i in range(n):
        w.add(10 * i / n, fragment(floods.spoofed(rng), server, i & 0xFFFF, bytes(8)))
    w.close()


if __name__ == "__main__":
    main()
