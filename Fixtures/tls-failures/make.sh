#!/usr/bin/env bash
# TLS handshakes that fail, across two network namespaces, one connection each, client ports
# pinned: (a) no common cipher: openssl s_server allows only ECDHE-RSA-AES128-GCM-SHA256 (TLS 1.2),
# s_client offers only ECDHE-RSA-AES256-GCM-SHA384, the server sends a handshake_failure alert;
# (b) wrong SNI: s_server only knows good.example and treats a mismatch as fatal, s_client asks for
# bad.example, the server sends unrecognized_name; (c) a server that reads the ClientHello and
# closes (FIN), and (d) one that reads it and resets (SO_LINGER 0), both against curl.
# Keys and certificates are made here and never committed. Recorded on the client's interface.
source "$(dirname "$0")/../lib.sh"
netns_pair
make_cert good.example
make_cert other.example
# -www: s_server answers by itself and never reads stdin (background gives it /dev/null).
CERT=(-cert "$WORK/good.example.crt" -key "$WORK/good.example.key")
background "$SERVER" openssl s_server -www -naccept 1 -accept 10.77.0.2:4433 "${CERT[@]}" \
    -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 >"$WORK/server-a.out" 2>&1
SERVER_A=$LAST_PID
# s_server checks the name only when it has a second certificate to switch to.
background "$SERVER" openssl s_server -www -naccept 1 -accept 10.77.0.2:4434 "${CERT[@]}" \
    -cert2 "$WORK/other.example.crt" -key2 "$WORK/other.example.key" \
    -servername good.example -servername_fatal >"$WORK/server-b.out" 2>&1
SERVER_B=$LAST_PID
cat > "$WORK/hangup.py" <<'PY'
# Accepts one connection, reads exactly one TLS record (the ClientHello), then closes it: with a
# FIN, or (argument "reset") with SO_LINGER 0, which makes close() send a RST.
import socket, struct, sys
port, how = int(sys.argv[1]), sys.argv[2]
l = socket.socket()
l.bind(("10.77.0.2", port))
l.listen(1)
l.settimeout(20)
c, _ = l.accept()
c.settimeout(10)
def read(n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk: break
        data += chunk
    return data
header = read(5)
body = read(struct.unpack("!H", header[3:5])[0]) if len(header) == 5 else b""
print(f"read a TLS record of type {header[0] if header else None}, {len(body)} bytes; closing with {'RST' if how == 'reset' else 'FIN'}")
if how == "reset": c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
PY
background "$SERVER" python3 "$WORK/hangup.py" 4435 close >"$WORK/server-c.out" 2>&1
SERVER_C=$LAST_PID
background "$SERVER" python3 "$WORK/hangup.py" 4436 reset >"$WORK/server-d.out" 2>&1
SERVER_D=$LAST_PID
for port in 4433 4434 4435 4436; do listening "10.77.0.2:$port"; done

record "$FIXTURE_DIR/tls-failures.pcap"
run a client_port 40011 in_client timeout 10 openssl s_client -connect 10.77.0.2:4433 \
    -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
run b client_port 40012 in_client timeout 10 openssl s_client -connect 10.77.0.2:4434 -servername bad.example
CURL=(in_client timeout 10 curl -sS -k --resolve www.example.test:4435:10.77.0.2
      --resolve www.example.test:4436:10.77.0.2)
run c "${CURL[@]}" --local-port 40013 https://www.example.test:4435/
run d "${CURL[@]}" --local-port 40014 https://www.example.test:4436/
record_stop
for pid in "$SERVER_A" "$SERVER_B" "$SERVER_C" "$SERVER_D"; do wait "$pid" || true; done
cp "$WORK"/server-?.out "$WORK/run/"
extra_facts <<'PY'
def errors(text):   # OpenSSL's error lines: "...:SSL routines:FUNCTION:REASON:FILE:LINE:[extra]"
    return [line for line in text.splitlines() if ":SSL routines:" in line]
def reason(line): return line.split(":")[5] if line else None
def alert(name):
    text = out(name)
    number = re.search(r"SSL alert number (\d+)", text)
    return int(number[1]) if number else None
a, b = errors(out("a")), errors(out("b"))
FACTS["tls_connections"] = [
    {"case": "no_common_cipher", "client": "openssl s_client", "client_port": 40011,
     "server": "10.77.0.2:4433", "server_tool": "openssl s_server", "sni": None,
     "client_offered_ciphers": ["ECDHE-RSA-AES256-GCM-SHA384"],
     "server_allowed_ciphers": ["ECDHE-RSA-AES128-GCM-SHA256"],
     "client_error": reason(a[0]), "client_alert_received": alert("a"),
     "server_error": reason(errors(out("server-a"))[0]), "exit_status": rc("a")},
    {"case": "unrecognized_name", "client": "openssl s_client", "client_port": 40012,
     "server": "10.77.0.2:4434", "server_tool": "openssl s_server", "sni": "bad.example",
     "server_name": "good.example",
     "client_error": reason(b[0]), "client_alert_received": alert("b"),
     "server_error": reason(errors(out("server-b"))[0]),
     "server_saw_hostname": re.search(r'Hostname in TLS extension: "([^"]*)"', out("server-b"))[1],
     "exit_status": rc("b")},
]
for case, name, port, server_port in [("closed_after_client_hello", "c", 40013, 4435),
                                      ("reset_after_client_hello", "d", 40014, 4436)]:
    FACTS["tls_connections"].append({
        "case": case, "client": "curl", "client_port": port, "server": f"10.77.0.2:{server_port}",
        "server_tool": "python socket", "sni": "www.example.test",
        "client_error": out(name).strip(), "client_alert_received": None,
        "server_log": out(f"server-{name}").strip(), "exit_status": rc(name)})
FACTS["notes"] = ("tls_connections in the order made. client_error: for s_client the reason in "
                  "OpenSSL's error line, for curl its error message; client_alert_received: the "
                  "alert number s_client reported (40 handshake_failure, 112 unrecognized_name).")
PY
write_facts tls-failures.pcap @"$WORK/extra.json"
