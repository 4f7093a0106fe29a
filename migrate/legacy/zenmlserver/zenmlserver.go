// Package zenmlserver reads ZenML's centralized secrets store through a
// running ZenML server's REST API: the source zenml-server://HOST[:PORT].
//
// It follows ZenML 0.80+ (private/public secrets, no workspaces) as read in
// zenml-io/zenml (the code index gives commits, not tags): the login form
// of zen_server/routers/auth_endpoints.py (commit bd37215), the secrets
// routes of zen_server/routers/secrets_endpoints.py, Page of
// models/v2/base/page.py (commit 61978c4) and SecretResponse of
// models/v2/core/secret.py. localdev/zenmlserver serves the same routes
// for tests.
//
// Credentials never come from the URL or argv: a service account's API key
// from ZENML_STORE_API_KEY (or the file named by ZENML_STORE_API_KEY_FILE),
// else a user's ZENML_STORE_USERNAME and ZENML_STORE_PASSWORD (or
// ZENML_STORE_PASSWORD_FILE): the variables ZenML's own client reads. The
// source logs in with POST /api/v1/login (grant_type zenml-api-key or
// password) and logs in again once when the server answers 401 (an
// expired token).
//
// List pages through GET /api/v1/secrets (hydrated, sorted by creation,
// page_size per page, default 1000; ZenML allows up to 10000) and returns
// every secret the credentials can see: all public ones and the caller's
// private ones (ZenML shows private secrets only to their owner). Each item
// is referenced by its ZenML id and carries its visibility and user. Read
// fetches GET /api/v1/secrets/{id}, the only route that returns values;
// values ZenML withholds (null: the credentials lack the permission to
// read secret values) make the entry fail_precondition, so it is skipped
// with the reason rather than migrated empty. Delete always refuses: the
// migration leaves the ZenML server's secrets alone.
//
// URL parameters: tls=true (default; https, system roots plus
// LOCKWELL_ZENML_CA_FILE when set) or tls=false (plain http, for a server
// on loopback), page_size=1..10000.
package zenmlserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "server", Open: open, URLFromConfig: func(map[string]any, string) (string, error) {
		return "", errcode.New(errcode.InvalidArgument, "a ZenML server is not a stack component; use --source zenml-server://HOST[:PORT]")
	}})
}

// DefaultPageSize is the page size List asks for.
const DefaultPageSize = 1000

// credentials is how the source logs in: an API key, or a user's name and
// password.
type credentials struct {
	apiKey, username, password string
}

func credentialsFromEnv() (credentials, error) {
	var c credentials
	var err error
	if c.apiKey, err = legacy.EnvOrFile("ZENML_STORE_API_KEY"); err != nil || c.apiKey != "" {
		return c, err
	}
	c.username = os.Getenv("ZENML_STORE_USERNAME")
	if c.password, err = legacy.EnvOrFile("ZENML_STORE_PASSWORD"); err != nil {
		return c, err
	}
	if c.username == "" {
		return c, errcode.New(errcode.InvalidArgument, "no ZenML credentials: set ZENML_STORE_API_KEY (a service account's API key; or ZENML_STORE_API_KEY_FILE), or ZENML_STORE_USERNAME and ZENML_STORE_PASSWORD (or ZENML_STORE_PASSWORD_FILE)")
	}
	return c, nil
}

func open(_ context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, "tls", "page_size"); err != nil {
		return nil, err
	}
	if u.User != nil {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-server URLs never hold credentials; set ZENML_STORE_API_KEY or ZENML_STORE_USERNAME/ZENML_STORE_PASSWORD")
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-server URL must be zenml-server://HOST[:PORT]")
	}
	scheme := "https"
	switch u.Query().Get("tls") {
	case "", "true":
	case "false":
		scheme = "http"
	default:
		return nil, errcode.New(errcode.InvalidArgument, "tls must be true or false")
	}
	pageSize := DefaultPageSize
	if v := u.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, errcode.New(errcode.InvalidArgument, "page_size must be from 1 to 10000")
		}
		pageSize = n
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if ca := os.Getenv("LOCKWELL_ZENML_CA_FILE"); ca != "" && scheme == "https" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "cannot read LOCKWELL_ZENML_CA_FILE %s", ca)
		}
		pool, _ := x509.SystemCertPool()
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_ZENML_CA_FILE %s holds no PEM certificate", ca)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	transport.MaxIdleConnsPerHost = 16
	d.Location = u.Host
	return &source{
		d:        d,
		base:     scheme + "://" + u.Host,
		creds:    creds,
		pageSize: pageSize,
		http:     &http.Client{Transport: transport, Timeout: time.Minute},
	}, nil
}

type source struct {
	d        legacy.Descriptor
	base     string
	creds    credentials
	pageSize int
	http     *http.Client

	mu    sync.Mutex
	token string
}

// Describe implements legacy.Source.
func (s *source) Describe() legacy.Descriptor { return s.d }

// Close implements legacy.Source.
func (s *source) Close() error {
	s.http.CloseIdleConnections()
	return nil
}

// Delete implements legacy.Source: the migration never deletes a ZenML
// server's secrets.
func (s *source) Delete(context.Context, string) error {
	return errcode.New(errcode.FailedPrecondition, "secrets of a ZenML server are not deleted by the migration")
}

// secretResponse is ZenML's SecretResponse, as far as read here.
type secretResponse struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Body *struct {
		UserID  string             `json:"user_id"`
		Private bool               `json:"private"`
		Values  map[string]*string `json:"values"`
	} `json:"body"`
	Resources *struct {
		User *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
	} `json:"resources"`
}

type page struct {
	Index      int              `json:"index"`
	TotalPages int              `json:"total_pages"`
	Total      int              `json:"total"`
	Items      []secretResponse `json:"items"`
}

