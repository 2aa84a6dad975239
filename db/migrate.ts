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

// `npm run db:migrate` (DATABASE_URL=…): apply the migrations to any database, e.g. Supabase.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is required: DATABASE_URL=postgres://… npm run db:migrate');
    process.exit(2);
  }
  migrateDatabase(url).then(
    () => console.log('migrations applied'),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
