#!/usr/bin/env bash
# A Kubernetes pod's DNS, made with the pod's own resolver: glibc (getent ahosts) in a client
# namespace whose resolv.conf is a pod's (search default.svc.cluster.local svc.cluster.local
# cluster.local, options ndots:5), asking dnsmasq (10.77.0.2) across two network namespaces.
# 1. Search-path amplification: api.example.org (2 dots < 5) is tried with the three search
#    domains first, each answered NXDOMAIN for A and AAAA, before api.example.org itself resolves;
#    kubernetes.default resolves at its second expansion (kubernetes.default.svc.cluster.local).
# 2. The 5-second timeout: slow.example.org. (fully qualified: no search) is asked for A and AAAA
#    in parallel from one socket; the server namespace drops the first AAAA query for it (iptables
#    string match, statistic nth: once), so glibc waits its 5 s timeout and asks again.
# Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
client_resolv_conf <<'CONF'
nameserver 10.77.0.2
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
CONF
# Everything in cluster.local and example.org is local: NXDOMAIN unless listed.
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --local=/cluster.local/ --local=/example.org/ \
    --host-record=kubernetes.default.svc.cluster.local,10.96.0.1 \
    --host-record=api.example.org,10.77.0.9,fd77::9 --host-record=slow.example.org,10.77.0.10,fd77::10 \
    --pid-file="$WORK/dnsmasq.pid" 2>"$WORK/dnsmasq.log"
listening -u 10.77.0.2:53
# The AAAA query for slow.example.org: its name's last label, the root, then type 28 class 1.
in_server iptables -A INPUT -p udp --dport 53 -m string --algo bm \
    --hex-string '|04|slow|07|example|03|org|00 00 1c 00 01|' -m statistic --mode nth --every 1000 --packet 0 -j DROP
record "$FIXTURE_DIR/dns-cluster.pcap"
run search   in_client timeout 20 getent ahosts api.example.org
run internal in_client timeout 20 getent ahosts kubernetes.default
run timeout  in_client timeout 20 getent ahosts slow.example.org.
record_stop
DROPS=$(in_server iptables -L INPUT -v -x -n | awk '$3 == "DROP" {print $1}')
DROPS=$DROPS extra_facts <<'PY'
def addresses(name):
    return sorted({line.split()[0] for line in out(name).splitlines() if line.strip()})
FACTS["resolv_conf"] = {"search": ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], "ndots": 5,
                        "nameserver": "10.77.0.2"}
FACTS["lookups"] = [{"case": c, "name": n, "addresses": addresses(c), "exit_status": rc(c)}
                    for c, n in [("search", "api.example.org"), ("internal", "kubernetes.default"),
                                 ("timeout", "slow.example.org.")]]
# Every DNS message as tshark reads it, with its time: the expected costs and waits come from here.
cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], "dns-cluster.pcap"), "-Y", "dns",
       "-T", "fields", "-E", "separator=\t", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "dns.flags.response",
       "-e", "dns.qry.name", "-e", "dns.qry.type", "-e", "dns.flags.rcode", "-e", "udp.srcport", "-e", "udp.dstport"]
rows = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ, LC_ALL="C")).stdout
def ns(epoch):
    whole, _, frac = epoch.partition(".")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
FACTS["dns_timeline"] = [{"frame": int(f), "time_ns": ns(t), "response": r == "1", "qname": n, "qtype": int(q),
                          "rcode": int(c) if c else None, "client_port": int(sp) if r == "0" else int(dp)}
                         for f, t, r, n, q, c, sp, dp in (line.split("\t") for line in rows.splitlines())]
FACTS["server_dropped_queries"] = int(os.environ["DROPS"])
FACTS["notes"] = ("getent ahosts is glibc's getaddrinfo: A and AAAA from one socket. The server namespace "
                  "dropped server_dropped_queries AAAA queries for slow.example.org (the first only).")
PY
write_facts dns-cluster.pcap @"$WORK/extra.json"
