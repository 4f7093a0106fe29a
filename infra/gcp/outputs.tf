output "function_urls" {
  description = "Each function's URL, by entry point."
  value       = { for entry, f in google_cloudfunctions2_function.lockwell : entry => f.url }
}

output "dashboard_url" {
  description = "Where the dashboard is: the gateway's host with gateway = true (the API is under /api/v1 there), else the Dashboard function's URL."
  value       = var.gateway ? "https://${google_api_gateway_gateway.lockwell[0].default_hostname}/" : google_cloudfunctions2_function.lockwell["Dashboard"].url
}

output "gateway_url" {
  description = "The API Gateway's base URL (lockwell login --url), with gateway = true."
  value       = var.gateway ? "https://${google_api_gateway_gateway.lockwell[0].default_hostname}" : ""
}

output "audiences" {
  description = "The ID token audiences the functions accept (LOCKWELL_AUDIENCE)."
  value       = local.audiences
}

output "service_account" {
  description = "The functions' service account."
  value       = google_service_account.functions.email
}

output "migration_topic" {
  description = "The topic lockwell migrate start publishes to: pubsub://PROJECT/TOPIC."
  value       = var.migration ? "pubsub://${var.project}/${google_pubsub_topic.migration[0].name}" : ""
}

output "migration_dead_letter_topic" {
  description = "Where messages go after migration_max_deliveries attempts (set on the Eventarc subscription, see README.md)."
  value       = var.migration ? google_pubsub_topic.migration_dead_letter[0].id : ""
}
