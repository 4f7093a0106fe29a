// app.js: Lockwell's dashboard. A small router over eight pages (secrets
// list, new secret, secret detail with its history, deleted secrets, API
// tokens, the audit log, migration jobs and one job's
// entries) and a sign-in page. Every
// element is built with DOM calls (never innerHTML with data), so nothing
// the API returns can run as markup. Values are fetched only when the user
// reveals or copies one, kept only while revealed, and dropped after
// REMASK_MS or as soon as the tab is hidden.

import { api, ApiError, onUnauthenticated } from './api.js';
import { parseBlock } from './paste.js';

const REMASK_MS = 30_000;

// remaskDelay is how long a revealed value stays shown: REMASK_MS, unless
// the page's <html data-remask-ms="N"> says otherwise (the browser tests set
// it short so they need not wait 30 s; nothing in the product sets it).
// Read at each reveal.
function remaskDelay() {
  const n = Number(document.documentElement.dataset.remaskMs);
  return Number.isFinite(n) && n > 0 ? n : REMASK_MS;
}
const PAGE_SIZE = 25;
const MASK = '••••••••';

const main = document.getElementById('main');
// state: who is signed in (whoami), the id of the token the session cookie
// holds (undefined when the platform signs the caller in), and whether the
// first page is rendering.
const state = { me: null, tokenId: undefined, first: true };
let cleanups = [];

// ---------- DOM helpers ----------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// setChildren replaces el's children with kids, leaving out the null,
// undefined and false that conditional children give (replaceChildren
// would write them as text).
function setChildren(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

let toastTimer;
// toast shows message at the top of the window for 5 s. render() clears
// it, so a toast never outlives its page: code that shows a toast about a
// change and then navigates calls go() first and toast() after.
function toast(message, kind = 'ok') {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.className = 'toast';
    t.textContent = '';
  }, 5000);
}

function clearToast() {
  clearTimeout(toastTimer);
  const t = document.getElementById('toast');
  t.className = 'toast';
  t.textContent = '';
}

// about returns err with the secret's id in its message replaced by its
// name: the API's messages name secrets by id, a reader of the page knows
// them by name.
function about(meta, err) {
  if (!(err instanceof ApiError) || !err.message.includes(meta.id)) return err;
  return new ApiError(err.status, err.code, err.message.replaceAll(`secret ${meta.id}`, meta.name).replaceAll(meta.id, meta.name));
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
// secondsFormat is for the audit log, where many records share a minute.
const secondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
function when(iso, format = dateFormat) {
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toISOString() }, format.format(d));
}

function badge(isPrivate) {
  return h('span', { class: `badge ${isPrivate ? 'private' : 'public'}` }, isPrivate ? 'Private' : 'Public');
}

function go(url, { replace = false, state: st = null } = {}) {
  history[replace ? 'replaceState' : 'pushState'](st, '', url);
  render();
}

function detailURL(s) {
  return `/secret?${new URLSearchParams({ id: s.id, name: s.name })}`;
}

async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`Copied ${what}.`);
  } catch {
    toast('The browser did not allow copying to the clipboard.', 'error');
  }
}

// fieldError shows message under the control with id, or clears it.
function fieldError(id, message) {
  const input = document.getElementById(id);
  const out = document.getElementById(`${id}-error`);
  if (input) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  if (out) out.textContent = message ?? '';
}

function errorBox(id) {
  return h('div', { id, class: 'form-error', role: 'alert' });
}

// loadError says why a page of a list could not be loaded, with a link to
// its first page when the page token in the URL was the trouble (an old or
// edited link): the API's message names a query parameter a reader of the
// dashboard never typed.
function loadError(err, id, firstPageURL) {
  const badToken = err.code === 'invalid_argument' && /page_token/.test(err.message);
  return h('div', { class: 'form-error', role: 'alert', id },
    h('p', {}, badToken ? 'This page of results cannot be shown: the link is out of date or was edited.' : err.message),
    firstPageURL ? h('a', { href: firstPageURL, 'data-link': true }, 'Go to the first page') : null);
}

function showError(box, err, { reload } = {}) {
  box.replaceChildren();
  if (!err) return;
  if (err instanceof ApiError && err.code === 'failed_precondition') {
    box.append(
      h('p', {}, 'This secret changed since you loaded it (someone saved a newer version). Your change was not saved: reload to see the current version, then make it again.'),
      h('button', { type: 'button', id: 'reload', class: 'primary', onclick: reload ?? (() => render()) }, 'Reload'),
    );
  } else {
    box.append(h('p', {}, err.message));
  }
  box.focus?.();
}

// ---------- header, theme, boot ----------

function renderHeader() {
  const who = document.getElementById('who');
  const nav = document.getElementById('nav');
  who.replaceChildren();
  nav.hidden = !state.me;
  document.getElementById('nav-tokens').hidden = state.me?.role !== 'admin';
  document.getElementById('nav-migrations').hidden = state.me?.role !== 'admin';
  document.getElementById('nav-audit').hidden = state.me?.role !== 'admin';
  if (!state.me) return;
  who.append(
    h('span', { id: 'who-user', class: 'user' }, state.me.user),
    h('span', { id: 'who-role', class: 'role' }, state.me.role),
    h('button', { type: 'button', id: 'sign-out', class: 'ghost', onclick: signOut }, 'Sign out'),
  );
}

function markCurrentNav() {
  for (const a of document.querySelectorAll('#nav a')) {
    const href = a.getAttribute('href');
    const here = href === '/' ? ['/', '/new', '/secret'].includes(location.pathname)
      : href === '/migrations' ? ['/migrations', '/migration'].includes(location.pathname) : location.pathname === href;
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// THEMES is the theme button's cycle: follow the system setting, then
// light, then dark, then the system again.
const THEMES = [
  ['system', '◐ System', 'follows the system setting'],
  ['light', '☀ Light', 'light'],
  ['dark', '☾ Dark', 'dark'],
];

function initTheme() {
  const btn = document.getElementById('theme');
  const media = matchMedia('(prefers-color-scheme: dark)');
  const apply = () => {
    let chosen = localStorage.getItem('lockwell-theme');
    if (chosen !== 'light' && chosen !== 'dark') chosen = 'system';
    if (chosen === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = chosen;
    const i = THEMES.findIndex(([v]) => v === chosen);
    const [, label, says] = THEMES[i];
    const [, , nextSays] = THEMES[(i + 1) % THEMES.length];
    btn.textContent = label;
    btn.dataset.theme = chosen;
    const tip = `Theme: ${says}${chosen === 'system' ? ` (now ${media.matches ? 'dark' : 'light'})` : ''}. Click for ${nextSays}.`;
    btn.title = tip;
    btn.setAttribute('aria-label', tip);
  };
  btn.addEventListener('click', () => {
    const i = THEMES.findIndex(([v]) => v === btn.dataset.theme);
    const next = THEMES[(i + 1) % THEMES.length][0];
    if (next === 'system') localStorage.removeItem('lockwell-theme');
    else localStorage.setItem('lockwell-theme', next);
    apply();
  });
  media.addEventListener('change', apply);
  apply();
}

async function signOut() {
  try {
    await api.signOut();
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  state.me = null;
  state.tokenId = undefined;
  let message = ['Signed out.'];
  try {
    // Behind a platform identity (IAP, IAM) the platform still says who we are.
    state.me = (await api.whoami()).data;
    message = ['You are signed in by the platform; sign out there.', 'error'];
  } catch {
    // signed out
  }
  renderHeader();
  go('/', { replace: true });
  toast(...message);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', () => render());

onUnauthenticated(() => {
  if (!state.me) return;
  state.me = null;
  state.tokenId = undefined;
  renderHeader();
  render();
  toast('Your session has ended; sign in again.', 'error');
});

async function render() {
  clearToast();
  cleanups.forEach((fn) => fn());
  cleanups = [];
  markCurrentNav();
  const page = state.me ? route(location.pathname) : signInPage;
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  try {
    await page();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'form-error', role: 'alert' }, err.message));
    }
  } finally {
    main.removeAttribute('aria-busy');
    main.dataset.page = page.name;
  }
  // Move focus to the new page unless the page kept it (the search box).
  if (!state.first && !main.contains(document.activeElement)) {
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  state.first = false;
}

function route(path) {
  switch (path) {
    case '/':
      return listPage;
    case '/new':
      return createPage;
    case '/secret':
      return detailPage;
    case '/deleted':
      return deletedPage;
    case '/audit':
      return auditPage;
    case '/tokens':
      return tokensPage;
    case '/migrations':
      return migrationsPage;
    case '/migration':
      return migrationPage;
    default:
      return notFoundPage;
  }
}

async function boot() {
  initTheme();
  try {
    const who = await api.whoami();
    state.me = who.data;
    state.tokenId = who.sessionTokenId;
  } catch (err) {
    if (err.status !== 401) {
      main.replaceChildren(h('h1', {}, 'Lockwell is unavailable'), h('p', { class: 'form-error', role: 'alert' }, err.message));
      return;
    }
  }
  renderHeader();
  await render();
}

// ---------- sign in ----------

async function signInPage() {
  document.title = 'Sign in · Lockwell';
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-hint token-error' });
  const form = h(
    'form',
    { id: 'sign-in', class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'API token'), input,
      h('p', { id: 'token-hint', class: 'hint' }, 'The first admin token is in the file admin.token in the server\'s data directory (.lockwell/admin.token with make dev); lockwell serve prints its path when it starts. Admins mint tokens for others on the Tokens page or with lockwell token create.'),
      h('p', { id: 'token-error', class: 'field-error' })),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    h('p', { class: 'hint' }, 'The token is kept in an HttpOnly cookie for this site only, never in the page or its storage. Signing out forgets it; revoke it on the Tokens page to end it everywhere.'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      fieldError('token', 'Paste an API token.');
      input.focus();
      return;
    }
    try {
      const { data, sessionTokenId } = await api.signIn(token);
      input.value = '';
      state.me = data;
      state.tokenId = sessionTokenId;
    } catch (err) {
      fieldError('token', err.status === 401 ? 'This token is not valid (or was revoked).' : err.message);
      input.focus();
      return;
    }
    renderHeader();
    render();
  });
  main.append(form);
  input.focus();
}

