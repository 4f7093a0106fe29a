package dashboard_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHistoryInBrowser walks a secret's history: the versions with who,
// how and which keys changed; an old version's values, masked until
// revealed (and fetched only then); a rollback whose confirmation meets a
// concurrent change (412, the reload message) and then succeeds; a delete
// that says until when it can be restored, and a restore from the Deleted
// page whose name was taken meanwhile (409, a new name); and the admin's
// audit log, filtered in the URL and paged by the API's page token. The tab
// fails the test on a CSP violation, an exception or a console error.
func TestHistoryInBrowser(t *testing.T) {
	browser := newBrowser(t)
	srv := startServer(t)
	sec := srv.create(t, srv.admin, "hist-db", false, map[string]string{"password": "hist-old-value", "user": userValue})
	status, _ := srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+sec.ID,
		map[string]any{"values": map[string]any{"password": "hist-new-value", "user": nil, "extra": "x"}}, `"1"`, nil)
	require.Equal(t, http.StatusOK, status)

	admin := newTab(t, browser, "admin", srv.URL, 1280, 900)
	admin.signIn(srv.admin, "admin", "admin")
	admin.open("/secret?id=" + sec.ID + "&name=hist-db")
	admin.waitPage("detailPage")
	admin.waitFor("two versions", `document.querySelectorAll('#versions tbody tr[data-version]').length === 2`)
	require.NotContains(t, evalJS[string](admin, `document.getElementById('versions').textContent`), "null", "no stray null from an absent child")
	rows := evalJS[[][]string](admin, `[...document.querySelectorAll('#versions tbody tr[data-version]')].map((tr) =>
		[tr.dataset.version, tr.querySelector('.principal').textContent, tr.querySelector('.operation').textContent, tr.querySelector('.changes').textContent])`)
	require.Equal(t, "2", rows[0][0])
	require.Equal(t, "admin", rows[0][1])
	require.Contains(t, rows[0][3], "added extra")
	require.Contains(t, rows[0][3], "changed password")
	require.Contains(t, rows[0][3], "removed user")
	require.Equal(t, []string{"1", "admin", "create"}, rows[1][:3])
	require.False(t, evalJS[bool](admin, `!!document.querySelector('#versions tr[data-version="2"] .rollback')`), "no rollback to the current version")

	// An old version's values: masked, then revealed, then masked again.
	admin.click(`#versions tr[data-version="1"] .view-version`)
	admin.waitFor("version 1's keys, masked", `[...document.querySelectorAll('#version-values-1 .value')].every((c) => c.classList.contains('masked')) &&
		[...document.querySelectorAll('#version-values-1 [data-key]')].map((d) => d.dataset.key).join() === 'password,user'`)
	admin.click(`[data-version-detail="1"] .reveal-version`)
	admin.waitFor("version 1's old value", fmt.Sprintf(`document.querySelector('#version-values-1 [data-key=password] .value').textContent === %s`, js("hist-old-value")))
	admin.click(`[data-version-detail="1"] .reveal-version`)
	admin.waitFor("masked again", `document.querySelector('#version-values-1 [data-key=password] .value').classList.contains('masked')`)

	// Someone saves meanwhile: the rollback meets 412 and offers a reload.
	status, _ = srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+sec.ID, map[string]any{"values": map[string]any{"extra": "y"}}, `"2"`, nil)
	require.Equal(t, http.StatusOK, status)
	admin.click(`#versions tr[data-version="1"] .rollback`)
	admin.waitFor("the confirmation", `document.activeElement?.classList.contains('confirm-rollback')`)
	admin.click(`#versions tr[data-version="1"] .confirm-rollback`)
	admin.waitContains(`#versions tr[data-version="1"] .rollback-error`, "This secret changed since you loaded it")
	require.NotContains(t, evalJS[string](admin, `document.querySelector('#versions tr[data-version="1"]').textContent`), "null")
	admin.click(`#versions tr[data-version="1"] .reload-rollback`)
	admin.waitPage("detailPage")
	admin.waitText("#meta-version", "3")
	admin.waitFor("three versions", `document.querySelectorAll('#versions tbody tr[data-version]').length === 3`)
	admin.click(`#versions tr[data-version="1"] .rollback`)
	admin.waitFor("the confirmation", `!!document.querySelector('#versions tr[data-version="1"] .confirm-rollback')`)
	admin.click(`#versions tr[data-version="1"] .confirm-rollback`)
	admin.waitText("#meta-version", "4")

	var got secretBody
	status, _ = srv.call(t, srv.admin, http.MethodGet, "/api/v1/secrets/"+sec.ID, nil, "", &got)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(4), got.Version)
	require.ElementsMatch(t, []string{"password", "user"}, got.Keys)
	require.True(t, got.Values["password"] == "hist-old-value", "the rollback restores version 1's values")
	// A toast (shown here for good, not for its 5 s) covers no button of the page.
	require.True(t, evalJS[bool](admin, `(() => {
		const el = document.getElementById('toast');
		el.textContent = 'Rolled back to version 1: saved as version 4.';
		el.className = 'toast show';
		const t = el.getBoundingClientRect();
		return t.height > 0 && [...document.querySelectorAll('main button')].every((b) => { const r = b.getBoundingClientRect();
			return r.bottom <= t.top || r.top >= t.bottom || r.right <= t.left || r.left >= t.right; });
	})()`), "the toast covers a button of the page")

	// Renamed and made private (versions 5 and 6): the history says so, the
	// id alone (or with the old name) still finds the page, and a rollback
	// to version 4 says it renames the secret back and makes it public.
	status, _ = srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+sec.ID, map[string]any{"name": "hist-db-renamed"}, `"4"`, nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = srv.call(t, srv.admin, http.MethodPatch, "/api/v1/secrets/"+sec.ID, map[string]any{"private": true}, `"5"`, nil)
	require.Equal(t, http.StatusOK, status)
	for _, link := range []string{"/secret?id=" + sec.ID, "/secret?id=" + sec.ID + "&name=hist-db"} {
		admin.open(link)
		admin.waitPage("detailPage")
		admin.waitText("#secret-name", "hist-db-renamed")
	}
	admin.waitFor("the name in the URL again", `new URLSearchParams(location.search).get('name') === 'hist-db-renamed'`)
	admin.waitFor("six versions", `document.querySelectorAll('#versions tbody tr[data-version]').length === 6`)
	require.Equal(t, "renamed from hist-db", evalJS[string](admin, `document.querySelector('#versions tr[data-version="5"] .changes').textContent`))
	require.Equal(t, "made private", evalJS[string](admin, `document.querySelector('#versions tr[data-version="6"] .changes').textContent`))
	admin.click(`#versions tr[data-version="4"] .rollback`)
	admin.waitContains(`#versions tr[data-version="4"] .rollback-note`, "Rolls back to version 4: renames it to hist-db and makes it public.")
	// The name is another secret's now: the error is on the row, in words.
	blocker := srv.create(t, srv.admin, "hist-db", false, map[string]string{"k": "v"})
	admin.click(`#versions tr[data-version="4"] .confirm-rollback`)
	admin.waitContains(`#versions tr[data-version="4"] .rollback-error`, "Version 4 was named hist-db, which another secret has now")
	status, _ = srv.call(t, srv.admin, http.MethodDelete, "/api/v1/secrets/"+blocker.ID+"?purge=true", nil, `"1"`, nil)
	require.Equal(t, http.StatusNoContent, status)
	admin.click(`#versions tr[data-version="4"] .rollback`)
	admin.click(`#versions tr[data-version="4"] .confirm-rollback`)
	admin.waitText("#meta-version", "7")
	admin.waitText("#secret-name", "hist-db")

	// Delete: the message says until when it can be restored.
	admin.typeInto("#confirm-name", "hist-db")
	admin.click("#delete")
	admin.waitPage("listPage")
	admin.waitContains("#toast", "Deleted hist-db. It can be restored until")
	admin.waitContains("#toast", "on the Deleted page")
	// The toast stays with its page.
	admin.click("#nav-secrets")
	admin.waitFor("no toast on the next page", `document.getElementById('toast').textContent === ''`)

	// Its name is taken meanwhile: restoring asks for a new one.
	srv.create(t, srv.admin, "hist-db", false, map[string]string{"k": "v"})
	admin.click("#nav-deleted")
	admin.waitPage("deletedPage")
	require.Equal(t, "page", evalJS[string](admin, `document.getElementById('nav-deleted').getAttribute('aria-current')`))
	admin.waitFor("the deleted secret", fmt.Sprintf(`!!document.querySelector('#deleted tr[data-id=%q] .purge-after time')`, sec.ID))
	admin.click(fmt.Sprintf(`#deleted tr[data-id=%q] .restore`, sec.ID))
	admin.waitFor("the name prompt", fmt.Sprintf(`document.activeElement?.id === %s`, js("restore-name-"+sec.ID)))
	admin.typeInto("#restore-name-"+sec.ID, "hist-db-restored")
	admin.click(fmt.Sprintf(`#deleted tr[data-id=%q] .restore-name button[type=submit]`, sec.ID))
	admin.waitPage("detailPage")
	admin.waitText("#secret-name", "hist-db-restored")
	admin.open("/deleted")
	admin.waitPage("deletedPage")
	admin.waitContains("#no-deleted", "No deleted secrets")

	// The audit log: filters in the URL, pages by the API's page token.
	for i := range 30 {
		srv.create(t, srv.admin, fmt.Sprintf("audit-%02d", i), false, map[string]string{"k": "v"})
	}
	admin.click("#nav-audit")
	admin.waitPage("auditPage")
	// The operation is picked from a list with readable labels.
	require.Equal(t, "Mint a token (create_token)", evalJS[string](admin, `document.querySelector('#audit-operation option[value=create_token]').textContent`))
	evalJS[string](admin, `document.getElementById('audit-operation').value = 'create'`)
	admin.click("#audit-apply")
	admin.waitFor("a first page of creates", `location.search === '?operation=create' && document.getElementById('next-page')?.disabled === false &&
		document.querySelectorAll('#audit tbody tr').length === 25 &&
		[...document.querySelectorAll('#audit tbody tr')].every((tr) => tr.dataset.operation === 'create')`)
	first := evalJS[[]string](admin, `[...document.querySelectorAll('#audit tbody tr')].map((tr) => tr.dataset.seq)`)
	admin.click("#next-page")
	admin.waitFor("the second page", `location.search.includes('page=') && document.getElementById('prev-page')?.disabled === false &&
		!!document.querySelector('main[data-page=auditPage]:not([aria-busy])') && document.querySelectorAll('#audit tbody tr').length > 0`)
	second := evalJS[[]string](admin, `[...document.querySelectorAll('#audit tbody tr')].map((tr) => tr.dataset.seq)`)
	require.Empty(t, intersect(first, second), "pages do not overlap")
	require.True(t, evalJS[bool](admin, `[...document.querySelectorAll('#audit tbody tr')].every((tr) => tr.dataset.operation === 'create')`))
	require.Equal(t, "create", evalJS[string](admin, `document.getElementById('audit-operation').value`), "the filter stays on the next page")
	admin.click("#prev-page")
	admin.waitFor("the first page again", `location.search === '?operation=create' && document.querySelectorAll('#audit tbody tr').length === 25`)
	require.Equal(t, first, evalJS[[]string](admin, `[...document.querySelectorAll('#audit tbody tr')].map((tr) => tr.dataset.seq)`))
	seqs := func() []int {
		return evalJS[[]int](admin, `[...document.querySelectorAll('#audit tbody tr')].map((tr) => Number(tr.dataset.seq))`)
	}
	require.True(t, slices.IsSortedFunc(seqs(), func(a, b int) int { return b - a }), "newest first: %v", seqs())
	// Oldest first, kept in the URL.
	evalJS[string](admin, `document.getElementById('audit-order').value = 'oldest'`)
	admin.click("#audit-apply")
	admin.waitFor("the oldest creates first", `location.search === '?operation=create&order=oldest' && !!document.querySelector('main[data-page=auditPage]:not([aria-busy])') &&
		document.querySelectorAll('#audit tbody tr').length === 25`)
	require.True(t, slices.IsSorted(seqs()), "oldest first: %v", seqs())
	newestLast, err := strconv.Atoi(first[len(first)-1])
	require.NoError(t, err)
	require.Less(t, seqs()[0], newestLast, "the oldest creates come before the newest page's")

	admin.open("/audit?secret=" + sec.ID)
	admin.waitPage("auditPage")
	admin.waitFor("the secret's records", `document.querySelectorAll('#audit tbody tr').length > 0`)
	ops := evalJS[[]string](admin, `[...document.querySelectorAll('#audit tbody tr')].map((tr) => tr.dataset.operation)`)
	require.Contains(t, ops, "rollback")
	require.Equal(t, sec.ID, evalJS[string](admin, `document.getElementById('audit-secret').value`))
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
