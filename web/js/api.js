// Every call the page makes goes through here: the operator's access token, the business they act
// on (X-Tenant-Id) and the API's error envelope turned into an Error with its message.
let supabaseClient;

export async function auth() {
  if (supabaseClient) return supabaseClient;
  const config = await (await fetch('/config.json')).json();
  supabaseClient = window.supabase.createClient(config.supabase_url, config.supabase_anon_key);
  return supabaseClient;
}

export const activeTenant = {
  get: () => localStorage.getItem('switchboard.tenant'),
  set: (id) => localStorage.setItem('switchboard.tenant', id),
};

export async function api(path, init = {}) {
  const { data } = await (await auth()).auth.getSession();
  const headers = new Headers(init.headers);
  if (data.session) headers.set('authorization', `Bearer ${data.session.access_token}`);
  const tenant = activeTenant.get();
  if (tenant) headers.set('x-tenant-id', tenant);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(body?.error?.message ?? `Request failed (${res.status})`);
    error.status = res.status;
    throw error;
  }
  return body;
}

export const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body ?? {}) });
