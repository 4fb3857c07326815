/** Sessions as CSV (RFC 4180), safe to open in a spreadsheet. */
import type { ProcessingSession } from '@llm-monitor/sessions';

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
