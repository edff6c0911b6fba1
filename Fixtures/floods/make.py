#!/usr/bin/env python3
"""Crafted captures of hostile traffic, written straight to files (never sent on any network, not
even between namespaces): every packet is built here, with Python's `random` seeded so that each
run writes the same bytes. What each capture holds is said in PARAMETERS, which the tests read as
their expected values, from facts.json (with what tshark counts in each capture).

    python3 Fixtures/floods/make.py [DIR]     # default: this script's folder

syn-flood.pcap      5,000 SYNs to 10.0.0.2:80 over 5 s from random (spoofed) sources, one SYN each,
                    never retried: the first 1,000 answered with a SYN/ACK, the next 500 with a
                    reset, the rest (3,500) never (the backlog is full).
port-scans.pcap     a vertical scan: 203.0.113.66 sends one SYN to each of ports 1-1024 of 10.0.0.5
                    (22, 80, 443 open: SYN/ACK, then the scanner's RST; 1001-1024 filtered:
                    silence; the rest closed: RST/ACK); a horizontal sweep: 203.0.113.77 sends one
                    SYN to port 22 of 10.0.1.1-10.0.1.200 (1-5 open, 6-55 closed, the rest silent).
dns-reflection.pcap 1,000 DNS answers to 10.0.0.9 that it never asked for, from 100 resolvers (port 53
                    to random ports of the victim), ANY and TXT for "example.org", each about 1,200
                    bytes; and the victim's own two queries to 10.0.0.53, answered (not part of it).
udp-flood.pcap      5,000 datagrams of 128 bytes to 10.0.0.2:27015 over 1 s from 500 random
                    sources, never answered.
mixture.pcap        a smaller SYN flood (2,000 spoofed SYNs to 10.0.0.2:80 over 2 s, unanswered) with
                    real clients among it: 10.9.0.1 completes an HTTP exchange with 10.0.0.2:80;
                    10.9.0.2's SYNs to 10.0.0.3:443 are dropped (retries at 1, 3 and 7 s); 10.9.0.3 is
                    refused by 10.0.0.2:22 (RST).
"""
import json
import os
import random
import struct
import subprocess
import sys

PARAMETERS = {
    "syn-flood": {"server": "10.0.0.2:80", "syns": 5000, "seconds": 5, "synack": 1000, "rst": 500,
                  "unanswered": 3500},
    "port-scans": {"vertical": {"scanner": "203.0.113.66", "target": "10.0.0.5", "ports": 1024,
                                "open": 3, "filtered": 24, "closed": 997},
                   "horizontal": {"scanner": "203.0.113.77", "port": 22, "hosts": 200,
                                  "open": 5, "closed": 50, "filtered": 145}},
    "dns-reflection": {"victim": "10.0.0.9", "responses": 1000, "resolvers": 100, "own_queries": 2},
    "udp-flood": {"target": "10.0.0.2:27015", "datagrams": 5000, "sources": 500, "seconds": 1,
                  "payload": 128},
    "mixture": {"server": "10.0.0.2:80", "syns": 2000, "seconds": 2,
                "dropped_client": "10.9.0.1", "dropped_service": "10.0.0.3:443", "dropped_syns": 4,
                "refused_client": "10.9.0.3", "refused_service": "10.0.0.2:22"},
}

T0 = 1_700_000_000  # capture start, seconds since the epoch


def ip(text):
    return struct.unpack("!I", bytes(int(p) for p in text.split(".")))[0]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0):
    header = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def pseudo(src, dst, proto, length):
    return struct.pack("!IIBBH", src, dst, 0, proto, length)


SYN, ACK, RST, FIN, PSH = 0x02, 0x10, 0x04, 0x01, 0x08


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240, mss=None):
    options = struct.pack("!BBH", 2, 4, mss) if mss else b""
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0) + options
    segment = header + payload
    sum_ = checksum(pseudo(src, dst, 6, len(segment)) + segment)
    segment = segment[:16] + struct.pack("!H", sum_) + segment[18:]
    return ipv4(src, dst, 6, segment)


