/**
 * OTLP requests of new, realistic sessions for load generators: one request is made once by our own
 * instrumentation (live markers off: what a batch exporter sends of finished work) — per session a
 * root, the ten built-in stages, one LLM call and 20 streamed token events — and every request sent
 * is a copy with its own ids patched in, so a receiver sees new sessions each time, never re-sent
 * ones. Trace ids are `traceMark` + 4 bytes of request number + the SDK's per-span remainder; session
 * ids are `${sessionMark}<8 hex digits of request number>-<6 digits of index>`.
 *
 * Plain JavaScript: the load processes vitest starts cannot load TypeScript (types in the .d.mts).
 */
import { BasicTracerProvider, InMemorySpanExporter, RandomIdGenerator, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

const TASKS = ['summarize', 'classify', 'answer'];

/** The session id of session `index` of request `requestNumber`. */
export function sessionIdOf(sessionMark, requestNumber, index) {
  return `${sessionMark}${requestNumber.toString(16).padStart(8, '0')}-${String(index).padStart(6, '0')}`;
}

function offsetsAfter(buffer, mark) {
  const offsets = [];
  for (let at = buffer.indexOf(mark); at !== -1; at = buffer.indexOf(mark, at + 1)) offsets.push(at + mark.length);
  return offsets;
}

/**
 * Makes the request template. `traceMark`: 8 or 12 hex digits; `sessionMark`: text no attribute
 * would otherwise hold; `content`: the root's content (default a short input).
 */
export async function sessionRequests({ sessionsPerRequest = 30, traceMark, sessionMark, content = 'benchmark input '.repeat(10) }) {
  const spanIds = new RandomIdGenerator();
  let traceNumber = 0;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    idGenerator: {
      generateTraceId: () => `${traceMark}00000000${(traceNumber++).toString(16).padStart(24 - traceMark.length, '0')}`,
      generateSpanId: () => spanIds.generateSpanId(),
    },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const monitor = createLlmMonitor({ tracerProvider: provider, captureTokenText: true, live: false });
  for (let i = 0; i < sessionsPerRequest; i += 1) {
    const sessionId = `${sessionMark}00000000-${String(i).padStart(6, '0')}`;
    const session = monitor.startSession({
      sessionId,
      task: TASKS[i % TASKS.length],
      model: 'gpt-4o-mini',
      provider: 'openai',
      content,
      userId: `user-${i % 10}`,
      conversationId: `conversation-${sessionId}`,
    });
    let call;
    for (const stage of BUILTIN_STAGE_IDS) {
      session.stage(stage, { message: `stage ${stage}` });
      if (stage === 'sending_request')
        call = session.startLlmCall({ model: 'gpt-4o-mini', provider: 'openai', prompt: 'Summarize the following text. '.repeat(6) });
      if (stage === 'streaming_response') {
        for (let t = 0; t < 20; t += 1) session.tokens(5, 'a few tokens ');
        call?.end({ inputTokens: 420, outputTokens: 100, responseModel: 'gpt-4o-mini-2024-07-18' });
      }
    }
    session.complete({ inputTokens: 420, outputTokens: 100, result: 'A summary of the benchmark input.' });
  }
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();

  /** A template of one encoding, with where its ids are. */
  const template = (encoding) => {
    const body = Buffer.from(
      encoding === 'json' ? JsonTraceSerializer.serializeRequest(spans) : ProtobufTraceSerializer.serializeRequest(spans),
    );
    // JSON carries trace ids as lowercase hex text, protobuf as bytes; both carry session ids as text.
    const traceIdOffsets = offsetsAfter(body, encoding === 'json' ? Buffer.from(traceMark, 'latin1') : Buffer.from(traceMark, 'hex'));
    const sessionIdOffsets = offsetsAfter(body, Buffer.from(sessionMark, 'latin1'));
    if (traceIdOffsets.length !== spans.length || sessionIdOffsets.length < sessionsPerRequest) {
      throw new Error(`${encoding}: id patching would be wrong: ${traceIdOffsets.length} trace ids for ${spans.length} spans`);
    }
    return { encoding, body, traceIdOffsets, sessionIdOffsets };
  };
  return { spansPerRequest: spans.length, sessionsPerRequest, template };
}

/** Request `requestNumber` made from `template` (see {@link sessionRequests}): a fresh copy with its ids. */
export function requestOf(template, requestNumber) {
  const body = Buffer.allocUnsafe(template.body.length);
  template.body.copy(body);
  const hex = Buffer.from(requestNumber.toString(16).padStart(8, '0'), 'latin1');
  for (const at of template.traceIdOffsets) {
    if (template.encoding === 'json') hex.copy(body, at);
    else body.writeUInt32BE(requestNumber, at);
  }
  for (const at of template.sessionIdOffsets) hex.copy(body, at);
  return body;
}
