#!/bin/bash
# Instructions per descriptor of each peer's one-thread ring workload,
# counted by valgrind's callgrind: the same count for the same binary and
# inputs however busy the machine is (the time benchmark is not). Counts
# are each workload function's instructions with whatever it calls (ring
# code that is not inlined counts too), minus the shared C kernel side it
# calls out of line, per descriptor moved.
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
    # Per workload function: its inclusive count minus what it spent in the
    # shared kernel side (its callee), over the descriptors it moved (the
    # kernel side's calls times the batch; the benchmark warms up first, so
    # that is more than DESCS).
    callgrind_annotate --tree=calling --inclusive=yes --threshold=100 "$out/cg" 2>/dev/null | awk -v b="$batch" '
        / \* / && /_one[ \]]/ {
            ir = $1; gsub(",", "", ir)
            peer = /ours::/ ? "afxdp" : /libxdp_/ ? "libxdp" : /Xdpilone::/ ? "xdpilone" : ""
            dir = /fill_one/ ? "fill" : "RX"
            cur = peer; incl[dir, peer] = ir; next
        }
        / > / && /kernel_(fill|rx)/ && cur != "" {
            k = $1; gsub(",", "", k)
            calls = $0; sub(/.*\(/, "", calls); sub(/x\).*/, "", calls); gsub(",", "", calls)
            kern[dir, cur] += k; n[dir, cur] += calls * b
        }
        /^$/ { cur = "" }
        function own(d, p) { return (incl[d, p] == "" || n[d, p] == 0) ? "" : (incl[d, p] - kern[d, p]) / n[d, p] }
        function cell(x) { return x == "" ? "-" : sprintf("%.2f", x) }
        function ratio(a, p) { return (a == "" || p == "") ? "-" : sprintf("%.2f", a / p) }
        END {
            split("fill RX", dirs, " ")
            for (i = 1; i <= 2; i++) {
                d = dirs[i]
                a = own(d, "afxdp"); l = own(d, "libxdp"); x = own(d, "xdpilone")
                printf "%-5s %5d %10s %10s %10s %14s %16s\n", d, b, cell(a), cell(l), cell(x), ratio(a, l), ratio(a, x)
            }
        }'
done
