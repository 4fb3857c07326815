/**
 * One session in full: its stages and steps as a tree on the session's time axis, LLM calls with
 * tokens and cost, the streamed answer as it arrives, the event list, metadata, the error and the
 * limits that cut it. While
 * the session runs, the view fetches it again whenever the live stream reports a change to it (a
 * stage, tokens, a step started or ended) and once a second.
 */
import type { MonitorClient, ProcessingSession } from '@llm-monitor/client';
import { costUsd } from '@llm-monitor/sessions';
import type { ModelPrices } from '@llm-monitor/sessions';
import { h, replaceChildren } from '../dom.js';
import { formatClock, formatCount, formatDuration, formatUsd, stageLabel } from '../format.js';
import { limitsHitText } from '../limits-text.js';
import type { LiveState } from '../live-state.js';
import { StepTreeView } from './step-tree-view.js';

const REFETCH_EVERY_MS = 250;

function field(name: string, value: string, testId?: string): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, name), h('dd', testId ? { attributes: { 'data-testid': testId } } : {}, value));
}

/** The session's LLM calls: tokens, duration, cost (the receiver's `cost_usd`, else priced from the table) and status. */
function callsTable(session: ProcessingSession, prices: ModelPrices): HTMLElement {
  if (session.llm_calls.length === 0) return h('p', { class: 'empty' }, 'No LLM call recorded.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'calls', attributes: { 'data-testid': 'llm-calls' } },
      h(
        'thead',
        {},
        h('tr', {}, ...['Operation', 'Model', 'Input', 'Output', 'Duration', 'Cost', 'Status'].map((name) => h('th', {}, name))),
      ),
      h(
        'tbody',
        {},
        ...session.llm_calls.flatMap((call) => {
          const model = call.response_model ?? call.request_model;
          const previews = [
            call.prompt_preview && ['Prompt', call.prompt_preview],
            call.response_preview && ['Response', call.response_preview],
          ].filter((entry): entry is [string, string] => Boolean(entry));
          return [
            h(
              'tr',
              { attributes: { 'data-span-id': call.span_id } },
              h('td', {}, call.operation),
              h('td', {}, model ?? '–'),
              h('td', {}, formatCount(call.input_tokens)),
              h('td', {}, formatCount(call.output_tokens)),
              h('td', {}, call.duration_ms === null ? 'running' : formatDuration(call.duration_ms)),
              h('td', {}, formatUsd(call.cost_usd ?? costUsd(prices, model, call.input_tokens, call.output_tokens))),
              h('td', { class: `status ${call.status}` }, call.error ? `${call.status}: ${call.error}` : call.status),
            ),
            previews.length === 0
              ? null
              : h(
                  'tr',
                  { class: 'call-previews' },
                  h(
                    'td',
                    { attributes: { colspan: 7 } },
                    ...previews.map(([name, text]) => h('details', {}, h('summary', {}, name), h('pre', { class: 'text-block' }, text))),
                  ),
                ),
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

function copyButton(permalink: string): HTMLButtonElement {
  const copy = h('button', { type: 'button', class: 'ghost' }, 'Copy link');
  copy.addEventListener('click', () => {
    const copied = (): void => void (copy.textContent = 'Copied');
    // The Clipboard API exists only in secure contexts (https, localhost): elsewhere, copy from a
    // selected field, the way browsers always could.
    const fallback = (): void => {
      const field = h('input', {
        value: permalink,
        attributes: { readonly: true, 'aria-hidden': 'true' },
        style: { position: 'fixed', opacity: '0' },
      });
      document.body.appendChild(field);
      field.select();
      const ok = document.execCommand('copy');
      field.remove();
      if (ok) copied();
      else copy.textContent = 'Copy failed';
    };
    if (navigator.clipboard) navigator.clipboard.writeText(permalink).then(copied, fallback);
    else fallback();
  });
  return copy;
}

/** How each budget reads on the page. */
const BUDGET_LABELS: Readonly<Record<ProcessingSession['budget_exceeded'][number]['budget'], string>> = {
  session_tokens: 'session tokens',
  session_cost: 'session cost',
  user_daily_tokens: "user's tokens today",
  user_daily_cost: "user's cost today",
};

/**
 * The line that says the session is not whole: which of the receiver's limits cut it and what each
 * cut; nothing for a session no limit cut.
 */
function limitsLine(session: ProcessingSession): HTMLElement | null {
  const text = limitsHitText(session.limits_hit);
  if (!text) return null;
  return h(
    'p',
    {
      class: 'limits-hit',
      role: 'note',
      title: "The receiver keeps each session within its limits; raise them in the receiver's settings (docs/configuration.md).",
      attributes: { 'data-testid': 'details-limits' },
    },
    h('strong', {}, 'Limits hit: '),
    text,
  );
}

function fields(session: ProcessingSession, prices: ModelPrices, now: number): HTMLElement {
  // The receiver prices calls and sessions itself (built-in prices and `model_prices`); older
  // receivers do not, and the page prices them from the table it was given.
  const cost = session.cost_usd ?? costUsd(prices, session.model, session.token_counts.input, session.token_counts.output);
  return h(
    'dl',
    { class: 'fields' },
    field('Stage', `${stageLabel(session.current_stage)} (${session.progress}%)`, 'details-stage'),
    field('Model', session.model ?? '–'),
    field('Started', formatClock(session.start_time)),
    field(
      'Duration',
      session.duration_ms === null ? `${formatDuration(now - Date.parse(session.start_time))} so far` : formatDuration(session.duration_ms),
    ),
    field('Tokens in / out', `${formatCount(session.token_counts.input)} / ${formatCount(session.token_counts.output)}`),
    field('Streamed tokens', formatCount(session.token_counts.streamed), 'details-streamed'),
    field('Time to first token', formatDuration(session.time_to_first_token_ms)),
    field('Tokens per second', session.tokens_per_second === null ? '–' : session.tokens_per_second.toFixed(1)),
    field('Cost', formatUsd(cost)),
    ...(session.budget_exceeded ?? []).map((crossing) =>
      field(
        'Over budget',
        `${BUDGET_LABELS[crossing.budget]}: ${crossing.budget.endsWith('cost') ? formatUsd(crossing.value) : formatCount(crossing.value)} of ${crossing.budget.endsWith('cost') ? formatUsd(crossing.limit) : formatCount(crossing.limit)}`,
        'details-budget',
      ),
    ),
    field('Conversation', session.conversation_id ?? '–'),
    field('User', session.user_id ?? '–'),
    field('Service', session.service_name ?? '–'),
  );
}

/**
 * The page of one session, laid out once: each part is redrawn only when what it shows changed, so
 * an opened preview stays open, a scrolled box stays scrolled and focus stays where it was while the
 * session runs.
 */
class SessionPage {
  readonly element = h('div', { class: 'details-body' });
  readonly #parts = new Map<string, { holder: HTMLElement; signature: string }>();
  readonly #tree = new StepTreeView();

  constructor() {
    for (const [name, title] of [
      ['head', ''],
      ['error', ''],
      ['limits', ''],
      ['fields', ''],
      ['timeline', 'Stages and steps'],
      ['prompt', 'Prompt'],
      ['response', ''],
      ['calls', 'LLM calls'],
      ['events', 'Events'],
      ['metadata', 'Metadata'],
    ] as const) {
      if (title) this.element.appendChild(h('h3', {}, title));
      const holder = h('div', { class: `part-${name}` });
      this.element.appendChild(holder);
      this.#parts.set(name, { holder, signature: '\u0000' });
    }
    this.#parts.get('timeline')!.holder.appendChild(this.#tree.element);
  }

  #put(name: string, signature: string, build: () => (HTMLElement | null)[]): void {
    const part = this.#parts.get(name)!;
    if (part.signature === signature) return;
    part.signature = signature;
    replaceChildren(part.holder, ...build());
  }

  /** Puts `text` into the part's one text block, keeping the block (and its scroll) when it exists. */
  #text(name: string, text: string, testId: string): void {
    const part = this.#parts.get(name)!;
    let block = part.holder.querySelector('pre');
    if (!block) {
      block = h('pre', { class: 'text-block', attributes: { 'data-testid': testId } });
      part.holder.appendChild(block);
    }
    if (block.textContent !== text) block.textContent = text;
  }

  show(session: ProcessingSession, prices: ModelPrices, now: number): void {
    const id = encodeURIComponent(session.session_id);
    this.#put('head', `${session.session_id} ${session.status} ${session.task}`, () => [
      h(
        'header',
        { class: 'details-head' },
        h(
          'h2',
          {},
          h('span', { class: `status-badge ${session.status}`, attributes: { 'data-testid': 'details-status' } }, session.status),
          ' ',
          session.task ?? 'session',
          ' ',
          h('code', {}, session.session_id),
        ),
        h(
          'div',
          { class: 'details-actions' },
          h('a', { href: `#/sessions/${id}`, attributes: { 'data-testid': 'permalink' } }, 'Permalink'),
          copyButton(`${location.origin}${location.pathname}#/sessions/${id}`),
        ),
      ),
    ]);
    this.#put('error', session.error ?? '', () => [
      session.error ? h('div', { class: 'error-box', role: 'alert', attributes: { 'data-testid': 'details-error' } }, session.error) : null,
    ]);
    this.#put('limits', limitsHitText(session.limits_hit), () => [limitsLine(session)]);
    const live = session.status === 'active';
    // A running session's elapsed time and running bars move every second; an ended one is still.
    const moment = live ? String(Math.floor(now / 1000)) : 'ended';
    const priced = Object.keys(prices).length;
    this.#put(
      'fields',
      `${moment} ${priced} ${JSON.stringify([session.current_stage, session.progress, session.token_counts, session.time_to_first_token_ms, session.tokens_per_second, session.duration_ms])}`,
      () => [fields(session, prices, now)],
    );
    this.#tree.update(session, prices, now);
    this.#text('prompt', session.content_preview ?? '(not captured)', 'details-prompt');
    const answer = session.streamed_tokens.join('') || session.result_preview || '';
    this.#put('response', live ? 'streaming' : 'done', () => [h('h3', {}, live ? 'Response (streaming)' : 'Response')]);
    this.#text('response', answer || '(not captured)', 'details-response');
    this.#put('calls', `${priced} ${JSON.stringify(session.llm_calls)}`, () => [callsTable(session, prices)]);
    this.#put('events', `${session.events.length} ${session.events.at(-1)?.timestamp}`, () => [eventsList(session)]);
    this.#put('metadata', JSON.stringify(session.metadata), () => [
      h('pre', { class: 'text-block' }, JSON.stringify(session.metadata, null, 2)),
    ]);
  }
}