function notFoundPage() {
  document.title = 'Not found · Lockwell';
  main.append(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to the secrets')));
}

// ---------- secrets list ----------

const SORTS = [
  ['name', 'Name A–Z'],
  ['-name', 'Name Z–A'],
  ['-created', 'Newest first'],
  ['created', 'Oldest first'],
  ['-updated', 'Recently updated'],
  ['updated', 'Least recently updated'],
];

function listView() {
  const p = new URLSearchParams(location.search);
  return {
    q: p.get('q') ?? '',
    match: p.get('match') === 'prefix' ? 'prefix' : 'contains',
    visibility: ['private', 'public'].includes(p.get('visibility')) ? p.get('visibility') : '',
    owner: p.get('owner') ?? '',
    sort: SORTS.some(([v]) => v === p.get('sort')) ? p.get('sort') : 'name',
    page: p.get('page') ?? '',
  };
}

function listURL(v) {
  const p = new URLSearchParams();
  if (v.q) p.set('q', v.q);
  if (v.q && v.match === 'prefix') p.set('match', 'prefix');
  if (v.visibility) p.set('visibility', v.visibility);
  if (v.owner) p.set('owner', v.owner);
  if (v.sort !== 'name') p.set('sort', v.sort);
  if (v.page) p.set('page', v.page);
  const s = p.toString();
  return s ? `/?${s}` : '/';
}

async function listPage() {
  document.title = 'Secrets · Lockwell';
  const view = listView();
  const select = (id, label, options, value) =>
    h('div', { class: 'field' }, h('label', { for: id }, label),
      h('select', { id, name: id }, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l))));
  const search = h('input', { id: 'search', name: 'q', type: 'search', value: view.q, autocomplete: 'off', placeholder: 'Name' });
  const owner = h('input', { id: 'owner', name: 'owner', value: view.owner, autocomplete: 'off', placeholder: 'Any owner' });
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter secrets' },
    h('div', { class: 'field grow' }, h('label', { for: 'search' }, 'Search names'), search),
    select('match', 'Match', [['contains', 'Contains'], ['prefix', 'Starts with']], view.match),
    select('visibility', 'Visibility', [['', 'All'], ['private', 'Private'], ['public', 'Public']], view.visibility),
    h('div', { class: 'field' }, h('label', { for: 'owner' }, 'Owner'), owner),
    select('sort', 'Sort', SORTS, view.sort),
  );
  const apply = () => {
    const f = new FormData(filters);
    go(listURL({ q: f.get('q').trim(), match: f.get('match'), visibility: f.get('visibility'), owner: f.get('owner').trim(), sort: f.get('sort'), page: '' }), { replace: true });
  };
  let debounce;
  const later = () => {
    clearTimeout(debounce);
    debounce = setTimeout(apply, 300);
  };
  cleanups.push(() => clearTimeout(debounce));
  search.addEventListener('input', later);
  owner.addEventListener('input', later);
  filters.addEventListener('change', (e) => {
    if (e.target.tagName === 'SELECT') apply();
  });
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Secrets'), h('a', { class: 'button primary', href: '/new', 'data-link': true, id: 'new-secret' }, 'New secret')),
    filters,
  );
  if (state.restoreFocus) {
    document.getElementById(state.restoreFocus)?.focus();
    if (state.restoreFocus === 'search') search.setSelectionRange(search.value.length, search.value.length);
    state.restoreFocus = null;
  }
  for (const el of [search, owner]) el.addEventListener('input', () => (state.restoreFocus = el.id));
  for (const id of ['match', 'visibility', 'sort']) document.getElementById(id).addEventListener('change', () => (state.restoreFocus = id));

  const query = { sort: view.sort, page_size: PAGE_SIZE, page_token: view.page, owner: view.owner };
  if (view.q) query[view.match === 'prefix' ? 'name_prefix' : 'name_contains'] = view.q;
  if (view.visibility) query.private = view.visibility === 'private' ? 'true' : 'false';
  let page;
  try {
    page = (await api.list(query)).data;
  } catch (err) {
    if (err.status === 401) throw err;
    main.append(loadError(err, 'list-error', view.page ? listURL({ ...view, page: '' }) : null));
    return;
  }
  const filtered = view.q || view.visibility || view.owner;
  if (page.items.length === 0 && !view.page) {
    main.append(filtered ? h('div', { class: 'empty', id: 'empty' }, h('p', {}, 'No secrets match these filters.'), h('a', { href: '/', 'data-link': true }, 'Clear the filters')) : emptyState());
    return;
  }
  const table = h(
    'table',
    { class: 'list', id: 'secrets' },
    h('caption', { class: 'visually-hidden' }, 'Secrets you can see'),
    h('thead', {}, h('tr', {}, ['Name', 'Visibility', 'Owner', 'Keys', 'Version', 'Created', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, page.items.map((s) => h('tr', { 'data-id': s.id },
      h('th', { scope: 'row', 'data-label': 'Name' }, h('a', { href: detailURL(s), 'data-link': true, class: 'secret-name' }, s.name)),
      h('td', { 'data-label': 'Visibility' }, badge(s.private)),
      h('td', { 'data-label': 'Owner' }, s.owner),
      h('td', { 'data-label': 'Keys', class: 'num' }, String(s.keys.length)),
      h('td', { 'data-label': 'Version', class: 'num' }, String(s.version)),
      h('td', { 'data-label': 'Created' }, when(s.created)),
      h('td', { 'data-label': 'Updated' }, when(s.updated)),
    ))),
  );
  const pages = pager({
    page: view.page, next: page.next_page_token, urlFor: (token) => listURL({ ...view, page: token }),
    status: `${page.items.length} secret${page.items.length === 1 ? '' : 's'} on this page`,
  });
  main.append(h('div', { class: 'table-wrap' }, table), pages);
}

// pager returns the Previous and Next buttons of a keyset-paged view. page
// is the API page token of the page shown ('' for the first), next the
// token the API returned for the page after it ('' at the end), urlFor(token)
// the URL of the view's page with that token. The URL holds the page shown,
// so a reload or a shared link shows the same page; the tokens of the pages
// before it are a stack in history.state (the API gives no token backwards),
// so Previous goes back one page, also after a reload. A shared link has no
// stack: its Previous goes to the first page.
function pager({ page, next, urlFor, status, label = 'Pages' }) {
  const prevStack = history.state?.prev ?? [];
  return h(
    'nav',
    { class: 'pager', 'aria-label': label },
    h('button', {
      type: 'button', id: 'prev-page', disabled: !page,
      onclick: () => go(urlFor(prevStack.at(-1) ?? ''), { state: { prev: prevStack.slice(0, -1) } }),
    }, 'Previous'),
    h('span', { id: 'page-status', 'aria-live': 'polite' }, status),
    h('button', {
      type: 'button', id: 'next-page', disabled: !next,
      onclick: () => go(urlFor(next), { state: { prev: [...prevStack, page] } }),
    }, 'Next'),
  );
}

function emptyState() {
  return h(
    'div',
    { class: 'empty', id: 'empty' },
    h('h2', {}, 'No secrets yet'),
    h('p', {}, 'Create the first one here: ', h('a', { href: '/new', 'data-link': true }, 'New secret'), '. Or from a terminal:'),
    h('pre', {}, h('code', {}, 'lockwell login --url ' + location.origin + '\nlockwell secret create db-prod -i user password')),
    h('p', { class: 'hint' }, 'Reference a value anywhere Lockwell resolves templates as {{db-prod.password}}.'),
  );
}

// ---------- key/value rows (create and edit) ----------

// valueInput returns a masked value input with a show/hide toggle.
function valueInput(id, label, { placeholder } = {}) {
  const input = h('input', { id, type: 'password', autocomplete: 'off', spellcheck: 'false', class: 'value', placeholder, 'aria-label': label });
  const toggle = h('button', { type: 'button', class: 'ghost small reveal-toggle', 'aria-pressed': 'false', 'aria-controls': id, 'aria-label': `Show ${label}` }, 'Show');
  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(show));
    toggle.textContent = show ? 'Hide' : 'Show';
  });
  return { input, toggle };
}

