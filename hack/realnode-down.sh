#!/usr/bin/env bash
# Detaches the real node from the test bed named by DATAMOVER_CLUSTER and leaves nothing behind:
# its pods are deleted (short grace) while the kubelet still runs, so it tears down their sandboxes,
# network namespaces and mounts itself; then the kubelet and containerd stop, leftover tasks, shims
# and container processes are killed, mounts below the node's state folder are unmounted, and the
# network namespaces, IPAM state, cgroups, bridge and state folder are removed. The Node object and
# the admission policy are deleted if the cluster still answers. Safe to run at any time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"
export PATH="$TESTBED_BIN:$PATH"
export KUBECONFIG="$CACHE_ROOT/cluster-$CLUSTER/kubeconfig"
S="$REALNODE_STATE"
start=$(date +%s)

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() { # pidfile seconds: SIGTERM, then SIGKILL after the grace
  local pid i
  alive "$1" || { rm -f "$1"; return 0; }
  pid="$(cat "$1")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$1"
}
api() { [ -f "$KUBECONFIG" ] && kubectl get --raw /readyz >/dev/null 2>&1; }

# 1. Pods first, while the kubelet can still clean up after them.
if api && kubectl get node "$REALNODE_NAME" >/dev/null 2>&1; then
  kubectl cordon "$REALNODE_NAME" >/dev/null 2>&1 || true
  if alive "$S/kubelet.pid"; then
    kubectl delete pods -A --field-selector "spec.nodeName=$REALNODE_NAME" --grace-period=2 \
      --wait --timeout=60s >/dev/null 2>&1 || echo "realnode-down: pods did not go in 60s; forcing" >&2
  fi
  kubectl delete pods -A --field-selector "spec.nodeName=$REALNODE_NAME" --force --grace-period=0 \
    >/dev/null 2>&1 || true
fi

# 2. The S3 server the real tier binds to the bridge (test/support/s3.ts) if a test run left it, the
# kubelet, then containerd's leftovers, then containerd.
stop "$S/s3.pid" 5
stop "$S/kubelet.pid" 15
stop "$S/csi-hostfolders.pid" 5
netns=()
if alive "$S/containerd.pid"; then
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for c in $(ctr_ containers ls -q 2>/dev/null); do
    while read -r p; do [ -n "$p" ] && netns+=("$p"); done < <(ctr_ containers info "$c" 2>/dev/null |
      jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // "" |
        select(startswith("/var/run/netns/") or startswith("/run/netns/"))')
    ctr_ tasks delete -f "$c" >/dev/null 2>&1 || true
    ctr_ containers delete "$c" >/dev/null 2>&1 || true
  done
fi
stop "$S/containerd.pid" 15
# Shims of this containerd (they outlive it by design) and any container process still in a cgroup
# of the kubelet's.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do kill -9 "$pid" 2>/dev/null || true; done
for ctl in /sys/fs/cgroup/*/kubepods; do
  [ -d "$ctl" ] || continue
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < <(find "$ctl" -name cgroup.procs -exec cat {} + 2>/dev/null)
done
sleep 0.2
for ctl in /sys/fs/cgroup/*/kubepods; do
  if [ -d "$ctl" ]; then find "$ctl" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
done

# 3. Mounts below the state folder (overlay roots, sandbox shm, volumes, the kubelet's root, which
# it bind-mounts on itself), deepest first, a few rounds for stacked mounts.
mounts_below() { awk -v s="$S" '$5 == s || index($5, s "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
for _ in 1 2 3 4; do
  m="$(mounts_below)"
  [ -z "$m" ] && break
  while read -r t; do umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null || true; done <<<"$m"
done
[ -z "$(mounts_below)" ] || { echo "realnode-down: still mounted below $S:" >&2; mounts_below >&2; exit 1; }

# 4. Network namespaces of the pods (those named by the containers, and stale cni-* ones: nothing
# else on the test bed makes them), IPAM state, the bridge.
for p in "${netns[@]}" /var/run/netns/cni-*; do
  [ -e "$p" ] || continue
  umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true
  rm -f "$p"
done
rmdir /var/run/netns 2>/dev/null || true
if ip link show "$REALNODE_BRIDGE" >/dev/null 2>&1; then ip link delete "$REALNODE_BRIDGE"; fi
# The `kubernetes` Service's rule (realnode-up.sh), every copy of it.
while iptables -t nat -S PREROUTING 2>/dev/null | grep -q 'datamover-realnode'; do
  rule="$(iptables -t nat -S PREROUTING | grep 'datamover-realnode' | head -1 | sed 's/^-A /-D /')"
  # shellcheck disable=SC2086 # the rule's words, as iptables -S printed them
  eval iptables -t nat $rule || break
done

# 5. Host settings the kubelet changed, files it keeps outside its root, the state folder.
if [ -f "$S/sysctl.saved" ]; then
  mapfile -t v <"$S/sysctl.saved"
  sysctl -q -w "vm.overcommit_memory=${v[0]}" "vm.panic_on_oom=${v[1]}" "kernel.panic=${v[2]}" \
    "kernel.panic_on_oops=${v[3]}" "kernel.keys.root_maxkeys=${v[4]}" "kernel.keys.root_maxbytes=${v[5]}" || true
fi
if [ -d /var/log/containers ]; then
  find /var/log/containers -maxdepth 1 -type l -lname "$S/*" -delete
  rmdir /var/log/containers 2>/dev/null || true
fi
# Shims' sockets live at a fixed place (/run/containerd/s); a shim that was killed leaves its own.
for a in "$S"/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
  [ -f "$a" ] || continue
  sock="$(sed -n 's|^unix://||p' "$a")"
  case "$sock" in /run/containerd/s/*) rm -f "$sock" ;; esac
done
rmdir /run/containerd/s /run/containerd 2>/dev/null || true
# The kubelet's device-plugin socket is at a fixed path, whatever its root.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null || true
[ -d "$S" ] && rm -rf --one-file-system "$S"

# 6. The API side.
if api; then
  kubectl delete node "$REALNODE_NAME" --ignore-not-found >/dev/null
  kubectl delete -f "$here/testbed/realnode-policy.yaml" -f "$here/testbed/realnode-csi.yaml" --ignore-not-found >/dev/null
fi
echo "real node '$REALNODE_NAME' of '$CLUSTER' removed in $(($(date +%s) - start))s"
