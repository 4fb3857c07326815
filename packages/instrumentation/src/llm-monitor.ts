import { context, diag, trace } from '@opentelemetry/api';
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
import { DISABLED_SESSION } from './disabled-session.js';
import { markerSpanChannel } from './live-channel.js';
import type { LiveChannel } from './live-channel.js';
import { NOOP_LLM_CALL, rootLlmCallContext, startLlmCall } from './llm-call.js';
import type { LlmCall, LlmCallOptions } from './llm-call.js';
import { RecordingSession } from './monitored-session.js';
import type { MonitoredSession, SessionSettings } from './monitored-session.js';
import { neverThrow } from './never-throw.js';
import { createSessionClock } from './session-clock.js';

/** Name of the instrumentation scope of every span llm-monitor creates. */
export const INSTRUMENTATION_SCOPE = '@llm-monitor/instrumentation';

/** Environment variable that turns all monitoring off when set to `false`, `0`, `off` or `no`. */
export const ENABLED_ENV = 'LLM_MONITOR_ENABLED';

/** Options of {@link createLlmMonitor}. */
export interface LlmMonitorOptions {
  /** Where spans go; defaults to the globally registered tracer provider. */
  readonly tracerProvider?: TracerProvider;
  /**
   * Record anything at all (default: `true`, unless `LLM_MONITOR_ENABLED` says `false`). Disabled,
   * every session is one shared no-op object.
   */
  readonly enabled?: boolean;
  /** Record token text in token events (default `false`: prompts and answers may be private). */
  readonly captureTokenText?: boolean;
  /** Characters kept of content and result previews (default 200; 0 turns previews off). */
  readonly previewLength?: number;
  /** Characters kept of LLM call prompts and responses (default 1,000; 0 turns them off). */
  readonly llmContentLength?: number;
  /**
   * Token events: one event per `maxTokens` tokens (default 256), so a 4,000-token answer makes 16
   * events; 1 writes one event per `tokens()` call.
   */
  readonly tokenBatching?: { readonly maxTokens?: number };
  /** Least time between live progress updates while tokens stream, in ms (default 250). */
  readonly progressIntervalMs?: number;
  /**
   * How running sessions and stages reach the receiver before they end. Default: pending-marker
   * spans through the tracer provider (works with any processor). `setupLlmMonitor` passes its live
   * span processor instead; `false` turns live updates off.
   */
  readonly live?: LiveChannel | false;
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
  /** Your own session id (1–256 characters, unique per session); a random UUID otherwise. */
  readonly sessionId?: string;
  /** `user.id` of the end user. */
  readonly userId?: string;
  /** `gen_ai.conversation.id`: groups the sessions of one conversation. */
  readonly conversationId?: string;
  readonly metadata?: MonitorMetadata;
  /** Parent context whose active span the session links to (default: the active context). */
  readonly context?: Context;
  /** `false` makes this one session a no-op. */
  readonly enabled?: boolean;
}

/** An LLM call outside any session: the root span of its own trace. */
export interface StandaloneLlmCallOptions extends LlmCallOptions {
  /** Session the call belongs to in your application, if any (`llm_monitor.session.id`). */
  readonly sessionId?: string;
}

/** The application's entry point to llm-monitor instrumentation. */
export interface LlmMonitor {
  /** False when monitoring is disabled. */
  readonly enabled: boolean;
  /** Starts a session: the root span of a new trace. Never throws. */
  startSession(options: StartSessionOptions): MonitoredSession;
  /** Starts an LLM call that belongs to no session (it becomes a session of its own at the receiver). */
  startLlmCall(options: StandaloneLlmCallOptions): LlmCall;
  /**
   * Registers a custom stage with its progress (0–100). Returns `false` (and reports why to the
   * OpenTelemetry diagnostic logger) when the id or progress is invalid or clashes with a built-in.
   */
  registerStage(stage: StageDefinition): boolean;
}

/** Longest session id accepted: ids travel in URLs and attributes, not essays. */
const MAX_SESSION_ID_LENGTH = 256;

function enabledByEnvironment(): boolean {
  const value = typeof process === 'object' ? process.env?.[ENABLED_ENV]?.trim().toLowerCase() : undefined;
  return !(value === 'false' || value === '0' || value === 'off' || value === 'no');
}

function sessionIdOf(requested: unknown): string {
  if (requested === undefined) return globalThis.crypto.randomUUID();
  if (typeof requested !== 'string' || requested.length === 0 || requested.length > MAX_SESSION_ID_LENGTH) {
    diag.error(`llm-monitor: sessionId must be a string of 1 to ${MAX_SESSION_ID_LENGTH} characters; a random id is used instead`);
    return globalThis.crypto.randomUUID();
  }
  return requested;
}

function openSession(settings: SessionSettings, start: StartSessionOptions): MonitoredSession {
  if (start.enabled === false) return DISABLED_SESSION;
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
  return new RecordingSession(settings, sessionId, { name: sessionSpanName(String(start.task)), attributes, links }, parent);
}

const DISABLED_MONITOR: LlmMonitor = {
  enabled: false,
  startSession: () => DISABLED_SESSION,
  startLlmCall: () => NOOP_LLM_CALL,
  registerStage: () => true,
};

/** Creates an {@link LlmMonitor} that writes spans with the given (or global) tracer provider. */
export function createLlmMonitor(given: LlmMonitorOptions | null = {}): LlmMonitor {
  const options: LlmMonitorOptions = given ?? {};
  if (!(options.enabled ?? enabledByEnvironment())) return DISABLED_MONITOR;
  const customStages = new Map<string, number>();
  let tracer: Tracer | undefined;
  // Resolved lazily so a provider registered after createLlmMonitor() is still used.
  const getTracer = (): Tracer => {
    tracer ??= (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
    return tracer;
  };
  const settings: SessionSettings = {
    get tracer(): Tracer {
      return getTracer();
    },
    live: options.live === false ? undefined : (options.live ?? markerSpanChannel(getTracer)),
    captureTokenText: options.captureTokenText ?? false,
    previewLength: options.previewLength ?? 200,
    llmContentLength: options.llmContentLength ?? 1000,
    tokenBatching: { maxTokens: Math.max(1, options.tokenBatching?.maxTokens ?? 256) },
    progressIntervalMs: options.progressIntervalMs ?? 250,
    stageProgress: (stage) => builtinStageProgress(stage) ?? customStages.get(stage),
  };

  return {
    enabled: true,

    startSession(start: StartSessionOptions): MonitoredSession {
      try {
        return openSession(settings, start);
      } catch (error) {
        diag.error('llm-monitor: startSession failed', error);
        return DISABLED_SESSION;
      }
    },

    startLlmCall(call: StandaloneLlmCallOptions): LlmCall {
      return neverThrow(
        'startLlmCall',
        () => {
          const where = rootLlmCallContext(settings.tracer, settings.llmContentLength, createSessionClock(), call.sessionId);
          return startLlmCall(where, call);
        },
        NOOP_LLM_CALL,
      );
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
