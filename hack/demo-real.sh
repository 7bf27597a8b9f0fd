#!/usr/bin/env bash
# The part of the demo (hack/demo.sh) that moves real bytes on the test bed's real node: sourced by
# demo.sh, which sets here, root, STATE, NS, name, the real node's settings (realnode-env.sh) and the
# local images. Defines demo_real and sets S3_ADDR.
# shellcheck disable=SC2154 # name, NS, STATE and the real node's settings come from demo.sh

# rclone on the demo's S3 server, as a remote named S3 (never the mover: that is the Job's).
s3() {
  RCLONE_CONFIG=/dev/null RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other \
    RCLONE_CONFIG_S3_ACCESS_KEY_ID=demo-access-key RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=demo-secret-key \
    RCLONE_CONFIG_S3_ENDPOINT="http://$S3_ADDR" RCLONE_CONFIG_S3_FORCE_PATH_STYLE=true \
    "$RCLONE_BIN/rclone" "$@"
}

# The S3 server: the pinned rclone serving a folder of the test bed, bound to the real node's bridge
# address only (pods reach it there; nothing leaves the machine). cluster-down.sh stops it.
start_s3() {
  local pidfile="$STATE/demo-s3.pid" port="${DEMO_S3_PORT:-9300}"
  S3_ADDR="$REALNODE_IP:$port"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
  fi
  mkdir -p "$STATE/demo-s3"
  nohup "$RCLONE_BIN/rclone" serve s3 "$STATE/demo-s3" --addr "$S3_ADDR" \
    --auth-key demo-access-key,demo-secret-key --config /dev/null >"$STATE/demo-s3.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://$S3_ADDR/" && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$STATE/demo-s3.log"; exit 1; }
    sleep 0.2
  done
  s3 mkdir S3:backups
  echo "S3 server (rclone serve s3) on $S3_ADDR, bucket 'backups', data in $STATE/demo-s3"
}

# A pod of the restricted profile on the real node running a busybox script with PVC CLAIM at /data.
busybox_pod() { # NAME CLAIM READONLY SCRIPT
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: { name: $1 }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  tolerations: [{ key: $REALNODE_TAINT_KEY, operator: Exists, effect: NoSchedule }]
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: main
      image: $BUSYBOX_IMAGE
      command: [sh, -c, $(jq -Rn --arg s "$4" '$s')]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      volumeMounts: [{ name: data, mountPath: /data, readOnly: $3 }]
  volumes: [{ name: data, persistentVolumeClaim: { claimName: $2 } }]
YAML
}

# Runs a pod to the end and prints its log.
run_pod() { # NAME CLAIM READONLY SCRIPT
  kubectl delete pod "$1" -n "$NS" --ignore-not-found --wait >/dev/null
  busybox_pod "$@" | kubectl apply -n "$NS" -f - >/dev/null
  local phase=""
  for _ in $(seq 1 600); do
    phase="$(kubectl get pod "$1" -n "$NS" -o jsonpath='{.status.phase}')"
    case "$phase" in Succeeded | Failed) break ;; esac
    sleep 0.2
  done
  if [ "$phase" != Succeeded ]; then
    echo "pod $1 is ${phase:-not finished}:" >&2
    kubectl logs "$1" -n "$NS" >&2 || kubectl describe pod "$1" -n "$NS" >&2
    exit 1
  fi
  kubectl logs "$1" -n "$NS"
}

# Waits until a DataMover or DataMoverRestore is Completed; fails the demo, showing why, if Failed.
wait_done() { # KIND NAME
  local phase=""
  for _ in $(seq 1 1500); do
    phase="$(kubectl get "$1" "$2" -n "$NS" -o jsonpath='{.status.phase}')"
    [ "$phase" = Completed ] && return 0
    [ "$phase" = Failed ] && break
    sleep 0.2
  done
  echo "$1/$2 is ${phase:-not finished}: $(kubectl get "$1" "$2" -n "$NS" -o jsonpath='{.status.message}')" >&2
  exit 1
}

# Expanded in the pod, not here.
# shellcheck disable=SC2016
HASHES='cd /data && find . -type f | sort | while read -r f; do sha256sum "$f"; done'

