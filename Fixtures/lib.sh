# Shared by the fixtures' make.sh scripts: network namespaces joined by veth pairs, a recorder,
# servers, and the facts file (what capinfos and tshark say about the capture, never netsift, plus
# what the tools that made the traffic reported). Traffic stays inside the namespaces these
# functions create; cleanup runs on exit.
#
# netns_pair (two namespaces, one link):
#   client namespace  10.77.0.1/24  fd77::1/64  (interface "c")
#   server namespace  10.77.0.2/24  fd77::2/64  (interface "s")
#
# netns_routed (three namespaces, IPv4 only, the router forwards between two links):
#   client 10.77.1.1/24 ("c") -- ("rc") 10.77.1.254  router  10.77.2.254 ("rs") -- ("s") 10.77.2.2/24

set -euo pipefail

FIXTURE_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
WORK=$(mktemp -d)
mkdir "$WORK/run"   # what the tools reported, for extra_facts
# Namespace names start with $NSFT_NETNS_PREFIX (default nsft), so scripts run side by side by
# different people on one machine never share a name.
PREFIX=${NSFT_NETNS_PREFIX:-nsft}
CLIENT=$PREFIX-c-$$
SERVER=$PREFIX-s-$$
ROUTER=$PREFIX-r-$$
BRIDGE=$PREFIX-b-$$
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "$CLIENT" "$SERVER" "$ROUTER" "$BRIDGE"; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"   # resolv.conf a script gave the namespace (client_resolv_conf)
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

in_client() { ip netns exec "$CLIENT" "$@"; }
in_server() { ip netns exec "$SERVER" "$@"; }
# listening [-u] ADDR:PORT: wait (5 s at most) until the server namespace listens there (TCP; -u
# UDP); ADDR may be left out (":PORT"). A server that never comes up ends the script, rather than
# leaving a capture of nothing and facts about it.
listening() {
    local flags=-ltn
    if [ "$1" = -u ]; then flags=-lun; shift; fi
    for _ in $(seq 50); do in_server ss "$flags" | grep -q "$1 " && return; sleep 0.1; done
    echo "nothing listens on $1 in $SERVER" >&2
    exit 1
}
in_router() { ip netns exec "$ROUTER" "$@"; }
# client_resolv_conf: the client namespace's own /etc/resolv.conf, read from stdin (`ip netns exec`
# bind-mounts /etc/netns/NAMESPACE/resolv.conf over it); cleanup removes it.
client_resolv_conf() {
    mkdir -p "/etc/netns/$CLIENT"
    cat > "/etc/netns/$CLIENT/resolv.conf"
}
# background NAMESPACE COMMAND...: starts COMMAND in the namespace; cleanup stops it. (`ip netns
# exec` execs the command, so $! is the command itself, not a subshell.)
background() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# offloads_off NAMESPACE INTERFACE: so the capture holds MTU-sized segments as a real link carries
# them, not the 64 kB ones veth would merge.
offloads_off() {
    command -v ethtool >/dev/null || { echo "ethtool is needed (apt-get install ethtool)" >&2; exit 1; }
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
}

# netns_pair [MTU]: the two namespaces, addresses above, both ends up, IPv6 settled.
netns_pair() {
    local mtu=${1:-1500}
    ip netns add "$CLIENT"
    ip netns add "$SERVER"
    CLIENT_IP=10.77.0.1
    SERVER_IP=10.77.0.2
    # No router solicitations and no multicast listener reports: nothing here answers or listens
    # to them, and they would appear in captures at random times for seconds after the link comes
    # up. (The sysctl must be the namespace default before the interfaces exist; the reports are
    # dropped before they reach the wire.)
    for ns in "$CLIENT" "$SERVER"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
        for type in 131 143; do ip netns exec "$ns" ip6tables -A OUTPUT -p icmpv6 --icmpv6-type "$type" -j DROP; done
    done
    ip link add c netns "$CLIENT" mtu "$mtu" type veth peer name s netns "$SERVER" mtu "$mtu"
    ip -n "$CLIENT" addr add 10.77.0.1/24 dev c
    ip -n "$SERVER" addr add 10.77.0.2/24 dev s
    ip -n "$CLIENT" addr add fd77::1/64 dev c nodad
    ip -n "$SERVER" addr add fd77::2/64 dev s nodad
    for ns in "$CLIENT" "$SERVER"; do ip -n "$ns" link set lo up; done
    offloads_off "$CLIENT" c
    offloads_off "$SERVER" s
    ip -n "$CLIENT" link set c up
    ip -n "$SERVER" link set s up
    # Recording starts once the link-local addresses' duplicate address detection is over.
    for _ in $(seq 50); do
        [ -z "$(ip -n "$CLIENT" -6 addr show tentative)$(ip -n "$SERVER" -6 addr show tentative)" ] && return
        sleep 0.1
    done
    echo "IPv6 addresses still tentative after 5 s" >&2
    exit 1
}

