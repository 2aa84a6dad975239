/**
 * What Gupshup's answers and failure codes mean for the send path, in one place: the synchronous
 * HTTP refusals of the send API and the codes of `failed` message events
 * (docs/providers.md "Send errors and their classification"). The meanings are Gupshup's; the
 * transient / permanent judgement is ours. Codes Gupshup relays from WhatsApp (131047, 131026, …)
 * keep Meta's meaning (core/messaging/graph-errors.ts), so an operator reads the same reason
 * whichever provider carries the number.
 */
import { type GraphErrorMeaning, graphErrorMeaning } from '../../../core/messaging/graph-errors';

const RETRYING = 'It will be retried automatically.';
const RECONNECT = 'Reconnect the channel in the settings; sending is stopped until then.';
/** The same words as Meta's 131047, so the window reads alike on every provider. */
const WINDOW_CLOSED = graphErrorMeaning({ code: 131047 }).reason;
const NOT_OPTED_IN =
  'Gupshup only sends templates to customers opted in on Gupshup, and this customer is not. ' +
  'Opt them in on Gupshup (or wait until they write first), then send again.';
const BAD_MEDIA = 'WhatsApp could not use the media: its link or its size is not accepted.';

const permanent = (reason: string): GraphErrorMeaning => ({ classification: 'permanent', reason });
const transient = (reason: string): GraphErrorMeaning => ({ classification: 'transient', reason });

/**
 * Gupshup's own failure codes (https://docs.gupshup.io/docs/error-and-status-messages). They
 * are read before Meta's table: the two overlap only at 500, which here is Gupshup's.
 */
const GUPSHUP_CODES: Record<string, GraphErrorMeaning> = {
  '1001': permanent(
    "Gupshup says the app and the sender do not match (sandbox mapping). Check the channel's " +
      'Gupshup app name and number.',
  ),
  '1002': permanent('This number does not exist on WhatsApp.'),
  '1003': permanent(
    'The Gupshup wallet balance is too low to send. Top up the Gupshup account, then send again.',
  ),
  // Gupshup's own 24-hour check refuses free-form messages before WhatsApp sees them.
  '1004': permanent(WINDOW_CLOSED),
  '1005': permanent(WINDOW_CLOSED),
  '1006': permanent(NOT_OPTED_IN),
  '1007': permanent(WINDOW_CLOSED),
  '1008': permanent(NOT_OPTED_IN),
  '1010': permanent(BAD_MEDIA),
  '1011': permanent(BAD_MEDIA),
  '1012': permanent('The customer opted out of messages from this business on Gupshup.'),
  // "Stop sending messages and contact Gupshup": a long pause, not a failure of the message.
  '4001': transient(`Gupshup is rate limiting this app. ${RETRYING}`),
  '4002': transient(`Gupshup got an invalid answer from WhatsApp. ${RETRYING}`),
  '4003': permanent(
    'Gupshup found no approved template matching this message. Sync the templates and pick an ' +
      'approved one.',
  ),
  '4004': permanent('This Gupshup app does not support this kind of message.'),
  '4005': permanent('The template is paused. Edit it or use another template.'),
  '500': transient(`Gupshup had an internal error. ${RETRYING}`),
};

/** Whether Meta's table knows the code: then it is WhatsApp's error relayed by Gupshup. */
function isMetaCode(code: string): boolean {
  const known = graphErrorMeaning({ code });
  // graphErrorMeaning falls back to a generic refusal for codes it does not know; a known code
  // has its own reason, never the fallback's.
  return known.reason !== graphErrorMeaning({ code: null }).reason;
}

/** The meaning of a `failed` event's `{code, reason}`: Gupshup's table, then Meta's. */
export function gupshupFailureMeaning(code: string, reason: string | null): GraphErrorMeaning {
  const own = GUPSHUP_CODES[code];
  if (own) return own;
  if (isMetaCode(code) || Number(code) >= 100_000) {
    return graphErrorMeaning({ code, message: reason ?? undefined });
  }
  return permanent(`Gupshup could not deliver the message${reason ? `: ${reason}` : '.'}`);
}

/**
 * The meaning of a synchronous refusal of the send API (`{status: "error", message}`), by HTTP
 * status, then by Gupshup's message where one status covers several causes.
 */
export function gupshupHttpMeaning(httpStatus: number, message: string): GraphErrorMeaning {
  if (httpStatus === 401 || httpStatus === 403 || /authentication failed/i.test(message)) {
    return permanent(`Gupshup refused the channel's API key. ${RECONNECT}`);
  }
  if (httpStatus === 429) return transient(`Gupshup is rate limiting this app. ${RETRYING}`);
  if (httpStatus >= 500) return transient(`Gupshup answered with an error. ${RETRYING}`);
  if (/invalid destination/i.test(message)) {
    return permanent("Gupshup says the customer's number is not a valid WhatsApp number.");
  }
  if (/invalid app details/i.test(message)) {
    return permanent(
      "Gupshup does not know this app name and number together. Check the channel's Gupshup app " +
        `name and number in the settings. ${RECONNECT}`,
    );
  }
  return permanent(`Gupshup refused the message${message ? `: ${message}` : '.'}`);
}

/** For a send that could not reach Gupshup at all: nothing left, so sending again is safe. */
export const GUPSHUP_UNREACHABLE = transient(`Gupshup could not be reached. ${RETRYING}`);
/** For a send whose answer never came: Gupshup may have it (`outcomeUnknown` decides). */
export const GUPSHUP_NO_ANSWER = transient('Gupshup did not answer in time.');
/**
 * For a 2xx answer without Gupshup's `{status: "submitted", messageId}`: Gupshup may have taken
 * the message, so it is treated as no answer (never resent on its own).
 */
export const GUPSHUP_BAD_ANSWER = transient(
  'Gupshup answered without a message id, so it may or may not have the message.',
);
