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
build actionlint "$ACTIONLINT_BIN" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
