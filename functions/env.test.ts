import { describe, expect, it } from 'vitest';
import { testBindings } from '../test/harness';
import { EnvironmentError, parseEnv } from './env';

describe('configuration', () => {
  const valid = (): Record<string, unknown> => ({
    ...testBindings(),
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  });

  it('accepts a complete configuration and applies defaults', () => {
    const { WHATSAPP_ALLOW_LIVE_SEND: _, ...withoutLiveSend } = valid();
    const env = parseEnv(withoutLiveSend);
    // Off unless explicitly turned on: nothing reaches Meta by accident.
    expect(env.WHATSAPP_ALLOW_LIVE_SEND).toBe(false);
    expect(
      parseEnv({ ...withoutLiveSend, WHATSAPP_ALLOW_LIVE_SEND: 'true' }).WHATSAPP_ALLOW_LIVE_SEND,
    ).toBe(true);
    expect(env.GRAPH_API_VERSION).toMatch(/^v\d+\.\d+$/);
  });

  it('names every missing or invalid variable', () => {
    const { META_APP_SECRET: _, ...missingSecret } = valid();
    const error = (() => {
      try {
        parseEnv({
          ...missingSecret,
          CREDENTIALS_ENCRYPTION_KEY: 'short',
          PUBLIC_BASE_URL: 'not a url',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EnvironmentError);
    const problems = (error as EnvironmentError).problems.join('\n');
    expect(problems).toContain('META_APP_SECRET: is required');
    expect(problems).toContain('CREDENTIALS_ENCRYPTION_KEY: must be base64 of exactly 32 bytes');
    expect(problems).toContain('PUBLIC_BASE_URL');
  });

  it('requires a database: DATABASE_URL or the Hyperdrive binding', () => {
    const { DATABASE_URL: _, ...noDb } = valid();
    expect(() => parseEnv(noDb)).toThrow(/DATABASE_URL: set DATABASE_URL or bind HYPERDRIVE/);
    expect(() =>
      parseEnv({ ...noDb, HYPERDRIVE: { connectionString: 'postgres://x@h/db' } }),
    ).not.toThrow();
  });

  it('treats empty strings as unset (a .dev.vars line left blank)', () => {
    expect(() => parseEnv({ ...valid(), QSTASH_TOKEN: '' })).toThrow(/QSTASH_TOKEN/);
  });
});
