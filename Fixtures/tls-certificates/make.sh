#!/usr/bin/env bash
# TLS 1.2 handshakes whose server certificates are wrong, one connection each, client ports
# pinned. A root CA and an intermediate are made here with openssl (`openssl ca` backdates with
# -startdate/-enddate); each openssl s_server -tls1_2 serves one certificate to an openssl
# s_client that asks for www.example.test (SNI) and verifies against the root:
#   4441 (client port 40021) a leaf that expired 30 days ago, with its intermediate
#   4442 (40022) a valid leaf for other.example.test only, with its intermediate
#   4443 (40023) a self-signed leaf
#   4444 (40024) a valid leaf sent without its intermediate
#   4445 (40025) a valid leaf that expires in 10 days, with its intermediate (verifies)
# s_client is run with -verify_return_error, so a failed verification ends in an alert.
# Keys and certificates are never committed; they travel only inside the capture.
source "$(dirname "$0")/../lib.sh"
netns_pair
PKI="$WORK/pki"
mkdir -p "$PKI/new"
touch "$PKI/index.txt"
echo 1000 > "$PKI/serial"
cat > "$PKI/ca.cnf" <<CNF
[ ca ]
default_ca = netsift
[ netsift ]
database = $PKI/index.txt
serial = $PKI/serial
new_certs_dir = $PKI/new
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
subjectAltName = \${ENV::SAN}
[ intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
CNF
SAN=DNS:unused   # the [ leaf ] section reads it from the environment
export SAN
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Netsift Test Root" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI/root.key" -out "$PKI/root.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=Netsift Test Intermediate" \
    -keyout "$PKI/int.key" -out "$PKI/int.csr" 2>/dev/null
openssl ca -batch -config "$PKI/ca.cnf" -cert "$PKI/root.crt" -keyfile "$PKI/root.key" -extensions intermediate \
    -days 1825 -in "$PKI/int.csr" -out "$PKI/int.crt" 2>/dev/null
# leaf NAME SAN START END: a key and a certificate signed by the intermediate.
leaf() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
    SAN="DNS:$2" openssl ca -batch -config "$PKI/ca.cnf" -cert "$PKI/int.crt" -keyfile "$PKI/int.key" \
        -extensions leaf -startdate "$3" -enddate "$4" -in "$PKI/$1.csr" -out "$PKI/$1.crt" 2>/dev/null
}
day() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
leaf expired www.example.test "$(day '-400 days')" "$(day '-30 days')"
leaf mismatch other.example.test "$(day '-10 days')" "$(day '+300 days')"
leaf missing www.example.test "$(day '-10 days')" "$(day '+300 days')"
leaf expiring www.example.test "$(day '-80 days')" "$(day '+10 days')"
openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj "/CN=www.example.test" \
    -addext "subjectAltName=DNS:www.example.test" -keyout "$PKI/selfsigned.key" -out "$PKI/selfsigned.crt" 2>/dev/null

# serve PORT NAME [chain]: s_server for one TLS 1.2 handshake with NAME's certificate (and the
# intermediate when asked).
serve() {
    local chain=()
    [ "${3:-}" = chain ] && chain=(-cert_chain "$PKI/int.crt")
    background "$SERVER" openssl s_server -www -naccept 1 -tls1_2 -accept "10.77.0.2:$1" \
        -cert "$PKI/$2.crt" -key "$PKI/$2.key" "${chain[@]}" >"$WORK/run/server-$1.out" 2>&1
    SERVERS+=("$LAST_PID")
}
SERVERS=()
serve 4441 expired chain
serve 4442 mismatch chain
serve 4443 selfsigned
serve 4444 missing
serve 4445 expiring chain
for port in 4441 4442 4443 4444 4445; do listening "10.77.0.2:$port"; done

record "$FIXTURE_DIR/tls-certificates.pcap"
for i in 1 2 3 4 5; do
    run "client-444$i" client_port "4002$i" in_client timeout 10 openssl s_client -connect "10.77.0.2:444$i" \
        -tls1_2 -servername www.example.test -verify_hostname www.example.test -CAfile "$PKI/root.crt" \
        -verify_return_error </dev/null
done
record_stop
for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
for name in root int expired mismatch selfsigned missing expiring; do
    openssl x509 -in "$PKI/$name.crt" -noout -subject -issuer -serial -startdate -enddate -nameopt RFC2253 \
        >"$WORK/run/cert-$name.out"
done
extra_facts <<'PY'
def cert(name):
    """What `openssl x509 -noout -subject -issuer -serial -startdate -enddate` printed."""
    fields = dict(line.split("=", 1) for line in out(f"cert-{name}").splitlines())
    return {"subject": fields["subject"], "issuer": fields["issuer"], "serial": fields["serial"],
            "not_before": fields["notBefore"], "not_after": fields["notAfter"]}
def client(port, case, certificate, chain):
    text = out(f"client-{port}")
    verify = re.search(r"Verify return code: (\d+) \(([^)]*)\)", text)
    error = re.search(r"verify error:num=(\d+):([^\n]*)", text)
    alert = re.search(r"SSL alert number (\d+)", text)
    return {"case": case, "server": f"10.77.0.2:{port}", "client_port": 40000 + port - 4420, "sni": "www.example.test",
            "certificate": cert(certificate), "intermediate_sent": chain,
            "verify_error": [int(error[1]), error[2]] if error else None,
            "verify_return_code": [int(verify[1]), verify[2]] if verify else None,
            "handshake_completed": "New, TLSv1.2" in text, "exit_status": rc(f"client-{port}")}
FACTS["root"] = cert("root")
FACTS["intermediate"] = cert("int")
FACTS["tls_connections"] = [
    client(4441, "expired", "expired", True), client(4442, "name_mismatch", "mismatch", True),
    client(4443, "self_signed", "selfsigned", False), client(4444, "missing_intermediate", "missing", False),
    client(4445, "expiring_in_10_days", "expiring", True),
]
# The cleartext alerts as tshark decodes them (the client's, after its verification failed).
capture = os.path.join(os.environ["NSFT_FIXTURE_DIR"], "tls-certificates.pcap")
rows = subprocess.run(["tshark", "-n", "-r", capture, "-Y", "tls.alert_message.desc", "-T", "fields",
                       "-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.alert_message.desc"],
                      capture_output=True, text=True, env=dict(os.environ, HOME="/nonexistent"), check=True).stdout
FACTS["cleartext_alerts"] = [{"frame": int(f), "from_port": int(s), "to_port": int(d), "description": int(a)}
                             for f, s, d, a in (line.split("\t") for line in rows.splitlines())]
FACTS["notes"] = ("tls_connections in the order made, each from openssl s_client -tls1_2 -servername "
                  "www.example.test -verify_hostname www.example.test -CAfile root -verify_return_error: "
                  "verify_error is s_client's first 'verify error:num=N:text' line (10 certificate has "
                  "expired, 62 hostname mismatch, 18 self-signed certificate, 20 unable to get local issuer "
                  "certificate), and a failed verification makes s_client send a fatal alert. certificate: "
                  "what openssl x509 printed for the leaf the server sent. cleartext_alerts: tshark's "
                  "tls.alert_message.desc (45 certificate_expired, 42 bad_certificate, 48 unknown_ca).")
PY
write_facts tls-certificates.pcap @"$WORK/extra.json"
