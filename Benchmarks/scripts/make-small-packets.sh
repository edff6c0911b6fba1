#!/usr/bin/env bash
# Records a capture of mostly frames under 100 bytes (default ~5 million packets) into
# Benchmarks/data/small.pcap: UDP datagrams of 16-48 bytes from iperf3, TCP with tiny writes,
# DNS queries. Bounded: stops at the packet count or after MAX_SECONDS (default 300).
packets=${1:-5000000}
max_seconds=${MAX_SECONDS:-300}
out=$(cd "$(dirname "$0")/.." && pwd)/data
mkdir -p "$out"
source "$(dirname "$0")/../../Fixtures/lib.sh"
netns_pair
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/bench.test/10.77.0.9 --local=/test/ --pid-file="$WORK/dnsmasq.pid"
background "$SERVER" iperf3 -s -p 5201
background "$SERVER" iperf3 -s -p 5202
background "$SERVER" iperf3 -s -p 5203
sleep 1
rm -f "$out/small.pcap"
record "$out/small.pcap" -B 65536
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5201 -u -l 16 -b 20M -t "$max_seconds"
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5202 -u -l 48 -b 20M -t "$max_seconds"
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5203 -l 24 -N -b 10M -t "$max_seconds"
background "$CLIENT" bash -c "for i in \$(seq 1000000); do dig +tries=1 +time=1 @10.77.0.2 q\$i.bench.test A >/dev/null; done"
start=$SECONDS
# About 90 bytes a packet on disk (16-byte record header and a small frame).
while (( $(stat -c %s "$out/small.pcap" 2>/dev/null || echo 0) < packets * 90 )) && (( SECONDS - start < max_seconds )); do
    sleep 1
done
record_stop
cat "$WORK/tcpdump.log" >&2
capinfos -c -s -z "$out/small.pcap"
