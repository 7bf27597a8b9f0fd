#!/usr/bin/env bash
# The demo: starts the local control plane, installs the CRD, runs the operator, and backs up a
# sample PVC, showing the DataMover move through its phases and the metrics it produced.
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

say "Installing the DataMover CRD"
kubectl apply --server-side --force-conflicts -f "$root/config/crd/bases/" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/datamovers.datamover.io crd/datamoverschedules.datamover.io >/dev/null
echo "crd/datamovers.datamover.io and crd/datamoverschedules.datamover.io established"

say "Running the operator (logs: $STATE/operator.log)"
pidfile="$STATE/operator.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")" 2>/dev/null || true
  while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
fi
nohup node "$root/dist/src/main.js" \
  --metrics-bind-address "127.0.0.1:$METRICS_PORT" \
  --health-probe-bind-address "127.0.0.1:$PROBE_PORT" \
  --namespaces "$NS" \
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
say "Applying a source PVC, a bucket Secret and DataMover $name in namespace $NS"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
sed "s/name: app-data-backup$/name: $name/" "$root/config/samples/demo.yaml" | kubectl apply -n "$NS" -f -

say "kubectl get dm -w (until Completed)"
kubectl get dm "$name" -n "$NS" -w &
watcher=$!
kubectl wait dm "$name" -n "$NS" --for=condition=Complete --timeout=120s >/dev/null
sleep 0.5 # let the watch print the last line
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true

say "The finished DataMover"
kubectl get dm "$name" -n "$NS" -o wide
kubectl get dm "$name" -n "$NS" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}){"\n"}{end}'
say "Its events"
kubectl get events -n "$NS" --field-selector "involvedObject.name=$name" --sort-by=.lastTimestamp

say "A DataMoverSchedule for the same PVC, nightly at 03:00 Berlin time, run once now by its trigger"
kubectl label pvc app-data -n "$NS" backup=nightly --overwrite >/dev/null
kubectl apply -n "$NS" -f "$root/config/samples/schedule.yaml"
kubectl patch dms nightly -n "$NS" --type merge -p "{\"spec\":{\"trigger\":\"demo-$(date +%s)\"}}" >/dev/null
for _ in $(seq 1 150); do
  [ -n "$(kubectl get dms nightly -n "$NS" -o jsonpath='{.status.pvcs[0].lastSuccessfulTime}')" ] && break
  sleep 0.2
done
kubectl get dms nightly -n "$NS"
kubectl get dm -n "$NS" -l datamover.io/schedule=nightly
echo "recovery points (status.pvcs):"
kubectl get dms nightly -n "$NS" -o jsonpath='{range .status.pvcs[*]}  {.pvc}: last success {.lastSuccessfulTime} -> {.lastDestination}{"\n"}{end}'

say "datamover_* metrics (histogram buckets left out)"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | grep '^datamover_' | grep -v '_bucket{' || true

cat <<MSG

$(printf '\033[1m')What was real and what was simulated$(printf '\033[0m')
  Real: the Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler),
  the operator, its CRD, the clone PVC, the mover Job, garbage collection, events and metrics.
  Simulated: storage (a test provisioner binds PVs; no volume holds data) and the mover pod (kwok
  marks it Succeeded with the report a real mover writes: 1 MiB in 3 files; no container runs and
  no bytes move). Moving real bytes is the mover image's
  job, which this demo does not run.

  The operator and the control plane keep running, so you can explore:
    export KUBECONFIG=$KUBECONFIG
    kubectl get dm,dms -A
  Stop everything with:  make cluster-down
MSG
