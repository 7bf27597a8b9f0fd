#!/usr/bin/env bash
# Can this machine attach the real node (hack/realnode-up.sh) to the test bed named by
# DATAMOVER_CLUSTER? Prints nothing and exits 0 if so; otherwise prints the check that failed, on one
# line, and exits 1. hack/cluster-up.sh then carries on without the node, and the real tier (make
# test-real) is skipped with that line as its reason. Starts nothing, changes nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"

fail() { echo "$*"; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "${REALNODE:-}" != 0 ] || fail "REALNODE=0 is set"
[ "$(uname -s)" = Linux ] || fail "not Linux ($(uname -s)): the kubelet, containerd and runc need Linux"
[ "$(uname -m)" = x86_64 ] || fail "not x86_64 ($(uname -m)): the local images are built for amd64"
[ "$(id -u)" = 0 ] || fail "not root (uid $(id -u)): containerd, runc, mounts and the bridge need root"
grep -qw cgroup /proc/mounts || grep -qw cgroup2 /proc/mounts || fail "no cgroup file system mounted at /sys/fs/cgroup"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
  fail "no overlay file system in the kernel (containerd's overlayfs snapshotter needs it)"
command -v ip >/dev/null || fail "no ip command (iproute2) to make the node's bridge"
command -v openssl >/dev/null || command -v apt-get >/dev/null || fail "no openssl and no apt-get to install it"
for tool in containerd runc /usr/lib/cni/bridge; do
  command -v "$tool" >/dev/null || command -v apt-get >/dev/null ||
    fail "no $tool and no apt-get to install it (Debian: containerd runc containernetworking-plugins)"
done
[ -x "$KUBELET_BIN/kubelet" ] || command -v go >/dev/null || fail "no kubelet in $KUBELET_BIN and no go to build it"

# One real node per machine: the bridge, the kubelet's ports and the host-wide paths of containerd's
# shims and the kubelet's cgroups are shared. A node of another test bed that still runs keeps it.
for other in "$CACHE_ROOT"/cluster-*/realnode; do
  if [ ! -d "$other" ] || [ "$other" = "$REALNODE_STATE" ]; then continue; fi
  if alive "$other/kubelet.pid" || alive "$other/containerd.pid"; then
    name="$(basename "$(dirname "$other")")"
    fail "the real node is in use by test bed '${name#cluster-}' ($other): one real node per machine"
  fi
done
if ! alive "$REALNODE_STATE/kubelet.pid"; then
  if ip link show "$REALNODE_BRIDGE" >/dev/null 2>&1 && [ ! -d "$REALNODE_STATE" ]; then
    fail "the bridge $REALNODE_BRIDGE exists and belongs to no test bed here"
  fi
  for port in "$REALNODE_KUBELET_PORT" "$REALNODE_HEALTHZ_PORT"; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      fail "port $port (the kubelet's) is taken by another process"
    fi
  done
fi
exit 0
