#!/usr/bin/env bash
# Attaches a real node to the running test bed named by DATAMOVER_CLUSTER (default: datamover):
# containerd and runc (Debian) and a kubelet built from the control plane's Kubernetes version,
# registered as node "realnode", labelled datamover.io/real-node=true and tainted
# datamover.io/real-node=true:NoSchedule. Pods get addresses on the bridge dmreal0 (10.244.77.0/24)
# and reach nothing but it. Applies the admission policy that lets only localhost/ images onto the
# node, and imports every image tarball in $REALNODE_IMAGES (hack/build-realnode.sh,
# hack/realnode-image.sh). Idempotent; hack/realnode-down.sh undoes all of it.
#
# hack/cluster-up.sh calls it, and starts the cluster with the settings it needs (kwok leaves the node
# alone; the apiserver reaches the kubelet by address, with a client certificate).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
# shellcheck source=hack/realnode-env.sh
source "$here/realnode-env.sh"
export PATH="$TESTBED_BIN:$PATH"
export KUBECONFIG="$CACHE_ROOT/cluster-$CLUSTER/kubeconfig"
start=$(date +%s)
S="$REALNODE_STATE"

die() { echo "realnode-up: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
args_of() { tr '\0' '\n' <"/proc/$(cat "$KWOK_CLUSTER_DIR/pids/$1.pid")/cmdline"; }

[ "$(id -u)" = 0 ] || die "must run as root (containerd, runc, mounts, the bridge)"
kubectl get --raw /readyz >/dev/null 2>&1 ||
  die "test bed '$CLUSTER' is not running: DATAMOVER_CLUSTER=$CLUSTER bash hack/cluster-up.sh"
# Without these settings kwok would overwrite the node's status, and `kubectl logs` would look the
# node's name up in DNS (a query leaving the machine).
restart="restart it with: DATAMOVER_CLUSTER=$CLUSTER bash hack/cluster-up.sh"
[ "$(args_of kwok-controller | grep -- '^--manage-all-nodes=' | tail -1)" = "--manage-all-nodes=false" ] ||
  die "kwok-controller of '$CLUSTER' manages every node; $restart"
args_of kube-apiserver | grep -qx -- '--kubelet-preferred-address-types=InternalIP' ||
  die "kube-apiserver of '$CLUSTER' has no --kubelet-preferred-address-types=InternalIP; $restart"
[ "${#CONTAINERD_SOCK}" -lt 100 ] || die "socket path too long for unix sockets: $CONTAINERD_SOCK"
[ "${#REALNODE_STATE}" -lt 80 ] || die "state folder too long for the CSI plugin's sockets: $REALNODE_STATE"

if alive "$S/kubelet.pid" && alive "$S/containerd.pid" &&
  kubectl get node "$REALNODE_NAME" >/dev/null 2>&1; then
  echo "real node '$REALNODE_NAME' of '$CLUSTER' is running"
else
  # Whatever an earlier run left (crash, reboot) goes first.
  if [ -d "$S" ] || ip link show "$REALNODE_BRIDGE" >/dev/null 2>&1; then
    bash "$here/realnode-down.sh" >/dev/null
  fi
  bash "$here/build-realnode.sh" >/dev/null
  ca="$KWOK_CLUSTER_DIR/pki/ca.crt"
  mkdir -p "$S"/{containerd,kubelet,pod-logs,cni/net.d,cni/ipam,pki}

  # Host settings the kubelet changes at start (protectKernelDefaults: false); down restores them.
  sysctl -n vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes >"$S/sysctl.saved"

  # The bridge: the node's address, no forwarding, no masquerade, no route out.
  ip link add "$REALNODE_BRIDGE" type bridge
  ip addr add "$REALNODE_IP/24" dev "$REALNODE_BRIDGE"
  ip link set "$REALNODE_BRIDGE" up
  # The `kubernetes` Service, as pods dial it (10.0.0.1:443, in-cluster configuration): the pods'
  # route for the Service range leads to the bridge, and this rule hands 10.0.0.1:443 to the
  # apiserver's port here before routing, so the packet is delivered on this machine, never forwarded
  # (ip_forward stays 0). The apiserver advertises the bridge address and its certificate names both
  # (cluster-up.sh).
  apiserver_port="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' | sed 's/.*://')"
  iptables -t nat -A PREROUTING -i "$REALNODE_BRIDGE" -d "$KUBERNETES_SERVICE_IP/32" -p tcp --dport 443 \
    -m comment --comment datamover-realnode -j DNAT --to-destination "$REALNODE_IP:$apiserver_port"
  cat >"$S/cni/net.d/10-datamover-real.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "datamover-real",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$REALNODE_BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$REALNODE_SUBNET_PREFIX.0/24", "rangeStart": "$REALNODE_SUBNET_PREFIX.10", "rangeEnd": "$REALNODE_SUBNET_PREFIX.250"}]],
        "routes": [{"dst": "$SERVICE_CIDR", "gw": "$REALNODE_IP"}],
        "dataDir": "$S/cni/ipam"
      }
    }
  ]
}
EOF

  # containerd: root, state, sockets and runc state of its own. restrict_oom_score_adj: root here
  # lacks CAP_SYS_RESOURCE, and runc fails every sandbox without it.
  cat >"$S/containerd/config.toml" <<EOF
version = 2
root = "$S/containerd/root"
state = "$S/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$S/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$S/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$S/cni/net.d"
    max_conf_num = 1
