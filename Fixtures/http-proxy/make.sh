#!/usr/bin/env bash
# nginx as a reverse proxy in front of four upstreams (python http.server handlers on the server
# namespace's loopback, so the capture holds only client <-> proxy traffic), recorded on the
# client's interface:
#   /ok/...   upstream 127.0.0.1:8081 answers 200
#   /down     upstream 127.0.0.1:8082, where nothing listens: nginx answers 502
#   /slow     upstream 127.0.0.1:8083 answers after 4 s, past proxy_read_timeout 2s: nginx answers 504
#   /busy     upstream 127.0.0.1:8084 answers 503
#   anything else: nginx's own 404
# Clients, ports pinned: curl keep-alive on one connection (40031: /ok/1, /ok/2, /missing), curl
# to /down (40032), /slow (40033), /busy (40034), and a python client that pipelines three
# requests in one segment (40035: /ok/3, /nothing, /ok/4) and reads the three answers.
source "$(dirname "$0")/../lib.sh"
netns_pair
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/tmp"
chmod 755 "$WORK"
cat > "$WORK/upstreams.py" <<'PY'
# Four HTTP/1.1 upstreams on loopback, one thread each: 8081 answers 200, 8083 answers 200 after
# 4 s, 8084 answers 503 (8082 is left closed on purpose).
import http.server, threading, time, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        port = self.server.server_address[1]
        if port == 8083: time.sleep(4)
        status, body = (503, b"overloaded\n") if port == 8084 else (200, b"upstream ok %s\n" % self.path.encode())
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # nginx gave up waiting (/slow)
    def log_message(self, *args): pass
for port in (8081, 8083, 8084):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

time.sleep(60)
PY
background "$SERVER" python3 "$WORK/upstreams.py"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events {}
http {
    access_log $WORK/logs/access.log;
    client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
    server {
        listen $SERVER_IP:80;
        root $WORK/www;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /ok/ { proxy_pass http://127.0.0.1:8081; }
        location = /down { proxy_pass http://127.0.0.1:8082; }
        location = /slow { proxy_pass http://127.0.0.1:8083; proxy_read_timeout 2s; }
        location = /busy { proxy_pass http://127.0.0.1:8084; }
    }
}
CONF
background "$SERVER" nginx -p "$WORK" -c "$WORK/nginx.conf"
listening "$SERVER_IP:80"
for port in 8081 8083 8084; do listening "127.0.0.1:$port"; done
cat > "$WORK/pipeline.py" <<'PY'
# Three GETs written at once on one connection (pipelining), the last asking to close; then every
# answer read until the server closes, and their status lines printed in order.
import re, socket
s = socket.socket()
s.bind(("10.77.0.1", 40035))
s.connect(("10.77.0.2", 80))
s.settimeout(10)
paths = ["/ok/3", "/nothing", "/ok/4"]
s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: 10.77.0.2\r\n%s\r\n"
                   % (p.encode(), b"Connection: close\r\n" if p == paths[-1] else b"") for p in paths))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
# A status line may follow a body that ends without CRLF (the upstream's "...\n"): search, not split.
for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", data): print("HTTP/1.1 " + status.decode())
s.close()
PY
# -w lines start with "REQ " (the bodies of the second and later URLs go to stdout too).
CURL=(in_client curl -sS -o /dev/null -w 'REQ %{url_effective} %{http_code} %{time_starttransfer} %{num_connects}\n')

record "$FIXTURE_DIR/http-proxy.pcap"
run keepalive "${CURL[@]}" --local-port 40031 http://10.77.0.2/ok/1 http://10.77.0.2/ok/2 http://10.77.0.2/missing
run down "${CURL[@]}" --local-port 40032 http://10.77.0.2/down
run slow "${CURL[@]}" --local-port 40033 http://10.77.0.2/slow
run busy "${CURL[@]}" --local-port 40034 http://10.77.0.2/busy
run pipeline in_client python3 "$WORK/pipeline.py"
record_stop
cp "$WORK/logs/error.log" "$WORK/run/nginx-error.out"
echo 0 > "$WORK/run/nginx-error.rc"
extra_facts <<'PY'
def curl(name, port):
    rows = []
    for line in out(name).splitlines():
        if not line.startswith("REQ "): continue
        url, code, ttfb, connects = line.split()[1:]
        rows.append({"client_port": port, "url": url, "status": int(code), "time_starttransfer_s": float(ttfb),
                     "new_connections": int(connects)})
    return rows
FACTS["requests"] = (curl("keepalive", 40031) + curl("down", 40032) + curl("slow", 40033) + curl("busy", 40034)
                     + [{"client_port": 40035, "url": f"http://10.77.0.2{p}", "status": int(l.split()[1]),
                         "pipelined": True}
                        for p, l in zip(["/ok/3", "/nothing", "/ok/4"], out("pipeline").splitlines())])
errors = out("nginx-error")
FACTS["nginx_errors"] = {
    "upstream_timed_out": errors.count("upstream timed out"),
    "connect_refused": errors.count("connect() failed (111: Connection refused)"),
}
FACTS["proxy_read_timeout_s"] = 2
FACTS["notes"] = ("requests: what curl -w printed (status, time_starttransfer, new connections: 0 means the "
                  "keep-alive connection was reused) and the statuses the pipelining client read, in order. "
                  "nginx_errors: lines of nginx's error log (upstream timed out for /slow, connection "
                  "refused for /down).")
PY
write_facts http-proxy.pcap @"$WORK/extra.json"
