#!/usr/bin/env bash
# Cleartext HTTP/2 across two network namespaces. Port 8080: nghttpd --no-tls, which speaks h2c
# with prior knowledge only; nghttp fetches a 200, a 404 and another 200 on one connection.
# Port 8081: nghttpx (no TLS) in front of that nghttpd, because nghttpd does not do the HTTP/1.1
# Upgrade: curl --http2 on http:// and nghttp -u send "Upgrade: h2c", get 101 Switching Protocols,
# and the response comes as HTTP/2 on stream 1. Client ports pinned. (Neither port is HTTP/2's by
# default: tshark recognises the connection preface on 8080 and follows the 101 on 8081.)
# Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
mkdir -p "$WORK/htdocs"
printf 'hello over h2c from netsift fixtures\n%.0s' $(seq 30) > "$WORK/htdocs/index.html"
printf 'small\n' > "$WORK/htdocs/small.txt"
background "$SERVER" nghttpd --no-tls -d "$WORK/htdocs" 8080
background "$SERVER" nghttpx --conf=/dev/null --single-process --frontend='10.77.0.2,8081;no-tls' \
    --backend='127.0.0.1,8080;;proto=h2' --no-via --pid-file="$WORK/nghttpx.pid" \
    --errorlog-file="$WORK/nghttpx.log" --accesslog-file="$WORK/nghttpx-access.log" 2>"$WORK/nghttpx.err"
for port in 8080 8081; do listening ":$port"; done
record "$FIXTURE_DIR/h2c.pcap"
run prior client_port 40021 in_client timeout 10 nghttp -v -n http://10.77.0.2:8080/index.html \
    http://10.77.0.2:8080/missing.html http://10.77.0.2:8080/small.txt
run curl_upgrade in_client timeout 10 curl -sS -v -o /dev/null --local-port 40022 --http2 \
    -w 'http_code=%{http_code} http_version=%{http_version}\n' http://10.77.0.2:8081/index.html
run nghttp_upgrade client_port 40023 in_client timeout 10 nghttp -v -n -u http://10.77.0.2:8081/missing.html
record_stop
extra_facts <<'PY'
requests = []
prior = nghttp("prior")
for s in prior["streams"]:
    requests.append({"client": "nghttp", "mode": "prior-knowledge", "client_port": 40021,
                     "server": "10.77.0.2:8080", "stream_id": s["stream_id"], "path": s["path"],
                     "status": s["status"], "exit_status": prior["exit_status"]})
text = out("curl_upgrade")
w = dict(kv.split("=") for kv in re.search(r"(http_code=.*)", text)[1].split())
requests.append({"client": "curl", "mode": "upgrade", "client_port": 40022, "server": "10.77.0.2:8081",
                 "stream_id": 1, "path": "/index.html",
                 "upgrade_status": int(re.search(r"< HTTP/1.1 (\d+)", text)[1]),
                 "status": int(w["http_code"]), "http_version": w["http_version"],
                 "exit_status": rc("curl_upgrade")})
up = nghttp("nghttp_upgrade")
for s in up["streams"]:
    requests.append({"client": "nghttp", "mode": "upgrade", "client_port": 40023, "server": "10.77.0.2:8081",
                     "stream_id": s["stream_id"], "path": s["path"], "upgrade_status": s["upgrade_status"],
                     "status": s["status"], "exit_status": up["exit_status"]})
FACTS["http2_requests"] = requests
FACTS["notes"] = ("http2_requests per connection in the order made, streams by id; status is the "
                  ":status the client printed; upgrade_status the HTTP/1.1 status of the Upgrade answer. "
                  "nghttp also sends PRIORITY frames for idle streams 3, 5, 7, 9 and 11, its "
                  "dependency anchors; no request uses them.")
PY
write_facts h2c.pcap @"$WORK/extra.json"
