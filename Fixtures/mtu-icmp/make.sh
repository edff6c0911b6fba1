#!/usr/bin/env bash
# Path MTU discovery working: client (10.77.1.1) -- router -- server (10.77.2.2). Both endpoints
# sit on 1500-byte links, but the router's interface toward the client has MTU 1280. curl downloads
# a 16 kB file from nginx: the server's first full-size segments (DF set) are too big for the
# router, which answers each with ICMP "fragmentation needed" (type 3 code 4, next-hop MTU 1280);
# the server lowers its path MTU and resends in 1280-byte packets, and the download completes.
# An iptables rule on the router's OUTPUT counts the ICMP messages (it does not drop them).
# Recorded on the server's interface, where both the ICMP and the retransmissions are visible.
# Companion: mtu-blackhole, where that ICMP is dropped.
source "$(dirname "$0")/../lib.sh"
netns_routed 1500 1500
serve_http   # its readiness check runs before the bottleneck exists, so no path MTU is cached
head -c 16384 /dev/zero | tr '\0' 'x' > "$WORK/www/big.txt"
ip -n "$ROUTER" link set rc mtu 1280
in_server sysctl -qw net.ipv4.tcp_mtu_probing=0   # the default, stated: no black hole detection
in_router iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed   # counts, lets through
record_at "$SERVER" s "$FIXTURE_DIR/mtu-icmp.pcap"
run curl in_client timeout 15 curl -sS -o /dev/null --max-time 8 --local-port 40052 \
    -w 'http_code=%{http_code} size_download=%{size_download}\n' http://10.77.2.2/big.txt
record_stop
in_router iptables -L OUTPUT -v -x -n >"$WORK/run/output.out"
extra_facts <<'PY'
icmp = next(line.split() for line in out("output").splitlines() if "icmptype 3 code 4" in line)
text = out("curl")
w = dict(kv.split("=") for kv in re.search(r"(http_code=.*)", text)[1].split())
FACTS["link_mtus"] = {"client c": 1500, "router rc (toward client)": 1280, "router rs": 1500, "server s": 1500}
FACTS["path_mtu"] = 1280
FACTS["curl"] = {"client_port": 40052, "server": "10.77.2.2:80", "path": "/big.txt", "file_bytes": 16384,
                 "exit_status": rc("curl"), "error": next((l for l in text.splitlines() if l.startswith("curl: (")), None),
                 "http_code": int(w["http_code"]), "size_download": int(w["size_download"])}
FACTS["router_icmp_frag_needed_sent"] = int(icmp[0])
FACTS["notes"] = ("Recorded on the server's interface. The router sent router_icmp_frag_needed_sent "
                  "ICMP fragmentation-needed messages (next-hop MTU 1280) to the server.")
PY
write_facts mtu-icmp.pcap @"$WORK/extra.json"
