#!/usr/bin/env bash
# Records many conversations of small packets into Benchmarks/data/conversations.pcap: CONVERSATIONS
# (default 14000) short UDP and TCP conversations of small echoed messages (conversations.py, from
# four clients at once), DNS queries to dnsmasq, and beneath them iperf3 TCP with 64-byte writes
# and UDP datagrams of 32 bytes. Offloads off. Bounded: stops when the clients are done, at SIZE_MB
# (default 768) or after MAX_SECONDS (default 300). Never committed (data/ is ignored).
conversations=${1:-14000}
size_mb=${SIZE_MB:-768}
max_seconds=${MAX_SECONDS:-300}
scripts=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$(dirname "$0")/.." && pwd)/data
mkdir -p "$out"
source "$(dirname "$0")/../../Fixtures/lib.sh"
netns_pair
background "$SERVER" python3 "$scripts/conversations.py" serve 10.77.0.2 7000
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/bench.test/10.77.0.9 --local=/test/ --pid-file="$WORK/dnsmasq.pid"
background "$SERVER" iperf3 -s -p 5201 >/dev/null
background "$SERVER" iperf3 -s -p 5202 >/dev/null
listening 10.77.0.2:7000
listening -u 10.77.0.2:53
listening :5202
rm -f "$out/conversations.pcap"
record "$out/conversations.pcap" -B 65536
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5201 -l 64 -N -b 20M -t "$max_seconds" >/dev/null
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5202 -u -l 32 -b 10M -t "$max_seconds" >/dev/null
background "$CLIENT" bash -c "for i in \$(seq 100000); do dig +tries=1 +time=1 @10.77.0.2 q\$i.bench.test A >/dev/null; done"
talkers=()
for seed in 1 2 3 4; do
    background "$CLIENT" python3 "$scripts/conversations.py" talk 10.77.0.2 7000 $(( conversations / 4 )) 30 "$seed"
    talkers+=("$LAST_PID")
done
start=$SECONDS
while (( $(stat -c %s "$out/conversations.pcap" 2>/dev/null || echo 0) < size_mb * 1048576 )) && (( SECONDS - start < max_seconds )); do
    running=0
    for pid in "${talkers[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    (( running )) || break
    sleep 1
done
record_stop
cat "$WORK/tcpdump.log" >&2
capinfos -c -s -z "$out/conversations.pcap"
