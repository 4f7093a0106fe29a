# Lockwell on Google Cloud Functions (2nd gen): one HTTP function per API
# operation and one for the web dashboard, all built from the source
# infra/gcp/stage.sh lays out; gateway.tf routes / to the dashboard next to
# /api/v1 on one host.

locals {
  # Entry point (registered in functions/gcp) => API operation.
  functions = {
    CreateSecret = "create"
    GetSecret    = "get"
    ListSecrets  = "list"
    UpdateSecret = "update"
    DeleteSecret = "delete"
    PurgeExpired = "purge_expired"
  }
  # The web dashboard (functions/gcp's Dashboard: its pages, sign-in and
  # whoami), deployed beside the API functions as template.yaml's
  # DashboardFunction is on AWS.
  dashboard = { Dashboard = "dashboard" }
  deployed  = merge(local.functions, local.dashboard)
  # 2nd gen function names are lower case; the entry point keeps its name.
  names = { for entry, op in local.deployed : entry => "lockwell-${lower(entry)}" }
  # The function URLs are ID-token audiences only; IAP's audience (its
  # backend service) must be given.
  audiences = length(var.audiences) > 0 || var.gcp_identity != "idtoken" ? var.audiences : [
    for entry, name in local.names : "https://${var.region}-${var.project}.cloudfunctions.net/${name}"
  ]
  environment = merge({
    LOCKWELL_STORE        = var.store_url
    LOCKWELL_VALUES       = var.values_url
    LOCKWELL_KEY          = var.key_url
    LOCKWELL_DEPLOYMENT   = var.deployment
    LOCKWELL_ADMINS       = join(",", concat(var.admins, [google_service_account.purge.email]))
    LOCKWELL_AUTH         = var.auth
    LOCKWELL_GCP_IDENTITY = var.gcp_identity
    LOCKWELL_AUDIENCE     = join(",", local.audiences)
    LOCKWELL_EVENTS_TOPIC = google_pubsub_topic.events.id
    # Behind the gateway the caller's Authorization arrives in
    # X-Forwarded-Authorization (functions/gcp, "Behind API Gateway").
    LOCKWELL_GCP_GATEWAY = var.gateway ? "true" : "false"
  }, var.extra_env)
  invoker_bindings = {
    for pair in setproduct(keys(local.deployed), var.invokers) : "${pair[0]} ${pair[1]}" => { entry = pair[0], member = pair[1] }
  }
}

resource "google_service_account" "functions" {
  account_id   = "lockwell-functions"
  display_name = "Lockwell functions"
}

# The value store: Secret Manager entries named <prefix>-<uuid> (default
# prefix "lockwell"), and nothing else.
resource "google_project_iam_member" "secret_values" {
  count   = startswith(var.values_url, "gcpsecretmanager://") ? 1 : 0
  project = var.project
  role    = "roles/secretmanager.admin"
  member  = google_service_account.functions.member
  condition {
    title      = "lockwell-entries-only"
    expression = "resource.name.startsWith(\"projects/${data.google_project.this.number}/secrets/lockwell-\")"
  }
}

# Secrets read into the environment (secret_env).
resource "google_secret_manager_secret_iam_member" "env" {
  for_each  = var.secret_env
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions.member
}

data "google_project" "this" {}

