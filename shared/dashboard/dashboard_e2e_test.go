package dashboard_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// lockwell is a running local server and its admin token.
type lockwell struct {
	*servertest.Running
	admin string
	log   *servertest.Buffer
}

func startServer(t *testing.T) *lockwell {
	t.Helper()
	dir := t.TempDir()
	log := &servertest.Buffer{}
	r := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(log, nil))})
	return &lockwell{Running: r, admin: servertest.AdminToken(t, dir), log: log}
}

// call sends an API request with a bearer token and decodes the JSON answer
// into out (if not nil); it returns the status and the ETag.
func (l *lockwell) call(t *testing.T, token, method, path string, body any, ifMatch string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
	return res.StatusCode, res.Header.Get("ETag")
}

type secretBody struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Version int64             `json:"version"`
	Keys    []string          `json:"keys"`
	Private bool              `json:"private"`
	Values  map[string]string `json:"values"`
}

func (l *lockwell) create(t *testing.T, token, name string, private bool, values map[string]string) secretBody {
	t.Helper()
	var s secretBody
	status, _ := l.call(t, token, http.MethodPost, "/api/v1/secrets", map[string]any{"name": name, "private": private, "values": values}, "", &s)
	require.Equal(t, http.StatusCreated, status, "create %s", name)
	return s
}

// Fixture values: fake, but the test still compares them without printing.
const (
	pwValue     = "correct-horse-battery"
	apiKeyValue = "ak_live_5d1e0c2b"
	userValue   = "app"
)

