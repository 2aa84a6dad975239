import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseLogLines, startupBanner } from './start';

const root = '/home/dev/switchboard';
const urls = {
  workerUrl: 'http://127.0.0.1:8787',
  authUrl: 'http://127.0.0.1:54321',
  redisUrl: 'http://127.0.0.1:8079',
  qstashUrl: 'http://127.0.0.1:8080',
  graphUrl: 'http://127.0.0.1:8090',
  gupshupUrl: 'http://127.0.0.1:8091',
  ycloudUrl: 'http://127.0.0.1:8092',
  tracesUrl: 'http://127.0.0.1:4318',
  pooler: {
    url: 'postgres://postgres:postgres@127.0.0.1:40123/postgres',
    maxServerConnections: 10,
  },
  root,
};
const embeddedUrl = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

describe('npm start banner', () => {
  it('shows the default data folder relative to the project', () => {
    const database = {
      kind: 'embedded' as const,
      url: embeddedUrl(54322),
      dataDir: join(root, '.local', 'pgdata'),
    };
    expect(startupBanner({ ...urls, database })).toContain(
      'Database         embedded Postgres, data in .local/pgdata',
    );
    expect(startupBanner({ ...urls, database })).toContain(
      'Agent traces     http://127.0.0.1:4318/',
    );
    expect(databaseLogLines(database, root)).toEqual([
      'embedded Postgres (PGlite) on 127.0.0.1:54322 — data in .local/pgdata',
    ]);
  });

  it('shows the data folder SWITCHBOARD_DATA_DIR chose, not .local/pgdata', () => {
    const database = {
      kind: 'embedded' as const,
      url: embeddedUrl(54322),
      dataDir: '/tmp/switchboard-e2e-x1/pgdata',
    };
    const banner = startupBanner({ ...urls, database });
    expect(banner).toContain('data in /tmp/switchboard-e2e-x1/pgdata');
    expect(banner).not.toContain('.local');
    expect(databaseLogLines(database, root).join('\n')).toContain(
      'data in /tmp/switchboard-e2e-x1/pgdata',
    );
  });

  it('says which port the embedded Postgres took when its fixed port was busy', () => {
    const database = {
      kind: 'embedded' as const,
      url: embeddedUrl(54323),
      dataDir: join(root, '.local', 'pgdata'),
      busyPort: 54322,
    };
    expect(databaseLogLines(database, root)[0]).toBe(
      'port 54322 was busy; embedded Postgres is on 54323',
    );
    expect(startupBanner({ ...urls, database })).toMatch(
      /Stand-ins .*Postgres 127\.0\.0\.1:54323 \(54322 was busy\)$/m,
    );
  });

  it('names the server, without its password, when DATABASE_URL is used', () => {
    const database = {
      kind: 'server' as const,
      url: 'postgres://app:s3cret@db.internal:5432/switchboard',
    };
    const banner = startupBanner({ ...urls, database });
    expect(banner).toContain('Database         Postgres at db.internal:5432 (DATABASE_URL)');
    expect(banner).not.toContain('s3cret');
    expect(banner).toContain(
      "the Worker's Hyperdrive binding → pooler 127.0.0.1:40123 (at most 10 server connections)",
    );
    expect(banner).not.toContain('pgdata');
    expect(databaseLogLines(database, root)).toEqual([
      'using Postgres at db.internal:5432 (DATABASE_URL)',
    ]);
  });
});
