import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConflictError, DomainError, type DomainErrorKind } from '../core/errors';
import type { HonoEnv } from './context';
import { safeErrorFields } from './lib/logger';

/** The closed set of error codes clients can see. */
export const errorCode = z.enum([
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNPROCESSABLE',
  'RATE_LIMITED',
  'BAD_ENVIRONMENT',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);
export type ErrorCode = z.infer<typeof errorCode>;

const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  BAD_ENVIRONMENT: 500,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(statusOf[code], { message });
    this.code = code;
  }
}

/** Domain errors (core/errors.ts) become HTTP here and nowhere else; exhaustive by type. */
const codeOfDomainError: Record<DomainErrorKind, ErrorCode> = {
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  invalid: 'BAD_REQUEST',
  refused: 'UNPROCESSABLE',
};

export function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/**
 * The one place errors become responses: `{ error: { code, message, requestId } }`. A conflict
 * caused by an existing thing (the appointment holding a slot) also names it, `conflicting_id`,
 * so a client can show or open it; no other error carries more.
 */
export function handleError(err: Error, c: Context<HonoEnv>) {
  const requestId = c.get('requestId') ?? 'unknown';
  let code: ErrorCode;
  let message: string;
  let conflictingId: string | undefined;
  if (err instanceof ApiError) {
    code = err.code;
    message = err.message;
  } else if (err instanceof DomainError) {
    code = codeOfDomainError[err.kind];
    message = err.message;
    if (err instanceof ConflictError) conflictingId = err.conflictingId;
  } else if (err instanceof z.ZodError) {
    code = 'BAD_REQUEST';
    message = zodMessage(err);
  } else if (err instanceof HTTPException) {
    code = codeForStatus(err.status);
    message = err.message || codeForStatus(err.status).toLowerCase().replaceAll('_', ' ');
  } else {
    code = 'INTERNAL_SERVER_ERROR';
    message = 'Something went wrong on our side; it has been logged.';
    // Never the raw message: a failed query's message carries its parameters (personal data).
    c.get('logger')?.error('unhandled error', safeErrorFields(err));
  }
  const error = {
    code,
    message,
    requestId,
    ...(conflictingId ? { conflicting_id: conflictingId } : {}),
  };
  return c.json({ error }, statusOf[code]);
}

function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(statusOf) as Array<[ErrorCode, number]>).find(
    ([, s]) => s === status,
  );
  return found ? found[0] : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST';
}
