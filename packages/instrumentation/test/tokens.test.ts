import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ATTR_INTER_TOKEN_LATENCY_MAX,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_STAGE,
  ATTR_STREAM_OUTCOME,
  ATTR_TIME_PER_OUTPUT_TOKEN,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_PER_SECOND,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
} from '@llm-monitor/semconv';
import { createLlmMonitor } from '../src/index.js';
import { createHarness, source } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
beforeEach(() => {
  harness = createHarness();
});
afterEach(async () => {
  await harness.close();
});

const tokenEvents = (h: Harness) => h.spans().flatMap((span) => span.events.filter((event) => event.name === EVENT_TOKENS));
const streamingStage = (h: Harness) => h.spans().find((span) => span.attributes[ATTR_STAGE] === 'streaming_response')!;
const sessionSpan = (h: Harness) => h.spans().find((span) => span.attributes['llm_monitor.span_type'] === 'session')!;

describe('token batching', () => {
  it('turns a 4,000-token answer into 16 events by default, with the running count on each', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('streaming_response');
    for (let i = 0; i < 4000; i += 1) session.tokens(1, 'x');
    session.complete();
    const events = tokenEvents(harness);
    expect(events).toHaveLength(16);
    expect(events.map((event) => event.attributes?.[ATTR_TOKENS_COUNT])).toEqual([...Array<number>(15).fill(256), 160]);
    expect(events.at(-1)!.attributes?.[ATTR_TOKENS_TOTAL]).toBe(4000);
    expect(events.some((event) => event.attributes?.[ATTR_TOKENS_TEXT] !== undefined)).toBe(false);
  });

  it('writes one event per call when asked, and keeps text when captured', () => {
    const monitor = createLlmMonitor({
      tracerProvider: harness.provider,
      live: false,
      tokenBatching: { maxTokens: 1 },
      captureTokenText: true,
    });
    const session = monitor.startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(1, 'Hel');
    session.tokens(2, 'lo!');
    session.complete();
    expect(tokenEvents(harness).map((event) => [event.attributes?.[ATTR_TOKENS_COUNT], event.attributes?.[ATTR_TOKENS_TEXT]])).toEqual([
      [1, 'Hel'],
      [2, 'lo!'],
    ]);
  });

  it('flushes a partial batch when the stage ends, joining its text', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false, captureTokenText: true }).startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(1, 'a');
    session.tokens(1, 'b');
    session.stage('processing_response');
    session.complete();
    const events = streamingStage(harness).events;
    expect(events.map((event) => event.attributes?.[ATTR_TOKENS_TEXT])).toEqual(['ab']);
  });

  it('ignores counts that are not positive numbers', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('streaming_response');
    for (const bad of [0, -5, Number.NaN, '3' as unknown as number, Symbol('x') as unknown as number]) session.tokens(bad);
    session.complete();
    expect(tokenEvents(harness)).toEqual([]);
    expect(harness.diagErrors).toEqual([]);
  });
});

describe('token timings', () => {
  it('records time to first token, tokens per second, time per output token and the longest gap', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('streaming_response');
    await new Promise((resolve) => setTimeout(resolve, 20));
    session.tokens(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    session.tokens(1);
    session.tokens(1);
    session.complete();
    for (const span of [sessionSpan(harness), streamingStage(harness)]) {
      const ttft = span.attributes[ATTR_TIME_TO_FIRST_TOKEN] as number;
      const tpot = span.attributes[ATTR_TIME_PER_OUTPUT_TOKEN] as number;
      const tps = span.attributes[ATTR_TOKENS_PER_SECOND] as number;
      const maxGap = span.attributes[ATTR_INTER_TOKEN_LATENCY_MAX] as number;
      expect(ttft).toBeGreaterThanOrEqual(0.019);
      expect(maxGap).toBeGreaterThanOrEqual(0.029);
      // Two tokens after the first, over the time from first to last token.
      expect(tps).toBeCloseTo(1 / tpot, 6);
      expect(tpot).toBeGreaterThanOrEqual(maxGap / 2 - 1e-9);
    }
  });
});