func (r secretResponse) owned() (*legacy.Owned, error) {
	id, err := uuid.Parse(r.ID)
	if err != nil || r.Body == nil {
		return nil, errcode.New(errcode.Internal, "the ZenML server answered a secret without id or body")
	}
	o := &legacy.Owned{ID: id.String(), Private: r.Body.Private, UserID: r.Body.UserID}
	if r.Resources != nil && r.Resources.User != nil {
		o.UserName = r.Resources.User.Name
		if o.UserID == "" {
			o.UserID = r.Resources.User.ID
		}
	}
	return o, nil
}

// List implements legacy.Source.
func (s *source) List(ctx context.Context) ([]legacy.Item, error) {
	var items []legacy.Item
	seen := map[string]bool{}
	for n := 1; ; n++ {
		q := url.Values{"page": {strconv.Itoa(n)}, "size": {strconv.Itoa(s.pageSize)}, "hydrate": {"true"}, "sort_by": {"asc:created"}}
		var p page
		if err := s.get(ctx, "/api/v1/secrets?"+q.Encode(), &p); err != nil {
			return nil, err
		}
		for _, r := range p.Items {
			o, err := r.owned()
			if err != nil {
				return nil, err
			}
			if seen[o.ID] { // a secret created while paging shifts later pages
				continue
			}
			seen[o.ID] = true
			items = append(items, legacy.Item{Name: r.Name, Location: o.ID, Status: legacy.Migratable, Owned: o})
		}
		if n >= p.TotalPages || len(p.Items) == 0 {
			break
		}
	}
	legacy.SortItems(items)
	return items, nil
}

// Read implements legacy.Source.
func (s *source) Read(ctx context.Context, ref string) (*legacy.Entry, error) {
	id, err := uuid.Parse(ref)
	if err != nil {
		return nil, errcode.New(errcode.NotFound, "ZenML secrets are referenced by id; %q is not one", ref)
	}
	var r secretResponse
	if err := s.get(ctx, "/api/v1/secrets/"+id.String()+"?hydrate=true", &r); err != nil {
		return nil, err
	}
	o, err := r.owned()
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(r.Body.Values))
	for k, v := range r.Body.Values {
		if v == nil {
			return nil, errcode.New(errcode.FailedPrecondition, "ZenML withheld the values of secret %s: the credentials may not read secret values", r.Name)
		}
		values[k] = *v
	}
	return &legacy.Entry{Name: r.Name, Values: values, Owned: o}, nil
}

// get fetches path as JSON into out, logging in first and once more after
// a 401.
func (s *source) get(ctx context.Context, path string, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := s.bearer(ctx, attempt > 0)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
		if err != nil {
			return errcode.Wrap(errcode.Internal, err, "bad ZenML request")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		status, body, err := s.do(req)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			continue
		}
		if status != http.StatusOK {
			return statusError(status, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			return errcode.New(errcode.Internal, "the ZenML server's answer to GET %s is not the JSON ZenML sends", strings.SplitN(path, "?", 2)[0])
		}
		return nil
	}
}

func (s *source) do(req *http.Request) (int, []byte, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return 0, nil, errcode.Wrap(errcode.Unavailable, req.Context().Err(), "ZenML request cancelled")
		}
		return 0, nil, errcode.New(errcode.Unavailable, "cannot reach the ZenML server at %s", s.base)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, nil, errcode.New(errcode.Unavailable, "reading the ZenML server's answer failed")
	}
	return resp.StatusCode, body, nil
}

// bearer returns the access token, logging in when there is none or fresh
// is set (the last one was refused).
func (s *source) bearer(ctx context.Context, fresh bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && !fresh {
		return s.token, nil
	}
	form := url.Values{}
	if s.creds.apiKey != "" {
		form.Set("grant_type", "zenml-api-key")
		form.Set("password", s.creds.apiKey)
	} else {
		form.Set("grant_type", "password")
		form.Set("username", s.creds.username)
		form.Set("password", s.creds.password)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/v1/login", bytes.NewBufferString(form.Encode()))
	if err != nil {
		return "", errcode.Wrap(errcode.Internal, err, "bad ZenML login request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := s.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		if status == http.StatusUnauthorized {
			return "", errcode.New(errcode.Unauthenticated, "the ZenML server refused the login (check ZENML_STORE_API_KEY or ZENML_STORE_USERNAME/ZENML_STORE_PASSWORD)")
		}
		return "", statusError(status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
		return "", errcode.New(errcode.Internal, "the ZenML server's login answer has no bearer access token")
	}
	s.token = tok.AccessToken
	return s.token, nil
}

// statusError classifies a ZenML error answer. The message names the
// status and ZenML's exception class, never the body's other text.
func statusError(status int, body []byte) error {
	var e struct {
		Detail json.RawMessage `json:"detail"`
	}
	class := ""
	if json.Unmarshal(body, &e) == nil {
		var parts []string
		if json.Unmarshal(e.Detail, &parts) == nil && len(parts) > 0 {
			class = " (" + parts[0] + ")"
		}
	}
	msg := fmt.Sprintf("the ZenML server answered %d%s", status, class)
	switch {
	case status == http.StatusUnauthorized:
		return errcode.New(errcode.Unauthenticated, "%s", msg)
	case status == http.StatusForbidden:
		return errcode.New(errcode.PermissionDenied, "%s", msg)
	case status == http.StatusNotFound:
		return errcode.New(errcode.NotFound, "%s", msg)
	case status == http.StatusTooManyRequests || status >= 500:
		return errcode.New(errcode.Unavailable, "%s", msg)
	}
	return errcode.New(errcode.InvalidArgument, "%s", msg)
}
