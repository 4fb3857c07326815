/**
 * The live event stream as a log: newest at the bottom, scrolled along as lines arrive, and
 * pausable to read (lines keep arriving in the background and show on resume).
 */
import { h } from '../dom.js';
import { formatClock, shortId } from '../format.js';
import type { LiveState, LogLine } from '../live-state.js';

function line(entry: LogLine): HTMLLIElement {
  return h(
    'li',
    { class: `log-line kind-${entry.kind}` },
    h('time', {}, formatClock(entry.time)),
    entry.sessionId
      ? h(
          'a',
          { href: `#/sessions/${encodeURIComponent(entry.sessionId)}`, class: 'log-session', title: entry.sessionId },
          shortId(entry.sessionId),
        )
      : h('span', { class: 'log-session' }, '—'),
    h('span', { class: 'log-kind' }, entry.kind),
    h('span', { class: 'log-text' }, entry.text),
  );
}

/** The log page; `close()` stops following the stream. */
export function logView(state: LiveState): { element: HTMLElement; close(): void } {
  const list = h('ol', { class: 'log', attributes: { 'data-testid': 'log', 'aria-live': 'off' } });
  const pause = h('button', { type: 'button', attributes: { 'aria-pressed': 'false', 'data-testid': 'log-pause' } }, 'Pause');
  const status = h('span', { class: 'log-status' });
  let paused = false;
  let lastShown = 0;
  let waiting = 0;
  let frame: number | undefined;

  const follow = (): void => {
    if (paused) return;
    // The kept log lets its oldest lines go: so does the list, line by line, never all at once.
    const oldest = state.log[0]?.id ?? Infinity;
    while (list.firstElementChild && Number((list.firstElementChild as HTMLElement).dataset['id']) < oldest)
      list.firstElementChild.remove();
    const fresh = state.log.filter((entry) => entry.id > lastShown);
    if (fresh.length === 0) return;
    for (const entry of fresh) list.appendChild(withId(entry));
    lastShown = fresh.at(-1)!.id;
    list.scrollTop = list.scrollHeight;
  };
  const withId = (entry: LogLine): HTMLLIElement => {
    const element = line(entry);
    element.dataset['id'] = String(entry.id);
    return element;
  };
  pause.addEventListener('click', () => {
    paused = !paused;
    if (frame !== undefined) {
      cancelAnimationFrame(frame);
      frame = undefined;
    }
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) {
      waiting = 0;
      status.textContent = '';
      follow();
    }
  });
  const unsubscribe = state.subscribe((change) => {
    if (change !== 'log') return;
    if (paused) {
      waiting += 1;
      status.textContent = `${waiting} new line${waiting === 1 ? '' : 's'} while paused`;
      return;
    }
    // Many events can arrive in one tick: draw them once per frame.
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      follow();
    });
  });
  follow();
  return {
    element: h(
      'section',
      { class: 'log-view', attributes: { 'aria-label': 'Event log' } },
      h('div', { class: 'log-bar' }, h('h2', {}, 'Event log'), pause, status),
      list,
    ),
    close() {
      unsubscribe();
      if (frame !== undefined) cancelAnimationFrame(frame);
    },
  };
}
