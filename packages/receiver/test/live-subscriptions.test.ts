/**
 * What a live client subscribes to: one set of names for the WebSocket (message and URL) and the
 * SSE stream, the deprecated alias `session`, and the `subscribed` reply in the same names. The
 * streams themselves are exercised in test/live-streams.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LIVE_ERROR_CODES, LIVE_FILTER_PARAMETERS, matchesFilter } from '@llm-monitor/sessions';
import type { LiveFilter } from '@llm-monitor/sessions';
import { describeSubscription, subscriptionOfMessage, subscriptionOfQuery } from '../src/live/subscriptions.js';
import type { LiveParameters } from '../src/live/subscriptions.js';
import { session } from './session-fixture.js';

const EVERY_NAME: Required<LiveFilter> = {
  sessions: ['a', 'b'],
  status: ['active', 'failed'],
  model: 'm',
  task: 't',
  processor_type: 'batch',
  conversation: 'c-1',
};

/** The same parameters as a URL gives them: lists comma-separated. */
const asQuery = (filter: LiveFilter): LiveParameters =>
  Object.fromEntries(Object.entries(filter).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]));

/** The code and message a subscription is refused with. */
function refusal(read: () => unknown): { code: string; message: string } {
  try {
    read();
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('the subscription was accepted');
}

describe('live subscriptions', () => {
  it('read every name, from a WebSocket message and from a URL alike, and are described in the same names', () => {
    // The filter names every parameter the shared list has: a name the receiver skipped would be missing below.
    expect(Object.keys(EVERY_NAME).sort()).toEqual([...LIVE_FILTER_PARAMETERS].sort());
    const fromMessage = subscriptionOfMessage(EVERY_NAME);
    expect(describeSubscription(fromMessage)).toEqual({ active: true, ...EVERY_NAME });
    expect(subscriptionOfQuery(asQuery(EVERY_NAME))).toEqual(fromMessage);
    expect(describeSubscription(subscriptionOfQuery({}))).toEqual({ active: true });
  });

  it('match each filter name against the session field it names', () => {
    const running = session({ status: 'active', model: 'm', task: 't', processor_type: 'batch', conversation_id: 'c-1' });
    for (const [name, value, other] of [
      ['status', ['active'], ['failed']],
      ['model', 'm', 'n'],
      ['task', 't', 'u'],
      ['processor_type', 'batch', 'stream'],
      ['conversation', 'c-1', 'c-2'],
    ] as const) {
      expect(matchesFilter(running, subscriptionOfMessage({ [name]: value }).filter!), name).toBe(true);
      expect(matchesFilter(running, subscriptionOfMessage({ [name]: other }).filter!), name).toBe(false);
    }
  });

  it('take the deprecated session for sessions, in a URL and in a message, and refuse both at once', () => {
    expect(subscriptionOfQuery({ session: 'a,b' })).toEqual(subscriptionOfQuery({ sessions: 'a,b' }));
    expect(subscriptionOfMessage({ type: 'subscribe', session: ['a'] } as LiveParameters)).toEqual(
      subscriptionOfMessage({ sessions: ['a'] }),
    );
    expect(refusal(() => subscriptionOfQuery({ session: 'a', sessions: 'b' }))).toEqual({
      code: LIVE_ERROR_CODES.BAD_PARAMETER,
      message: 'sessions and its deprecated alias session were both given: give sessions only',
    });
    // An error names the spelling the client used.
    expect(refusal(() => subscriptionOfMessage({ session: 'a,b' })).message).toBe('session must be a list of at most 1000 session ids');
    expect(refusal(() => subscriptionOfQuery({ sessions: ['a', 'b'] })).message).toBe('sessions must be comma-separated session ids');
  });

  it('refuse what is no subscription with the code live clients get, naming the field', () => {
    for (const [parameters, name] of [
      [{ status: 'done' }, 'status'],
      [{ status: ['active', 'done'] }, 'status'],
      [{ model: 5 }, 'model'],
      [{ processor_type: 'x'.repeat(257) }, 'processor_type'],
      [{ conversation: {} }, 'conversation'],
      [{ sessions: Array.from({ length: 1001 }, (_, index) => `s-${index}`) }, 'sessions'],
    ] as const) {
      const { code, message } = refusal(() => subscriptionOfMessage(parameters));
      expect(code, name).toBe(LIVE_ERROR_CODES.BAD_PARAMETER);
      expect(message, name).toContain(name);
    }
  });
});
