import { ApiError } from '../errors';

/**
 * A send Meta's rules or the customer's consent do not allow (window closed, template not
 * approved, no opt-in, …). Raised when queueing, so the operator API answers 422 with the reason
 * and the way out; the send job records the same codes on the message when it refuses at send time.
 */
export class SendRefusedError extends ApiError {
  constructor(
    /** Stable machine code: window_closed, never_wrote, template_not_approved, opted_out, … */
    readonly reasonCode: string,
    readonly reason: string,
  ) {
    super('UNPROCESSABLE', reason);
    this.name = 'SendRefusedError';
  }
}
