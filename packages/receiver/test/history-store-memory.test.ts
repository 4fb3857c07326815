/** The history contract on the memory store (`storage_url: memory:`): the live window, nothing kept. */
import { MemoryHistoryStore } from '@llm-monitor/sessions';
import { describeHistoryStore } from './history-store.contract.js';

describeHistoryStore(
  'memory',
  async () => new MemoryHistoryStore(),
  () => undefined,
);
