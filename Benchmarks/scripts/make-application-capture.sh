#!/usr/bin/env bash
# Records SIZE_MB (default 512) of application-heavy traffic through a router namespace into
# Benchmarks/data/app.pcap: h2load over cleartext HTTP/2 (h2c) and over TLS to nghttpd, a DNS
# query storm to dnsmasq (dig -f, one query after another), thousands of short HTTP/1.1
# connections to nginx (curl with "Connection: close"), iperf3 bulk TCP beneath it all, and 0.3 %
# of forwarded packets dropped at the router (iptables statistic), so retransmissions, gaps and
# lost DNS answers appear. Recorded on the client's link with offloads off (MTU-sized frames).
# Bounded: stops at the size or after MAX_SECONDS (default 300). Never committed (data/ is ignored).
size_mb=${1:-512}
max_seconds=${MAX_SECONDS:-300}
out=$(cd "$(dirname "$0")/.." && pwd)/data
mkdir -p "$out"
source "$(dirname "$0")/../../Fixtures/lib.sh"
netns_routed
serve_http
make_cert bench.test
head -c 4096 /dev/urandom > "$WORK/www/4k.bin"
head -c 16384 /dev/urandom > "$WORK/www/16k.bin"
in_router iptables -A FORWARD -m statistic --mode random --probability 0.003 -j DROP
background "$SERVER" nghttpd --no-tls -d "$WORK/www" --address=10.77.2.2 8080
background "$SERVER" nghttpd -d "$WORK/www" --address=10.77.2.2 8443 "$WORK/bench.test.key" "$WORK/bench.test.crt"
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.2.2 \
    --address=/bench.test/10.77.0.9 --local=/test/ --pid-file="$WORK/dnsmasq.pid"
background "$SERVER" iperf3 -s -p 5201 >/dev/null
listening 10.77.2.2:8080
listening 10.77.2.2:8443
listening -u 10.77.2.2:53
listening :5201
# Names in bench.test get an answer, names in other.test NXDOMAIN (dnsmasq is local for test).
for i in $(seq 20000); do
    if (( i % 10 )); then echo "host$i.bench.test A"; else echo "missing$i.other.test AAAA"; fi
done > "$WORK/queries.txt"
rm -f "$out/app.pcap"
record "$out/app.pcap" -B 65536
# Each client loops a bounded number of times and pauses between rounds, so that tcpdump keeps up
# on two cores shared with other work (some 10-20 MB/s in all).
background "$CLIENT" iperf3 -c 10.77.2.2 -p 5201 -t "$max_seconds" -P 2 -b 20M >/dev/null
background "$CLIENT" bash -c "for i in \$(seq 2000); do h2load -n 1000 -c 4 -m 16 \
    http://10.77.2.2:8080/index.html http://10.77.2.2:8080/4k.bin >/dev/null; sleep 0.5; done"
background "$CLIENT" bash -c "for i in \$(seq 2000); do h2load -n 500 -c 2 -m 8 \
    https://10.77.2.2:8443/index.html https://10.77.2.2:8443/16k.bin >/dev/null; sleep 0.5; done"
background "$CLIENT" bash -c "for i in \$(seq 500); do curl -s -H 'Connection: close' \
    'http://10.77.2.2/index.html?n=[1-500]' >/dev/null; done"
background "$CLIENT" bash -c "for i in \$(seq 500); do dig +tries=1 +time=1 @10.77.2.2 -f $WORK/queries.txt >/dev/null; done"
start=$SECONDS
while (( $(stat -c %s "$out/app.pcap" 2>/dev/null || echo 0) < size_mb * 1048576 )) && (( SECONDS - start < max_seconds )); do
    sleep 1
done
record_stop
cat "$WORK/tcpdump.log" >&2
capinfos -c -s -u "$out/app.pcap"
