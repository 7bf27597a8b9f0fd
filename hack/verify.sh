#!/usr/bin/env bash
# Checks the packaging with the real tools: promtool (rules as shipped, rule unit tests), amtool
# (Alertmanager example and its routes), and the apiserver's server-side dry run of everything
# `kubectl kustomize` renders, with the Prometheus Operator's CRDs from its Go module installed.
# Needs the test bed (make cluster-up) and KUBECONFIG pointing at it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/testbed-versions.sh
source "$here/testbed-versions.sh"
root="$(cd "$here/.." && pwd)"
cd "$root"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
mkdir -p .tmp

echo "--- promtool: rules as shipped"
node hack/extract-rules.mjs config/prometheus/prometheus_rule.yaml .tmp/rules.yaml
promtool check rules .tmp/rules.yaml
promtool test rules test/prometheus/rules.test.yaml

echo "--- amtool: Alertmanager example"
am=config/prometheus/alertmanager-example.yaml
amtool check-config "$am" >/dev/null
for route in critical:datamover-pagerduty warning:datamover-slack info:datamover-slack-info; do
  severity="${route%%:*}" receiver="${route#*:}"
  amtool config routes test --config.file="$am" --verify.receivers="$receiver" \
    alertname=DataMoverAnything severity="$severity" 2>/dev/null >/dev/null
  echo "severity=$severity routes to $receiver"
done

echo "--- Prometheus Operator CRDs $PROMETHEUS_OPERATOR_VERSION (Go module)"
dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
for crd in servicemonitors prometheusrules; do
  kubectl apply --server-side --force-conflicts -f "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" >/dev/null
done
kubectl wait --for=condition=Established --timeout=60s crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null

echo "--- server-side dry run of config/default, config/prometheus, their secure-metrics variants and config/network-policy"
kubectl apply --server-side --force-conflicts -f config/crd/bases/ >/dev/null
kubectl create namespace datamover-operator-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
for overlay in config/default config/prometheus config/secure-metrics config/prometheus-secure config/network-policy; do
  kubectl kustomize "$overlay" | kubectl apply --server-side --force-conflicts --dry-run=server -f - >/dev/null
  echo "$overlay: $(kubectl kustomize "$overlay" | grep -c '^kind:') objects accepted"
done
echo "--- helm $HELM_VERSION: lint, render, equivalence with config/"
bash "$here/build-tools.sh" >/dev/null
helm="$TOOLS_BIN/helm"
chart=charts/datamover-operator
cmp config/prometheus/grafana-dashboard.json "$chart/files/grafana-dashboard.json"
"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" --set serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboard.enabled=true
"$helm" lint --strict "$chart" --set metrics.secure=true,metrics.certSecret=metrics-tls,serviceMonitor.enabled=true
# kube-prometheus-stack and Grafana sidecar values; a namespaced install; a NetworkPolicy that lets
# only the monitoring namespace scrape.
kps=(--set 'serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboard.enabled=true'
  --set 'serviceMonitor.labels.release=kube-prometheus-stack,prometheusRule.labels.release=kube-prometheus-stack'
  --set 'dashboard.annotations.grafana_folder=Backups')
"$helm" lint --strict "$chart" "${kps[@]}"
"$helm" lint --strict "$chart" --set 'watchNamespaces={team-a,team-b}'
metrics_from='[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]'
"$helm" lint --strict "$chart" --set networkPolicy.enabled=true --set-json "networkPolicy.metricsFrom=$metrics_from"
render() {
  "$helm" template datamover-operator "$chart" --namespace datamover-operator-system --include-crds \
    --kube-version "${K8S_VERSION#v}" "$@"
}
render >.tmp/chart-default.yaml
kubectl kustomize config/default >.tmp/config-default.yaml
node hack/chart-equivalence.mjs .tmp/chart-default.yaml .tmp/config-default.yaml
render --set serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboard.enabled=true,networkPolicy.enabled=true >.tmp/chart-all.yaml
{ kubectl kustomize config/default; echo ---; kubectl kustomize config/prometheus; echo ---; kubectl kustomize config/network-policy; } >.tmp/config-all.yaml
node hack/chart-equivalence.mjs .tmp/chart-all.yaml .tmp/config-all.yaml
render --set metrics.secure=true,serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboard.enabled=true,networkPolicy.enabled=true >.tmp/chart-secure.yaml
{ kubectl kustomize config/secure-metrics; echo ---; kubectl kustomize config/prometheus-secure; echo ---; kubectl kustomize config/network-policy; } >.tmp/config-secure.yaml
node hack/chart-equivalence.mjs .tmp/chart-secure.yaml .tmp/config-secure.yaml
# networkPolicy.metricsFrom renders the policy that the kustomize patch in docs/security.md makes.
mkdir -p .tmp/network-policy-monitoring
cat >.tmp/network-policy-monitoring/kustomization.yaml <<'EOF'
resources:
  - ../../config/network-policy
patches:
  - target:
      kind: NetworkPolicy
      name: datamover-operator-controller-manager
    patch: |-
      - op: add
        path: /spec/ingress/0/from
        value:
          - namespaceSelector:
              matchLabels:
                kubernetes.io/metadata.name: monitoring
EOF
render --set networkPolicy.enabled=true --set-json "networkPolicy.metricsFrom=$metrics_from" >.tmp/chart-netpol.yaml
{ kubectl kustomize config/default; echo ---; kubectl kustomize .tmp/network-policy-monitoring; } >.tmp/config-netpol.yaml
node hack/chart-equivalence.mjs .tmp/chart-netpol.yaml .tmp/config-netpol.yaml
kubectl apply --server-side --force-conflicts --dry-run=server -f .tmp/chart-netpol.yaml >/dev/null
echo "helm template (networkPolicy.metricsFrom): accepted by the apiserver"
render "${kps[@]}" >.tmp/chart-kps.yaml
node hack/chart-metadata.mjs .tmp/chart-kps.yaml ServiceMonitor:labels.release=kube-prometheus-stack \
  PrometheusRule:labels.release=kube-prometheus-stack ConfigMap:labels.grafana_dashboard=1 \
  ConfigMap:annotations.grafana_folder=Backups
kubectl apply --server-side --force-conflicts --dry-run=server -f .tmp/chart-all.yaml >/dev/null
echo "helm template (all features): accepted by the apiserver"
node hack/extract-rules.mjs .tmp/chart-all.yaml .tmp/chart-rules.yaml
promtool check rules .tmp/chart-rules.yaml
echo "--- actionlint $ACTIONLINT_VERSION: the GitHub workflows (with shellcheck on their scripts)"
"$ACTIONLINT_BIN/actionlint" .github/workflows/*.yml
echo "workflows: clean"
echo "verify: OK"
