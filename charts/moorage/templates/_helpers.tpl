{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "moorage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, prefixed with the chart name unless it already contains it. */}}
{{- define "moorage.fullname" -}}
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

{{- define "moorage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "moorage.labels" -}}
helm.sh/chart: {{ include "moorage.chart" . }}
{{ include "moorage.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: moorage
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "moorage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "moorage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of one component: "server", "migration", "database" or "test". */}}
{{- define "moorage.componentSelectorLabels" -}}
{{ include "moorage.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "moorage.componentLabels" -}}
{{ include "moorage.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* metadata.annotations body for plain resources: commonAnnotations merged with extra ones. */}}
{{- define "moorage.annotations" -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy .ctx.Values.commonAnnotations) }}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "moorage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "moorage.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository[:tag][@digest]; a digest wins over the tag. Takes dict(image, default tag). */}}
{{- define "moorage.imageRef" -}}
{{- $repo := .image.repository }}
{{- if .image.registry }}
{{- $repo = printf "%s/%s" .image.registry .image.repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repo .image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .defaultTag .image.tag) }}
{{- end }}
{{- end }}

{{- define "moorage.image" -}}
{{- include "moorage.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) }}
{{- end }}

{{- define "moorage.postgresql.image" -}}
{{- include "moorage.imageRef" (dict "image" .Values.postgresql.image "defaultTag" "17-bookworm") }}
{{- end }}

{{- define "moorage.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "moorage.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moorage.postgresql.host" -}}
{{- printf "%s.%s.svc" (include "moorage.postgresql.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
The chart renders its own Secret of given values unless everything comes from secret.existingSecret.
Generated values never appear in rendered output: a hook Job creates them once in the cluster
(templates/secret-generator.yaml), in the Secret named by moorage.generatedSecretName.
*/}}
{{- define "moorage.createSecret" -}}
{{- if or (not .Values.secret.existingSecret) .Values.postgresql.enabled }}true{{ end }}
{{- end }}

{{- define "moorage.generatedSecretName" -}}
{{- printf "%s-generated" (include "moorage.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moorage.generatesSecretKey" -}}
{{- if not (or .Values.secret.existingSecret .Values.secret.secretKey) }}true{{ end }}
{{- end }}

{{- define "moorage.generatesDatabasePassword" -}}
{{- if and .Values.postgresql.enabled (not .Values.postgresql.auth.password) }}true{{ end }}
{{- end }}

{{- define "moorage.generatesSecrets" -}}
{{- if or (include "moorage.generatesSecretKey" .) (include "moorage.generatesDatabasePassword" .) }}true{{ end }}
{{- end }}

{{/* secretKeyRef of the embedded database's password: given (the chart's Secret) or generated. */}}
{{- define "moorage.databasePasswordRef" -}}
{{- if include "moorage.generatesDatabasePassword" . }}
name: {{ include "moorage.generatedSecretName" . }}
{{- else }}
name: {{ include "moorage.fullname" . }}
{{- end }}
key: POSTGRES_PASSWORD
{{- end }}

{{- define "moorage.secretKeySecretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.secretKey }}
{{- include "moorage.fullname" . }}
{{- else }}
{{- include "moorage.generatedSecretName" . }}
{{- end }}
{{- end }}

{{- define "moorage.databaseUrlSecretName" -}}
{{- default (include "moorage.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "moorage.databaseUrlSecretKey" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecretKeys.databaseUrl }}
{{- else }}DATABASE_URL{{ end }}
{{- end }}

{{/* Non-secret settings, shared by the ConfigMap and the migration Job (which runs before the ConfigMap exists). */}}
{{- define "moorage.configData" -}}
{{- $c := .Values.config }}
ENVIRONMENT: {{ $c.environment | quote }}
LOG_LEVEL: {{ $c.logLevel | quote }}
LOG_FORMAT: {{ $c.logFormat | quote }}
PORT: {{ .Values.containerPort | quote }}
WORKERS: {{ $c.workers | quote }}
CORS_ORIGINS: {{ $c.corsOrigins | quote }}
FORWARDED_ALLOW_IPS: {{ include "moorage.forwardedAllowIps" . | quote }}
RATE_LIMIT_ENABLED: {{ $c.rateLimit.enabled | quote }}
RATE_LIMIT_REQUESTS: {{ $c.rateLimit.requests | quote }}
RATE_LIMIT_WINDOW_SECONDS: {{ $c.rateLimit.windowSeconds | quote }}
ACCESS_TOKEN_TTL_SECONDS: {{ $c.accessTokenTtlSeconds | quote }}
REFRESH_TOKEN_TTL_SECONDS: {{ $c.refreshTokenTtlSeconds | quote }}
DB_POOL_SIZE: {{ $c.dbPool.size | quote }}
DB_MAX_OVERFLOW: {{ $c.dbPool.maxOverflow | quote }}
DB_POOL_TIMEOUT_SECONDS: {{ $c.dbPool.timeoutSeconds | quote }}
READINESS_TIMEOUT_SECONDS: {{ $c.readinessTimeoutSeconds | quote }}
GRACEFUL_TIMEOUT_SECONDS: {{ $c.gracefulTimeoutSeconds | quote }}
METRICS_ENABLED: {{ $c.metricsEnabled | quote }}
OTEL_SERVICE_NAME: {{ default (include "moorage.fullname" .) $c.otel.serviceName | quote }}
{{- if $c.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ $c.otel.endpoint | quote }}
OTEL_TRACES_SAMPLER: {{ $c.otel.tracesSampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ $c.otel.tracesSamplerArg | quote }}
{{- else }}
OTEL_SDK_DISABLED: "true"
{{- end }}
{{- range $k, $v := $c.extra }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{/*
The secret environment of the service and the migration Job. With the embedded database the URL is
composed by the kubelet from the password's variable ($(VAR) expansion), so it is never rendered.
*/}}
{{- define "moorage.secretEnv" -}}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "moorage.secretKeySecretName" . }}
      key: {{ ternary .Values.secret.existingSecretKeys.secretKey "SECRET_KEY" (ne .Values.secret.existingSecret "") }}
- name: SECRET_KEY_PREVIOUS
  valueFrom:
    secretKeyRef:
      name: {{ default (include "moorage.fullname" .) .Values.secret.existingSecret }}
      key: {{ ternary .Values.secret.existingSecretKeys.secretKeyPrevious "SECRET_KEY_PREVIOUS" (ne .Values.secret.existingSecret "") }}
      optional: true
{{- if .Values.postgresql.enabled }}
{{- $auth := .Values.postgresql.auth }}
- name: MOORAGE_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- include "moorage.databasePasswordRef" . | trim | nindent 6 }}
- name: DATABASE_URL
  value: {{ printf "postgresql://%s:$(MOORAGE_DATABASE_PASSWORD)@%s:%d/%s" $auth.username (include "moorage.postgresql.host" .) (int .Values.postgresql.port) $auth.database | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "moorage.databaseUrlSecretName" . }}
      key: {{ include "moorage.databaseUrlSecretKey" . }}
{{- end }}
{{- end }}

{{/*
checksum/secret: a digest of the values the Secrets are made from. Generated values never change
(created once in the cluster), so only a change of these values needs a rollout.
*/}}
{{- define "moorage.secretChecksum" -}}
{{- $src := dict "secret" .Values.secret "externalDatabase" .Values.externalDatabase "auth" .Values.postgresql.auth "pg" .Values.postgresql.enabled }}
{{- toJson $src | sha256sum }}
{{- end }}

{{- define "moorage.configChecksum" -}}
{{- include "moorage.configData" . | sha256sum }}
{{- end }}

{{/* Host and port the migration waits for before running. */}}
{{- define "moorage.databaseWaitTarget" -}}
{{- if .Values.postgresql.enabled }}
{{- printf "%s %d" (include "moorage.postgresql.host" .) (int .Values.postgresql.port) }}
{{- else if .Values.externalDatabase.url }}
{{- $u := urlParse .Values.externalDatabase.url }}
{{- printf "%s %d" (first (splitList ":" $u.host)) (int .Values.externalDatabase.port) }}
{{- end }}
{{- end }}

{{/* An init container that blocks until the database accepts TCP connections (bounded by the Job deadline). */}}
{{- define "moorage.waitForDatabaseContainer" -}}
{{- $target := include "moorage.databaseWaitTarget" . }}
{{- if $target }}
- name: wait-for-database
  image: {{ include "moorage.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - python
    - -c
    - |
      import socket, sys, time
      host, port = sys.argv[1], int(sys.argv[2])
      while True:
          try:
              socket.create_connection((host, port), timeout=3).close()
              break
          except OSError as exc:
              print(f"waiting for {host}:{port}: {exc}", flush=True)
              time.sleep(2)
    {{- range splitList " " $target }}
    - {{ . | quote }}
    {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.migration.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}
{{- end }}

{{/* Refuse contradictory values with a message naming them. */}}
{{- define "moorage.validate" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.secret.existingSecret) (not .Values.externalDatabase.url) }}
{{- fail "externalDatabase.url (or secret.existingSecret) is required when postgresql.enabled is false" }}
{{- end }}
{{- if and .Values.secret.secretKey (lt (len .Values.secret.secretKey) 32) }}
{{- fail "secret.secretKey must be at least 32 characters" }}
{{- end }}
{{- end }}

{{/* Egress of the service and the migration: DNS, the database, the OTLP collector and extra rules. */}}
{{- define "moorage.networkPolicy.egress" -}}
{{- $np := .Values.networkPolicy }}
{{- if $np.allowDNS }}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{- if .Values.postgresql.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "moorage.componentSelectorLabels" (dict "ctx" . "component" "database") | nindent 10 }}
  ports:
    - port: {{ .Values.postgresql.port }}
      protocol: TCP
{{- else }}
- ports:
    - port: {{ .Values.externalDatabase.port }}
      protocol: TCP
  {{- with .Values.externalDatabase.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
{{- if .Values.config.otel.endpoint }}
- ports:
    - port: {{ $np.otlpPort }}
      protocol: TCP
  {{- with $np.otlpCIDRs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
checkov.io/skipN annotations: one per scanner check that does not apply, each with its reason (the
security scan in tests/charts honours them). Takes dict(image, secretEnv bool, extra list of "CHECK=reason").
*/}}
{{- define "moorage.checkovSkips" -}}
{{- $skips := list }}
{{- if not .image.digest }}
{{- $skips = append $skips "CKV_K8S_43=Pinned by tag by default; set the image digest value to pin by digest (local kind images have none)" }}
{{- end }}
{{- if ne .image.pullPolicy "Always" }}
{{- $skips = append $skips "CKV_K8S_15=IfNotPresent so locally loaded images work; pin a digest for immutability instead of re-pulling" }}
{{- end }}
{{- if .secretEnv }}
{{- $skips = append $skips "CKV_K8S_35=The process reads its credentials from environment variables by contract (docs/contract.md)" }}
{{- end }}
{{- range $i, $skip := concat $skips (default (list) .extra) }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end }}
