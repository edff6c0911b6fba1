# Shared by the fixtures' make.sh scripts: two network namespaces joined by a veth pair, a
# recorder, and the facts file (what capinfos and tshark say about the capture, never netsift).
# Traffic stays inside the namespaces these functions create; cleanup runs on exit.
#
#   client namespace  10.77.0.1/24  fd77::1/64  (interface "c")
#   server namespace  10.77.0.2/24  fd77::2/64  (interface "s")

set -euo pipefail

FIXTURE_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
WORK=$(mktemp -d)
CLIENT=nsft-c-$$
SERVER=nsft-s-$$
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$CLIENT" 2>/dev/null || true
    ip netns del "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

in_client() { ip netns exec "$CLIENT" "$@"; }
in_server() { ip netns exec "$SERVER" "$@"; }
# background NAMESPACE COMMAND...: starts COMMAND in the namespace; cleanup stops it. (`ip netns
# exec` execs the command, so $! is the command itself, not a subshell.)
background() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# netns_pair [MTU]: the two namespaces, addresses above, both ends up.
netns_pair() {
    local mtu=${1:-1500}
    ip netns add "$CLIENT"
    ip netns add "$SERVER"
    ip link add c netns "$CLIENT" mtu "$mtu" type veth peer name s netns "$SERVER" mtu "$mtu"
    ip -n "$CLIENT" addr add 10.77.0.1/24 dev c
    ip -n "$SERVER" addr add 10.77.0.2/24 dev s
    ip -n "$CLIENT" addr add fd77::1/64 dev c nodad
    ip -n "$SERVER" addr add fd77::2/64 dev s nodad
    for ns in "$CLIENT" "$SERVER"; do ip -n "$ns" link set lo up; done
    ip -n "$CLIENT" link set c up
    ip -n "$SERVER" link set s up
    # Offloads off, so the capture holds MTU-sized segments as a real link carries them, not the
    # 64 kB ones veth would merge.
    command -v ethtool >/dev/null || { echo "ethtool is needed (apt-get install ethtool)" >&2; exit 1; }
    in_client ethtool -K c tso off gso off gro off >/dev/null
    in_server ethtool -K s tso off gso off gro off >/dev/null
}

# record FILE [tcpdump options...]: tcpdump on the client's interface until record_stop.
record() {
    local file=$1; shift
    background "$CLIENT" tcpdump -i c -U --immediate-mode -s 0 "$@" -w "$file" 2>"$WORK/tcpdump.log"
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

# serve_http: nginx in the server namespace on 10.77.0.2:80, serving a 1.1 kB index.html.
serve_http() {
    mkdir -p "$WORK/www" "$WORK/logs"
    chmod 755 "$WORK"   # nginx workers run as www-data
    printf 'hello from netsift fixtures\n%.0s' $(seq 40) > "$WORK/www/index.html"
    cat > "$WORK/nginx.conf" <<CONF
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
    server { listen 10.77.0.2:80; root $WORK/www; }
}
CONF
    background "$SERVER" nginx -p "$WORK" -c "$WORK/nginx.conf"
    for _ in $(seq 50); do in_client curl -s -o /dev/null http://10.77.0.2/ && return; sleep 0.1; done
    echo "nginx did not answer" >&2
    exit 1
}

# write_facts CAPTURE [python expression for extra facts]: facts.json beside the capture, from
# capinfos and tshark only, so tests compare netsift with independent figures.
write_facts() {
    local capture=$1
    python3 - "$FIXTURE_DIR" "$capture" <<'PY'
import json, subprocess, sys, os
folder, name = sys.argv[1], sys.argv[2]
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
json.dump(facts, open(os.path.join(folder, "facts.json"), "w"), indent=1)
print(f"{name}: {facts['packet_count']} packets, {facts['captured_bytes']} bytes")
PY
}
