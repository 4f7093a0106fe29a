{{/* The chart's name, at most 63 characters. */}}
{{- define "lockwell.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object's name. */}}
{{- define "lockwell.fullname" -}}
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

{{- define "lockwell.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lockwell.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lockwell.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "lockwell.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "lockwell.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lockwell.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
lockwell.validate fails the render on a configuration that cannot work, with
a message that says what to set. One place for every check of the values.
*/}}
{{- define "lockwell.validate" -}}
{{- if not .Values.store.existingSecret }}
{{- fail "store.existingSecret is required: the name of a Secret with the store URL (key store.urlKey) and the database user and password (README: Kubernetes)" }}
{{- end }}
{{- if not (has .Values.store.kind (list "postgres" "mysql")) }}
{{- fail (printf "store.kind must be postgres or mysql, not %q" .Values.store.kind) }}
{{- end }}
{{- if and .Values.storeKey.existingSecret .Values.storeKey.kmsURL }}
{{- fail "set one of storeKey.existingSecret and storeKey.kmsURL, not both" }}
{{- end }}
{{- if not (or .Values.storeKey.existingSecret .Values.storeKey.kmsURL) }}
{{- fail "the store key is required: storeKey.existingSecret (a Secret with a base64 256-bit key) or storeKey.kmsURL (awskms://...)" }}
{{- end }}
{{- if and .Values.storeKey.kmsURL (not (hasPrefix "awskms://" .Values.storeKey.kmsURL)) }}
{{- fail "storeKey.kmsURL must be an awskms:// URL, e.g. awskms://alias/lockwell?region=eu-west-1" }}
{{- end }}
{{- if and (not .Values.adminToken.existingSecret) (gt (int .Values.replicaCount) 1) }}
{{- fail "without adminToken.existingSecret every replica would mint its own admin token on its own volume: set adminToken.existingSecret, or replicaCount=1 with persistence.existingClaim" }}
{{- end }}
{{- end }}

{{/* lockwell.databasePort is the database's port for the NetworkPolicy. */}}
{{- define "lockwell.databasePort" -}}
{{- if .Values.networkPolicy.databasePort }}{{ .Values.networkPolicy.databasePort }}{{ else if eq .Values.store.kind "mysql" }}3306{{ else }}5432{{ end }}
{{- end }}
