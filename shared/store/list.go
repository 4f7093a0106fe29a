package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ListRequest is the input of List. Empty filters match everything.
type ListRequest struct {
	Name         string
	NamePrefix   string
	NameContains string
	Private      *bool
	Owner        string
	// Sort is name, -name, created, -created, updated or -updated; default
	// name.
	Sort string
	// Deleted lists the secrets in the recovery window (that p may
	// restore) instead of the live ones.
	Deleted   bool
	PageSize  int    // default DefaultPageSize, at most MaxPageSize
	PageToken string // from the previous page's NextPageToken
}

// Page is one page of a listing.
type Page struct {
	Items         []*secret.Secret `json:"items"`
	NextPageToken string           `json:"next_page_token"`
}

// List returns the secrets p may see (public ones and p's own private ones)
// that match req, one page at a time. Items never carry values. Pagination is
// keyset based: a page costs the same however deep it is, and a listing that
// runs while others write returns every secret that existed throughout
// exactly once. Errors: invalid_argument (bad filter, sort, size or token).
func (s *Store) List(ctx context.Context, p identity.Principal, req ListRequest) (_ *Page, err error) {
	defer s.record(ctx, "list", p, nil, nil, &err)
	q, err := buildQuery(p, req)
	if err != nil {
		return nil, err
	}
	size := q.Limit
	q.Limit = size + 1 // one more tells whether there is a next page
	items, err := s.b.List(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Items: make([]*secret.Secret, 0, min(len(items), size))}
	for i, it := range items {
		if i == size {
			page.NextPageToken = encodeToken(req, backend.CursorAfter(items[size-1], q.Sort.Field))
			break
		}
		page.Items = append(page.Items, it.Metadata())
	}
	return page, nil
}

func buildQuery(p identity.Principal, req ListRequest) (backend.Query, error) {
	q := backend.Query{
		Viewer: p.Name, Name: req.Name, NamePrefix: req.NamePrefix, NameContains: req.NameContains,
		Private: req.Private, Owner: req.Owner, Limit: req.PageSize, Deleted: req.Deleted,
	}
	for what, v := range map[string]string{"name": req.Name, "name_prefix": req.NamePrefix, "name_contains": req.NameContains, "owner": req.Owner} {
		if len(v) > secret.MaxNameLength {
			return q, errcode.New(errcode.InvalidArgument, "%s filter is longer than %d characters", what, secret.MaxNameLength)
		}
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return q, errcode.New(errcode.InvalidArgument, "page_size must be between 1 and %d", MaxPageSize)
	}
	sort, err := ParseSort(req.Sort)
	if err != nil {
		return q, err
	}
	q.Sort = sort
	if req.PageToken != "" {
		if q.After, err = decodeToken(req); err != nil {
			return q, err
		}
	}
	return q, nil
}

// ParseSort parses a sort parameter: name, -name, created, -created,
// updated or -updated; empty means name.
func ParseSort(s string) (backend.Sort, error) {
	field, desc := strings.CutPrefix(s, "-")
	switch backend.SortField(field) {
	case backend.ByName, backend.ByCreated, backend.ByUpdated:
		return backend.Sort{Field: backend.SortField(field), Desc: desc}, nil
	case "":
		if !desc {
			return backend.Sort{Field: backend.ByName}, nil
		}
	}
	return backend.Sort{}, errcode.New(errcode.InvalidArgument, "sort must be one of name, -name, created, -created, updated, -updated")
}

// pageToken is the decoded form of an opaque page token. It binds the
// position to the query it came from, so a token cannot be replayed against
// other filters or another sort order.
type pageToken struct {
	Query string    `json:"q"`
	Name  string    `json:"n,omitempty"`
	Time  time.Time `json:"t,omitzero"`
	ID    string    `json:"i"`
}

func queryFingerprint(req ListRequest) string {
	req.PageToken, req.PageSize = "", 0
	b, _ := json.Marshal(req)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func encodeToken(req ListRequest, c *backend.Cursor) string {
	b, _ := json.Marshal(pageToken{Query: queryFingerprint(req), Name: c.Name, Time: c.Time, ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(req ListRequest) (*backend.Cursor, error) {
	bad := errcode.New(errcode.InvalidArgument, "page_token is not valid; start again without it")
	if len(req.PageToken) > 2048 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(req.PageToken)
	if err != nil {
		return nil, bad
	}
	var t pageToken
	if err := json.Unmarshal(raw, &t); err != nil || secret.ValidateID(t.ID) != nil {
		return nil, bad
	}
	if t.Query != queryFingerprint(req) {
		return nil, errcode.New(errcode.InvalidArgument, "page_token belongs to a listing with other filters or sort order")
	}
	return &backend.Cursor{Name: t.Name, Time: t.Time, ID: t.ID}, nil
}
