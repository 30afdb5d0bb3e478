{{- define "venus-chainservice.name" -}}
{{- default .Release.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "venus-chainservice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: venus-chainservice
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: venus
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