# netns_delayed MILLISECONDS: the client (10.77.0.1, "c") and the server (10.77.0.2, "s") on one
# IPv4 subnet, joined through a third namespace ($ROUTER, interfaces "rc" and "rs") where
# Fixtures/delay-bridge.py copies every Ethernet frame from one side to the other MILLISECONDS
# later, each way: a round trip of twice that, as a long path has (this kernel has no netem).
# The bridge namespace has no addresses and does not forward: only the bridge moves frames.
netns_delayed() {
    local delay=$1
    ip netns add "$CLIENT"
    ip netns add "$ROUTER"
    ip netns add "$SERVER"
    CLIENT_IP=10.77.0.1
    SERVER_IP=10.77.0.2
    for ns in "$CLIENT" "$ROUTER" "$SERVER"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up
    done
    ip link add c netns "$CLIENT" type veth peer name rc netns "$ROUTER"
    ip link add s netns "$SERVER" type veth peer name rs netns "$ROUTER"
    ip -n "$CLIENT" addr add 10.77.0.1/24 dev c
    ip -n "$SERVER" addr add 10.77.0.2/24 dev s
    offloads_off "$CLIENT" c
    offloads_off "$ROUTER" rc
    offloads_off "$ROUTER" rs
    offloads_off "$SERVER" s
    # Checksums computed by the sender, not left to an offload: the bridge copies frames as they
    # are, and one sent with its checksum still to fill in would be dropped by the receiver.
    ip netns exec "$CLIENT" ethtool -K c tx off >/dev/null
    ip netns exec "$SERVER" ethtool -K s tx off >/dev/null
    for end in "$CLIENT c" "$ROUTER rc" "$ROUTER rs" "$SERVER s"; do ip -n ${end% *} link set ${end#* } up; done
    background "$ROUTER" python3 -u "$(dirname "${BASH_SOURCE[0]}")/delay-bridge.py" rc rs "$delay" 120 \
        >"$WORK/bridge.log" 2>&1
    # It says "bridging" once its sockets are open.
    for _ in $(seq 50); do grep -q bridging "$WORK/bridge.log" 2>/dev/null && return; sleep 0.1; done
    echo "the delay bridge did not start: $(cat "$WORK/bridge.log")" >&2
    exit 1
}

# netns_routed_delayed MILLISECONDS: netns_routed's three namespaces, with the delay bridge of
# netns_delayed on the router-server link (a fourth namespace, $BRIDGE, interfaces "dly0" towards the
# router and "dly1" towards the server): the router's iptables rules see every packet, and the path
# has a round trip of twice MILLISECONDS.
netns_routed_delayed() {
    local delay=$1
    netns_routed
    ip netns add "$BRIDGE"
    ip netns exec "$BRIDGE" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    # The router-server link is replaced by router -- bridge -- server.
    ip -n "$ROUTER" link del rs
    ip link add rs netns "$ROUTER" type veth peer name dly0 netns "$BRIDGE"
    ip link add s netns "$SERVER" type veth peer name dly1 netns "$BRIDGE"
    ip -n "$ROUTER" addr add 10.77.2.254/24 dev rs
    ip -n "$SERVER" addr add 10.77.2.2/24 dev s
    offloads_off "$ROUTER" rs
    offloads_off "$BRIDGE" dly0
    offloads_off "$BRIDGE" dly1
    offloads_off "$SERVER" s
    ip netns exec "$ROUTER" ethtool -K rs tx off >/dev/null
    ip netns exec "$SERVER" ethtool -K s tx off >/dev/null
    for end in "$ROUTER rs" "$BRIDGE dly0" "$BRIDGE dly1" "$SERVER s"; do ip -n ${end% *} link set ${end#* } up; done
    ip -n "$SERVER" route add default via 10.77.2.254
    background "$BRIDGE" python3 -u "$(dirname "${BASH_SOURCE[0]}")/delay-bridge.py" dly0 dly1 "$delay" 120 \
        >"$WORK/bridge.log" 2>&1
    for _ in $(seq 50); do grep -q bridging "$WORK/bridge.log" 2>/dev/null && return; sleep 0.1; done
    echo "the delay bridge did not start: $(cat "$WORK/bridge.log")" >&2
    exit 1
}

# netns_routed [CLIENT_LINK_MTU [SERVER_LINK_MTU]]: client, router and server namespaces, IPv4
# only (IPv6 is disabled in all three, so no neighbour discovery or listener reports appear), the
# router forwarding between its two links. A script can change one end's MTU afterwards, e.g.
# `ip -n "$ROUTER" link set rc mtu 1280` for a bottleneck that neither endpoint knows about.
netns_routed() {
    local cmtu=${1:-1500} smtu=${2:-1500}
    ip netns add "$CLIENT"
    ip netns add "$ROUTER"
    ip netns add "$SERVER"
    CLIENT_IP=10.77.1.1
    SERVER_IP=10.77.2.2
    for ns in "$CLIENT" "$ROUTER" "$SERVER"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up
    done
    ip link add c netns "$CLIENT" mtu "$cmtu" type veth peer name rc netns "$ROUTER" mtu "$cmtu"
    ip link add s netns "$SERVER" mtu "$smtu" type veth peer name rs netns "$ROUTER" mtu "$smtu"
    ip -n "$CLIENT" addr add 10.77.1.1/24 dev c
    ip -n "$ROUTER" addr add 10.77.1.254/24 dev rc
    ip -n "$ROUTER" addr add 10.77.2.254/24 dev rs
    ip -n "$SERVER" addr add 10.77.2.2/24 dev s
    offloads_off "$CLIENT" c
    offloads_off "$ROUTER" rc
    offloads_off "$ROUTER" rs
    offloads_off "$SERVER" s
    ip -n "$CLIENT" link set c up
    ip -n "$ROUTER" link set rc up
    ip -n "$ROUTER" link set rs up
    ip -n "$SERVER" link set s up
    ip -n "$CLIENT" route add default via 10.77.1.254
    ip -n "$SERVER" route add default via 10.77.2.254
    in_router sysctl -qw net.ipv4.ip_forward=1
}

# record FILE [tcpdump options...]: tcpdump on the client's interface until record_stop.
record() { record_at "$CLIENT" c "$@"; }

# record_at NAMESPACE INTERFACE FILE [tcpdump options...]: tcpdump elsewhere (the server's "s",
# when what matters is only visible there) until record_stop.
record_at() {
    local ns=$1 iface=$2 file=$3; shift 3
    background "$ns" tcpdump -i "$iface" -U --immediate-mode -s 0 "$@" -w "$file" 2>"$WORK/tcpdump.log"
    RECORDER=$LAST_PID
    # tcpdump says "listening on" once the socket is open.
    for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && return; sleep 0.1; done
    echo "tcpdump did not start: $(cat "$WORK/tcpdump.log")" >&2
    exit 1
}

record_stop() {
    sleep 0.5
    kill -INT "$RECORDER"
    wait "$RECORDER" 2>/dev/null || true
}

# make_cert NAME: a throwaway self-signed RSA key and certificate for NAME in $WORK/NAME.key and
# $WORK/NAME.crt (never committed; only the certificate travels, inside the capture).
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
        -keyout "$WORK/$1.key" -out "$WORK/$1.crt" 2>/dev/null
}

# serve_http [--tls NAME]: nginx in the server namespace on $SERVER_IP:80, serving a 1.1 kB
# index.html from $WORK/www (scripts may add files there). With --tls, also HTTPS with HTTP/2 on
# port 443 (and on [fd77::2] for netns_pair), TLS 1.2 and 1.3, with a certificate for NAME.
serve_http() {
    local tls=""
    mkdir -p "$WORK/www" "$WORK/logs"
    chmod 755 "$WORK"   # nginx workers run as www-data
    printf 'hello from netsift fixtures\n%.0s' $(seq 40) > "$WORK/www/index.html"
    if [ "${1:-}" = --tls ]; then
        make_cert "$2"
        local listen6=""
        [ "$SERVER_IP" = 10.77.0.2 ] && listen6="listen [fd77::2]:443 ssl http2;"
        tls="server { listen $SERVER_IP:443 ssl http2; $listen6 server_name $2; root $WORK/www;
            ssl_certificate $WORK/$2.crt; ssl_certificate_key $WORK/$2.key;
            ssl_protocols TLSv1.2 TLSv1.3; }"
    fi
    cat > "$WORK/nginx.conf" <<CONF
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
    server { listen $SERVER_IP:80; root $WORK/www; }
    $tls
}
CONF
    background "$SERVER" nginx -p "$WORK" -c "$WORK/nginx.conf"
    for _ in $(seq 50); do in_client curl -s -o /dev/null "http://$SERVER_IP/" && return; sleep 0.1; done
    echo "nginx did not answer" >&2
    exit 1
}

