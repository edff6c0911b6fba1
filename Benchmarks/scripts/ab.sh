#!/usr/bin/env bash
# Two (or more) builds of netsift against each other and the C loop, in one run: the file is
# dropped from the page cache and read back, then ROUNDS rounds (default 15) of one run of each,
# alternating, so that a drift of the machine touches every binary alike. Prints the minimum and
# the median wall time of each in ms (date +%s%N around the command: 0.1 ms, where /usr/bin/time
# gives 10). What compare.sh cannot show: a change of a few percent.
#
#   Benchmarks/scripts/ab.sh FILE BINARY...      e.g. ab.sh data/small.pcap /tmp/netsift-old .build/release/netsift
#
# THREADS (default 1) is passed to analyze as --threads.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: ab.sh FILE BINARY..." >&2; exit 2; }
file=$1; shift
rounds=${ROUNDS:-15}
threads=${THREADS:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
loop=$root/.build-release/pcap_loop
mkdir -p "$root/.build-release"
cc -O2 -o "$loop" "$root/Benchmarks/c/pcap_loop.c" -lpcap

dd if="$file" iflag=nocache count=0 status=none
cat "$file" >/dev/null

for _ in $(seq "$rounds"); do
    for binary in "$@" "C pcap_next_ex loop"; do
        if [ "$binary" = "C pcap_next_ex loop" ]; then command=("$loop" "$file")
        else command=("$binary" analyze --threads "$threads" "$file"); fi
        start=$(date +%s%N)
        # A run that fails (a missing binary, an option it lacks, a crash) would look fastest.
        "${command[@]}" >/dev/null 2>&1 || { echo "ab.sh: ${command[*]} failed (exit $?)" >&2; exit 1; }
        end=$(date +%s%N)
        printf '%s\t%d\n' "$binary" $(( (end - start) / 100000 ))
    done
done | sort -t$'\t' -k1,1 -k2,2n | awk -F'\t' '
    { times[$1] = times[$1] " " $2; count[$1]++ }
    END {
        for (name in times) {
            split(substr(times[name], 2), t, " ")
            printf "%-40s min %7.1f ms   median %7.1f ms   (%d runs)\n", name, t[1] / 10, t[int((count[name] + 1) / 2)] / 10, count[name]
        }
    }' | sort
