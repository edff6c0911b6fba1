#!/usr/bin/env bash
# A lossy path: a python server (10.77.2.2:7300) sends 1 MiB to a client (10.77.1.1, port 40094)
# through a router that drops each forwarded server->client TCP segment of 1000 bytes or more with
# probability 0.03 (iptables statistic; only data segments are lost), with the delay bridge on the
# router-server link (10 ms each way: lib.sh netns_routed_delayed). The sender's congestion
# control backs off at every loss: the network limits the transfer. Recorded on the server's
# interface (the sender's side: originals and retransmissions both appear), headers only. The
# drops vary run to run; facts.json holds this run's router counter.
source "$(dirname "$0")/../lib.sh"
netns_routed_delayed 10
in_router iptables -A FORWARD -i rs -o rc -p tcp --sport 7300 -m length --length 1000:65535 \
    -m statistic --mode random --probability 0.03 -j DROP
background "$SERVER" timeout 60 python3 "$FIXTURE_DIR/../transfer.py" serve 10.77.2.2 7300 1048576
SERVER_PID=$LAST_PID
listening 10.77.2.2:7300
record_at "$SERVER" s "$FIXTURE_DIR/congestion-loss.pcap" -s 128
run client in_client timeout 60 python3 "$FIXTURE_DIR/../transfer.py" fetch 10.77.2.2 7300 40094
wait "$SERVER_PID" || true
record_stop
in_router iptables -L FORWARD -v -x -n >"$WORK/run/forward.out"
extra_facts <<'PY'
drop = next(line.split() for line in out("forward").splitlines() if " DROP " in line)
FACTS["client"] = json.loads(out("client"))
FACTS["client_exit_status"] = rc("client")
FACTS["router_drop_rule"] = {"chain": "FORWARD", "direction": "server->client", "probability": 0.03,
                             "min_ip_length": 1000, "dropped_packets": int(drop[0]), "dropped_bytes": int(drop[1])}
FACTS["path"] = {"one_way_delay_ms": 10, "round_trip_ms": 20, "where": "router-server link"}
FACTS["notes"] = ("path: the delay bridge's setting. client: what the receiving client measured. router_drop_rule: the router's DROP rule and its "
                  "counter for this run. Server 10.77.2.2:7300, client port 40094.")
PY
write_facts congestion-loss.pcap @"$WORK/extra.json"
