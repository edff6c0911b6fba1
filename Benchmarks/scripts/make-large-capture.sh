#!/usr/bin/env bash
# Records SIZE_MB (default 2048) of real mixed traffic between two network namespaces into
# Benchmarks/data/large.pcap, and converts it to large.pcapng: bulk TCP (iperf3, some streams with
# a 536-byte MSS for a high packet count), HTTP downloads from nginx, DNS queries to dnsmasq, UDP.
# Bounded: stops at the size or after MAX_SECONDS (default 600). Never committed (data/ is ignored).
size_mb=${1:-2048}
max_seconds=${MAX_SECONDS:-600}
out=$(cd "$(dirname "$0")/.." && pwd)/data
mkdir -p "$out"
source "$(dirname "$0")/../../Fixtures/lib.sh"
netns_pair
serve_http
head -c 10000000 /dev/urandom > "$WORK/www/10m.bin"
head -c 100000 /dev/urandom > "$WORK/www/100k.bin"
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/bench.test/10.77.0.9 --local=/test/ --pid-file="$WORK/dnsmasq.pid"
background "$SERVER" iperf3 -s -p 5201
background "$SERVER" iperf3 -s -p 5202
sleep 1
rm -f "$out/large.pcap"
# A 64 MiB kernel buffer so tcpdump keeps up; what it still drops is reported below.
record "$out/large.pcap" -B 65536
# Rates are capped so tcpdump keeps up on two cores (about 80 MB/s in all).
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5201 -t "$max_seconds" -P 2 -b 150M
background "$CLIENT" iperf3 -c 10.77.0.2 -p 5202 -t "$max_seconds" -P 2 -b 40M -M 536
background "$CLIENT" bash -c "for i in \$(seq 100000); do curl -s --limit-rate 5M -o /dev/null http://10.77.0.2/100k.bin; curl -s -o /dev/null http://10.77.0.2/index.html; done"
background "$CLIENT" bash -c "for i in \$(seq 20000); do curl -s --limit-rate 10M -o /dev/null http://10.77.0.2/10m.bin; done"
background "$CLIENT" bash -c "for i in \$(seq 1000000); do dig +tries=1 +time=1 @10.77.0.2 host\$i.bench.test A >/dev/null; done"
start=$SECONDS
while (( $(stat -c %s "$out/large.pcap" 2>/dev/null || echo 0) < size_mb * 1048576 )) && (( SECONDS - start < max_seconds )); do
    sleep 1
done
record_stop
cat "$WORK/tcpdump.log" >&2
editcap -F pcapng "$out/large.pcap" "$out/large.pcapng"
capinfos -c -s -u "$out/large.pcap"
