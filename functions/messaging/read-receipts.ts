import type { MessageChannel } from '../../core/messaging/kinds';
import type { Clock } from '../context';
import type { Env } from '../env';
import { markCustomerMessageRead } from '../lib/graph-accounts';
import { type Logger, safeErrorFields } from '../lib/logger';
import { createServices } from '../services';

export type BackgroundRuntime = {
  env: Env;
  clock: Clock;
  logger: Logger;
  waitUntil: (promise: Promise<unknown>) => void;
};

/**
 * Marks a customer's WhatsApp message read on Meta (blue ticks; with `typing`, also the typing
 * indicator, which WhatsApp dismisses on our reply or after 25 s) after the response, through
 * `waitUntil`. Best effort: a receipt that fails is logged, never retried, never fails the caller.
 * It gets its own services, since the request's database client is closed once the response is
 * sent. Only WhatsApp, and nothing at all while live sending is off.
 */
export function markReadInBackground(
  runtime: BackgroundRuntime,
  input: { tenantId: string; channel: MessageChannel; messageId: string; typing?: boolean },
): void {
  const { env, logger } = runtime;
  if (input.channel !== 'whatsapp' || !env.WHATSAPP_ALLOW_LIVE_SEND) return;
  const task = (async () => {
    const { services, close } = createServices(env, { clock: runtime.clock });
    try {
      await markCustomerMessageRead({ ...services, logger }, env, {
        tenantId: input.tenantId,
        messageId: input.messageId,
        typing: input.typing,
      });
    } finally {
      await close().catch(() => {});
    }
  })().catch((err) => logger.warn('read receipt failed', safeErrorFields(err)));
  try {
    runtime.waitUntil(task);
  } catch {
    // No execution context (a bare app.request): the task still runs, unawaited.
  }
}
