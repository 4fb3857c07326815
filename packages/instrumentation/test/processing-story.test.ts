import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  ATTR_CHAIN_BRANCH,
  ATTR_CHAIN_STEP,
  ATTR_DB_COLLECTION,
  ATTR_DB_OPERATION,
  ATTR_DB_SYSTEM,
  ATTR_EMBEDDING_DIMENSIONS,
  ATTR_SELECTION_ATTEMPTS,
  ATTR_SELECTION_CANDIDATES,
  ATTR_SELECTION_CHOSEN,
  ATTR_SELECTION_FALLBACKS,
  ATTR_SELECTION_REASON,
  ATTR_SESSION_ID,
  ATTR_STAGE,
  ATTR_STEP_INPUT_PREVIEW,
  ATTR_STEP_KIND,
  ATTR_STEP_OUTPUT_PREVIEW,
  ATTR_TEMPLATE_ID,
  ATTR_TEMPLATE_VARIABLES,
  ATTR_TEMPLATE_VERSION,
  ATTR_VECTOR_RESULT_COUNT,
  ATTR_VECTOR_SCORES,
  ATTR_VECTOR_TOP_K,
  EVENT_SELECTION_FALLBACK,
  GEN_AI,
} from '@llm-monitor/semconv';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '../src/index.js';
import { createHarness, millis } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
const contextManager = new AsyncLocalStorageContextManager();
beforeEach(() => {
  harness = createHarness();
  context.setGlobalContextManager(contextManager.enable());
});
afterEach(async () => {
  context.disable();
  await harness.close();
});

