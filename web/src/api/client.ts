import createClient from 'openapi-fetch';
import { accessToken, markExpired, renewAfterUnauthorized } from '../session/session';
import { activeTenant } from '../session/tenant';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/**
 * The one typed client for the Worker's API: paths, parameters and bodies come from
 * schema.d.ts, generated from the Worker's OpenAPI document (`npm run web:api-types`), so a
 * route the API does not have fails the type check. Every request carries the operator's
 * access token and the business they act on: a request without X-Tenant-Id acts on the
 * operator's first business, so anything fetched around this client breaks in a second one.
 */
export const api = createClient<paths>({ baseUrl: location.origin });

api.use({
  onRequest({ request }) {
    const token = accessToken();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    const tenant = activeTenant.get();
    if (tenant) request.headers.set('x-tenant-id', tenant);
    return request;
  },
});

/** The API's one error envelope, as an Error with its message and status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

type Outcome<D> = { data?: D; error?: unknown; response: Response };

const envelopeMessage = (error: unknown): string | undefined =>
  (error as { error?: { message?: string } } | undefined)?.error?.message;

/**
 * Runs a typed call and returns its data, or throws ApiError. On a 401 the session is renewed
 * once (supabase-js refresh) and the call repeated; when that is not possible the sign-in prompt
 * opens (the page keeps its state) and the call fails.
 */
export async function call<D>(run: () => Promise<Outcome<D>>): Promise<D> {
  let outcome = await run();
  if (outcome.response.status === 401 && (await renewAfterUnauthorized())) {
    outcome = await run();
    if (outcome.response.status === 401) markExpired();
  }
  const { response, error, data } = outcome;
  if (!response.ok || error !== undefined) {
    throw new ApiError(
      envelopeMessage(error) ?? `Request failed (${response.status})`,
      response.status,
    );
  }
  return data as D;
}
