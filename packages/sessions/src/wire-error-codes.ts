/**
 * The error codes that reach live clients over the wire, and the codes the typed client raises
 * itself. Both the receiver and `@llm-monitor/client` import them from here, so a code a client
 * compares with cannot drift from the code the server sends; the receiver's catalogue
 * (`packages/receiver/src/errors.ts`) takes the live ones from here too, with their HTTP status and
 * description. docs/errors.md documents every one.
 */

/** Codes the receiver sends to live clients: a WebSocket `error` message, an SSE `error` event. */
export const LIVE_ERROR_CODES = {
  /** A subscription (WebSocket message or URL, SSE query) the server cannot read; the message names the field. */
  BAD_PARAMETER: 'LLMMON_ERR_BAD_PARAMETER',
  /** The client fell more than `live_max_buffered_bytes` behind and its stream was ended. */
  CLIENT_TOO_SLOW: 'LLMMON_ERR_CLIENT_TOO_SLOW',
} as const;

/** One of the {@link LIVE_ERROR_CODES}. */
export type LiveErrorCode = (typeof LIVE_ERROR_CODES)[keyof typeof LIVE_ERROR_CODES];

/** Codes the client raises on its own: the server never sends them. */
export const CLIENT_ERROR_CODES = {
  /**
   * The answer is not the monitor API's: not JSON, or an error answer without a catalogue code
   * (a wrong URL, a proxy's error page).
   */
  BAD_RESPONSE: 'LLMMON_ERR_CLIENT_BAD_RESPONSE',
} as const;

/** One of the {@link CLIENT_ERROR_CODES}. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES];

/**
 * WebSocket close codes the live stream ends a connection with (RFC 6455 numbers): the reason text
 * says more, but a client decides on the number.
 */
export const LIVE_CLOSE_CODES = {
  /** The server shuts down: reconnect later (1001, "going away"). */
  SHUTTING_DOWN: 1001,
  /** The subscription in the URL could not be read; an `error` message said why (1008, "policy violation"). */
  BAD_SUBSCRIPTION: 1008,
  /** The client could not keep up ({@link LIVE_ERROR_CODES.CLIENT_TOO_SLOW}; 1013, "try again later"). */
  TOO_SLOW: 1013,
} as const;