let rowSeq = 0;
function kvRow(key = '', value = '') {
  const n = ++rowSeq;
  const keyInput = h('input', { id: `key-${n}`, class: 'key', value: key, autocomplete: 'off', spellcheck: 'false', placeholder: 'Key, e.g. password', 'aria-label': `Key ${n}`, 'aria-describedby': `key-${n}-error` });
  const { input, toggle } = valueInput(`value-${n}`, `value ${n}`, { placeholder: 'Value' });
  input.value = value;
  const row = h('div', { class: 'kv-row', 'data-row': n },
    keyInput, input, toggle,
    h('button', { type: 'button', class: 'ghost small remove-row', 'aria-label': `Remove row ${n}`, onclick: () => row.remove() }, 'Remove'),
    h('p', { id: `key-${n}-error`, class: 'field-error' }));
  keyInput.addEventListener('input', () => {
    keyInput.setAttribute('aria-label', `Key ${keyInput.value || n}`);
    input.setAttribute('aria-label', `Value of ${keyInput.value || 'key ' + n}`);
  });
  keyInput.dispatchEvent(new Event('input'));
  return row;
}

function rowsOf(container) {
  return [...container.querySelectorAll('.kv-row')].map((row) => ({
    row,
    keyId: row.querySelector('.key').id,
    key: row.querySelector('.key').value.trim(),
    value: row.querySelector('.value').value,
  }));
}

// checkRows puts client-side errors on empty and repeated keys; true if ok.
function checkRows(rows, { allowEmpty = false } = {}) {
  const seen = new Set();
  let ok = true;
  for (const r of rows) {
    fieldError(r.keyId, null);
    if (r.key === '' && (!allowEmpty || r.value !== '')) {
      fieldError(r.keyId, 'Give this value a key.');
      ok = false;
    } else if (r.key !== '' && seen.has(r.key)) {
      fieldError(r.keyId, `The key ${r.key} appears twice.`);
      ok = false;
    }
    seen.add(r.key);
  }
  return ok;
}

// placeApiError shows an API validation message on the field it concerns:
// the name, the row of the key it quotes, or the form.
function placeApiError(err, rows, box) {
  const msg = err.message;
  if (err.code === 'already_exists' || /^secret name\b/.test(msg)) {
    fieldError('name', err.code === 'already_exists' ? 'A secret with this name and visibility already exists.' : msg);
    document.getElementById('name')?.focus();
    return;
  }
  const quoted = /key "((?:[^"\\]|\\.)*)"/.exec(msg);
  const row = quoted ? rows.find((r) => r.key === JSON.parse(`"${quoted[1]}"`)) : /^key must not be empty/.test(msg) ? rows.find((r) => r.key === '') : null;
  if (row) {
    fieldError(row.keyId, msg);
    document.getElementById(row.keyId)?.focus();
    return;
  }
  showError(box, err);
}

// ---------- create ----------

async function createPage() {
  document.title = 'New secret · Lockwell';
  const rows = h('div', { class: 'kv-rows', id: 'rows' }, kvRow());
  const box = errorBox('create-error');
  const paste = h('textarea', { id: 'paste', rows: '6', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'paste-hint paste-error' });
  const form = h(
    'form',
    { id: 'create', class: 'card', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'name' }, 'Name'),
      h('input', { id: 'name', name: 'name', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'name-hint name-error' }),
      h('p', { id: 'name-hint', class: 'hint' }, 'Letters, digits and _ . @ + = - (up to 255).'),
      h('p', { id: 'name-error', class: 'field-error' })),
    h('fieldset', {}, h('legend', {}, 'Visibility'),
      h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'visibility', value: 'public', id: 'vis-public', checked: true }), ' Public: everyone signed in can read and change it (values, name, deletion); only you can make it private'),
      h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'visibility', value: 'private', id: 'vis-private' }), ' Private: only you can see and change it, not even admins')),
    h('fieldset', {}, h('legend', {}, 'Keys and values'), rows,
      h('button', { type: 'button', id: 'add-row', class: 'small', onclick: () => rows.append(kvRow()) }, 'Add key')),
    h('details', { class: 'paste' }, h('summary', {}, 'Paste a .env, YAML or JSON block'),
      h('label', { for: 'paste' }, 'Block to turn into rows'), paste,
      h('p', { id: 'paste-hint', class: 'hint' }, 'KEY=value lines, key: value lines or a JSON object. Rows with the same key are replaced; nothing is sent until you create the secret.'),
      h('p', { id: 'paste-error', class: 'field-error' }),
      h('button', {
        type: 'button', id: 'fill-rows', class: 'small',
        onclick: () => {
          const parsed = parseBlock(paste.value);
          fieldError('paste', parsed.error);
          if (parsed.error) return;
          const existing = rowsOf(rows);
          for (const r of existing) if (r.key === '' && r.value === '') r.row.remove();
          for (const [k, v] of parsed.pairs) {
            const same = rowsOf(rows).find((r) => r.key === k);
            if (same) same.row.querySelector('.value').value = v;
            else rows.append(kvRow(k, v));
          }
          paste.value = '';
          toast(`Filled ${parsed.pairs.length} row${parsed.pairs.length === 1 ? '' : 's'}.`);
        },
      }, 'Fill rows')),
    box,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'create-submit' }, 'Create secret'), h('a', { href: '/', 'data-link': true, class: 'button ghost' }, 'Cancel')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(box, null);
    fieldError('name', null);
    const name = document.getElementById('name').value.trim();
    const all = rowsOf(rows);
    const list = all.filter((r) => r.key !== '' || r.value !== '');
    let ok = checkRows(list);
    for (const r of all) if (!list.includes(r)) fieldError(r.keyId, null);
    if (list.length === 0) {
      // A secret needs at least one key (README); say so on the first row.
      const first = all[0] ?? rowsOf(rows.appendChild(kvRow()).parentElement)[0];
      fieldError(first.keyId, 'A secret needs at least one key: give this row a key and a value.');
      ok = false;
    }
    if (!name) {
      fieldError('name', 'A secret needs a name.');
      ok = false;
    }
    if (!ok) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    const values = Object.fromEntries(list.map((r) => [r.key, r.value]));
    const isPrivate = document.getElementById('vis-private').checked;
    try {
      const { data } = await api.create({ name, private: isPrivate, values });
      go(detailURL(data));
      toast(`Created ${data.name}.`);
    } catch (err) {
      if (err.status === 401) return;
      placeApiError(err, list, box);
    }
  });
  main.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/', 'data-link': true }, 'Secrets'), ' › New secret'), h('h1', {}, 'New secret'), form);
  document.getElementById('name').focus();
}

// ---------- detail ----------

// findSecret returns the metadata of the secret with this id (null if the
// caller cannot see it) and its kept versions, without reading a value: the
// versions name the secret's current name, and the list by that name gives
// its metadata. The id alone is enough, so links survive renames and
// rollbacks; the name in a detail URL is only for people reading it.
async function findSecret(id) {
  if (!id) return null;
  let versions;
  try {
    versions = (await api.versions(id)).data.items;
  } catch (err) {
    if (err.status === 404 || err.status === 403 || err.code === 'invalid_argument') return null;
    throw err;
  }
  const current = versions.find((v) => v.current);
  if (!current) return null;
  const { data } = await api.list({ name: current.name, page_size: 10 });
  const meta = data.items.find((s) => s.id === id);
  return meta ? { meta, versions } : null;
}

