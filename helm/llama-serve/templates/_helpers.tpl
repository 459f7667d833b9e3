{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "llama-serve.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "llama-serve.fullname" -}}
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

{{- define "llama-serve.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llama-serve.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llama-serve.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The `helm test` pod's labels: its own name, so that no selector of the release's (Service, PodDisruptionBudget, HPA)
takes it for a server pod.
*/}}
{{- define "llama-serve.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "llama-serve.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test-client
{{- end }}

{{- define "llama-serve.labels" -}}
helm.sh/chart: {{ include "llama-serve.chart" . }}
{{ include "llama-serve.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "llama-serve.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llama-serve.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image: the CUDA build when gpu.enabled and no tag is given. */}}
{{- define "llama-serve.image" -}}
{{- $tag := .Values.image.tag | default (ternary (printf "%s-cuda" .Chart.AppVersion) .Chart.AppVersion .Values.gpu.enabled) }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* The checkpoint directory inside the pod; empty means the demo checkpoint. */}}
{{- define "llama-serve.modelPath" -}}
{{- if .Values.model.path }}
{{- .Values.model.path }}
{{- else if .Values.model.fetch.enabled }}
{{- printf "%s/%s" .Values.model.volume.mountPath (base .Values.model.fetch.repoId) }}
{{- else if ne .Values.model.volume.type "none" }}
{{- .Values.model.volume.mountPath }}
{{- end }}
{{- end }}

{{- define "llama-serve.device" -}}
{{- .Values.model.device | default (ternary "gpu:0" "cpu" .Values.gpu.enabled) }}
{{- end }}

{{/* The keys-file Secret: the chart's own or an existing one. */}}
{{- define "llama-serve.apiKeysSecret" -}}
{{- if .Values.apiKeys.existingSecret }}
{{- .Values.apiKeys.existingSecret }}
{{- else if .Values.apiKeys.entries }}
{{- printf "%s-api-keys" (include "llama-serve.fullname" .) }}
{{- end }}
{{- end }}

{{/* Container resources, with the GPU added only when gpu.enabled. */}}
{{- define "llama-serve.resources" -}}
{{- $resources := deepCopy (.Values.resources | default dict) }}
{{- if .Values.gpu.enabled }}
{{- $gpu := dict .Values.gpu.resourceName (include "llama-serve.text" .Values.gpu.count) }}
{{- $_ := set $resources "limits" (merge (deepCopy $gpu) ($resources.limits | default dict)) }}
{{- $_ := set $resources "requests" (merge (deepCopy $gpu) ($resources.requests | default dict)) }}
{{- end }}
{{- toYaml $resources }}
{{- end }}

{{- define "llama-serve.terminationGracePeriodSeconds" -}}
{{- add .Values.lifecycle.preStopSleepSeconds .Values.ops.drainTimeoutSeconds .Values.lifecycle.terminationGraceMarginSeconds }}
{{- end }}

{{/* Startup probe failures allowed: enough periods to cover model.loadTimeoutSeconds (rounded up). */}}
{{- define "llama-serve.startupFailureThreshold" -}}
{{- $period := int .Values.probes.startup.periodSeconds }}
{{- div (add (int .Values.model.loadTimeoutSeconds) (sub $period 1)) $period }}
{{- end }}

{{/*
A value as an environment variable's text. Helm reads the numbers of a values file as float64, which toString
prints in Go's shortest form: 1000000 becomes "1e+06", which Spring cannot bind to an int or a long. Whole numbers
print as integers; strings and booleans as they are.
*/}}
{{- define "llama-serve.text" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}
