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
