/**
 * One session in full: the stage waterfall, LLM calls with tokens and cost, the streamed answer as it
 * arrives, the event list, metadata and the error. While the session runs, the view fetches it again
 * whenever the live stream reports a change to it.
 */
import type { MonitorClient, ProcessingSession } from '@llm-monitor/client';
import { costUsd } from '@llm-monitor/sessions';
import type { ModelPrices } from '@llm-monitor/sessions';
import { h, replaceChildren } from '../dom.js';
import { formatClock, formatCount, formatDuration, formatUsd, stageLabel } from '../format.js';
import type { LiveState } from '../live-state.js';

const REFETCH_EVERY_MS = 250;

function field(name: string, value: string, testId?: string): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, name), h('dd', testId ? { attributes: { 'data-testid': testId } } : {}, value));
}

/** Bars of stages (and LLM calls) on the session's own time axis. */
function waterfall(session: ProcessingSession, now: number): HTMLElement {
  const start = Date.parse(session.start_time);
  const end = session.end_time ? Date.parse(session.end_time) : now;
  const total = Math.max(1, end - start);
  const rows = [
    ...session.stages.map((stage) => ({ kind: 'stage', label: stageLabel(stage.stage), status: stage.status, start: stage.start_time, end: stage.end_time, durationMs: stage.duration_ms })),
    ...session.llm_calls.map((call) => ({ kind: 'call', label: `${call.operation} ${call.response_model ?? call.request_model ?? ''}`.trim(), status: call.status, start: call.start_time, end: call.end_time, durationMs: call.duration_ms })),
  ].sort((a, b) => a.start.localeCompare(b.start));
  return h(
    'ol',
    { class: 'waterfall', attributes: { 'data-testid': 'waterfall', 'aria-label': 'Stage timeline' } },
    ...rows.map((row) => {
      const rowStart = Date.parse(row.start) - start;
      const rowEnd = (row.end ? Date.parse(row.end) : now) - start;
      const left = Math.min(100, Math.max(0, (rowStart / total) * 100));
      const width = Math.max(0.4, Math.min(100 - left, ((rowEnd - rowStart) / total) * 100));
      return h(
        'li',
        { class: `waterfall-row kind-${row.kind} ${row.status}`, attributes: { 'data-stage': row.label } },
        h('span', { class: 'waterfall-label' }, row.label),
        h(
          'span',
          { class: 'waterfall-track' },
          h('span', { class: 'waterfall-bar', style: { left: `${left.toFixed(2)}%`, width: `${width.toFixed(2)}%` }, title: `starts at +${formatDuration(rowStart)}` }),
        ),
        h('span', { class: 'waterfall-duration' }, row.durationMs === null ? 'running' : formatDuration(row.durationMs)),
      );
    }),
  );
}

function callsTable(session: ProcessingSession, prices: ModelPrices): HTMLElement {
  if (session.llm_calls.length === 0) return h('p', { class: 'empty' }, 'No LLM call recorded.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'calls', attributes: { 'data-testid': 'llm-calls' } },
      h('thead', {}, h('tr', {}, ...['Operation', 'Model', 'Input', 'Output', 'Duration', 'Cost', 'Status'].map((name) => h('th', {}, name)))),
      h(
        'tbody',
        {},
        ...session.llm_calls.flatMap((call) => {
          const model = call.response_model ?? call.request_model;
          const previews = [call.prompt_preview && ['Prompt', call.prompt_preview], call.response_preview && ['Response', call.response_preview]].filter((entry): entry is [string, string] => Boolean(entry));
          return [
            h(
              'tr',
              {},
              h('td', {}, call.operation),
              h('td', {}, model ?? '–'),
              h('td', {}, formatCount(call.input_tokens)),
              h('td', {}, formatCount(call.output_tokens)),
              h('td', {}, call.duration_ms === null ? 'running' : formatDuration(call.duration_ms)),
              h('td', {}, formatUsd(costUsd(prices, model, call.input_tokens, call.output_tokens))),
              h('td', { class: `status ${call.status}` }, call.error ? `${call.status}: ${call.error}` : call.status),
            ),
            previews.length === 0
              ? null
              : h('tr', { class: 'call-previews' }, h('td', { attributes: { colspan: 7 } }, ...previews.map(([name, text]) => h('details', {}, h('summary', {}, name), h('pre', { class: 'text-block' }, text))))),
          ].filter((row): row is HTMLTableRowElement => row !== null);
        }),
      ),
    ),
  );
}

function eventsList(session: ProcessingSession): HTMLElement {
  return h(
    'ol',
    { class: 'events', attributes: { 'data-testid': 'events' } },
    ...session.events.map((event) =>
      h(
        'li',
        { class: event.error ? 'event error' : 'event' },
        h('time', { attributes: { datetime: event.timestamp } }, formatClock(event.timestamp)),
        h('span', { class: 'event-stage' }, stageLabel(event.stage)),
        h('span', { class: 'event-progress' }, `${event.progress}%`),
        h('span', { class: 'event-message' }, event.error ? `${event.message} — ${event.error}` : event.message),
      ),
    ),
  );
}

