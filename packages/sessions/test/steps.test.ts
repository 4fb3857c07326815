/**
 * A session's tree of steps: what each convention's spans become (kind, name, facts, previews),
 * where each step hangs (its parent step and its stage), and the bounds on steps.
 */
import { describe, expect, it } from 'vitest';
import { SessionBuilder, SessionPipeline, upgradeStoredSession } from '../src/index.js';
import type { ProcessingSession, SpanRecord, StepRecord } from '../src/index.js';
import { pendingMarker, span, T0, TRACE_ID } from './span-fixtures.js';

function sessionOf(spans: SpanRecord[], builder = new SessionBuilder()): ProcessingSession {
  const [session] = builder.ingest(spans);
  if (!session) throw new Error('no session');
  return session;
}

function stepNamed(session: ProcessingSession, name: string): StepRecord {
  const step = session.steps.find((candidate) => candidate.name === name);
  if (!step) throw new Error(`no step ${name} in ${session.steps.map((s) => s.name).join(', ')}`);
  return step;
}

/** A session of ours with two stages, and the steps our instrumentation writes inside them. */
function ourSession(): { spans: SpanRecord[]; root: SpanRecord; retrieve: SpanRecord; stages: SpanRecord[] } {
  const root = span({
    name: 'llm_monitor.session answer',
    startTimeUnixMs: T0,
    endTimeUnixMs: T0 + 500,
    attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 's-1' },
  });
  const stage = (id: string, from: number, to: number) =>
    span({
      parentSpanId: root.spanId,
      name: `llm_monitor.stage ${id}`,
      startTimeUnixMs: T0 + from,
      endTimeUnixMs: T0 + to,
      attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': id },
    });
  const stages = [stage('resolving_template', 0, 200), stage('selecting_model', 200, 300)];
  const retrieve = span({
    parentSpanId: stages[0]!.spanId,
    name: 'llm_monitor.chain_step retrieve_context',
    startTimeUnixMs: T0 + 10,
    endTimeUnixMs: T0 + 150,
    attributes: {
      'llm_monitor.span_type': 'chain_step',
      'llm_monitor.chain.step': 'retrieve_context',
      'llm_monitor.step.kind': 'retrieval',
      'llm_monitor.chain.branch': 'docs_and_faq',
      'llm_monitor.step.output_preview': '[doc-1, doc-2]',
    },
  });
  const search = (collection: string, results: number) =>
    span({
      parentSpanId: retrieve.spanId,
      name: 'llm_monitor.vector_search qdrant',
      startTimeUnixMs: T0 + 40,
      endTimeUnixMs: T0 + 90,
      attributes: {
        'llm_monitor.span_type': 'vector_search',
        'db.system.name': 'qdrant',
        'db.operation.name': 'similarity_search',
        'db.collection.name': collection,
        'llm_monitor.vector.top_k': 4,
        'llm_monitor.vector.result_count': results,
        'llm_monitor.vector.scores': [0.9, 0.8],
      },
    });
  const embedding = span({
    parentSpanId: retrieve.spanId,
    name: 'embeddings text-embedding-3-small',
    kind: 3,
    startTimeUnixMs: T0 + 12,
    endTimeUnixMs: T0 + 38,
    attributes: {
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.request.model': 'text-embedding-3-small',
      'llm_monitor.embeddings.input_count': 1,
      'gen_ai.embeddings.dimension.count': 1536,
    },
  });
  const rerank = span({
    parentSpanId: retrieve.spanId,
    name: 'llm_monitor.chain_step rerank',
    startTimeUnixMs: T0 + 95,
    endTimeUnixMs: T0 + 140,
    attributes: { 'llm_monitor.span_type': 'chain_step', 'llm_monitor.chain.step': 'rerank', 'llm_monitor.step.kind': 'rerank' },
  });
  const template = span({
    parentSpanId: stages[0]!.spanId,
    name: 'llm_monitor.template_resolution summarize-v3',
    startTimeUnixMs: T0 + 160,
    endTimeUnixMs: T0 + 180,
    attributes: {
      'llm_monitor.span_type': 'template_resolution',
      'llm_monitor.template.id': 'summarize-v3',
      'llm_monitor.template.version': '3',
      'llm_monitor.template.variables': ['input', 'context'],
    },
  });
  const selection = span({
    parentSpanId: stages[1]!.spanId,
    name: 'llm_monitor.model_selection',
    startTimeUnixMs: T0 + 210,
    endTimeUnixMs: T0 + 260,
    attributes: {
      'llm_monitor.span_type': 'model_selection',
      'llm_monitor.model_selection.candidates': ['gpt-4o', 'claude'],
      'llm_monitor.model_selection.chosen': 'claude',
      'llm_monitor.model_selection.reason': 'fallback',
      'llm_monitor.model_selection.fallbacks': 1,
    },
    events: [
      {
        name: 'llm_monitor.model_selection.fallback',
        timeUnixMs: T0 + 230,
        attributes: { 'llm_monitor.model_selection.model': 'gpt-4o', 'error.type': 'Error', 'exception.message': '503 model overloaded' },
      },
    ],
  });
  return {
    spans: [root, ...stages, retrieve, search('docs', 4), search('faq', 1), embedding, rerank, template, selection],
    root,
    retrieve,
    stages,
  };
}

