/** Opening the history store a `storage_url` names. */
import type { HistoryStore } from '@llm-monitor/sessions';
import { MemoryHistoryStore } from '@llm-monitor/sessions';
import { openPostgresHistory } from './postgres-history.js';
import { openSqliteHistory } from './sqlite-history.js';
import type { StorageLocation } from './storage-url.js';

/** Options of {@link openHistoryStore}. */
export interface OpenHistoryOptions {
  /**
   * The replica this receiver is, when several share one store (default `''`: a receiver on its
   * own). A durable store opened with one is {@link HistoryStore.shared}: the span records it
   * appends carry the id, a restart takes back only this replica's traces, and the others' records
   * of the traces it holds can be merged. The memory store ignores it (it is never shared).
   */
  readonly replicaId?: string;
}

/** Opens the history store a `storage_url` names (creating and migrating it as needed). */
export async function openHistoryStore(location: StorageLocation, options: OpenHistoryOptions = {}): Promise<HistoryStore> {
  if (location.kind === 'memory') return new MemoryHistoryStore();
  if (location.kind === 'sqlite') return openSqliteHistory(location.path, { replicaId: options.replicaId });
  return openPostgresHistory(location.url, { replicaId: options.replicaId });
}