def udp(src, dst, sport, dport, payload):
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    sum_ = checksum(pseudo(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return ipv4(src, dst, 17, datagram[:6] + struct.pack("!H", sum_) + datagram[8:])


def ethernet(packet):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + packet


class Pcap:
    def __init__(self):
        self.records = []

    def add(self, time, packet):
        self.records.append((time, ethernet(packet)))

    def write(self, path):
        self.records.sort(key=lambda r: r[0])  # stable: packets made at one time keep their order
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for time, frame in self.records:
                micros = round(time * 1_000_000)
                f.write(struct.pack("<IIII", T0 + micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)))
                f.write(frame)


def spoofed(rng):
    """A random unicast address outside 10/8 (where the fixtures' own hosts live)."""
    while True:
        a = rng.randrange(1, 224)
        if a not in (10, 127):
            return (a << 24) | rng.getrandbits(24)


def syn_flood(rng, cap, server, count, seconds, synack, rst):
    for i in range(count):
        t = seconds * i / count
        source, sport, isn = spoofed(rng), rng.randrange(1024, 65536), rng.getrandbits(32)
        cap.add(t, tcp(source, server, sport, 80, isn, 0, SYN, mss=1460))
        if i < synack:
            cap.add(t + 0.0001, tcp(server, source, 80, sport, rng.getrandbits(32), isn + 1, SYN | ACK, mss=1460))
        elif i < synack + rst:
            cap.add(t + 0.0001, tcp(server, source, 80, sport, 0, isn + 1, RST | ACK, window=0))


def make_syn_flood(rng):
    p = PARAMETERS["syn-flood"]
    cap = Pcap()
    syn_flood(rng, cap, ip("10.0.0.2"), p["syns"], p["seconds"], p["synack"], p["rst"])
    return cap


def make_port_scans(rng):
    cap = Pcap()
    scanner, target = ip("203.0.113.66"), ip("10.0.0.5")
    for port in range(1, 1025):
        t = port * 0.001
        sport, isn = 40000 + rng.randrange(0, 100), rng.getrandbits(32)
        cap.add(t, tcp(scanner, target, sport, port, isn, 0, SYN, window=1024, mss=1460))
        if port in (22, 80, 443):
            cap.add(t + 0.0001, tcp(target, scanner, port, sport, rng.getrandbits(32), isn + 1, SYN | ACK, mss=1460))
            cap.add(t + 0.0002, tcp(scanner, target, sport, port, isn + 1, 0, RST, window=0))
        elif port <= 1000:
            cap.add(t + 0.0001, tcp(target, scanner, port, sport, 0, isn + 1, RST | ACK, window=0))
    sweeper = ip("203.0.113.77")
    for host in range(1, 201):
        t = 2 + host * 0.002
        sport, isn, address = 50000 + host, rng.getrandbits(32), ip("10.0.1.0") + host
        cap.add(t, tcp(sweeper, address, sport, 22, isn, 0, SYN, window=1024, mss=1460))
        if host <= 5:
            cap.add(t + 0.0001, tcp(address, sweeper, 22, sport, rng.getrandbits(32), isn + 1, SYN | ACK, mss=1460))
            cap.add(t + 0.0002, tcp(sweeper, address, sport, 22, isn + 1, 0, RST, window=0))
        elif host <= 55:
            cap.add(t + 0.0001, tcp(address, sweeper, 22, sport, 0, isn + 1, RST | ACK, window=0))
    return cap


def dns_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def dns_query(ident, name, qtype):
    opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)  # EDNS(0), 4096-byte buffer
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 1) + dns_name(name) + struct.pack("!HH", qtype, 1) + opt


def dns_answer(ident, name, qtype, records):
    """A response with `records` TXT answers of 200 bytes each (ANY answered with TXT records)."""
    body = dns_name(name) + struct.pack("!HH", qtype, 1)
    for r in range(records):
        text = bytes([199]) + bytes((65 + (r + i) % 26) for i in range(199))
        body += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 3600, len(text)) + text
    opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
    return struct.pack("!HHHHHH", ident, 0x8180, 1, records, 0, 1) + body + opt


def make_dns_reflection(rng):
    p = PARAMETERS["dns-reflection"]
    cap = Pcap()
    victim = ip("10.0.0.9")
    resolvers = [spoofed(rng) for _ in range(p["resolvers"])]
    for i in range(p["responses"]):
        qtype = 255 if i % 2 == 0 else 16  # ANY, TXT
        cap.add(0.5 + i * 0.0005, udp(resolvers[i % len(resolvers)], victim, 53, rng.randrange(1024, 65536),
                                      dns_answer(rng.getrandbits(16), "example.org", qtype, 5)))
    own = ip("10.0.0.53")
    for n, name in enumerate(("www.example.com", "mail.example.com")):
        q = dns_query(0x1000 + n, name, 1)
        cap.add(0.1 + n, udp(victim, own, 33000 + n, 53, q))
        answer = struct.pack("!HHHHHH", 0x1000 + n, 0x8180, 1, 1, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1) \
            + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([93, 184, 216, 34])
        cap.add(0.1 + n + 0.002, udp(own, victim, 53, 33000 + n, answer))
    return cap


def make_udp_flood(rng):
    p = PARAMETERS["udp-flood"]
    cap = Pcap()
    target = ip("10.0.0.2")
    sources = [(spoofed(rng), rng.randrange(1024, 65536)) for _ in range(p["sources"])]
    payload = bytes(p["payload"])
    for i in range(p["datagrams"]):
        source, sport = sources[rng.randrange(len(sources))]
        cap.add(p["seconds"] * i / p["datagrams"], udp(source, target, sport, 27015, payload))
    return cap


