#!/usr/bin/env bash
# Paths and settings of the real node (a kubelet with containerd and runc beside kwok's simulated
# node; ../shared/REALNODE.md). Sourced by the hack/*realnode* scripts after testbed-versions.sh.
# Kept apart from testbed-versions.sh on purpose: cluster-up.sh hashes that file to decide whether a
# running cluster can be reused.
# shellcheck disable=SC2034

# The kubelet comes from the same Kubernetes module version as the control plane, cached by version.
KUBELET_BIN="$CACHE_ROOT/testbed/kubelet-$K8S_VERSION/bin"
# Local images: tarballs (docker-archive) written here and imported with ctr; never pulled.
REALNODE_IMAGES="$CACHE_ROOT/realnode/images"
PAUSE_VERSION="1"
PAUSE_IMAGE="localhost/datamover-pause:$PAUSE_VERSION"

CLUSTER="${DATAMOVER_CLUSTER:-datamover}"
KWOK_CLUSTER_DIR="${KWOK_WORKDIR:-$HOME/.kwok}/clusters/$CLUSTER"
# Everything the node writes at run time: containerd's root, state and socket, the kubelet's root,
# pod logs, CNI configuration and IPAM state. realnode-down.sh removes it.
REALNODE_STATE="$CACHE_ROOT/cluster-$CLUSTER/realnode"
REALNODE_NAME="realnode"
# The volumes of the test-real classes: one folder per PV (test/support/host-volumes.ts), served as
# hostPath PVs (test-real) or through the test bed's CSI node plugin (test-real-csi).
HOST_VOLUMES="$CACHE_ROOT/cluster-$CLUSTER/volumes"
# That plugin (hack/testbed/csi-hostfolders): built from its source, cached by the source's hash.
CSI_HOSTFOLDERS_DRIVER="hostfolders.test.datamover.io"
CSI_HOSTFOLDERS_BIN="$CACHE_ROOT/realnode/csi-hostfolders"
REALNODE_TAINT_KEY="datamover.io/real-node"
REALNODE_LABEL="datamover.io/real-node=true"
# The node's own bridge. Pods get addresses from it and reach nothing but it and each other:
# no gateway, no masquerade, no routes, IP forwarding untouched (off).
REALNODE_BRIDGE="${REALNODE_BRIDGE:-dmreal0}"
REALNODE_SUBNET_PREFIX="${REALNODE_SUBNET_PREFIX:-10.244.77}"
REALNODE_IP="$REALNODE_SUBNET_PREFIX.1"
# The Service range and the `kubernetes` Service's address (the apiserver's default first address).
SERVICE_CIDR="${SERVICE_CIDR:-10.0.0.0/24}"
KUBERNETES_SERVICE_IP="${KUBERNETES_SERVICE_IP:-10.0.0.1}"
REALNODE_KUBELET_PORT="${REALNODE_KUBELET_PORT:-10250}"
REALNODE_HEALTHZ_PORT="${REALNODE_HEALTHZ_PORT:-10248}"

CONTAINERD_SOCK="$REALNODE_STATE/containerd/containerd.sock"
ctr_() { ctr -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# Writes a one-layer docker-archive tarball (what `docker save` writes, and `ctr images import`
# reads) of the folder ROOTFS, tagged REF. CONFIG is the image config's "config" object as JSON
# (Entrypoint, Cmd, Env, User, WorkingDir). Owners become 0:0 and times the epoch, so the same
# folder gives the same image ID.
write_image_tar() { # ROOTFS REF OUT.tar CONFIG-JSON
  local rootfs="$1" ref="$2" out="$3" config="$4" tmp layer cfg
  tmp="$(mktemp -d)"
  (cd "$rootfs" && find . -mindepth 1 -maxdepth 1 -printf '%P\0' | sort -z) |
    tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --null -T - -cf "$tmp/layer.tar"
  layer="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
  mkdir "$tmp/$layer"
  mv "$tmp/layer.tar" "$tmp/$layer/layer.tar"
  jq -cn --arg diff "sha256:$layer" --argjson c "$config" \
    '{architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00Z", config: $c,
      rootfs: {type: "layers", diff_ids: [$diff]},
      history: [{created: "1970-01-01T00:00:00Z", created_by: "datamover test bed: write_image_tar in hack/realnode-env.sh"}]}' \
    >"$tmp/config.json"
  cfg="$(sha256sum "$tmp/config.json" | cut -d' ' -f1)"
  mv "$tmp/config.json" "$tmp/$cfg.json"
  jq -cn --arg cfg "$cfg.json" --arg ref "$ref" --arg layer "$layer/layer.tar" \
    '[{Config: $cfg, RepoTags: [$ref], Layers: [$layer]}]' >"$tmp/manifest.json"
  mkdir -p "$(dirname "$out")"
  tar -C "$tmp" --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out.partial" \
    manifest.json "$cfg.json" "$layer/layer.tar"
  mv "$out.partial" "$out"
  rm -rf "$tmp"
}

# Imports an image tarball into the real node's containerd, unless the same tarball (by the key in
# TAR.src) was imported since containerd's state was made.
import_image() { # TAR
  local mark
  mark="$REALNODE_STATE/containerd/imported-$(basename "$1").src"
  if [ -f "$mark" ] && cmp -s "$mark" "$1.src"; then return 0; fi
  ctr_ images import "$1" >/dev/null
  cp "$1.src" "$mark"
}
