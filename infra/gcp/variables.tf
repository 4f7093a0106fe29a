variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions and the source bucket."
  type        = string
  default     = "europe-west1"
}

variable "source_zip" {
  description = "Zip of the staged source: infra/gcp/stage.sh build/gcf build/lockwell-gcf.zip"
  type        = string
}

variable "go_runtime" {
  description = "Cloud Functions Go runtime; its Go must be at least go.mod's go line."
  type        = string
  default     = "go126"
}

variable "backend_tags" {
  description = "Build tags of functions/backends linked into the functions (GOFLAGS=-tags=...)."
  type        = string
  default     = "lockwell_only,lockwell_sql,lockwell_gcpsecretmanager"
}

variable "store_url" {
  description = "LOCKWELL_STORE: the index, e.g. postgres://10.0.0.3:5432/lockwell?sslmode=require (user and password come from PGUSER/PGPASSWORD in extra_env or secret_env)."
  type        = string
}

variable "values_url" {
  description = "LOCKWELL_VALUES: the value store, e.g. gcpsecretmanager://projects/PROJECT; empty keeps values sealed in the index."
  type        = string
  default     = ""
}

variable "key_url" {
  description = <<-EOT
    LOCKWELL_KEY. Leave empty with values_url set: the SQL index then holds no values and refuses to
    store any. Without values_url the key must be the same for every instance: envkey://VARIABLE with
    the variable injected from Secret Manager (see README.md).
  EOT
  type        = string
  default     = ""
}

variable "deployment" {
  description = "LOCKWELL_DEPLOYMENT: tags the value store's entries."
  type        = string
  default     = "lockwell"
}

variable "admins" {
  description = "LOCKWELL_ADMINS: principals (verified emails) with the admin role."
  type        = list(string)
  default     = []
}

variable "auth" {
  description = "LOCKWELL_AUTH: platform (verified Google identity) or bearer (Lockwell API tokens)."
  type        = string
  default     = "platform"
  validation {
    condition     = contains(["platform", "bearer"], var.auth)
    error_message = "auth must be platform or bearer."
  }
}

variable "gcp_identity" {
  description = "LOCKWELL_GCP_IDENTITY: idtoken (Google ID token), iap or apigateway."
  type        = string
  default     = "idtoken"
  validation {
    condition     = contains(["idtoken", "iap", "apigateway"], var.gcp_identity)
    error_message = "gcp_identity must be idtoken, iap or apigateway."
  }
}

variable "audiences" {
  description = "LOCKWELL_AUDIENCE: accepted ID token audiences (empty: every function's cloudfunctions.net URL); with gcp_identity = iap, IAP's audience (required)."
  type        = list(string)
  default     = []
}

variable "invokers" {
  description = "Members allowed to invoke the functions (roles/run.invoker), e.g. group:lockwell-users@example.com. Never allUsers with gcp_identity=apigateway or iap."
  type        = list(string)
  default     = []
}

variable "extra_env" {
  description = "More environment variables for the functions (for example PGUSER)."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager: NAME => secret id (latest version), for example PGPASSWORD => lockwell-db-password."
  type        = map(string)
  default     = {}
}

variable "max_instances" {
  description = "Upper bound of instances per function."
  type        = number
  default     = 10
}

variable "migration" {
  description = "Deploy MigrateSecrets and its Pub/Sub topics (lockwell migrate start/status/retry)."
  type        = bool
  default     = true
}

variable "migration_max_deliveries" {
  description = "LOCKWELL_MIGRATE_MAX_DELIVERIES: deliveries of one message before its entry counts as failed; keep it equal to the subscription's max delivery attempts."
  type        = number
  default     = 5
}

variable "migration_max_instances" {
  description = "Upper bound of MigrateSecrets instances (bounds the load on the legacy and central stores)."
  type        = number
  default     = 5
}

variable "purge_schedule" {
  description = "When Cloud Scheduler purges deleted secrets past their recovery window (cron, UTC)."
  type        = string
  default     = "17 * * * *"
}

variable "gateway" {
  description = "Deploy an API Gateway (gateway.tf) that serves the API under /api/v1 and the dashboard at / on one host, calling the functions as its own service account."
  type        = bool
  default     = false
}