demo_real() {
  say "An S3 server on the real node's bridge"
  start_s3

  say "A source PVC on the real node (StorageClass test-real) and a pod that writes files into it"
  kubectl apply -n "$NS" -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: app-data }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: test-real
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: Secret
metadata: { name: backup-bucket }
type: Opaque
stringData:
  AWS_ACCESS_KEY_ID: demo-access-key
  AWS_SECRET_ACCESS_KEY: demo-secret-key
  BUCKET_HOST: '$REALNODE_IP'
  BUCKET_PORT: '${S3_ADDR##*:}'
  TLS_HOST: 'false'
  BUCKET_NAME: backups
YAML
  local original restored
  original="$(run_pod writer app-data false "
    mkdir -p /data/config /data/db/wal && cd /data &&
    echo 'listen 8080' > config/app.conf && echo 'written at $(date -u +%FT%TZ)' > README &&
    head -c 8388608 /dev/urandom > db/table.dat && head -c 65536 /dev/urandom > db/wal/0001.seg &&
    chmod 0640 db/table.dat && ln -sf config/app.conf current.conf && $HASHES")"
  echo "the writer pod's files (sha256):"
  while read -r line; do echo "  $line"; done <<<"$original"

  say "DataMover $name backs the PVC up: kubectl get dm -w (until Completed)"
  kubectl apply -n "$NS" -f - <<YAML
apiVersion: datamover.io/v1alpha1
kind: DataMover
metadata: { name: $name }
spec:
  sourcePvc: app-data
  secretName: backup-bucket
  addTimestampPrefix: true
  deletePvcAfterBackup: true
  tolerations: [{ key: $REALNODE_TAINT_KEY, operator: Exists, effect: NoSchedule }]
  # The application's user: db/table.dat is 0640, and the default mover user (65534) would fail
  # the run with UnreadableFiles, naming it.
  securityContext: { runAsUser: 1000, runAsGroup: 1000 }
YAML
  kubectl get dm "$name" -n "$NS" -w &
  local watcher=$!
  wait_done dm "$name"
  sleep 0.5 # let the watch print the last line
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  local destination run
  destination="$(kubectl get dm "$name" -n "$NS" -o jsonpath='{.status.destination}')"
  run="$(basename "${destination#*:}")"

  say "The bucket: the run's files, hashed by reading them back from S3 (rclone hashsum --download)"
  s3 hashsum sha256 --download "S3:backups/${destination#*:}" | sort -k2 | sed 's/^/  /'

  say "A DataMoverRestore puts run $run back into a new PVC"
  kubectl apply -n "$NS" -f - <<YAML
apiVersion: datamover.io/v1alpha1
kind: DataMoverRestore
metadata: { name: $name-restore }
spec:
  source: { backup: { secretName: backup-bucket, sourcePvc: app-data } }
  run: $run
  target: { newPvc: { name: app-data-restored-$(date -u +%H%M%S), storageClassName: test-real } }
  tolerations: [{ key: $REALNODE_TAINT_KEY, operator: Exists, effect: NoSchedule }]
  securityContext: { runAsUser: 1000, runAsGroup: 1000 }   # the files become the application's
YAML
  wait_done dmr "$name-restore"
  kubectl get dmr "$name-restore" -n "$NS" -o wide
  local target
  target="$(kubectl get dmr "$name-restore" -n "$NS" -o jsonpath='{.spec.target.newPvc.name}')"
  restored="$(run_pod reader "$target" true "$HASHES")"
  echo "a reader pod's hashes of the restored PVC $target, beside the writer's:"
  paste -d' ' <(awk '{print $2, $1}' <<<"$original") <(awk '{print $1}' <<<"$restored") |
    awk '{printf "  %-22s %s  %s  %s\n", $1, substr($2, 1, 16), substr($3, 1, 16), ($2 == $3 ? "equal" : "DIFFERENT")}'
  if [ "$original" = "$restored" ]; then
    echo "every restored file is byte for byte the original"
  else
    echo "the restored files differ from the originals" >&2
    exit 1
  fi
}
