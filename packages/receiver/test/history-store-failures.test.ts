/**
 * How the history stores fail: a file that is no database, a database of another program or of a
 * newer llm-monitor, an unreachable server, a database that cannot be written — each with its
 * catalogue code and a message naming the place — and the command's exit code 2 for what the
 * operator must fix. Migrations run once however often (and however concurrently) a store opens.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresUrl, withSearchPath } from '../../../test/support/services.js';
import { LlmMonitorError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS } from '../src/storage/migrations.js';
import { SCHEMA_VERSION, sessionRowOf } from '../src/storage/history-rows.js';
import { openPostgresHistory } from '../src/storage/postgres-history.js';
import { openSqliteHistory, SqliteHistoryStore } from '../src/storage/sqlite-history.js';
import { built, commitOf, filterFixture, T, traceIdOf } from './history-store.contract.js';

const directory = mkdtempSync(join(tmpdir(), 'llmmon-store-failures-'));
let counter = 0;
/** A fresh path in this file's temporary directory. */
const path = (name: string): string => join(directory, `${(counter += 1)}-${name}`);

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** What `work` threw (or rejected with), which must be an {@link LlmMonitorError}. */
async function failure(work: () => unknown): Promise<LlmMonitorError> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof LlmMonitorError)) throw new Error(`expected an LlmMonitorError, got ${String(error)}`, { cause: error });
    return error;
  }
  throw new Error('expected a failure, but it worked');
}

async function expectCode(work: () => unknown, code: ErrorCode, message?: RegExp | string): Promise<LlmMonitorError> {
  const error = await failure(work);
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}

/** Versions recorded in a SQLite file's `llm_monitor_schema`, with how often each was applied. */
function sqliteVersions(file: string): { version: number; times: number }[] {
  const database = new Database(file, { readonly: true });
  try {
    return database.prepare('SELECT version, count(*) AS times FROM llm_monitor_schema GROUP BY version ORDER BY version').all() as {
      version: number;
      times: number;
    }[];
  } finally {
    database.close();
  }
}

