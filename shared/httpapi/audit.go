package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
)

// The audit log (package audit) and the HTTP API:
//
//   - every request's context carries its facts (audit.WithRequest): the id
//     from X-Request-Id when it is well-formed (else a new one, echoed in the
//     response's X-Request-Id), the client address and the user agent; the
//     store reads them for the records of reads and changes;
//   - token operations write a request record before the handler runs (no
//     token is minted, listed or revoked unaudited: unavailable, 503, when
//     it cannot be stored) and a response record with the outcome after;
//   - requests refused for authorization write a record: every 401, and the
//     403s of routes the store does not audit itself (tokens, audit);
//   - GET /api/v1/audit (admins) reads the log.

// OpAudit is the operation of GET /api/v1/audit.
const OpAudit = "audit"

const pathAudit = "/api/v1/audit"

// auditParams are the query parameters of GET /api/v1/audit.
var auditParams = []string{"secret", "principal", "operation", "since", "until", "order", "page_size", "page_token"}

// auditedHere are the operations whose records the API writes itself (the
// store writes those of reads and changes of secrets).
var auditedHere = map[string]bool{
	OpCreateToken: true, OpListTokens: true, OpRevokeToken: true, OpRevokeOwn: true, OpAudit: true,
}

// tokenOps are the operations that get a request record before they run.
var tokenOps = map[string]bool{OpCreateToken: true, OpListTokens: true, OpRevokeToken: true, OpRevokeOwn: true}

// withRequestFacts returns r with its audit facts in the context, and sets
// the X-Request-Id response header.
func withRequestFacts(w http.ResponseWriter, r *http.Request) *http.Request {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = uuid.NewString()
	}
	w.Header().Set("X-Request-Id", id)
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	return r.WithContext(audit.WithRequest(r.Context(), audit.RequestFacts{ID: id, ClientAddr: addr, UserAgent: r.UserAgent()}))
}

// validRequestID accepts 1 to 128 characters of [A-Za-z0-9._:-].
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// auditRecord returns the record of the request rec describes.
func auditRecord(r *http.Request, op, phase string, rec *record) audit.Record {
	ar := audit.Record{
		Principal: rec.principal.Name, Role: string(rec.principal.Role), Operation: op, Phase: phase,
		SecretID: rec.secretID, TokenID: rec.tokenID, TokenUser: rec.tokenFor,
	}
	if tokenOps[op] {
		ar.SecretID = ""
		if ar.TokenID == "" && op == OpRevokeToken {
			ar.TokenID = r.PathValue("id")
		}
	}
	audit.Fill(r.Context(), &ar)
	return ar
}

// auditBefore writes the request record of a token operation. Errors:
// unavailable when it cannot be stored.
func (a *API) auditBefore(r *http.Request, op string, rec *record) error {
	l := a.st.AuditLog()
	if l == nil || !tokenOps[op] {
		return nil
	}
	_, err := l.Append(r.Context(), auditRecord(r, op, audit.PhaseRequest, rec))
	return err
}

// auditAfter writes the response record of a token operation or of a
// refused request and returns the error to answer with: err, or
// unavailable when a refusal's record cannot be stored (nothing was
// answered yet). A token operation's response record that cannot be
// stored is logged: its request record is in the log already.
func (a *API) auditAfter(w *statusWriter, r *http.Request, op string, rec *record, err error) error {
	l := a.st.AuditLog()
	if l == nil {
		return err
	}
	code := errcode.Of(err)
	refused := err != nil && (code == errcode.Unauthenticated || (code == errcode.PermissionDenied && auditedHere[op]))
	if !refused && !tokenOps[op] {
		return err
	}
	ar := auditRecord(r, op, audit.PhaseResponse, rec)
	ar.Outcome = audit.OutcomeOK
	if err != nil {
		ar.Outcome = string(code)
	}
	_, aerr := l.Append(r.Context(), ar)
	if aerr == nil {
		return err
	}
	if refused && w.status == 0 {
		return errcode.Wrap(errcode.Unavailable, aerr, "the audit record of this request could not be stored; retry later")
	}
	a.log.Error("audit response record not stored", "op", op, "cause", aerr.Error())
	return err
}

