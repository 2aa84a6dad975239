import type { GraphErrorMeaning } from '../../core/messaging/graph-errors';
import { GraphApiError, NETWORK_ERROR, noAnswer } from '../lib/graph';

/**
 * One send to a provider's API, as every adapter makes it: the POST with a timeout, and the answer
 * read as text and JSON. A call that never got an answer is the provider's `unreachable` (nothing
 * left: safe to retry) or `noAnswer` (it may have the message: `outcomeUnknown`, never resent on
 * its own), in the provider's own words; so is an accepted answer whose body stopped coming.
 */
export async function postToProvider(
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number },
  words: { unreachable: GraphErrorMeaning; noAnswer: GraphErrorMeaning },
): Promise<{ status: number; ok: boolean; text: string; json: unknown }> {
  const unanswered = (err: unknown) => {
    const { info } = noAnswer(err);
    return new GraphApiError(
      info,
      info.code === NETWORK_ERROR ? words.unreachable : words.noAnswer,
    );
  };
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { ...init.headers, accept: 'application/json' },
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    throw unanswered(err);
  }
  let text = '';
  try {
    text = await response.text();
  } catch (err) {
    if (response.ok) throw unanswered(err);
  }
  return { status: response.status, ok: response.ok, text, json: jsonOf(text) };
}

/** The answer's JSON; null for an empty or non-JSON body. */
function jsonOf(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}
