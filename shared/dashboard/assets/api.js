// api.js: the dashboard's one way to call the Lockwell API. Requests go to
// this origin with the session cookie (HttpOnly: scripts never see the
// token); every state-changing request carries the CSRF header the session
// layer requires. Errors become ApiError with the API's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const listeners = { unauthenticated: [] };

/** onUnauthenticated registers fn to run when a call answers 401. */
export function onUnauthenticated(fn) {
  listeners.unauthenticated.push(fn);
}

/**
 * call sends one request. opts: body (JSON-encoded), query (object; empty
 * values dropped), ifMatch (a version number). Returns {data, version,
 * sessionTokenId}: sessionTokenId is the id of the token the session cookie
 * holds, which sign-in and whoami answer in X-Lockwell-Session-Token-Id.
 */
export async function call(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Lockwell-CSRF'] = '1';
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (opts.ifMatch) headers['If-Match'] = `"${opts.ifMatch}"`;
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    if (s) url += '?' + s;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached. Check that it is running, then try again.');
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error?.code ?? 'unknown', data?.error?.message ?? `The server answered HTTP ${res.status}.`);
    if (res.status === 401 && !opts.noRedirect) listeners.unauthenticated.forEach((fn) => fn(err));
    throw err;
  }
  const etag = res.headers.get('ETag');
  return {
    data,
    version: etag ? Number(etag.replaceAll('"', '')) : undefined,
    sessionTokenId: res.headers.get('X-Lockwell-Session-Token-Id') ?? undefined,
  };
}

export const api = {
  whoami: () => call('GET', '/api/v1/whoami', { noRedirect: true }),
  signIn: (token) => call('POST', '/api/v1/session', { body: { token }, noRedirect: true }),
  signOut: () => call('DELETE', '/api/v1/session', { noRedirect: true }),
  list: (query) => call('GET', '/api/v1/secrets', { query }),
  get: (id) => call('GET', `/api/v1/secrets/${encodeURIComponent(id)}`),
  create: (body) => call('POST', '/api/v1/secrets', { body }),
  update: (id, body, version) => call('PATCH', `/api/v1/secrets/${encodeURIComponent(id)}`, { body, ifMatch: version }),
  versions: (id) => call('GET', `/api/v1/secrets/${encodeURIComponent(id)}/versions`),
  getVersion: (id, version) => call('GET', `/api/v1/secrets/${encodeURIComponent(id)}`, { query: { version } }),
  rollback: (id, version, current) => call('POST', `/api/v1/secrets/${encodeURIComponent(id)}/rollback`, { body: { version }, ifMatch: current }),
  deletedList: (query) => call('GET', '/api/v1/secrets', { query: { ...query, deleted: 'true' } }),
  restore: (id, name, version) => call('POST', `/api/v1/secrets/${encodeURIComponent(id)}/restore`, { body: name ? { name } : {}, ifMatch: version }),
  remove: (id, version) => call('DELETE', `/api/v1/secrets/${encodeURIComponent(id)}`, { ifMatch: version }),
  tokens: () => call('GET', '/api/v1/tokens'),
  mintToken: (user, role) => call('POST', '/api/v1/tokens', { body: { user, role } }),
  audit: (query) => call('GET', '/api/v1/audit', { query }),
  migrations: () => call('GET', '/api/v1/migrations'),
  migration: (id, outcome) => call('GET', `/api/v1/migrations/${encodeURIComponent(id)}`, { query: { outcome } }),
  revokeToken: (id) => call('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`),
};
