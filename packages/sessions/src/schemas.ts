/**
 * JSON Schemas (draft 2020-12 subset that Fastify/Ajv understand) of the session model. The REST
 * API uses them for its responses and OpenAPI document; a test validates built sessions against them
 * with `additionalProperties: false`, so schema and model cannot drift apart unnoticed.
 */

import { LLM_CALL_FIELDS } from './call-log.js';
import { LIMIT_ITEMS, SESSION_LIMITS } from './limits-hit.js';
import { STEP_KINDS } from './model.js';

const isoTime = { type: 'string', format: 'date-time' } as const;
const nullableIsoTime = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;
const metadata = { type: 'object', additionalProperties: true } as const;
const progress = { type: 'number', minimum: 0, maximum: 100 } as const;

/** Schema of a {@link ProcessingEvent}. */
export const processingEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['session_id', 'stage', 'timestamp', 'message', 'progress', 'metadata', 'error'],
  properties: {
    session_id: { type: 'string' },
    stage: { type: 'string' },
    timestamp: isoTime,
    message: { type: 'string' },
    progress,
    metadata,
    error: nullableString,
  },
} as const;

/** Schema of a {@link StageRecord}. */
export const stageRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stage', 'start_time', 'end_time', 'duration_ms', 'message', 'progress', 'status', 'error', 'metadata'],
  properties: {
    stage: { type: 'string' },
    start_time: isoTime,
    end_time: nullableIsoTime,
    duration_ms: nullableNumber,
    message: { type: 'string' },
    progress,
    status: { enum: ['running', 'ok', 'error'] },
    error: nullableString,
    metadata,
  },
} as const;

/** Schema of a {@link LlmCallRecord}. */
export const llmCallRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'span_id',
    'operation',
    'provider',
    'request_model',
    'response_model',
    'input_tokens',
    'output_tokens',
    'total_tokens',
    'cached_tokens',
    'finish_reasons',
    'user_id',
    'start_time',
    'end_time',
    'duration_ms',
    'status',
    'error',
    'prompt_preview',
    'response_preview',
    'cost_usd',
    'metadata',
  ],
  properties: {
    span_id: { type: 'string' },
    operation: { type: 'string' },
    provider: nullableString,
    request_model: nullableString,
    response_model: nullableString,
    input_tokens: nullableNumber,
    output_tokens: nullableNumber,
    total_tokens: nullableNumber,
    cached_tokens: nullableNumber,
    finish_reasons: { type: ['array', 'null'], items: { type: 'string' } },
    user_id: nullableString,
    start_time: isoTime,
    end_time: nullableIsoTime,
    duration_ms: nullableNumber,
    status: { enum: ['running', 'ok', 'error'] },
    error: nullableString,
    prompt_preview: nullableString,
    response_preview: nullableString,
    cost_usd: nullableNumber,
    metadata,
    time_to_first_token_ms: nullableNumber,
  },
} as const;

const stringList = { type: 'array', items: { type: 'string' } } as const;
const count = { type: 'integer', minimum: 0 } as const;

/** Schema of {@link StepFacts}: only the facts a step's span carries are present. */
export const stepFactsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    store: { type: 'string' },
    collection: { type: 'string' },
    operation: { type: 'string' },
    top_k: count,
    result_count: count,
    scores: { type: 'array', items: { type: 'number' } },
    template_id: { type: 'string' },
    template_version: { type: 'string' },
    template_variables: stringList,
    candidates: stringList,
    chosen_model: { type: 'string' },
    selection_reason: { type: 'string' },
    fallbacks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['model', 'error'],
        properties: { model: { type: 'string' }, error: nullableString },
      },
    },
    branch: { type: 'string' },
    tool_name: { type: 'string' },
    tool_call_id: { type: 'string' },
    agent_name: { type: 'string' },
    model: { type: 'string' },
    provider: { type: 'string' },
    input_tokens: count,
    output_tokens: count,
    dimensions: count,
    input_count: count,
  },
} as const;