/**
 * The details page of `sessionId`; `close()` stops its live refresh. `resolveId` follows renames
 * (a session first known by its trace id), `prices` resolves with the price table.
 */
export function sessionView(
  sessionId: string,
  client: MonitorClient,
  state: LiveState,
  prices: Promise<ModelPrices>,
): { element: HTMLElement; close(): void } {
  const status = h('div', { class: 'details-status' }, h('p', { class: 'empty' }, 'Loading…'));
  const page = new SessionPage();
  page.element.hidden = true;
  const element = h(
    'section',
    { class: 'details', attributes: { 'aria-label': 'Session details' } },
    h('a', { href: '#/', class: 'back' }, '← Live view'),
    status,
    page.element,
  );
  let currentId = state.resolveId(sessionId);
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = false;
  let again = false;
  // Polling stops once the session ended or is not found; a live event about it starts it again.
  let settled = false;
  // What the status line shows: 'Loading…' until the first answer, then an error or nothing.
  let shownError = 'Loading…';

  const showError = (text: string): void => {
    if (text === shownError) return;
    shownError = text;
    replaceChildren(status, text ? h('div', { class: 'error-box', role: 'alert' }, text) : null);
  };

  const load = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const followed = state.resolveId(currentId);
      if (followed !== currentId) {
        currentId = followed;
        history.replaceState(null, '', `#/sessions/${encodeURIComponent(currentId)}`);
      }
      const [session, table] = await Promise.all([client.getSession(currentId), prices]);
      if (closed) return;
      settled = session.status !== 'active';
      showError('');
      page.element.hidden = false;
      page.show(session, table, Date.now());
    } catch (error) {
      if (closed) return;
      settled = true;
      const notFound = (error as { code?: string }).code === 'LLMMON_ERR_SESSION_NOT_FOUND';
      showError(
        notFound
          ? `No session ${currentId} is held (never seen, or removed by retention).`
          : `Could not load the session: ${(error as Error).message}`,
      );
      page.element.hidden = true;
    } finally {
      inFlight = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    // A hidden page asks the server for nothing; it catches up when shown.
    if (timer || closed || document.visibilityState === 'hidden') return;
    timer = setTimeout(() => {
      timer = undefined;
      void load();
    }, REFETCH_EVERY_MS);
  };
  const unsubscribe = state.subscribe((change) => {
    if (change === 'steps') {
      // A step of this session started or ended: its tree grows or settles.
      const stepSession = state.lastStepSessionId;
      if (stepSession !== null && (stepSession === currentId || state.resolveId(stepSession) === currentId)) {
        settled = false;
        schedule();
      }
      return;
    }
    if (change !== 'log') return;
    const last = state.log.at(-1);
    if (!last) return;
    // Anything the stream says about this session redraws it; a reconnect may have missed its end.
    if (last.sessionId === currentId || last.sessionId === state.resolveId(currentId) || (!settled && last.kind === 'connection')) {
      settled = false;
      schedule();
    }
  });
  // The elapsed time and a running stage's bar grow while nothing else happens.
  const ticker = setInterval(() => {
    if (!settled) schedule();
  }, 1000);
  const onVisibility = (): void => {
    if (document.visibilityState === 'visible') schedule();
  };
  document.addEventListener('visibilitychange', onVisibility);
  void load();
  return {
    element,
    close() {
      closed = true;
      unsubscribe();
      clearInterval(ticker);
      document.removeEventListener('visibilitychange', onVisibility);
      if (timer) clearTimeout(timer);
    },
  };
}
