import { inject, test } from 'vitest';
import { connect } from '../db/client';
import { adminSql, createTenant, type TenantFixture } from './fixtures';
import { createHarness, type HarnessOptions } from './harness';

export { must } from './must';

/**
 * The file's tenants, for the harness to register with its Graph stand-in whenever each side
 * comes first: a file that never asks for `harness` (the db/ tests) gets tenants without starting
 * the stand-ins.
 */
class TenantRoster {
  private readonly tenants: TenantFixture[] = [];
  private readonly listeners: Array<(t: TenantFixture) => void> = [];
  add(t: TenantFixture) {
    this.tenants.push(t);
    for (const listener of this.listeners) listener(t);
  }
  /** Calls `listener` for every tenant so far and every later one. */
  each(listener: (t: TenantFixture) => void) {
    this.tenants.forEach(listener);
    this.listeners.push(listener);
  }
}

/**
 * Vitest's `it` with this project's fixtures. Each is set up once per test file, on the first
 * test (or `it.beforeAll`) that names it, and torn down after the file's last test, so a file
 * asks for what it uses instead of repeating the setup:
 *
 *   it('…', async ({ harness, tenant }) => { … })
 *
 * - `harness`: the app wired to the stand-ins (test/harness.ts), built from `harnessOptions`;
 *   a file needing other options says so once, at its top level:
 *   `it.override('harnessOptions', { statusProgression: false })`.
 * - `sql`: a superuser connection for arranging and asserting.
 * - `db`: the app's own database client (drizzle, as the Worker connects), for calling `db/`
 *   functions directly through `asTenant`.
 * - `tenant`, `otherTenant`: two fresh tenants (another tenant's rows must stay invisible),
 *   registered with the Graph stand-in once the file has a harness.
 * - `newTenant(name)`: one more tenant, registered the same way, for tests that need their own.
 *
 * Suite hooks get the same fixtures: `it.beforeAll(async ({ sql, tenant }) => { … })`, and
 * `it.beforeEach(({ harness }) => …)`.
 */
export const it = test
  .extend('harnessOptions', { scope: 'file' }, {} as HarnessOptions)
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
  .extend('roster', { scope: 'file' }, ({}) => new TenantRoster())
  .extend('harness', { scope: 'file' }, async ({ harnessOptions, roster }, { onCleanup }) => {
    const harness = await createHarness(harnessOptions);
    onCleanup(() => harness.close());
    roster.each((t) => harness.registerTenant(t));
    return harness;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
  .extend('sql', { scope: 'file' }, async ({}, { onCleanup }) => {
    const sql = adminSql();
    onCleanup(() => sql.end());
    return sql;
  })
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
  .extend('db', { scope: 'file' }, async ({}, { onCleanup }) => {
    const { db, close } = connect(inject('databaseUrl'));
    onCleanup(close);
    return db;
  })
  .extend('newTenant', { scope: 'file' }, async ({ roster, sql }) => {
    return async (name: string) => {
      const tenant = await createTenant(sql, name);
      roster.add(tenant);
      return tenant;
    };
  })
  .extend('tenant', { scope: 'file' }, ({ newTenant }) => newTenant('Tenant'))
  .extend('otherTenant', { scope: 'file' }, ({ newTenant }) => newTenant('Other tenant'));