/** Schema of a {@link StepRecord}. */
export const stepRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'span_id',
    'parent_span_id',
    'stage',
    'kind',
    'name',
    'convention',
    'start_time',
    'end_time',
    'duration_ms',
    'status',
    'error',
    'facts',
    'input_preview',
    'output_preview',
  ],
  properties: {
    span_id: { type: 'string' },
    parent_span_id: nullableString,
    stage: nullableString,
    kind: { enum: STEP_KINDS },
    name: { type: 'string' },
    convention: { enum: ['llm_monitor', 'gen_ai', 'openinference', 'vercel_ai', 'openllmetry', 'langfuse', 'langsmith', 'otel'] },
    start_time: isoTime,
    end_time: nullableIsoTime,
    duration_ms: nullableNumber,
    status: { enum: ['running', 'ok', 'error'] },
    error: nullableString,
    facts: stepFactsSchema,
    input_preview: nullableString,
    output_preview: nullableString,
  },
} as const;

/** Schema of a {@link BudgetCrossing}. */
export const budgetCrossingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['budget', 'limit', 'value', 'at'],
  properties: {
    budget: { enum: ['session_tokens', 'session_cost', 'user_daily_tokens', 'user_daily_cost'] },
    limit: { type: 'number' },
    value: { type: 'number' },
    at: isoTime,
  },
} as const;

/** Schema of a {@link LimitHit}. */
export const limitHitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['limit', 'item', 'count'],
  properties: {
    limit: { enum: SESSION_LIMITS },
    item: { enum: LIMIT_ITEMS },
    count: { type: 'integer', minimum: 1 },
  },
} as const;

/** Schema of a {@link ProcessingSession}. */
export const processingSessionSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
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
    'events',
    'stages',
    'llm_calls',
    'steps',
    'steps_dropped',
    'streamed_tokens',
    'token_counts',
    'time_to_first_token_ms',
    'tokens_per_second',
    'time_per_output_token_ms',
    'cost_usd',
    'budget_exceeded',
    'metadata',
    'error',
  ],
  properties: {
    session_id: { type: 'string' },
    trace_id: { type: 'string', pattern: '^[0-9a-f]{32}$' },
    source: { enum: ['llm_monitor', 'gen_ai'] },
    status: { enum: ['active', 'completed', 'failed', 'abandoned'] },
    start_time: isoTime,
    end_time: nullableIsoTime,
    duration_ms: nullableNumber,
    current_stage: nullableString,
    progress,
    content_preview: nullableString,
    result_preview: nullableString,
    task: nullableString,
    model: nullableString,
    provider: nullableString,
    processor_type: nullableString,
    service_name: nullableString,
    conversation_id: nullableString,
    user_id: nullableString,
    events: { type: 'array', items: processingEventSchema },
    stages: { type: 'array', items: stageRecordSchema },
    llm_calls: { type: 'array', items: llmCallRecordSchema },
    steps: { type: 'array', items: stepRecordSchema },
    steps_dropped: count,
    // Not required: absent when the session hit no limit (and on sessions stored before it existed).
    limits_hit: { type: 'array', items: limitHitSchema },
    streamed_tokens: { type: 'array', items: { type: 'string' } },
    token_counts: {
      type: 'object',
      additionalProperties: false,
      required: ['input', 'output', 'total', 'streamed'],
      properties: {
        input: nullableNumber,
        output: nullableNumber,
        total: nullableNumber,
        streamed: { type: 'number', minimum: 0 },
      },
    },
    time_to_first_token_ms: nullableNumber,
    tokens_per_second: nullableNumber,
    time_per_output_token_ms: nullableNumber,
    cost_usd: nullableNumber,
    budget_exceeded: { type: 'array', items: budgetCrossingSchema },
    metadata,
    error: nullableString,
  },
} as const;

const durationSummarySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['count', 'mean', 'p50', 'p95', 'p99'],
  properties: { count: { type: 'integer' }, mean: nullableNumber, p50: nullableNumber, p95: nullableNumber, p99: nullableNumber },
} as const;

/** Schema of a {@link SessionStatistics}. */
export const sessionStatisticsSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'sessions_total',
    'active',
    'completed',
    'failed',
    'abandoned',
    'success_rate',
    'processing_time_ms',
    'time_to_first_token_ms',
    'tokens_in',
    'tokens_out',
  ],
  properties: {
    sessions_total: { type: 'integer' },
    active: { type: 'integer' },
    completed: { type: 'integer' },
    failed: { type: 'integer' },
    abandoned: { type: 'integer' },
    success_rate: nullableNumber,
    processing_time_ms: durationSummarySchema,
    time_to_first_token_ms: durationSummarySchema,
    tokens_in: { type: 'number' },
    tokens_out: { type: 'number' },
  },
} as const;

