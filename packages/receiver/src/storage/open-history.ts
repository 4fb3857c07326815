/** Opening the history store a `storage_url` names. */
import type { HistoryStore } from '@llm-monitor/sessions';
import { MemoryHistoryStore } from '@llm-monitor/sessions';
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

/**
 * Opens the history store a `storage_url` names (creating and migrating it as needed). Each store's
 * module (and its driver: better-sqlite3, pg) is loaded only when it is the one named, so a receiver
 * carries only the driver it uses.
 */
export async function openHistoryStore(location: StorageLocation, options: OpenHistoryOptions = {}): Promise<HistoryStore> {
  if (location.kind === 'memory') return new MemoryHistoryStore();
  if (location.kind === 'sqlite') {
    const { openSqliteHistory } = await import('./sqlite-history.js');
    return openSqliteHistory(location.path, { replicaId: options.replicaId });
  }
  const { openPostgresHistory } = await import('./postgres-history.js');
  return openPostgresHistory(location.url, { replicaId: options.replicaId });
}
