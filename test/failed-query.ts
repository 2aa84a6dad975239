import { inject } from 'vitest';
import { asTenant, connect } from '../db/client';
import { createArticle } from '../db/knowledge';

/** Personal data the failing query carries as parameters; none of it may reach a log line. */
export const PERSONAL = { name: 'Lucía', phone: '+34600123456', text: 'Llámame al +34600123456' };

/**
 * A real failed query, as drizzle over postgres.js reports it: a DrizzleQueryError whose message
 * lists the query's parameters (personal data here), with the PostgresError as its cause.
 * - `rls`: a row written for another tenant than the one bound (42501; the database's own
 *   message names the table, no values);
 * - `invalid-uuid`: a phone number where a uuid goes (22P02; the database quotes the value).
 */
export async function failedQuery(kind: 'rls' | 'invalid-uuid'): Promise<Error> {
  const { db, close } = connect(inject('databaseUrl'), { max: 1 });
  try {
    await asTenant(db, crypto.randomUUID(), (ctx) =>
      createArticle(
        // Built by hand on purpose: a context whose tenant is not the one bound.
        { tx: ctx.tx, tenantId: kind === 'rls' ? crypto.randomUUID() : PERSONAL.phone },
        { title: PERSONAL.name, body: PERSONAL.text, language: 'es', tags: [], published: true },
      ),
    );
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  } finally {
    await close();
  }
  throw new Error('failedQuery: the query did not fail');
}
