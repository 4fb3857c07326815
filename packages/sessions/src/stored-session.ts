/**
 * Sessions read back from a durable store may have been written by an older build, before fields
 * were added to the model. This brings them to the current shape, so every answer validates against
 * the schema whatever build stored the session; the fields get the value "nothing known".
 * `limits_hit` needs nothing: it is absent on a session that hit no limit, which is what an older
 * build's session reads as.
 */
import type { LlmCallRecord, ProcessingSession } from './model.js';

/** A stored session as written by any earlier build: fields added since may be missing. */
type StoredSession = Omit<ProcessingSession, 'steps' | 'steps_dropped' | 'llm_calls'> &
  Partial<Pick<ProcessingSession, 'steps' | 'steps_dropped'>> & {
    llm_calls: (Omit<LlmCallRecord, 'metadata'> & Partial<Pick<LlmCallRecord, 'metadata'>>)[];
  };

/** The session in the current model's shape (the same object when nothing was missing). */
export function upgradeStoredSession(stored: StoredSession): ProcessingSession {
  const callsComplete = stored.llm_calls.every((call) => call.metadata !== undefined);
  if (stored.steps !== undefined && stored.steps_dropped !== undefined && callsComplete) return stored as ProcessingSession;
  return {
    ...stored,
    // Sessions stored before steps were kept have none to show.
    steps: stored.steps ?? [],
    steps_dropped: stored.steps_dropped ?? 0,
    llm_calls: callsComplete
      ? (stored.llm_calls as LlmCallRecord[])
      : stored.llm_calls.map((call) => ({ ...call, metadata: call.metadata ?? {} })),
  };
}
