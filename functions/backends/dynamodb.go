//go:build lockwell_dynamodb || !lockwell_only

package backends

import _ "github.com/lockwell/lockwell/shared/dynamostore" // dynamodb://

// The DynamoDB calls of each operation (package dynamostore, under the
// portable store): a secret item plus a name-claim item per secret; claims
// of crashed writers are checked (GetItem) and repaired (DeleteItem) by
// creates and renames. A write with an Idempotency-Key keeps its record as an
// item of the same table (PutItem, GetItem, UpdateItem, DeleteItem), and a
// delete finishes the records of interrupted keyed writes (UpdateItem). A get
// by name finds the name first (Query); the versions of a secret are read
// in batches (BatchGetItem). A delete is an update that moves
// the secret into the recovery window (?purge=true destroys it: DeleteItem);
// the scheduled purge finds expired secrets with a Scan.
//
// The audit log (package dynamostore's audit.go and auditkey.go) lives in
// the same table under keys "a#...": every function reads the wrapped chain
// key a#key when it starts (GetItem; the deployment's first start puts it,
// PutItem), and appends records a#<seq> with conditional puts (PutItem),
// reading the head hint a#head and the records after it (GetItem) and
// raising the hint (UpdateItem).
func init() {
	needForAudit("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
	need("create", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem")
	need("get", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem")
	need("list", "dynamodb:Query")
	need("update", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
	need("delete", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
	need("purge", "dynamodb:Scan", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem")
}
