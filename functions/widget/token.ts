import { sign, verify } from 'hono/jwt';
import { ApiError } from '../errors';

/**
 * The visitor's anonymous identity: an HS256 token signed with WIDGET_TOKEN_SECRET, kept by the
 * widget in the visitor's browser (localStorage). It names the tenant, the widget (its channel
 * account) and the visitor; nothing else identifies a visitor, so only its holder reads their
 * conversation, and a token of one widget is refused by every other (`key`).
 */
export type VisitorToken = {
  tenantId: string;
  channelAccountId: string;
  visitorId: string;
  key: string;
};

/** A visitor keeps their conversation this long without coming back (then starts anew). */
export const TOKEN_LIFETIME_SECONDS = 180 * 24 * 60 * 60;
const AUDIENCE = 'switchboard-widget';

export async function signVisitorToken(
  visitor: VisitorToken,
  secret: string,
  now: Date,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return sign(
    {
      sub: visitor.visitorId,
      tid: visitor.tenantId,
      aid: visitor.channelAccountId,
      key: visitor.key,
      aud: AUDIENCE,
      iat,
      exp: iat + TOKEN_LIFETIME_SECONDS,
    },
    secret,
    'HS256',
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The token's visitor, or 401: missing, forged, expired, or not a widget token. */
export async function verifyVisitorToken(
  token: string | undefined,
  secret: string,
  now: Date,
): Promise<VisitorToken> {
  const refused = () =>
    new ApiError(
      'UNAUTHORIZED',
      'The visitor token is missing, invalid or expired; start a new session (POST /widget/session).',
    );
  if (!token) throw refused();
  let claims: Record<string, unknown>;
  try {
    claims = await verify(token, secret, {
      alg: 'HS256',
      aud: AUDIENCE,
      exp: true,
      iat: false,
      nbf: false,
    });
  } catch {
    throw refused();
  }
  const exp = typeof claims.exp === 'number' ? claims.exp : 0;
  // Our clock, not only the runtime's: tests move it.
  if (exp * 1000 <= now.getTime()) throw refused();
  const { sub, tid, aid, key } = claims;
  if (
    typeof sub !== 'string' ||
    typeof tid !== 'string' ||
    typeof aid !== 'string' ||
    typeof key !== 'string' ||
    !UUID.test(sub) ||
    !UUID.test(tid) ||
    !UUID.test(aid)
  ) {
    throw refused();
  }
  return { tenantId: tid, channelAccountId: aid, visitorId: sub, key };
}
