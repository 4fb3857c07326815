/**
 * An ended session in the live window, compacted: what lists, filters, statistics and metrics read
 * stays as it is, and its details — events, stages, calls, steps, streamed tokens, limits hit, about
 * four fifths of its JSON — are kept deflated and inflated only when read.
 *
 * Measured on the retained-memory bench's sessions (12 spans, 20 token events): a session object
 * held 8.7 KB of heap for 6.9 KB of JSON; compacted, under 1 KB of heap and 1 KB of buffer.
 * Compaction costs a JSON serialisation and a deflate once per session (tens of microseconds),
 * reading details an inflate and a parse (docs/benchmarks.md). It lives here, not in
 * `@llm-monitor/sessions`, because that package stays free of Node's modules (the page bundles it).
 *
 * A compacted session is a {@link ProcessingSession}: its details are getters, and `JSON.stringify`
 * gives the whole session in its own key order (through `toJSON`). Spreading it (`{...session}`)
 * would lose the details: code that copies a session goes through {@link expandedSession} first.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type {
  BudgetCrossing,
  LimitHit,
  LlmCallRecord,
  Metadata,
  ProcessingEvent,
  ProcessingSession,
  SessionSource,
  SessionStatus,
  StageRecord,
  StepRecord,
  TokenCounts,
} from '@llm-monitor/sessions';

/**
 * The fields kept as they are: what lists, filters, statistics, summaries and metrics read. Every
 * other field of a session is deflated with the details (a field the model gains later included,
 * so nothing can be lost; a test says when one is added, so it is placed on purpose).
 */
export const SUMMARY_KEYS = [
  'session_id',
  'trace_id',
  'source',
  'status',
  'start_time',
  'end_time',
  'duration_ms',
  'current_stage',
  'progress',
  'content_preview',
  'result_preview',
  'task',
  'model',
  'provider',
  'processor_type',
  'service_name',
  'conversation_id',
  'user_id',
  'steps_dropped',
  'token_counts',
  'cost_usd',
  'time_to_first_token_ms',
  'tokens_per_second',
  'time_per_output_token_ms',
  'budget_exceeded',
  'metadata',
  'error',
] as const satisfies readonly (keyof ProcessingSession)[];

/** The details, read through getters: the fields a session's detail page shows. */
export const DETAIL_KEYS = [
  'events',
  'stages',
  'llm_calls',
  'steps',
  'streamed_tokens',
  'limits_hit',
] as const satisfies readonly (keyof ProcessingSession)[];

type Details = Partial<Pick<ProcessingSession, (typeof DETAIL_KEYS)[number]>> & Record<string, unknown>;

/** Deflate level 1: nine tenths of level 6's saving (measured 1,406 against 1,305 bytes) at less CPU. */
const DEFLATE_LEVEL = 1;
/**
 * zlib's output buffer: its default, 16 KiB, is allocated (and zeroed) per call — measured 71 µs a
 * deflate against 25 µs with 4 KiB — and a lone output chunk is handed back as it is, so each
 * session would keep 16 KiB. Details deflate to about 1 KiB, and inflate to about 6.
 */
const DEFLATE_CHUNK_BYTES = 4096;
const INFLATE_CHUNK_BYTES = 8192;

const SUMMARY_KEY_SET: ReadonlySet<string> = new Set(SUMMARY_KEYS);

/**
 * Summary fields whose values repeat across sessions (a few models, tasks, services, stages): one
 * string for all the sessions that share it, not one each (measured: 13 strings, 680 bytes, per
 * compacted session before).
 */
const INTERNED_KEYS = [
  'source',
  'status',
  'current_stage',
  'task',
  'model',
  'provider',
  'processor_type',
  'service_name',
  'user_id',
  'error',
] as const satisfies readonly (typeof SUMMARY_KEYS)[number][];
/** Most strings interned, and the longest: beyond, values are kept as they come (memory stays bounded whatever senders name). */
const MAX_INTERNED = 10_000;
const MAX_INTERNED_LENGTH = 200;
const interned = new Map<string, string>();

function internedString(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (value.length <= MAX_INTERNED_LENGTH && interned.size < MAX_INTERNED) interned.set(value, value);
  return value;
}

/** Key orders seen, interned: sessions come in a handful of shapes (with or without `limits_hit`, …). */
const keyOrders = new Map<string, readonly string[]>();

function internedKeyOrder(session: ProcessingSession): readonly string[] {
  const keys = Object.keys(session);
  const joined = keys.join(',');
  let interned = keyOrders.get(joined);
  if (!interned) {
    interned = Object.freeze(keys);
    // Bounded all the same: a shape is a set of model fields, but nothing here should grow unbounded.
    if (keyOrders.size < 64) keyOrders.set(joined, interned);
  }
  return interned;
}

/**
 * A class, so every compacted session shares one shape with its fields in the object itself: built
 * field by field on a prototype of getters, the same summary measured 2.5 KB of heap, as a class
 * 0.9 KB. The fields are assigned one by one on purpose: assigned in a loop over
 * {@link SUMMARY_KEYS}, V8 gave each instance 2.4 KB again.
 */
