#!/usr/bin/env bash
# Cuts the first ~512 MiB and ~1 GiB of Benchmarks/data/large.pcap into large-512m.pcap and
# large-1g.pcap: the same traffic, so a figure that moves between the three files moves with the
# file's size, not with its content (peak memory must stay flat). Whole records only (tcpdump -c),
# the packet count from the large file's mean record size. Never committed (data/ is ignored).
set -euo pipefail
data=$(cd "$(dirname "$0")/.." && pwd)/data
large=$data/large.pcap
[ -f "$large" ] || { echo "$large missing: run make-large-capture.sh first" >&2; exit 1; }
packets=$(capinfos -c -M "$large" | awk -F': *' '/Number of packets/ {print $2}')
size=$(stat -c %s "$large")
for target in 512m:512 1g:1024; do
    name=${target%%:*} mib=${target#*:}
    count=$(( mib * 1048576 * packets / size ))
    tcpdump -r "$large" -c "$count" -w "$data/large-$name.pcap" 2>/dev/null
    echo "large-$name.pcap: $count packets, $(stat -c %s "$data/large-$name.pcap") bytes"
done
