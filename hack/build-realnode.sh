#!/usr/bin/env bash
# Builds what the real node needs (../shared/REALNODE.md), without starting anything:
# - kubelet, from the same generated go.mod and with the same version flags as the other Kubernetes
#   binaries (hack/build-testbed.sh), cached by version in $KUBELET_BIN;
# - containerd, runc, the CNI plugins and busybox-static from Debian, if missing;
# - the CSI node plugin of the test-real-csi class (hack/testbed/csi-hostfolders), cached by source;
# - the static pause program and its image tarball (localhost/datamover-pause), imported later by
#   hack/realnode-up.sh. A second run finds everything and returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"
start=$(date +%s)

# Debian packages. Installing containerd starts nothing here (no init system runs its unit).
pkgs=()
for p in containerd runc containernetworking-plugins busybox-static gcc libc6-dev openssl jq iptables; do
  dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
done
if [ "${#pkgs[@]}" -gt 0 ]; then
  echo "installing from Debian: ${pkgs[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; then
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
fi

# kubelet: the go.mod build-testbed.sh generates, with cmd/kubelet added.
if [ ! -x "$KUBELET_BIN/kubelet" ]; then
  bash "$here/build-testbed.sh" >/dev/null
  command -v go >/dev/null || { echo "go is required to build kubelet" >&2; exit 1; }
  kstart=$(date +%s)
  src="$CACHE_ROOT/testbed/build/kubernetes-$K8S_VERSION"
  dir="$CACHE_ROOT/testbed/build/kubelet-$K8S_VERSION"
  mkdir -p "$dir" "$KUBELET_BIN"
  [ -f "$src/go.mod" ] || { echo "missing $src/go.mod: rebuild the test bed (hack/build-testbed.sh)" >&2; exit 1; }
  cp "$src/go.mod" "$dir/go.mod"
  [ -f "$src/go.sum" ] && cp "$src/go.sum" "$dir/go.sum"
  sed -i 's|^module .*|module testbed/kubelet|' "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubelet"\n' >"$dir/tools.go"
  v="${K8S_VERSION#v1.}"
  minor="${v%%.*}"
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (
    cd "$dir"
    export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0
    go mod tidy -e >/dev/null 2>&1 || true
    go build -trimpath -ldflags "$ld" -o "$KUBELET_BIN/kubelet.partial" k8s.io/kubernetes/cmd/kubelet
  )
  mv "$KUBELET_BIN/kubelet.partial" "$KUBELET_BIN/kubelet"
  echo "kubelet built in $(($(date +%s) - kstart))s into $KUBELET_BIN"
else
  echo "kubelet cached in $KUBELET_BIN"
fi

# The CSI node plugin of the test-real-csi class (hack/testbed/csi-hostfolders/main.go): built with
# the kubelet's go.mod (its modules are already downloaded for the kubelet), keyed by its source.
csi_src="$here/testbed/csi-hostfolders/main.go"
csi_sum="$(sha256sum "$csi_src" | cut -c1-16)"
if [ ! -x "$CSI_HOSTFOLDERS_BIN/csi-hostfolders-$csi_sum" ]; then
  cstart=$(date +%s)
  dir="$CACHE_ROOT/testbed/build/csi-hostfolders"
  rm -rf "$dir" && mkdir -p "$dir" "$CSI_HOSTFOLDERS_BIN"
  mods="$CACHE_ROOT/testbed/build/kubelet-$K8S_VERSION"
  [ -f "$mods/go.mod" ] || mods="$CACHE_ROOT/testbed/build/kubernetes-$K8S_VERSION"
  [ -f "$mods/go.mod" ] || bash "$here/build-testbed.sh" >/dev/null
  cp "$mods"/go.{mod,sum} "$csi_src" "$dir/"
  sed -i 's|^module .*|module testbed/csihostfolders|' "$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$CSI_HOSTFOLDERS_BIN/csi-hostfolders.partial" .)
  rm -f "$CSI_HOSTFOLDERS_BIN"/csi-hostfolders-*
  mv "$CSI_HOSTFOLDERS_BIN/csi-hostfolders.partial" "$CSI_HOSTFOLDERS_BIN/csi-hostfolders-$csi_sum"
  echo "csi-hostfolders built in $(($(date +%s) - cstart))s"
fi
ln -sfn "csi-hostfolders-$csi_sum" "$CSI_HOSTFOLDERS_BIN/csi-hostfolders"

# The pause image: one static binary, rebuilt when its source changes.
pause_tar="$REALNODE_IMAGES/pause-$PAUSE_VERSION.tar"
pause_sum="$(sha256sum "$here/testbed/pause.c" | cut -c1-16)"
if [ ! -f "$pause_tar" ] || [ "$(cat "$pause_tar.src" 2>/dev/null)" != "$pause_sum" ]; then
  tmp="$(mktemp -d)"
  gcc -static -O2 -s -o "$tmp/pause" "$here/testbed/pause.c"
  mkdir "$tmp/root"
  install -m 0755 "$tmp/pause" "$tmp/root/pause"
  write_image_tar "$tmp/root" "$PAUSE_IMAGE" "$pause_tar" \
    '{"Entrypoint":["/pause"],"User":"65535:65535","WorkingDir":"/"}'
  echo "$pause_sum" >"$pause_tar.src"
  rm -rf "$tmp"
  echo "pause image written to $pause_tar"
fi
echo "real node parts ready in $(($(date +%s) - start))s"
