import { type AnyPgColumn, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Shared column mixins: every tenant-owned row says whose it is and when it was made. */
export const id = () => uuid('id').primaryKey().defaultRandom();
export const createdAt = () =>
  timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
/** `created_at` and `updated_at`: spread into a table whose rows change after they are made. */
export const timestamps = () => ({ createdAt: createdAt(), updatedAt: updatedAt() });
export const at = (name: string) => timestamp(name, { withTimezone: true });

/** A required reference to the row this one belongs to: it goes when that row is deleted. */
export const parentRef = (name: string, parent: () => AnyPgColumn) =>
  uuid(name).notNull().references(parent, { onDelete: 'cascade' });

/** A one-row-per-parent table's key, which is the parent's id: it goes with the parent. */
export const parentKey = (name: string, parent: () => AnyPgColumn) =>
  uuid(name).primaryKey().references(parent, { onDelete: 'cascade' });