async function detailPage() {
  const p = new URLSearchParams(location.search);
  const id = p.get('id');
  const found = await findSecret(id);
  const meta = found?.meta;
  if (!meta) {
    document.title = 'Not found · Lockwell';
    main.append(h('h1', {}, 'Secret not found'), h('p', {}, 'It does not exist, is private to someone else, or was deleted: a deleted secret can be restored from ',
      h('a', { href: '/deleted', 'data-link': true }, 'Deleted'), ' during its recovery window. ', h('a', { href: '/', 'data-link': true }, 'Back to the secrets')));
    return;
  }
  document.title = `${meta.name} · Lockwell`;
  if (p.get('name') !== meta.name) history.replaceState(history.state, '', detailURL(meta));

  // Values live here only while revealed.
  let values = null;
  const revealed = new Set();
  let remaskTimer;
  const cells = new Map();
  const hideAll = () => {
    clearTimeout(remaskTimer);
    values = null;
    revealed.clear();
    for (const k of cells.keys()) paint(k);
    revealAllBtn.textContent = 'Reveal all';
    revealAllBtn.setAttribute('aria-pressed', 'false');
  };
  const onHidden = () => {
    if (document.visibilityState === 'hidden') hideAll();
  };
  document.addEventListener('visibilitychange', onHidden);
  cleanups.push(() => {
    document.removeEventListener('visibilitychange', onHidden);
    clearTimeout(remaskTimer);
    values = null;
  });
  const fetchValues = async () => {
    const { data } = await api.get(meta.id);
    return data.values;
  };
  const armRemask = () => {
    clearTimeout(remaskTimer);
    remaskTimer = setTimeout(hideAll, remaskDelay());
  };
  const paint = (k) => {
    const { valueCell, btn } = cells.get(k);
    const shown = revealed.has(k) && values && k in values;
    valueCell.textContent = shown ? values[k] : MASK;
    valueCell.classList.toggle('masked', !shown);
    btn.textContent = shown ? 'Hide' : 'Reveal';
    btn.setAttribute('aria-label', `${shown ? 'Hide' : 'Reveal'} ${k}`);
    btn.setAttribute('aria-pressed', String(!!shown));
  };
  const reveal = async (keys) => {
    try {
      values = await fetchValues();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
      return;
    }
    keys.forEach((k) => revealed.add(k));
    for (const k of cells.keys()) paint(k);
    armRemask();
  };
  const toggleOne = (k) => {
    if (revealed.has(k)) {
      revealed.delete(k);
      if (revealed.size === 0) hideAll();
      else paint(k);
    } else reveal([k]);
  };
  const copyValue = async (k) => {
    let v = values?.[k];
    if (v === undefined) {
      try {
        v = (await fetchValues())[k];
      } catch (err) {
        if (err.status !== 401) toast(err.message, 'error');
        return;
      }
    }
    await copyText(v ?? '', `the value of ${k}`);
  };

  const revealAllBtn = h('button', {
    type: 'button', id: 'reveal-all', 'aria-pressed': 'false',
    onclick: () => {
      if (revealed.size === meta.keys.length && meta.keys.length > 0) hideAll();
      else reveal(meta.keys).then(() => {
        if (values) {
          revealAllBtn.textContent = 'Hide all';
          revealAllBtn.setAttribute('aria-pressed', 'true');
        }
      });
    },
  }, 'Reveal all');

  const keyRows = meta.keys.map((k) => {
    const valueCell = h('code', { class: 'value masked', 'data-key': k }, MASK);
    const btn = h('button', { type: 'button', class: 'small reveal', 'aria-pressed': 'false', 'aria-label': `Reveal ${k}`, onclick: () => toggleOne(k) }, 'Reveal');
    cells.set(k, { valueCell, btn });
    return h('tr', { 'data-key': k },
      h('th', { scope: 'row', 'data-label': 'Key' }, h('code', {}, k)),
      h('td', { 'data-label': 'Value' }, valueCell),
      h('td', { class: 'actions-cell' }, h('div', { class: 'row-actions' }, btn,
        h('button', { type: 'button', class: 'small copy-value', 'aria-label': `Copy the value of ${k}`, onclick: () => copyValue(k) }, 'Copy value'),
        h('button', { type: 'button', class: 'small ghost copy-ref', 'aria-label': `Copy the reference {{${meta.name}.${k}}}`, onclick: () => copyText(`{{${meta.name}.${k}}}`, 'the reference') }, 'Copy reference'))));
  });

  const editBox = errorBox('edit-error');
  const keysSection = h('section', { 'aria-labelledby': 'keys-heading', class: 'card' },
    h('div', { class: 'section-head' }, h('h2', { id: 'keys-heading' }, 'Keys'),
      h('div', { class: 'actions' }, meta.keys.length ? revealAllBtn : null, h('button', { type: 'button', id: 'edit-keys', onclick: () => startEdit() }, 'Edit keys'))),
    meta.keys.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'keys', id: 'keys' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', {}, keyRows)))
      : h('p', { class: 'muted' }, 'This secret has no keys yet. Add some with Edit keys.'),
    h('p', { class: 'hint' }, `Revealed values are hidden again after ${Math.round(remaskDelay() / 1000)} seconds and when you leave the tab.`),
    editBox);

  const startEdit = () => {
    hideAll();
    const existing = meta.keys.map((k) => {
      const { input, toggle } = valueInput(`newval-${k}`, `new value of ${k}`, { placeholder: 'unchanged' });
      const remove = h('input', { type: 'checkbox', id: `drop-${k}`, class: 'remove-key' });
      return { k, input, remove, el: h('div', { class: 'kv-row edit', 'data-key': k }, h('code', { class: 'key-name' }, k), input, toggle, h('label', { class: 'check', for: `drop-${k}` }, remove, ' Remove')) };
    });
    const added = h('div', { class: 'kv-rows', id: 'new-rows' });
    const form = h('form', { id: 'edit-form', novalidate: true },
      h('p', { class: 'hint' }, 'Type a new value only for keys you change; empty fields stay as they are. Only your changes are sent, as a merge against the version you loaded.'),
      existing.map((e) => e.el), added,
      h('button', { type: 'button', id: 'edit-add-row', class: 'small', onclick: () => added.append(kvRow()) }, 'Add key'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'save-keys' }, `Save (as version ${meta.version + 1})`), h('button', { type: 'button', class: 'ghost', onclick: () => render() }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      showError(editBox, null);
      const newRows = rowsOf(added).filter((r) => r.key !== '' || r.value !== '');
      if (!checkRows(newRows)) return;
      const changes = {};
      for (const { k, input, remove } of existing) {
        if (remove.checked) changes[k] = null;
        else if (input.value !== '') changes[k] = input.value;
      }
      for (const r of newRows) {
        if (meta.keys.includes(r.key)) {
          fieldError(r.keyId, `${r.key} already exists; change it above.`);
          return;
        }
        changes[r.key] = r.value;
      }
      if (Object.keys(changes).length === 0) {
        showError(editBox, new Error('Nothing changed: type a new value, remove a key or add one.'));
        return;
      }
      try {
        const { data } = await api.update(meta.id, { values: changes }, meta.version);
        go(detailURL(data), { replace: true });
        toast(`Saved version ${data.version}.`);
      } catch (err) {
        if (err.status === 401) return;
        placeApiError(about(meta, err), newRows, editBox);
      }
    });
    keysSection.querySelector('.table-wrap, p.muted')?.replaceWith(form);
    keysSection.querySelector('.section-head .actions').hidden = true;
    (existing[0]?.input ?? form.querySelector('input'))?.focus();
  };

  // Settings: rename, visibility, delete.
  const settingsBox = errorBox('settings-error');
  const renameInput = h('input', { id: 'rename', value: meta.name, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'rename-hint rename-error' });
  const patch = async (body, done) => {
    showError(settingsBox, null);
    fieldError('rename', null);
    try {
      const { data } = await api.update(meta.id, body, meta.version);
      go(detailURL(data), { replace: true });
      toast(done(data));
    } catch (err) {
      if (err.status === 401) return;
      if ('name' in body && (err.code === 'already_exists' || /^secret name\b/.test(err.message))) fieldError('rename', err.code === 'already_exists' ? 'A secret with this name and visibility already exists.' : err.message);
      else showError(settingsBox, about(meta, err));
    }
  };
  const renameForm = h('form', { id: 'rename-form', class: 'inline-form', novalidate: true },
    h('div', { class: 'field grow' }, h('label', { for: 'rename' }, 'Name'), renameInput,
      h('p', { id: 'rename-hint', class: 'hint' }, `References such as {{${meta.name}.key}} stop resolving after a rename: update them to the new name.`),
      h('p', { id: 'rename-error', class: 'field-error' })),
    h('button', { type: 'submit' }, 'Rename'));
  renameForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = renameInput.value.trim();
    if (name === meta.name) {
      fieldError('rename', 'Type a new name first.');
      return;
    }
    patch({ name }, (d) => `Renamed to ${d.name}.`);
  });
  const confirmInput = h('input', { id: 'confirm-name', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'confirm-hint' });
  const deleteBtn = h('button', { type: 'submit', class: 'danger', id: 'delete', disabled: true }, 'Delete this secret');
  confirmInput.addEventListener('input', () => (deleteBtn.disabled = confirmInput.value !== meta.name));
  const deleteForm = h('form', { id: 'delete-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'confirm-name' }, 'Type the name to confirm deletion'), confirmInput,
      h('p', { id: 'confirm-hint', class: 'hint' }, `Type ${meta.name} exactly. The secret moves to the Deleted page, where it can be restored with its values and history until its recovery window ends; then it is destroyed.`)),
    deleteBtn);
  deleteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (confirmInput.value !== meta.name) return;
    showError(settingsBox, null);
    try {
      const { data } = await api.remove(meta.id, meta.version);
      go('/');
      toast(data?.purge_after
        ? `Deleted ${meta.name}. It can be restored until ${dateFormat.format(new Date(data.purge_after))} on the Deleted page.`
        : `Deleted ${meta.name}.`);
    } catch (err) {
      if (err.status !== 401) showError(settingsBox, about(meta, err));
    }
  });

  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/', 'data-link': true }, 'Secrets'), ` › ${meta.name}`),
    h('div', { class: 'page-head' }, h('h1', { id: 'secret-name' }, meta.name), badge(meta.private)),
    h('dl', { class: 'meta card' },
      h('div', {}, h('dt', {}, 'Owner'), h('dd', { id: 'meta-owner' }, meta.owner)),
      h('div', {}, h('dt', {}, 'Version'), h('dd', { id: 'meta-version' }, String(meta.version))),
      h('div', {}, h('dt', {}, 'Keys'), h('dd', {}, String(meta.keys.length))),
      h('div', {}, h('dt', {}, 'Created'), h('dd', {}, when(meta.created))),
      h('div', {}, h('dt', {}, 'Updated'), h('dd', {}, when(meta.updated))),
      h('div', { class: 'wide' }, h('dt', {}, 'ID'), h('dd', {}, h('code', { class: 'id' }, meta.id), ' ', h('button', { type: 'button', class: 'ghost small', 'aria-label': 'Copy the secret id', onclick: () => copyText(meta.id, 'the id') }, 'Copy'))),
      meta.origin ? h('div', {}, h('dt', {}, 'Origin'), h('dd', {}, meta.origin)) : null),
    keysSection,
    h('section', { 'aria-labelledby': 'settings-heading', class: 'card' },
      h('h2', { id: 'settings-heading' }, 'Settings'),
      renameForm,
      h('div', { class: 'inline-form' },
        h('p', { id: 'visibility-status' }, meta.private ? 'Private: only you can see and change this secret.'
          : meta.owner === state.me.user ? 'Public: everyone signed in can read and change this secret; only you can make it private.'
            : `Public: everyone signed in can read and change this secret; only its owner, ${meta.owner}, can make it private.`),
        // Only the owner may change whether a secret is private (admins too
        // are refused), so nobody else is offered the button.
        meta.owner === state.me.user
          ? h('button', { type: 'button', id: 'toggle-visibility', onclick: () => patch({ private: !meta.private }, (d) => `${d.name} is now ${d.private ? 'private' : 'public'}.`) }, meta.private ? 'Make public' : 'Make private')
          : null),
      settingsBox),
    historySection(meta, found.versions),
    h('section', { 'aria-labelledby': 'danger-heading', class: 'card danger-zone' }, h('h2', { id: 'danger-heading' }, 'Delete'), deleteForm),
  );
}