describe('the steps of a session of ours', () => {
  it('lists every span that is not the session or a stage, with its kind, parent and stage', () => {
    const { spans, retrieve } = ourSession();
    const session = sessionOf(spans);
    expect(session.steps.map((step) => [step.kind, step.name, step.stage])).toEqual([
      ['retrieval', 'retrieve_context', 'resolving_template'],
      ['embedding', 'embeddings text-embedding-3-small', 'resolving_template'],
      ['vector_search', 'qdrant docs', 'resolving_template'],
      ['vector_search', 'qdrant faq', 'resolving_template'],
      ['rerank', 'rerank', 'resolving_template'],
      ['template', 'summarize-v3', 'resolving_template'],
      ['model_selection', 'model_selection', 'selecting_model'],
    ]);
    expect(stepNamed(session, 'retrieve_context').parent_span_id).toBeNull();
    for (const child of ['qdrant docs', 'qdrant faq', 'rerank', 'embeddings text-embedding-3-small'])
      expect(stepNamed(session, child).parent_span_id).toBe(retrieve.spanId);
    expect(session.steps_dropped).toBe(0);
  });

  it('gives each kind its facts, and a step its intermediate result', () => {
    const session = sessionOf(ourSession().spans);
    expect(stepNamed(session, 'qdrant docs').facts).toEqual({
      store: 'qdrant',
      collection: 'docs',
      operation: 'similarity_search',
      top_k: 4,
      result_count: 4,
      scores: [0.9, 0.8],
    });
    expect(stepNamed(session, 'summarize-v3').facts).toEqual({
      template_id: 'summarize-v3',
      template_version: '3',
      template_variables: ['input', 'context'],
    });
    expect(stepNamed(session, 'model_selection').facts).toEqual({
      candidates: ['gpt-4o', 'claude'],
      chosen_model: 'claude',
      selection_reason: 'fallback',
      fallbacks: [{ model: 'gpt-4o', error: '503 model overloaded' }],
    });
    expect(stepNamed(session, 'embeddings text-embedding-3-small').facts).toEqual({
      model: 'text-embedding-3-small',
      dimensions: 1536,
      input_count: 1,
    });
    expect(stepNamed(session, 'retrieve_context')).toMatchObject({
      facts: { branch: 'docs_and_faq' },
      output_preview: '[doc-1, doc-2]',
      status: 'ok',
      duration_ms: 140,
    });
  });

  it('shows a step announced by its marker as running, and the stage running at its start holds it when its parent is unknown', () => {
    const { spans, retrieve, stages } = ourSession();
    const running = pendingMarker({ ...retrieve, endTimeUnixMs: 0 });
    const orphanChild = span({ parentSpanId: 'ffffffffffffffff', name: 'lost', startTimeUnixMs: T0 + 220 });
    const session = sessionOf(
      [...spans.filter((one) => one !== retrieve), running, orphanChild].map((one) =>
        one === spans[0] ? { ...one, endTimeUnixMs: 0 } : one,
      ),
    );
    expect(stepNamed(session, 'retrieve_context')).toMatchObject({ status: 'running', end_time: null, duration_ms: null });
    expect(stepNamed(session, 'lost')).toMatchObject({ kind: 'other', convention: 'otel', parent_span_id: null, stage: 'selecting_model' });
    expect(stages).toHaveLength(2);
  });

  it('marks steps still running when the session is abandoned as failed', () => {
    const { spans, retrieve } = ourSession();
    const pipeline = new SessionPipeline({ abandonAfterMs: 1000 });
    pipeline.ingest(
      [
        ...spans.filter((one) => one !== retrieve && one !== spans[0]),
        pendingMarker({ ...retrieve, endTimeUnixMs: 0 }),
        pendingMarker({ ...spans[0]!, endTimeUnixMs: 0 }),
      ],
      0,
    );
    pipeline.sweep(10_000);
    const session = [...pipeline.store.values()][0]!;
    expect(session.status).toBe('abandoned');
    expect(stepNamed(session, 'retrieve_context')).toMatchObject({ status: 'error', error: expect.stringContaining('abandoned') });
  });
});

