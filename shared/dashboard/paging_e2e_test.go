package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestDeletedPagesInBrowser pages through more deleted secrets than fit on
// one page: Next and Previous use the API's page tokens, the URL holds the
// page shown, and a reload shows the same page with Previous still working.
func TestDeletedPagesInBrowser(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t)
	const n = 30 // the dashboard shows 25 a page
	var want []string
	for i := range n {
		name := fmt.Sprintf("gone-%02d", i)
		s := srv.create(t, srv.admin, name, false, map[string]string{"k": "v"})
		status, _ := srv.call(t, srv.admin, http.MethodDelete, "/api/v1/secrets/"+s.ID, nil, `"1"`, nil)
		require.Equal(t, http.StatusOK, status, "delete %s into the recovery window", name)
		want = append(want, name)
	}

	admin := newTab(t, browser, "admin", srv.URL, 1280, 900)
	admin.signIn(srv.admin, "admin", "admin")
	admin.click("#nav-deleted")
	admin.waitPage("deletedPage")
	rowsJS := `[...document.querySelectorAll('#deleted tbody tr')].map((tr) => tr.dataset.name)`
	admin.waitFor("a first page", `document.querySelectorAll('#deleted tbody tr').length === 25`)
	require.True(t, evalJS[bool](admin, `document.getElementById('prev-page').disabled`), "no page before the first")
	first := evalJS[[]string](admin, rowsJS)

	admin.click("#next-page")
	admin.waitFor("the second page", fmt.Sprintf(`location.search.includes('page=') && !!document.querySelector('main[data-page=deletedPage]:not([aria-busy])') &&
		document.querySelector('#deleted tbody tr')?.dataset.name !== %s`, js(first[0])))
	second := evalJS[[]string](admin, rowsJS)
	require.Len(t, second, n-25)
	require.True(t, evalJS[bool](admin, `document.getElementById('next-page').disabled`), "the second page is the last")
	require.Empty(t, intersect(first, second), "pages do not overlap")
	got := slices.Concat(first, second)
	slices.Sort(got)
	require.Equal(t, want, got, "every deleted secret once")
	admin.waitText("#page-status", fmt.Sprintf("%d deleted secrets on this page", n-25))

	// The URL holds the page: a reload shows it again, and Previous still
	// goes back one page.
	page2 := evalJS[string](admin, `location.pathname + location.search`)
	admin.do(chromedp.Reload())
	admin.waitPage("deletedPage")
	admin.waitFor("the second page again", `document.querySelectorAll('#deleted tbody tr').length > 0`)
	require.Equal(t, page2, evalJS[string](admin, `location.pathname + location.search`))
	require.Equal(t, second, evalJS[[]string](admin, rowsJS))
	admin.click("#prev-page")
	admin.waitFor("the first page again", `location.search === '' && document.querySelectorAll('#deleted tbody tr').length === 25`)
	require.Equal(t, first, evalJS[[]string](admin, rowsJS))

	// A shared link to the second page shows it in a tab of its own.
	other := newTab(t, browser, "admin (shared link)", srv.URL, 1280, 900)
	other.signIn(srv.admin, "admin", "admin")
	other.open(page2)
	other.waitPage("deletedPage")
	other.waitFor("the shared page", `document.querySelectorAll('#deleted tbody tr').length > 0`)
	require.Equal(t, second, evalJS[[]string](other, rowsJS))

	// An out-of-date or edited link says so in words, with the way back.
	other.open("/deleted?page=not-a-token")
	other.waitPage("deletedPage")
	other.waitContains("#deleted-load-error", "the link is out of date or was edited")
	other.click("#deleted-load-error a")
	other.waitFor("the first page", `location.search === '' && document.querySelectorAll('#deleted tbody tr').length === 25`)
}

