{{/*
Client identity: the trusted proxies (FORWARDED_ALLOW_IPS) and where the shared rate limit's Redis is
(REDIS_URL). Kept apart from _helpers.tpl; the ConfigMap, Deployment and NetworkPolicy include these.
*/}}

{{/* FORWARDED_ALLOW_IPS: trustedProxies.addresses as given, else 127.0.0.1 plus the ingress CIDRs when the chart routes traffic through an ingress controller or a Gateway. */}}
{{- define "moorage.forwardedAllowIps" -}}
{{- $tp := .Values.trustedProxies }}
{{- if $tp.addresses }}
{{- join "," $tp.addresses }}
{{- else if or .Values.ingress.enabled .Values.httpRoute.enabled }}
{{- join "," (prepend $tp.ingressCIDRs "127.0.0.1") }}
{{- else }}127.0.0.1{{ end }}
{{- end }}

{{- define "moorage.redis.fullname" -}}
{{- printf "%s-redis" (include "moorage.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moorage.redis.image" -}}
{{- include "moorage.imageRef" (dict "image" .Values.redis.image "defaultTag" "7.4.2-bookworm") }}
{{- end }}

{{/* The Secret and key holding REDIS_URL, as "name key"; empty without Redis. */}}
{{- define "moorage.redis.urlSecret" -}}
{{- if .Values.redis.enabled }}
{{- printf "%s REDIS_URL" (include "moorage.redis.fullname" .) }}
{{- else if .Values.externalRedis.existingSecret }}
{{- printf "%s %s" .Values.externalRedis.existingSecret .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.url }}
{{- printf "%s REDIS_URL" (include "moorage.redis.fullname" .) }}
{{- end }}
{{- end }}

{{/* The REDIS_URL environment entry of the service container. */}}
{{- define "moorage.redis.env" -}}
{{- with include "moorage.redis.urlSecret" . }}
{{- $ref := splitList " " . }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ index $ref 0 }}
      key: {{ index $ref 1 }}
{{- end }}
{{- end }}

{{/* A digest of the values REDIS_URL is made of: a change rolls the pods. */}}
{{- define "moorage.redis.checksum" -}}
{{- toJson (dict "enabled" .Values.redis.enabled "auth" .Values.redis.auth "port" .Values.redis.port "external" .Values.externalRedis) | sha256sum }}
{{- end }}

{{/* NetworkPolicy egress of the service to Redis; empty without Redis. */}}
{{- define "moorage.redis.egress" -}}
{{- if .Values.redis.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "moorage.componentSelectorLabels" (dict "ctx" . "component" "redis") | nindent 10 }}
  ports:
    - port: {{ .Values.redis.port }}
      protocol: TCP
{{- else if or .Values.externalRedis.url .Values.externalRedis.existingSecret }}
- ports:
    - port: {{ .Values.externalRedis.port }}
      protocol: TCP
  {{- with .Values.externalRedis.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "moorage.redis.validate" -}}
{{- if and .Values.redis.enabled (or .Values.externalRedis.url .Values.externalRedis.existingSecret) }}
{{- fail "redis.enabled and externalRedis.url/existingSecret exclude each other: pick the embedded Redis or an external one" }}
{{- end }}
{{- end }}
