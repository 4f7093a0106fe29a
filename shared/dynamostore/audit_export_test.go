package dynamostore

// AuditKey is the partition key of audit record seq, for tests that
// tamper with it.
var AuditKey = auditPK