resource "google_storage_bucket" "source" {
  name                        = "${var.project}-lockwell-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

resource "google_storage_bucket_object" "source" {
  name   = "lockwell-${filemd5(var.source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.source_zip
}

resource "google_cloudfunctions2_function" "lockwell" {
  for_each    = local.deployed
  name        = local.names[each.key]
  location    = var.region
  description = each.value == "dashboard" ? "Lockwell: the web dashboard (/, /api/v1/session, /api/v1/whoami)" : "Lockwell: the ${each.value} operation of /api/v1/secrets"

  build_config {
    runtime     = var.go_runtime
    entry_point = each.key
    environment_variables = {
      GOFLAGS = "-tags=${var.backend_tags}"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.auth != "platform" || var.gcp_identity != "iap" || length(var.audiences) > 0
      error_message = "gcp_identity = \"iap\" needs audiences = [\"/projects/NUMBER/global/backendServices/ID\"], IAP's audience."
    }
  }

  service_config {
    available_memory               = "256M"
    timeout_seconds                = 30
    max_instance_count             = var.max_instances
    ingress_settings               = var.gcp_identity == "idtoken" ? "ALLOW_ALL" : "ALLOW_INTERNAL_AND_GCLB"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.functions.email
    environment_variables          = local.environment

    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  depends_on = [google_project_iam_member.secret_values, google_secret_manager_secret_iam_member.env]
}

# Who may call the functions. No allUsers: Cloud Run checks the caller's
# ID token before the function checks it again.
resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.invoker_bindings
  location = var.region
  service  = google_cloudfunctions2_function.lockwell[each.value.entry].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value.member
}

# ---- Migration of legacy ZenML secrets --------------------------------------
# MigrateSecrets (package migrate/gcp, which stage.sh links in) is a CloudEvent
# function behind the migration topic: `lockwell migrate start` publishes one
# message per legacy entry to it. Poison messages go to the dead-letter topic
# after migration_max_deliveries attempts; Eventarc creates the push
# subscription, so its dead-letter policy is set with gcloud after the first
# apply (README.md, "Migration").

# Change events: the functions publish one message per committed change
# (functions/gcp/events.go; ordering key the secret id). Subscribe with
# message ordering to get each secret's changes in commit order.
resource "google_pubsub_topic" "events" {
  name = "lockwell-events"
}

resource "google_pubsub_topic_iam_member" "events_publisher" {
  topic  = google_pubsub_topic.events.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.functions.member
}

resource "google_pubsub_topic" "migration" {
  count = var.migration ? 1 : 0
  name  = "lockwell-migration"
}

resource "google_pubsub_topic" "migration_dead_letter" {
  count                      = var.migration ? 1 : 0
  name                       = "lockwell-migration-dead-letter"
  message_retention_duration = "1209600s"
}

resource "google_project_iam_member" "eventarc_receiver" {
  count   = var.migration ? 1 : 0
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.functions.member
}

resource "google_cloudfunctions2_function" "migrate" {
  count       = var.migration ? 1 : 0
  name        = "lockwell-migratesecrets"
  location    = var.region
  description = "Lockwell: migrates legacy ZenML secrets-manager entries, one Pub/Sub message per entry"

  build_config {
    runtime     = var.go_runtime
    entry_point = "MigrateSecrets"
    environment_variables = {
      GOFLAGS = "-tags=${var.backend_tags}"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = "256M"
    timeout_seconds                = 60
    max_instance_count             = var.migration_max_instances
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.functions.email
    environment_variables = merge(local.environment, {
      LOCKWELL_MIGRATE_MAX_DELIVERIES = tostring(var.migration_max_deliveries)
    })

    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.migration[0].id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.functions.email
  }

  depends_on = [google_project_iam_member.eventarc_receiver, google_secret_manager_secret_iam_member.env]
}

# Eventarc invokes the function as the functions' service account.
resource "google_cloud_run_service_iam_member" "migrate_invoker" {
  count    = var.migration ? 1 : 0
  location = var.region
  service  = google_cloudfunctions2_function.migrate[0].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.functions.member
}

# ---- Purge of deleted secrets past their recovery window --------------------
# Cloud Scheduler calls PurgeExpired (POST /api/v1/admin/purge) hourly with
# an ID token of its own service account, which is a Lockwell admin and may
# invoke only that function. The store also purges after deletes; this
# covers idle deployments.

resource "google_service_account" "purge" {
  account_id   = "lockwell-purge"
  display_name = "Lockwell scheduled purge"
}

resource "google_cloud_run_service_iam_member" "purge_invoker" {
  location = var.region
  service  = google_cloudfunctions2_function.lockwell["PurgeExpired"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.purge.email}"
}

resource "google_cloud_scheduler_job" "purge" {
  name        = "lockwell-purge-expired"
  region      = var.region
  description = "Destroy Lockwell secrets whose recovery window has ended"
  schedule    = var.purge_schedule
  time_zone   = "Etc/UTC"

  retry_config {
    retry_count = 2
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.lockwell["PurgeExpired"].service_config[0].uri}/api/v1/admin/purge"
    oidc_token {
      service_account_email = google_service_account.purge.email
      audience              = local.audiences[0]
    }
  }
}