# client_port PORT COMMAND...: COMMAND with the client namespace's ephemeral port range narrowed
# to PORT, so a tool that cannot bind its own port (openssl s_client) connects from a known one.
client_port() {
    local port=$1 rc=0; shift
    in_client sysctl -qw net.ipv4.ip_local_port_range="$port $port"
    "$@" || rc=$?
    in_client sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
    return "$rc"
}

# run NAME COMMAND...: runs COMMAND (e.g. `in_client dig ...`), keeping its output and exit status
# in $WORK/run for extra_facts; a failing command does not stop the script (failures are the
# point of several fixtures).
run() {
    local name=$1 rc=0; shift
    "$@" >"$WORK/run/$name.out" 2>&1 || rc=$?
    echo "$rc" >"$WORK/run/$name.rc"
}

# extra_facts: runs the Python read from stdin, which fills the dict FACTS from what the tools
# reported (out(NAME) and rc(NAME) give a run's output and exit status, dig(NAME) and
# nghttp(NAME) parse what dig and nghttp -v printed, tshark_count(CAPTURE, FILTER) counts frames), and leaves FACTS as JSON in $WORK/extra.json for `write_facts CAPTURE @$WORK/extra.json`.
extra_facts() {
    {
        cat <<'PY'
import json, os, re, subprocess
RUN = os.environ["NSFT_RUN"]
FACTS = {}
def out(name): return open(f"{RUN}/{name}.out").read()
def rc(name): return int(open(f"{RUN}/{name}.rc").read())
def tshark_count(capture, filter):
    """How many frames of the capture (in the fixture's folder) tshark's display filter matches."""
    cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], capture), "-Y", filter,
           "-T", "fields", "-e", "frame.number"]
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")
    return len(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.split())