EOF
  setsid containerd --config "$S/containerd/config.toml" >"$S/containerd.log" 2>&1 </dev/null &
  echo $! >"$S/containerd.pid"
  for _ in $(seq 100); do
    ctr_ version >/dev/null 2>&1 && break
    alive "$S/containerd.pid" || die "containerd exited; see $S/containerd.log"
    sleep 0.1
  done
  ctr_ version >/dev/null 2>&1 || die "containerd did not answer in 10s; see $S/containerd.log"
  echo "containerd ready after $(($(date +%s) - start))s"

  # Local images only: pause, and whatever hack/realnode-image.sh wrote.
  for tar in "$REALNODE_IMAGES"/*.tar; do
    import_image "$tar" || die "import of $tar failed"
  done
  echo "images imported after $(($(date +%s) - start))s"

  # The kubelet's identity: a client certificate of the Node authorizer, signed by kwokctl's CA.
  openssl req -new -newkey rsa:2048 -nodes -keyout "$S/pki/kubelet-client.key" \
    -subj "/O=system:nodes/CN=system:node:$REALNODE_NAME" -out "$S/pki/kubelet-client.csr" 2>/dev/null
  printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$S/pki/ext.cnf"
  openssl x509 -req -in "$S/pki/kubelet-client.csr" -CA "$ca" -CAkey "$KWOK_CLUSTER_DIR/pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$S/pki/ext.cnf" \
    -out "$S/pki/kubelet-client.crt" 2>/dev/null
  server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  cat >"$S/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER
    cluster: {server: "$server", certificate-authority: "$ca"}
users:
  - name: $REALNODE_NAME
    user: {client-certificate: "$S/pki/kubelet-client.crt", client-key: "$S/pki/kubelet-client.key"}
contexts:
  - name: $REALNODE_NAME
    context: {cluster: $CLUSTER, user: $REALNODE_NAME}
current-context: $REALNODE_NAME
EOF
  cat >"$S/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $REALNODE_IP
port: $REALNODE_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $REALNODE_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$ca"}
authorization:
  mode: Webhook
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
# No nameserver in pods: S3 endpoints are addresses, and no query may leave the machine.
resolvConf: ""
podLogsDir: "$S/pod-logs"
registerNode: true
registerWithTaints:
  - {key: "$REALNODE_TAINT_KEY", value: "true", effect: NoSchedule}
maxPods: 30
# The disk is shared: evict only when it is really full, never collect the local images.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
makeIPTablesUtilChains: false
serializeImagePulls: false
shutdownGracePeriod: 0s
rotateCertificates: false
EOF
  setsid "$KUBELET_BIN/kubelet" --config "$S/kubelet-config.yaml" --kubeconfig "$S/kubelet.kubeconfig" \
    --root-dir "$S/kubelet" --cert-dir "$S/pki" --hostname-override "$REALNODE_NAME" \
    --node-ip "$REALNODE_IP" --node-labels "$REALNODE_LABEL" --v=1 \
    >"$S/kubelet.log" 2>&1 </dev/null &
  echo $! >"$S/kubelet.pid"
  for _ in $(seq 300); do
    kubectl get node "$REALNODE_NAME" >/dev/null 2>&1 && break
    alive "$S/kubelet.pid" || die "kubelet exited; see $S/kubelet.log"
    sleep 0.2
  done
  kubectl wait --for=condition=Ready "node/$REALNODE_NAME" --timeout=60s >/dev/null ||
    die "node $REALNODE_NAME not Ready; see $S/kubelet.log"
  echo "real node '$REALNODE_NAME' Ready after $(($(date +%s) - start))s"
fi

kubectl apply -f "$here/testbed/realnode-policy.yaml" -f "$here/testbed/realnode-csi.yaml" >/dev/null

# The CSI node plugin of test-real-csi volumes: it registers itself with the kubelet through the
# kubelet's plugins_registry folder, which the kubelet records in the node's CSINode object.
# A plugin started from an older build is replaced (its volumes stay mounted: the mounts are the kernel's).
csi_bin="$(readlink -f "$CSI_HOSTFOLDERS_BIN/csi-hostfolders")"
if alive "$S/csi-hostfolders.pid" && [ "$(cat "$S/csi-hostfolders.bin" 2>/dev/null)" != "$csi_bin" ]; then
  kill "$(cat "$S/csi-hostfolders.pid")" 2>/dev/null || true
  for _ in $(seq 50); do alive "$S/csi-hostfolders.pid" || break; sleep 0.1; done
fi
if ! alive "$S/csi-hostfolders.pid"; then
  mkdir -p "$HOST_VOLUMES"
  echo "$csi_bin" >"$S/csi-hostfolders.bin"
  setsid "$csi_bin" --driver-name "$CSI_HOSTFOLDERS_DRIVER" \
    --node-id "$REALNODE_NAME" --root "$HOST_VOLUMES" \
    --endpoint "$S/csi-hostfolders.sock" \
    --registration-dir "$S/kubelet/plugins_registry" >"$S/csi-hostfolders.log" 2>&1 </dev/null &
  echo $! >"$S/csi-hostfolders.pid"
fi
for _ in $(seq 150); do
  kubectl get csinode "$REALNODE_NAME" -o jsonpath='{.spec.drivers[*].name}' 2>/dev/null |
    grep -qw "$CSI_HOSTFOLDERS_DRIVER" && break
  alive "$S/csi-hostfolders.pid" || die "csi-hostfolders exited; see $S/csi-hostfolders.log"
  sleep 0.2
done
kubectl get csinode "$REALNODE_NAME" -o jsonpath='{.spec.drivers[*].name}' | grep -qw "$CSI_HOSTFOLDERS_DRIVER" ||
  die "the kubelet did not register $CSI_HOSTFOLDERS_DRIVER in 30s; see $S/csi-hostfolders.log and $S/kubelet.log"
echo "real node '$REALNODE_NAME' of '$CLUSTER' up in $(($(date +%s) - start))s (state: $S)"
