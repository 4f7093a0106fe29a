// Package backends links into a binary the storage backends, external value
// stores and key wrappers it can open, each by importing the package that
// registers its URL scheme. Build tags choose them, so that every bootstrap
// carries only what its deployment uses (as External Secrets Operator's
// pkg/register does):
//
//	tag                          links                                   URL schemes
//	lockwell_dynamodb            shared/dynamostore                      dynamodb://
//	lockwell_awskms              shared/envelope/awskms                  awskms://
//	lockwell_awssecretsmanager   shared/valuestore/awssecretsmanager     awssecretsmanager://
//	lockwell_sql                 shared/sqlstore                         sqlite://, postgres://, mysql://
//	lockwell_gcpsecretmanager    shared/valuestore/gcpsecretmanager      gcpsecretmanager://
//	lockwell_azurekeyvault       shared/valuestore/azurekeyvault         azurekeyvault://
//	lockwell_hashivault          shared/valuestore/hashivault            hashivault://
//
// Without the tag lockwell_only a build links the AWS deployment's set:
// DynamoDB, KMS and Secrets Manager (the value store a template parameter
// can switch on without a rebuild). With lockwell_only it links exactly the
// tagged ones, for example
//
//	go build -tags lambda.norpc,lockwell_only,lockwell_sql ./functions/get
//
// for a bootstrap that serves a SQLite, PostgreSQL or MySQL store. localkey:// is
// always available (package envelope). functions/functions.mk passes the
// tags in LAMBDA_TAGS.
//
// Each AWS file also records, next to the import, which IAM actions its
// package's code calls for each API operation (Actions), so that a test can
// check template.yaml grants them.
package backends

import "sort"

// actions maps an operation to the IAM actions the linked packages call for
// it.
var actions = map[string]map[string]bool{}

// need records that op calls these IAM actions. Call it from init.
func need(op string, acts ...string) {
	if actions[op] == nil {
		actions[op] = map[string]bool{}
	}
	for _, a := range acts {
		actions[op][a] = true
	}
}

// auditActions are the IAM actions every function that opens the
// deployment calls for its audit log, whatever its operation and value
// store.
var auditActions = map[string]bool{}

// needForAudit records that opening and appending to the audit log calls
// these IAM actions. Call it from init.
func needForAudit(acts ...string) {
	for _, a := range acts {
		auditActions[a] = true
	}
}

// AuditActions returns, sorted, the IAM actions of the audit log (package
// audit over the linked backend and key wrapper) that every function
// opening the deployment calls: reading (or, on the deployment's first
// cold start, making) the wrapped chain key and appending records. They
// concern only the audit's own items and the chain key's KMS encryption
// context, which template.yaml grants in statements of their own.
func AuditActions() []string {
	var out []string
	for a := range auditActions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Actions returns, sorted, the IAM actions the linked AWS packages call when
// serving op ("create", "get", "list", "update", "delete"), including those
// of a value store that is linked but only used when configured.
func Actions(op string) []string {
	var out []string
	for a := range actions[op] {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