// historySection lists a secret's kept versions (who, when, how, which keys
// changed, renames and changes of visibility). An old version's keys show
// masked; its values are fetched only when revealed and dropped after
// remaskDelay() or when the tab is hidden. Rolling back asks for a
// confirmation and sends If-Match with the version the page loaded, so a
// concurrent change gives the reload message (412). items are the versions
// as GET .../versions answered them, newest first.
function historySection(meta, items) {
  const box = errorBox('history-error');
  const holder = h('div', { id: 'history-list' });
  const section = h('section', { 'aria-labelledby': 'history-heading', class: 'card', id: 'history' },
    h('h2', { id: 'history-heading' }, 'History'), holder, box);
  // changes says what version v changed; before is the version it followed
  // when that is kept (undefined otherwise): a rename or a change of
  // visibility shows only by comparing the two.
  const changes = (v, before) => {
    const parts = [];
    if (before && before.name !== v.name) parts.push(`renamed from ${before.name}`);
    if (before && before.private !== v.private) parts.push(`made ${v.private ? 'private' : 'public'}`);
    if (v.added?.length) parts.push(`added ${v.added.join(', ')}`);
    if (v.changed?.length) parts.push(`changed ${v.changed.join(', ')}`);
    if (v.removed?.length) parts.push(`removed ${v.removed.join(', ')}`);
    if (v.from) parts.push(`from version ${v.from}`);
    return parts.join('; ') || 'no key changes';
  };
  // viewPanel shows version v's keys, masked, with one reveal toggle.
  const viewPanel = (v) => {
    let timer;
    const list = h('dl', { class: 'version-values', id: `version-values-${v.version}` });
    const hide = () => {
      clearTimeout(timer);
      list.replaceChildren(...v.keys.map((k) => h('div', { 'data-key': k }, h('dt', {}, h('code', {}, k)), h('dd', {}, h('code', { class: 'value masked' }, MASK)))));
      btn.textContent = `Reveal version ${v.version}`;
      btn.setAttribute('aria-pressed', 'false');
    };
    const btn = h('button', {
      type: 'button', class: 'small reveal-version', 'aria-pressed': 'false',
      onclick: async () => {
        if (btn.getAttribute('aria-pressed') === 'true') {
          hide();
          return;
        }
        let values;
        try {
          values = (await api.getVersion(meta.id, v.version)).data.values ?? {};
        } catch (err) {
          if (err.status !== 401) showError(box, err);
          return;
        }
        list.replaceChildren(...v.keys.map((k) => h('div', { 'data-key': k }, h('dt', {}, h('code', {}, k)), h('dd', {}, h('code', { class: 'value' }, values[k] ?? '')))));
        values = null;
        btn.textContent = `Hide version ${v.version}`;
        btn.setAttribute('aria-pressed', 'true');
        clearTimeout(timer);
        timer = setTimeout(hide, remaskDelay());
      },
    });
    const onHidden = () => {
      if (document.visibilityState === 'hidden') hide();
    };
    document.addEventListener('visibilitychange', onHidden);
    cleanups.push(() => {
      document.removeEventListener('visibilitychange', onHidden);
      clearTimeout(timer);
    });
    hide();
    return h('div', { class: 'version-panel' }, list, btn);
  };
  // rollbackError says why rolling back to v failed, naming the secret and
  // the version rather than ids.
  const rollbackError = (v, err) => {
    if (err.code === 'already_exists' || err.status === 409) return `Version ${v.version} was named ${v.name}, which another secret has now: rename or delete that secret first, then roll back.`;
    if (err.code === 'failed_precondition') return 'This secret changed since you loaded it: reload, then roll back again.';
    return about(meta, err).message;
  };
  const rollbackCell = (v) => {
    const cell = h('div', { class: 'row-actions rollback-cell' });
    // What a rollback does besides the values: it restores the version's
    // name and visibility too.
    const also = [];
    if (v.name !== meta.name) also.push(`renames it to ${v.name}`);
    if (v.private !== meta.private) also.push(`makes it ${v.private ? 'private' : 'public'}`);
    const ask = () => {
      setChildren(cell,
        also.length ? h('p', { class: 'rollback-note hint' }, `Rolls back to version ${v.version}: ${also.join(' and ')}.`) : null,
        h('button', {
          type: 'button', class: 'danger small confirm-rollback', 'aria-label': `Confirm rolling back to version ${v.version}`,
          onclick: async () => {
            showError(box, null);
            try {
              const { data } = await api.rollback(meta.id, v.version, meta.version);
              go(detailURL(data), { replace: true });
              toast(`Rolled back to version ${v.version}: saved as version ${data.version}.`);
            } catch (err) {
              if (err.status === 401) return;
              offer(rollbackError(v, err));
              cell.querySelector('button').focus();
            }
          },
        }, `Confirm roll back to version ${v.version}`),
        h('button', { type: 'button', class: 'ghost small', onclick: () => { offer(); cell.querySelector('button').focus(); } }, 'Cancel'));
      cell.querySelector('button').focus();
    };
    const offer = (error) => {
      const id = `rollback-${v.version}-error`;
      setChildren(cell,
        h('button', { type: 'button', class: 'small rollback', 'aria-label': `Roll back to version ${v.version}`, 'aria-describedby': error ? id : null, onclick: ask }, 'Roll back to this version'),
        error ? h('p', { class: 'field-error rollback-error', id, role: 'alert' }, error) : null,
        error && /reload/.test(error) ? h('button', { type: 'button', class: 'small reload-rollback', onclick: () => render() }, 'Reload') : null);
    };
    offer();
    return cell;
  };
  const viewCell = (v, row) => {
    const btn = h('button', { type: 'button', class: 'small view-version', 'aria-expanded': 'false', 'aria-label': `View the values of version ${v.version}` }, 'View values');
    let panelRow = null;
    btn.addEventListener('click', () => {
      if (panelRow) {
        panelRow.remove();
        panelRow = null;
        btn.setAttribute('aria-expanded', 'false');
        return;
      }
      panelRow = h('tr', { class: 'version-detail', 'data-version-detail': v.version }, h('td', { colspan: 6 }, viewPanel(v)));
      row.after(panelRow);
      btn.setAttribute('aria-expanded', 'true');
    });
    return btn;
  };
  {
    const tbody = h('tbody', {});
    for (const [i, v] of items.entries()) {
      const before = items[i + 1]?.version === v.version - 1 ? items[i + 1] : undefined;
      const actions = h('div', { class: 'row-actions' });
      const row = h('tr', { 'data-version': v.version },
        h('th', { scope: 'row', 'data-label': 'Version' }, String(v.version), v.current ? ' (current)' : ''),
        h('td', { 'data-label': 'When' }, when(v.created)),
        h('td', { 'data-label': 'Who', class: 'principal' }, v.principal ?? ''),
        h('td', { 'data-label': 'Operation', class: 'operation' }, v.operation ?? ''),
        h('td', { 'data-label': 'Changes', class: 'changes' }, changes(v, before)),
        h('td', { class: 'actions-cell' }, actions));
      if (!v.current) actions.append(viewCell(v, row), rollbackCell(v));
      tbody.append(row);
    }
    holder.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'versions' },
      h('caption', { class: 'visually-hidden' }, 'Versions of this secret, newest first'),
      h('thead', {}, h('tr', {}, ['Version', 'When', 'Who', 'Operation', 'Changes', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
      tbody)));
  }
  return section;
}

