package dashboard_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// ScreenshotsDirVar names the directory the screenshot test writes PNGs to
// (`make screenshots` sets it to shared/dashboard/screenshots); without it
// they go to a temporary directory and the checks still run.
const ScreenshotsDirVar = "LOCKWELL_SCREENSHOTS"

// contrastJS lists visible text whose contrast against its background is
// below WCAG 2.2 AA: 4.5:1, or 3:1 for large text. Disabled controls are
// exempt, as WCAG exempts inactive components.
const contrastJS = `(() => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bgOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || el.closest('[hidden], .visually-hidden, .toast, button:disabled, .skip, option')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const cs = getComputedStyle(el);
    const fg = parse(cs.color), bg = bgOf(el);
    if (!fg) continue;
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(el.tagName + '.' + el.className + ' "' + text.slice(0, 24) + '" ' + ratio.toFixed(2) + ':1');
  }
  return bad;
})()`

// controlsJS marks every visible control a keyboard user must reach (links,
// buttons, fields, a <details>' summary; disabled ones and tabindex="-1" aside; of a radio group
// the checked one, the one Tab stops on) with data-kb="N" and returns the
// ones without an accessible name (aria-labelledby, aria-label, a <label>,
// or a link's or button's text), as tag#id.class.
const controlsJS = `(() => {
  // checkVisibility also sees the inside of a closed <details> as hidden.
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && e.checkVisibility({ visibilityProperty: true }); };
  const field = (e) => ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName);
  const name = (e) => {
    const by = e.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
    return (e.getAttribute('aria-label') || [...(e.labels ?? [])].map((l) => l.textContent).join(' ') ||
      (field(e) ? '' : e.textContent) || '').trim();
  };
  document.querySelectorAll('[data-kb]').forEach((e) => e.removeAttribute('data-kb'));
  const controls = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')]
    .filter((e) => e.type !== 'hidden' && !e.disabled && e.getAttribute('tabindex') !== '-1' && visible(e))
    .filter((e) => e.type !== 'radio' || e.checked);
  controls.forEach((e, i) => (e.dataset.kb = String(i)));
  return controls.filter((e) => !name(e)).map((e) => e.tagName + '#' + e.id + '.' + e.className);
})()`

