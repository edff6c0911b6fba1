#!/usr/bin/env bash
# Stapled OCSP (TLS 1.2 CertificateStatus after the client's status_request): a root CA made here
# with openssl signs three leaves for www.example.test and answers for them itself (openssl ocsp
# as the responder, -respout); openssl s_server -tls1_2 -status_file staples each response to an
# openssl s_client -status that asks for www.example.test (SNI) and verifies against the root:
#   4451 (client port 40031) a good leaf, a fresh response (next update in 7 days)
#   4452 (40032) a leaf the CA revoked (keyCompromise), the response saying so
#   4453 (40033) a good leaf whose response is stale: made (faketime) 20 days ago with a next
#                update 10 days ago
# Each server sends the root after its leaf (a complete chain). Keys and certificates are never committed; they travel only inside the capture.
source "$(dirname "$0")/../lib.sh"
command -v faketime >/dev/null || { echo "faketime is needed (apt-get install faketime)" >&2; exit 1; }
netns_pair
PKI="$WORK/pki"
mkdir -p "$PKI/new"
touch "$PKI/index.txt"
echo 2000 > "$PKI/serial"
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
[ anything ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
subjectAltName = DNS:www.example.test
CNF
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Netsift OCSP Test Root" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -keyout "$PKI/root.key" -out "$PKI/root.crt" 2>/dev/null
for name in good revoked stale; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=www.example.test" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
    openssl ca -batch -config "$PKI/ca.cnf" -cert "$PKI/root.crt" -keyfile "$PKI/root.key" -extensions leaf \
        -days 300 -in "$PKI/$name.csr" -out "$PKI/$name.crt" 2>/dev/null
done
openssl ca -config "$PKI/ca.cnf" -cert "$PKI/root.crt" -keyfile "$PKI/root.key" -revoke "$PKI/revoked.crt" \
    -crl_reason keyCompromise 2>/dev/null
# respond NAME [faketime OFFSET] DAYS: the root's OCSP response about NAME's certificate.
respond() {
    local name=$1 days=$2; shift 2
    openssl ocsp -issuer "$PKI/root.crt" -cert "$PKI/$name.crt" -no_nonce -reqout "$PKI/$name.req" 2>/dev/null
    "$@" openssl ocsp -index "$PKI/index.txt" -CA "$PKI/root.crt" -rsigner "$PKI/root.crt" -rkey "$PKI/root.key" \
        -reqin "$PKI/$name.req" -respout "$PKI/$name.ocsp" -ndays "$days" >/dev/null 2>&1
    openssl ocsp -respin "$PKI/$name.ocsp" -resp_text -noverify >"$WORK/run/ocsp-$name.out" 2>&1
}
respond good 7
respond revoked 7
respond stale 10 faketime -f "-20d"

serve() {
    background "$SERVER" openssl s_server -www -naccept 1 -tls1_2 -accept "10.77.0.2:$1" \
        -cert "$PKI/$2.crt" -key "$PKI/$2.key" -cert_chain "$PKI/root.crt" -status_file "$PKI/$2.ocsp" >"$WORK/run/server-$1.out" 2>&1
}
serve 4451 good
serve 4452 revoked
serve 4453 stale
for port in 4451 4452 4453; do listening "10.77.0.2:$port"; done

record "$FIXTURE_DIR/tls-ocsp.pcap"
for i in 1 2 3; do
    run "client-445$i" client_port "4003$i" in_client timeout 5 openssl s_client -tls1_2 -status \
        -connect "10.77.0.2:445$i" -servername www.example.test -CAfile "$PKI/root.crt" </dev/null
done
record_stop
extra_facts <<'PY'
def ocsp(name):
    """What openssl ocsp -resp_text printed about the response: its status, the certificate's
    status (and revocation time and reason), this and next update, produced at, the serial."""
    text = out(f"ocsp-{name}")
    def field(label):
        m = re.search(rf"{label}: (.*)", text)
        return m[1].strip() if m else None
    return {"response_status": field("OCSP Response Status").split()[0], "cert_status": field("Cert Status"),
            "serial_number": field("Serial Number"), "produced_at": field("Produced At"),
            "this_update": field("This Update"), "next_update": field("Next Update"),
            "revocation_time": field("Revocation Time"), "revocation_reason": field("Revocation Reason")}
conns = []
for i, name in [(1, "good"), (2, "revoked"), (3, "stale")]:
    text = out(f"client-445{i}")
    conns.append({"case": name, "server": f"10.77.0.2:445{i}", "client_port": 40030 + i,
                  "ocsp": ocsp(name), "client_saw_ocsp_response": "OCSP Response Status: successful" in text,
                  "verify_return": re.search(r"Verify return code: (\d+)", text)[1] if "Verify return code" in text else None})
FACTS["tls_connections"] = conns
FACTS["notes"] = ("ocsp is what openssl ocsp -resp_text printed of the stapled response (times as openssl prints "
                  "them, GMT). The stale response was made with faketime 20 days back, valid for 10 days.")
PY
write_facts tls-ocsp.pcap @"$WORK/extra.json"
