#!/usr/bin/env bash
# Builds the test bed's binaries from Go modules into a version-keyed cache outside the work tree:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes), etcd and
# kwok/kwokctl. A second run finds them and returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"

want=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)
missing=0
for b in "${want[@]}"; do [ -x "$TESTBED_BIN/$b" ] || missing=1; done
if [ "$missing" = 0 ]; then
  echo "test bed binaries cached in $TESTBED_BIN"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the test bed" >&2; exit 1; }
mkdir -p "$TESTBED_BIN"
work="$CACHE_ROOT/testbed/build"
mkdir -p "$work"
export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0
start=$(date +%s)

build_kubernetes() {
  local dir="$work/kubernetes-$K8S_VERSION" staging v minor
  v="${K8S_VERSION#v1.}"   # 34.4
  minor="${v%%.*}"
  staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
  mkdir -p "$dir"
  {
    echo "module testbed/kubernetes"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    for m in "${staging[@]}"; do echo "replace k8s.io/$m => k8s.io/$m v0.$v"; done
  } >"$dir/go.mod"
  printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >"$dir/tools.go"
  sed -i 's/^package tools/\/\/go:build tools\n\npackage tools/' "$dir/tools.go"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (
    cd "$dir"
    go mod tidy -e >/dev/null 2>&1 || true
    go build -trimpath -ldflags "$ld" -o "$TESTBED_BIN/" \
     k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  )
}

build_etcd() {
  local dir="$work/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  printf 'module testbed/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (
    cd "$dir"
    go mod tidy -e >/dev/null 2>&1 || true
    go build -trimpath -ldflags "-s -w" -o "$TESTBED_BIN/etcd" go.etcd.io/etcd/server/v3
  )
}

build_kwok() {
  GOBIN="$TESTBED_BIN" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

# Three module graphs, built side by side: one build's downloads and single-threaded links leave
# a core idle that the others use.
jobs=()
if [ ! -x "$TESTBED_BIN/etcd" ]; then
  build_etcd &
  jobs+=($!)
fi
if [ ! -x "$TESTBED_BIN/kwok" ] || [ ! -x "$TESTBED_BIN/kwokctl" ]; then
  build_kwok &
  jobs+=($!)
fi
if [ ! -x "$TESTBED_BIN/kube-apiserver" ] || [ ! -x "$TESTBED_BIN/kube-controller-manager" ] ||
  [ ! -x "$TESTBED_BIN/kube-scheduler" ] || [ ! -x "$TESTBED_BIN/kubectl" ]; then
  build_kubernetes
fi
for job in ${jobs[@]+"${jobs[@]}"}; do wait "$job"; done
echo "test bed binaries built in $(( $(date +%s) - start ))s into $TESTBED_BIN"