def make_mixture(rng):
    p = PARAMETERS["mixture"]
    cap = Pcap()
    server = ip("10.0.0.2")
    syn_flood(rng, cap, server, p["syns"], p["seconds"], 0, 0)
    # A real client's whole exchange with the flooded server, in the middle of the flood.
    client, t = ip("10.9.0.1"), 0.5
    request = b"GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    cap.add(t, tcp(client, server, 41000, 80, 1000, 0, SYN, mss=1460))
    cap.add(t + 0.001, tcp(server, client, 80, 41000, 5000, 1001, SYN | ACK, mss=1460))
    cap.add(t + 0.002, tcp(client, server, 41000, 80, 1001, 5001, ACK))
    cap.add(t + 0.003, tcp(client, server, 41000, 80, 1001, 5001, ACK | PSH, request))
    cap.add(t + 0.004, tcp(server, client, 80, 41000, 5001, 1001 + len(request), ACK | PSH, response))
    cap.add(t + 0.005, tcp(client, server, 41000, 80, 1001 + len(request), 5001 + len(response), ACK | FIN))
    cap.add(t + 0.006, tcp(server, client, 80, 41000, 5001 + len(response), 1002 + len(request), ACK | FIN))
    cap.add(t + 0.007, tcp(client, server, 41000, 80, 1002 + len(request), 5002 + len(response), ACK))
    # A real client whose SYNs a firewall drops: the same SYN at 0, 1, 3 and 7 s (Linux's backoff).
    dropped, service = ip("10.9.0.2"), ip("10.0.0.3")
    for retry in (0, 1, 3, 7):
        cap.add(0.2 + retry, tcp(dropped, service, 42000, 443, 7000, 0, SYN, mss=1460))
    # A real client refused: nothing listens on 10.0.0.2:22.
    refused = ip("10.9.0.3")
    cap.add(1.0, tcp(refused, server, 43000, 22, 9000, 0, SYN, mss=1460))
    cap.add(1.0001, tcp(server, refused, 22, 43000, 0, 9001, RST | ACK, window=0))
    return cap


def tshark_facts(path):
    """What tshark counts in a capture: the independent check that it holds what PARAMETERS say."""
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")

    def fields(*names, filter=None):
        command = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t"]
        if filter:
            command += ["-Y", filter]
        for name in names:
            command += ["-e", name]
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
        return [line.split("\t") for line in out.splitlines()]

    syns = fields("ip.src", "ip.dst", "tcp.dstport", filter="tcp.flags.syn == 1 && tcp.flags.ack == 0")
    return {
        "packet_count": len(fields("frame.number")),
        "tcp_streams": len({r[0] for r in fields("tcp.stream") if r[0]}),
        "udp_streams": len({r[0] for r in fields("udp.stream") if r[0]}),
        "tcp_syn_frames": len(syns),
        "tcp_syn_sources": len({r[0] for r in syns}),
        "tcp_synack_frames": len(fields("frame.number", filter="tcp.flags.syn == 1 && tcp.flags.ack == 1")),
        "tcp_rst_frames": len(fields("frame.number", filter="tcp.flags.reset == 1")),
        "udp_frames": len(fields("frame.number", filter="udp")),
        "udp_sources": len({r[0] for r in fields("ip.src", filter="udp")}),
        "dns_responses": len(fields("frame.number", filter="dns.flags.response == 1")),
        "dns_response_sources": len({r[0] for r in fields("ip.src", filter="dns.flags.response == 1")}),
        "dns_response_udp_bytes": sum(int(r[0]) - 8 for r in fields("udp.length", filter="dns.flags.response == 1")),
        # Answers from anywhere but the capture's own resolver (10.0.0.53): the unsolicited ones.
        "dns_unsolicited_responses": len(fields("frame.number", filter="dns.flags.response == 1 && ip.src != 10.0.0.53")),
        "dns_unsolicited_udp_bytes": sum(int(r[0]) - 8 for r in fields(
            "udp.length", filter="dns.flags.response == 1 && ip.src != 10.0.0.53")),
        "udp_wire_bytes": sum(int(r[0]) for r in fields("frame.len", filter="udp")),
    }


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    makers = [("syn-flood", make_syn_flood), ("port-scans", make_port_scans), ("dns-reflection", make_dns_reflection),
              ("udp-flood", make_udp_flood), ("mixture", make_mixture)]
    facts = {"notes": "parameters: what make.py wrote into each capture; tshark: what tshark counts in it",
             "parameters": PARAMETERS, "tshark": {}}
    for name, make in makers:
        path = os.path.join(folder, f"{name}.pcap")
        make(random.Random(f"netsift-{name}")).write(path)
        facts["tshark"][name] = tshark_facts(path)
    with open(os.path.join(folder, "facts.json"), "w") as f:
        json.dump(facts, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
