#!/usr/bin/env bash
# Pinned versions of the test bed. Sourced by the other hack/ scripts.
# shellcheck disable=SC2034
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The mover image and its tests use this one rclone.
RCLONE_VERSION="${RCLONE_VERSION:-v1.76.0}"
# An S3 server with users and bucket policies, for the least-privilege test of the mover.
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
# Workflow lint (make verify) and kind for `make kind-deploy` (needs Docker; not part of make test).
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
KIND_VERSION="${KIND_VERSION:-v0.33.0}"
# The VolumeSnapshot CRDs and the snapshot controller (copyMethod: Snapshot on the test bed).
SNAPSHOTTER_VERSION="${SNAPSHOTTER_VERSION:-v8.4.0}"
CACHE_ROOT="${DATAMOVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datamover-operator}"
TESTBED_BIN="$CACHE_ROOT/testbed/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
# Tools that are not part of the control plane, each in a folder of its own version.
TOOLS_BIN="$CACHE_ROOT/tools/helm-$HELM_VERSION/bin"
RCLONE_BIN="$CACHE_ROOT/tools/rclone-$RCLONE_VERSION/bin"
VERSITYGW_BIN="$CACHE_ROOT/tools/versitygw-$VERSITYGW_VERSION/bin"
ACTIONLINT_BIN="$CACHE_ROOT/tools/actionlint-$ACTIONLINT_VERSION/bin"
KIND_BIN="$CACHE_ROOT/tools/kind-$KIND_VERSION/bin"
# bin/snapshot-controller, and crd/ with the snapshot.storage.k8s.io CRDs of the same release.
SNAPSHOTTER_DIR="$CACHE_ROOT/tools/snapshotter-$SNAPSHOTTER_VERSION"
