#!/usr/bin/env bash
# The demo: starts the local control plane (with its real node), installs the CRDs, runs the
# operator, and backs up a PVC: a real pod writes files into it, the mover Job copies its clone into
# an S3 server on the real node's bridge, and a DataMoverRestore puts the files back into a new PVC,
# where a real pod prints their hashes beside the originals. On a machine that cannot run a kubelet
# (hack/realnode-check.sh says why), the storage and the mover pod are simulated instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
STATE="$CACHE_ROOT/cluster-${DATAMOVER_CLUSTER:-datamover}"
NS="${DEMO_NAMESPACE:-datamover-demo}"
METRICS_PORT="${DEMO_METRICS_PORT:-8080}"
PROBE_PORT="${DEMO_PROBE_PORT:-8081}"
export PATH="$TESTBED_BIN:$root/node_modules/.bin:$PATH"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)"
bash "$here/cluster-up.sh"
KUBECONFIG="$(bash "$here/cluster-up.sh" --kubeconfig)"
export KUBECONFIG
real=1
if [ -f "$STATE/realnode.skip" ]; then
  real=0
  echo "no real node on this machine ($(cat "$STATE/realnode.skip")): the storage and the mover pod are simulated"
fi
operator_args=()
if [ "$real" = 1 ]; then
  # shellcheck source=hack/realnode-env.sh
  source "$here/realnode-env.sh"
  images="$(bash "$here/realnode-image.sh" 2>/dev/null)"
  MOVER_IMAGE="$(sed -n 1p <<<"$images")"
  BUSYBOX_IMAGE="$(sed -n 2p <<<"$images")"
  operator_args=(--default-mover-image "$MOVER_IMAGE")
  echo "real node '$REALNODE_NAME' Ready; local images $MOVER_IMAGE and $BUSYBOX_IMAGE imported"
fi

say "Installing the CRDs"
kubectl apply --server-side --force-conflicts -f "$root/config/crd/bases/" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/datamovers.datamover.io \
  crd/datamoverschedules.datamover.io crd/datamoverrestores.datamover.io >/dev/null
echo "DataMover, DataMoverSchedule and DataMoverRestore established"

say "Running the operator (logs: $STATE/operator.log)"
pidfile="$STATE/operator.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")" 2>/dev/null || true
  while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
fi
nohup node "$root/dist/operator/main.js" \
  --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
  --health-probe-bind-address "127.0.0.1:$PROBE_PORT" \
  --namespaces "$NS" \
  ${operator_args[@]+"${operator_args[@]}"} \
  >"$STATE/operator.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PROBE_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$STATE/operator.log"; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PROBE_PORT/readyz" >/dev/null
echo "operator ready: metrics on 127.0.0.1:$METRICS_PORT/metrics, probes on 127.0.0.1:$PROBE_PORT"

name="app-data-backup-$(date -u +%H%M%S)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
if [ "$real" = 1 ]; then
  # shellcheck source=hack/demo-real.sh
  source "$here/demo-real.sh"
  demo_real
else
  say "Applying a source PVC, a bucket Secret and DataMover $name in namespace $NS"
  sed "s/name: app-data-backup$/name: $name/" "$root/config/samples/demo.yaml" | kubectl apply -n "$NS" -f -
  say "kubectl get dm -w (until Completed)"
  kubectl get dm "$name" -n "$NS" -w &
  watcher=$!
  kubectl wait dm "$name" -n "$NS" --for=condition=Complete --timeout=120s >/dev/null
  sleep 0.5 # let the watch print the last line
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
fi

say "The finished DataMover"
kubectl get dm "$name" -n "$NS" -o wide
kubectl get dm "$name" -n "$NS" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}){"\n"}{end}'
say "Its events"
kubectl get events -n "$NS" --field-selector "involvedObject.name=$name" --sort-by=.lastTimestamp

say "A DataMoverSchedule for the same PVC, nightly at 03:00 Berlin time, run once now by its trigger"
kubectl label pvc app-data -n "$NS" backup=nightly --overwrite >/dev/null
if [ "$real" = 1 ]; then
  sed "s|secretName: backup-bucket|secretName: backup-bucket\n    tolerations: [{key: $REALNODE_TAINT_KEY, operator: Exists, effect: NoSchedule}]\n    securityContext: {runAsUser: 1000, runAsGroup: 1000}|" \
    "$root/config/samples/schedule.yaml" | kubectl apply -n "$NS" -f -
else
  kubectl apply -n "$NS" -f "$root/config/samples/schedule.yaml"
fi
kubectl patch dms nightly -n "$NS" --type merge -p "{\"spec\":{\"trigger\":\"demo-$(date +%s)\"}}" >/dev/null
for _ in $(seq 1 300); do
  [ -n "$(kubectl get dms nightly -n "$NS" -o jsonpath='{.status.pvcs[0].lastSuccessfulTime}')" ] && break
  sleep 0.2
done
kubectl get dms nightly -n "$NS"
kubectl get dm -n "$NS" -l datamover.io/schedule=nightly
echo "recovery points (status.pvcs):"
kubectl get dms nightly -n "$NS" -o jsonpath='{range .status.pvcs[*]}  {.pvc}: last success {.lastSuccessfulTime} -> {.lastDestination}{"\n"}{end}'

say "datamover_* metrics (histogram buckets left out)"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^datamover_' | grep -v '_bucket{' || true

if [ "$real" = 1 ]; then
  what_real="Real: the Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler),
  the operator, its CRDs, a kubelet with containerd and runc (node '$REALNODE_NAME'), the pods that wrote
  and read the files, the volumes (folders on this machine; the clone a copy of the source taken when
  it was provisioned), the mover Jobs' containers (the mover image, assembled locally from what
  mover/Dockerfile copies), rclone, the S3 server on $S3_ADDR, every byte backed up and restored,
  garbage collection, events and metrics.
  Simulated: the storage driver (a test provisioner stands in for CSI: it binds folders, not disks),
  and kwok's second node, where nothing of this demo ran."
else
  what_real="Real: the Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler),
  the operator, its CRDs, the clone PVC, the mover Job, garbage collection, events and metrics.
  Simulated (this machine cannot run a kubelet: $(cat "$STATE/realnode.skip")): storage (a test
  provisioner binds PVs; no volume holds data) and the mover pod (kwok marks it Succeeded with the
  report a real mover writes; no container runs and no bytes move)."
fi

cat <<MSG

$(printf '\033[1m')What was real and what was simulated$(printf '\033[0m')
  $what_real

  The operator and the control plane keep running, so you can explore:
    export KUBECONFIG=$KUBECONFIG
    kubectl get dm,dms -A
  Stop everything with:  make cluster-down
MSG
