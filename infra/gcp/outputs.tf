output "function_urls" {
  description = "Each function's URL, by entry point."
  value       = { for entry, f in google_cloudfunctions2_function.lockwell : entry => f.url }
}

output "audiences" {
  description = "The ID token audiences the functions accept (LOCKWELL_AUDIENCE)."
  value       = local.audiences
}

output "service_account" {
  description = "The functions' service account."
  value       = google_service_account.functions.email
}