// ---------- deleted secrets ----------

// deletedPage lists the deleted secrets the caller may see that are still
// in their recovery window, each with a restore button; when its name was
// taken meanwhile (409), it asks for a new name.
async function deletedPage() {
  document.title = 'Deleted secrets · Lockwell';
  const page = new URLSearchParams(location.search).get('page') ?? '';
  const box = errorBox('deleted-error');
  main.append(h('h1', {}, 'Deleted secrets'),
    h('p', { class: 'hint' }, 'A deleted secret can be restored, with its history, until its recovery window ends; then it is destroyed.'), box);
  let data;
  try {
    data = (await api.deletedList({ page_size: PAGE_SIZE, page_token: page })).data;
  } catch (err) {
    if (err.status === 401) throw err;
    main.append(loadError(err, 'deleted-load-error', page ? '/deleted' : null));
    return;
  }
  if (data.items.length === 0 && !page) {
    main.append(h('div', { class: 'empty', id: 'no-deleted' },
      h('p', {}, 'No deleted secrets to restore.'),
      h('p', { class: 'hint' }, 'When you delete a secret, it waits here until its recovery window ends.')));
    return;
  }
  const restoreCell = (s) => {
    const cell = h('div', { class: 'row-actions' });
    const doRestore = async (name) => {
      showError(box, null);
      try {
        const { data: d } = await api.restore(s.id, name, s.version);
        go(detailURL(d));
        toast(`Restored ${d.name}.`);
      } catch (err) {
        if (err.status === 401) return;
        if (err.status === 409) askName(name ? err.message : null);
        else showError(box, err);
      }
    };
    const askName = (message) => {
      const id = `restore-name-${s.id}`;
      const input = h('input', { id, value: s.name, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id}-error` });
      const form = h('form', { class: 'inline-form restore-name', novalidate: true },
        h('div', { class: 'field grow' }, h('label', { for: id }, `A secret named ${s.name} exists: restore as`), input,
          h('p', { id: `${id}-error`, class: 'field-error' }, message ?? '')),
        h('button', { type: 'submit', class: 'primary small' }, 'Restore under this name'));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const name = input.value.trim();
        if (!name || name === s.name) {
          fieldError(id, 'Type another name.');
          return;
        }
        doRestore(name);
      });
      cell.replaceChildren(form);
      input.focus();
      input.select();
    };
    cell.append(h('button', { type: 'button', class: 'small restore', 'aria-label': `Restore ${s.name}`, onclick: () => doRestore(null) }, 'Restore'));
    return cell;
  };
  main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'deleted' },
    h('caption', { class: 'visually-hidden' }, 'Deleted secrets you can restore'),
    h('thead', {}, h('tr', {}, ['Name', 'Visibility', 'Owner', 'Deleted', 'Restorable until', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
    h('tbody', {}, data.items.map((s) => h('tr', { 'data-id': s.id, 'data-name': s.name },
      h('th', { scope: 'row', 'data-label': 'Name' }, s.name),
      h('td', { 'data-label': 'Visibility' }, badge(s.private)),
      h('td', { 'data-label': 'Owner' }, s.owner ?? ''),
      h('td', { 'data-label': 'Deleted' }, s.deleted ? when(s.deleted) : ''),
      h('td', { 'data-label': 'Restorable until', class: 'purge-after' }, s.purge_after ? when(s.purge_after) : ''),
      h('td', { class: 'actions-cell' }, restoreCell(s))))))));
  main.append(pager({
    page, next: data.next_page_token, label: 'Pages of deleted secrets',
    urlFor: (token) => (token ? `/deleted?${new URLSearchParams({ page: token })}` : '/deleted'),
    status: `${data.items.length} deleted secret${data.items.length === 1 ? '' : 's'} on this page`,
  }));
}

// ---------- audit log (admins) ----------

const AUDIT_FILTERS = [
  ['secret', 'Secret (name or ID)'],
  ['principal', 'Principal'],
  ['operation', 'Operation'],
];

// AUDIT_OPERATIONS are the operations the audit log records (shared/store
// and shared/httpapi name them), with what they mean to a reader.
const AUDIT_OPERATIONS = [
  ['get', 'Read values'],
  ['get_version', 'Read an old version'],
  ['lookup', 'Read values by name'],
  ['get_by_name', 'Read by name (API)'],
  ['create', 'Create'],
  ['update', 'Update (values, name, visibility)'],
  ['delete', 'Delete'],
  ['restore', 'Restore'],
  ['rollback', 'Roll back'],
  ['purge', 'Destroy a deleted secret'],
  ['purge_expired', 'Destroy expired deleted secrets'],
  ['list', 'List secrets'],
  ['versions', 'List versions'],
  ['create_token', 'Mint a token'],
  ['list_tokens', 'List tokens'],
  ['revoke_token', 'Revoke a token'],
  ['revoke_own_token', 'Revoke own token (log out)'],
  ['whoami', 'Who am I'],
  ['events', 'Watch change events'],
  ['audit', 'Read the audit log'],
  ['list_migrations', 'List migration jobs'],
  ['get_migration', 'Read a migration job'],
];

function operationLabel(op) {
  const label = AUDIT_OPERATIONS.find(([v]) => v === op)?.[1];
  return label ? `${label} (${op})` : op;
}
// AUDIT_TIMES are the time-range filters: since (included) and until (not
// included). The URL holds them in RFC 3339 UTC, as the API takes them, so
// a shared view means the same range in every time zone; the inputs show
// them in the reader's local time.
const AUDIT_TIMES = [
  ['since', 'Since'],
  ['until', 'Until'],
];

// The audit log reads newest first unless the URL says order=oldest.
function auditURL(view, page) {
  const p = new URLSearchParams();
  for (const [k] of [...AUDIT_FILTERS, ...AUDIT_TIMES]) if (view[k]) p.set(k, view[k]);
  if (view.order === 'oldest') p.set('order', 'oldest');
  if (page) p.set('page', page);
  const s = p.toString();
  return s ? `/audit?${s}` : '/audit';
}

// localInputValue turns an RFC 3339 time into a datetime-local input's
// value in the browser's time zone (to the second); '' if it is not a time.
function localInputValue(iso) {
  const d = new Date(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(d.getTime())) return '';
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// utcTime turns a datetime-local value (local time) into RFC 3339 UTC.
function utcTime(local) {
  return new Date(local).toISOString().replace('.000Z', 'Z');
}

// auditPage reads the audit log, newest first (or oldest first), filtered
// by the URL's secret, principal, operation and time range, one page at a
// time with the API's page token (kept in the URL as page, so a view can be
// shared and reloaded).
async function auditPage() {
  document.title = 'Audit log · Lockwell';
  main.append(h('h1', {}, 'Audit log'));
  if (state.me.role !== 'admin') {
    main.append(h('p', {}, 'Only admins read the audit log.'));
    return;
  }
  const p = new URLSearchParams(location.search);
  const view = Object.fromEntries([...AUDIT_FILTERS, ...AUDIT_TIMES].map(([k]) => [k, p.get(k) ?? '']));
  const oldest = p.get('order') === 'oldest';
  const page = p.get('page') ?? '';
  // The operation is picked from the names the log uses, with readable
  // labels; one in the URL that is not among them is kept as an option.
  const operations = AUDIT_OPERATIONS.some(([v]) => v === view.operation) || !view.operation ? AUDIT_OPERATIONS : [...AUDIT_OPERATIONS, [view.operation, view.operation]];
  const inputs = AUDIT_FILTERS.map(([k, label]) => k === 'operation'
    ? h('select', { id: `audit-${k}`, name: k, 'data-label': label },
      h('option', { value: '', selected: !view[k] }, 'Any'),
      operations.map(([v]) => h('option', { value: v, selected: v === view[k] }, operationLabel(v))))
    : h('input', { id: `audit-${k}`, name: k, value: view[k], autocomplete: 'off', spellcheck: 'false', 'data-label': label }));
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const times = AUDIT_TIMES.map(([k, label]) => h('input', {
    id: `audit-${k}`, name: k, type: 'datetime-local', step: '1', value: localInputValue(view[k]),
    'data-label': label, 'aria-describedby': `audit-times-hint audit-${k}-error`,
  }));
  const form = h('form', { class: 'filters', id: 'audit-filters', 'aria-label': 'Filter the audit log', novalidate: true },
    inputs.map((input) => h('div', { class: 'field' }, h('label', { for: input.id }, input.dataset.label), input)),
    times.map((input) => h('div', { class: 'field' }, h('label', { for: input.id }, input.dataset.label), input,
      h('p', { id: `${input.id}-error`, class: 'field-error' }))),
    h('div', { class: 'field' }, h('label', { for: 'audit-order' }, 'Order'),
      h('select', { id: 'audit-order', name: 'order' },
        h('option', { value: 'newest', selected: !oldest }, 'Newest first'),
        h('option', { value: 'oldest', selected: oldest }, 'Oldest first'))),
    h('button', { type: 'submit', id: 'audit-apply' }, 'Filter'),
    h('p', { id: 'audit-times-hint', class: 'hint wide' }, `Times are in your time zone${zone ? ` (${zone})` : ''}; Since is included, Until is not.`));
  // checkTimes puts an error on a time field that is incomplete or out of
  // order; it returns the range in RFC 3339 UTC, or null.
  const checkTimes = () => {
    const out = {};
    let ok = true;
    for (const input of times) {
      fieldError(input.id, null);
      if (input.validity.badInput) {
        fieldError(input.id, `${input.dataset.label} is not a complete date and time: fill in every part, or clear it.`);
        ok = false;
      } else {
        out[input.name] = input.value ? utcTime(input.value) : '';
      }
    }
    if (ok && out.since && out.until && new Date(out.since) >= new Date(out.until)) {
      fieldError('audit-until', 'Until must be later than Since.');
      ok = false;
    }
    if (!ok) form.querySelector('[aria-invalid=true]')?.focus();
    return ok ? out : null;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const range = checkTimes();
    if (!range) return;
    const next = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
    go(auditURL({ ...next, ...range, order: form.querySelector('#audit-order').value }, ''));
  });
  main.append(form);
  // A time in the URL that is not one (an edited link) is said on its field
  // rather than sent.
  let badURL = false;
  for (const [k, label] of AUDIT_TIMES) {
    if (view[k] && !localInputValue(view[k])) {
      fieldError(`audit-${k}`, `The link's ${label.toLowerCase()} (${view[k]}) is not a time; pick one or clear the field.`);
      badURL = true;
    }
  }
  if (!badURL && view.since && view.until && new Date(view.since) >= new Date(view.until)) {
    fieldError('audit-until', 'Until must be later than Since.');
    badURL = true;
  }
  if (badURL) return;
  let data;
  try {
    data = (await api.audit({ ...view, order: oldest ? 'oldest' : 'newest', page_size: PAGE_SIZE, page_token: page })).data;
  } catch (err) {
    if (err.status === 401) throw err;
    main.append(loadError(err, 'audit-error', page ? auditURL(view, '') : null));
    return;
  }
  const filtered = Object.values(view).some(Boolean);
  if (data.items.length === 0) {
    main.append(h('p', { class: 'muted', id: 'no-records' }, page ? 'No more records.' : filtered ? 'No records match these filters.' : 'No records yet.'));
  } else {
    main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'audit' },
      h('caption', { class: 'visually-hidden' }, `Audit records, ${oldest ? 'oldest' : 'newest'} first`),
      h('thead', {}, h('tr', {}, ['Time', 'Principal', 'Operation', 'Secret', 'Version', 'Outcome', 'Client'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, data.items.map((r) => h('tr', { 'data-seq': r.seq, 'data-operation': r.operation, 'data-time': r.time },
        h('th', { scope: 'row', 'data-label': 'Time' }, when(r.time, secondsFormat)),
        h('td', { 'data-label': 'Principal', class: 'principal' }, r.principal ? (r.role ? `${r.principal} (${r.role})` : r.principal) : '(not signed in)'),
        h('td', { 'data-label': 'Operation', class: 'operation', title: r.operation }, r.phase && r.phase !== 'response' ? `${operationLabel(r.operation)}, ${r.phase}` : operationLabel(r.operation)),
        h('td', { 'data-label': 'Secret', class: 'secret' }, r.secret_name || r.secret_id || (r.token_user ? `token of ${r.token_user}` : '')),
        h('td', { 'data-label': 'Version', class: 'num' }, r.version ? String(r.version) : ''),
        h('td', { 'data-label': 'Outcome', class: 'outcome' }, r.outcome ?? ''),
        h('td', { 'data-label': 'Client' }, r.client_addr ?? '')))))));
  }
  if (page || data.has_more) {
    main.append(pager({
      page, next: data.has_more ? data.next_page_token : '', label: 'Audit pages', urlFor: (token) => auditURL({ ...view, order: oldest ? 'oldest' : '' }, token),
      status: `${data.items.length} record${data.items.length === 1 ? '' : 's'} on this page`,
    }));
  }
}

