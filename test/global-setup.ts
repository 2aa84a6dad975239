import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../db/migrate';
import { startEmbeddedPostgres } from '../dev/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'embedded' | 'server';
  }
}

/**
 * One migrated database per test run. With DATABASE_URL (e.g. the machine's Postgres 15) a fresh
 * database is created on that server and dropped afterwards, because the server keeps state between
 * runs; without it, an in-memory embedded Postgres (PGlite over the wire protocol) is started.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `switchboard_test_${process.pid}_${Date.now().toString(36)}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    try {
      await migrateDatabase(url.toString());
    } catch (err) {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      throw err;
    }
    project.provide('databaseUrl', url.toString());
    project.provide('databaseKind', 'server');
    console.info(`[tests] Postgres server: database ${name} on ${url.host}`);
    return async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  }
  const embedded = await startEmbeddedPostgres({ port: 0 });
  await migrateDatabase(embedded.url);
  project.provide('databaseUrl', embedded.url);
  project.provide('databaseKind', 'embedded');
  console.info(`[tests] embedded Postgres (PGlite) at ${embedded.url}`);
  return () => embedded.close();
}
