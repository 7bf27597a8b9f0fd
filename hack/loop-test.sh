#!/usr/bin/env bash
# Runs one test file again and again against the test bed, stopping at the first failure, to tell a
# flaky test from a fixed one: `bash hack/loop-test.sh test/e2e/failover.test.ts 20`. Each run's
# output is kept in .tmp/loop/<run>.log; the last line says how many consecutive runs passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
file="${1:?usage: hack/loop-test.sh <test file> [runs]}"
runs="${2:-20}"
case "$file" in
  test/e2e/*) project=e2e ;;
  test/integration/*) project=integration ;;
  test/mover/*) project=mover ;;
  *) project=unit ;;
esac
make build >/dev/null
if [ "$project" = e2e ] || [ "$project" = integration ]; then make cluster-up >/dev/null; fi
export PATH="$PWD/node_modules/.bin:$PATH"
KUBECONFIG="$(bash hack/cluster-up.sh --kubeconfig)"
export KUBECONFIG
mkdir -p .tmp/loop
# An e2e file is in the e2e project or in e2e-parallel (vitest.config.ts): both are named.
also=()
if [ "$project" = e2e ]; then also=(--project e2e-parallel); fi
passed=0
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  if vitest run --project "$project" "${also[@]}" "$file" >".tmp/loop/$run.log" 2>&1; then
    passed=$((passed + 1))
    echo "run $run: passed in $(($(date +%s) - start))s"
  else
    echo "run $run: FAILED in $(($(date +%s) - start))s (.tmp/loop/$run.log)"
    echo "$file: $passed consecutive pass(es), then a failure"
    exit 1
  fi
done
echo "$file: $passed consecutive passes"
