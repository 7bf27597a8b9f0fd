#!/usr/bin/env bash
# The README's kubectl journey on the kind cluster of `make kind-deploy`: a PVC with data, a bucket,
# a DataMover that backs it up for real (CSI clone, mover image, rclone to the in-cluster S3 server),
# and a DataMoverSchedule run by its trigger.
set -euo pipefail
ns="${JOURNEY_NAMESPACE:-journey}"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted --overwrite
kubectl apply -n "$ns" -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: app-data, labels: {backup: nightly}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: writer
      image: busybox:1.37
      command: [sh, -c, 'echo journey > /data/hello.txt && mkdir -p /data/sub && date > /data/sub/when.txt']
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: app-data}}]
---
apiVersion: v1
kind: Secret
metadata: {name: backup-bucket}
stringData:
  AWS_ACCESS_KEY_ID: journey
  AWS_SECRET_ACCESS_KEY: journey-secret
  BUCKET_HOST: s3.s3.svc.cluster.local
  BUCKET_PORT: '9000'
  BUCKET_NAME: backups
  TLS_HOST: 'false'
YAML
kubectl wait -n "$ns" pod/writer --for=jsonpath='{.status.phase}'=Succeeded --timeout=180s
kubectl delete -n "$ns" pod/writer
# The bucket must exist (the mover never creates it): a folder of rclone serve s3's root.
kubectl exec -n s3 deploy/s3 -- mkdir -p /objects/backups
kubectl apply -n "$ns" -f - <<'YAML'
apiVersion: datamover.io/v1alpha1
kind: DataMover
metadata: {name: app-data-backup}
spec: {sourcePvc: app-data, secretName: backup-bucket, addTimestampPrefix: true, deletePvcAfterBackup: true}
YAML
kubectl wait -n "$ns" dm/app-data-backup --for=condition=Complete --timeout=300s
kubectl get -n "$ns" dm app-data-backup -o wide
kubectl exec -n s3 deploy/s3 -- find /objects/backups -type f
kubectl apply -n "$ns" -f "$(dirname "${BASH_SOURCE[0]}")/../config/samples/schedule.yaml"
kubectl patch -n "$ns" dms nightly --type merge -p "{\"spec\":{\"trigger\":\"journey-$(date +%s)\"}}"
for _ in $(seq 1 150); do
  [ -n "$(kubectl get -n "$ns" dms nightly -o jsonpath='{.status.pvcs[0].lastSuccessfulTime}')" ] && break
  sleep 2
done
kubectl get -n "$ns" dms nightly
test -n "$(kubectl get -n "$ns" dms nightly -o jsonpath='{.status.pvcs[0].lastSuccessfulTime}')"
echo "journey: the DataMover and the schedule's run backed up app-data"
