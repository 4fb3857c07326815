import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { isEnded } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionChangeListener } from '@llm-monitor/sessions';

/** What the metrics read sessions from: the session store, or anything shaped like it. */
export interface SessionSource {
  subscribe(listener: SessionChangeListener): () => void;
  values(): Iterable<ProcessingSession>;
}

const UNKNOWN = 'unknown';

function labelsOf(session: ProcessingSession): { task: string; model: string; processor_type: string } {
  return {
    task: session.task ?? UNKNOWN,
    model: session.model ?? UNKNOWN,
    processor_type: session.processor_type ?? UNKNOWN,
  };
}

/**
 * Registers the session metrics on `registry` and keeps them fed from `source`'s change events.
 * Returns the function that stops listening.
 */
export function registerSessionMetrics(registry: Registry, source: SessionSource): () => void {
  const started = new Counter({
    name: 'llm_monitor_sessions_started_total',
    help: 'Processing sessions started.',
    labelNames: ['task', 'model', 'processor_type'] as const,
    registers: [registry],
  });
  const ended = new Counter({
    name: 'llm_monitor_sessions_ended_total',
    help: 'Processing sessions ended, by final status (completed, failed, abandoned).',
    labelNames: ['status', 'task', 'model', 'processor_type'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'llm_monitor_sessions_active',
    help: 'Processing sessions running now.',
    registers: [registry],
    collect() {
      let active = 0;
      for (const session of source.values()) if (!isEnded(session.status)) active += 1;
      this.set(active);
    },
  });
  // A session ends once for the metrics: one abandoned and then revived by late spans keeps its first
  // ending (counters cannot take it back), so started and ended always balance. Remembered until the
  // store lets the session go, so this is bounded by the store.
  const endedOnce = new Set<string>();
  return source.subscribe((change) => {
    const id = change.session.session_id;
    if (change.type === 'removed') {
      endedOnce.delete(id);
      return;
    }
    if (change.previousStatus === undefined) started.inc(labelsOf(change.session));
    const ending = change.type === 'completed' || change.type === 'failed' || change.type === 'abandoned';
    if (ending && !endedOnce.has(id)) {
      endedOnce.add(id);
      ended.inc({ status: change.type, ...labelsOf(change.session) });
    }
  });
}
