/**
 * The running sessions, newest first: a card each with its progress bar, stage and message, elapsed
 * time, model and the tokens streaming in. Cards are kept by session id and updated in place, so a
 * card does not flicker or lose focus while its session changes.
 */
import { h } from '../dom.js';
import { formatCount, formatDuration, shortId, stageLabel } from '../format.js';
import type { ActiveSession, LiveState } from '../live-state.js';

const TEXT_TAIL = 240;

interface Card {
  readonly element: HTMLElement;
  readonly link: HTMLAnchorElement;
  readonly title: HTMLElement;
  readonly stage: HTMLElement;
  readonly message: HTMLElement;
  readonly bar: HTMLElement;
  readonly fill: HTMLElement;
  readonly elapsed: HTMLElement;
  readonly tokens: HTMLElement;
  readonly text: HTMLElement;
}

function makeCard(): Card {
  const title = h('span', { class: 'card-title' });
  const link = h('a', { class: 'card-link' }, title);
  const stage = h('span', { class: 'stage', attributes: { 'data-testid': 'session-stage' } });
  const message = h('span', { class: 'message' });
  const fill = h('div', { class: 'progress-fill' });
  const bar = h(
    'div',
    { class: 'progress', role: 'progressbar', attributes: { 'aria-valuemin': 0, 'aria-valuemax': 100, 'data-testid': 'session-progress' } },
    fill,
  );
  const elapsed = h('span', { class: 'elapsed' });
  const tokens = h('span', { class: 'tokens', attributes: { 'data-testid': 'session-tokens' } });
  const text = h('div', { class: 'stream-tail' });
  const element = h(
    'li',
    { class: 'session-card' },
    h('div', { class: 'card-head' }, link, elapsed),
    h('div', { class: 'card-stage' }, stage, message),
    bar,
    h('div', { class: 'card-foot' }, tokens),
    text,
  );
  return { element, link, title, stage, message, bar, fill, elapsed, tokens, text };
}

function fill(card: Card, session: ActiveSession, now: number): void {
  const summary = session.summary;
  card.element.dataset['sessionId'] = summary.session_id;
  card.link.setAttribute('href', `#/sessions/${encodeURIComponent(summary.session_id)}`);
  card.title.textContent = [shortId(summary.session_id), summary.task, summary.model].filter(Boolean).join(' · ');
  card.link.title = summary.content_preview ?? summary.session_id;
  card.stage.textContent = stageLabel(summary.current_stage);
  card.message.textContent = session.message;
  card.bar.setAttribute('aria-valuenow', String(summary.progress));
  card.bar.setAttribute('aria-label', `${summary.progress}% — ${stageLabel(summary.current_stage)}`);
  card.fill.style.setProperty('width', `${summary.progress}%`);
  card.elapsed.textContent = formatDuration(now - Date.parse(summary.start_time));
  card.tokens.textContent = `${summary.progress}% · ${formatCount(session.streamed)} token${session.streamed === 1 ? '' : 's'}`;
  const tail = session.text.length > TEXT_TAIL ? `…${session.text.slice(-TEXT_TAIL)}` : session.text;
  card.text.textContent = tail;
  card.text.hidden = tail === '';
}

/** The list of running sessions. */
export function activeSessionsView(state: LiveState): { element: HTMLElement; refresh(now: number): void } {
  const cards = new Map<string, Card>();
  const list = h('ul', { class: 'session-list', attributes: { 'data-testid': 'active-sessions' } });
  const empty = h('p', { class: 'empty' }, 'No session is running. Sessions appear here the moment they start.');
  const count = h('span', { class: 'count' });
  const element = h(
    'section',
    { class: 'active', attributes: { 'aria-label': 'Active sessions' } },
    h('h2', {}, 'Active sessions ', count),
    empty,
    list,
  );

  const refresh = (now: number): void => {
    const sessions = [...state.active.values()].sort((a, b) => b.summary.start_time.localeCompare(a.summary.start_time));
    for (const [id, card] of cards) {
      if (!state.active.has(id)) {
        card.element.remove();
        cards.delete(id);
      }
    }
    sessions.forEach((session, index) => {
      let card = cards.get(session.summary.session_id);
      if (!card) {
        card = makeCard();
        cards.set(session.summary.session_id, card);
      }
      fill(card, session, now);
      // Keep newest-first order with the fewest moves.
      if (list.children[index] !== card.element) list.insertBefore(card.element, list.children[index] ?? null);
    });
    count.textContent = `(${sessions.length})`;
    empty.hidden = sessions.length > 0;
  };
  return { element, refresh };
}
