#!/usr/bin/env bash
# Installs node_modules exactly as package-lock.json says (`npm ci`), through a cache outside the work
# tree keyed by the lock file: the first install of a lock file is packed into
# $CACHE_ROOT/npm/node_modules-<key>.tar, and a later clean clone with the same lock file unpacks it
# (seconds) instead of running npm ci again (half a minute of a warm CI run). Nothing in node_modules
# names the folder it was installed in (checked: no absolute paths or links), so the pack works for
# any clone. npm's own download cache still serves the first install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
cd "$root"
key="$(cat package-lock.json package.json | sha256sum | cut -c1-16)"
cache="$CACHE_ROOT/npm"
pack="$cache/node_modules-$key.tar"
if [ -f "$pack" ]; then
  rm -rf node_modules
  tar -xf "$pack"
  echo "node_modules unpacked from $pack"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$cache"
# Written aside and moved, so a run cut short never leaves half a pack; the three newest are kept
# (trees of older commits on the same machine, such as an A/B benchmark, keep theirs).
tar -cf "$pack.partial" --exclude=node_modules/.vite --exclude=node_modules/.stamp node_modules
mv "$pack.partial" "$pack"
find "$cache" -maxdepth 1 -name 'node_modules-*.tar' -printf '%T@ %p\n' | sort -rn | tail -n +4 |
  cut -d' ' -f2- | xargs -r rm -f
echo "node_modules packed into $pack"