def dig(name):
    """What dig printed: status (None when no answer came), id, header flags, whether the UDP
    answer was truncated and dig retried over TCP, the transport of the answer, the answer
    records, dig's error lines and exit status."""
    text = out(name)
    head = re.search(r"status: (\w+), id: (\d+)", text)
    flags = re.search(r";; flags: ([a-z ]*);", text)
    server = re.search(r";; SERVER: (\S+)#(\d+)\(\S+\) \((UDP|TCP)\)", text)
    answers, section = [], None
    for line in text.splitlines():
        if line.startswith(";; ") and line.endswith("SECTION:"): section = line[3:-9]
        elif not line.strip(): section = None
        elif section == "ANSWER":
            n, ttl, cls, typ, data = line.split(None, 4)
            answers.append({"name": n, "ttl": int(ttl), "class": cls, "type": typ, "data": data})
    truncated = ";; Truncated, retrying in TCP mode." in text
    return {
        "status": head[1] if head else None,
        "id": int(head[2]) if head else None,
        "flags": flags[1].split() if flags else None,
        "truncated_udp_answer": truncated,
        "tcp_retry": truncated and server is not None and server[3] == "TCP",
        "answer_transport": server[3] if server else None,
        "answers": answers,
        "errors": [l[3:] for l in text.splitlines() if l.startswith(";; ") and ("error" in l or "no servers" in l)],
        "exit_status": rc(name),
    }
