import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, webApiTypes } from './web-api-types';

/**
 * The operator page's API types are committed (web/src/api/schema.d.ts) so the page type-checks
 * without a server; this fails when the API changed and they were not regenerated, so the page
 * never compiles against routes the Worker no longer has.
 */
describe('web/src/api/schema.d.ts', () => {
  it('matches the OpenAPI document of the app factory (run `npm run web:api-types`)', async () => {
    const generated = await webApiTypes();
    // A generation that lost the routes would also "match" an emptied file: it must have them.
    expect(generated).toContain('"/admin/chats/{id}/messages"');
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
  }, 60_000);
});
