/**
 * The Gupshup WhatsApp adapter (issue 13): callbacks come to `/webhooks/gupshup/{account}?secret=…`
 * in Gupshup's v2 envelope, sends go to Gupshup's form-encoded message and template APIs. Gupshup
 * signs nothing, so a callback is believed when its URL carries the account's webhook secret,
 * which only the URL configured on the Gupshup app knows (docs/providers.md "Authenticity").
 *
 * The pieces are beside this file: parse.ts (callbacks → items), send.ts (request and send),
 * errors.ts (what Gupshup's answers and codes mean).
 */
import { sameSecret } from '../../webhooks/signature';
import type { WhatsAppAdapter } from '../adapter';
import { parseGupshup } from './parse';
import { gupshupRequest, sendGupshup } from './send';

/** The callback URL's query parameter that carries the account's webhook secret. */
export const SECRET_PARAM = 'secret';

export const gupshupAdapter: WhatsAppAdapter = {
  provider: 'gupshup',
  async authenticate(request, secret) {
    const given = request.url.searchParams.get(SECRET_PARAM);
    if (!given || !secret) return false;
    return sameSecret(given, secret);
  },
  parse: parseGupshup,
  request: (input, account) => gupshupRequest(input, account),
  send: (request, _account, connection) => sendGupshup(request, connection),
};
