# ---- One host for the API and the dashboard ---------------------------------
# With gateway = true, an API Gateway serves every route of the API under
# /api/v1 (each method and path to the function of its operation) and the
# dashboard at / (every other GET, and /api/v1/session and /api/v1/whoami, to
# the Dashboard function), as template.yaml's HTTP API does on AWS: the
# dashboard's pages reach the API on their own origin, which its cookie
# session and Content-Security-Policy ('self') need. gateway.yaml.tftpl is
# the OpenAPI 2.0 document; deploy_test.go checks it routes every
# operation the functions serve. The gateway calls the functions with an ID
# token of its own service account (the only invoker it needs).

resource "google_service_account" "gateway" {
  count        = var.gateway ? 1 : 0
  account_id   = "lockwell-gateway"
  display_name = "Lockwell API Gateway"
}

resource "google_cloud_run_service_iam_member" "gateway_invoker" {
  for_each = var.gateway ? local.deployed : {}
  location = var.region
  service  = google_cloudfunctions2_function.lockwell[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.gateway[0].email}"
}

resource "google_api_gateway_api" "lockwell" {
  count    = var.gateway ? 1 : 0
  provider = google-beta
  api_id   = "lockwell"
}

resource "google_api_gateway_api_config" "lockwell" {
  count                = var.gateway ? 1 : 0
  provider             = google-beta
  api                  = google_api_gateway_api.lockwell[0].api_id
  api_config_id_prefix = "lockwell-"

  openapi_documents {
    document {
      path = "gateway.yaml"
      contents = base64encode(templatefile("${path.module}/gateway.yaml.tftpl", {
        urls = { for entry, f in google_cloudfunctions2_function.lockwell : entry => f.url }
      }))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway[0].email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "lockwell" {
  count      = var.gateway ? 1 : 0
  provider   = google-beta
  region     = var.region
  gateway_id = "lockwell"
  api_config = google_api_gateway_api_config.lockwell[0].id
}