/** Schema of a {@link StatisticsReport}. */
export const statisticsReportSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...sessionStatisticsSchema.required, 'since', 'until', 'by_model', 'by_task', 'by_processor_type'],
  properties: {
    ...sessionStatisticsSchema.properties,
    since: nullableIsoTime,
    until: nullableIsoTime,
    by_model: { type: 'object', additionalProperties: sessionStatisticsSchema },
    by_task: { type: 'object', additionalProperties: sessionStatisticsSchema },
    by_processor_type: { type: 'object', additionalProperties: sessionStatisticsSchema },
  },
} as const;

/** Schema of a {@link LlmCallRow} of the call log. */
export const llmCallRowSchema = {
  type: 'object',
  additionalProperties: false,
  required: LLM_CALL_FIELDS,
  properties: {
    call_id: { type: 'string' },
    session_id: { type: 'string' },
    trace_id: { type: 'string' },
    span_id: { type: 'string' },
    conversation_id: nullableString,
    user_id: nullableString,
    service_name: nullableString,
    task: nullableString,
    model: nullableString,
    request_model: nullableString,
    response_model: nullableString,
    provider: nullableString,
    operation: { type: 'string' },
    prompt_preview: nullableString,
    response_preview: nullableString,
    input_tokens: nullableNumber,
    output_tokens: nullableNumber,
    total_tokens: nullableNumber,
    cached_tokens: nullableNumber,
    finish_reasons: { type: ['array', 'null'], items: { type: 'string' } },
    time_to_first_token_ms: nullableNumber,
    duration_ms: nullableNumber,
    status: { enum: ['running', 'ok', 'error'] },
    error: nullableString,
    cost_usd: nullableNumber,
    metadata,
    start_time: isoTime,
    end_time: nullableIsoTime,
  },
} as const;

const percentilesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['p50', 'p95'],
  properties: { p50: nullableNumber, p95: nullableNumber },
} as const;

const usageFiguresProperties = {
  sessions: { type: 'integer' },
  calls: { type: 'integer' },
  input_tokens: { type: 'number' },
  output_tokens: { type: 'number' },
  total_tokens: { type: 'number' },
  cost_usd: nullableNumber,
  error_rate: nullableNumber,
  avg_tokens_per_session: nullableNumber,
  duration_ms: percentilesSchema,
  time_to_first_token_ms: percentilesSchema,
} as const;
const usageFiguresRequired = Object.keys(usageFiguresProperties);

/** Schema of an {@link AnalyticsReport}. */
export const analyticsReportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['group_by', 'since', 'until', 'groups', 'totals', 'top_sessions', 'top_users'],
  properties: {
    group_by: { type: 'array', items: { enum: ['model', 'user', 'task', 'service', 'day'] } },
    since: nullableIsoTime,
    until: nullableIsoTime,
    groups: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', ...usageFiguresRequired],
        properties: {
          key: { type: 'object', additionalProperties: nullableString },
          ...usageFiguresProperties,
        },
      },
    },
    totals: { type: 'object', additionalProperties: false, required: usageFiguresRequired, properties: usageFiguresProperties },
    top_sessions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['session_id', 'user_id', 'model', 'start_time', 'calls', 'total_tokens', 'cost_usd'],
        properties: {
          session_id: { type: 'string' },
          user_id: nullableString,
          model: nullableString,
          start_time: isoTime,
          calls: { type: 'integer' },
          total_tokens: { type: 'number' },
          cost_usd: { type: 'number' },
        },
      },
    },
    top_users: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['user_id', 'sessions', 'calls', 'total_tokens', 'cost_usd'],
        properties: {
          user_id: { type: 'string' },
          sessions: { type: 'integer' },
          calls: { type: 'integer' },
          total_tokens: { type: 'number' },
          cost_usd: { type: 'number' },
        },
      },
    },
  },
} as const;
