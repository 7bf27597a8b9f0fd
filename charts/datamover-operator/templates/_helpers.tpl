{{- define "datamover.labels" -}}
app.kubernetes.io/name: datamover-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "datamover.selector" -}}
app.kubernetes.io/name: datamover-operator
app.kubernetes.io/component: controller-manager
{{- end -}}

{{- define "datamover.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "datamover.metricsPort" -}}
{{ if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end }}
{{- end -}}

{{- /*
labels and annotations of an object the user can add to (ServiceMonitor, PrometheusRule, dashboard
ConfigMap): (dict "root" $ "base" <labels as YAML> "values" <its values: labels, annotations>). The
chart's own labels win over a value of the same key.
*/ -}}
{{- define "datamover.metadata" -}}
labels:
  {{- toYaml (merge (dict) (fromYaml .base) (.values.labels | default dict)) | nindent 2 }}
{{- with .values.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
