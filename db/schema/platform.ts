import { sql } from 'drizzle-orm';
import { pgPolicy, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns';
import { authenticatedRole } from './roles';

/**
 * The people who run Switchboard itself (not any business): they see and replay webhook bodies
 * no business owns (an account not connected yet, a wrong number). A separate role on purpose: a
 * business's owner is never one by being an owner, and a platform operator reaches no business's
 * chats by being one. Granted by SQL only (`insert into platform_operators …`, docs/webhooks.md).
 */
export const platformOperators = pgTable(
  'platform_operators',
  {
    /** The Supabase user id (`auth.uid()`). */
    userId: uuid('user_id').primaryKey(),
    /** Who this is and why, for whoever reviews the list. */
    note: text('note'),
    createdAt: createdAt(),
  },
  () => [
    // A signed-in user learns only whether they themselves are one (the binding checks that).
    pgPolicy('platform_operators: self read', {
      for: 'select',
      to: authenticatedRole,
      using: sql`user_id = auth.uid()`,
    }),
  ],
).enableRLS();
