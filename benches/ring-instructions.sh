#!/bin/bash
# Instructions per descriptor of each peer's one-thread ring workload,
# counted by valgrind's callgrind: the same count for the same binary and
# inputs however busy the machine is (the time benchmark is not). Counts
# are the workload function's own instructions (the ring code is inlined
# into it; the shared C kernel side, called out of line, is not counted).
#
#   benches/ring-instructions.sh            # batches 1 16 64, 10^6 descriptors
#   BATCHES="1 16" DESCS=2000000 benches/ring-instructions.sh
#
# Needs valgrind and callgrind_annotate; plain memory (RING_MEM=plain), so
# no root; xdpilone (socket memory only) is counted on its socket when run
# as root and left out otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
descs=${DESCS:-1000000}
command -v valgrind >/dev/null || { echo "valgrind not found (apt install valgrind)" >&2; exit 1; }

# Symbols are needed to find the functions: build the bench unstripped.
export CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_BENCH_STRIP=none
bin=$(cargo bench -p afxdp-benches --bench ring --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the ring benchmark" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-5s %5s %10s %10s %10s %14s %16s\n' ring batch afxdp libxdp xdpilone afxdp/libxdp afxdp/xdpilone
for batch in ${BATCHES:-1 16 64}; do
    RING_MEM=plain RING_THREADS=1 RING_BATCHES=$batch RING_DESCS=$descs RING_ROUNDS=1 \
        valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" --bench >/dev/null 2>&1
    callgrind_annotate "$out/cg" 2>/dev/null | awk -v b="$batch" -v n="$descs" '
        / \?\?\?:/ && /_one( |$)/ {
            ir = $1; gsub(",", "", ir)
            peer = /ours::/ ? "afxdp" : /libxdp_/ ? "libxdp" : /Xdpilone::/ ? "xdpilone" : ""
            dir = /fill_one/ ? "fill" : "RX"
            if (peer != "") v[dir, peer] = ir / n
        }
        function cell(x) { return x == "" ? "-" : sprintf("%.2f", x) }
        function ratio(a, p) { return (a == "" || p == "") ? "-" : sprintf("%.2f", a / p) }
        END {
            split("fill RX", dirs, " ")
            for (i = 1; i <= 2; i++) {
                d = dirs[i]
                printf "%-5s %5d %10s %10s %10s %14s %16s\n", d, b,
                    cell(v[d, "afxdp"]), cell(v[d, "libxdp"]), cell(v[d, "xdpilone"]),
                    ratio(v[d, "afxdp"], v[d, "libxdp"]), ratio(v[d, "afxdp"], v[d, "xdpilone"])
            }
        }'
done
