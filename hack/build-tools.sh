#!/usr/bin/env bash
# Builds the tools that are not part of the control plane from Go modules, into version-keyed
# folders outside the work tree: helm (chart checks) and rclone (the mover's tests use the same
# version the mover image pins). A second run finds them and returns at once. With tool names as
# arguments (e.g. `build-tools.sh rclone`, as the demo's image needs), only those are built.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0

wanted=("$@")
build() { # name dir module@version ldflags
  if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" $1 "* ]]; then return; fi
  if [ -x "$2/$1" ]; then
    echo "$1 cached in $2"
    return
  fi
  command -v go >/dev/null || { echo "go is required to build $1" >&2; exit 1; }
  mkdir -p "$2"
  local start
  start=$(date +%s)
  GOBIN="$2" go install -trimpath -ldflags "-s -w $4" "$3"
  echo "$1 built in $(($(date +%s) - start))s into $2"
}

build helm "$TOOLS_BIN" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
build rclone "$RCLONE_BIN" "github.com/rclone/rclone@$RCLONE_VERSION" "-X github.com/rclone/rclone/fs.Version=$RCLONE_VERSION"
build versitygw "$VERSITYGW_BIN" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" ""
# The snapshot controller's go.mod replaces its client module with the repository's ./client, which
# the module download does not hold (a nested module), so `go install @version` refuses it: it is
# built from a copy of the module with that replace pointed at the client module of the same version,
# whose download holds the CRDs too.
build_snapshotter() {
  if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" snapshot-controller "* ]]; then return; fi
  if [ -x "$SNAPSHOTTER_DIR/bin/snapshot-controller" ] && [ -f "$SNAPSHOTTER_DIR/crd/ready" ]; then
    echo "snapshot-controller cached in $SNAPSHOTTER_DIR"
    return
  fi
  command -v go >/dev/null || { echo "go is required to build snapshot-controller" >&2; exit 1; }
  local start module client src
  start=$(date +%s)
  module="github.com/kubernetes-csi/external-snapshotter/v8@$SNAPSHOTTER_VERSION"
  client="github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION"
  src="$SNAPSHOTTER_DIR/src"
  rm -rf "$src" && mkdir -p "$SNAPSHOTTER_DIR/bin" "$SNAPSHOTTER_DIR/crd"
  cp -r "$(go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')" "$src"
  chmod -R u+w "$src"
  sed -i "s#^replace github.com/kubernetes-csi/external-snapshotter/client/v8 => ./client\$#replace github.com/kubernetes-csi/external-snapshotter/client/v8 => ${client/@/ }#" "$src/go.mod"
  (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$SNAPSHOTTER_DIR/bin/snapshot-controller" ./cmd/snapshot-controller)
  cp "$(go mod download -json "$client" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"/config/crd/snapshot.storage.k8s.io_*.yaml "$SNAPSHOTTER_DIR/crd/"
  chmod u+w "$SNAPSHOTTER_DIR"/crd/*.yaml
  touch "$SNAPSHOTTER_DIR/crd/ready"
  rm -rf "$src"
  echo "snapshot-controller built in $(($(date +%s) - start))s into $SNAPSHOTTER_DIR"
}
build_snapshotter

build actionlint "$ACTIONLINT_BIN" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
