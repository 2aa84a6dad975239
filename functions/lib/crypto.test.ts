import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret } from './crypto';

const key = Buffer.alloc(32, 1).toString('base64');
const otherKey = Buffer.alloc(32, 2).toString('base64');

describe('credential encryption', () => {
  it('round-trips and never stores the plaintext', async () => {
    const sealed = await encryptSecret('EAAG-secret-token', key);
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('EAAG');
    expect(await decryptSecret(sealed, key)).toBe('EAAG-secret-token');
  });
  it('uses a fresh IV each time', async () => {
    expect(await encryptSecret('same', key)).not.toBe(await encryptSecret('same', key));
  });
  it('refuses the wrong key and tampered ciphertext', async () => {
    const sealed = await encryptSecret('token', key);
    await expect(decryptSecret(sealed, otherKey)).rejects.toThrow();
    const [v, iv, ct] = sealed.split(':');
    const flipped = `${ct?.[0] === 'A' ? 'B' : 'A'}${ct?.slice(1)}`;
    await expect(decryptSecret(`${v}:${iv}:${flipped}`, key)).rejects.toThrow();
  });
});
