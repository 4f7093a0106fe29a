package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
)

// The browser tests drive Debian's chromium (headless) through the DevTools
// protocol against a real local server on loopback. They wait on DOM
// conditions only. Every tab records Content-Security-Policy violations,
// uncaught exceptions and console errors, and the test fails on any.

// chromiumPath finds the browser, or reports it missing (a failure in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LOCKWELL_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-headless-shell", "/usr/bin/chromium-browser"} {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, "chromium is not installed: apt-get install chromium (.ci/run does), or set LOCKWELL_CHROMIUM")
	return ""
}

// newBrowser starts one headless chromium for the test, with a fresh
// profile, and returns the context that tabs are opened under. The browser reaches loopback
// only: every other host goes to a proxy address where nothing listens.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions"),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	// The first context starts the browser; tabs get browser contexts of
	// their own under it.
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// pageHooks run in every document before the dashboard's scripts: they
// record CSP violations and fetches, and replace the clipboard with one the
// test can read (headless chromium has no system clipboard).
const pageHooks = `(() => {
  const lw = { csp: [], copied: [], fetches: [] };
  Object.defineProperty(window, '__lw', { value: lw });
  document.addEventListener('securitypolicyviolation', (e) =>
    lw.csp.push(e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));
  Object.defineProperty(navigator, 'clipboard', { configurable: true, value: {
    writeText: (t) => { lw.copied.push(String(t)); return Promise.resolve(); },
    readText: () => Promise.resolve(lw.copied.length ? lw.copied[lw.copied.length - 1] : ''),
  } });
  const realFetch = window.fetch.bind(window);
  window.fetch = (url, init) => {
    lw.fetches.push(((init && init.method) || 'GET') + ' ' + new URL(url, location.href).pathname);
    return realFetch(url, init);
  };
})();`

// tab is one browser tab in its own browser context (cookies and storage of
// its own), so two tabs are two users.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string
	seen *problems
}

// problems are what a tab's pages reported, each once.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(s string) {
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.list, s) {
		p.list = append(p.list, s)
	}
}

// in returns the tab reporting failures to t (a subtest).
func (tb *tab) in(t *testing.T) *tab {
	c := *tb
	c.t = t
	return &c
}

func newTab(t *testing.T, browser context.Context, name, base string, width, height int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, name: name, ctx: ctx, base: base, seen: &problems{}}
	require.NoError(t, chromedp.Listen(ctx, tb.observe))
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageHooks})
	require.NoError(t, err)
	tb.do(chromedp.EmulateViewport(width, height))
	t.Cleanup(tb.checkClean)
	return tb
}

// observe records what must never happen on a dashboard page. It runs in
// the tab's event loop: it only appends.
func (tb *tab) observe(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == "error" || ev.Type == "assert" {
			problem = "console." + string(ev.Type) + " called"
		}
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		// Failed API calls (401 before sign-in, the 412 path) are network
		// entries the dashboard handles, but a 5xx is a server failure;
		// anything else at error level, and every security entry (CSP), is
		// a failure.
		if e.Source == "security" || strings.Contains(e.Text, "Content Security Policy") ||
			(e.Level == "error" && e.Source != "network") ||
			(e.Source == "network" && strings.Contains(e.Text, "status of 5")) {
			problem = fmt.Sprintf("browser log (%s/%s): %s", e.Source, e.Level, e.Text)
		}
	}
	if problem != "" {
		tb.seen.add(problem)
	}
}

// checkClean fails the test on any recorded problem or CSP violation.
func (tb *tab) checkClean() {
	tb.t.Helper()
	if tb.ctx.Err() == nil {
		csp, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`window.__lw ? window.__lw.csp : []`))
		if err == nil {
			for _, v := range csp {
				tb.seen.add("CSP violation: " + v)
			}
		}
	}
	tb.seen.mu.Lock()
	defer tb.seen.mu.Unlock()
	require.Empty(tb.t, tb.seen.list, "%s: the page reported problems", tb.name)
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	require.NoError(tb.t, chromedp.Do(tb.ctx, steps...), tb.name)
}

// open navigates to a dashboard path.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + path))
}

// waitFor waits until the JavaScript expression is truthy; what says what
// it waits for in the failure message.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(tb.t, err, "%s: waiting for %s", tb.name, what)
}

// waitPage waits until the dashboard has rendered page (its render
// function's name) and finished loading it.
func (tb *tab) waitPage(page string) {
	tb.t.Helper()
	tb.waitFor("page "+page, fmt.Sprintf(`!!document.querySelector('main[data-page=%q]:not([aria-busy])')`, page))
}

// waitText waits until the element matching sel has exactly text.
func (tb *tab) waitText(sel, text string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("%s to read %q", sel, text), fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? '').trim() === %s`, js(sel), js(text)))
}

// waitContains waits until the element matching sel contains text.
func (tb *tab) waitContains(sel, text string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("%s to contain %q", sel, text), fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? '').includes(%s)`, js(sel), js(text)))
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)))
}

// typeInto replaces the input's value by typing text (real key events).
func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	evalJS[bool](tb, fmt.Sprintf(`(document.querySelector(%s).value = '', true)`, js(sel)))
	tb.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

func evalJS[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(tb.t, err, "%s: evaluate", tb.name)
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn signs in on the sign-in page with token.
func (tb *tab) signIn(token, user, role string) {
	tb.t.Helper()
	tb.open("/")
	tb.waitPage("signInPage")
	tb.typeInto("#token", token)
	tb.click("#sign-in button[type=submit]")
	tb.waitText("#who-user", user)
	tb.waitText("#who-role", role)
}

// cookies returns the tab's cookies for the server.
func (tb *tab) cookies() []*network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.base + "/api/v1/whoami"}})
	require.NoError(tb.t, err)
	return res.Cookies
}

// setColorScheme emulates prefers-color-scheme.
func (tb *tab) setColorScheme(scheme string) {
	tb.t.Helper()
	_, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	require.NoError(tb.t, err)
}

// screenshot writes the viewport to dir/name.png.
func (tb *tab) screenshot(dir, name string) {
	tb.t.Helper()
	// Settle fonts and layout before capturing.
	tb.waitFor("fonts", `document.fonts.status === 'loaded'`)
	png, err := chromedp.Run(tb.ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
		return res.Data, err
	})
	require.NoError(tb.t, err)
	require.NoError(tb.t, os.WriteFile(dir+"/"+name+".png", png, 0o644))
}
