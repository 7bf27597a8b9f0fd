#!/usr/bin/env bash
# Starts the local test bed: etcd, kube-apiserver (audit log, OwnerReferencesPermissionEnforcement),
# kube-controller-manager, kube-scheduler and kwok with one simulated node, via kwokctl's binary
# runtime; then the test StorageClasses and the test provisioner. Idempotent: a running cluster is
# reused. Prints nothing but progress; the kubeconfig is at "$(hack/cluster-up.sh --kubeconfig)".
# Then it attaches the real node (hack/realnode-up.sh: a kubelet with containerd and runc beside kwok's
# node, and its local images) unless the machine cannot run one (hack/realnode-check.sh, or
# REALNODE=0): it then says which check failed, writes it to $STATE/realnode.skip for the real tier,
# and carries on without the node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
CLUSTER="${DATAMOVER_CLUSTER:-datamover}"
STATE="$CACHE_ROOT/cluster-$CLUSTER"
KUBECONFIG_PATH="$STATE/kubeconfig"
if [ "${1:-}" = "--kubeconfig" ]; then echo "$KUBECONFIG_PATH"; exit 0; fi

export PATH="$TESTBED_BIN:$PATH"
export KUBECONFIG="$KUBECONFIG_PATH"
mkdir -p "$STATE"

