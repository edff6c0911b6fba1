#!/usr/bin/env bash
# A middlebox that strips window scaling from one SYN only: the router between client and server
# removes the window scale option from the server's SYN/ACK (iptables TCPOPTSTRIP in its mangle
# table's FORWARD chain, on the way to the client). The server saw the client's option and sent
# its own, so it scales; the client saw none in the SYN/ACK, so it does not, and announces
# unscaled windows that the server multiplies by the client's shift: the server sends far beyond
# the window the client announced, and the client drops what lies beyond it. The client
# (10.77.1.1:40098) downloads 1 MiB from 10.77.2.2:7300 (bounded by timeout 30). Recorded on the
# client's interface, where the SYN/ACK arrives stripped. Facts: what the client measured, the
# router's rule counter, tshark's reading of the handshake and, from tshark's fields, the server's
# data segments ending past the right edge of the window the client last announced.
source "$(dirname "$0")/../lib.sh"
netns_routed
in_router iptables -t mangle -A FORWARD -i rs -p tcp --tcp-flags SYN,ACK SYN,ACK -j TCPOPTSTRIP --strip-options wscale
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.2.2 7300 1048576
SERVER_PID=$LAST_PID
listening 10.77.2.2:7300
record_at "$CLIENT" c "$FIXTURE_DIR/window-scaling-stripped.pcap" -s 128
run client in_client timeout 30 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.2.2 7300 40098
wait "$SERVER_PID" || true
record_stop
run rule in_router iptables -t mangle -L FORWARD -v -n -x
extra_facts <<'PY'
exec(open(os.path.join(os.environ["NSFT_FIXTURE_DIR"], "../window-scaling-facts.py")).read())
FACTS["client"] = json.loads(out("client")) if rc("client") == 0 else None
FACTS["client_exit_status"] = rc("client")
rule = [l.split() for l in out("rule").splitlines() if "TCPOPTSTRIP" in l][0]
FACTS["router_rule"] = {"target": "TCPOPTSTRIP --strip-options wscale", "chain": "mangle FORWARD -i rs (towards the client)",
                        "matched_syn_acks": int(rule[0])}
FACTS["window_scaling"] = window_scaling("window-scaling-stripped.pcap")
FACTS["window_scaling"]["server_segments_past_client_window"] = past_window("window-scaling-stripped.pcap", server_port=7300)
FACTS["notes"] = ("client: what the receiving client measured. router_rule: the iptables rule and how many SYN/ACKs "
                  "it matched. window_scaling: tshark on the capture (see Fixtures/window-scaling-facts.py). Server "
                  "10.77.2.2:7300, client port 40098.")
PY
write_facts window-scaling-stripped.pcap @"$WORK/extra.json"
