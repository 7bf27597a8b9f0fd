#!/usr/bin/env bash
# make kind-deploy, for machines with a Docker engine (not this project's test machines, and not
# part of `make test`): a kind cluster (kind built from its Go module), both images built and
# loaded into it, the CSI hostpath driver (real clones), an S3 server in the cluster (rclone serve s3
# from the mover image), and the chart installed. hack/kind-journey.sh then backs up a PVC.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
cluster="${KIND_CLUSTER:-datamover}"
csi_version="${CSI_HOSTPATH_VERSION:-v1.17.0}"
snapshotter_version="${EXTERNAL_SNAPSHOTTER_VERSION:-v8.2.0}"

if ! docker info >/dev/null 2>&1; then
  echo "make kind-deploy needs a running Docker engine ('docker info' failed); make test and make demo do not" >&2
  exit 1
fi
if [ ! -x "$KIND_BIN/kind" ]; then
  mkdir -p "$KIND_BIN"
  GOBIN="$KIND_BIN" GOTOOLCHAIN=local CGO_ENABLED=0 go install -trimpath "sigs.k8s.io/kind@$KIND_VERSION"
fi
kind="$KIND_BIN/kind"
"$kind" get clusters | grep -qx "$cluster" || "$kind" create cluster --name "$cluster" --wait 180s
kubectl config use-context "kind-$cluster" >/dev/null

version="$(node -p "require('$root/package.json').version")"
operator="ghcr.io/datamover-operator/operator:$version"
mover="ghcr.io/datamover-operator/mover:$version"
docker build -t "$operator" -f "$root/Dockerfile" "$root"
docker build -t "$mover" -f "$root/mover/Dockerfile" "$root"
"$kind" load docker-image --name "$cluster" "$operator" "$mover"

echo "--- CSI hostpath driver $csi_version (snapshot CRDs $snapshotter_version)"
kubectl apply -k "https://github.com/kubernetes-csi/external-snapshotter/client/config/crd?ref=$snapshotter_version"
kubectl apply -k "https://github.com/kubernetes-csi/external-snapshotter/deploy/kubernetes/snapshot-controller?ref=$snapshotter_version"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet --depth 1 --branch "$csi_version" https://github.com/kubernetes-csi/csi-driver-host-path "$work/csi"
"$work/csi/deploy/kubernetes-latest/deploy.sh"
kubectl apply -f "$root/hack/kind/storageclass.yaml"

echo "--- S3 server in the cluster"
sed "s#MOVER_IMAGE#$mover#" "$root/hack/kind/s3.yaml" | kubectl apply -f -
kubectl rollout status -n s3 deploy/s3 --timeout=180s

echo "--- the chart"
helm upgrade --install datamover-operator "$root/charts/datamover-operator" \
  -n datamover-operator-system --create-namespace --wait --timeout 5m
echo "kind-deploy: ready (kubectl context kind-$cluster); run: bash hack/kind-journey.sh"
