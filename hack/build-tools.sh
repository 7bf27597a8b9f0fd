#!/usr/bin/env bash
# Builds the packaging tools from Go modules into a version-keyed cache outside the work tree:
# helm (for lint and template checks of the chart). A second run finds it and returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
if [ -x "$TOOLS_BIN/helm" ]; then
  echo "helm cached in $TOOLS_BIN"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build helm" >&2; exit 1; }
mkdir -p "$TOOLS_BIN"
start=$(date +%s)
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$TOOLS_BIN" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
echo "helm $HELM_VERSION built in $(($(date +%s) - start))s into $TOOLS_BIN"
