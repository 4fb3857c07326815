/**
 * The page's live connection: subscribed while the page is visible, closed while it is hidden (a
 * background tab costs the server nothing), resubscribed, with a fresh snapshot, when it shows
 * again. The client reconnects after a drop; the page says so. Against a receiver with read tokens
 * the WebSocket carries the page's session cookie; when the receiver refuses it (expired, revoked),
 * the client ends the subscription rather than retry, and the page is told to log in again.
 */
import { AUTH_ERROR_CODES, subscribeLive } from '@llm-monitor/client';
import type { LiveSubscriptionHandle } from '@llm-monitor/client';
import type { LiveState } from './live-state.js';

/** What the connection badge shows; `refused`: the receiver refused this page's session (see `onUnauthenticated`). */
export type ConnectionStatus =
  { state: 'connecting' } | { state: 'live' } | { state: 'reconnecting'; retryInMs: number } | { state: 'paused' } | { state: 'refused' };

/** The running connection of {@link connectWhileVisible}. */
export interface LiveConnection {
  /** Connects again now, also after a refusal (once a login restored the session); nothing while hidden. */
  reconnect(): void;
  /** Closes the connection for good. */
  stop(): void;
}

/**
 * Connects `state` to the monitor at `baseUrl` while `document` is visible; `onResync` after each
 * (re)subscription's snapshot; `onUnauthenticated` when the receiver refused the page's session (the
 * connection then waits for {@link LiveConnection.reconnect}).
 */
export function connectWhileVisible(
  baseUrl: string,
  state: LiveState,
  onStatus: (status: ConnectionStatus) => void,
  onResync: () => void,
  onUnauthenticated: () => void = () => undefined,
): LiveConnection {
  let subscription: LiveSubscriptionHandle | undefined;

  const open = (): void => {
    if (subscription) return;
    const handle: LiveSubscriptionHandle = subscribeLive({
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
      onError: (error) => {
        // A subscription this page closed meanwhile has nothing more to say.
        if (error.code !== AUTH_ERROR_CODES.UNAUTHENTICATED || subscription !== handle) return;
        // The client has ended this subscription: forget it, so a reconnect or the page showing again opens a new one.
        subscription = undefined;
        onStatus({ state: 'refused' });
        state.connection('the receiver refused this page’s session', Date.now());
        onUnauthenticated();
      },
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
    subscription = handle;
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
    reconnect() {
      if (document.visibilityState === 'hidden') return;
      close();
      open();
    },
    stop() {
      document.removeEventListener('visibilitychange', onVisibility);
      close();
    },
  };
}
