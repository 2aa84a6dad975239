import { Ratelimit } from '@upstash/ratelimit';
import type { Services } from '../context';
import { ApiError } from '../errors';

/**
 * The widget's public endpoints are open to the internet: each is limited per visitor and per IP
 * (sliding windows in Redis, @upstash/ratelimit), so one visitor cannot flood a business's inbox
 * or its agent's budget, and one machine cannot make visitors by the thousand. Redis only guards:
 * when it does not answer within a second (the library's `timeout`) or cannot be reached, the
 * request goes ahead.
 */
export type WidgetAction = 'session' | 'poll' | 'send' | 'profile';

type Window = { limit: number; seconds: number };

/** Per visitor (the token) and per IP; `send` per visitor is WIDGET_MESSAGES_PER_MINUTE. */
export const WIDGET_LIMITS: Record<WidgetAction, { visitor: Window | null; ip: Window }> = {
  // A session is made before there is a visitor: per IP only.
  session: { visitor: null, ip: { limit: 20, seconds: 60 } },
  // The widget polls every 1.5–2 s while open: 40 a minute, with room for a second tab.
  poll: { visitor: { limit: 100, seconds: 60 }, ip: { limit: 600, seconds: 60 } },
  send: { visitor: { limit: 12, seconds: 60 }, ip: { limit: 60, seconds: 60 } },
  profile: { visitor: { limit: 10, seconds: 60 }, ip: { limit: 60, seconds: 60 } },
};

/** A limiter on the request's Redis client (cheap to make: it holds no state of its own). */
function limiter(services: Services, name: string, window: Window): Ratelimit {
  return new Ratelimit({
    redis: services.redis,
    limiter: Ratelimit.slidingWindow(window.limit, `${window.seconds} s`),
    prefix: `switchboard:widget:${name}`,
    // No in-isolate memory of who was blocked: Redis alone decides, the same for every isolate.
    ephemeralCache: false,
    timeout: 1_000,
    analytics: false,
  });
}

const MESSAGES: Record<WidgetAction, string> = {
  session: 'Too many new chat sessions from this network; wait a minute and try again.',
  poll: 'The chat is checking for replies too often; wait a moment.',
  send: 'You are sending messages too quickly; wait a moment before sending another.',
  profile: 'Too many changes to your details; wait a minute and try again.',
};

export class RateLimited extends ApiError {
  constructor(
    action: WidgetAction,
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', MESSAGES[action]);
  }
}

/**
 * Counts one request against the visitor's and the IP's windows; 429 (RateLimited, with the
 * seconds until the window has room) when either is full.
 */
export async function checkWidgetLimits(
  services: Services,
  input: {
    action: WidgetAction;
    ip: string;
    visitorId?: string;
    messagesPerMinute?: number;
  },
): Promise<void> {
  const windows = WIDGET_LIMITS[input.action];
  const checks: Promise<{ success: boolean; reset: number }>[] = [
    limiter(services, `${input.action}:ip`, windows.ip).limit(input.ip),
  ];
  const visitorWindow =
    input.action === 'send' && input.messagesPerMinute
      ? { limit: input.messagesPerMinute, seconds: 60 }
      : windows.visitor;
  if (visitorWindow && input.visitorId) {
    checks.push(limiter(services, `${input.action}:visitor`, visitorWindow).limit(input.visitorId));
  }
  let outcomes: Array<{ success: boolean; reset: number }>;
  try {
    outcomes = await Promise.all(checks);
  } catch (err) {
    // Redis unreachable: the request goes ahead (the limits guard; they are not the product).
    services.logger.warn('widget rate limits unavailable; allowing', {
      error: err instanceof Error ? err.message : String(err),
    });
    return;
  }
  const refused = outcomes.filter((o) => !o.success);
  if (refused.length === 0) return;
  const reset = Math.max(...refused.map((o) => o.reset));
  const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
  throw new RateLimited(input.action, seconds);
}