// TestAuditTimeRangeInBrowser filters the audit log by Since and Until, in
// a browser whose time zone is not UTC: the range is sent to the API in
// UTC, kept in the URL, shown again after a reload, and records outside it
// are left out. A range that ends before it starts is refused on its field.
func TestAuditTimeRangeInBrowser(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t)

	// Three creates, each in a second of its own, so that a one-second
	// range holds the middle one only.
	var names []string
	var times []time.Time
	for _, name := range []string{"range-before", "range-inside", "range-after"} {
		if len(times) > 0 {
			last := times[len(times)-1].Truncate(time.Second)
			for !time.Now().Truncate(time.Second).After(last) {
				time.Sleep(10 * time.Millisecond) // until the clock reaches the next second
			}
		}
		srv.create(t, srv.admin, name, false, map[string]string{"k": "v"})
		var page struct {
			Items []struct {
				Time time.Time `json:"time"`
			} `json:"items"`
		}
		status, _ := srv.call(t, srv.admin, http.MethodGet, "/api/v1/audit?"+url.Values{"operation": {"create"}, "secret": {name}}.Encode(), nil, "", &page)
		require.Equal(t, http.StatusOK, status)
		require.NotEmpty(t, page.Items, "the create of %s is audited", name)
		names = append(names, name)
		times = append(times, page.Items[len(page.Items)-1].Time)
	}
	since := times[1].Truncate(time.Second).UTC()
	until := since.Add(time.Second)
	require.True(t, times[0].Before(since) && !times[2].Before(until), "the outer creates fall outside the range")

	admin := newTab(t, browser, "admin", srv.URL, 1280, 900)
	_, err := chromedp.Call(admin.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"})
	require.NoError(t, err)
	kolkata := time.FixedZone("IST", 5*3600+30*60) // no daylight saving time
	admin.signIn(srv.admin, "admin", "admin")
	admin.click("#nav-audit")
	admin.waitPage("auditPage")
	admin.waitFor("records", `document.querySelectorAll('#audit tbody tr').length > 0`)

	// The time fields are labelled and reachable with the keyboard.
	for _, id := range []string{"audit-since", "audit-until"} {
		require.True(t, evalJS[bool](admin, fmt.Sprintf(`(() => { const i = document.getElementById(%q);
			return i.tabIndex >= 0 && !i.disabled && i.labels.length === 1 && i.labels[0].textContent.length > 0 })()`, id)), id)
	}
	require.Equal(t, []string{"Since", "Until"}, evalJS[[]string](admin, `['audit-since', 'audit-until'].map((id) => document.getElementById(id).labels[0].textContent)`))
	// Operation is a select (clicking would open its list): focus it.
	evalJS[bool](admin, `(document.getElementById('audit-operation').focus(), true)`)
	admin.do(chromedp.KeyEvent("\t"))
	require.Equal(t, "audit-since", evalJS[string](admin, `document.activeElement.id`), "Tab moves from Operation to Since")

	// Until before Since: refused on the Until field, nothing sent.
	setTime := func(id string, tm time.Time) {
		evalJS[bool](admin, fmt.Sprintf(`(document.getElementById(%q).value = %s, true)`, id, js(tm.In(kolkata).Format("2006-01-02T15:04:05"))))
	}
	setTime("audit-since", until)
	setTime("audit-until", since)
	admin.click("#audit-apply")
	admin.waitText("#audit-until-error", "Until must be later than Since.")
	require.Equal(t, "true", evalJS[string](admin, `document.getElementById('audit-until').getAttribute('aria-invalid')`))
	require.Equal(t, "", evalJS[string](admin, `location.search`), "an invalid range is not applied")

	// The range around the middle create, in Kolkata's local time.
	admin.typeInto("#audit-operation", "create")
	setTime("audit-since", since)
	setTime("audit-until", until)
	admin.click("#audit-apply")
	wantSearch := "?" + url.Values{"operation": {"create"}, "since": {since.Format(time.RFC3339)}, "until": {until.Format(time.RFC3339)}}.Encode()
	admin.waitFor("the filtered records", fmt.Sprintf(`location.search === %s && !!document.querySelector('main[data-page=auditPage]:not([aria-busy])') &&
		document.querySelectorAll('#audit tbody tr').length > 0`, js(wantSearch)))
	secretsShown := `[...new Set([...document.querySelectorAll('#audit tbody tr .secret')].map((td) => td.textContent))]`
	require.Equal(t, []string{names[1]}, evalJS[[]string](admin, secretsShown), "only the create inside the range (its intent and response records)")
	require.Empty(t, evalJS[string](admin, `document.getElementById('audit-until-error').textContent`))

	// A reload keeps the range, shown in local time.
	admin.do(chromedp.Reload())
	admin.waitPage("auditPage")
	admin.waitFor("the filtered records again", `document.querySelectorAll('#audit tbody tr').length > 0`)
	require.Equal(t, []string{names[1]}, evalJS[[]string](admin, secretsShown))
	require.Equal(t, since.In(kolkata).Format("2006-01-02T15:04:05"), evalJS[string](admin, `document.getElementById('audit-since').value`))
	require.Equal(t, until.In(kolkata).Format("2006-01-02T15:04:05"), evalJS[string](admin, `document.getElementById('audit-until').value`))

	// A range with nothing in it says so; an edited link with a time that
	// is not one says which.
	admin.open("/audit?" + url.Values{"operation": {"create"}, "until": {times[0].Truncate(time.Second).Add(-time.Hour).UTC().Format(time.RFC3339)}}.Encode())
	admin.waitPage("auditPage")
	admin.waitText("#no-records", "No records match these filters.")
	admin.open("/audit?since=yesterday")
	admin.waitPage("auditPage")
	admin.waitContains("#audit-since-error", "is not a time")
	require.False(t, evalJS[bool](admin, `!!document.getElementById('audit')`), "nothing is read for a bad link")
}
