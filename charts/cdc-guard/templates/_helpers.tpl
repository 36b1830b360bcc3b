{{/* The chart's name, trimmed to 63 characters (a DNS label). */}}
{{- define "cdc-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The fullname every object takes: the release name, unless it already holds the chart name. */}}
{{- define "cdc-guard.fullname" -}}
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

{{- define "cdc-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cdc-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cdc-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cdc-guard.labels" -}}
helm.sh/chart: {{ include "cdc-guard.chart" . }}
{{ include "cdc-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cdc-guard
{{- end }}

{{- define "cdc-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cdc-guard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cdc-guard.stateConfigMap" -}}
{{- default (printf "%s-registry" (include "cdc-guard.fullname" .)) .Values.registry.stateConfigMap }}
{{- end }}

{{- define "cdc-guard.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "cdc-guard.fullname" .)) .Values.registry.policyConfigMap }}
{{- end }}

{{- define "cdc-guard.leaseName" -}}
{{- default (printf "%s-reconciler" (include "cdc-guard.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The webhook Service's DNS name, the serving certificate's subject. */}}
{{- define "cdc-guard.serviceDNS" -}}
{{- printf "%s.%s.svc" (include "cdc-guard.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "cdc-guard.tlsSecret" -}}
{{- if .Values.tls.certManager.enabled }}
{{- printf "%s-tls" (include "cdc-guard.fullname" .) }}
{{- else }}
{{- required "tls.secretName is required when tls.certManager.enabled is false (a kubernetes.io/tls Secret for the webhook Service)" .Values.tls.secretName }}
{{- end }}
{{- end }}

{{- define "cdc-guard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Which namespaces' KafkaConnectors reach the webhook: never kube-system, the
release namespace or a namespace carrying the opt-out label.
*/}}
{{- define "cdc-guard.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range (uniq (append .Values.webhook.excludeNamespaces .Release.Namespace)) }}
        - {{ . | quote }}
        {{- end }}
    - key: {{ .Values.webhook.optOutLabel | quote }}
      operator: NotIn
      values: ["true"]
    {{- with .Values.webhook.extraNamespaceSelectorExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The rules both webhook configurations match: never a subresource (status). */}}
{{- define "cdc-guard.webhookRules" -}}
rules:
  - apiGroups: ["kafka.strimzi.io"]
    apiVersions: ["v1", "v1beta2"]
    operations: ["CREATE", "UPDATE"]
    resources: ["kafkaconnectors"]
    scope: Namespaced
  {{- if .Values.webhook.kafkaConnects }}
  - apiGroups: ["kafka.strimzi.io"]
    apiVersions: ["v1", "v1beta2"]
    operations: ["CREATE", "UPDATE"]
    resources: ["kafkaconnects"]
    scope: Namespaced
  {{- end }}
{{- end }}

{{/* The caBundle for the webhook configurations: injected by cert-manager, or the value. */}}
{{- define "cdc-guard.webhookAnnotations" -}}
{{- $annotations := dict }}
{{- if .Values.tls.certManager.enabled }}
{{- $_ := set $annotations "cert-manager.io/inject-ca-from" (printf "%s/%s-serving" .Release.Namespace (include "cdc-guard.fullname" .)) }}
{{- end }}
{{- with .Values.webhook.annotations }}
{{- $annotations = merge $annotations . }}
{{- end }}
{{- if $annotations }}
annotations:
  {{- toYaml $annotations | nindent 2 }}
{{- end }}
{{- end }}
