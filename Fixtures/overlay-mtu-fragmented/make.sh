#!/usr/bin/env bash
# overlay-mtu without DF on the outer packets: pods on a VXLAN overlay whose MTU is the underlay's.
# Underlay: client node (10.77.1.1) -- router -- server node (10.77.2.2), the nodes' links at 9000
# bytes but the router's interface toward the client node at 1500. Overlay: a kernel VXLAN device
# (VNI 42, UDP 4789, DF not set on the outer header) in each node, 10.244.1.5 (client pod) and 10.244.1.7 (server pod), with MTU
# 1500 where 1450 would fit (1500 less 50 bytes of outer IPv4, UDP, VXLAN and inner Ethernet).
# curl downloads a 16 kB file from nginx on the server pod: the handshake and the request pass, the
# server's full-size segments (1500-byte inner packets, 1550 on the underlay) are fragmented by the
# router and reassembled by the client node: the download completes, every large packet costing two
# on the underlay. Recorded on the client node's underlay interface, where the fragments arrive.
source "$(dirname "$0")/../lib.sh"
netns_routed 9000 9000
for ns in "$CLIENT" "$SERVER"; do
    local_ip=$([ "$ns" = "$CLIENT" ] && echo 10.77.1.1 || echo 10.77.2.2)
    remote_ip=$([ "$ns" = "$CLIENT" ] && echo 10.77.2.2 || echo 10.77.1.1)
    pod_ip=$([ "$ns" = "$CLIENT" ] && echo 10.244.1.5 || echo 10.244.1.7)
    ip -n "$ns" link add vx0 mtu 1500 type vxlan id 42 local "$local_ip" remote "$remote_ip" dstport 4789 df unset
    ip -n "$ns" addr add "$pod_ip/24" dev vx0
    offloads_off "$ns" vx0
    ip -n "$ns" link set vx0 up
done
SERVER_IP=10.244.1.7
serve_http   # its readiness check runs before the bottleneck exists, so no path MTU is cached
head -c 16384 /dev/zero | tr '\0' 'x' > "$WORK/www/big.txt"
ip -n "$ROUTER" link set rc mtu 1500
in_server sysctl -qw net.ipv4.tcp_mtu_probing=0   # the default, stated: no black hole detection
record_at "$CLIENT" c "$FIXTURE_DIR/overlay-mtu-fragmented.pcap"
run curl in_client timeout 15 curl -sS -o /dev/null --max-time 8 --local-port 40061 \
    -w 'http_code=%{http_code} size_download=%{size_download}\n' http://10.244.1.7/big.txt
record_stop
ip -d -n "$CLIENT" link show vx0 >"$WORK/run/vxlan.out"
extra_facts <<'PY'
text = out("curl")
w = dict(kv.split("=") for kv in re.search(r"(http_code=.*)", text)[1].split())
vx = out("vxlan")
FACTS["link_mtus"] = {"client node c": 9000, "router rc (toward client node)": 1500, "router rs": 9000,
                      "server node s": 9000, "vxlan vx0 (both nodes)": int(re.search(r"mtu (\d+)", vx)[1])}
FACTS["vxlan"] = {"vni": int(re.search(r"vxlan id (\d+)", vx)[1]), "dstport": int(re.search(r"dstport (\d+)", vx)[1]),
                  "df_set": "df set" in vx, "client_pod": "10.244.1.5", "server_pod": "10.244.1.7",
                  "client_node": "10.77.1.1", "server_node": "10.77.2.2"}
FACTS["vxlan_overhead_bytes"] = 20 + 8 + 8 + 14
FACTS["underlay_path_mtu"] = 1500
FACTS["curl"] = {"client_port": 40061, "server": "10.244.1.7:80", "path": "/big.txt", "file_bytes": 16384,
                 "exit_status": rc("curl"), "error": next((l for l in text.splitlines() if l.startswith("curl: (")), None),
                 "http_code": int(w["http_code"]), "size_download": int(w["size_download"])}
FACTS["udp_4789_frames"] = tshark_count("overlay-mtu-fragmented.pcap", "udp.port == 4789")
FACTS["outer_fragments"] = tshark_count("overlay-mtu-fragmented.pcap", "ip.flags.mf == 1 || ip.frag_offset > 0")
FACTS["outer_datagrams_reassembled"] = tshark_count("overlay-mtu-fragmented.pcap", "ip.frag_offset > 0 && ip.flags.mf == 0")
FACTS["notes"] = ("Recorded on the client node's underlay interface. vxlan_overhead_bytes is RFC 7348's: outer "
                  "IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14. The router fragmented the 1550-byte "
                  "VXLAN datagrams (DF not set) into outer_fragments fragments.")
PY
write_facts overlay-mtu-fragmented.pcap @"$WORK/extra.json"