describe('SQLite history store failures', () => {
  it('refuses a file that is no database, naming it: LLMMON_ERR_STORE_CORRUPT, and leaves it as it was', async () => {
    const file = path('random.db');
    const bytes = randomBytes(8192);
    writeFileSync(file, bytes);
    const error = await expectCode(() => openSqliteHistory(file), 'LLMMON_ERR_STORE_CORRUPT');
    expect(error.message).toContain(resolve(file));
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('refuses a text file too', async () => {
    const file = path('notes.txt');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(20));
    const error = await expectCode(() => openSqliteHistory(file), 'LLMMON_ERR_STORE_CORRUPT');
    expect(error.message).toContain(resolve(file));
  });

  it("refuses another program's SQLite database, naming the file and its tables, and leaves it untouched", async () => {
    const file = path('other-program.db');
    const other = new Database(file);
    other.exec("CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO foo (name) VALUES ('bar')");
    const journalMode = other.pragma('journal_mode', { simple: true });
    other.close();
    const before = readFileSync(file);
    const error = await expectCode(() => openSqliteHistory(file), 'LLMMON_ERR_STORE_CORRUPT');
    expect(error.message).toContain(resolve(file));
    expect(error.message).toContain('foo');
    // Not a byte changed: no schema table added, no switch of its journal mode to WAL.
    expect(readFileSync(file).equals(before)).toBe(true);
    const reopened = new Database(file, { readonly: true });
    try {
      expect(reopened.pragma('journal_mode', { simple: true })).toBe(journalMode);
      expect(reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: 'foo' }]);
    } finally {
      reopened.close();
    }
  });

  it('opens an empty file (SQLite makes a database of it)', async () => {
    const file = path('empty.db');
    writeFileSync(file, '');
    const store = openSqliteHistory(file);
    await store.commit(commitOf([filterFixture().alpha]));
    expect((await store.session('s-alpha'))?.trace_id).toBe(filterFixture().alpha.trace_id);
    await store.close();
  });

  it('refuses a database a newer llm-monitor migrated: LLMMON_ERR_STORE_SCHEMA_NEWER, and changes nothing', async () => {
    const file = path('newer.db');
    const store = openSqliteHistory(file);
    await store.commit(commitOf([filterFixture().alpha]));
    await store.close();
    const database = new Database(file);
    database
      .prepare('INSERT INTO llm_monitor_schema (version, applied_at) VALUES (?, ?)')
      .run(SCHEMA_VERSION + 1, new Date().toISOString());
    database.close();
    const error = await expectCode(() => openSqliteHistory(file), 'LLMMON_ERR_STORE_SCHEMA_NEWER');
    expect(error.message).toContain(resolve(file));
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(sqliteVersions(file)).toEqual([
      ...SQLITE_MIGRATIONS.map((migration) => ({ version: migration.version, times: 1 })),
      { version: SCHEMA_VERSION + 1, times: 1 },
    ]);
  });

  it('upgrades a file of schema version 1 in place: its running records are untagged (the restart takes them back), its rows count 0 spans', async () => {
    const file = path('version-1.db');
    const { session, snapshot } = built({ trace: 501, sessionId: 's-v1', startMs: T, durationMs: null, model: 'gpt-4o-mini' });
    const v1 = new Database(file);
    v1.exec('CREATE TABLE llm_monitor_schema (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
    v1.exec(SQLITE_MIGRATIONS[0]!.sql);
    v1.prepare('INSERT INTO llm_monitor_schema (version, applied_at) VALUES (1, ?)').run(new Date().toISOString());
    // The row and the records as version 1 wrote them: no span count, no replica.
    const { span_count: _count, ...row } = sessionRowOf(session);
    v1.prepare(
      `INSERT INTO sessions (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
        .map((column) => `@${column}`)
        .join(', ')})`,
    ).run(row);
    for (const record of snapshot.spans) {
      v1.prepare('INSERT INTO running_spans (trace_id, seen_ms, record) VALUES (?, ?, ?)').run(
        snapshot.traceId,
        snapshot.lastSeenMs,
        JSON.stringify(record),
      );
    }
    v1.close();
    const store = openSqliteHistory(file, { replicaId: 'replica-a' });
    try {
      expect(sqliteVersions(file)).toEqual(SQLITE_MIGRATIONS.map((migration) => ({ version: migration.version, times: 1 })));
      expect(await store.session('s-v1')).toEqual(session);
      expect(await store.runningTraces()).toEqual([snapshot]);
      // Untagged records are no other replica's.
      expect(await store.foreignRecords([snapshot.traceId], new Map())).toEqual([]);
      // Counted 0, the row is replaced by the first one counted.
      const later = { ...session, progress: 50 };
      await store.commit(commitOf([later], { spanCounts: new Map([[traceIdOf(501), 1]]) }));
      expect(await store.session('s-v1')).toEqual(later);
    } finally {
      await store.close();
    }
  });

  it('runs each migration once, however often the file is opened, and keeps what was committed', async () => {
    expect(SQLITE_MIGRATIONS.at(-1)!.version).toBe(SCHEMA_VERSION);
    const file = path('reopened.db');
    const f = filterFixture();
    let store = openSqliteHistory(file);
    await store.commit(commitOf([f.alpha]));
    await store.close();
    for (let i = 0; i < 3; i += 1) {
      store = openSqliteHistory(file);
      expect(await store.session('s-alpha')).toEqual(f.alpha);
      await store.close();
    }
    expect(sqliteVersions(file)).toEqual(SQLITE_MIGRATIONS.map((migration) => ({ version: migration.version, times: 1 })));
  });

  it('says so when the directory cannot be made: LLMMON_ERR_STORE_CONNECT naming it', async () => {
    const blocker = path('a-file');
    writeFileSync(blocker, 'x');
    const error = await expectCode(() => openSqliteHistory(join(blocker, 'sub', 'history.db')), 'LLMMON_ERR_STORE_CONNECT');
    expect(error.message).toContain(resolve(blocker, 'sub'));
  });

  it('rejects commits to a read-only database with LLMMON_ERR_STORE_UNAVAILABLE', async () => {
    const file = path('readonly.db');
    const f = filterFixture();
    const writable = openSqliteHistory(file);
    await writable.commit(commitOf([f.alpha]));
    await writable.close();
    // Root may write any file whatever its mode: the read-only connection is what makes it read-only.
    const readonly = new SqliteHistoryStore(new Database(file, { readonly: true }), file);
    try {
      const error = await expectCode(() => readonly.commit(commitOf([f.beta])), 'LLMMON_ERR_STORE_UNAVAILABLE', /SQLITE_READONLY/);
      expect(error.message).toContain(file);
      await expectCode(() => readonly.deleteBefore(T + 10 ** 9, 10), 'LLMMON_ERR_STORE_UNAVAILABLE');
      // Reading still works, and nothing of the failed commit is there.
      expect(await readonly.session('s-alpha')).toEqual(f.alpha);
      expect(await readonly.session('s-beta')).toBeUndefined();
      await expect(readonly.ping()).resolves.toBeUndefined();
    } finally {
      await readonly.close();
    }
  });

  it('keeps nothing of a commit that failed half-way (one transaction)', async () => {
    const file = path('half-way.db');
    const store = openSqliteHistory(file);
    try {
      const f = filterFixture();
      const side = new Database(file);
      side.exec("CREATE TRIGGER no_calls BEFORE INSERT ON llm_calls BEGIN SELECT RAISE(ABORT, 'no calls today'); END");
      await expect(store.commit(commitOf([f.alpha, f.beta]))).rejects.toThrow(/no calls today/);
      expect(await store.sessions({}, 10)).toEqual({ sessions: [], nextCursor: null });
      side.exec('DROP TRIGGER no_calls');
      side.close();
      await store.commit(commitOf([f.alpha, f.beta]));
      expect((await store.sessions({}, 10)).sessions).toEqual([f.beta, f.alpha]);
    } finally {
      await store.close();
    }
  });

  it('rejects every call on a closed database with LLMMON_ERR_STORE_UNAVAILABLE', async () => {
    const file = path('closed.db');
    const store = openSqliteHistory(file);
    await store.commit(commitOf([filterFixture().alpha]));
    await store.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['commit', () => store.commit(commitOf([filterFixture().beta]))],
      ['ping', () => store.ping()],
      ['session', () => store.session('s-alpha')],
      ['sessions', () => store.sessions({}, 10)],
      ['conversation', () => store.conversation('conv-1', 10)],
      [
        'sessionFigures',
        async () => {
          for await (const chunk of store.sessionFigures({})) void chunk;
        },
      ],
      ['llmCalls', () => store.llmCalls({}, 10)],
      [
        'callFigures',
        async () => {
          for await (const chunk of store.callFigures({})) void chunk;
        },
      ],
      ['runningTraces', () => store.runningTraces()],
      ['deleteBefore', () => store.deleteBefore(T, 10)],
    ];
    for (const [name, call] of calls) {
      const error = await failure(call);
      expect({ name, code: error.code }).toEqual({ name, code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
      expect(error.message).toContain(file);
    }
    // Closing twice is harmless.
    await expect(store.close()).resolves.toBeUndefined();
  });
});

const receiverDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(receiverDirectory, 'bin', 'llm-monitor.js');

/** Runs the command to its end; resolves with its exit code and what it wrote. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.LLM_MONITOR_STORAGE_URL;
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolvePromise) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('llm-monitor with a store it cannot use', () => {
  it('exits 2, naming the file and the code, when storage_url is no database', async () => {
    const file = path('corrupt.db');
    writeFileSync(file, randomBytes(4096));
    const { code, stderr, stdout } = await run([
      '--storage-url',
      `sqlite:${file}`,
      '--port',
      '0',
      '--otlp-port',
      '0',
      '--log-level',
      'warn',
    ]);
    expect({ code, stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining('LLMMON_ERR_STORE_CORRUPT') });
    expect(stderr).toContain(file);
    expect(stdout).not.toContain('web monitor on');
  });

  it('exits 2 with LLMMON_ERR_STORE_SCHEMA_NEWER for a database of a newer llm-monitor', async () => {
    const file = path('newer-cli.db');
    const store = openSqliteHistory(file);
    await store.close();
    const database = new Database(file);
    database
      .prepare('INSERT INTO llm_monitor_schema (version, applied_at) VALUES (?, ?)')
      .run(SCHEMA_VERSION + 7, new Date().toISOString());
    database.close();
    const { code, stderr } = await run(['--storage-url', `sqlite:${file}`, '--port', '0', '--otlp-port', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain('LLMMON_ERR_STORE_SCHEMA_NEWER');
    expect(stderr).toContain(file);
  });

  it('exits 2 with LLMMON_ERR_STORE_CONNECT when PostgreSQL cannot be reached', async () => {
    const { code, stderr } = await run([
      '--storage-url',
      'postgres://llmmon:secret-pw@127.0.0.1:1/none',
      '--port',
      '0',
      '--otlp-port',
      '0',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('LLMMON_ERR_STORE_CONNECT');
    expect(stderr).toContain('127.0.0.1:1');
    expect(stderr).not.toContain('secret-pw');
  });
});

describe('PostgreSQL history store failures without a server', () => {
  it('says LLMMON_ERR_STORE_CONNECT, naming the place but not the password, when nothing listens', async () => {
    const error = await expectCode(
      () => openPostgresHistory('postgres://llmmon:secret-pw@127.0.0.1:1/history'),
      'LLMMON_ERR_STORE_CONNECT',
      /127\.0\.0\.1:1/,
    );
    expect(error.message).not.toContain('secret-pw');
  });
});

const url = await postgresUrl('the PostgreSQL failure tests of history-store-failures.test.ts');

(url ? describe : describe.skip)('PostgreSQL history store failures', () => {
  const schemas: string[] = [];

  async function admin(sql: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** A new, empty schema, and the URL that works in it. */
  async function freshSchema(): Promise<{ schema: string; schemaUrl: string }> {
    const schema = `llmmon_test_${randomBytes(6).toString('hex')}`;
    await admin(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    return { schema, schemaUrl: withSearchPath(url!, schema) };
  }

  afterEach(async () => {
    for (const schema of schemas.splice(0)) await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  const versions = async (schema: string): Promise<{ version: number; times: number }[]> =>
    (await admin(`SELECT version, count(*)::int AS times FROM ${schema}.llm_monitor_schema GROUP BY version ORDER BY version`)).rows as {
      version: number;
      times: number;
    }[];

  it('refuses a database a newer llm-monitor migrated: LLMMON_ERR_STORE_SCHEMA_NEWER, and changes nothing', async () => {
    const { schema, schemaUrl } = await freshSchema();
    const store = await openPostgresHistory(schemaUrl);
    await store.commit(commitOf([filterFixture().alpha]));
    await store.close();
    await admin(`INSERT INTO ${schema}.llm_monitor_schema (version) VALUES (${SCHEMA_VERSION + 1})`);
    const error = await expectCode(() => openPostgresHistory(schemaUrl), 'LLMMON_ERR_STORE_SCHEMA_NEWER');
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(error.message).toContain('127.0.0.1');
    expect(await versions(schema)).toEqual([
      ...POSTGRES_MIGRATIONS.map((migration) => ({ version: migration.version, times: 1 })),
      { version: SCHEMA_VERSION + 1, times: 1 },
    ]);
    expect((await admin(`SELECT count(*)::int AS sessions FROM ${schema}.sessions`)).rows).toEqual([{ sessions: 1 }]);
  });

  it('refuses a schema whose "sessions" table is not its own: LLMMON_ERR_STORE_CORRUPT', async () => {
    const { schema, schemaUrl } = await freshSchema();
    await admin(`CREATE TABLE ${schema}.sessions (id serial PRIMARY KEY, user_name text)`);
    await expectCode(() => openPostgresHistory(schemaUrl), 'LLMMON_ERR_STORE_CORRUPT', /sessions/);
    // Nothing was added next to it.
    expect(
      (await admin(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ORDER BY table_name`)).rows,
    ).toEqual([{ table_name: 'sessions' }]);
  });

  it('upgrades a database of schema version 1 in place: its running records are untagged (the restart takes them back), its rows count 0 spans', async () => {
    const { schemaUrl } = await freshSchema();
    const { session, snapshot } = built({ trace: 502, sessionId: 's-v1', startMs: T, durationMs: null, model: 'gpt-4o-mini' });
    const client = new pg.Client({ connectionString: schemaUrl });
    await client.connect();
    try {
      await client.query('CREATE TABLE llm_monitor_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      await client.query(POSTGRES_MIGRATIONS[0]!.sql);
      await client.query('INSERT INTO llm_monitor_schema (version) VALUES (1)');
      // The row and the records as version 1 wrote them: no span count, no replica.
      const { span_count: _count, ...row } = sessionRowOf(session);
      const columns = Object.keys(row);
      await client.query(
        `INSERT INTO sessions (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM json_populate_record(NULL::sessions, $1::json)`,
        [JSON.stringify({ ...row, budget_exceeded: session.budget_exceeded, detail: session })],
      );
      for (const record of snapshot.spans) {
        await client.query('INSERT INTO running_spans (trace_id, seen_ms, record) VALUES ($1, $2, $3)', [
          snapshot.traceId,
          snapshot.lastSeenMs,
          JSON.stringify(record),
        ]);
      }
    } finally {
      await client.end();
    }
    const store = await openPostgresHistory(schemaUrl, { replicaId: 'replica-a' });
    try {
      expect(await store.session('s-v1')).toEqual(session);
      expect(await store.runningTraces()).toEqual([snapshot]);
      expect(await store.foreignRecords([snapshot.traceId], new Map())).toEqual([]);
      const later = { ...session, progress: 50 };
      await store.commit(commitOf([later], { spanCounts: new Map([[traceIdOf(502), 1]]) }));
      expect(await store.session('s-v1')).toEqual(later);
    } finally {
      await store.close();
    }
  });

  it('runs each migration once, however often — and however many replicas at once — open the database', async () => {
    const { schema, schemaUrl } = await freshSchema();
    const f = filterFixture();
    // Replicas starting together: the advisory lock lets one migrate, the others find it done.
    const together = await Promise.all(Array.from({ length: 4 }, () => openPostgresHistory(schemaUrl, { maxConnections: 2 })));
    await together[0]!.commit(commitOf([f.alpha]));
    for (const store of together) await store.close();
    for (let i = 0; i < 2; i += 1) {
      const store = await openPostgresHistory(schemaUrl);
      expect(await store.session('s-alpha')).toEqual(f.alpha);
      await store.close();
    }
    expect(await versions(schema)).toEqual(POSTGRES_MIGRATIONS.map((migration) => ({ version: migration.version, times: 1 })));
  });

  it('rejects calls on a closed store with LLMMON_ERR_STORE_UNAVAILABLE', async () => {
    const { schemaUrl } = await freshSchema();
    const store = await openPostgresHistory(schemaUrl);
    await store.close();
    await expectCode(() => store.commit(commitOf([filterFixture().alpha])), 'LLMMON_ERR_STORE_UNAVAILABLE');
    await expectCode(() => store.ping(), 'LLMMON_ERR_STORE_UNAVAILABLE');
    await expectCode(() => store.sessions({}, 10), 'LLMMON_ERR_STORE_UNAVAILABLE');
  });

  it('keeps nothing of a commit that failed half-way (one transaction)', async () => {
    const { schema, schemaUrl } = await freshSchema();
    const store = await openPostgresHistory(schemaUrl);
    try {
      const f = filterFixture();
      // The calls table refuses rows now: the sessions of the same commit must not stay.
      await admin(`ALTER TABLE ${schema}.llm_calls ADD CONSTRAINT no_calls CHECK (false) NOT VALID`);
      // A data fault (SQLSTATE 23514), not the database being away: the error itself, so the writer
      // isolates the session rather than retrying for ever.
      const refused = store.commit(commitOf([f.alpha, f.beta]));
      await expect(refused).rejects.toMatchObject({ code: '23514', message: expect.stringMatching(/no_calls/) as unknown });
      await expect(refused).rejects.not.toBeInstanceOf(LlmMonitorError);
      expect(await store.sessions({}, 10)).toEqual({ sessions: [], nextCursor: null });
      await admin(`ALTER TABLE ${schema}.llm_calls DROP CONSTRAINT no_calls`);
      await store.commit(commitOf([f.alpha, f.beta]));
      expect((await store.sessions({}, 10)).sessions).toEqual([f.beta, f.alpha]);
    } finally {
      await store.close();
    }
  });
});
