import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './migrations',
  // Supabase's roles (anon, authenticated, service_role) exist there and are made by our bootstrap
  // migration elsewhere; drizzle-kit must not try to create them.
  entities: { roles: { provider: 'supabase', exclude: ['switchboard_worker'] } },
  schemaFilter: ['public', 'private'],
});
