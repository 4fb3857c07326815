import { SessionBuilder } from '@llm-monitor/sessions';
import type { ProcessingSession } from '@llm-monitor/sessions';

/** A session rebuilt from one running GenAI span (id `s`, model `m`), with `overrides` on top. */
export function session(overrides: Partial<ProcessingSession> = {}): ProcessingSession {
  const base = new SessionBuilder().ingest([
    {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      parentSpanId: '',
      name: 'chat m',
      kind: 3,
      startTimeUnixMs: 1_000,
      endTimeUnixMs: 0,
      attributes: { 'gen_ai.request.model': 'm' },
      events: [],
      status: { code: 0, message: '' },
      resource: {},
      scope: { name: '', version: '' },
    },
  ])[0]!;
  return { ...base, session_id: 's', ...overrides };
}
