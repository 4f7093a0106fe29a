// Package audit is Lockwell's tamper-evident audit log: one Record per
// request that reads values, changes a secret, manages tokens or is refused
// for authorization, stored by the deployment's backend in one global chain.
//
// A Record holds who (principal, role, client address, user agent, request
// id), what (operation, secret id and name, version) and the outcome (an
// errcode code, or "ok"). It never holds a value, a token or a request body.
//
// Every record carries MAC = HMAC-SHA256(key, previous record's MAC ||
// canonical encoding of the record), so that changing, removing, inserting
// or reordering stored records breaks the chain at that point; Verify walks
// the chain and names the first broken link. The key is derived with HKDF
// from the deployment's store key (DeriveKey) or, when the store key never
// leaves a key service (KMS), is a random key the storage keeps wrapped by
// it (LoadKey, KeyStorage), so whoever can write the database but does not
// hold or cannot use the store key cannot forge a chain. (Whoever can
// does; an external copy of the head MAC, such as the JSON lines of
// LOCKWELL_AUDIT_FILE shipped elsewhere, also detects that.)
//
// The chain is global: every process appends to the same Storage with a
// conditional write (the sequence after the head it last saw); a process that
// lost the race re-reads the head and retries. Concurrent appends of one
// process are batched into one storage write.
//
// The log fails closed: Log.Append returns unavailable when the record
// cannot be stored, and the callers (package store, package httpapi) then
// refuse the request.
package audit

import (
	"context"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Phases of a record. A change writes a request record before it is
// attempted and a response record with its outcome after (Vault's model);
// a read, a token operation and a refusal write one response record.
const (
	PhaseRequest  = "request"
	PhaseResponse = "response"
)

// OutcomeOK is the outcome of a request that succeeded; any other outcome is
// an errcode code. A request record's outcome is empty.
const OutcomeOK = "ok"

// Record is one audit record. Seq and MAC are set by Log.Append.
type Record struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id,omitempty"`
	Principal  string    `json:"principal"`
	Role       string    `json:"role,omitempty"`
	Operation  string    `json:"operation"`
	Phase      string    `json:"phase"`
	SecretID   string    `json:"secret_id,omitempty"`
	SecretName string    `json:"secret_name,omitempty"`
	Version    int64     `json:"version,omitempty"`
	// TokenID and TokenUser name the token a token operation minted or
	// revoked (its id, never the token) and the user it is for.
	TokenID    string `json:"token_id,omitempty"`
	TokenUser  string `json:"token_user,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	// MAC is the hex HMAC-SHA256 that chains the record to the previous one.
	MAC string `json:"mac"`
}

// maxField bounds every string field of a stored record: longer input (a
// user agent) is cut, so that a record always fits the storage's columns.
const maxField = 255

// normalize makes r storable: UTC time at microsecond precision (what every
// storage keeps exactly) and bounded fields.
func (r *Record) normalize() {
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	for _, f := range []*string{&r.RequestID, &r.Principal, &r.Role, &r.Operation, &r.Phase, &r.SecretID, &r.SecretName, &r.TokenID, &r.TokenUser, &r.Outcome, &r.ClientAddr, &r.UserAgent} {
		if len(*f) > maxField {
			*f = strings.ToValidUTF8((*f)[:maxField], "")
		}
	}
}

// Filter selects records; a zero field selects all.
type Filter struct {
	// Secret matches the secret id or the secret name.
	Secret    string
	Principal string
	Operation string
	// Since and Until bound the record time: Since <= time < Until.
	Since, Until time.Time
}

// Match reports whether r passes f, for storages that filter in the
// process (memory, DynamoDB).
func (f Filter) Match(r *Record) bool {
	switch {
	case f.Secret != "" && r.SecretID != f.Secret && r.SecretName != f.Secret:
		return false
	case f.Principal != "" && r.Principal != f.Principal:
		return false
	case f.Operation != "" && r.Operation != f.Operation:
		return false
	case !f.Since.IsZero() && r.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !r.Time.Before(f.Until):
		return false
	}
	return true
}

// Query is a read of the chain: the records with After < Seq, matching
// Filter, in sequence order, at most Limit (> 0) of them. With Newest, the
// records with Seq < Before (0: up to the head) instead, newest first: how
// a person reads a log, page after page back in time.
type Query struct {
	After  int64
	Newest bool
	Before int64
	Limit  int
	Filter Filter
}

// Storage keeps the chain. Implementations: package sqlstore, package
// dynamostore and NewMemory; audittest.Run checks one. Methods are safe for
// concurrent use, also by several processes sharing the storage.
type Storage interface {
	// AppendAudit stores recs, whose sequences run consecutively from
	// after+1, provided no record with sequence after+1 is stored yet (the
	// caller saw the head at after). It returns how many of recs were
	// stored, always a prefix: storages that write atomically store all or
	// none. Errors: ErrConflict (wrapped) when another writer stored a
	// record of one of those sequences first; unavailable, internal.
	AppendAudit(ctx context.Context, after int64, recs []Record) (int, error)
	// AuditHead returns the record with the highest sequence, nil when the
	// chain is empty. Errors: unavailable, internal.
	AuditHead(ctx context.Context) (*Record, error)
	// ReadAudit returns the records q selects. Errors: unavailable, internal.
	ReadAudit(ctx context.Context, q Query) ([]Record, error)
}

// ErrConflict is what AppendAudit returns when it lost the race for a
// sequence; its code is failed_precondition.
var ErrConflict = errcode.New(errcode.FailedPrecondition, "another writer appended to the audit chain first")
