// Every call the page makes goes through here: the operator's access token, the business they act
// on (X-Tenant-Id) and the API's error envelope turned into an Error with its message.
let supabaseClient;

export async function auth() {
  if (supabaseClient) return supabaseClient;
  // The page's own configuration, read before there is a session to send: not an API call.
  const config = await (await fetch('/config.json')).json();
  supabaseClient = window.supabase.createClient(config.supabase_url, config.supabase_anon_key);
  return supabaseClient;
}

export const activeTenant = {
  get: () => localStorage.getItem('switchboard.tenant'),
  set: (id) => localStorage.setItem('switchboard.tenant', id),
};

/**
 * The one way the page calls the API (JSON calls and files alike): adds the access token and the
 * business the operator acts on. A request without X-Tenant-Id acts on the operator's first
 * business, so anything fetched around this helper breaks in a second business.
 */
export async function request(path, init = {}) {
  const { data } = await (await auth()).auth.getSession();
  const headers = new Headers(init.headers);
  if (data.session) headers.set('authorization', `Bearer ${data.session.access_token}`);
  const tenant = activeTenant.get();
  if (tenant) headers.set('x-tenant-id', tenant);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(path, { ...init, headers });
}

async function failure(res) {
  const body = await res.json().catch(() => null);
  const error = new Error(body?.error?.message ?? `Request failed (${res.status})`);
  error.status = res.status;
  return error;
}

export async function api(path, init = {}) {
  const res = await request(path, init);
  if (!res.ok) throw await failure(res);
  return res.json().catch(() => null);
}

/** A file the API serves (a customer's attachment), as a Blob of its content type. */
export async function apiBlob(path) {
  const res = await request(path);
  if (!res.ok) throw await failure(res);
  return res.blob();
}

export const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body ?? {}) });
