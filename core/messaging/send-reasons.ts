/**
 * Why a message was not sent, or not yet: the plain-language reason an operator sees beside each of
 * our own codes, in one table. Meta's error codes keep theirs in graph-errors.ts; refusals by the
 * window, a template's status or consent carry theirs from window.ts, templates.ts and consent.ts.
 */

export type SendReasonCode =
  /** Cancelled: an agent reply the human-override lock stopped. */
  | 'conversation_locked'
  /** Cancelled: an agent reply a newer customer message made stale. */
  | 'superseded'
  /** Failed: the stored message no longer parses for its channel. */
  | 'invalid_message'
  /** Requeued: the number's messages-per-second cap. */
  | 'throughput_cap'
  /** Failed: the channel has no access token. */
  | 'not_connected'
  /** Failed: the access token cannot be decrypted. */
  | 'credentials_unreadable'
  /** Failed: Graph gave no answer, so Meta may have the message. */
  | 'outcome_unknown'
  /** A send attempt a crashed worker left behind, taken over (the attempt's reason; no code). */
  | 'claim_abandoned'
  /** Refused with `template_unknown`: a WhatsApp number without a WABA id has no templates. */
  | 'no_waba_id'
  /** Failed: the send job itself kept failing (e.g. the database), before Meta was called. */
  | 'send_job_failed'
  /** Failed: it stayed queued after its send job was lost more than once (the sweeper). */
  | 'send_stuck'
  /** An attempt given back, Meta not having taken the message (the attempt's reason; tried again). */
  | 'send_interrupted';

export const SEND_REASONS: Record<SendReasonCode, string> = {
  conversation_locked: 'Not sent: an operator took over the conversation before it went out.',
  superseded:
    'Not sent: the customer wrote again before it went out; the agent answers the newer messages together.',
  invalid_message: 'The stored message is not valid for this channel.',
  throughput_cap: 'This number is at its messages-per-second limit; it goes out in a moment.',
  not_connected: 'This channel has no access token. Reconnect it in the settings.',
  credentials_unreadable:
    "This channel's access token cannot be decrypted (was the encryption key changed?). Reconnect the channel.",
  outcome_unknown:
    'Meta did not answer in time, so we cannot tell whether it went out; it was not sent again ' +
    'to avoid a duplicate — check the conversation before retrying.',
  claim_abandoned: 'The sending worker stopped without an answer; a new attempt took over.',
  no_waba_id: 'This WhatsApp number has no WhatsApp Business Account id, so it has no templates.',
  send_job_failed:
    'Not sent: it could not be prepared after repeated errors on our side (it never reached ' +
    'Meta); the later messages of the conversation went ahead. You can retry it.',
  send_stuck:
    'Not sent: it stayed queued while our side was failing and its send was lost (it never ' +
    'reached Meta); the later messages of the conversation went ahead. You can retry it.',
  send_interrupted:
    'The send stopped on an error on our side before Meta took the message; it is tried again.',
};

/** Refused with `template_unknown`: the template asked for is not one of the synced ones. */
export function templateNotSyncedReason(template: { name: string; language: string }): string {
  return `Template ${template.name} (${template.language}) is not among the synced templates of this number. Sync the templates and pick one from the list.`;
}

/** A transient Meta error that kept coming back: the last one's reason, after giving up. */
export function gaveUpReason(attempts: number, lastReason: string): string {
  return `Gave up after ${attempts} attempts. Last error: ${lastReason}`;
}