// keyboardMisses marks the page's controls (controlsJS), presses Tab from
// the top of the page until focus comes back round, and returns the
// controls Tab never reached.
func (tb *tab) keyboardMisses() []string {
	tb.t.Helper()
	require.Empty(tb.t, evalJS[[]string](tb, controlsJS), "%s: controls without an accessible name", tb.name)
	// Tab stops in each part of a date or time field (day, month, year,
	// hours, minutes, seconds, AM/PM), so such a field takes several Tabs.
	n := evalJS[int](tb, `document.querySelectorAll('[data-kb]').length + 7 * document.querySelectorAll('input[data-kb][type^=date], input[data-kb][type=time]').length`)
	evalJS[bool](tb, `(document.activeElement?.blur(), window.scrollTo(0, 0), true)`)
	reached := map[string]bool{}
	last := ""
	for range n + 5 {
		tb.do(chromedp.KeyEvent(kb.Tab))
		k := evalJS[string](tb, `document.activeElement?.dataset?.kb ?? ''`)
		if k == "" || k == last {
			last = k
			continue // the browser's own UI past the end of the page, or the next part of a date field
		}
		if reached[k] {
			break // round again
		}
		reached[k], last = true, k
	}
	missed := evalJS[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll('[data-kb]')].filter((e) => !%s.includes(e.dataset.kb))
		.map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + (e.getAttribute('aria-label') || e.textContent).trim().slice(0, 30))`, js(keys(reached))))
	evalJS[bool](tb, `(document.activeElement?.blur(), window.scrollTo(0, 0), true)`) // leave the page as it was
	return missed
}

func keys(m map[string]bool) string {
	b, _ := json.Marshal(slices.Collect(maps.Keys(m)))
	return string(b)
}

// TestDashboardScreenshots renders the main pages at 1280 and 360 pixels
// wide, in the light and the dark theme, writes each as a PNG, and checks
// on each that nothing overflows the width, that text meets WCAG AA
// contrast (computed from the page's computed styles), that every control
// has an accessible name and (once per width) that Tab reaches every
// control, and (through the tab) that no CSP violation or script error
// happened. It also walks the list page by keyboard.
func TestDashboardScreenshots(t *testing.T) {
	browser := newBrowser(t)
	dir := os.Getenv(ScreenshotsDirVar)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	srv := startServerWithJobs(t)

	var alice struct{ Token string }
	status, _ := srv.call(t, srv.admin, http.MethodPost, "/api/v1/tokens", map[string]string{"user": "alice", "role": "member"}, "", &alice)
	require.Equal(t, http.StatusCreated, status)
	var carol struct{ Token string }
	srv.call(t, srv.admin, http.MethodPost, "/api/v1/tokens", map[string]string{"user": "carol", "role": "admin"}, "", &carol)
	db := srv.create(t, srv.admin, "db-prod", true, map[string]string{"host": "db.internal", "port": "5432", "username": "app", "password": "example-only-Zq8"})
	srv.create(t, srv.admin, "billing-stripe", false, map[string]string{"secret_key": "sk_test_example", "webhook_secret": "whsec_example"})
	srv.create(t, srv.admin, "github-deploy", false, map[string]string{"token": "ghp_example"})
	srv.create(t, alice.Token, "analytics-segment", false, map[string]string{"write_key": "example"})
	srv.create(t, alice.Token, "mlflow-tracking", false, map[string]string{"uri": "https://mlflow.internal", "username": "ml", "password": "example"})
	srv.create(t, carol.Token, "s3-artifacts", false, map[string]string{"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "example"})
	srv.create(t, srv.admin, "slack-alerts", false, map[string]string{"webhook_url": "https://hooks.example/x"})
	// One more version of db-prod, so the list shows versions.
	srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+db.ID, map[string]any{"values": map[string]string{"sslmode": "require"}}, "", nil)
	detail := "/secret?" + url.Values{"id": {db.ID}, "name": {"db-prod"}}.Encode()
	// A deleted secret, so the Deleted page shows one to restore.
	old := srv.create(t, srv.admin, "legacy-ftp", false, map[string]string{"password": "example"})
	status, _ = srv.call(t, srv.admin, http.MethodDelete, "/api/v1/secrets/"+old.ID, nil, `"1"`, nil)
	require.Equal(t, http.StatusOK, status)

	for _, width := range []int64{1280, 360} {
		for _, scheme := range []string{"light", "dark"} {
			height := int64(820)
			if width == 360 {
				height = 780
			}
			name := fmt.Sprintf("%s-%d", scheme, width)
			t.Run(name, func(t *testing.T) {
				tb := newTab(t, browser, name, srv.URL, width, height)
				tb.setColorScheme(scheme)
				check := func(page string) {
					t.Helper()
					require.True(t, evalJS[bool](tb, `document.documentElement.scrollWidth <= window.innerWidth`),
						"%s at %dpx: the page is wider than the viewport", page, width)
					require.Empty(t, evalJS[[]string](tb, contrastJS), "%s at %dpx %s: text below WCAG AA contrast", page, width, scheme)
					require.Empty(t, evalJS[[]string](tb, controlsJS), "%s at %dpx %s: controls without an accessible name", page, width, scheme)
					if scheme == "light" { // the theme changes no order: walk each layout once
						require.Empty(t, tb.keyboardMisses(), "%s at %dpx: controls Tab does not reach", page, width)
					}
					tb.screenshot(dir, fmt.Sprintf("%s-%s-%d", page, scheme, width))
				}

				tb.open("/")
				tb.waitPage("signInPage")
				check("signin")

				// Sign in by keyboard: type the token and press Enter.
				tb.do(chromedp.SendKeys(chromedp.CSS("#token"), srv.admin+kb.Enter))
				tb.waitText("#who-user", "admin")
				tb.waitPage("listPage")
				tb.waitFor("rows", `document.querySelectorAll('#secrets tbody tr').length === 7`)
				check("list")

				tb.open("/new")
				tb.waitPage("createPage")
				tb.typeInto("#name", "payments-adyen")
				tb.typeInto("#rows .kv-row:nth-child(1) .key", "api_key")
				tb.typeInto("#rows .kv-row:nth-child(1) .value", "example-value")
				tb.click("#add-row")
				tb.typeInto("#rows .kv-row:nth-child(2) .key", "merchant_account")
				tb.typeInto("#rows .kv-row:nth-child(2) .value", "LockwellShop")
				tb.click("#rows .kv-row:nth-child(2) .reveal-toggle")
				tb.do(chromedp.Focus(chromedp.CSS("#name")))
				check("create")

				tb.open(detail)
				tb.waitPage("detailPage")
				tb.click(`tr[data-key="host"] .reveal`)
				tb.waitFor("the host", `document.querySelector('code.value[data-key="host"]').textContent === 'db.internal'`)
				tb.waitFor("the history", `document.querySelectorAll('#versions tbody tr[data-version]').length === 2`)
				check("detail")

				tb.open("/deleted")
				tb.waitPage("deletedPage")
				tb.waitFor("the deleted secret", `document.querySelectorAll('#deleted tbody tr').length === 1`)
				check("deleted")

				tb.open("/audit?operation=create")
				tb.waitPage("auditPage")
				tb.waitFor("audit records", `document.querySelectorAll('#audit tbody tr').length > 0`)
				check("audit")

				tb.open("/tokens")
				tb.waitPage("tokensPage")
				tb.waitFor("tokens", `document.querySelectorAll('#tokens tbody tr').length === 3`)
				check("tokens")

				tb.open("/migrations")
				tb.waitPage("migrationsPage")
				tb.waitFor("jobs", `document.querySelectorAll('#jobs tbody tr').length === 2`)
				check("migrations")

				tb.open("/migration?job=0190b5a2-0000-7000-8000-000000000002")
				tb.waitPage("migrationPage")
				tb.waitFor("entries", `document.querySelectorAll('#entries tbody tr').length === 5`)
				check("migration")
			})
		}
	}

	t.Run("keyboard", func(t *testing.T) {
		tb := newTab(t, browser, "keyboard", srv.URL, 1280, 820)
		tb.open("/")
		tb.waitPage("signInPage")
		tb.do(chromedp.SendKeys(chromedp.CSS("#token"), srv.admin+kb.Enter))
		tb.waitPage("listPage")
		tb.waitFor("rows", `document.querySelectorAll('#secrets tbody tr').length === 7`)
		// Tab from the top of the page through the controls; each one that
		// takes focus must have an accessible name.
		evalJS[bool](tb, `(document.activeElement.blur(), window.scrollTo(0, 0), true)`)
		var reached []string
		for range 20 {
			tb.do(chromedp.KeyEvent(kb.Tab))
			focused := evalJS[map[string]string](tb, `(() => {
			  const e = document.activeElement;
			  const label = e.labels?.[0]?.textContent || e.getAttribute('aria-label') || e.textContent;
			  return { id: e.id, cls: e.className, tag: e.tagName, name: (label || '').trim() };
			})()`)
			require.NotEmpty(t, focused["name"], "a focusable %s (#%s) has no accessible name", focused["tag"], focused["id"])
			reached = append(reached, "#"+focused["id"]+"."+focused["cls"])
		}
		require.Contains(t, reached, "#search.", "the search box is reachable by Tab")
		require.Contains(t, reached, "#new-secret.button primary", "New secret is reachable by Tab")
		require.Contains(t, reached, "#.secret-name", "the secrets are reachable by Tab")
		// Enter on a focused secret link opens it.
		evalJS[bool](tb, `(document.querySelector('#secrets .secret-name').focus(), true)`)
		tb.do(chromedp.KeyEvent(kb.Enter))
		tb.waitPage("detailPage")
		tb.waitFor("focus moved to the page", `document.activeElement === document.getElementById('main')`)
	})
	t.Logf("screenshots in %s", filepath.Clean(dir))
}