describe('steps of other frameworks', () => {
  const root = span({ name: 'POST /chat', kind: 2, startTimeUnixMs: T0, endTimeUnixMs: T0 + 100 });
  const child = (name: string, attributes: SpanRecord['attributes'], parent = root.spanId, extra: Partial<SpanRecord> = {}) =>
    span({ parentSpanId: parent, name, startTimeUnixMs: T0 + 5, endTimeUnixMs: T0 + 50, attributes, ...extra });
  const call = child('chat gpt', {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 2,
  });

  it.each([
    ['OpenInference CHAIN', { 'openinference.span.kind': 'CHAIN' }, 'chain', 'openinference', 'OpenInference CHAIN'],
    ['OpenInference RETRIEVER', { 'openinference.span.kind': 'RETRIEVER' }, 'retrieval', 'openinference', 'OpenInference RETRIEVER'],
    ['OpenInference RERANKER', { 'openinference.span.kind': 'RERANKER' }, 'rerank', 'openinference', 'OpenInference RERANKER'],
    [
      'OpenInference TOOL',
      { 'openinference.span.kind': 'TOOL', 'tool.name': 'weather' },
      'tool_call',
      'openinference',
      'OpenInference TOOL',
    ],
    ['OpenInference agent', { 'openinference.span.kind': 'agent' }, 'agent', 'openinference', 'OpenInference agent'],
    ['OpenInference PROMPT', { 'openinference.span.kind': 'PROMPT' }, 'template', 'openinference', 'OpenInference PROMPT'],
    ['OpenLLMetry workflow', { 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'answer' }, 'chain', 'openllmetry', 'answer'],
    ['OpenLLMetry tool', { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'search' }, 'tool_call', 'openllmetry', 'search'],
    ['OpenLLMetry agent', { 'traceloop.span.kind': 'agent' }, 'agent', 'openllmetry', 'OpenLLMetry agent'],
    ['LangSmith retriever', { 'langsmith.span.kind': 'retriever' }, 'retrieval', 'langsmith', 'LangSmith retriever'],
    ['GenAI execute_tool', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' }, 'tool_call', 'gen_ai', 'search'],
    ['GenAI invoke_agent', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'helper' }, 'agent', 'gen_ai', 'helper'],
    ['Vercel ai.toolCall', { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'weather' }, 'tool_call', 'vercel_ai', 'weather'],
    ['Vercel ai.generateText', { 'ai.operationId': 'ai.generateText' }, 'chain', 'vercel_ai', 'Vercel ai.generateText'],
    ['Langfuse span', { 'langfuse.observation.type': 'span' }, 'chain', 'langfuse', 'Langfuse span'],
    ['Langfuse retriever', { 'langfuse.observation.type': 'retriever' }, 'retrieval', 'langfuse', 'Langfuse retriever'],
    ['Langfuse event', { 'langfuse.observation.type': 'event' }, 'other', 'langfuse', 'Langfuse event'],
    ['a plain span', { 'http.request.method': 'GET' }, 'other', 'otel', 'a plain span'],
  ] as const)('maps %s', (name, attributes, kind, convention, stepName) => {
    const session = sessionOf([root, call, child(name, attributes)]);
    expect(stepNamed(session, stepName)).toMatchObject({ kind, convention });
  });

  it('names tool calls and agents by their tool and agent, with arguments and result as previews', () => {
    const tool = child('execute_tool search', {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'search',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.call.arguments': '{"q":"paris"}',
      'gen_ai.tool.call.result': '3 hits',
    });
    const vercelTool = child('ai.toolCall', {
      'ai.operationId': 'ai.toolCall',
      'ai.toolCall.name': 'weather',
      'ai.toolCall.id': 'call_2',
      'ai.toolCall.args': '{"city":"Paris"}',
      'ai.toolCall.result': '{"t":21}',
    });
    const session = sessionOf([root, call, tool, vercelTool]);
    expect(stepNamed(session, 'search')).toMatchObject({
      facts: { tool_name: 'search', tool_call_id: 'call_1' },
      input_preview: '{"q":"paris"}',
      output_preview: '3 hits',
    });
    expect(stepNamed(session, 'weather')).toMatchObject({
      facts: { tool_name: 'weather', tool_call_id: 'call_2' },
      input_preview: '{"city":"Paris"}',
      output_preview: '{"t":21}',
    });
    // A tool call is no model call: the session's calls are its model calls only.
    expect(session.llm_calls.map((one) => one.span_id)).toEqual([call.spanId]);
  });

  it('makes the root of a foreign trace a step too, and nests by the nearest step through spans in between', () => {
    const chain = child('RunnableSequence', { 'openinference.span.kind': 'CHAIN' });
    const http = child('POST /v1/chat/completions', {}, chain.spanId, { kind: 3 });
    const llm = child(
      'ChatOpenAI',
      {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-4o-mini',
        'llm.token_count.prompt': 12,
        'llm.token_count.completion': 5,
        'input.value': 'Hi',
        'output.value': 'Hello',
      },
      http.spanId,
    );
    const session = sessionOf([llm, chain, root, http]);
    expect(
      session.steps.map((step) => [
        step.name,
        step.kind,
        session.steps.find((parent) => parent.span_id === step.parent_span_id)?.name ?? null,
      ]),
    ).toEqual([
      ['POST /chat', 'other', null],
      ['RunnableSequence', 'chain', 'POST /chat'],
      ['POST /v1/chat/completions', 'other', 'RunnableSequence'],
      ['ChatOpenAI', 'llm_call', 'POST /v1/chat/completions'],
    ]);
    expect(stepNamed(session, 'ChatOpenAI')).toMatchObject({
      stage: null,
      facts: { model: 'gpt-4o-mini', input_tokens: 12, output_tokens: 5 },
      input_preview: 'Hi',
      output_preview: 'Hello',
    });
    expect(session.llm_calls[0]).toMatchObject({ prompt_preview: 'Hi', response_preview: 'Hello' });
  });

  it("reads a Langfuse generation's model and usage, its metadata, and a failed observation's level", () => {
    const generation = child('llm-call', {
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'gpt-4o-mini',
      'langfuse.observation.usage_details': '{"input":12,"output":5,"total":17}',
      'langfuse.observation.metadata.agent': 'planner',
      'langfuse.observation.input': '[{"role":"user","content":"Hi"}]',
    });
    const failed = child('lookup', {
      'langfuse.observation.type': 'tool',
      'langfuse.observation.level': 'ERROR',
      'langfuse.observation.status_message': 'timeout',
    });
    const session = sessionOf([root, generation, failed]);
    expect(session.llm_calls).toHaveLength(1);
    expect(session.llm_calls[0]).toMatchObject({
      request_model: 'gpt-4o-mini',
      input_tokens: 12,
      output_tokens: 5,
      total_tokens: 17,
      metadata: { agent: 'planner' },
      prompt_preview: '[{"role":"user","content":"Hi"}]',
    });
    expect(stepNamed(session, 'llm-call')).toMatchObject({ kind: 'llm_call', convention: 'langfuse' });
    expect(stepNamed(session, 'lookup')).toMatchObject({ kind: 'tool_call', status: 'error', error: 'timeout' });
  });

  it('keeps per-call metadata of every convention', () => {
    const ours = child('chat m', {
      'gen_ai.request.model': 'm',
      'llm_monitor.metadata.agent': 'writer',
      'llm_monitor.metadata.role': 'critic',
    });
    const vercel = child('ai.generateText.doGenerate', {
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.id': 'm',
      'ai.telemetry.metadata.tenant': 't1',
    });
    const session = sessionOf([root, ours, vercel]);
    expect(session.llm_calls.map((one) => one.metadata)).toEqual([{ agent: 'writer', role: 'critic' }, { tenant: 't1' }]);
  });
});

