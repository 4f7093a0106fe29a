// Package github lists the secrets of ZenML's GitHub secrets manager
// (flavor github, up to ZenML 0.36.1): repository Actions secrets named
// "__ZENML__" + NAME (upper case). Their values can only be read inside a
// GitHub Actions run, so every entry is reported not migratable; ZenML's own
// docs told users to move them by hand (reference §3.5).
//
// Source URL: zenml-github://OWNER/REPOSITORY (no parameters). Credentials
// come from GITHUB_USERNAME and GITHUB_AUTHENTICATION_TOKEN, as ZenML used
// them; GITHUB_API_URL overrides https://api.github.com (GitHub Enterprise,
// tests).
package github

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

// Prefix starts the name of every ZenML secret in GitHub.
const Prefix = "__ZENML__"

// Reason is why GitHub entries are not migratable.
const Reason = "GitHub secret values can only be read inside a GitHub Actions run; move it by hand"

func init() {
	legacy.Register(legacy.Flavor{Name: "github", Open: open, URLFromConfig: urlFromConfig})
}

func urlFromConfig(cfg map[string]any, _ string) (string, error) {
	owner, err := legacy.ConfigString(cfg, "github", "owner")
	if err != nil {
		return "", err
	}
	repo, err := legacy.ConfigString(cfg, "github", "repository")
	if err != nil {
		return "", err
	}
	return "zenml-github://" + owner + "/" + repo, nil
}

func open(_ context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, "scope"); err != nil {
		return nil, err
	}
	repo := strings.Trim(u.Path, "/")
	if u.Host == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-github URL must be zenml-github://OWNER/REPOSITORY")
	}
	api := strings.TrimSuffix(os.Getenv("GITHUB_API_URL"), "/")
	if api == "" {
		api = "https://api.github.com"
	}
	d.Location = u.Host + "/" + repo
	return &Source{
		listURL: api + "/repos/" + url.PathEscape(u.Host) + "/" + url.PathEscape(repo) + "/actions/secrets?per_page=100",
		user:    os.Getenv("GITHUB_USERNAME"), token: os.Getenv("GITHUB_AUTHENTICATION_TOKEN"),
		http: &http.Client{Timeout: 30 * time.Second}, desc: d,
	}, nil
}

// Source lists one repository's ZenML secrets. Safe for concurrent use.
type Source struct {
	listURL     string
	user, token string
	http        *http.Client
	desc        legacy.Descriptor
}

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return nil }

// List implements legacy.Source: the first page of 100, as ZenML read it.
// Names are upper case, as GitHub keeps them.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	var body struct {
		Secrets []struct {
			Name string `json:"name"`
		} `json:"secrets"`
	}
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.listURL, nil)
		if err != nil {
			return errcode.New(errcode.InvalidArgument, "bad GitHub API URL")
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		if s.token != "" {
			req.SetBasicAuth(s.user, s.token)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			return errcode.New(errcode.Unavailable, "GitHub is unreachable")
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return errcode.New(errcode.Unauthenticated, "GitHub refused the credentials (GITHUB_USERNAME, GITHUB_AUTHENTICATION_TOKEN)")
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
			return errcode.New(errcode.PermissionDenied, "GitHub: HTTP %d listing the repository's secrets", resp.StatusCode)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return errcode.New(errcode.Unavailable, "GitHub: HTTP %d", resp.StatusCode)
		case resp.StatusCode != http.StatusOK:
			return errcode.New(errcode.Internal, "GitHub: HTTP %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return errcode.New(errcode.Internal, "GitHub answered with unexpected JSON")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var items []legacy.Item
	for _, sec := range body.Secrets {
		name, ok := strings.CutPrefix(sec.Name, Prefix)
		if !ok || name == "" {
			continue
		}
		items = append(items, legacy.Item{Name: name, Location: sec.Name, Status: legacy.NotMigratable, Reason: Reason})
	}
	legacy.SortItems(items)
	return items, nil
}

// Read implements legacy.Source: always failed_precondition.
func (s *Source) Read(context.Context, string) (*legacy.Entry, error) {
	return nil, errcode.New(errcode.FailedPrecondition, Reason)
}

// Delete implements legacy.Source: always failed_precondition, since a
// GitHub entry is never migrated.
func (s *Source) Delete(context.Context, string) error {
	return errcode.New(errcode.FailedPrecondition, Reason)
}
