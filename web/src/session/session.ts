import { signal } from '@preact/signals';
import { createClient, type Session, type SupabaseClient } from '@supabase/supabase-js';
import { api } from '../api/client';

/**
 * The operator's Supabase session. supabase-js keeps it in localStorage and refreshes the access
 * token before it expires (autoRefreshToken); `session` follows it. When the API still answers
 * 401 (a token expired while the tab slept, a session ended elsewhere), one refresh is tried;
 * if that fails `expired` opens the sign-in prompt over the page, which keeps its state (the
 * open chat) and carries on after signing in again.
 */
export const session = signal<Session | null>(null);
export const expired = signal(false);

let auth: SupabaseClient | undefined;
let signingOut = false;

export const accessToken = () => session.value?.access_token;

/** Reads the page's Supabase project from /config.json and the stored session, once. */
export async function startSession(): Promise<void> {
  const { data: config } = await api.GET('/config.json');
  if (!config) throw new Error('The page configuration (/config.json) could not be read.');
  auth = createClient(config.supabase_url, config.supabase_anon_key, {
    auth: { autoRefreshToken: true, persistSession: true },
  });
  auth.auth.onAuthStateChange((event, next) => {
    // supabase-js signs out by itself when a refresh is refused: that is an ended session, to
    // sign in again over the open page, not a sign-out that closes it.
    if (event === 'SIGNED_OUT' && !signingOut && session.value) {
      expired.value = true;
      return;
    }
    session.value = next;
  });
  session.value = (await auth.auth.getSession()).data.session;
}

function client(): SupabaseClient {
  if (!auth) throw new Error('startSession() first');
  return auth;
}

/** Signs in with email and password; resolves to the reason when refused. */
export async function signIn(email: string, password: string): Promise<string | null> {
  const { data, error } = await client().auth.signInWithPassword({ email, password });
  if (error) return error.message;
  session.value = data.session;
  expired.value = false;
  return null;
}

/** Ends the session on every device (supabase-js's global scope), then here. */
export async function signOut(): Promise<void> {
  signingOut = true;
  await client()
    .auth.signOut()
    .catch(() => {});
  // A session already ended elsewhere cannot be signed out on the server; end it here anyway.
  await client()
    .auth.signOut({ scope: 'local' })
    .catch(() => {});
  signingOut = false;
  session.value = null;
  expired.value = false;
}

/** The API refused even a freshly refreshed token: only signing in again helps. */
export function markExpired() {
  if (session.value) expired.value = true;
}

let renewing: Promise<boolean> | null = null;

/** After a 401: true when a refreshed token is worth retrying with, else opens the prompt. */
export function renewAfterUnauthorized(): Promise<boolean> {
  if (!auth || !session.value || expired.value) return Promise.resolve(false);
  renewing ??= client()
    .auth.refreshSession()
    .then(({ data, error }) => {
      if (error || !data.session) {
        expired.value = true;
        return false;
      }
      session.value = data.session;
      return true;
    })
    .finally(() => {
      renewing = null;
    });
  return renewing;
}