describe('bounds on steps', () => {
  const root = span({
    name: 'agent',
    startTimeUnixMs: T0,
    endTimeUnixMs: T0 + 10_000,
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.request.model': 'm' },
  });
  const steps = Array.from({ length: 30 }, (_, i) =>
    span({
      parentSpanId: root.spanId,
      name: `tool ${i}`,
      startTimeUnixMs: T0 + i,
      endTimeUnixMs: T0 + i + 1,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `t${i}` },
    }),
  );

  it('keeps the earliest max_steps_per_session steps and counts the rest once', () => {
    const builder = new SessionBuilder({ maxStepsPerSession: 10 });
    builder.ingest([root, ...steps.slice(0, 20)]);
    const session = sessionOf(steps.slice(20), builder);
    expect(session.steps).toHaveLength(10);
    expect(session.steps.map((step) => step.name)).toEqual(['agent', 't0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8']);
    expect(session.steps_dropped).toBe(21);
    // Rebuilding again counts nothing twice.
    builder.rebuild(TRACE_ID);
    expect(builder.stats().stepsDropped).toBe(21);
  });

  it('lists no steps at all, and counts none, with max_steps_per_session 0', () => {
    const builder = new SessionBuilder({ maxStepsPerSession: 0 });
    const session = sessionOf([root, ...steps], builder);
    expect(session).toMatchObject({ steps: [], steps_dropped: 0 });
    expect(builder.stats().stepsDropped).toBe(0);
  });

  it('keeps no GenAI message JSON of a call of ours, whose previews say the same as text', () => {
    const builder = new SessionBuilder();
    const ours = span({
      parentSpanId: root.spanId,
      name: 'chat m',
      attributes: {
        'gen_ai.request.model': 'm',
        'llm_monitor.prompt_preview': 'user: hi',
        'gen_ai.input.messages': '[{"role":"user"}]',
        'llm_monitor.response_preview': 'hello',
        'gen_ai.output.messages': '[{"role":"assistant"}]',
      },
    });
    const theirs = span({
      parentSpanId: root.spanId,
      name: 'chat n',
      attributes: { 'gen_ai.request.model': 'n', 'gen_ai.input.messages': '[{"role":"user"}]' },
    });
    builder.ingest([root, ours, theirs]);
    const kept = builder.takeUnsaved(TRACE_ID)!.spans;
    expect(Object.keys(kept.find((one) => one.name === 'chat m')!.attributes)).not.toContain('gen_ai.input.messages');
    expect(Object.keys(kept.find((one) => one.name === 'chat m')!.attributes)).not.toContain('gen_ai.output.messages');
    expect(kept.find((one) => one.name === 'chat n')!.attributes['gen_ai.input.messages']).toBe('[{"role":"user"}]');
  });

  it('cuts inputs and outputs to the preview length as spans arrive', () => {
    const builder = new SessionBuilder({ stepPreviewLength: 50 });
    const tool = span({
      parentSpanId: root.spanId,
      name: 'big',
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'big',
        'gen_ai.tool.call.arguments': 'a'.repeat(10_000),
        'gen_ai.tool.call.result': { rows: Array.from({ length: 1000 }, (_, i) => ({ i })) },
      },
    });
    const session = sessionOf([root, tool], builder);
    const step = stepNamed(session, 'big');
    expect(step.input_preview).toBe('a'.repeat(50));
    expect(step.output_preview).toBe('{"rows":[{"i":0},{"i":1},{"i":2},{"i":3},{"i":4},{'.slice(0, 50));
    expect(builder.heldBytes).toBeLessThan(5000);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'takes a kind value named like an object property (%s) for no kind',
    (value) => {
      const odd = span({
        parentSpanId: root.spanId,
        name: 'odd',
        attributes: { 'gen_ai.operation.name': value, 'openinference.span.kind': value, 'langfuse.observation.type': value },
      });
      const step = stepNamed(sessionOf([root, odd]), 'odd');
      expect(typeof step.kind).toBe('string');
      expect(step.kind).toBe('llm_call');
    },
  );

  it('lists a step after the step it ran in when both started in the same millisecond, whatever their span ids', () => {
    const parent = span({
      spanId: 'ffffffffffffffff',
      parentSpanId: root.spanId,
      name: 'outer',
      startTimeUnixMs: T0 + 5,
      attributes: { 'openinference.span.kind': 'CHAIN' },
    });
    const child = span({
      spanId: '0000000000000aaa',
      parentSpanId: parent.spanId,
      name: 'inner',
      startTimeUnixMs: T0 + 5,
      attributes: { 'openinference.span.kind': 'TOOL' },
    });
    const names = sessionOf([child, root, parent]).steps.map((step) => step.name);
    expect(names.indexOf('outer')).toBeLessThan(names.indexOf('inner'));
  });

  it('finds the stage running at a step among thousands of stages', () => {
    const ours = span({
      name: 'llm_monitor.session many',
      startTimeUnixMs: T0,
      endTimeUnixMs: 0,
      attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 'many' },
    });
    const stages = Array.from({ length: 3000 }, (_, i) =>
      span({
        parentSpanId: ours.spanId,
        name: 'stage',
        startTimeUnixMs: T0 + i,
        endTimeUnixMs: T0 + i + 1,
        attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': `stage_${i}` },
      }),
    );
    const loose = span({ parentSpanId: 'eeeeeeeeeeeeeeee', name: 'loose', startTimeUnixMs: T0 + 1234.5 });
    expect(stepNamed(sessionOf([ours, ...stages, loose]), 'loose').stage).toBe('stage_1234');
  });

  it('survives a cycle of parents a hostile sender made', () => {
    const a = span({
      spanId: 'aaaaaaaaaaaaaaaa',
      parentSpanId: 'bbbbbbbbbbbbbbbb',
      name: 'a',
      attributes: { 'openinference.span.kind': 'CHAIN' },
    });
    const b = span({
      spanId: 'bbbbbbbbbbbbbbbb',
      parentSpanId: 'aaaaaaaaaaaaaaaa',
      name: 'b',
      attributes: { 'openinference.span.kind': 'CHAIN' },
    });
    const self = span({
      spanId: 'cccccccccccccccc',
      parentSpanId: 'cccccccccccccccc',
      name: 'c',
      attributes: { 'gen_ai.request.model': 'm' },
    });
    const session = sessionOf([a, b, self]);
    expect(session.steps.map((step) => step.name).sort()).toEqual(['a', 'b', 'c']);
    expect(() => JSON.stringify(session)).not.toThrow();
  });
});

describe('sessions stored by a build before steps', () => {
  it('are read back with no steps and calls without metadata, the same object when nothing is missing', () => {
    const current = sessionOf(ourSession().spans);
    const { steps: _steps, steps_dropped: _dropped, ...older } = current;
    const olderCalls = {
      ...older,
      llm_calls: [{ ...sessionOf([span({ attributes: { 'gen_ai.request.model': 'm' } })]).llm_calls[0]!, metadata: undefined }],
    };
    expect(upgradeStoredSession(older)).toMatchObject({ steps: [], steps_dropped: 0 });
    expect(upgradeStoredSession(olderCalls as never).llm_calls[0]!.metadata).toEqual({});
    expect(upgradeStoredSession(current)).toBe(current);
  });
});