function render(session: ProcessingSession, prices: ModelPrices, now: number): HTMLElement[] {
  const streamed = session.streamed_tokens.join('');
  const answer = streamed || session.result_preview || '';
  const cost = costUsd(prices, session.model, session.token_counts.input, session.token_counts.output);
  const permalink = `${location.origin}${location.pathname}#/sessions/${encodeURIComponent(session.session_id)}`;
  const copy = h('button', { type: 'button', class: 'ghost' }, 'Copy link');
  copy.addEventListener('click', () => {
    void navigator.clipboard?.writeText(permalink).then(() => (copy.textContent = 'Copied'));
  });
  return [
    h(
      'header',
      { class: 'details-head' },
      h('h2', {}, h('span', { class: `status-badge ${session.status}`, attributes: { 'data-testid': 'details-status' } }, session.status), ' ', session.task ?? 'session', ' ', h('code', {}, session.session_id)),
      h('div', { class: 'details-actions' }, h('a', { href: `#/sessions/${encodeURIComponent(session.session_id)}`, attributes: { 'data-testid': 'permalink' } }, 'Permalink'), copy),
    ),
    session.error ? h('div', { class: 'error-box', role: 'alert', attributes: { 'data-testid': 'details-error' } }, session.error) : null,
    h(
      'dl',
      { class: 'fields' },
      field('Stage', `${stageLabel(session.current_stage)} (${session.progress}%)`, 'details-stage'),
      field('Model', session.model ?? '–'),
      field('Started', formatClock(session.start_time)),
      field('Duration', session.duration_ms === null ? `${formatDuration(now - Date.parse(session.start_time))} so far` : formatDuration(session.duration_ms)),
      field('Tokens in / out', `${formatCount(session.token_counts.input)} / ${formatCount(session.token_counts.output)}`),
      field('Streamed tokens', formatCount(session.token_counts.streamed), 'details-streamed'),
      field('Time to first token', formatDuration(session.time_to_first_token_ms)),
      field('Tokens per second', session.tokens_per_second === null ? '–' : session.tokens_per_second.toFixed(1)),
      field('Cost', formatUsd(cost)),
      field('Conversation', session.conversation_id ?? '–'),
      field('User', session.user_id ?? '–'),
      field('Service', session.service_name ?? '–'),
    ),
    h('h3', {}, 'Timeline'),
    waterfall(session, now),
    h('h3', {}, 'Prompt'),
    h('pre', { class: 'text-block', attributes: { 'data-testid': 'details-prompt' } }, session.content_preview ?? '(not captured)'),
    h('h3', {}, session.status === 'active' ? 'Response (streaming)' : 'Response'),
    h('pre', { class: 'text-block response', attributes: { 'data-testid': 'details-response' } }, answer || '(not captured)'),
    h('h3', {}, 'LLM calls'),
    callsTable(session, prices),
    h('h3', {}, 'Events'),
    eventsList(session),
    h('h3', {}, 'Metadata'),
    h('pre', { class: 'text-block' }, JSON.stringify(session.metadata, null, 2)),
  ].filter((part): part is HTMLElement => part !== null);
}

/** The details page of `sessionId`; `close()` stops its live refresh. */
export function sessionView(sessionId: string, client: MonitorClient, state: LiveState, prices: () => ModelPrices): { element: HTMLElement; close(): void } {
  const element = h('section', { class: 'details', attributes: { 'aria-label': 'Session details' } }, h('p', { class: 'empty' }, 'Loading…'));
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = false;
  let again = false;
  let ended = false;

  const load = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const session = await client.getSession(sessionId);
      if (closed) return;
      ended = session.status !== 'active';
      replaceChildren(element, h('a', { href: '#/', class: 'back' }, '← Live view'), ...render(session, prices(), Date.now()));
    } catch (error) {
      if (closed) return;
      const text = (error as { code?: string }).code === 'LLMMON_ERR_SESSION_NOT_FOUND' ? `No session ${sessionId} is held (never seen, or removed by retention).` : `Could not load the session: ${(error as Error).message}`;
      replaceChildren(element, h('a', { href: '#/', class: 'back' }, '← Live view'), h('div', { class: 'error-box', role: 'alert' }, text));
    } finally {
      inFlight = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void load();
    }, REFETCH_EVERY_MS);
  };
  const unsubscribe = state.subscribe((change) => {
    if (change !== 'log') return;
    const last = state.log.at(-1);
    // Anything the stream says about this session (or a session that ended while we watched) redraws it.
    if (last && (last.sessionId === sessionId || (!ended && last.kind === 'connection'))) schedule();
  });
  // The elapsed time and a running stage's bar grow while nothing else happens.
  const ticker = setInterval(() => {
    if (!ended) schedule();
  }, 1000);
  void load();
  return {
    element,
    close() {
      closed = true;
      unsubscribe();
      clearInterval(ticker);
      if (timer) clearTimeout(timer);
    },
  };
}
