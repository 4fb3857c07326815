/**
 * The page's live connection: subscribed while the page is visible, closed while it is hidden (a
 * background tab costs the server nothing), resubscribed, with a fresh snapshot, when it shows
 * again. The client reconnects after a drop; the page says so.
 */
import { subscribeLive } from '@llm-monitor/client';
import type { LiveSubscriptionHandle } from '@llm-monitor/client';
import type { LiveState } from './live-state.js';

/** What the connection badge shows. */
export type ConnectionStatus =
  { state: 'connecting' } | { state: 'live' } | { state: 'reconnecting'; retryInMs: number } | { state: 'paused' };

/** Connects `state` to the monitor at `baseUrl` while `document` is visible; `onResync` after each (re)subscription's snapshot. */
export function connectWhileVisible(
  baseUrl: string,
  state: LiveState,
  onStatus: (status: ConnectionStatus) => void,
  onResync: () => void,
): { stop(): void } {
  let subscription: LiveSubscriptionHandle | undefined;

  const open = (): void => {
    if (subscription) return;
    subscription = subscribeLive({
      baseUrl,
      onSnapshot: (snapshot) => {
        state.snapshot(snapshot, Date.now());
        // Sessions that ended while the page was away are in the history, not the snapshot.
        onResync();
      },
      onSessionStarted: (session) => state.sessionStarted(session, Date.now()),
      onStage: (stage) => state.stage(stage, Date.now()),
      onTokens: (tokens) => state.tokens(tokens, Date.now()),
      onStepStarted: (step) => state.step(step.session_id, Date.now()),
      onStepCompleted: (step) => state.step(step.session_id, Date.now()),
      onCompleted: (session) => state.ended(session, Date.now()),
      onFailed: (session) => state.ended(session, Date.now()),
      onAbandoned: (session) => state.ended(session, Date.now()),
      onRenamed: (renamed) => state.renamed(renamed.previous_session_id, renamed.session_id, Date.now()),
      onRemoved: (removed) => state.removed(removed.session_id),
      onStatistics: (statistics) => state.statisticsUpdated(statistics),
      onConnectionChange: (connection, detail) => {
        if (connection === 'open') {
          onStatus({ state: 'live' });
          state.connection('connected', Date.now());
        } else if (connection === 'connecting') onStatus({ state: 'connecting' });
        else if (connection === 'reconnecting') {
          const retryInMs = detail?.retryInMs ?? 0;
          onStatus({ state: 'reconnecting', retryInMs });
          state.connection(`connection lost; reconnecting in ${Math.ceil(retryInMs / 1000)} s`, Date.now());
        }
      },
    });
  };
  const close = (): void => {
    subscription?.close();
    subscription = undefined;
  };
  const onVisibility = (): void => {
    if (document.visibilityState === 'hidden') {
      close();
      onStatus({ state: 'paused' });
      state.connection('page hidden: live updates paused', Date.now());
    } else open();
  };
  document.addEventListener('visibilitychange', onVisibility);
  if (document.visibilityState === 'hidden') onStatus({ state: 'paused' });
  else open();
  return {
    stop() {
      document.removeEventListener('visibilitychange', onVisibility);
      close();
    },
  };
}
