#!/usr/bin/env bash
# The static sockctl as an unprivileged pod in a real OCI runtime (crun):
# a bundle whose rootfs holds only the binary, uid 65534 with only
# CAP_NET_RAW and CAP_IPC_LOCK in every capability set, joined to a test
# network namespace, the server's socket directory bind-mounted at
# /tmp/afxdp_dp, receiving N frames by the handshake. Root runs the
# device-plugin side (`sockctl serve`) and the traffic.
#
# usage: .ci/oci-test.sh STATIC_SOCKCTL [N]
set -euo pipefail
BIN=$(readlink -f "$1")
N=${2:-20000}
NS=afxdp-oci-$$
CTR=afxdp-oci-$$
WORK=$(mktemp -d /tmp/afxdp-oci.XXXXXX)
chmod 711 "$WORK"
SERVER=

cleanup() {
    set +e
    crun --cgroup-manager=disabled kill "$CTR" KILL >/dev/null 2>&1
    crun --cgroup-manager=disabled delete -f "$CTR" >/dev/null 2>&1
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "oci-test: FAIL: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f"; cat "$f"; done >&2; exit 1; }

ip netns add "$NS"
# No IPv6 in the namespace: no router solicitation or MLD frame adds to the count.
ip netns exec "$NS" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null || true
ip -n "$NS" link add xa type veth peer name xb
ip -n "$NS" link set xa up
ip -n "$NS" link set xb up

# The device-plugin side: root, on xa; the socket directory owned by the
# pod's uid so that it (and only it, besides root) can connect.
ip netns exec "$NS" "$BIN" serve --iface xa --allow-pod oci-pod --dir "$WORK/dp" \
    --socket-owner 65534:65534 >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do [ -S "$WORK/dp/xa/afxdp.sock" ] && break; sleep 0.05; done
[ -S "$WORK/dp/xa/afxdp.sock" ] || fail "serve did not create its socket"

# The bundle: nothing in the rootfs but the static binary (and the empty
# directories the runtime mounts on, the root being read-only).
mkdir -p "$WORK/bundle/rootfs"/{proc,dev,tmp/afxdp_dp}
cp "$BIN" "$WORK/bundle/rootfs/sockctl"
CAPS='["CAP_NET_RAW", "CAP_IPC_LOCK"]'
cat >"$WORK/bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 65534, "gid": 65534 },
    "args": ["/sockctl", "rx", "--vdev", "iface=xa,use_cni=1", "--count", "$N",
             "--duration", "20", "--json"],
    "env": ["PATH=/"],
    "cwd": "/",
    "capabilities": {
      "bounding": $CAPS, "effective": $CAPS, "inheritable": $CAPS,
      "permitted": $CAPS, "ambient": $CAPS
    },
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "oci-pod",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/tmp/afxdp_dp", "type": "bind", "source": "$WORK/dp",
      "options": ["rbind", "ro"] }
  ],
  "linux": {
    "namespaces": [
      { "type": "pid" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" },
      { "type": "network", "path": "/run/netns/$NS" }
    ],
    "maskedPaths": ["/proc/kcore", "/proc/keys"],
    "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON

# crun 1.8 on this host's hybrid cgroups: a private mount namespace with a
# cgroup2 filesystem, and no cgroup manager.
unshare -m bash -c "mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup && \
    exec crun --cgroup-manager=disabled run --bundle '$WORK/bundle' '$CTR'" \
    >"$WORK/container.out" 2>"$WORK/container.log" &
CPID=$!
for _ in $(seq 200); do grep -q "^sockctl rx:" "$WORK/container.log" && break; sleep 0.05; done
grep -q "^sockctl rx:" "$WORK/container.log" || fail "the container did not open its port"

# Traffic from the peer end (root), paced so that the receiver keeps up.
ip netns exec "$NS" "$BIN" rx --vdev iface=xb --fwd txonly --count "$N" --rate 100000 \
    --json >"$WORK/sender.out" 2>"$WORK/sender.log"

wait "$CPID" || fail "the container exited with $?"
got=$(tail -n1 "$WORK/container.out")
echo "container: $got"
echo "server:    $(grep 'peer pid' "$WORK/serve.log" || true)"
echo "$got" | grep -q "\"rx_packets\":$N," || fail "expected rx_packets $N"
grep -q "uid 65534 gid 65534, pod oci-pod: host_ok, map xa; fin" "$WORK/serve.log" \
    || fail "the server did not log the pod's handshake"
echo "oci-test: the unprivileged container received all $N frames by the handshake"
