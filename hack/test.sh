#!/usr/bin/env bash
# The whole suite (`make test`), in the order that keeps two cores busy without letting one tier's
# load disturb another's timings:
#   1. the tools, the test bed's binaries and the real node's (built once, cached by version), then the
#      control plane starts in the background while lint and the unit tests run;
#   2. the mover tier (rclone against its own S3 servers on loopback, no cluster) starts in the
#      background at the lowest CPU and I/O priority: it takes only what the cluster tiers leave idle
#      (they mostly wait on the apiserver, Jobs and leases), so their timings are not disturbed;
#   3. the packaging checks, the integration tier, the e2e files that inject no fault (two at a
#      time), the e2e files whose faults hit the whole test bed (one at a time) and the real tier,
#      one after the other; then the mover tier is waited for.
# Prints how long each stage took. `hack/test.sh tier <project>` runs one vitest project with its
# JSON report in .tmp (what `make test-unit` and the other tier targets call).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NODE_BIN=node_modules/.bin
mkdir -p .tmp
# Each operator process a test started leaves its log here (OperatorProcess.keepLogs, named by test
# file and pid): what a failed run's operators did can be read after it.
export DATAMOVER_TEST_LOGS=${DATAMOVER_TEST_LOGS:-$PWD/.tmp/operator-logs}
rm -rf "$DATAMOVER_TEST_LOGS" && mkdir -p "$DATAMOVER_TEST_LOGS"

tier() { # project
  "$NODE_BIN/vitest" run --project "$1" --reporter=default --reporter=json --outputFile.json=".tmp/vitest-$1.json"
}

if [ "${1:-}" = tier ]; then
  tier "${2:?usage: hack/test.sh tier <project>}"
  exit
fi

timings=()
stage() { # name command...: runs it, notes how long it took, returns its status
  local name=$1 start status=0
  shift
  start=$(date +%s)
  "$@" || status=$?
  timings+=("$(printf '%-12s %4ss' "$name" "$(($(date +%s) - start))")")
  return "$status"
}

background=()
finish() {
  local pid line
  # What runs in the background ends first: the caller may stop the control plane next.
  for pid in "${background[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stages:"
  for line in "${timings[@]}"; do echo "  $line"; done
}
trap finish EXIT

# Everything that is built, built first: on a fresh machine the Go builds take both cores for many
# minutes, and must not run beside the tests (the background start below then only starts processes).
build_all() {
  # On a fresh machine these are Go builds of many minutes: the tools build beside the control
  # plane, so that one's downloads and single-threaded links leave no core idle.
  bash hack/build-tools.sh &
  local tools=$!
  bash hack/build-testbed.sh
  wait "$tools"
  if bash hack/realnode-check.sh >/dev/null 2>&1; then
    bash hack/build-realnode.sh >/dev/null
    bash hack/realnode-image.sh >/dev/null
  fi
}
stage build build_all
up_start=$(date +%s)
bash hack/cluster-up.sh >.tmp/cluster-up.log 2>&1 &
up=$!
background+=("$up")
stage lint make --no-print-directory lint
stage unit tier unit
# The mover tier's output goes to a file and is printed when it ends.
mover_start=$(date +%s)
rm -f .tmp/test-mover.end
(
  status=0
  nice -n 19 ionice -c 3 bash hack/test.sh tier mover >.tmp/test-mover.log 2>&1 || status=$?
  date +%s >.tmp/test-mover.end
  exit "$status"
) &
mover=$!
background+=("$mover")
if ! wait "$up"; then
  cat .tmp/cluster-up.log
  echo "make test: the control plane did not start (log above)" >&2
  exit 1
fi
cat .tmp/cluster-up.log
timings+=("$(printf '%-12s %4ss (in the background)' cluster-up "$(($(date +%s) - up_start))")")
stage verify bash hack/verify.sh
stage integration tier integration
stage e2e-parallel tier e2e-parallel
stage e2e tier e2e
real=0
stage real tier real || real=$?
mover_status=0
wait "$mover" || mover_status=$?
cat .tmp/test-mover.log
ended=$(cat .tmp/test-mover.end 2>/dev/null || date +%s)
timings+=("$(printf '%-12s %4ss (in the background from the unit tests on)' mover "$((ended - mover_start))")")
[ "$real" -eq 0 ] && [ "$mover_status" -eq 0 ]
