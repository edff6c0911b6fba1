#!/usr/bin/env bash
# The same exchange as http-tcp, recorded with nanosecond timestamps and stored as pcapng
# (editcap keeps the resolution: the interface block says if_tsresol 9).
source "$(dirname "$0")/../lib.sh"
netns_pair
serve_http
record "$WORK/nano.pcap" --time-stamp-precision=nano
in_client curl -s -o /dev/null --http1.1 http://10.77.0.2/index.html
record_stop
editcap -F pcapng "$WORK/nano.pcap" "$FIXTURE_DIR/http-tcp-ns.pcapng"
write_facts http-tcp-ns.pcapng
