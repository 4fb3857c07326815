/** Behaviour a review found wrong once; each test failed before its fix. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context } from '@opentelemetry/api';
import {
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_STAGE,
  ATTR_STREAM_OUTCOME,
  ATTR_TIME_PER_OUTPUT_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_PER_SECOND,
  ATTR_TOKENS_TOTAL,
} from '@llm-monitor/semconv';
import { chunkUsage, createLlmMonitor, DISABLED_SESSION } from '../src/index.js';
import { TokenTiming } from '../src/token-tracker.js';
import { createHarness } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
beforeEach(() => {
  harness = createHarness();
});
afterEach(async () => {
  await harness.close();
});

const stageSpans = (h: Harness, stage: string) => h.spans().filter((span) => span.attributes[ATTR_STAGE] === stage);
const sessionSpan = (h: Harness) => h.spans().find((span) => span.attributes['llm_monitor.span_type'] === 'session')!;

describe('the stream helper', () => {
  it('ends the stage at once on abort, even when the source is stuck in next() and never returns', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    async function* stuck(): AsyncGenerator<string> {
      yield 'first';
      await new Promise(() => undefined);
    }
    const controller = new AbortController();
    const consume = async () => {
      for await (const chunk of session.streamTokens(stuck(), { signal: controller.signal })) {
        if (chunk === 'first') setTimeout(() => controller.abort(new Error('stop')), 5);
      }
    };
    // If the helper waited for the stuck generator's return(), this would never settle.
    await expect(consume()).rejects.toThrow('stop');
    session.complete();
    expect(stageSpans(harness, 'streaming_response')[0]!.attributes[ATTR_STREAM_OUTCOME]).toBe('aborted');
  });

  it('with stage: false, leaves the application stage alone', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('sending_request');
    for await (const chunk of session.streamTokens(['a', 'b'].values() as unknown as AsyncIterable<string>, { stage: false })) void chunk;
    session.tokens(1);
    session.complete();
    const sending = stageSpans(harness, 'sending_request')[0]!;
    expect(sending.attributes[ATTR_STREAM_OUTCOME]).toBeUndefined();
    // All three tokens landed on the application's stage, which stayed current.
    expect(sending.events.at(-1)?.attributes?.[ATTR_TOKENS_TOTAL]).toBe(3);
  });

  it('ends only the stage it entered, not one the application moved on to', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    async function* chunks(): AsyncGenerator<string> {
      yield 'a';
      session.stage('processing_response');
      yield 'b';
    }
    for await (const chunk of session.streamTokens(chunks())) void chunk;
    expect(session.progress).toBe(85);
    session.stage('collecting_metadata');
    session.complete();
    expect(stageSpans(harness, 'processing_response')[0]!.attributes[ATTR_STREAM_OUTCOME]).toBeUndefined();
    expect(stageSpans(harness, 'streaming_response')[0]!.attributes[ATTR_STREAM_OUTCOME]).toBeUndefined();
  });

  it('reads Anthropic input tokens from message_start, and adds up usage over several streams', async () => {
    expect(chunkUsage({ type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1 } } })).toEqual({
      input: 12,
      output: 1,
    });
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    const anthropic = [
      { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1 } } },
      { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', usage: { output_tokens: 5 } },
    ];
    const openai = [{ choices: [{ delta: { content: 'Yo' } }] }, { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } }];
    for (const stream of [anthropic, openai]) {
      for await (const chunk of session.streamTokens(stream.values() as unknown as AsyncIterable<unknown>)) void chunk;
    }
    session.complete();
    expect(sessionSpan(harness).attributes).toMatchObject({ [ATTR_SESSION_INPUT_TOKENS]: 15, [ATTR_SESSION_OUTPUT_TOKENS]: 7 });
  });

  it('survives chunks whose getters throw, and a source that is not iterable', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    const hostile = {
      get choices(): never {
        throw new Error('getter');
      },
    };
    const received: unknown[] = [];
    for await (const chunk of session.streamTokens([hostile, 'ok'].values() as unknown as AsyncIterable<unknown>)) received.push(chunk);
    expect(received).toEqual([hostile, 'ok']);
    const consume = async () => {
      for await (const chunk of session.streamTokens({} as AsyncIterable<string>)) void chunk;
    };
    await expect(consume()).rejects.toThrow(TypeError);
    session.complete();
    const streams = stageSpans(harness, 'streaming_response');
    expect(streams.map((span) => span.attributes[ATTR_STREAM_OUTCOME])).toEqual(['completed', 'error']);
  });
});

describe('live progress', () => {
  it('never reports a token twice: what a stage did not announce, its real span carries', async () => {
    const monitor = createLlmMonitor({ tracerProvider: harness.provider, progressIntervalMs: 30 });
    const session = monitor.startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(1);
    session.tokens(5);
    session.stage('processing_response');
    session.tokens(5);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const progress = harness.markers().filter((marker) => marker.events.length > 0);
    expect(progress.map((marker) => [marker.events[0]!.attributes?.[ATTR_TOKENS_COUNT], marker.attributes[ATTR_TOKENS_TOTAL]])).toEqual([
      [1, 1],
      [5, 11],
    ]);
    session.complete();
  });
});

describe('timings', () => {
  it('count tokens after the first arrival, not after the first token', () => {
    const timing = new TokenTiming();
    timing.record(10, 1000);
    timing.record(10, 2000);
    expect(timing.timings(0)).toMatchObject({ tokensPerSecond: 10, timePerOutputToken: 0.1, timeToFirstToken: 1 });
    const single = new TokenTiming();
    single.record(50, 1000);
    expect(single.timings(0)).toMatchObject({ tokensPerSecond: undefined, timePerOutputToken: undefined });
  });

  it('are per stage on stage spans', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, live: false }).startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    session.tokens(1);
    session.stage('processing_response');
    await new Promise((resolve) => setTimeout(resolve, 60));
    session.stage('collecting_metadata');
    session.tokens(1);
    session.complete();
    const first = stageSpans(harness, 'streaming_response')[0]!;
    expect(first.attributes[ATTR_TOKENS_PER_SECOND]).toBeGreaterThan(1000 / 60);
    expect(stageSpans(harness, 'collecting_metadata')[0]!.attributes[ATTR_TIME_PER_OUTPUT_TOKEN]).toBeUndefined();
  });
});

describe('disabled and misused', () => {
  it('a disabled session still honours a stream abort and keeps the active context', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    const consume = async () => {
      for await (const chunk of DISABLED_SESSION.streamTokens(['a'].values() as unknown as AsyncIterable<string>, {
        signal: controller.signal,
      }))
        void chunk;
    };
    await expect(consume()).rejects.toThrow('cancelled');
    const key = Symbol('k');
    const active = context.active().setValue(key, 1);
    context.with(active, () => expect(DISABLED_SESSION.context).toBe(context.active()));
  });

  it('createLlmMonitor(null) works, and a throwing live channel cannot leave a session open', () => {
    expect(() => createLlmMonitor(null)).not.toThrow();
    const monitor = createLlmMonitor({
      tracerProvider: harness.provider,
      live: {
        announce: () => {
          throw new Error('channel down');
        },
      },
    });
    const session = monitor.startSession({ task: 't' });
    session.stage('initializing');
    session.complete();
    expect(harness.spans()).toHaveLength(2);
    expect(harness.diagErrors.length).toBe(2);
  });
});
