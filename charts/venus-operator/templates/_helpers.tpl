{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "venus-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, unless it already contains the chart name. */}}
{{- define "venus-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "venus-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Recommended labels on every object. */}}
{{- define "venus-operator.labels" -}}
helm.sh/chart: {{ include "venus-operator.chart" . }}
{{ include "venus-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: venus
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "venus-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "venus-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "venus-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "venus-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "venus-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The namespace a namespace-scoped operator manages (default: the release namespace). */}}
{{- define "venus-operator.watchNamespace" -}}
{{- default .Release.Namespace .Values.rbac.watchNamespace }}
{{- end }}

{{/* What the reconcile does to namespaced objects (venus-operator README, "RBAC"). */}}
{{- define "venus-operator.namespacedRules" -}}
- apiGroups: [venus.filecoin.io]
  resources: [chainservices]
  verbs: [get, list, watch, patch, update]
- apiGroups: [venus.filecoin.io]
  resources: [chainservices/status]
  verbs: [get, patch, update]
- apiGroups: [venus.filecoin.io]
  resources: [chainservices/finalizers]
  verbs: [update]
# Watched (a cache feeds the reconcile) and applied.
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, patch]
# Applied; the genesis ConfigMap is read for its keys.
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts]
  verbs: [get, create, patch]
# Secrets by name only: referenced ones (DSN, extra env) for their keys, the two generated
# ones created once. No list, no watch, no update.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create]
# The Role/RoleBinding letting messager and miner pods hold their own role Leases.
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, create, patch]
# Pods: watched for readiness, the primary/standby role label written, and deleted one at a
# time by the messager's and miner's upgrade (their StatefulSets are OnDelete: standby first,
# then the primary as a switchover).
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch, delete]
# Data PVCs: deleted one by one when the retention policy says Delete.
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [list, delete]
# spec.network.devnet: the devnet's wallet and prover, and its genesis Job (applied until the
# Job has published the devnet's ConfigMap and Secret).
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, create, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, create, patch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, create, patch, delete]
# Role Leases: created by the operator, held by the services, watched for their holder; the
# operator's leader election uses one too. update/patch are also what the pods' Role grants,
# which RBAC requires the operator to hold itself.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Cluster-scoped: the StorageClasses of the storage presets (shared, never deleted). */}}
{{- define "venus-operator.clusterRules" -}}
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, create, patch]
{{- end }}
