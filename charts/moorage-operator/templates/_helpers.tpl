{{- define "moorage-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moorage-operator.fullname" -}}
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

{{- define "moorage-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moorage-operator.labels" -}}
helm.sh/chart: {{ include "moorage-operator.chart" . }}
{{ include "moorage-operator.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: moorage
app.kubernetes.io/component: operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "moorage-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "moorage-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "moorage-operator.annotations" -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy .ctx.Values.commonAnnotations) }}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "moorage-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "moorage-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The namespaces the operator watches, comma-separated; empty means every namespace (clusterWide).
Default: the release namespace only.
*/}}
{{- define "moorage-operator.watchNamespaces" -}}
{{- if .Values.clusterWide }}
{{- if .Values.watchNamespaces }}
{{- fail "clusterWide=true watches every namespace: leave watchNamespaces empty" }}
{{- end }}
{{- else if .Values.watchNamespaces }}
{{- join "," .Values.watchNamespaces }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "moorage-operator.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The rules for what the operator manages, in the watched namespaces.
Read-only access to Pods is for the migration Job's failure message.
*/}}
{{- define "moorage-operator.namespacedRules" -}}
- apiGroups: ["apps.moorage.dev"]
  resources: ["appinstances"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["apps.moorage.dev"]
  resources: ["appinstances/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps.moorage.dev"]
  # ownerReferences with blockOwnerDeletion need this where OwnerReferencesPermissionEnforcement is on
  resources: ["appinstances/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  # serviceaccounts: the per-instance, token-less one its pods run as
  resources: ["secrets", "configmaps", "services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  # spec.expose (Ingress) and spec.networkPolicy
  resources: ["ingresses", "networkpolicies"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["gateway.networking.k8s.io"]
  # spec.expose (HTTPRoute)
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.peering.enabled }}
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/* checkov.io/skipN annotations: scanner checks that do not apply here, each with its reason. */}}
{{- define "moorage-operator.checkovSkips" -}}
{{- $skips := list "CKV_K8S_38=The operator calls the Kubernetes API: it needs its ServiceAccount token" }}
{{- if not .Values.image.digest }}
{{- $skips = append $skips "CKV_K8S_43=Pinned by tag by default; set the image digest value to pin by digest (local kind images have none)" }}
{{- end }}
{{- if ne .Values.image.pullPolicy "Always" }}
{{- $skips = append $skips "CKV_K8S_15=IfNotPresent so locally loaded images work; pin a digest for immutability instead of re-pulling" }}
{{- end }}
{{- range $i, $skip := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end }}
