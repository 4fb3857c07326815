/** The history contract on SQLite: a file per test, in a temporary directory of this file's own. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteHistory } from '../src/storage/sqlite-history.js';
import { describeHistoryStore } from './history-store.contract.js';

const directory = mkdtempSync(join(tmpdir(), 'llmmon-sqlite-contract-'));
let test = 0;
const file = (): string => join(directory, `history-${test}.db`);

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describeHistoryStore(
  'sqlite',
  async (options) => openSqliteHistory(file(), options),
  () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file()}${suffix}`, { force: true });
    test += 1;
  },
);