const named = (h: Harness, name: string): ReadableSpan => h.spans().find((span) => span.name === name)!;
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe('processing-story spans', () => {
  it('records template resolution under the current stage, with variable names but not values', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.stage('resolving_template');
    const rendered = await session.resolveTemplate(
      { templateId: 'summary', version: '3', variables: { text: 'private', tone: 'formal' } },
      () => 'Summarize: private',
    );
    session.complete();
    expect(rendered).toBe('Summarize: private');
    const span = named(harness, 'llm_monitor.template_resolution summary');
    expect(span.attributes).toMatchObject({
      [ATTR_TEMPLATE_ID]: 'summary',
      [ATTR_TEMPLATE_VERSION]: '3',
      [ATTR_TEMPLATE_VARIABLES]: ['text', 'tone'],
      [ATTR_SESSION_ID]: session.sessionId,
    });
    expect(JSON.stringify(span.attributes)).not.toContain('private');
    const stage = harness.spans().find((s) => s.attributes[ATTR_STAGE] === 'resolving_template')!;
    expect(parentOf(span)).toBe(stage.spanContext().spanId);
  });

  it('records model selection with candidates, fallback attempts, the choice and the reason', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    const model = await session.selectModel({ candidates: ['gpt-4o', 'claude-sonnet-4', 'llama3.1:8b'] }, (selection) => {
      selection.fallback('gpt-4o', new Error('429 rate limited'));
      selection.fallback('claude-sonnet-4', new TypeError('timeout'));
      selection.choose('llama3.1:8b', 'first healthy candidate');
      return 'llama3.1:8b';
    });
    session.complete();
    expect(model).toBe('llama3.1:8b');
    const span = named(harness, 'llm_monitor.model_selection');
    expect(span.attributes).toMatchObject({
      [ATTR_SELECTION_CANDIDATES]: ['gpt-4o', 'claude-sonnet-4', 'llama3.1:8b'],
      [ATTR_SELECTION_CHOSEN]: 'llama3.1:8b',
      [ATTR_SELECTION_REASON]: 'first healthy candidate',
      [ATTR_SELECTION_ATTEMPTS]: ['gpt-4o', 'claude-sonnet-4', 'llama3.1:8b'],
      [ATTR_SELECTION_FALLBACKS]: 2,
    });
    expect(span.events.filter((event) => event.name === EVENT_SELECTION_FALLBACK).map((event) => event.attributes?.['error.type'])).toEqual(
      ['Error', 'TypeError'],
    );
  });

  it('nests chain steps, runs them in parallel, records branches and makes each step the active span', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    let activeInside: string | undefined;
    const result = await session.chainStep('plan', async (plan) => {
      plan.branch('needs_research');
      activeInside = trace.getActiveSpan()?.spanContext().spanId;
      const [a, b] = await Promise.all([
        plan.chainStep('research_a', async () => {
          await new Promise((resolve) => setTimeout(resolve, 15));
          return 'a';
        }),
        plan.chainStep('research_b', async () => {
          await new Promise((resolve) => setTimeout(resolve, 15));
          return 'b';
        }),
      ]);
      return plan.chainStep('combine', () => `${a}+${b}`);
    });
    session.complete();
    expect(result).toBe('a+b');
    const plan = named(harness, 'llm_monitor.chain_step plan');
    const researchA = named(harness, 'llm_monitor.chain_step research_a');
    const researchB = named(harness, 'llm_monitor.chain_step research_b');
    const combine = named(harness, 'llm_monitor.chain_step combine');
    expect(plan.attributes).toMatchObject({ [ATTR_CHAIN_STEP]: 'plan', [ATTR_CHAIN_BRANCH]: 'needs_research' });
    expect(activeInside).toBe(plan.spanContext().spanId);
    for (const child of [researchA, researchB, combine]) expect(parentOf(child)).toBe(plan.spanContext().spanId);
    // Parallel: each started before the other ended.
    expect(millis(researchA.startTime)).toBeLessThan(millis(researchB.endTime));
    expect(millis(researchB.startTime)).toBeLessThan(millis(researchA.endTime));
    expect(millis(combine.startTime)).toBeGreaterThanOrEqual(Math.max(millis(researchA.endTime), millis(researchB.endTime)));
  });

  it('records a failing step as an error and passes the error through', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    await expect(session.chainStep('validate', () => Promise.reject(new SyntaxError('bad json')))).rejects.toThrow('bad json');
    session.complete();
    const span = named(harness, 'llm_monitor.chain_step validate');
    expect(span.status).toMatchObject({ code: 2, message: 'bad json' });
    expect(span.attributes['error.type']).toBe('SyntaxError');
  });

  it('records embeddings as a GenAI span, and vector search and storage with database names', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.stage('resolving_template');
    const vectors = await session.embed({ model: 'text-embedding-3-small', provider: 'openai', inputCount: 2 }, async () => [
      [0.1, 0.2, 0.3],
      [0.4, 0.5, 0.6],
    ]);
    const hits = await session.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 3 }, async () => [
      { id: 'a', score: 0.92 },
      { id: 'b', score: 0.81 },
    ]);
    await session.vectorStore({ operation: 'upsert', store: 'qdrant', collection: 'docs', count: 2 }, async () => undefined);
    session.complete();
    expect(vectors).toHaveLength(2);
    expect(hits).toHaveLength(2);
    expect(named(harness, 'embeddings text-embedding-3-small').attributes).toMatchObject({
      [GEN_AI.operationName]: 'embeddings',
      [GEN_AI.providerName]: 'openai',
      [ATTR_EMBEDDING_DIMENSIONS]: 3,
      'llm_monitor.embeddings.input_count': 2,
    });
    expect(named(harness, 'llm_monitor.vector_search qdrant').attributes).toMatchObject({
      [ATTR_DB_SYSTEM]: 'qdrant',
      [ATTR_DB_COLLECTION]: 'docs',
      [ATTR_DB_OPERATION]: 'similarity_search',
      [ATTR_VECTOR_TOP_K]: 3,
      [ATTR_VECTOR_RESULT_COUNT]: 2,
      [ATTR_VECTOR_SCORES]: [0.92, 0.81],
    });
    expect(named(harness, 'llm_monitor.vector_store upsert qdrant').attributes).toMatchObject({
      [ATTR_DB_OPERATION]: 'upsert',
      [ATTR_VECTOR_RESULT_COUNT]: 2,
    });
  });

  it('records what a chain step is, its input and its result (the intermediate result) when content is kept', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    const found = await session.chainStep('retrieve', (step) => step.chainStep('rerank', () => ['doc-2', 'doc-1'], { kind: 'rerank' }), {
      kind: 'retrieval',
      input: 'the question',
    });
    session.complete();
    expect(found).toEqual(['doc-2', 'doc-1']);
    expect(named(harness, 'llm_monitor.chain_step retrieve').attributes).toMatchObject({
      [ATTR_STEP_KIND]: 'retrieval',
      [ATTR_STEP_INPUT_PREVIEW]: 'the question',
      [ATTR_STEP_OUTPUT_PREVIEW]: '["doc-2","doc-1"]',
    });
    expect(named(harness, 'llm_monitor.chain_step rerank').attributes).toMatchObject({
      [ATTR_STEP_KIND]: 'rerank',
      [ATTR_STEP_OUTPUT_PREVIEW]: '["doc-2","doc-1"]',
    });
  });

  it('keeps no step content when the application keeps none (llmContentLength 0)', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider, llmContentLength: 0 }).startSession({ task: 't' });
    await session.chainStep('retrieve', () => 'secret result', { input: 'secret question' });
    await session.toolCall({ name: 'lookup', arguments: { account: 'secret' } }, () => 'secret answer');
    session.complete();
    expect(JSON.stringify(harness.spans().map((span) => span.attributes))).not.toContain('secret');
  });

  it('records a tool call as a GenAI execute_tool span, with its arguments and result, and passes errors through', async () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.stage('processing_response');
    const weather = await session.toolCall({ name: 'weather', callId: 'call_1', arguments: { city: 'Paris' } }, () => ({
      temperature: 21,
    }));
    await expect(session.toolCall({ name: 'flaky' }, () => Promise.reject(new TypeError('timeout')))).rejects.toThrow('timeout');
    session.complete();
    expect(weather).toEqual({ temperature: 21 });
    const span = named(harness, 'execute_tool weather');
    expect(span.attributes).toMatchObject({
      [GEN_AI.operationName]: 'execute_tool',
      [GEN_AI.toolName]: 'weather',
      [GEN_AI.toolCallId]: 'call_1',
      [GEN_AI.toolCallArguments]: '{"city":"Paris"}',
      [GEN_AI.toolCallResult]: '{"temperature":21}',
      [ATTR_SESSION_ID]: session.sessionId,
    });
    const stage = harness.spans().find((s) => s.attributes[ATTR_STAGE] === 'processing_response')!;
    expect(parentOf(span)).toBe(stage.spanContext().spanId);
    expect(named(harness, 'execute_tool flaky')).toMatchObject({
      status: { code: 2, message: 'timeout' },
      attributes: expect.objectContaining({ 'error.type': 'TypeError' }),
    });
  });

  it('announces steps as they start only through a channel that makes markers for running spans alone', async () => {
    const announced = (deferred: boolean): Promise<string[]> => {
      const types: string[] = [];
      const monitor = createLlmMonitor({
        tracerProvider: harness.provider,
        live: { deferred, announce: (update) => types.push(update.spanType || update.name) },
      });
      const session = monitor.startSession({ task: 't' });
      session.stage('resolving_template');
      return session
        .chainStep('retrieve', (step) => step.toolCall({ name: 'search' }, () => 1))
        .then(() => {
          session.complete();
          return types;
        });
    };
    expect(await announced(true)).toEqual(['session', 'stage', 'chain_step', 'execute_tool search']);
    // A marker span per step would double the spans of a plain provider: steps show when they end.
    expect(await announced(false)).toEqual(['session', 'stage']);
  });

  it('runs the application function unchanged when monitoring is disabled', async () => {
    const session = createLlmMonitor({ enabled: false }).startSession({ task: 't' });
    expect(await session.chainStep('x', (step) => step.chainStep('y', () => 42))).toBe(42);
    expect(await session.toolCall({ name: 'x' }, () => 7)).toBe(7);
    expect(await session.selectModel({ candidates: ['m'] }, (selection) => (selection.choose('m'), 'm'))).toBe('m');
    await expect(session.similaritySearch({ store: 's', topK: 1 }, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(harness.spans()).toEqual([]);
  });
});
