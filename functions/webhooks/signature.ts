import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Meta's `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the request body with the app secret.
 *
 * It is computed over the raw bytes as sent, so the body must never be re-serialised before
 * checking. Meta's docs also describe signing an "escaped unicode version of the payload, with
 * lowercase hex digits" (ä → \u00e4); which one WhatsApp uses today is unverified, so a body is
 * accepted when either variant matches. The comparison is constant-time.
 */

const encoder = new TextEncoder();

/** Every UTF-16 unit outside printable ASCII as `\uXXXX` (lowercase), as whatsapp-api-js does. */
export function escapeNonAscii(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out += unit <= 0x7e ? text[i] : `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** The 32 signature bytes from the header value, or null when it is missing or malformed. */
export function parseSignatureHeader(header: string | null | undefined): Uint8Array | null {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header?.trim() ?? '');
  if (!match?.[1]) return null;
  const hex = match[1];
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** HMAC-SHA256 of `data` under `secret`, compared in constant time with `signature`. */
function macMatches(signature: Uint8Array, secret: string, data: Uint8Array): boolean {
  const mac = createHmac('sha256', secret).update(data).digest();
  return mac.length === signature.length && timingSafeEqual(mac, signature);
}

/**
 * True when `signature` is the HMAC of the raw body (or of its unicode-escaped form) under one of
 * `secrets`. `text` is the body decoded as UTF-8, when it is text at all. The escaped form is
 * made only when the raw bytes do not match.
 *
 * node:crypto (nodejs_compat on Workers), not WebCrypto: it is synchronous, and on Node, where
 * the throughput benchmark serves the app, WebCrypto's job machinery cost more than the HMAC.
 */
export function signatureMatches(
  signature: Uint8Array,
  raw: Uint8Array,
  text: string | null,
  secrets: string[],
): boolean {
  if (secrets.some((secret) => macMatches(signature, secret, raw))) return true;
  const escaped = text === null ? text : escapeNonAscii(text);
  if (escaped === null || escaped === text) return false;
  const escapedBytes = encoder.encode(escaped);
  return secrets.some((secret) => macMatches(signature, secret, escapedBytes));
}

/** Constant-time equality of two strings (the subscription verify token). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  // HMAC both under a random key and compare the MACs: equal-length, data-independent timing.
  const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(a));
  return crypto.subtle.verify('HMAC', key, mac, encoder.encode(b));
}
