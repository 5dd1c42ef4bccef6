{{/* The release's name for resources: "<release>-tend", or the release alone when it already says tend. */}}
{{- define "tend.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "tend.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tend.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels the Deployment and Service select pods by: never change them after the first install. */}}
{{- define "tend.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Secret holding DATABASE_URL, TEND_SECRET_KEY and platform credentials. */}}
{{- define "tend.secretName" -}}
{{- default (include "tend.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The image, tagged with the chart's appVersion unless a tag is given. */}}
{{- define "tend.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
