#!/usr/bin/env bash
# Ordinary traffic with nothing wrong, the baseline where an analysis should raise no alarm: the
# client looks up www.example.test with dig (A, then AAAA) at dnsmasq and fetches from nginx what
# the answers point to: HTTP/1.1 over IPv4, two pages over one HTTP/2 connection with TLS 1.3
# over IPv4, and HTTP/1.1 with TLS 1.2 over IPv6. Self-signed certificate made here (curl -k),
# never committed. Client ports pinned. Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
serve_http --tls www.example.test
printf 'about netsift fixtures\n%.0s' $(seq 20) > "$WORK/www/about.html"
background "$SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.2 \
    --address=/www.example.test/10.77.0.2 --address=/www.example.test/fd77::2 --local=/example.test/ \
    --pid-file="$WORK/dnsmasq.pid" 2>"$WORK/dnsmasq.log"
listening -u 10.77.0.2:53
DIG=(in_client timeout 5 dig +tries=1 +time=2 @10.77.0.2)
CURL=(in_client timeout 10 curl -sS -v -k -o /dev/null
      -w 'http_code=%{http_code} http_version=%{http_version} remote_ip=%{remote_ip} local_port=%{local_port}\n')
record "$FIXTURE_DIR/clean-traffic.pcap"
run dig_a "${DIG[@]}" www.example.test A
v4=$(awk '$4 == "A" {print $5}' "$WORK/run/dig_a.out")
run http "${CURL[@]}" --local-port 40071 --http1.1 --resolve "www.example.test:80:$v4" http://www.example.test/
run h2 "${CURL[@]}" --local-port 40072 --http2 --resolve "www.example.test:443:$v4" \
    https://www.example.test/ https://www.example.test/about.html
run dig_aaaa "${DIG[@]}" www.example.test AAAA
v6=$(awk '$4 == "AAAA" {print $5}' "$WORK/run/dig_aaaa.out")
run https6 "${CURL[@]}" --local-port 40073 --http1.1 --tlsv1.2 --tls-max 1.2 \
    --resolve "www.example.test:443:[$v6]" https://www.example.test/about.html
record_stop
extra_facts <<'PY'
def curl(name, urls):
    text = out(name)
    tls = re.search(r"SSL connection using (TLSv[\d.]+) / (\S+)", text)
    alpn = re.search(r"ALPN: server accepted (\S+)", text)
    results = [dict(kv.split("=", 1) for kv in line.split()) for line in text.splitlines() if line.startswith("http_code=")]
    return [{"url": url, "http_code": int(w["http_code"]), "http_version": w["http_version"],
             "remote_ip": w["remote_ip"], "client_port": int(w["local_port"]),
             "tls_version": tls[1] if tls else None, "cipher": tls[2] if tls else None,
             "alpn": alpn[1] if alpn else None, "exit_status": rc(name)} for url, w in zip(urls, results)]
FACTS["dig_queries"] = [{"qname": "www.example.test", "qtype": t, "server": "10.77.0.2", **dig(n)}
                        for n, t in [("dig_a", "A"), ("dig_aaaa", "AAAA")]]
FACTS["http_requests"] = (curl("http", ["http://www.example.test/"])
                          + curl("h2", ["https://www.example.test/", "https://www.example.test/about.html"])
                          + curl("https6", ["https://www.example.test/about.html"]))
FACTS["notes"] = ("dig_queries and http_requests in the order made; the two HTTP/2 requests share one "
                  "connection (client port 40072). Everything as dig and curl -v reported it.")
PY
write_facts clean-traffic.pcap @"$WORK/extra.json"
