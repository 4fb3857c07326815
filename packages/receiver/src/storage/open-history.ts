/** Opening the history store a `storage_url` names. */
import type { HistoryStore } from '@llm-monitor/sessions';
import { MemoryHistoryStore } from '@llm-monitor/sessions';
import { openPostgresHistory } from './postgres-history.js';
import { openSqliteHistory } from './sqlite-history.js';
import type { StorageLocation } from './storage-url.js';

/** Opens the history store a `storage_url` names (creating and migrating it as needed). */
export async function openHistoryStore(location: StorageLocation): Promise<HistoryStore> {
  if (location.kind === 'memory') return new MemoryHistoryStore();
  if (location.kind === 'sqlite') return openSqliteHistory(location.path);
  return openPostgresHistory(location.url);
}
