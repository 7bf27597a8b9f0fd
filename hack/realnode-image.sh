#!/usr/bin/env bash
# Assembles the local images of the real node from parts on this machine (no registry, no Docker),
# writes them as docker-archive tarballs into $REALNODE_IMAGES and, if the real node of
# DATAMOVER_CLUSTER runs, imports them into its containerd (hack/realnode-up.sh imports them too):
# - localhost/datamover-mover:<package.json version>: what mover/Dockerfile ships — the pinned rclone
#   (hack/build-tools.sh), the built mover program dist/mover and dist/src/contract without tests,
#   /app/package.json {"type":"module"}, HOME=/tmp, user 65534, the same entrypoint — on the `node`
#   binary of node_modules (Node 24 LTS) with the shared libraries ldd lists, instead of
#   node:24-bookworm-slim;
# - localhost/busybox:<Debian version>: busybox-static and its applets, for writer and reader pods;
# - localhost/datamover-operator:<package.json version>: what Dockerfile ships: package.json, the
#   node_modules that the Dockerfile's own `npm prune --omit=dev --ignore-scripts` leaves (run on a
#   copy of the installed tree), the bundle dist/operator, NODE_ENV=production, WORKDIR /app, user
#   65532, the same entrypoint and ports, on the same `node` as the mover image.
# Prints the three image names. A second run with unchanged parts rewrites nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"
start=$(date +%s)

version="$(jq -r .version "$root/package.json")"
MOVER_IMAGE="localhost/datamover-mover:$version"
busybox_version="$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-]/-/g')"
[ -n "$busybox_version" ] || { echo "busybox-static missing: run hack/build-realnode.sh" >&2; exit 1; }
BUSYBOX_IMAGE="localhost/busybox:$busybox_version"
OPERATOR_IMAGE="localhost/datamover-operator:$version"

node_bin="$(readlink -f "$root/node_modules/.bin/node")"
[ -x "$node_bin" ] || { echo "no node_modules/.bin/node: run make deps" >&2; exit 1; }
[ -x "$RCLONE_BIN/rclone" ] || bash "$here/build-tools.sh" rclone >&2
if [ ! -f "$root/dist/mover/entrypoint.js" ]; then (cd "$root" && npm run --silent build); fi

# Node 24 (the `node` of node_modules) into a root: /usr/local/bin/node and the loader and libraries
# it links, at the paths ldd names.
node_into() { # ROOT
  mkdir -p "$1/usr/local/bin"
  install -m 0755 "$node_bin" "$1/usr/local/bin/node"
  for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$1$(dirname "$lib")"
    cp -L "$lib" "$1$lib"
  done
}

# What a Debian base leaves in every image root (root and nobody, /tmp for anyone), and the modes:
# nothing writable but /tmp.
base_files() { # ROOT
  mkdir -p "$1/etc" "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
  chmod -R go-w,a+rX "$1"
  chmod 1777 "$1/tmp"
}

# Rebuilds a tarball only when its parts changed (the binaries by size and time, the program by content).
fresh() { # tarball key
  [ -f "$1" ] && [ "$(cat "$1.src" 2>/dev/null)" = "$2" ]
}

# The mover image.
mover_tar="$REALNODE_IMAGES/datamover-mover.tar"
mover_key="$(
  {
    echo "$MOVER_IMAGE"
    stat -c '%n %s %Y' "$node_bin" "$RCLONE_BIN/rclone" "$here/realnode-image.sh"
    # By content: every build rewrites dist/ with new times.
    (cd "$root/dist" && find mover src/contract -type f ! -name '*.test.js*' -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
)"
if ! fresh "$mover_tar" "$mover_key"; then
  r="$(mktemp -d)"
  mkdir -p "$r/usr/local/bin" "$r/app/dist/src" "$r/etc" "$r/tmp"
  chmod 1777 "$r/tmp"
  node_into "$r"
  install -m 0755 "$RCLONE_BIN/rclone" "$r/usr/local/bin/rclone"
  cp -r "$root/dist/mover" "$r/app/dist/mover"
  cp -r "$root/dist/src/contract" "$r/app/dist/src/contract"
  find "$r/app" -name '*.test.js*' -delete
  printf '{"type":"module"}\n' >"$r/app/package.json"
  base_files "$r"
  write_image_tar "$r" "$MOVER_IMAGE" "$mover_tar" "$(jq -cn '{
    Entrypoint: ["node", "/app/dist/mover/entrypoint.js"],
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"],
    User: "65534:65534", WorkingDir: "/"}')"
  echo "$mover_key" >"$mover_tar.src"
  rm -rf "$r"
  echo "$MOVER_IMAGE written ($(du -m "$mover_tar" | cut -f1) MB) to $mover_tar" >&2
