#!/usr/bin/env bash
# A capture that misses packets, the network losing none: curl downloads a 400 kB file from nginx
# four times, and fetches the 1.1 kB index twice, over a plain veth pair (no loss, no router).
# tcpdump records everything; then, as a recorder that falls behind would, every 20th data segment
# the server sent in the first two downloads is deleted from the file (editcap), so the capture
# shows holes ("previous segment not captured", "ACKed unseen segment") with no retransmission.
# The deleted frames and their payload sizes, read from the whole recording first, are the facts.
# Recorded on the client's interface, snaplen 128.
source "$(dirname "$0")/../lib.sh"
netns_pair
serve_http
head -c 409600 /dev/zero | tr '\0' 'd' > "$WORK/www/big.bin"
record "$WORK/whole.pcap" -s 128
for port in 40071 40072 40073 40074; do
    run "curl-$port" in_client curl -sS -o /dev/null --local-port "$port" -w 'size_download=%{size_download}\n' \
        http://10.77.0.2/big.bin
done
for port in 40075 40076; do
    run "curl-$port" in_client curl -sS -o /dev/null --local-port "$port" -w 'size_download=%{size_download}\n' \
        http://10.77.0.2/
done
record_stop
# Every 20th data segment from the server in the downloads from ports 40071 and 40072.
tshark -n -r "$WORK/whole.pcap" -Y 'ip.src == 10.77.0.2 && tcp.len > 0 && (tcp.dstport == 40071 || tcp.dstport == 40072)' \
    -T fields -e frame.number -e tcp.len -e tcp.dstport 2>/dev/null | awk 'NR % 20 == 0' >"$WORK/run/deleted.out"
cut -f1 "$WORK/run/deleted.out" | xargs editcap -F pcap "$WORK/whole.pcap" "$FIXTURE_DIR/capture-loss.pcap"
capinfos -c -M "$WORK/whole.pcap" | awk '/Number of packets/ {print $NF}' >"$WORK/run/whole.out"
extra_facts <<'PY'
deleted = [line.split("\t") for line in out("deleted").splitlines() if line.strip()]
FACTS["server"] = "10.77.0.2:80"
FACTS["recorded_packets"] = int(out("whole").strip())
FACTS["deleted_frames"] = [int(d[0]) for d in deleted]
FACTS["deleted_payload_bytes"] = sum(int(d[1]) for d in deleted)
FACTS["conversations_with_deletions"] = len({d[2] for d in deleted})
FACTS["downloads"] = {port: int(re.search(r"size_download=(\d+)", out(f"curl-{port}"))[1])
                      for port in ("40071", "40072", "40073", "40074", "40075", "40076")}
FACTS["previous_segment_not_captured"] = tshark_count("capture-loss.pcap", "tcp.analysis.lost_segment")
FACTS["acked_unseen_segment"] = tshark_count("capture-loss.pcap", "tcp.analysis.ack_lost_segment")
FACTS["retransmissions"] = tshark_count("capture-loss.pcap", "tcp.analysis.retransmission")
FACTS["notes"] = ("whole recording: recorded_packets frames, snaplen 128; deleted_frames: its frame numbers "
                  "removed with editcap (every 20th data segment the server sent to ports 40071 and 40072), "
                  "carrying deleted_payload_bytes of TCP payload (tshark tcp.len) in "
                  "conversations_with_deletions conversations; previous_segment_not_captured, "
                  "acked_unseen_segment, retransmissions: what tshark marks in the capture left.")
PY
write_facts capture-loss.pcap @"$WORK/extra.json"
