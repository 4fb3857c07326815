import { context, diag, ProxyTracerProvider, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Tracer, TracerProvider } from '@opentelemetry/api';
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_PROCESSOR_TYPE,
  ATTR_PROGRESS,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_TASK,
  GEN_AI,
  OTEL,
  SPAN_TYPE,
  builtinStageProgress,
  isBuiltinStage,
  isValidProgress,
  isValidStageId,
  sessionSpanName,
} from '@llm-monitor/semconv';
import type { StageDefinition } from '@llm-monitor/semconv';
import { metadataAttributes, preview } from './attribute-encoding.js';
import type { MonitorMetadata } from './attribute-encoding.js';
import { MonitoredSession } from './monitored-session.js';
import type { SessionSettings } from './monitored-session.js';
import { neverThrow } from './never-throw.js';

/** Name of the instrumentation scope of every span llm-monitor creates. */
export const INSTRUMENTATION_SCOPE = '@llm-monitor/instrumentation';

/** Options of {@link createLlmMonitor}. */
export interface LlmMonitorOptions {
  /** Where spans go; defaults to the globally registered tracer provider. */
  readonly tracerProvider?: TracerProvider;
  /** Record token text in token events (default `false`: prompts and answers may be private). */
  readonly captureTokenText?: boolean;
  /** Characters kept of content and result previews (default 200; 0 turns previews off). */
  readonly previewLength?: number;
  /**
   * Export a pending marker when a session or stage starts, so the receiver shows it while it runs
   * (default `true`; see docs/semantic-conventions.md).
   */
  readonly pendingMarkers?: boolean;
}

/** What a session is about, given when it starts. */
export interface StartSessionOptions {
  /** What the session is for, e.g. `summarize` (low cardinality: it names the span). */
  readonly task: string;
  /** The model expected to answer (`gen_ai.request.model`). */
  readonly model?: string;
  /** The model provider (`gen_ai.provider.name`), e.g. `openai`, `anthropic`, `ollama`. */
  readonly provider?: string;
  /** The component processing the request, e.g. `ollama`, `openai`, `multi_model`. */
  readonly processorType?: string;
  /** The input content; only a preview is kept. */
  readonly content?: string;
  /** Your own session id; a random one is made otherwise. */
  readonly sessionId?: string;
  /** `user.id` of the end user. */
  readonly userId?: string;
  /** `gen_ai.conversation.id`: groups the sessions of one conversation. */
  readonly conversationId?: string;
  readonly metadata?: MonitorMetadata;
  /** Parent context whose active span the session links to (default: the active context). */
  readonly context?: Context;
}

/** The application's entry point to llm-monitor instrumentation. */
export interface LlmMonitor {
  /** Starts a session: the root span of a new trace. Never throws. */
  startSession(options: StartSessionOptions): MonitoredSession;
  /**
   * Registers a custom stage with its progress (0–100). Returns `false` (and reports why to the
   * OpenTelemetry diagnostic logger) when the id or progress is invalid or clashes with a built-in.
   */
  registerStage(stage: StageDefinition): boolean;
}

/** Longest session id accepted: ids travel in URLs and attributes, not essays. */
const MAX_SESSION_ID_LENGTH = 256;

/** A tracer that records nothing (the API's proxy without a delegate). */
const NOOP_TRACER = new ProxyTracerProvider().getTracer('noop');

function sessionIdOf(requested: unknown): string {
  if (requested === undefined) return globalThis.crypto.randomUUID();
  if (typeof requested !== 'string' || requested.length === 0 || requested.length > MAX_SESSION_ID_LENGTH) {
    diag.error(`llm-monitor: sessionId must be a string of 1 to ${MAX_SESSION_ID_LENGTH} characters; a random id is used instead`);
    return globalThis.crypto.randomUUID();
  }
  return requested;
}

function openSession(settings: SessionSettings, start: StartSessionOptions): MonitoredSession {
  const sessionId = sessionIdOf(start.sessionId);
  const attributes: Attributes = {
    [ATTR_SPAN_TYPE]: SPAN_TYPE.session,
    [ATTR_SESSION_ID]: sessionId,
    [ATTR_TASK]: String(start.task),
    [ATTR_PROGRESS]: 0,
    ...metadataAttributes(start.metadata),
  };
  if (start.model) attributes[GEN_AI.requestModel] = String(start.model);
  if (start.provider) attributes[GEN_AI.providerName] = String(start.provider);
  if (start.processorType) attributes[ATTR_PROCESSOR_TYPE] = String(start.processorType);
  if (start.userId) attributes[OTEL.userId] = String(start.userId);
  if (start.conversationId) attributes[GEN_AI.conversationId] = String(start.conversationId);
  const contentPreview = preview(start.content, settings.previewLength);
  if (contentPreview !== undefined) attributes[ATTR_CONTENT_PREVIEW] = contentPreview;
  const parent = start.context ?? context.active();
  const active = trace.getSpan(parent)?.spanContext();
  // The session is a trace of its own; a link keeps the way back to the request that caused it.
  const links: Link[] = active && trace.isSpanContextValid(active) ? [{ context: active }] : [];
  return new MonitoredSession(settings, sessionId, { name: sessionSpanName(String(start.task)), attributes, links }, parent);
}

/** Creates an {@link LlmMonitor} that writes spans with the given (or global) tracer provider. */
export function createLlmMonitor(options: LlmMonitorOptions = {}): LlmMonitor {
  const customStages = new Map<string, number>();
  let tracer: Tracer | undefined;
  const settings: SessionSettings = {
    // Resolved lazily so a provider registered after createLlmMonitor() is still used.
    get tracer(): Tracer {
      tracer ??= (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
      return tracer;
    },
    captureTokenText: options.captureTokenText ?? false,
    previewLength: options.previewLength ?? 200,
    pendingMarkers: options.pendingMarkers ?? true,
    stageProgress: (stage) => builtinStageProgress(stage) ?? customStages.get(stage),
  };

  return {
    startSession(start: StartSessionOptions): MonitoredSession {
      try {
        return openSession(settings, start);
      } catch (error) {
        diag.error('llm-monitor: startSession failed', error);
        // A session on a no-op tracer: every later call is a cheap no-op, nothing reaches the app.
        return new MonitoredSession({ ...settings, tracer: NOOP_TRACER }, 'unavailable', { name: 'unavailable', attributes: {} }, ROOT_CONTEXT);
      }
    },

    registerStage(stage: StageDefinition): boolean {
      return neverThrow(
        'registerStage',
        () => {
          if (!isValidStageId(stage.id)) throw new Error(`invalid stage id "${stage.id}": use lowercase snake_case`);
          if (isBuiltinStage(stage.id)) throw new Error(`"${stage.id}" is a built-in stage`);
          if (!isValidProgress(stage.progress)) throw new Error(`progress of "${stage.id}" must be within 0–100`);
          customStages.set(stage.id, stage.progress);
          return true;
        },
        false,
      );
    },
  };
}