class CompactedSession {
  readonly session_id: string;
  readonly trace_id: string;
  readonly source: SessionSource;
  readonly status: SessionStatus;
  readonly start_time: string;
  readonly end_time: string | null;
  readonly duration_ms: number | null;
  readonly current_stage: string | null;
  readonly progress: number;
  readonly content_preview: string | null;
  readonly result_preview: string | null;
  readonly task: string | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly processor_type: string | null;
  readonly service_name: string | null;
  readonly conversation_id: string | null;
  readonly user_id: string | null;
  readonly steps_dropped: number;
  readonly token_counts: TokenCounts;
  readonly cost_usd: number | null;
  readonly time_to_first_token_ms: number | null;
  readonly tokens_per_second: number | null;
  readonly time_per_output_token_ms: number | null;
  readonly budget_exceeded: BudgetCrossing[];
  readonly metadata: Metadata;
  readonly error: string | null;
  /** The details, as deflated JSON. */
  readonly deflatedDetails: Buffer;
  /** The session's own key order, so its JSON reads as before. */
  readonly keyOrder: readonly string[];

  constructor(summary: ProcessingSession, deflatedDetails: Buffer, keyOrder: readonly string[]) {
    this.session_id = summary.session_id;
    this.trace_id = summary.trace_id;
    this.source = summary.source;
    this.status = summary.status;
    this.start_time = summary.start_time;
    this.end_time = summary.end_time;
    this.duration_ms = summary.duration_ms;
    this.current_stage = summary.current_stage;
    this.progress = summary.progress;
    this.content_preview = summary.content_preview;
    this.result_preview = summary.result_preview;
    this.task = summary.task;
    this.model = summary.model;
    this.provider = summary.provider;
    this.processor_type = summary.processor_type;
    this.service_name = summary.service_name;
    this.conversation_id = summary.conversation_id;
    this.user_id = summary.user_id;
    this.steps_dropped = summary.steps_dropped;
    this.token_counts = summary.token_counts;
    this.cost_usd = summary.cost_usd;
    this.time_to_first_token_ms = summary.time_to_first_token_ms;
    this.tokens_per_second = summary.tokens_per_second;
    this.time_per_output_token_ms = summary.time_per_output_token_ms;
    this.budget_exceeded = summary.budget_exceeded;
    this.metadata = summary.metadata;
    this.error = summary.error;
    this.deflatedDetails = deflatedDetails;
    this.keyOrder = keyOrder;
  }

  #details(): Details {
    return JSON.parse(inflateRawSync(this.deflatedDetails, { chunkSize: INFLATE_CHUNK_BYTES }).toString('utf8')) as Details;
  }

  get events(): ProcessingEvent[] {
    return this.#details().events ?? [];
  }

  get stages(): StageRecord[] {
    return this.#details().stages ?? [];
  }

  get llm_calls(): LlmCallRecord[] {
    return this.#details().llm_calls ?? [];
  }

  get steps(): StepRecord[] {
    return this.#details().steps ?? [];
  }

  get streamed_tokens(): string[] {
    return this.#details().streamed_tokens ?? [];
  }

  get limits_hit(): LimitHit[] | undefined {
    return this.#details().limits_hit;
  }

  /** The whole session, fields in its own order. */
  expanded(): ProcessingSession {
    const details = this.#details();
    const whole: Record<string, unknown> = {};
    for (const key of this.keyOrder) whole[key] = SUMMARY_KEY_SET.has(key) ? this[key as keyof this] : details[key];
    return whole as unknown as ProcessingSession;
  }

  toJSON(): ProcessingSession {
    return this.expanded();
  }
}

/** True for a session made by {@link compactedSession}. */
export function isCompacted(session: ProcessingSession): boolean {
  return (session as unknown) instanceof CompactedSession;
}

/** The session, compacted (see the module's comment). A compacted session is given back as it is. */
export function compactedSession(session: ProcessingSession): ProcessingSession {
  if (isCompacted(session)) return session;
  const keyOrder = internedKeyOrder(session);
  const summary: Record<string, unknown> = {};
  const details: Record<string, unknown> = {};
  for (const key of keyOrder) {
    const value = (session as unknown as Record<string, unknown>)[key];
    if (SUMMARY_KEY_SET.has(key)) summary[key] = value;
    else details[key] = value;
  }
  // Through JSON and back, so the summary owns its strings and objects and shares nothing with the
  // whole form, which can then be collected.
  const owned = JSON.parse(JSON.stringify(summary)) as Record<string, unknown>;
  for (const key of INTERNED_KEYS) {
    const value = owned[key];
    if (typeof value === 'string') owned[key] = internedString(value);
  }
  // The ids as they were: the same strings key the store's and the pipeline's maps.
  owned.session_id = session.session_id;
  owned.trace_id = session.trace_id;
  // Copied to its own size: small buffers come packed from Node's pool, where zlib's output would
  // keep its whole chunk.
  const deflated = Buffer.from(deflateRawSync(JSON.stringify(details), { level: DEFLATE_LEVEL, chunkSize: DEFLATE_CHUNK_BYTES }));
  return new CompactedSession(owned as unknown as ProcessingSession, deflated, keyOrder) as unknown as ProcessingSession;
}

/** The session as a plain object with all its fields (a compacted one inflated; any other as it is). */
export function expandedSession(session: ProcessingSession): ProcessingSession {
  return isCompacted(session) ? (session as unknown as CompactedSession).expanded() : session;
}

/** Bytes a compacted session keeps deflated (0 for any other). */
export function compactedBytesOf(session: ProcessingSession): number {
  return isCompacted(session) ? (session as unknown as CompactedSession).deflatedDetails.length : 0;
}
