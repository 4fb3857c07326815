/**
 * A clock for the spans of one session: wall time at its start, then the monotonic performance
 * clock, so stage boundaries are exact to the microsecond and never run backwards. The OpenTelemetry
 * SDK anchors each span's clock the same way, so our spans line up with the application's own.
 */
export type SessionClock = () => number;

/** Creates a clock anchored to `Date.now()` now; it returns milliseconds since the epoch. */
export function createSessionClock(): SessionClock {
  const anchor = Date.now() - performance.now();
  return () => anchor + performance.now();
}
