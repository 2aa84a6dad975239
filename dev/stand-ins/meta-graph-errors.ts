/**
 * Graph API errors as Meta returns them, so the sender's error handling (keyed on `code` and
 * `error_data.details`, per Meta's advice) is exercised against the real shape:
 * `{ error: { message, type, code, error_subcode?, error_data?, fbtrace_id } }`.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface GraphErrorSpec {
  /** HTTP status; Graph answers most errors with 400. */
  status?: number;
  code: number;
  subcode?: number;
  message: string;
  /** WhatsApp's `error_data.details`: the part that says *what* was wrong. */
  details?: string;
  /** Almost always OAuthException, even for plain parameter errors. */
  type?: string;
}

export class GraphError extends Error {
  constructor(readonly spec: GraphErrorSpec) {
    super(spec.message);
  }
}

function fbtraceId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
    .toString('base64')
    .slice(0, 23);
}

export function graphErrorBody(spec: GraphErrorSpec, whatsapp: boolean) {
  return {
    error: {
      message: spec.message,
      type: spec.type ?? 'OAuthException',
      code: spec.code,
      ...(spec.subcode === undefined ? {} : { error_subcode: spec.subcode }),
      ...(spec.details === undefined
        ? {}
        : {
            error_data: whatsapp
              ? { messaging_product: 'whatsapp', details: spec.details }
              : { details: spec.details },
          }),
      fbtrace_id: fbtraceId(),
    },
  };
}

export function graphErrorResponse(spec: GraphErrorSpec, whatsapp: boolean): Response {
  const status = (spec.status ?? 400) as ContentfulStatusCode;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.code === 190) {
    // Graph names the token problem in this header as well as in the body.
    headers['www-authenticate'] = `OAuth "Facebook Platform" "invalid_token" "${spec.message}"`;
  }
  return new Response(JSON.stringify(graphErrorBody(spec, whatsapp)), { status, headers });
}

export const invalidToken = () =>
  new GraphError({
    status: 401,
    code: 190,
    message: 'Invalid OAuth access token - Cannot parse access token',
  });

/** What Graph says for an id that is not one of "our" objects (or not reachable with the token). */
export const unknownObject = (id: string, method: 'get' | 'post' | 'delete') =>
  new GraphError({
    code: 100,
    subcode: 33,
    message:
      `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due ` +
      'to missing permissions, or does not support this operation. Please read the Graph API ' +
      'documentation at https://developers.facebook.com/docs/graph-api',
  });

/** A required field is absent (WhatsApp 131008). */
export const missingParam = (param: string) =>
  new GraphError({
    code: 131008,
    message: '(#131008) Required parameter is missing',
    details: `Parameter '${param}' is required.`,
  });

/** A field is present but breaks a documented limit (WhatsApp 131009). */
export const invalidParam = (details: string) =>
  new GraphError({ code: 131009, message: '(#131009) Parameter value is not valid', details });

/** Structural problems Graph reports as a plain #100 (wrong product, unknown type, bad JSON). */
export const badRequest = (message: string, details?: string) =>
  new GraphError({ code: 100, message: `(#100) ${message}`, details });