# A running cluster is reused only if it was made from the same test-bed definition.
definition="$(cat "$here/testbed-versions.sh" "$here/testbed/stages.yaml" "$here/testbed/audit-policy.yaml" | sha256sum | cut -c1-16)"
# The real node (../shared/REALNODE.md): kwok must manage only its own node (the fake one carries the
# annotation), and the apiserver must reach the kubelet by address (no DNS) with a client
# certificate. Always set, real node or not, so that attaching one never restarts the cluster.
# kwokctl v0.7.0 panics on some orders of repeated --extra-args: each component's first argument
# comes before any repeat of it.
definition="$definition-realnode"
pki="${KWOK_WORKDIR:-$HOME/.kwok}/clusters/$CLUSTER/pki"
# Pods on the real node reach the apiserver as in any cluster, at the `kubernetes` Service
# (10.0.0.1:443): its endpoint is the bridge address (--advertise-address), the serving certificate
# names both, and realnode-up.sh routes the Service range to the bridge, where one DNAT rule sends
# 10.0.0.1:443 to the apiserver's port on this machine (no forwarding: the packet is delivered here).
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"
cat >"$STATE/kwokctl-sans.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeApiserverCertSANs: ["$KUBERNETES_SERVICE_IP", "$REALNODE_IP"]
EOF
definition="$definition-$(sha256sum <"$STATE/kwokctl-sans.yaml" | cut -c1-8)-$REALNODE_IP"
realnode_args=(
  --extra-args "kwok-controller=manage-all-nodes=false"
  --extra-args "kube-apiserver=kubelet-preferred-address-types=InternalIP"
  --extra-args "kwok-controller=manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake"
  --extra-args "kube-apiserver=kubelet-client-certificate=$pki/admin.crt"
  --extra-args "kube-apiserver=kubelet-client-key=$pki/admin.key"
  --extra-args "kube-apiserver=advertise-address=$REALNODE_IP"
  --extra-args "kube-apiserver=service-cluster-ip-range=$SERVICE_CIDR"
)
if kubectl get --raw /readyz >/dev/null 2>&1 && [ "$(cat "$STATE/definition" 2>/dev/null)" = "$definition" ]; then
  # kube-controller-manager and kube-scheduler exit when they lose their lease (an apiserver down for
  # longer than their renew deadline); kwokctl starts whatever component is not running.
  for pidfile in "${KWOK_WORKDIR:-$HOME/.kwok}/clusters/$CLUSTER"/pids/*.pid; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "test bed '$CLUSTER': $(basename "$pidfile" .pid) is not running; starting it"
      kwokctl --name "$CLUSTER" start cluster >/dev/null 2>&1
      break
    fi
  done
  echo "test bed '$CLUSTER' is running"
else
  # On a fresh machine, rclone (the real node's mover image needs it) builds beside the control
  # plane: both are Go builds of minutes, and one's downloads and links leave a core idle.
  rclone_build=""
  if [ ! -x "$RCLONE_BIN/rclone" ] && bash "$here/realnode-check.sh" >/dev/null 2>&1; then
    bash "$here/build-tools.sh" rclone &
    rclone_build=$!
  fi
  bash "$here/build-testbed.sh"
  if [ -n "$rclone_build" ]; then wait "$rclone_build"; fi
  start=$(date +%s)
  # Processes bound to an earlier cluster go with it.
  for pidfile in "$STATE/provisioner.pid" "$STATE/operator.pid" "$STATE/snapshot-controller.pid"; do
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
  if [ -d "$STATE/realnode" ]; then bash "$here/realnode-down.sh" >/dev/null; fi
  kwokctl --name "$CLUSTER" delete cluster >/dev/null 2>&1 || true
  # The folders of the test-real volumes went with the PVs of the old cluster.
  rm -rf --one-file-system "$STATE/volumes"
  rm -f "$KUBECONFIG_PATH"
  kwokctl --name "$CLUSTER" create cluster \
    --runtime binary \
    --config "$here/testbed/stages.yaml" \
    --config "$STATE/kwokctl-sans.yaml" \
    --kubeconfig "$KUBECONFIG_PATH" \
    --kube-apiserver-binary "$TESTBED_BIN/kube-apiserver" \
    --kube-controller-manager-binary "$TESTBED_BIN/kube-controller-manager" \
    --kube-scheduler-binary "$TESTBED_BIN/kube-scheduler" \
    --kwok-controller-binary "$TESTBED_BIN/kwok" \
    --etcd-binary "$TESTBED_BIN/etcd" \
    --kube-audit-policy "$here/testbed/audit-policy.yaml" \
    --extra-args "kube-apiserver=enable-admission-plugins=OwnerReferencesPermissionEnforcement" \
    "${realnode_args[@]}" \
    --disable-qps-limits \
    --wait 120s
  echo "$definition" >"$STATE/definition"
  echo "test bed '$CLUSTER' started in $(( $(date +%s) - start ))s"
fi

kubectl apply -f "$here/testbed/storage.yaml" >/dev/null
kubectl wait --for=condition=Ready node/kwok-node-0 --timeout=60s >/dev/null

# Snapshots: the snapshot.storage.k8s.io CRDs, the test bed's classes, and the snapshot controller
# beside the cluster (restarted when it is not running).
[ -x "$SNAPSHOTTER_DIR/bin/snapshot-controller" ] || bash "$here/build-tools.sh" snapshot-controller
kubectl apply --server-side -f "$SNAPSHOTTER_DIR/crd/" >/dev/null
kubectl wait --for=condition=Established --timeout=60s \
  crd/volumesnapshotclasses.snapshot.storage.k8s.io crd/volumesnapshotcontents.snapshot.storage.k8s.io \
  crd/volumesnapshots.snapshot.storage.k8s.io >/dev/null
kubectl apply -f "$here/testbed/snapshots.yaml" >/dev/null
snapshotter_pid="$STATE/snapshot-controller.pid"
if ! { [ -f "$snapshotter_pid" ] && kill -0 "$(cat "$snapshotter_pid")" 2>/dev/null; }; then
  nohup "$SNAPSHOTTER_DIR/bin/snapshot-controller" --kubeconfig "$KUBECONFIG_PATH" --leader-election=false \
    --v=2 >"$STATE/snapshot-controller.log" 2>&1 &
  echo $! >"$snapshotter_pid"
fi

# The test provisioner runs beside the cluster; restart it if it is not running, or if its program
# changed since it started.
pidfile="$STATE/provisioner.pid"
# `make cluster-up` has built dist/ already; a direct call builds it only if it is missing.
[ -f "$root/dist/test/support/provisioner-main.js" ] || (cd "$root" && npm run --silent build >/dev/null)
provisioner_key="$(cat "$root"/dist/test/support/{provisioner-main,provisioner,host-volumes}.js | sha256sum | cut -c1-16)"
if [ -f "$pidfile" ] && [ "$(cat "$STATE/provisioner.key" 2>/dev/null)" != "$provisioner_key" ]; then
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
fi
if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
  echo "$provisioner_key" >"$STATE/provisioner.key"
  # test-real volumes are folders below $STATE/volumes (test/support/host-volumes.ts).
  DATAMOVER_HOST_VOLUMES="$STATE/volumes" \
    nohup "$root/node_modules/.bin/node" "$root/dist/test/support/provisioner-main.js" \
    >"$STATE/provisioner.log" 2>&1 &
  echo $! >"$pidfile"
fi
# The real node, or the reason there is none.
rm -f "$STATE/realnode.skip"
if reason="$(bash "$here/realnode-check.sh")"; then
  bash "$here/build-realnode.sh" >/dev/null
  bash "$here/realnode-image.sh" >/dev/null
  bash "$here/realnode-up.sh"
else
  if [ -d "$STATE/realnode" ]; then bash "$here/realnode-down.sh" >/dev/null; fi
  echo "$reason" >"$STATE/realnode.skip"
  echo "test bed '$CLUSTER': no real node: $reason (the real tier will be skipped)"
fi
echo "kubeconfig: $KUBECONFIG_PATH"
