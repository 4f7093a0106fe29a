//go:build lockwell_awssecretsmanager || !lockwell_only

package backends

import _ "github.com/lockwell/lockwell/shared/valuestore/awssecretsmanager" // awssecretsmanager://

// The Secrets Manager calls of each operation when values live there
// (package valuestore/awssecretsmanager under valuestore.Indexed). Every
// write describes the entry first (DescribeSecret), then creates it
// (CreateSecret, tagged, so TagResource too) when missing, restores it
// (RestoreSecret) when scheduled for deletion, or adds a version
// (PutSecretValue); a create whose index write fails (an idempotent replay
// does) removes its entry again (DeleteSecret);
// an update retires the older versions (ListSecretVersionIds,
// UpdateSecretVersionStage); reading values is DescribeSecret (ownership
// tags) and GetSecretValue. Delete checks visibility on the index alone and
// removes the entry (DescribeSecret, DeleteSecret). Listing never touches
// the value store.
func init() {
	write := []string{"secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:DescribeSecret",
		"secretsmanager:RestoreSecret", "secretsmanager:PutSecretValue"}
	read := []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}
	need("create", append(write, "secretsmanager:DeleteSecret")...)
	need("get", read...)
	need("update", append(append(write, read...), "secretsmanager:ListSecretVersionIds", "secretsmanager:UpdateSecretVersionStage")...)
	// A delete moves the secret into the recovery window, an update of the
	// index that keeps the values; ?purge=true removes the entry.
	need("delete", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
		"secretsmanager:ListSecretVersionIds", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DeleteSecret")
	need("purge", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret") // the purge reads no values
}
