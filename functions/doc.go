// Package functions holds Lockwell's serverless entry points; this package
// itself only documents them and carries the deployment tests.
//
//   - functions/<op> (create, get, list, update, delete): one AWS Lambda
//     bootstrap per API operation, built for provided.al2023 (arm64 by
//     default) with CGO_ENABLED=0, -tags lambda.norpc, -trimpath and
//     -ldflags='-s -w'. Each is a thin main over package lambdaserve, which
//     opens the deployment once per cold start and serves the operation from
//     API Gateway HTTP API (payload 2.0) or function URL events through
//     package lambdahttp.
//   - functions/backends: the build tags that choose which backends a
//     bootstrap links (the AWS set by default), and the IAM actions each
//     operation's code calls.
//   - functions/gcp: the Google Cloud Functions registrations (CreateSecret,
//     GetSecret, ListSecrets, UpdateSecret, DeleteSecret).
//   - functions/functions.mk: make build, build-<LogicalId> (SAM),
//     package, invoke and bench-lambda.
//
// The tests here check template.yaml against the code (template_test.go)
// and run every bootstrap under the Lambda Runtime Interface Emulator
// against a SQLite store (emulator_test.go).
package functions
