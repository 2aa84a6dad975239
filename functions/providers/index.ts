import type { CallbackProvider, WhatsAppAdapter } from './adapter';
import { gupshupAdapter } from './gupshup/adapter';
import { ycloudAdapter } from './ycloud/adapter';

/** The adapter of each provider whose callbacks come to `/webhooks/{provider}/{account}`. */
const ADAPTERS: Record<CallbackProvider, WhatsAppAdapter> = {
  gupshup: gupshupAdapter,
  ycloud: ycloudAdapter,
};

export const CALLBACK_PROVIDERS = ['gupshup', 'ycloud'] as const satisfies CallbackProvider[];

export function isCallbackProvider(provider: string): provider is CallbackProvider {
  return (CALLBACK_PROVIDERS as readonly string[]).includes(provider);
}

/** The adapter for a provider's bodies and sends; null for Meta (its own path) and unknown ones. */
export function callbackAdapter(provider: string): WhatsAppAdapter | null {
  return isCallbackProvider(provider) ? ADAPTERS[provider] : null;
}
