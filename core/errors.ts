/**
 * Domain errors: what went wrong in the terms of the business, with no HTTP in them. `db/`, the
 * agent and the job handlers throw these; `functions/errors.ts` maps each kind to a status through
 * one exhaustive table, so a new kind cannot reach a client unmapped.
 */
export type DomainErrorKind = 'not_found' | 'conflict' | 'invalid' | 'refused';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
}

/** The thing does not exist, or belongs to another tenant (which must look the same). */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(entity: string, id: string) {
    super(`${entity} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** The thing exists but its state does not allow this (a draft already decided, a slot taken). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  constructor(
    message: string,
    /** The existing thing in the way, when there is one (the appointment holding a slot). */
    readonly conflictingId?: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Input that passed the schema but breaks a rule the schema cannot state (too many buttons, …). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/**
 * A send Meta's rules or the customer's consent do not allow (window closed, template not
 * approved, no opt-in, …). Raised when queueing, so the operator sees the reason and the way out;
 * the send job records the same codes on the message when it refuses at send time.
 */
export class SendRefusedError extends DomainError {
  readonly kind = 'refused';
  constructor(
    /** Stable machine code: window_closed, never_wrote, template_not_approved, opted_out, … */
    readonly reasonCode: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'SendRefusedError';
  }
}
