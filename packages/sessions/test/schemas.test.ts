import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SessionBuilder, processingSessionSchema } from '../src/index.js';
import { completedSession, pendingMarker } from './span-fixtures.js';

const ajv = new Ajv({
  strict: true,
  allowUnionTypes: true,
  formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/ },
});
const validate = ajv.compile(processingSessionSchema);

describe('processingSessionSchema', () => {
  it('accepts completed, running and failed sessions exactly as the builder makes them', () => {
    const completed = completedSession();
    const failed = completedSession({ fail: true, traceId: 'f'.repeat(32), sessionId: 'failed' });
    const sessions = [
      new SessionBuilder().ingest(completed.all)[0]!,
      new SessionBuilder().ingest([pendingMarker(completed.root), pendingMarker(completed.stages[0]!)])[0]!,
      new SessionBuilder().ingest(failed.all)[0]!,
    ];
    for (const session of sessions) {
      expect(validate(session), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('rejects a session with a field the model does not have', () => {
    const session = new SessionBuilder().ingest(completedSession().all)[0]!;
    expect(validate({ ...session, sessionId: 'camelCase' })).toBe(false);
    expect(validate({ ...session, progress: 101 })).toBe(false);
  });
});
