/**
 * The history contract on PostgreSQL (`DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test).
 * Each run works in a schema of its own (`llmmon_test_<random>`, reached through the URL's `options`
 * parameter setting `search_path`), emptied after each test and dropped at the end. Without a
 * reachable PostgreSQL the suite is skipped with a warning — or fails, under CI=true.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, withSearchPath } from '../../../test/support/services.js';
import { openPostgresHistory } from '../src/storage/postgres-history.js';
import { describeHistoryStore } from './history-store.contract.js';

const url = await postgresUrl('the PostgreSQL history store contract (history-store-postgres.test.ts)');
const schema = `llmmon_test_${randomBytes(6).toString('hex')}`;

/** Runs `sql` on the server (outside the test schema). */
async function admin(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The tables of a schema, by name. */
async function tablesOf(name: string): Promise<string[]> {
  const result = await admin(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = '${name}' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return result.rows.map((row: { table_name: string }) => row.table_name);
}

(url ? describe : describe.skip)('PostgreSQL history store', () => {
  const schemaUrl = url ? withSearchPath(url, schema) : '';

  beforeAll(async () => {
    await admin(`CREATE SCHEMA ${schema}`);
  });

  afterAll(async () => {
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it('works in the schema the URL names, not in public', async () => {
    const store = await openPostgresHistory(schemaUrl);
    try {
      expect(await tablesOf(schema)).toEqual(expect.arrayContaining(['llm_calls', 'llm_monitor_schema', 'sessions']));
      expect(store.location).toContain(schema);
    } finally {
      await store.close();
    }
  });

  it('names its location without the password', async () => {
    const withPassword = new URL(url!);
    withPassword.password = 's3cret-pw';
    // The connection may fail (wrong password, or a server that takes any): the location never says it.
    const store = await openPostgresHistory(withSearchPath(withPassword.toString(), schema)).catch((error: Error) => error);
    if (store instanceof Error) {
      expect(store.message).not.toContain('s3cret-pw');
    } else {
      expect(store.location).not.toContain('s3cret-pw');
      await store.close();
    }
  });

  describeHistoryStore(
    'postgres',
    (options) => openPostgresHistory(schemaUrl, options),
    async () => {
      // Every table but the schema's version: the next test starts empty, on a migrated schema.
      const tables = (await tablesOf(schema)).filter((table) => table !== 'llm_monitor_schema');
      await admin(`TRUNCATE ${tables.map((table) => `${schema}."${table}"`).join(', ')}`);
    },
  );
});
