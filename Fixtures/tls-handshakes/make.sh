#!/usr/bin/env bash
# TLS handshakes with nginx (self-signed certificate for www.example.test, made here and never
# committed) across two network namespaces, one short connection per variant: curl over TLS 1.3
# and TLS 1.2, each with ALPN h2 and http/1.1, and openssl s_client (SNI www.example.test) over
# TLS 1.3 with ALPN http/1.1 and over TLS 1.2 without ALPN. Every client port is pinned.
# Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
serve_http --tls www.example.test
CURL=(in_client timeout 10 curl -sS -k -v -o /dev/null --resolve www.example.test:443:10.77.0.2
      -w 'http_code=%{http_code} http_version=%{http_version} local_port=%{local_port}\n')
REQUEST='GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n'
s_client() {   # s_client PORT OPTIONS...: one request, then the server closes
    printf "$REQUEST" | client_port "$1" in_client timeout 10 openssl s_client -connect 10.77.0.2:443 \
        -servername www.example.test -ign_eof "${@:2}"
}
record "$FIXTURE_DIR/tls-handshakes.pcap"
run c1 "${CURL[@]}" --local-port 40001 --http2 https://www.example.test/
run c2 "${CURL[@]}" --local-port 40002 --http1.1 https://www.example.test/
run c3 "${CURL[@]}" --local-port 40003 --http2 --tlsv1.2 --tls-max 1.2 https://www.example.test/
run c4 "${CURL[@]}" --local-port 40004 --http1.1 --tlsv1.2 --tls-max 1.2 https://www.example.test/
run c5 s_client 40005 -tls1_3 -alpn http/1.1
run c6 s_client 40006 -tls1_2
record_stop
extra_facts <<'PY'
def curl(name, port, offered):
    text = out(name)
    tls = re.search(r"SSL connection using (TLSv[\d.]+) / (\S+)", text)
    alpn = re.search(r"ALPN: server accepted (\S+)", text)
    w = dict(kv.split("=") for kv in re.search(r"(http_code=.*)", text)[1].split())
    return {"client": "curl", "client_port": port, "server": "10.77.0.2:443", "sni": "www.example.test",
            "alpn_offered": offered, "tls_version": tls[1], "cipher": tls[2],
            "alpn": alpn[1] if alpn else None, "http_code": int(w["http_code"]),
            "http_version": w["http_version"], "curl_local_port": int(w["local_port"]),
            "exit_status": rc(name)}
def s_client(name, port, offered):
    text = out(name)
    new = re.search(r"New, (TLSv[\d.]+), Cipher is (\S+)", text)
    alpn = re.search(r"ALPN protocol: (\S+)", text)
    status = re.search(r"HTTP/1.1 (\d+)", text)
    return {"client": "openssl s_client", "client_port": port, "server": "10.77.0.2:443",
            "sni": "www.example.test", "alpn_offered": offered, "tls_version": new[1],
            "cipher": new[2], "alpn": alpn[1] if alpn else None,
            "http_code": int(status[1]) if status else None, "exit_status": rc(name)}
FACTS["tls_connections"] = [
    curl("c1", 40001, ["h2", "http/1.1"]),
    curl("c2", 40002, ["http/1.1"]),
    curl("c3", 40003, ["h2", "http/1.1"]),
    curl("c4", 40004, ["http/1.1"]),
    s_client("c5", 40005, ["http/1.1"]),
    s_client("c6", 40006, []),
]
FACTS["notes"] = "tls_connections in the order made; version, cipher and ALPN as curl -v and s_client printed them."
PY
write_facts tls-handshakes.pcap @"$WORK/extra.json"
