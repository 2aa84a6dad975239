/**
 * What a Graph API error means for the send path, in one table: whether retrying can help, and a
 * plain-language reason an operator can act on. Keyed on `code` (and `error_subcode` where Meta
 * overloads a code), never on titles, which Meta is deprecating (meta-platform reference §2).
 *
 * Transient errors are retried with backoff; permanent ones fail the message at once and are never
 * retried: sending the same thing again would only fail the same way (or, for policy blocks, make
 * things worse).
 */

export type GraphErrorClass = 'transient' | 'permanent';

export type GraphErrorMeaning = {
  classification: GraphErrorClass;
  /** For operators: what happened and what to do, without Graph jargon. */
  reason: string;
  /** Pair-rate limiting (131056) backs off 4^X seconds instead of the usual exponential delay. */
  backoff?: 'pair-rate';
};

const RETRYING = 'It will be retried automatically.';
const WINDOW_CLOSED =
  'More than 24 hours have passed since the customer last wrote, so WhatsApp only accepts an ' +
  'approved template now. Send a template instead.';
const RECONNECT = 'Reconnect the channel in the settings; sending is stopped until then.';

const MEANINGS: Record<string, GraphErrorMeaning> = {
  // --- transient: Meta is busy, rate limiting, or briefly unavailable --------------------------
  '130429': {
    classification: 'transient',
    reason: `Too many messages per second from this number. ${RETRYING}`,
  },
  '131056': {
    classification: 'transient',
    backoff: 'pair-rate',
    reason: `Too many messages to this customer in a short time. ${RETRYING}`,
  },
  '131048': {
    classification: 'transient',
    reason: `Meta is limiting this number because of its quality rating (spam rate limit). ${RETRYING}`,
  },
  '131057': {
    classification: 'transient',
    reason: `The WhatsApp business account is in maintenance. ${RETRYING}`,
  },
  '131000': { classification: 'transient', reason: `Meta had an unknown problem. ${RETRYING}` },
  '131016': {
    classification: 'transient',
    reason: `A Meta service is temporarily unavailable. ${RETRYING}`,
  },
  '2': { classification: 'transient', reason: `Meta is temporarily unavailable. ${RETRYING}` },
  '133004': {
    classification: 'transient',
    reason: `The WhatsApp server is temporarily unavailable. ${RETRYING}`,
  },
  '80007': {
    classification: 'transient',
    reason: `The WhatsApp business account reached Meta's API rate limit. ${RETRYING}`,
  },
  '4': {
    classification: 'transient',
    reason: `The app reached Meta's API rate limit. ${RETRYING}`,
  },
  '613': {
    classification: 'transient',
    reason: `The page reached Meta's send rate limit. ${RETRYING}`,
  },

  // --- permanent: the window, the recipient, the template, the account -------------------------
  '131047': { classification: 'permanent', reason: WINDOW_CLOSED },
  '470': { classification: 'permanent', reason: WINDOW_CLOSED },
  '131026': {
    classification: 'permanent',
    reason:
      'WhatsApp could not deliver to this number: it may not use WhatsApp, run an old app version, ' +
      'not have accepted the terms, or have blocked the business.',
  },
  '131049': {
    classification: 'permanent',
    reason:
      'WhatsApp held back this marketing message to protect the customer from too many ' +
      'promotions. Try again in 24 hours at the earliest.',
  },
  '131050': {
    classification: 'permanent',
    reason: 'The customer stopped marketing messages from this business.',
  },
  '131051': { classification: 'permanent', reason: 'WhatsApp does not support this message type.' },
  '131052': {
    classification: 'permanent',
    reason: 'The media could not be downloaded by WhatsApp.',
  },
  '131053': {
    classification: 'permanent',
    reason: 'The media could not be uploaded: its type or size is not accepted.',
  },
  '131008': {
    classification: 'permanent',
    reason: 'The message was missing a required field. This is a bug on our side.',
  },
  '131009': {
    classification: 'permanent',
    reason: 'Meta did not accept a value in the message (too long, malformed or unknown id).',
  },
  '100': {
    classification: 'permanent',
    reason: 'Meta rejected a parameter of the message (wrong recipient or malformed content).',
  },
  '132000': {
    classification: 'permanent',
    reason: 'The number of template parameters does not match the template.',
  },
  '132001': {
    classification: 'permanent',
    reason:
      'The template does not exist in this language or is not approved. Sync the templates and ' +
      'pick an approved one.',
  },
  '132005': {
    classification: 'permanent',
    reason: 'The template text is too long once the parameters are filled in.',
  },
  '132007': {
    classification: 'permanent',
    reason: "The template text breaks WhatsApp's formatting policy.",
  },
  '132012': {
    classification: 'permanent',
    reason: 'The template parameters do not match the format of the template.',
  },
  '132015': {
    classification: 'permanent',
    reason: 'Meta paused this template because of low quality. Edit it or use another template.',
  },
  '132016': {
    classification: 'permanent',
    reason: 'Meta disabled this template after repeated quality problems. Create a new template.',
  },
  '132068': { classification: 'permanent', reason: 'The WhatsApp Flow is blocked.' },
  '132069': {
    classification: 'permanent',
    reason: 'The WhatsApp Flow is throttled (at most 10 messages an hour).',
  },
  '368': {
    classification: 'permanent',
    reason:
      'Meta temporarily blocked this account for policy violations. Sending is stopped; check ' +
      'the account in Meta Business Manager.',
  },
  '131031': {
    classification: 'permanent',
    reason: 'The WhatsApp business account is locked. Check it in Meta Business Manager.',
  },
  '131042': {
    classification: 'permanent',
    reason:
      'There is a payment problem on the WhatsApp business account. Fix the payment method in ' +
      'Meta Business Manager.',
  },
  '133010': {
    classification: 'permanent',
    reason: 'The phone number is not registered with the WhatsApp Cloud API.',
  },
  '0': { classification: 'permanent', reason: `Meta could not authenticate the app. ${RECONNECT}` },
  '190': {
    classification: 'permanent',
    reason: `The channel's access token expired or was revoked. ${RECONNECT}`,
  },
  '10': {
    classification: 'permanent',
    reason: `The app lacks permission for this account. ${RECONNECT}`,
  },
  '551': {
    classification: 'permanent',
    reason: 'This person is not available on Messenger right now.',
  },
  // Messenger's "outside the allowed window" is code 10 with this subcode.
  '10/2018278': {
    classification: 'permanent',
    reason:
      'The Messenger / Instagram reply window has closed: the customer last wrote more than ' +
      '24 hours ago (7 days for a human agent reply).',
  },
};