fi

# The tools image: one static busybox and a link per applet.
busybox_tar="$REALNODE_IMAGES/busybox.tar"
busybox_key="$(stat -c '%n %s %Y' /bin/busybox "$here/realnode-image.sh" | { cat; echo "$BUSYBOX_IMAGE"; } | sha256sum | cut -c1-16)"
if ! fresh "$busybox_tar" "$busybox_key"; then
  r="$(mktemp -d)"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  install -m 0755 /bin/busybox "$r/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  write_image_tar "$r" "$BUSYBOX_IMAGE" "$busybox_tar" \
    '{"Cmd":["sh"],"Env":["PATH=/bin"],"WorkingDir":"/"}'
  echo "$busybox_key" >"$busybox_tar.src"
  rm -rf "$r"
  echo "$BUSYBOX_IMAGE written to $busybox_tar" >&2
fi

# The operator image: the Dockerfile's final stage, its build stage replayed on this machine.
[ -f "$root/dist/operator/main.js" ] || (cd "$root" && npm run --silent build)
operator_tar="$REALNODE_IMAGES/datamover-operator.tar"
operator_key="$(
  {
    echo "$OPERATOR_IMAGE"
    stat -c '%n %s %Y' "$node_bin" "$here/realnode-image.sh"
    (cd "$root" && sha256sum package.json package-lock.json)
    (cd "$root/dist" && find operator -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
)"
if ! fresh "$operator_tar" "$operator_key"; then
  r="$(mktemp -d)"
  b="$(mktemp -d)"
  # The build stage's /src: the lock file's tree as `npm ci --ignore-scripts` installed it (a copy of
  # node_modules, without what the tests' tools leave in it), then the Dockerfile's own prune.
  cp "$root/package.json" "$root/package-lock.json" "$b/"
  tar -C "$root" --exclude=node_modules/.vite --exclude=node_modules/.vite-temp \
    --exclude=node_modules/.stamp -cf - node_modules | tar -C "$b" -xf -
  (cd "$b" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null)
  node_into "$r"
  mkdir -p "$r/app/dist" "$r/etc" "$r/tmp"
  cp "$b/package.json" "$r/app/package.json"
  mv "$b/node_modules" "$r/app/node_modules"
  cp -r "$root/dist/operator" "$r/app/dist/operator"
  base_files "$r"
  write_image_tar "$r" "$OPERATOR_IMAGE" "$operator_tar" "$(jq -cn '{
    Entrypoint: ["node", "dist/operator/main.js"],
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
    User: "65532:65532", WorkingDir: "/app", ExposedPorts: {"8080/tcp": {}, "8081/tcp": {}}}')"
  echo "$operator_key" >"$operator_tar.src"
  rm -rf "$r" "$b"
  echo "$OPERATOR_IMAGE written ($(du -m "$operator_tar" | cut -f1) MB) to $operator_tar" >&2
fi

# Into the running node's containerd, if there is one.
if [ -S "$CONTAINERD_SOCK" ] && ctr_ version >/dev/null 2>&1; then
  for tar in "$mover_tar" "$busybox_tar" "$operator_tar"; do import_image "$tar"; done
  echo "imported into the real node of '$CLUSTER'" >&2
fi
echo "images ready in $(($(date +%s) - start))s" >&2
echo "$MOVER_IMAGE"
echo "$BUSYBOX_IMAGE"
echo "$OPERATOR_IMAGE"
