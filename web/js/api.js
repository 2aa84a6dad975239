// Every call the page makes to the Worker goes through here, with the operator's access token.
let supabaseClient;

export async function auth() {
  if (supabaseClient) return supabaseClient;
  const config = await (await fetch('/config.json')).json();
  supabaseClient = window.supabase.createClient(config.supabase_url, config.supabase_anon_key);
  return supabaseClient;
}

export async function api(path, init = {}) {
  const { data } = await (await auth()).auth.getSession();
  const headers = new Headers(init.headers);
  if (data.session) headers.set('authorization', `Bearer ${data.session.access_token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `Request failed (${res.status})`);
  return body;
}
