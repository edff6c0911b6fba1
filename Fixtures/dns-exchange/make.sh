#!/usr/bin/env bash
# dig asking dnsmasq, across two network namespaces: an A and an AAAA that resolve, and a name
# that does not exist (NXDOMAIN). Classic pcap, microsecond timestamps.
source "$(dirname "$0")/../lib.sh"
netns_pair
# dnsmasq answers for example.test from its own table and NXDOMAIN for anything else under test.
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/www.example.test/10.77.0.9 --address=/www.example.test/fd77::9 --local=/test/ \
    --pid-file="$WORK/dnsmasq.pid" 2>"$WORK/dnsmasq.log"
sleep 0.5
record "$FIXTURE_DIR/dns-exchange.pcap"
in_client dig +tries=1 +time=2 @10.77.0.2 www.example.test A >/dev/null
in_client dig +tries=1 +time=2 @10.77.0.2 www.example.test AAAA >/dev/null
in_client dig +tries=1 +time=2 @10.77.0.2 missing.example.test A >/dev/null || true
record_stop
write_facts dns-exchange.pcap
