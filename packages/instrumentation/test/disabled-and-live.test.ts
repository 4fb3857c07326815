import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
} from '@llm-monitor/semconv';
import { createLlmMonitor, DISABLED_SESSION, ENABLED_ENV } from '../src/index.js';
import type { LiveUpdate } from '../src/index.js';
import { createHarness, millis } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
beforeEach(() => {
  harness = createHarness();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await harness.close();
});

describe('disabled monitoring', () => {
  it('is one shared no-op session when disabled globally, by option or by environment', () => {
    expect(createLlmMonitor({ tracerProvider: harness.provider, enabled: false }).startSession({ task: 't' })).toBe(DISABLED_SESSION);
    vi.stubEnv(ENABLED_ENV, 'false');
    const byEnvironment = createLlmMonitor({ tracerProvider: harness.provider });
    expect(byEnvironment.enabled).toBe(false);
    const session = byEnvironment.startSession({ task: 't' });
    session.stage('initializing');
    session.tokens(5, 'x');
    session.startLlmCall({ model: 'm' }).end();
    session.complete();
    expect(session.recording).toBe(false);
    expect(harness.exporter.getFinishedSpans()).toEqual([]);
  });

  it('can be turned off for one session', () => {
    const monitor = createLlmMonitor({ tracerProvider: harness.provider });
    expect(monitor.startSession({ task: 't', enabled: false })).toBe(DISABLED_SESSION);
    monitor.startSession({ task: 't' }).complete();
    expect(harness.spans()).toHaveLength(1);
  });
});

describe('live updates through pending-marker spans', () => {
  it('announce the session and each stage as they start, as children of the running span', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.stage('initializing');
    session.stage('validating_input', { message: 'checking' });
    // Nothing has ended but the first stage; the markers are already out.
    const markers = harness.markers();
    expect(markers.map((marker) => marker.attributes[ATTR_PENDING_SPAN_TYPE])).toEqual(['session', 'stage', 'stage']);
    const [sessionMarker, , validating] = markers;
    expect(sessionMarker!.attributes[ATTR_PENDING_PARENT_ID]).toBe('');
    expect(validating!.attributes).toMatchObject({ [ATTR_STAGE]: 'validating_input', 'llm_monitor.stage.message': 'checking' });
    expect(validating!.attributes[ATTR_PENDING_PARENT_ID]).toBe(sessionMarker!.parentSpanContext!.spanId);
    session.complete();
    const stage = harness.spans().find((span) => span.attributes[ATTR_STAGE] === 'validating_input')!;
    expect(validating!.parentSpanContext!.spanId).toBe(stage.spanContext().spanId);
    expect(millis(validating!.startTime)).toBe(millis(stage.startTime));
  });

  it('report streaming progress: the first token at once, then at most once per interval, with text since the last; a stall flushes the rest', async () => {
    const monitor = createLlmMonitor({ tracerProvider: harness.provider, captureTokenText: true, progressIntervalMs: 40 });
    const session = monitor.startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(1, 'a');
    session.tokens(1, 'b');
    session.tokens(1, 'c');
    await new Promise((resolve) => setTimeout(resolve, 50));
    session.tokens(2, 'de');
    // 'a' at once; 'b' and 'c' by the trailing update once no token came within the interval; 'de'
    // by the next trailing update, after which nothing is pending.
    await new Promise((resolve) => setTimeout(resolve, 60));
    const progress = harness.markers().filter((marker) => marker.events.length > 0);
    expect(progress.map((marker) => marker.attributes[ATTR_TOKENS_TOTAL])).toEqual([1, 3, 5]);
    const events = progress.map((marker) => marker.events[0]!);
    expect(events.every((event) => event.name === EVENT_TOKENS)).toBe(true);
    expect(events.map((event) => [event.attributes?.[ATTR_TOKENS_COUNT], event.attributes?.[ATTR_TOKENS_TEXT]])).toEqual([
      [1, 'a'],
      [2, 'bc'],
      [2, 'de'],
    ]);
    // A progress marker spans from the stage start to the moment of the update.
    expect(millis(progress[1]!.endTime)).toBeGreaterThan(millis(progress[1]!.startTime));
    session.complete();
  });

  it('go through any channel given, which is how the live span processor takes them', () => {
    const updates: LiveUpdate[] = [];
    const session = createLlmMonitor({
      tracerProvider: harness.provider,
      live: { announce: (update) => updates.push(update) },
    }).startSession({ task: 't' });
    session.stage('initializing');
    session.complete();
    expect(updates.map((update) => [update.spanType, update.name])).toEqual([
      ['session', 'llm_monitor.session t'],
      ['stage', 'llm_monitor.stage initializing'],
    ]);
    expect(harness.markers()).toEqual([]);
  });
});