/** Meta's 200–299 range: permission errors for a specific object or capability. */
const PERMISSION: GraphErrorMeaning = {
  classification: 'permanent',
  reason: `The app lacks permission for this account or action. ${RECONNECT}`,
};

/**
 * The meaning of a Graph error. `httpStatus` decides only for codes the table does not know:
 * 5xx and 429 are worth retrying, any other refusal is not.
 */
export function graphErrorMeaning(error: {
  code?: number | string | null;
  subcode?: number | null;
  httpStatus?: number | null;
  message?: string;
}): GraphErrorMeaning {
  const code = error.code === undefined || error.code === null ? undefined : String(error.code);
  if (code !== undefined) {
    const specific = error.subcode ? MEANINGS[`${code}/${error.subcode}`] : undefined;
    const known = specific ?? MEANINGS[code];
    if (known) return known;
    const numeric = Number(code);
    if (numeric >= 200 && numeric <= 299) return PERMISSION;
  }
  const status = error.httpStatus ?? 0;
  if (status >= 500 || status === 429) {
    return { classification: 'transient', reason: `Meta answered with an error. ${RETRYING}` };
  }
  const detail = error.message ? `: ${error.message}` : '.';
  return { classification: 'permanent', reason: `Meta refused the message${detail}` };
}

/** The plain-language reason alone, for status webhooks that report a failure (Inbound). */
export function graphErrorReason(code: number | string, subcode?: number | null): string {
  return graphErrorMeaning({ code, subcode }).reason;
}
