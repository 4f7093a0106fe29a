//go:build lockwell_awskms || !lockwell_only

package backends

import _ "github.com/lockwell/lockwell/shared/envelope/awskms" // awskms://

// The KMS calls of each operation when values are sealed in the backend
// (package envelope/awskms, cold data-key cache): a new version seals with
// a fresh data key (GenerateDataKey); reading a secret opens its data key
// (Decrypt), which update does to merge. An idempotent retry is answered
// from its record, without opening values. Delete reads metadata only
// (backend.MetadataGetter) and listing never opens values.
//
// The audit log's chain key (package audit, LoadKey) is wrapped by the same
// KMS key under its own encryption context: every function unwraps it once
// when it starts (Decrypt); the deployment's first start makes it
// (GenerateDataKey). With the values in Secrets Manager the KMS key wraps
// only the chain key (LOCKWELL_AUDIT_KEY).
func init() {
	needForAudit("kms:Decrypt", "kms:GenerateDataKey")
	need("create", "kms:GenerateDataKey")
	need("get", "kms:Decrypt")
	need("update", "kms:Decrypt", "kms:GenerateDataKey")
	need("delete", "kms:Decrypt", "kms:GenerateDataKey") // a delete is an update into the recovery window
}
