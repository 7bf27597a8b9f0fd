#!/usr/bin/env bash
# Stops the test bed, its real node if one is attached (with the S3 server the real tier bound to its
# bridge), and its provisioner, and removes the folders of its test-real volumes. The built binaries
# and images stay cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
CLUSTER="${DATAMOVER_CLUSTER:-datamover}"
STATE="$CACHE_ROOT/cluster-$CLUSTER"
# The demo's S3 server (hack/demo-real.sh) is bound to the real node's bridge: it goes before it.
if [ -f "$STATE/demo-s3.pid" ]; then
  kill "$(cat "$STATE/demo-s3.pid")" 2>/dev/null || true
  rm -f "$STATE/demo-s3.pid"
fi
rm -rf --one-file-system "$STATE/demo-s3"
# A real node (hack/realnode-up.sh) goes first, while the cluster still answers.
if [ -d "$STATE/realnode" ]; then bash "$here/realnode-down.sh"; fi
for pidfile in "$STATE/operator.pid" "$STATE/provisioner.pid" "$STATE/snapshot-controller.pid"; do
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
done
if [ -x "$TESTBED_BIN/kwokctl" ]; then
  "$TESTBED_BIN/kwokctl" --name "$CLUSTER" delete cluster --kubeconfig "$STATE/kubeconfig" 2>/dev/null || true
fi
rm -f "$STATE/kubeconfig" "$STATE/realnode.skip" "$STATE/provisioner.key"
rm -rf --one-file-system "$STATE/volumes"
echo "test bed '$CLUSTER' stopped"
