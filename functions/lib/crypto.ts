/**
 * Channel credentials at rest: AES-256-GCM through WebCrypto (the same in workerd and Node), with a
 * fresh 96-bit IV per value. Format `v1:<iv b64>:<ciphertext+tag b64>`; the version prefix leaves
 * room for key rotation.
 */
const VERSION = 'v1';

async function importKey(base64Key: string): Promise<CryptoKey> {
  const raw = Uint8Array.from(atob(base64Key), (ch) => ch.charCodeAt(0));
  if (raw.length !== 32) throw new Error('CREDENTIALS_ENCRYPTION_KEY must be 32 bytes');
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function encryptSecret(plaintext: string, base64Key: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await importKey(base64Key);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    key,
    new TextEncoder().encode(plaintext),
  );
  return `${VERSION}:${toBase64(iv)}:${toBase64(new Uint8Array(ct))}`;
}

export async function decryptSecret(sealed: string, base64Key: string): Promise<string> {
  const [version, iv, ct] = sealed.split(':');
  if (version !== VERSION || !iv || !ct) throw new Error('unrecognised credential format');
  const key = await importKey(base64Key);
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64(iv) },
    key,
    fromBase64(ct),
  );
  return new TextDecoder().decode(pt);
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(value: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
}

/** SHA-256 of a text, as lowercase hex (Web Crypto, as the Worker has it). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