// ---------- tokens ----------

async function tokensPage() {
  document.title = 'API tokens · Lockwell';
  main.append(h('h1', {}, 'API tokens'));
  if (state.me.role !== 'admin') {
    main.append(h('p', {}, 'Only admins manage tokens. Ask an admin for a token, or sign out to forget yours.'));
    return;
  }
  const box = errorBox('tokens-error');
  const userInput = h('input', { id: 'token-user', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-user-error' });
  const role = h('select', { id: 'token-role' }, h('option', { value: 'member' }, 'Member'), h('option', { value: 'admin' }, 'Admin'));
  const minted = h('div', { id: 'minted', class: 'minted', hidden: true });
  cleanups.push(() => minted.replaceChildren());
  const mintForm = h('form', { id: 'mint-form', class: 'card inline-form', novalidate: true },
    h('div', { class: 'field grow' }, h('label', { for: 'token-user' }, 'User'), userInput, h('p', { id: 'token-user-error', class: 'field-error' })),
    h('div', { class: 'field' }, h('label', { for: 'token-role' }, 'Role'), role),
    h('button', { type: 'submit', class: 'primary', id: 'mint' }, 'Mint token'));
  mintForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('token-user', null);
    showError(box, null);
    const user = userInput.value.trim();
    if (!user) {
      fieldError('token-user', 'Name the user the token is for.');
      userInput.focus();
      return;
    }
    let token;
    try {
      token = (await api.mintToken(user, role.value)).data.token;
    } catch (err) {
      if (err.status === 401) return;
      if (err.code === 'invalid_argument' && /^user\b/.test(err.message)) fieldError('token-user', err.message);
      else showError(box, err);
      return;
    }
    userInput.value = '';
    minted.hidden = false;
    minted.replaceChildren(
      h('p', {}, h('strong', {}, `Token for ${user} (${role.value}). `), 'Copy it now: it is shown only once and cannot be shown again.'),
      h('code', { id: 'minted-token' }, token),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'copy-minted', onclick: () => copyText(token, 'the token') }, 'Copy token'),
        h('button', { type: 'button', class: 'ghost', id: 'dismiss-minted', onclick: () => { minted.replaceChildren(); minted.hidden = true; token = null; } }, 'Done')));
    await loadList();
  });
  const listHolder = h('div', { id: 'token-list' });
  main.append(mintForm, minted, box, h('h2', {}, 'Tokens'), listHolder);

  async function loadList() {
    let items;
    try {
      items = (await api.tokens()).data.items;
    } catch (err) {
      if (err.status !== 401) showError(box, err);
      return;
    }
    if (items.length === 0) {
      listHolder.replaceChildren(h('p', { class: 'muted' }, 'No tokens.'));
      return;
    }
    listHolder.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'tokens' },
      h('thead', {}, h('tr', {}, ['ID', 'User', 'Role', 'Created', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
      h('tbody', {}, items.map((t) => {
        // The token this session holds: revoking it signs this browser out,
        // and when it is the only admin token, no admin can sign in after.
        const mine = t.id === state.tokenId;
        const lastAdmin = t.role === 'admin' && items.filter((x) => x.role === 'admin').length === 1;
        const warning = mine
          ? `This is the token you are signed in with: revoking it signs you out.${lastAdmin ? ' It is the last admin token: no admin can sign in afterwards (see the README on recovering admin access).' : ''}`
          : lastAdmin ? 'This is the last admin token: no admin can sign in afterwards (see the README on recovering admin access).' : null;
        const cell = h('div', { class: 'row-actions' });
        const ask = () => setChildren(cell,
          warning ? h('p', { class: 'revoke-warning', id: `revoke-warning-${t.id}` }, warning) : null,
          h('button', {
            type: 'button', class: 'danger small confirm-revoke', 'aria-label': `Confirm revoking ${t.id} of ${t.user}`,
            'aria-describedby': warning ? `revoke-warning-${t.id}` : null,
            onclick: async () => {
              try {
                await api.revokeToken(t.id);
              } catch (err) {
                if (err.status !== 401) showError(box, err);
                await loadList();
                return;
              }
              if (mine) {
                await api.signOut().catch(() => {});
                state.me = null;
                state.tokenId = undefined;
                renderHeader();
                go('/', { replace: true });
                toast('Revoked the token you were signed in with: you are signed out.');
                return;
              }
              toast(`Revoked the token of ${t.user}.`);
              await loadList();
            },
          }, mine ? 'Confirm: revoke and sign out' : 'Confirm revoke'),
          h('button', { type: 'button', class: 'ghost small', onclick: () => { showRevoke(); cell.querySelector('button').focus(); } }, 'Cancel'));
        const showRevoke = () => cell.replaceChildren(h('button', { type: 'button', class: 'small revoke', 'aria-label': `Revoke ${t.id} of ${t.user}`, onclick: () => { ask(); cell.querySelector('button').focus(); } }, 'Revoke'));
        showRevoke();
        return h('tr', { 'data-token-id': t.id, 'data-user': t.user, class: mine ? 'this-session' : null },
          h('th', { scope: 'row', 'data-label': 'ID' }, h('code', {}, t.id), mine ? [' ', h('span', { class: 'badge session', id: 'this-session' }, 'this session')] : null),
          h('td', { 'data-label': 'User' }, t.user),
          h('td', { 'data-label': 'Role' }, t.role),
          h('td', { 'data-label': 'Created' }, when(t.created)),
          h('td', { class: 'actions-cell' }, cell));
      })))));
  }
  await loadList();
}