// TestDashboardInBrowser walks the dashboard as its users would: an admin
// signs in, pages through 120 secrets, creates one with three keys (one
// from the form, two from a pasted block, after an API validation error
// shown on its field), searches, reveals and copies, edits with a stale
// version (the 412 path) and again, renames, changes visibility, mints a
// token for a member who cannot see the private secret, revokes it, deletes
// the secret and signs out. Every tab fails the test on a CSP violation,
// an uncaught exception or a console error.
func TestDashboardInBrowser(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t)
	for i := range 120 {
		srv.create(t, srv.admin, fmt.Sprintf("bulk-%03d", i), false, map[string]string{"k": "v"})
	}
	admin := newTab(t, browser, "admin", srv.URL, 1280, 900)

	t.Run("sign in", func(t *testing.T) {
		admin := admin.in(t)
		admin.open("/")
		admin.waitPage("signInPage")
		admin.typeInto("#token", "lw_not-a-real-token")
		admin.click("#sign-in button[type=submit]")
		admin.waitContains("#token-error", "not valid")
		require.Empty(t, admin.cookies(), "a refused token sets no cookie")

		admin.signIn(srv.admin, "admin", "admin")
		cookies := admin.cookies()
		require.Len(t, cookies, 1)
		c := cookies[0]
		require.Equal(t, "lockwell_session", c.Name)
		require.True(t, c.HTTPOnly, "HttpOnly")
		require.Equal(t, network.CookieSameSiteStrict, c.SameSite)
		require.Equal(t, "/api/", c.Path)
		require.False(t, c.Secure, "not Secure on loopback http")
		leaked := evalJS[bool](admin, fmt.Sprintf(`(JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie + location.href + document.documentElement.outerHTML).includes(%s)`, js(srv.admin)))
		require.False(t, leaked, "the token is in script-readable storage, the URL or the DOM")
		require.NotContains(t, srv.log.String(), srv.admin, "the token is in the server log")
		admin.waitFor("tokens link for admins", `!document.getElementById('nav-tokens').hidden`)
	})

	t.Run("page through 120 secrets", func(t *testing.T) {
		admin := admin.in(t)
		admin.open("/?q=bulk-&match=prefix")
		admin.waitPage("listPage")
		var seen []string
		for page := 1; ; page++ {
			admin.waitFor("rows", `document.querySelectorAll('#secrets tbody tr').length > 0`)
			names := evalJS[[]string](admin, `[...document.querySelectorAll('#secrets .secret-name')].map(a => a.textContent)`)
			require.NotEmpty(t, names)
			seen = append(seen, names...)
			if evalJS[bool](admin, `document.getElementById('next-page').disabled`) {
				break
			}
			require.Less(t, page, 10, "too many pages")
			first := names[0]
			admin.click("#next-page")
			admin.waitFor("the next page", fmt.Sprintf(`(document.querySelector('#secrets .secret-name')?.textContent ?? %s) !== %s && location.search.includes('page=')`, js(first), js(first)))
		}
		require.Len(t, seen, 120)
		for i, n := range seen {
			require.Equal(t, fmt.Sprintf("bulk-%03d", i), n, "sorted by name, each once")
		}
		// Previous goes back one page; the URL holds the view, so a reload
		// shows the same page.
		admin.click("#prev-page")
		admin.waitText("#secrets tbody tr:first-child .secret-name", "bulk-075")
		loc := evalJS[string](admin, `location.pathname + location.search`)
		require.Contains(t, loc, "page=")
		require.Contains(t, loc, "match=prefix")
		admin.open(loc)
		admin.waitPage("listPage")
		admin.waitText("#secrets tbody tr:first-child .secret-name", "bulk-075")
		require.Equal(t, "bulk-", evalJS[string](admin, `document.getElementById('search').value`))
		require.Equal(t, "prefix", evalJS[string](admin, `document.getElementById('match').value`))
	})

	var dbProd secretBody
	t.Run("create with three keys", func(t *testing.T) {
		admin := admin.in(t)
		admin.open("/")
		admin.waitPage("listPage")
		admin.click("#new-secret")
		admin.waitPage("createPage")
		admin.typeInto("#name", "db-prod")
		admin.click("#vis-private")
		// No key at all: refused on the row, nothing created.
		admin.click("#create-submit")
		admin.waitContains("#rows .kv-row:nth-child(1) .field-error", "A secret needs at least one key")
		var none struct{ Items []secretBody }
		status, _ := srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets?name=db-prod", nil, "", &none)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, none.Items, "a secret without keys was created")
		admin.typeInto("#rows .kv-row:nth-child(1) .key", "9user")
		admin.typeInto("#rows .kv-row:nth-child(1) .value", userValue)
		admin.click("#create-submit")
		// The API's validation message lands on the field it concerns.
		admin.waitContains("#rows .kv-row:nth-child(1) .field-error", "must start with a letter")
		require.Equal(t, "true", evalJS[string](admin, `document.querySelector('#rows .kv-row:nth-child(1) .key').getAttribute('aria-invalid')`))
		admin.typeInto("#rows .kv-row:nth-child(1) .key", "username")
		require.Equal(t, "password", evalJS[string](admin, `document.querySelector('#rows .kv-row .value').type`), "values are masked")

		admin.click("details.paste summary")
		admin.typeInto("#paste", "# pasted\nexport password=\""+pwValue+"\"\napi_key="+apiKeyValue+"\n")
		admin.click("#fill-rows")
		admin.waitFor("three rows", `document.querySelectorAll('#rows .kv-row').length === 3`)
		admin.click("#create-submit")
		admin.waitPage("detailPage")
		admin.waitText("#secret-name", "db-prod")
		require.Equal(t, 3, evalJS[int](admin, `document.querySelectorAll('#keys tbody tr').length`))

		var list struct{ Items []secretBody }
		status, _ = srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets?name=db-prod", nil, "", &list)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, list.Items, 1)
		dbProd = list.Items[0]
		require.True(t, dbProd.Private)
		require.ElementsMatch(t, []string{"username", "password", "api_key"}, dbProd.Keys)
		var got secretBody
		srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets/"+dbProd.ID, nil, "", &got)
		require.True(t, got.Values["username"] == userValue && got.Values["password"] == pwValue && got.Values["api_key"] == apiKeyValue, "stored values differ from the typed and pasted ones")
	})

	t.Run("search", func(t *testing.T) {
		admin := admin.in(t)
		admin.open("/")
		admin.waitPage("listPage")
		admin.typeInto("#search", "db-")
		admin.waitFor("the search in the URL", `new URLSearchParams(location.search).get('q') === 'db-'`)
		admin.waitFor("one result", `document.querySelectorAll('#secrets tbody tr').length === 1`)
		admin.waitText("#secrets .secret-name", "db-prod")
		require.Equal(t, "Private", evalJS[string](admin, `document.querySelector('#secrets .badge').textContent`))
		admin.typeInto("#search", "ulk-11")
		admin.waitFor("ten results", `new URLSearchParams(location.search).get('q') === 'ulk-11' && document.querySelectorAll('#secrets tbody tr').length === 10`)
		admin.typeInto("#search", "nothing-like-this")
		admin.waitFor("the empty result", `!!document.getElementById('empty')`)
	})

	detail := func() string { return "/secret?" + url.Values{"id": {dbProd.ID}, "name": {dbProd.Name}}.Encode() }

	t.Run("reveal and copy", func(t *testing.T) {
		admin := admin.in(t)
		admin.open(detail())
		admin.waitPage("detailPage")
		fetchedValues := fmt.Sprintf(`window.__lw.fetches.filter(f => f === 'GET /api/v1/secrets/%s').length`, dbProd.ID)
		require.Equal(t, 0, evalJS[int](admin, fetchedValues), "values are fetched only when revealed or copied")
		masked := `[...document.querySelectorAll('#keys code.value')].every(c => c.classList.contains('masked') && c.textContent === '••••••••')`
		require.True(t, evalJS[bool](admin, masked))

		admin.click(`tr[data-key="password"] .reveal`)
		admin.waitFor("the password", fmt.Sprintf(`document.querySelector('code.value[data-key="password"]').textContent === %s`, js(pwValue)))
		require.True(t, evalJS[bool](admin, `document.querySelector('code.value[data-key="api_key"]').classList.contains('masked')`), "only the revealed key shows")

		admin.click("#reveal-all")
		admin.waitFor("every value", fmt.Sprintf(`document.querySelector('code.value[data-key="api_key"]').textContent === %s && document.querySelector('code.value[data-key="username"]').textContent === %s`, js(apiKeyValue), js(userValue)))
		// Hiding the tab masks every value again.
		evalJS[bool](admin, `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' }); document.dispatchEvent(new Event('visibilitychange')); delete document.visibilityState; true`)
		admin.waitFor("masked after the tab is hidden", masked)

		before := evalJS[int](admin, fetchedValues)
		admin.click(`tr[data-key="api_key"] .copy-value`)
		admin.waitFor("the copied value", fmt.Sprintf(`window.__lw.copied.at(-1) === %s`, js(apiKeyValue)))
		require.True(t, evalJS[bool](admin, masked), "copying does not reveal")
		require.Equal(t, before+1, evalJS[int](admin, fetchedValues), "copying fetches the values once")
		admin.click(`tr[data-key="api_key"] .copy-ref`)
		admin.waitFor("the copied reference", `window.__lw.copied.at(-1) === '{{db-prod.api_key}}'`)
	})

	t.Run("re-masked after the delay", func(t *testing.T) {
		admin := admin.in(t)
		admin.open(detail())
		admin.waitPage("detailPage")
		admin.waitContains("#main .hint", "hidden again after 30 seconds")
		// The page reads its delay from <html data-remask-ms> at each reveal;
		// a short one keeps the test from waiting 30 s. A MutationObserver
		// timestamps what the value cell shows, so the order and the spacing
		// are checked however slowly the test polls on a busy machine.
		const delayMS = 1500
		evalJS[bool](admin, fmt.Sprintf(`(() => {
			document.documentElement.dataset.remaskMs = '%d';
			const cell = document.querySelector('code.value[data-key="password"]');
			const seen = window.__remask = [];
			new MutationObserver(() => seen.push([performance.now(), cell.classList.contains('masked')]))
				.observe(cell, { childList: true, characterData: true, subtree: true, attributes: true });
			return true;
		})()`, delayMS))
		admin.click(`tr[data-key="password"] .reveal`)
		admin.waitFor("the password shown, then masked again", `(() => {
			const i = window.__remask.findIndex(([, masked]) => !masked);
			return i >= 0 && window.__remask.slice(i).some(([, masked]) => masked);
		})()`)
		spacing := evalJS[float64](admin, `(() => {
			const seen = window.__remask;
			const shown = seen.find(([, masked]) => !masked)[0];
			const masked = seen.find(([t, m]) => m && t > shown)[0];
			return masked - shown;
		})()`)
		require.GreaterOrEqual(t, spacing, float64(delayMS-20), "masked by the timer, not before the delay")
		require.Equal(t, "Reveal", evalJS[string](admin, `document.querySelector('tr[data-key="password"] .reveal').textContent`))
		evalJS[bool](admin, `(delete document.documentElement.dataset.remaskMs, true)`)
	})

	t.Run("edit with a stale version, then again", func(t *testing.T) {
		admin := admin.in(t)
		admin.open(detail())
		admin.waitPage("detailPage")
		admin.waitText("#meta-version", "1")
		admin.click("#edit-keys")
		admin.typeInto("#newval-password", "first-try")
		// Someone else saves a new version meanwhile.
		status, _ := srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+dbProd.ID, map[string]any{"values": map[string]any{"note": "added elsewhere"}}, "", nil)
		require.Equal(t, http.StatusOK, status)
		admin.click("#save-keys")
		admin.waitContains("#edit-error", "changed since you loaded it")
		admin.click("#reload")
		admin.waitText("#meta-version", "2")
		require.Equal(t, 4, evalJS[int](admin, `document.querySelectorAll('#keys tbody tr').length`))

		admin.click("#edit-keys")
		admin.typeInto("#newval-password", "second-try")
		admin.click("#drop-note")
		admin.click("#edit-add-row")
		admin.typeInto("#new-rows .kv-row .key", "port")
		admin.typeInto("#new-rows .kv-row .value", "5432")
		admin.click("#save-keys")
		admin.waitText("#meta-version", "3")
		var got secretBody
		srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets/"+dbProd.ID, nil, "", &got)
		_, hasNote := got.Values["note"]
		require.True(t, got.Values["password"] == "second-try" && got.Values["api_key"] == apiKeyValue && got.Values["username"] == userValue && got.Values["port"] == "5432" && !hasNote,
			"the edit is a merge of the changes only")
	})

	t.Run("rename", func(t *testing.T) {
		admin := admin.in(t)
		admin.open(detail())
		admin.waitPage("detailPage")
		admin.typeInto("#rename", "db production")
		admin.click("#rename-form button[type=submit]")
		admin.waitContains("#rename-error", "not allowed")
		admin.typeInto("#rename", "db-production")
		admin.click("#rename-form button[type=submit]")
		admin.waitText("#secret-name", "db-production")
		admin.waitFor("the new name in the URL", `new URLSearchParams(location.search).get('name') === 'db-production'`)
		dbProd.Name = "db-production"
	})

	var bobToken, bobTokenID string
	t.Run("mint a token", func(t *testing.T) {
		admin := admin.in(t)
		admin.click("#nav-tokens")
		admin.waitPage("tokensPage")
		admin.typeInto("#token-user", "bob")
		admin.click("#mint")
		admin.waitFor("the one-time token", `(document.getElementById('minted-token')?.textContent ?? '').startsWith('lw_')`)
		bobToken = evalJS[string](admin, `document.getElementById('minted-token').textContent`)
		admin.click("#copy-minted")
		admin.waitFor("the copied token", fmt.Sprintf(`window.__lw.copied.at(-1) === %s`, js(bobToken)))
		admin.waitFor("bob in the list", `!!document.querySelector('#tokens tr[data-user="bob"]')`)
		bobTokenID = evalJS[string](admin, `document.querySelector('#tokens tr[data-user="bob"]').dataset.tokenId`)
		admin.click("#dismiss-minted")
		admin.waitFor("the token gone from the page", `!document.getElementById('minted-token')`)
	})

	bob := newTab(t, browser, "bob", srv.URL, 1280, 900)
	t.Run("a private secret is invisible to another user", func(t *testing.T) {
		admin := admin.in(t)
		bob := bob.in(t)
		bob.signIn(bobToken, "bob", "member")
		require.True(t, evalJS[bool](bob, `document.getElementById('nav-tokens').hidden`), "members see no tokens page")
		bob.open("/?q=db-")
		bob.waitPage("listPage")
		bob.waitFor("no match", `!!document.getElementById('empty')`)
		bob.open(detail())
		bob.waitPage("detailPage")
		bob.waitText("main h1", "Secret not found")

		// Made public by its owner, it shows.
		admin.open(detail())
		admin.waitPage("detailPage")
		admin.click("#toggle-visibility")
		admin.waitContains("#visibility-status", "Public")
		bob.open("/?q=db-")
		bob.waitPage("listPage")
		bob.waitText("#secrets .secret-name", "db-production")
		require.Equal(t, "admin", evalJS[string](bob, `document.querySelector('#secrets td[data-label="Owner"]').textContent`))

		// Only the owner may make it private again (the API refuses anyone
		// else, admins too): bob is not offered it.
		bob.open(detail())
		bob.waitPage("detailPage")
		bob.waitContains("#visibility-status", "only its owner, admin, can make it private")
		require.False(t, evalJS[bool](bob, `!!document.getElementById('toggle-visibility')`), "a member is offered to change another's visibility")
		admin.waitContains("#visibility-status", "only you can make it private")
		require.True(t, evalJS[bool](admin, `!!document.getElementById('toggle-visibility')`), "the owner is not offered to change visibility")
	})

	t.Run("revoke a token", func(t *testing.T) {
		admin := admin.in(t)
		bob := bob.in(t)
		admin.open("/tokens")
		admin.waitPage("tokensPage")
		admin.click(fmt.Sprintf(`#tokens tr[data-token-id=%q] .revoke`, bobTokenID))
		admin.click(fmt.Sprintf(`#tokens tr[data-token-id=%q] .confirm-revoke`, bobTokenID))
		admin.waitFor("bob's token gone", fmt.Sprintf(`!!document.getElementById('tokens') && !document.querySelector('#tokens tr[data-token-id=%q]')`, bobTokenID))
		// Bob's session ended with his token.
		bob.open("/")
		bob.waitPage("signInPage")

		// The admin's own token is marked; revoking it says what it does.
		admin.waitText("#tokens tr.this-session #this-session", "this session")
		require.Equal(t, "admin", evalJS[string](admin, `document.querySelector('#tokens tr.this-session').dataset.user`))
		admin.click("#tokens tr.this-session .revoke")
		admin.waitContains("#tokens tr.this-session .revoke-warning", "revoking it signs you out")
		admin.waitContains("#tokens tr.this-session .revoke-warning", "It is the last admin token")
		require.Equal(t, "Confirm: revoke and sign out", evalJS[string](admin, `document.querySelector('#tokens tr.this-session .confirm-revoke').textContent`))
		admin.click("#tokens tr.this-session .confirm-revoke + button")
		admin.waitFor("the revoke button back", `!!document.querySelector('#tokens tr.this-session .revoke')`)
	})

	t.Run("delete", func(t *testing.T) {
		admin := admin.in(t)
		admin.open(detail())
		admin.waitPage("detailPage")
		admin.typeInto("#confirm-name", "db-prod")
		require.True(t, evalJS[bool](admin, `document.getElementById('delete').disabled`), "delete stays disabled until the name is typed")
		admin.typeInto("#confirm-name", "db-production")
		admin.waitFor("delete enabled", `!document.getElementById('delete').disabled`)
		admin.click("#delete")
		admin.waitPage("listPage")
		admin.waitContains("#toast", "Deleted db-production")
		status, _ := srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets/"+dbProd.ID, nil, "", nil)
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("theme toggle", func(t *testing.T) {
		admin := admin.in(t)
		bg := `getComputedStyle(document.body).backgroundColor`
		light := evalJS[string](admin, bg)
		// System (light in the test's browser), then light, dark and the system again.
		require.Contains(t, evalJS[string](admin, `document.getElementById('theme').title`), "follows the system setting")
		admin.waitText("#theme", "◐ System")
		admin.click("#theme")
		admin.waitFor("light theme", `document.documentElement.dataset.theme === 'light'`)
		admin.waitText("#theme", "☀ Light")
		admin.click("#theme")
		admin.waitFor("dark theme", `document.documentElement.dataset.theme === 'dark'`)
		require.NotEqual(t, light, evalJS[string](admin, bg))
		require.Contains(t, evalJS[string](admin, `document.getElementById('theme').title`), "Theme: dark")
		admin.click("#theme")
		admin.waitFor("the system's theme", `!('theme' in document.documentElement.dataset) && localStorage.getItem('lockwell-theme') === null`)
		require.Equal(t, light, evalJS[string](admin, bg))
	})

	t.Run("paste parser", func(t *testing.T) {
		admin := admin.in(t)
		// paste.js runs in the page; each case is a block and the pairs (or
		// the error) it gives.
		admin.open("/")
		admin.waitFor("the page", `!!document.querySelector('main[data-page]')`)
		for _, tc := range []struct{ block, want string }{
			{"A=1\nexport B=\"two words\" # note\n# comment\nC='q'\nD=a#b", `[["A","1"],["B","two words"],["C","q"],["D","a#b"]]`},
			{"user: app\npassword: \"p: w\"\n---\n", `[["user","app"],["password","p: w"]]`},
			{`{"host": "db", "port": 5432, "tls": true, "empty": null}`, `[["host","db"],["port","5432"],["tls","true"],["empty",""]]`},
			{`{"nested": {"a": 1}}`, `"The value of nested is not text; nested objects are not secrets."`},
			{`{not json`, `"The block starts with { but is not valid JSON."`},
			{"A=1\n9bad", `"Line 2 is not KEY=value or key: value."`},
			{"  ", `"The block is empty."`},
		} {
			got := evalJS[string](admin, fmt.Sprintf(`import('/assets/paste.js').then(m => { const r = m.parseBlock(%s); return JSON.stringify(r.error ?? r.pairs); })`, js(tc.block)))
			require.JSONEq(t, tc.want, got, "block %q", tc.block)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		admin := admin.in(t)
		admin.click("#sign-out")
		admin.waitPage("signInPage")
		require.Empty(t, admin.cookies())
		admin.open("/")
		admin.waitPage("signInPage")
	})

	t.Run("revoke the token of this session", func(t *testing.T) {
		admin := admin.in(t)
		var minted struct{ Token string }
		status, _ := srv.call(t, srv.admin, http.MethodPost, "/api/v1/tokens", map[string]string{"user": "carol", "role": "admin"}, "", &minted)
		require.Equal(t, http.StatusCreated, status)
		admin.signIn(minted.Token, "carol", "admin")
		admin.open("/tokens")
		admin.waitPage("tokensPage")
		admin.waitFor("carol's token marked", `document.querySelector('#tokens tr.this-session')?.dataset.user === 'carol'`)
		require.Equal(t, 1, evalJS[int](admin, `document.querySelectorAll('#tokens .this-session').length`))
		admin.click("#tokens tr.this-session .revoke")
		admin.waitContains("#tokens tr.this-session .revoke-warning", "revoking it signs you out")
		require.NotContains(t, evalJS[string](admin, `document.querySelector('#tokens tr.this-session .revoke-warning').textContent`), "last admin token", "two admin tokens remain")
		admin.click("#tokens tr.this-session .confirm-revoke")
		admin.waitPage("signInPage")
		admin.waitContains("#toast", "you are signed out")
		require.Empty(t, admin.cookies())
		status, _ = srv.call(t, minted.Token, http.MethodGet, "/api/v1/whoami", nil, "", nil)
		require.Equal(t, http.StatusUnauthorized, status)
	})
	if bobToken != "" {
		require.False(t, strings.Contains(srv.log.String(), bobToken), "a minted token is in the server log")
	}
}
