#!/usr/bin/env bash
# dig asking dnsmasq (10.77.0.2) across two network namespaces, one query per outcome: a name that
# resolves, NXDOMAIN, SERVFAIL, REFUSED, a TXT answer too big for 512 bytes (UDP answer with TC=1,
# dig retries over TCP), a query nobody answers (the server drops it) and one answered by ICMP
# port unreachable (nothing listens on that address). Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
# 10.77.0.3 silently drops DNS (a firewalled resolver); 10.77.0.4 has no DNS server at all.
ip -n "$SERVER" addr add 10.77.0.3/24 dev s
ip -n "$SERVER" addr add 10.77.0.4/24 dev s
in_server iptables -A INPUT -d 10.77.0.3 -p udp --dport 53 -j DROP
# The upstream dnsmasq forwards broken.test to: it answers every query with SERVFAIL, which
# dnsmasq passes on. It lives on the server's loopback, so its exchange is not in the capture.
cat > "$WORK/servfail.py" <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5300))
for _ in range(100):
    q, peer = s.recvfrom(4096)
    if len(q) < 12: continue
    # Same ID and question; QR, RD copied, RA, RCODE 2 (SERVFAIL); no records.
    flags = 0x8000 | (struct.unpack("!H", q[2:4])[0] & 0x0100) | 0x0080 | 2
    s.sendto(q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:], peer)
PY
background "$SERVER" python3 "$WORK/servfail.py"
# big.example.test: one TXT record of three 200-character strings (~650 bytes of answer).
big=$(python3 -c 'print(",".join(c * 200 for c in "abc"))')
# www.example.test from dnsmasq's own table, NXDOMAIN for the rest of example.test, broken.test
# forwarded to the SERVFAIL upstream, and no upstream for anything else (--no-resolv): REFUSED.
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/www.example.test/10.77.0.9 --local=/example.test/ --server=/broken.test/127.0.0.1#5300 \
    --txt-record="big.example.test,$big" --pid-file="$WORK/dnsmasq.pid" 2>"$WORK/dnsmasq.log"
listening 10.77.0.2:53
record "$FIXTURE_DIR/dns-failures.pcap"
run ok        in_client timeout 5 dig +tries=1 +time=2 @10.77.0.2 www.example.test A
run nxdomain  in_client timeout 5 dig +tries=1 +time=2 @10.77.0.2 missing.example.test A
run servfail  in_client timeout 5 dig +tries=1 +time=2 @10.77.0.2 host.broken.test A
run refused   in_client timeout 5 dig +tries=1 +time=2 @10.77.0.2 www.elsewhere.example A
run truncated in_client timeout 5 dig +tries=1 +time=2 +noedns @10.77.0.2 big.example.test TXT
run dropped   in_client timeout 5 dig +tries=1 +time=1 @10.77.0.3 www.example.test A
run nolistener in_client timeout 5 dig +tries=1 +time=1 @10.77.0.4 www.example.test A
record_stop
DROPS=$(in_server iptables -L INPUT -v -x -n | awk '$3 == "DROP" {print $1}')
DROPS=$DROPS extra_facts <<'PY'
queries = []
for name, server, qname, qtype in [
        ("ok", "10.77.0.2", "www.example.test", "A"),
        ("nxdomain", "10.77.0.2", "missing.example.test", "A"),
        ("servfail", "10.77.0.2", "host.broken.test", "A"),
        ("refused", "10.77.0.2", "www.elsewhere.example", "A"),
        ("truncated", "10.77.0.2", "big.example.test", "TXT"),
        ("dropped", "10.77.0.3", "www.example.test", "A"),
        ("nolistener", "10.77.0.4", "www.example.test", "A")]:
    queries.append({"case": name, "server": server, "qname": qname, "qtype": qtype, **dig(name)})
FACTS["dig_queries"] = queries
FACTS["server_dropped_queries"] = int(os.environ["DROPS"])
FACTS["notes"] = ("dig_queries in the order sent; status is what dig printed (null: no DNS answer). "
                  "For the truncated case dig's id is the TCP retry's; the UDP query had another ID. "
                  "The ICMP port unreachable for 10.77.0.4 quotes the query, so tshark's dns filter "
                  "(dns_messages) lists that query twice.")
PY
write_facts dns-failures.pcap @"$WORK/extra.json"
