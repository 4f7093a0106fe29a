package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/audit"
)

// AuditQuery filters GET /api/v1/audit; zero fields select all.
type AuditQuery struct {
	Secret, Principal, Operation string
	Since, Until                 time.Time
	PageSize                     int
	PageToken                    string
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Items []audit.Record `json:"items"`
	// NextPageToken resumes after the last record, also at the end of the
	// log (for following it); HasMore says whether the page was full.
	NextPageToken string `json:"next_page_token"`
	HasMore       bool   `json:"has_more"`
}

// Audit reads one page of the audit log, oldest first. Only admins may.
// Errors: invalid_argument, permission_denied, not_found (the deployment
// keeps no audit log), and the common ones.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	v := url.Values{}
	for name, s := range map[string]string{"secret": q.Secret, "principal": q.Principal, "operation": q.Operation, "page_token": q.PageToken} {
		if s != "" {
			v.Set(name, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.PageSize > 0 {
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	var out AuditPage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/audit", query: v, retry: true}, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []audit.Record{}
	}
	return &out, nil
}
