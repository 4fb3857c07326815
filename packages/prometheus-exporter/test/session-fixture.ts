import type { ProcessingSession } from '@llm-monitor/sessions';

/**
 * A session of ours with nothing in it yet (`active`, no stages, calls, steps or tokens), with
 * `overrides` on top: the metrics tests set what they count.
 */
export function sessionWith(overrides: Partial<ProcessingSession> & Pick<ProcessingSession, 'session_id'>): ProcessingSession {
  return {
    trace_id: 'a'.repeat(32),
    source: 'llm_monitor',
    status: 'active',
    start_time: '2026-11-22T12:00:00.000Z',
    end_time: null,
    duration_ms: null,
    current_stage: null,
    progress: 0,
    content_preview: null,
    result_preview: null,
    task: 'summarize',
    model: 'gpt-4o-mini',
    provider: 'openai',
    processor_type: 'openai',
    service_name: 'app',
    conversation_id: null,
    user_id: null,
    events: [],
    stages: [],
    llm_calls: [],
    steps: [],
    steps_dropped: 0,
    streamed_tokens: [],
    token_counts: { input: null, output: null, total: null, streamed: 0 },
    cost_usd: null,
    budget_exceeded: [],
    time_to_first_token_ms: null,
    tokens_per_second: null,
    time_per_output_token_ms: null,
    metadata: {},
    error: null,
    ...overrides,
  };
}

/** The fields of a session that has ended with `status` after one second. */
export function endedAs(status: ProcessingSession['status']): Partial<ProcessingSession> {
  return { status, end_time: '2026-11-22T12:00:01.000Z', duration_ms: 1000, current_stage: status, progress: 100 };
}