// auditJSON is GET /api/v1/audit's answer.
type auditJSON struct {
	Items         []audit.Record `json:"items"`
	NextPageToken string         `json:"next_page_token"`
	HasMore       bool           `json:"has_more"`
}

// Default and largest page sizes of GET /api/v1/audit.
const (
	defaultAuditPage = 100
	maxAuditPage     = audit.MaxPage
)

// listAudit serves GET /api/v1/audit: admins read the audit log, oldest
// first (order=newest: newest first), filtered by secret (id or name),
// principal, operation and a time range [since, until) in RFC 3339. Pages
// are keyset pages on the sequence: next_page_token resumes after the last
// record returned, also at the end of the log (so that a follower polls
// with it; has_more is false then), and is bound to the filters and order
// it was issued for. Newest first, the token resumes before the last record
// returned, and there is none once the start of the log is reached.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, rec *record) error {
	if !rec.principal.IsAdmin() {
		return errcode.New(errcode.PermissionDenied, "only admins can read the audit log")
	}
	l := a.st.AuditLog()
	if l == nil {
		return errcode.New(errcode.NotFound, "this deployment keeps no audit log")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errcode.New(errcode.InvalidArgument, "the query string is malformed")
	}
	var f audit.Filter
	f.Secret, f.Principal, f.Operation = q.Get("secret"), q.Get("principal"), q.Get("operation")
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return errcode.New(errcode.InvalidArgument, "%s must be a time in RFC 3339, such as 2026-01-02T15:04:05Z", name)
			}
		}
	}
	size := defaultAuditPage
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > maxAuditPage {
			return errcode.New(errcode.InvalidArgument, "page_size must be a number from 1 to %d", maxAuditPage)
		}
	}
	var newest bool
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		newest = true
	default:
		return errcode.New(errcode.InvalidArgument, "order must be oldest or newest")
	}
	bind := filterBinding(f, newest)
	var from int64 // after (oldest first) or before (newest first)
	if v := q.Get("page_token"); v != "" {
		if from, err = decodeAuditToken(v, bind); err != nil {
			return err
		}
	}
	query := audit.Query{After: from, Limit: size, Filter: f}
	if newest {
		query = audit.Query{Newest: true, Before: from, Limit: size, Filter: f}
	}
	recs, err := l.Read(r.Context(), query)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		from = recs[len(recs)-1].Seq
	}
	out := auditJSON{Items: recs, NextPageToken: encodeAuditToken(from, bind), HasMore: len(recs) == size}
	if newest && (len(recs) < size || from == 1) {
		out.NextPageToken, out.HasMore = "", false // the start of the log: nothing before it
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// auditToken is the decoded form of an opaque audit page token.
type auditToken struct {
	After int64  `json:"a"`
	Bind  string `json:"b"`
}

func filterBinding(f audit.Filter, newest bool) string {
	h := sha256.New()
	if newest {
		h.Write([]byte("newest;"))
	}
	for _, s := range []string{f.Secret, f.Principal, f.Operation, f.Since.UTC().Format(time.RFC3339Nano), f.Until.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func encodeAuditToken(after int64, bind string) string {
	b, _ := json.Marshal(auditToken{After: after, Bind: bind})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errAuditToken = errcode.New(errcode.InvalidArgument, "page_token is not a token this audit query returned; start without one")

func decodeAuditToken(s, bind string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, errAuditToken
	}
	var t auditToken
	if err := json.Unmarshal(b, &t); err != nil || t.After < 0 || t.Bind != bind {
		return 0, errAuditToken
	}
	return t.After, nil
}
