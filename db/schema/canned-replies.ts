import { index, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';
import { tenantTable } from './tenants';

/**
 * A tenant's saved answers, which an operator inserts into the composer with "/" and edits before
 * sending. Configuration, like the knowledge base: every member reads them, owners and admins
 * write them. Titles are unique per tenant, since the picker is searched by title.
 */
export const cannedReplies = tenantTable(
  'canned_replies',
  'admins-write',
  {
    title: text('title').notNull(),
    text: text('text').notNull(),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('canned_replies_tenant_title').on(t.tenantId, t.title),
    index('canned_replies_tenant').on(t.tenantId, t.updatedAt),
  ],
);
