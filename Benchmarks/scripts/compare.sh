#!/usr/bin/env bash
# Side by side, in one run, on the same files with a warm page cache: wall time (best of RUNS,
# default 3), packets/s and peak RSS for netsift, capinfos, tcpdump and a bare C libpcap loop,
# with each tool's time as a ratio of the C loop's. `--analyze` compares the full analysis
# (netsift analyze, tshark -2 conv and expert) instead of reading alone.
#
#   Benchmarks/scripts/compare.sh [--analyze] FILE...
set -euo pipefail
mode=read
if [ "${1:-}" = "--analyze" ]; then mode=analyze; shift; fi
[ $# -gt 0 ] || { echo "usage: compare.sh [--analyze] FILE..." >&2; exit 2; }
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/.build-release/release
mkdir -p "$root/.build-release"

echo "building netsift (release) and the C loop..." >&2
(cd "$root" && swift build -c release --scratch-path .build-release --product netsift >&2)
cc -O2 -o "$root/.build-release/pcap_loop" "$root/Benchmarks/c/pcap_loop.c" -lpcap

# measure LABEL COMMAND...: best wall seconds and the peak RSS (KB) of that run.
measure() {
    local label=$1; shift
    local best="" rss="" figures
    figures=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$figures" "$@" >/dev/null 2>&1 || true
        local out wall kb
        out=$(tail -1 "$figures")
        wall=${out% *} kb=${out#* }
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$kb; fi
    done
    rm -f "$figures"
    echo "$label|$best|$rss"
}

for file in "$@"; do
    cat "$file" > /dev/null   # warm the page cache
    packets=$("$root/.build-release/pcap_loop" "$file" | awk '{print $1}')
    size=$(stat -c %s "$file")
    rows=()
    rows+=("$(measure "C pcap_next_ex loop" "$root/.build-release/pcap_loop" "$file")")
    if [ "$mode" = read ]; then
        rows+=("$(measure "netsift info" "$bin/netsift" info "$file")")
        rows+=("$(measure "capinfos" capinfos "$file")")
        rows+=("$(measure "tcpdump -r -w /dev/null" tcpdump -r "$file" -w /dev/null)")
    else
        if "$bin/netsift" analyze --help >/dev/null 2>&1; then
            rows+=("$(measure "netsift analyze" "$bin/netsift" analyze "$file")")
        else
            echo "(netsift analyze is not built yet: skipped)" >&2
        fi
        rows+=("$(measure "tshark -2 -z conv,tcp" tshark -2 -r "$file" -q -z conv,tcp)")
        rows+=("$(measure "tshark -2 -z expert" tshark -2 -r "$file" -q -z expert)")
        rows+=("$(measure "tcpdump -r -w /dev/null" tcpdump -r "$file" -w /dev/null)")
    fi
    base=$(echo "${rows[0]}" | cut -d'|' -f2)
    printf '\n%s: %s packets, %s MB\n' "$file" "$packets" "$((size / 1048576))"
    printf '%-26s %9s %14s %10s %12s %10s\n' tool "wall s" "packets/s" "MB/s" "peak RSS MB" "vs C loop"
    for row in "${rows[@]}"; do
        IFS='|' read -r label wall kb <<<"$row"
        awk -v l="$label" -v w="$wall" -v k="$kb" -v p="$packets" -v s="$size" -v b="$base" 'BEGIN {
            w2 = (w > 0 ? w : 0.005)
            printf "%-26s %9.3f %14.0f %10.0f %12.1f %9.2fx\n", l, w, p / w2, s / 1048576 / w2, k / 1024, w2 / (b > 0 ? b : 0.005) }'
    done
done
