/** Sessions, calls and analytics as CSV (RFC 4180), safe to open in a spreadsheet. */
import { ANALYTICS_DIMENSIONS, LLM_CALL_FIELDS } from '@llm-monitor/sessions';
import type { AnalyticsReport, LlmCallRow, ProcessingSession } from '@llm-monitor/sessions';

/** The columns of a session export, in order. */
export const CSV_COLUMNS: readonly [string, (session: ProcessingSession) => unknown][] = [
  ['session_id', (s) => s.session_id],
  ['trace_id', (s) => s.trace_id],
  ['status', (s) => s.status],
  ['start_time', (s) => s.start_time],
  ['end_time', (s) => s.end_time],
  ['duration_ms', (s) => s.duration_ms],
  ['task', (s) => s.task],
  ['model', (s) => s.model],
  ['provider', (s) => s.provider],
  ['processor_type', (s) => s.processor_type],
  ['service_name', (s) => s.service_name],
  ['conversation_id', (s) => s.conversation_id],
  ['user_id', (s) => s.user_id],
  ['current_stage', (s) => s.current_stage],
  ['progress', (s) => s.progress],
  ['input_tokens', (s) => s.token_counts.input],
  ['output_tokens', (s) => s.token_counts.output],
  ['total_tokens', (s) => s.token_counts.total],
  ['time_to_first_token_ms', (s) => s.time_to_first_token_ms],
  ['tokens_per_second', (s) => s.tokens_per_second],
  ['llm_calls', (s) => s.llm_calls.length],
  ['cost_usd', (s) => s.cost_usd],
  ['content_preview', (s) => s.content_preview],
  ['error', (s) => s.error],
];

/**
 * One CSV field. Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
 * first) gets a leading apostrophe: previews and errors come from prompts, which anyone can write.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The sessions as a CSV document with a header row, lines ending in CRLF. */
export function sessionsToCsv(sessions: readonly ProcessingSession[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const session of sessions) lines.push(CSV_COLUMNS.map(([, read]) => csvField(read(session))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** LLM calls as a CSV document: every field of the call log. */
export function callsToCsv(rows: readonly LlmCallRow[]): string {
  const lines = [LLM_CALL_FIELDS.join(',')];
  for (const row of rows) {
    lines.push(
      LLM_CALL_FIELDS.map((field) => {
        const value = row[field];
        return csvField(value !== null && typeof value === 'object' ? JSON.stringify(value) : value);
      }).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** An analytics report's groups as a CSV document: the grouped dimensions, then the figures. */
export function analyticsToCsv(report: AnalyticsReport): string {
  const dimensions = ANALYTICS_DIMENSIONS.filter((dimension) => report.group_by.includes(dimension));
  const figures = [
    'sessions',
    'calls',
    'input_tokens',
    'output_tokens',
    'total_tokens',
    'cost_usd',
    'error_rate',
    'avg_tokens_per_session',
  ] as const;
  const header = [...dimensions, ...figures, 'duration_p50_ms', 'duration_p95_ms', 'ttft_p50_ms', 'ttft_p95_ms'];
  const lines = [header.join(',')];
  for (const group of report.groups) {
    lines.push(
      [
        ...dimensions.map((dimension) => group.key[dimension]),
        ...figures.map((figure) => group[figure]),
        group.duration_ms.p50,
        group.duration_ms.p95,
        group.time_to_first_token_ms.p50,
        group.time_to_first_token_ms.p95,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
