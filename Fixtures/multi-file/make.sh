#!/usr/bin/env bash
# Several files read as one capture (netsift analyze/flows/packets/check FILE... or DIR): two
# fixtures of this project cut into pieces the way capture tools write them. No traffic is made;
# only editcap, mergecap, tshark and Python's struct touch the files.
#
# ring/     time-wait.pcap (2,002 packets, 200 connections) cut every 150 packets with editcap -c
#           and named as tcpdump -C -w time-wait.pcap names its ring files: time-wait.pcap,
#           time-wait.pcap1, ..., time-wait.pcap13 (by name, pcap10 sorts before pcap2; by first
#           packet, they come in order). Every odd-numbered piece is stored as pcapng, as dumpcap
#           writes, so formats mix. Conversations run across the cuts. Read together they are the
#           original capture: every output must equal the original's.
# overlap/  dns-failures.pcap (29 packets) dealt out in turn to two recorders, as two capture
#           points see one exchange: odd frames to client.pcap (Ethernet, classic pcap), even
#           frames to tap.pcapng (the Ethernet header taken off: raw IP, link type 101, pcapng;
#           its ARP frames are left out, as a raw-IP recorder never sees them).
#           Their times interleave throughout; mergecap-frames.tsv is what tshark says of
#           `mergecap -w merged.pcapng client.pcap tap.pcapng`: frame number, time, tcp.stream,
#           udp.stream, dns.id for each frame of the merged capture.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C HOME=/nonexistent

# The pieces are remade; the hand-written expectations beside them stay.
rm -f "$here"/ring/time-wait.pcap* "$here"/overlap/client.pcap "$here"/overlap/tap.pcapng
mkdir -p "$here/ring" "$here/overlap"

editcap -F pcap -c 150 "$fixtures/time-wait/time-wait.pcap" "$work/piece.pcap"   # editcap writes pcapng unless told
index=0
for piece in $(ls "$work"/piece_*.pcap | sort); do
    name=time-wait.pcap
    ((index > 0)) && name=time-wait.pcap$index
    if ((index % 2 == 1)); then
        editcap -F pcapng "$piece" "$here/ring/$name"
    else
        cp "$piece" "$here/ring/$name"
    fi
    index=$((index + 1))
done

python3 - "$fixtures/dns-failures/dns-failures.pcap" "$work/client.pcap" "$work/tap.pcap" <<'PY'
import struct, sys
source, odd_path, even_path = sys.argv[1:]
data = open(source, "rb").read()
magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
assert magic == 0xA1B2C3D4 and linktype == 1, "expects a little-endian microsecond Ethernet pcap"
odd = [data[:24]]
even = [struct.pack("<IHHiIII", magic, major, minor, zone, sigfigs, snaplen, 101)]
offset, frame = 24, 0
while offset < len(data):
    seconds, fraction, captured, original = struct.unpack("<IIII", data[offset:offset + 16])
    packet = data[offset + 16:offset + 16 + captured]
    offset += 16 + captured
    frame += 1
    if frame % 2 == 1:
        odd.append(struct.pack("<IIII", seconds, fraction, captured, original) + packet)
    else:
        if struct.unpack(">H", packet[12:14])[0] not in (0x0800, 0x86DD):
            continue   # ARP: a raw-IP recorder does not see it
        inner = packet[14:]
        even.append(struct.pack("<IIII", seconds, fraction, len(inner), original - 14) + inner)
open(odd_path, "wb").write(b"".join(odd))
open(even_path, "wb").write(b"".join(even))
PY
cp "$work/client.pcap" "$here/overlap/client.pcap"
editcap -F pcapng "$work/tap.pcap" "$here/overlap/tap.pcapng"

mergecap -w "$work/merged.pcapng" "$here/overlap/client.pcap" "$here/overlap/tap.pcapng"
{
    printf 'frame\ttime_epoch\ttcp_stream\tudp_stream\tdns_id\n'
    tshark -n -r "$work/merged.pcapng" -T fields -E separator=/t -e frame.number -e frame.time_epoch \
        -e tcp.stream -e udp.stream -e dns.id
} > "$here/overlap/mergecap-frames.tsv"
# The ring read back whole must be the original, frame for frame.
mergecap -w "$work/ring.pcapng" "$here"/ring/time-wait.pcap*
[ "$(capinfos -c -M "$work/ring.pcapng" | awk '/Number of packets/ {print $NF}')" = 2002 ]
echo "multi-file: $(ls "$here"/ring/time-wait.pcap* | wc -l) ring files, overlap of $(($(wc -l < "$here/overlap/mergecap-frames.tsv") - 1)) frames"
