/**
 * The provider seam for WhatsApp: a channel account says which provider carries its number (Meta's
 * Cloud API, Gupshup or YCloud), and everything that differs between them lives in one adapter per
 * provider: authenticity of callbacks, reading callback bodies into the pipeline's items, the shape
 * of a send request, and what the provider's answers and error codes mean. The rest of the code
 * (ingest, the agent, the send rules: window, templates, opt-in, spacing, throughput) works on the
 * items and messages and does not know which provider it is talking to.
 *
 * Meta's own adapter is the original path (functions/webhooks, functions/lib/graph.ts): one
 * callback URL for every account, signed with the app secret. The adapters here are for providers
 * whose callbacks come to `/webhooks/{provider}/{account}`.
 */
import type { WhatsAppMessage } from '../../core/messaging/kinds';
import type { GraphApiError } from '../lib/graph';
import type { ParsedItem } from '../webhooks/parse';

export const WHATSAPP_PROVIDERS = ['meta', 'gupshup', 'ycloud'] as const;
export type WhatsAppProvider = (typeof WHATSAPP_PROVIDERS)[number];
export type CallbackProvider = Exclude<WhatsAppProvider, 'meta'>;

/** A provider-carried WhatsApp number, as its adapter needs it. */
export type ProviderAccount = {
  /** channel_accounts.id: the `{account}` of the callback URL. */
  id: string;
  /**
   * channel_accounts.external_id. Gupshup: the app name (`src.name`, the callbacks' `app`).
   * YCloud: the business's number in E.164 with `+` (the sends' `from`).
   */
  externalId: string;
  /** The business's number, digits only (Gupshup's `source`). */
  displayPhoneNumber: string | null;
  wabaId: string | null;
};

/** One callback as it arrived, before anything is believed. */
export type CallbackRequest = {
  raw: Uint8Array;
  text: string;
  headers: Headers;
  url: URL;
  now: Date;
};

/** A callback body read into the pipeline's items, with what was not understood (path: why). */
export type ParsedCallback = {
  items: ParsedItem[];
  problems: string[];
  notes: string[];
};

/** One message to send: the channel-neutral message and where it goes. */
export type ProviderSendInput = {
  message: WhatsAppMessage;
  /** The customer's number, digits only (Meta's wa_id). */
  to: string;
  /** The provider id of the message this one quotes, if any. */
  replyTo: string | null;
  /** Our message id: echoed back by providers that take one (YCloud `externalId`). */
  messageId: string;
  /**
   * For a template message: the provider's own id of the template (templates.provider_template_id
   * of this account), which Gupshup's template API sends by; YCloud sends by name and language.
   */
  providerTemplateId: string | null;
};

/** Where a send goes and with which key; the key is decrypted for this call only. */
export type ProviderConnection = {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
};

export type WhatsAppAdapter = {
  provider: CallbackProvider;
  /**
   * Whether the callback comes from the provider for this account. `secret` is the account's
   * webhook secret (decrypted): Gupshup's is carried by the callback URL only, YCloud's signs the
   * body. Compared in constant time; false for anything missing or malformed.
   */
  authenticate(request: CallbackRequest, secret: string): Promise<boolean>;
  /** The body (JSON) → items for this account. Never throws: the rest goes to `problems`. */
  parse(body: unknown, account: ProviderAccount): ParsedCallback;
  /** The provider request for one message, kept in the send's history: no credentials in it. */
  request(input: ProviderSendInput, account: ProviderAccount): Record<string, unknown>;
  /**
   * Sends `request` (from `request()`). Resolves to the provider's message id (the id its status
   * callbacks name), or throws a GraphApiError whose `meaning` says transient or permanent and
   * whose `outcomeUnknown` says the provider may have it (no answer).
   */
  send(
    request: Record<string, unknown>,
    account: ProviderAccount,
    connection: ProviderConnection,
  ): Promise<{ providerMessageId: string }>;
};

export type { GraphApiError };