def nghttp(name):
    """What nghttp -v printed, per stream in the order opened: the request path, the header fields
    received (trailers included, in order), the status, and RST_STREAM error codes received or
    sent; also the GOAWAY frames received and sent, nghttp's own remarks, and its exit status."""
    streams, goaways, current, frame = {}, {"recv": None, "send": None}, None, None
    lines = out(name).splitlines()
    for i, line in enumerate(lines):
        sent = re.search(r"\] send HEADERS frame <.*stream_id=(\d+)>", line)
        if sent: current = streams.setdefault(int(sent[1]), {"stream_id": int(sent[1]), "headers": []})
        elif line.strip().startswith(":path: ") and current is not None and "path" not in current:
            current["path"] = line.strip()[7:]
        elif "] HTTP Upgrade request" in line:   # the upgrade request becomes stream 1
            streams[1] = {"stream_id": 1, "path": lines[i + 1].split()[1], "headers": [], "upgrade": True}
        elif "] HTTP Upgrade response" in line:
            streams[1]["upgrade_status"] = int(lines[i + 1].split()[1])
        field = re.search(r"\] recv \(stream_id=(\d+)\) (:?[^:]+): (.*)$", line)
        if field: streams[int(field[1])]["headers"].append([field[2], field[3]])
        frame = re.search(r"\] (recv|send) (RST_STREAM|GOAWAY) frame <.*stream_id=(\d+)>", line) or frame
        detail = re.search(r"\((?:last_stream_id=(\d+), )?error_code=(\w+)\((0x[0-9a-f]+)\)(?:, opaque_data\(\d+\)=\[(.*)\])?\)", line)
        if detail and frame:
            error = {"name": detail[2], "code": int(detail[3], 16)}
            if frame[2] == "RST_STREAM":
                streams[int(frame[3])][f"rst_stream_{'received' if frame[1] == 'recv' else 'sent'}"] = error
            else:
                goaways[frame[1]] = {"last_stream_id": int(detail[1]), **error, "debug_data": detail[4]}
            frame = None
    for stream in streams.values():
        status = [v for k, v in stream["headers"] if k == ":status"]
        stream["status"] = int(status[0]) if status else None
    return {"streams": sorted(streams.values(), key=lambda s: s["stream_id"]),
            "goaway_received": goaways["recv"], "goaway_sent": goaways["send"],
            "remarks": [l for l in lines if l and not l.startswith(("[", " "))],
            "exit_status": rc(name)}
PY
        cat
        echo 'json.dump(FACTS, open(os.environ["NSFT_EXTRA"], "w"))'
    } | NSFT_RUN="$WORK/run" NSFT_EXTRA="$WORK/extra.json" NSFT_FIXTURE_DIR="$FIXTURE_DIR" python3 -
}

# write_facts CAPTURE [EXTRA]: facts.json beside the capture, from capinfos and tshark, so tests
# compare netsift with independent figures. EXTRA is a JSON object (or @FILE holding one) of what
# the tools that made the traffic reported (dig's rcode, ss counts, iptables counters, exit
# codes...); its keys join the facts at the top level and may not replace a key written here.
write_facts() {
    local capture=$1 extra=${2:-"{}"}
    python3 - "$FIXTURE_DIR" "$capture" "$extra" <<'PY'
import json, subprocess, sys, os
folder, name, extra = sys.argv[1], sys.argv[2], sys.argv[3]
extra = json.load(open(extra[1:])) if extra.startswith("@") else json.loads(extra)
if not isinstance(extra, dict): sys.exit("write_facts: the extra facts must be a JSON object")
path = os.path.join(folder, name)
env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")

def tshark(*fields, filter=None):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t"]
    if filter: cmd += ["-Y", filter]
    for f in fields: cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
    return [line.split("\t") for line in out.splitlines()]

def ns(epoch):  # "1700000000.123456789" -> integer nanoseconds, exactly
    whole, _, frac = epoch.partition(".")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])

info = subprocess.run(["capinfos", "-M", "-T", "-t", "-c", path], capture_output=True, text=True, env=env).stdout.splitlines()
cap = dict(zip(info[0].split("\t"), info[1].split("\t")))
frames = tshark("frame.time_epoch", "frame.cap_len", "frame.len")
times = [ns(f[0]) for f in frames]
facts = {
    "capture": name,
    "file_type": cap["File type"],
    "packet_count": len(frames),
    "first_timestamp_ns": min(times) if times else None,
    "last_timestamp_ns": max(times) if times else None,
    "captured_bytes": sum(int(f[1]) for f in frames),
    "wire_bytes": sum(int(f[2]) for f in frames),
    "tcp_streams": len({r[0] for r in tshark("tcp.stream") if r[0]}),
    "tcp_syn_frames": len(tshark("frame.number", filter="tcp.flags.syn == 1 && tcp.flags.ack == 0")),
    "dns_messages": [
        # tshark leaves rcode empty on queries.
        {"id": int(r[0], 16), "response": r[1] == "1", "rcode": int(r[2]) if r[2] else None,
         "qname": r[3], "qtype": int(r[4])}
        for r in tshark("dns.id", "dns.flags.response", "dns.flags.rcode", "dns.qry.name", "dns.qry.type", filter="dns")
    ],
    "tools": subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
}
clash = facts.keys() & extra.keys()
if clash: sys.exit(f"write_facts: extra facts may not replace {sorted(clash)}")
facts.update(extra)
json.dump(facts, open(os.path.join(folder, "facts.json"), "w"), indent=1)
print(f"{name}: {facts['packet_count']} packets, {facts['captured_bytes']} bytes")
PY
}
