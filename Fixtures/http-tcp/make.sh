#!/usr/bin/env bash
# curl fetching a small page from nginx across two network namespaces: TCP handshake, request,
# response, FIN close. Classic pcap, microsecond timestamps.
source "$(dirname "$0")/../lib.sh"
netns_pair
serve_http
record "$FIXTURE_DIR/http-tcp.pcap"
in_client curl -s -o /dev/null --http1.1 http://10.77.0.2/index.html
record_stop
write_facts http-tcp.pcap
