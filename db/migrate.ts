import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { connect } from './client';

export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));

/** Applies `migrations/` with drizzle's migrator (Node only: it reads the folder from disk). */
export async function migrateDatabase(connectionString: string): Promise<void> {
  const { db, close } = connect(connectionString, { max: 1 });
  try {
    await migrate(db, { migrationsFolder });
  } finally {
    await close();
  }
}