// ---------- migration jobs (admins) ----------

// OUTCOMES are the outcomes of a job's entries, in the order of
// `lockwell migrate status`'s summary, with their labels.
const OUTCOMES = [
  ['pending', 'Pending'],
  ['migrated', 'Migrated'],
  ['skipped', 'Skipped'],
  ['failed', 'Failed'],
  ['not_migratable', 'Not migratable'],
];

function outcomeBadge(o) {
  const label = OUTCOMES.find(([v]) => v === o)?.[1] ?? o;
  return h('span', { class: `badge outcome-${o}` }, label);
}

function migrationURL(id, outcome) {
  const p = new URLSearchParams({ job: id });
  if (outcome) p.set('outcome', outcome);
  return `/migration?${p}`;
}

// countsLine says a job's counts as `migrate status` does: "3 entries: 1 migrated, 1 failed, 1 skipped".
function countsLine(job) {
  const parts = OUTCOMES.filter(([o]) => job.counts[o]).map(([o, l]) => `${job.counts[o]} ${l.toLowerCase()}`);
  return `${job.total} entr${job.total === 1 ? 'y' : 'ies'}${parts.length ? ': ' + parts.join(', ') : ''}`;
}

// migrationsUnavailable explains a 404 of the list route: the deployment serves no jobs.
function migrationsUnavailable(err) {
  return h('div', { class: 'empty', id: 'no-jobs' },
    h('p', {}, err.code === 'not_found' ? 'This deployment serves no migration jobs.' : err.message),
    h('p', { class: 'hint' }, 'Read a job from a terminal with lockwell migrate status JOB --jobs URL.'));
}

async function migrationsPage() {
  document.title = 'Migrations · Lockwell';
  main.append(h('h1', {}, 'Migrations'));
  if (state.me.role !== 'admin') {
    main.append(h('p', {}, 'Only admins see migration jobs.'));
    return;
  }
  let items;
  try {
    items = (await api.migrations()).data.items;
  } catch (err) {
    if (err.status === 401) throw err;
    main.append(migrationsUnavailable(err));
    return;
  }
  if (items.length === 0) {
    main.append(h('div', { class: 'empty', id: 'empty' },
      h('h2', {}, 'No migration jobs yet'),
      h('p', {}, 'Start one from a terminal; each job then shows here with the outcome of every entry:'),
      h('pre', {}, h('code', {}, "lockwell migrate start --source 'zenml-aws://?region=eu-west-1' --queue-url URL"))));
    return;
  }
  main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'jobs' },
    h('caption', { class: 'visually-hidden' }, 'Migration jobs, newest first'),
    h('thead', {}, h('tr', {}, ['Job', 'Source', 'Owner', 'Created', 'Entries'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((j) => h('tr', { 'data-job': j.id },
      h('th', { scope: 'row', 'data-label': 'Job' }, h('a', { href: migrationURL(j.id), 'data-link': true, class: 'job-id' }, h('code', {}, j.id))),
      h('td', { 'data-label': 'Source', class: 'source' }, h('code', {}, j.source)),
      h('td', { 'data-label': 'Owner' }, j.owner),
      h('td', { 'data-label': 'Created' }, when(j.created)),
      h('td', { 'data-label': 'Entries', class: 'job-counts' }, countsLine(j))))))));
}

async function migrationPage() {
  const p = new URLSearchParams(location.search);
  const id = p.get('job') ?? '';
  const outcome = OUTCOMES.some(([o]) => o === p.get('outcome')) ? p.get('outcome') : '';
  document.title = 'Migration job · Lockwell';
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/migrations', 'data-link': true }, 'Migrations'), ` › ${id}`);
  if (state.me.role !== 'admin') {
    main.append(crumbs, h('h1', {}, 'Migration job'), h('p', {}, 'Only admins see migration jobs.'));
    return;
  }
  let data;
  try {
    data = (await api.migration(id, outcome)).data;
  } catch (err) {
    if (err.status === 401) throw err;
    main.append(crumbs, h('h1', {}, 'Migration job'), err.code === 'not_found' && !/serves no/.test(err.message)
      ? h('p', { id: 'job-missing' }, 'There is no such job. ', h('a', { href: '/migrations', 'data-link': true }, 'Back to the migrations'))
      : migrationsUnavailable(err));
    return;
  }
  const { job, entries } = data;
  document.title = `Job ${job.id} · Lockwell`;
  const filter = h('select', { id: 'outcome', name: 'outcome' },
    h('option', { value: '', selected: outcome === '' }, `All (${job.total})`),
    OUTCOMES.map(([o, l]) => h('option', { value: o, selected: o === outcome }, `${l} (${job.counts[o] ?? 0})`)));
  filter.addEventListener('change', () => {
    state.restoreFocus = 'outcome';
    go(migrationURL(job.id, filter.value), { replace: true });
  });
  const opts = job.options ?? {};
  main.append(
    crumbs,
    h('div', { class: 'page-head' }, h('h1', {}, 'Migration job')),
    h('dl', { class: 'meta card' },
      h('div', { class: 'wide' }, h('dt', {}, 'ID'), h('dd', {}, h('code', { id: 'job-id' }, job.id))),
      h('div', { class: 'wide' }, h('dt', {}, 'Source'), h('dd', {}, h('code', { id: 'job-source' }, job.source))),
      h('div', {}, h('dt', {}, 'Owner'), h('dd', { id: 'job-owner' }, job.owner)),
      h('div', {}, h('dt', {}, 'Created'), h('dd', {}, when(job.created))),
      h('div', {}, h('dt', {}, 'Options'), h('dd', { id: 'job-options' },
        [opts.private ? 'private' : 'public', `on conflict ${opts.on_conflict || 'fail'}`, opts.delete_source ? 'deletes the source' : 'keeps the source'].join(', '))),
      h('div', { class: 'wide' }, h('dt', {}, 'Entries'), h('dd', { id: 'job-summary' }, countsLine(job)))),
    job.counts.failed ? h('p', { class: 'hint', id: 'retry-hint' }, `Retry the failed entries with lockwell migrate retry ${job.id}.`) : null,
    h('form', { class: 'filters', 'aria-label': 'Filter entries', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: 'outcome' }, 'Outcome'), filter)),
  );
  if (state.restoreFocus === 'outcome') {
    filter.focus();
    state.restoreFocus = null;
  }
  if (entries.length === 0) {
    main.append(h('p', { class: 'muted', id: 'no-entries' }, 'No entries with this outcome.'));
    return;
  }
  main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'entries' },
    h('caption', { class: 'visually-hidden' }, 'Entries of the job and their outcomes'),
    h('thead', {}, h('tr', {}, ['Entry', 'Outcome', 'Attempts', 'Target', 'Reason', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, entries.map((e) => h('tr', { 'data-entry': e.name, 'data-outcome': e.outcome },
      h('th', { scope: 'row', 'data-label': 'Entry' }, h('code', {}, e.name)),
      h('td', { 'data-label': 'Outcome' }, outcomeBadge(e.outcome)),
      h('td', { 'data-label': 'Attempts', class: 'num' }, String(e.attempts)),
      h('td', { 'data-label': 'Target' }, e.target_id ? h('a', { href: `/secret?id=${encodeURIComponent(e.target_id)}`, 'data-link': true }, e.target || e.target_id) : (e.target ?? '')),
      h('td', { 'data-label': 'Reason', class: 'reason' }, e.reason ?? ''),
      h('td', { 'data-label': 'Updated' }, when(e.updated))))))));
}

boot();