describe('streamTokens', () => {
  it('passes string chunks through unchanged inside the streaming stage', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false, captureTokenText: true }).startSession({ task: 't' });
    const received: string[] = [];
    for await (const chunk of session.streamTokens(source(['Hel', 'lo', ' world']))) received.push(chunk);
    session.complete();
    expect(received).toEqual(['Hel', 'lo', ' world']);
    const stage = streamingStage(harness);
    expect(stage.attributes[ATTR_STREAM_OUTCOME]).toBe('completed');
    expect(stage.events.map((event) => event.attributes?.[ATTR_TOKENS_TEXT])).toEqual(['Hello world']);
    expect(sessionSpan(harness).attributes[ATTR_SESSION_OUTPUT_TOKENS]).toBe(3);
  });

  it('reads OpenAI-style chunks and their usage, and uses the usage for the session totals', async () => {
    const chunks = [
      { choices: [{ delta: { role: 'assistant' } }] },
      { choices: [{ delta: { content: 'Hi' } }] },
      { choices: [{ delta: { content: ' there' } }] },
      { choices: [], usage: { prompt_tokens: 11, completion_tokens: 2 } },
    ];
    const monitor = createLlmMonitor({ tracerProvider: harness.provider, live: false, captureTokenText: true });
    const session = monitor.startSession({ task: 't' });
    const received: unknown[] = [];
    for await (const chunk of session.streamTokens(source(chunks))) received.push(chunk);
    session.complete();
    expect(received).toEqual(chunks);
    expect(streamingStage(harness).events[0]!.attributes?.[ATTR_TOKENS_TEXT]).toBe('Hi there');
    expect(sessionSpan(harness).attributes).toMatchObject({ [ATTR_SESSION_INPUT_TOKENS]: 11, [ATTR_SESSION_OUTPUT_TOKENS]: 2 });
  });

  it('reads Anthropic-style deltas and counts with the given counter', async () => {
    const chunks = [
      { type: 'content_block_delta', delta: { type: 'text_delta', text: 'one two' } },
      { type: 'message_delta', usage: { output_tokens: 2 } },
    ];
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    for await (const chunk of session.streamTokens(source(chunks), { countTokens: (text) => text.split(' ').length })) void chunk;
    session.complete();
    expect(streamingStage(harness).events[0]!.attributes?.[ATTR_TOKENS_COUNT]).toBe(2);
  });

  it('ends the stage as cancelled on an early break and releases the source', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    const upstream = source(['a', 'b', 'c', 'd']);
    for await (const chunk of session.streamTokens(upstream)) if (chunk === 'b') break;
    session.complete();
    expect(upstream.returned).toBe(true);
    expect(streamingStage(harness).attributes[ATTR_STREAM_OUTCOME]).toBe('cancelled');
    expect(streamingStage(harness).status.code).toBe(0);
  });

  it('ends the stage as error when the source throws, and lets the error through', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    const consume = async () => {
      for await (const chunk of session.streamTokens(source(['a', 'b', 'c'], 2))) void chunk;
    };
    await expect(consume()).rejects.toThrow('upstream reset');
    session.fail(new Error('upstream reset'));
    const stage = streamingStage(harness);
    expect(stage.attributes[ATTR_STREAM_OUTCOME]).toBe('error');
    expect(stage.status).toMatchObject({ code: 2, message: 'upstream reset' });
  });

  it('ends the stage as aborted when the signal aborts, throwing its reason', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    const controller = new AbortController();
    const never: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<string>>(() => undefined) }),
    };
    const consume = async () => {
      for await (const chunk of session.streamTokens(never, { signal: controller.signal })) void chunk;
    };
    const consuming = consume();
    setTimeout(() => controller.abort(new Error('user cancelled')), 10);
    await expect(consuming).rejects.toThrow('user cancelled');
    session.complete();
    const stage = streamingStage(harness);
    expect(stage.attributes[ATTR_STREAM_OUTCOME]).toBe('aborted');
    expect(stage.status.code).toBe(2);
  });

  it('leaves the stage alone when asked to, and returns the source itself when disabled', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('streaming_response');
    for await (const chunk of session.streamTokens(source(['a']), { stage: false })) void chunk;
    session.stage('processing_response');
    session.complete();
    expect(harness.spans().filter((span) => span.attributes[ATTR_STAGE] === 'streaming_response')).toHaveLength(1);
    const upstream = source(['a']);
    expect(createLlmMonitor({ enabled: false }).startSession({ task: 't' }).streamTokens(upstream)).toBe(upstream);
  });
});
